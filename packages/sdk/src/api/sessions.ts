import { path, type Request } from '../transport';
import type { Message, Query, Session, SessionCounts, SessionSummary } from '../types';

/** Conversations' sessions: the caller's list (agent token), one with its counts, its messages. */
export const sessionsApi = (request: Request) => ({
  /** Newest first: an agent token's own; the organization key's, or `agentId`'s. */
  list: (query: Query<'/v1/sessions'> = {}) =>
    request<{ sessions: SessionSummary[]; nextCursor: string | null }>('GET', '/v1/sessions', { query }),
  get: (id: string) => request<{ session: Session; counts: SessionCounts }>('GET', path`/v1/sessions/${id}`),
  /** Oldest first; `nextCursor` is the `after` of the next page. */
  messages: (id: string, query: { after?: string; limit?: number } = {}) =>
    request<{ messages: Message[]; nextCursor: string | null }>('GET', path`/v1/sessions/${id}/messages`, {
      query,
    }),
});
