import { path, type Request } from '../transport';
import type { Delivery, DeliveryAttempt, Message, Metadata, SearchHit } from '../types';

/** Filters of message listings and counts; agent refs may be `ext:<externalId>`. */
export type MessageFilters = {
  /** Organization key: this agent's messages (else the organization's). */
  agentId?: string;
  direction?: 'sent' | 'received';
  /** The other party. */
  with?: string;
  kind?: Message['kind'];
  sessionId?: string;
  meetingId?: string;
  /** ISO times: created at or after `since`, before `until`. */
  since?: string;
  until?: string;
  /** Messages whose metadata contains this object. */
  metadata?: Metadata;
  acknowledged?: boolean;
  /** The delivery's status; `dead` lists the dead letters. */
  status?: Message['status'];
};

export type MessagePage = { messages: Message[]; nextCursor: string | null };

/** The filters as query parameters. */
const filterQuery = ({ metadata, acknowledged, ...rest }: MessageFilters) => ({
  ...rest,
  ...(metadata && { metadata: JSON.stringify(metadata) }),
  ...(acknowledged !== undefined && { acknowledged: String(acknowledged) }),
});

export interface SendOptions {
  metadata?: Metadata;
  /** Same key and body: the first response again, no second message. */
  idempotencyKey?: string;
}

/** One-way messages (agent token to send; sender, recipient or organization key to read). */
export const messagesApi = (request: Request) => {
  function send(to: string, content: unknown, options?: SendOptions): Promise<Message>;
  function send(to: string[], content: unknown, options?: SendOptions): Promise<Message[]>;
  async function send(to: string | string[], content: unknown, options: SendOptions = {}) {
    const body = await request<{ message?: Message; messages?: Message[] }>('POST', '/v1/messages', {
      body: { to, content, ...(options.metadata && { metadata: options.metadata }) },
      idempotencyKey: options.idempotencyKey,
    });
    return Array.isArray(to) ? body.messages : body.message;
  }
  const list = (query: MessageFilters & { cursor?: string; limit?: number } = {}) =>
    request<MessagePage>('GET', '/v1/messages', { query: filterQuery(query) });
  return {
    send,
    /** Newest first; `nextCursor` is the `cursor` of the next (older) page. */
    list,
    sent: (query: Omit<MessageFilters, 'direction'> & { cursor?: string; limit?: number } = {}) =>
      list({ ...query, direction: 'sent' }),
    received: (query: Omit<MessageFilters, 'direction'> & { cursor?: string; limit?: number } = {}) =>
      list({ ...query, direction: 'received' }),
    /** Full-text search (web search syntax), best first. */
    search: (
      q: string,
      query: Pick<MessageFilters, 'with' | 'sessionId' | 'meetingId' | 'kind'> & {
        cursor?: string;
        limit?: number;
      } = {},
    ) =>
      request<{ results: SearchHit[]; nextCursor: string | null }>('GET', '/v1/messages/search', {
        query: { ...query, q },
      }),
    count: async (filters: MessageFilters = {}) =>
      (await request<{ count: number }>('GET', '/v1/messages/count', { query: filterQuery(filters) })).count,
    get: (id: string) =>
      request<{ message: Message; delivery: Delivery | null; attempts: DeliveryAttempt[] }>(
        'GET',
        path`/v1/messages/${id}`,
      ),
    /** Organization key: re-drives a dead delivery. */
    redeliver: async (id: string) =>
      (await request<{ message: Message }>('POST', path`/v1/messages/${id}/redeliver`)).message,
  };
};
