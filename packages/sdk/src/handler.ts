import { Webhook } from 'standardwebhooks';
import type {
  Delivered,
  Meeting,
  MeetingEvent,
  MeetingEventDelivery,
  MeetingTurnDelivery,
  Message,
  MessageDelivery,
} from './types';

/** The JSON a delivery was answered with: `{}`, `{ reply }` or `{ speech }`. */
export type Answer = Record<string, unknown>;

/**
 * Where handled deliveries are remembered by webhook-id, to drop redeliveries (delivery is at
 * least once). It keeps the answer, not only the id: when the service gave up waiting for a slow
 * callback and retries, the retry still carries the reply or speech instead of losing it.
 */
export interface DedupeStore {
  /** The answer given to this delivery, or undefined if it was not handled yet. */
  recall(id: string): Answer | undefined | Promise<Answer | undefined>;
  /** Called only after the callback succeeded, so a failed attempt runs again when retried. */
  remember(id: string, answer: Answer): void | Promise<void>;
}

/**
 * The default store: the latest `capacity` deliveries in memory, oldest dropped first. It is per
 * instance; bring a shared one (KV, Redis, a table) if your endpoint runs on several.
 */
export function memoryDedupeStore(capacity = 10_000): DedupeStore {
  const answers = new Map<string, Answer>();
  return {
    recall: (id) => answers.get(id),
    remember: (id, answer) => {
      answers.set(id, answer);
      // A Map iterates in insertion order: its first key is the oldest.
      if (answers.size > capacity) answers.delete(answers.keys().next().value as string);
    },
  };
}

export interface AgentHandlerOptions {
  /** The agent's `whsec_` signing secret. */
  signingSecret: string;
  /** A one-way or async message (or a late reply) arrived. */
  onMessage?: (message: Message, delivery: MessageDelivery) => unknown;
  /** A sync request: what this returns is the reply (undefined: reply later through the API). */
  onSyncRequest?: (message: Message, delivery: MessageDelivery) => unknown;
  /** Your turn in an autoRun meeting: what this returns is your speech (undefined: say nothing). */
  onMeetingTurn?: (turn: { meeting: Meeting; history: Message[] }, delivery: MeetingTurnDelivery) => unknown;
  /** Something happened in a meeting you take part in. */
  onMeetingEvent?: (event: MeetingEvent, delivery: MeetingEventDelivery) => unknown;
  /** Default: `memoryDedupeStore()`. */
  dedupe?: DedupeStore;
  /** How far webhook-timestamp may be from now, in seconds. Default and maximum: 300. */
  toleranceSeconds?: number;
}

/** standardwebhooks always refuses timestamps further off than this; a handler can only be stricter. */
const MAX_TOLERANCE_SECONDS = 300;

const problem = (status: number, code: string, detail: string, headers: Record<string, string> = {}) =>
  new Response(
    JSON.stringify({ type: `urn:agent-messaging:problem:${code}`, title: detail, status, detail, code }),
    { status, headers: { 'content-type': 'application/problem+json', ...headers } },
  );

const answerWith = (field: 'reply' | 'speech', value: unknown): Answer =>
  value === undefined ? {} : { [field]: value };

const isDelivery = (value: unknown): value is Delivered =>
  typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';

/**
 * A fetch handler for an agent's endpoint (a Worker, Bun, Deno, or Node through an adapter). It
 * verifies the Standard Webhooks signature (bad or stale: 401), answers a redelivery of a handled
 * webhook-id with the first answer (marked `duplicate`) without calling back again, and calls the
 * matching callback; a callback that throws gives 500, so the service retries.
 */
export function createAgentHandler(options: AgentHandlerOptions): (request: Request) => Promise<Response> {
  const toleranceSeconds = options.toleranceSeconds ?? MAX_TOLERANCE_SECONDS;
  if (!(toleranceSeconds > 0 && toleranceSeconds <= MAX_TOLERANCE_SECONDS)) {
    throw new RangeError(`toleranceSeconds must be in (0, ${MAX_TOLERANCE_SECONDS}]`);
  }
  const webhook = new Webhook(options.signingSecret);
  const dedupe = options.dedupe ?? memoryDedupeStore();
  // A retry that arrives while the first attempt still runs waits for it instead of calling back twice.
  const inFlight = new Map<string, Promise<{ answer: Answer; duplicate: boolean }>>();

  function verified(payload: string, headers: Headers): boolean {
    try {
      webhook.verify(payload, Object.fromEntries(headers), { jsonParse: false });
    } catch {
      return false;
    }
    const sentAt = Number(headers.get('webhook-timestamp'));
    return Math.abs(Date.now() / 1000 - sentAt) <= toleranceSeconds;
  }

  /**
   * Messages (one-way, async, sync requests) are acknowledged by a 2xx, so one without its
   * callback is refused. Meeting turns and events are not inbox messages: without a callback, a
   * turn is silence and an event is just acknowledged, as is a type this SDK does not know.
   */
  function handles(delivery: Delivered): boolean {
    if (delivery.type === 'message') return options.onMessage !== undefined;
    if (delivery.type === 'sync_request') return options.onSyncRequest !== undefined;
    return true;
  }

  async function dispatch(delivery: Delivered): Promise<Answer> {
    switch (delivery.type) {
      case 'message':
        await options.onMessage?.(delivery.message, delivery);
        return {};
      case 'sync_request':
        return answerWith('reply', await options.onSyncRequest?.(delivery.message, delivery));
      case 'meeting_turn': {
        const { meeting, history } = delivery;
        return answerWith('speech', await options.onMeetingTurn?.({ meeting, history }, delivery));
      }
      case 'meeting_event':
        await options.onMeetingEvent?.(delivery.event, delivery);
        return {};
      default:
        // A type this SDK does not know (a newer service): acknowledged, nothing done.
        return {};
    }
  }

  async function handle(id: string, delivery: Delivered) {
    const remembered = await dedupe.recall(id);
    if (remembered) return { answer: remembered, duplicate: true };
    const answer = await dispatch(delivery);
    try {
      await dedupe.remember(id, answer);
    } catch (error) {
      // The callback's work is done: failing now would only make the retry do it twice.
      console.error('agent handler could not remember a delivery; a redelivery would run again', error);
    }
    return { answer, duplicate: false };
  }

  return async (request) => {
    if (request.method !== 'POST') {
      return problem(405, 'method_not_allowed', 'POST only', { allow: 'POST' });
    }
    const payload = await request.text();
    if (!verified(payload, request.headers)) {
      return problem(401, 'invalid_signature', 'Missing, invalid or stale webhook signature');
    }
    let delivery: unknown;
    try {
      delivery = JSON.parse(payload);
    } catch {
      return problem(400, 'invalid_json', 'Body is not valid JSON');
    }
    if (!isDelivery(delivery)) return problem(400, 'validation_failed', 'Body must be an object with a type');

    if (!handles(delivery)) {
      // Not acknowledged: the message stays in the agent's inbox, to pull or to handle later.
      return problem(501, 'not_handled', `This endpoint has no callback for ${delivery.type}`);
    }

    // Verified, so the header is there.
    const id = request.headers.get('webhook-id') as string;
    let pending = inFlight.get(id);
    const joined = pending !== undefined;
    if (!pending) {
      pending = handle(id, delivery);
      inFlight.set(id, pending);
      // Both ways, so a failure is not also an unhandled rejection here (it is handled below).
      pending.then(
        () => inFlight.delete(id),
        () => inFlight.delete(id),
      );
    }
    try {
      const { answer, duplicate } = await pending;
      return Response.json(joined || duplicate ? { duplicate: true, ...answer } : answer);
    } catch (error) {
      console.error('agent handler failed; the delivery will be retried', error);
      return problem(500, 'handler_failed', 'The handler failed; the delivery will be retried');
    }
  };
}
