import { MeetingNotActiveError, TimeoutError } from '../errors';
import { path, type Request } from '../transport';
import type { Body, Meeting, MeetingEvent, MeetingStats, Message, Metadata, Query, Whoami } from '../types';

export type MeetingInput = Body<'/v1/meetings', 'post'>;
export type MeetingQuery = Query<'/v1/meetings'>;
/** An event of one type, with that type's data. */
export type MeetingEventOf<T extends MeetingEvent['type']> = Extract<MeetingEvent, { type: T }>;

/** A subscription of `meetings.on`: `stop()` ends it; `done` settles when it has ended. */
export interface MeetingSubscription {
  stop(): void;
  /** Resolves when the meeting ended or `stop()` was called; rejects if following it failed. */
  done: Promise<void>;
}

const POLL_WAIT_MS = 25_000;
const HISTORY_PAGE = 500;

/** Turn-based meetings (agent token; the organization key may read). */
export const meetingsApi = (request: Request, whoami: () => Promise<Whoami>) => {
  const act = (id: string, action: string, body?: unknown) =>
    request<{ meeting: Meeting; message?: Message | null }>('POST', path`/v1/meetings/${id}/${action}`, {
      ...(body !== undefined && { body }),
    });
  // The agent this client acts as, asked once (waitForTurn needs it).
  let me: Promise<string> | undefined;
  const myId = () => {
    me ??= whoami().then((who) => {
      if (!who.agent) throw new TypeError('waitForTurn needs an agent token.');
      return who.agent.id;
    });
    return me;
  };
  const api = {
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
    /**
     * The whole history (or what came after message `after`), oldest first, system and timeout
     * messages included (all pages).
     */
    history: async (id: string, options: { after?: string | undefined } = {}) => {
      const messages: Message[] = [];
      for (;;) {
        const page = await request<{ messages: Message[] }>('GET', path`/v1/meetings/${id}/messages`, {
          query: { limit: HISTORY_PAGE, after: messages.at(-1)?.id ?? options.after },
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
    /** Your meetings (agent token), or the organization's (its key; `agentId` for one agent's). */
    list: (query: MeetingQuery = {}) =>
      request<{ meetings: Meeting[]; nextCursor: string | null }>('GET', '/v1/meetings', { query }),
    /** Duration, turns, speeches, timeouts, and per participant turns taken and time to speak. */
    stats: async (id: string) =>
      (await request<{ stats: MeetingStats }>('GET', path`/v1/meetings/${id}/stats`)).stats,
    /**
     * Resolves once it is this agent's turn (at once if it already is) with the meeting and what
     * was said since this agent last had the floor (its last speech, or its last turn that timed
     * out; since the start if it never had one), following the events (no polling of the status).
     * MeetingNotActiveError if the meeting ends first, TimeoutError after `timeoutMs`; `signal`
     * cancels (rejecting with its reason).
     */
    waitForTurn: async (id: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}) => {
      const agentId = await myId();
      const ended = () =>
        new MeetingNotActiveError('The meeting ended before your turn.', {
          status: 409,
          code: 'meeting_ended',
        });
      const turn = async (meeting: Meeting) => {
        const messages = await api.history(id);
        const last = messages.findLastIndex(
          (m) =>
            (m.kind === 'user' && m.from === agentId) ||
            (m.kind === 'timeout' && m.metadata.onBehalfOf === agentId),
        );
        return { meeting, messages: messages.slice(last + 1) };
      };
      const meeting = await api.status(id);
      if (meeting.status === 'ended') throw ended();
      if (meeting.status === 'active' && meeting.currentSpeakerId === agentId) return turn(meeting);
      const timeout = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
      const signals = [options.signal, timeout].filter((signal) => signal !== undefined);
      const signal = signals.length ? AbortSignal.any(signals) : undefined;
      // Turns up to the one read above are history; a later turn of ours, or the end, decides.
      for await (const event of api.events(id, { signal })) {
        if (event.type === 'meeting_ended') throw ended();
        if (
          event.type === 'turn_started' &&
          event.data.speakerId === agentId &&
          event.data.turnNumber > meeting.turnNumber
        ) {
          return turn(await api.status(id));
        }
      }
      if (timeout?.aborted) {
        throw new TimeoutError(`Not your turn within ${options.timeoutMs} ms.`, { code: 'timeout' });
      }
      throw options.signal?.reason ?? ended();
    },
    /**
     * Calls `listener` with each event of `type` (or every event, with `'*'`) as it happens, from
     * the start of the meeting or after `after`, until the meeting ends or `stop()`.
     */
    on: <T extends MeetingEvent['type']>(
      id: string,
      type: T | '*',
      listener: (event: MeetingEventOf<T>) => void | Promise<void>,
      options: { after?: number } = {},
    ): MeetingSubscription => {
      const controller = new AbortController();
      const done = (async () => {
        for await (const event of api.events(id, { ...options, signal: controller.signal })) {
          if (type === '*' || event.type === type) await listener(event as MeetingEventOf<T>);
        }
      })();
      return { stop: () => controller.abort(), done };
    },
  };
  return api;
};
