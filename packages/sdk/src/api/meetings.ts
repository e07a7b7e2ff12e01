import { path, type Request } from '../transport';
import type { Body, Meeting, MeetingEvent, Message, Metadata } from '../types';

export type MeetingInput = Body<'/v1/meetings', 'post'>;

const POLL_WAIT_MS = 25_000;
const HISTORY_PAGE = 500;

/** Turn-based meetings (agent token; the organization key may read). */
export const meetingsApi = (request: Request) => {
  const act = (id: string, action: string, body?: unknown) =>
    request<{ meeting: Meeting; message?: Message | null }>('POST', path`/v1/meetings/${id}/${action}`, {
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
    /**
     * Speak in your turn, with `metadata` if you like; with `turnNumber`, a speech that comes after
     * that turn is TurnExpiredError.
     */
    speak: (id: string, content: unknown, options: { turnNumber?: number; metadata?: Metadata } = {}) =>
      act(id, 'speak', { content, ...options }),
    leave: async (id: string) => (await act(id, 'leave')).meeting,
    end: async (id: string) => (await act(id, 'end')).meeting,
    status: async (id: string) =>
      (await request<{ meeting: Meeting }>('GET', path`/v1/meetings/${id}`)).meeting,
    /** The whole history, oldest first, system and timeout messages included (all pages). */
    history: async (id: string) => {
      const messages: Message[] = [];
      for (;;) {
        const page = await request<{ messages: Message[] }>('GET', path`/v1/meetings/${id}/messages`, {
          query: { limit: HISTORY_PAGE, after: messages.at(-1)?.id },
        });
        messages.push(...page.messages);
        if (page.messages.length < HISTORY_PAGE) return messages;
      }
    },
    /**
     * The meeting's events in seq order, as they happen, until the meeting has ended. Long-polls and
     * resumes from the last seq it yielded, so a dropped connection loses and repeats nothing;
     * transient failures are retried with backoff. Stop early with `break` or `signal`.
     */
    events: async function* (id: string, options: { after?: number; signal?: AbortSignal } = {}) {
      let after = options.after ?? 0;
      let failures = 0;
      while (!options.signal?.aborted) {
        let page: { events: MeetingEvent[]; ended: boolean };
        try {
          page = await request<{ events: MeetingEvent[]; ended: boolean }>(
            'GET',
            path`/v1/meetings/${id}/events`,
            {
              query: { after, waitMs: POLL_WAIT_MS, limit: 500 },
              extraTimeoutMs: POLL_WAIT_MS,
              signal: options.signal,
            },
          );
          failures = 0;
        } catch (error) {
          if (options.signal?.aborted) return;
          const status = (error as { status?: number }).status ?? 0;
          if ((status > 0 && status < 500) || failures >= 5) throw error;
          failures += 1;
          await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** failures));
          continue;
        }
        for (const event of page.events) {
          after = event.seq;
          yield event;
        }
        if (page.ended) return;
      }
    },
  };
};
