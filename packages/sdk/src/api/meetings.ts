import type { Request } from '../transport';
import type { Meeting, MeetingEvent, Message } from '../types';

export interface MeetingInput {
  title: string;
  participantIds: string[];
  turnDurationMs: number;
  maxTurns?: number;
  autoRun?: boolean;
}

const POLL_WAIT_MS = 25_000;

/** Turn-based meetings (agent token; the organization key may read). */
export const meetingsApi = (request: Request) => {
  const act = (id: string, action: string, body?: unknown) =>
    request<{ meeting: Meeting; message?: Message | null }>('POST', `/v1/meetings/${id}/${action}`, {
      ...(body !== undefined && { body }),
    });
  return {
    create: async (input: MeetingInput, options: { idempotencyKey?: string } = {}) =>
      (
        await request<{ meeting: Meeting }>('POST', '/v1/meetings', {
          body: input,
          idempotencyKey: options.idempotencyKey,
        })
      ).meeting,
    invite: async (id: string, agentIds: string[]) => (await act(id, 'invite', { agentIds })).meeting,
    attend: async (id: string) => (await act(id, 'attend')).meeting,
    /** Host only; `content` is the host's opening speech. */
    start: (id: string, content?: unknown) => act(id, 'start', content === undefined ? {} : { content }),
    speak: (id: string, content: unknown) => act(id, 'speak', { content }),
    leave: async (id: string) => (await act(id, 'leave')).meeting,
    end: async (id: string) => (await act(id, 'end')).meeting,
    status: async (id: string) => (await request<{ meeting: Meeting }>('GET', `/v1/meetings/${id}`)).meeting,
    history: async (id: string) =>
      (
        await request<{ messages: Message[] }>('GET', `/v1/meetings/${id}/messages`, {
          query: { limit: 500 },
        })
      ).messages,
    /**
     * The meeting's events in seq order, as they happen, until meeting_ended. Long-polls and
     * resumes from the last seq it yielded, so a dropped connection loses and repeats nothing;
     * transient failures are retried with backoff. Stop early with `break` or `signal`.
     */
    events: async function* (id: string, options: { after?: number; signal?: AbortSignal } = {}) {
      let after = options.after ?? 0;
      let failures = 0;
      while (!options.signal?.aborted) {
        let events: MeetingEvent[];
        try {
          ({ events } = await request<{ events: MeetingEvent[] }>('GET', `/v1/meetings/${id}/events`, {
            query: { after, waitMs: POLL_WAIT_MS, limit: 500 },
            extraTimeoutMs: POLL_WAIT_MS,
          }));
          failures = 0;
        } catch (error) {
          const status = (error as { status?: number }).status ?? 0;
          if ((status > 0 && status < 500) || failures >= 5) throw error;
          failures += 1;
          await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** failures));
          continue;
        }
        for (const event of events) {
          after = event.seq;
          yield event;
          if (event.type === 'meeting_ended') return;
        }
      }
    },
  };
};
