import { Webhook } from 'standardwebhooks';
import type { Delivered, Meeting, MeetingEvent, Message } from './types';

/** Where handled webhook-ids are remembered, to drop redeliveries (delivery is at least once). */
export interface DedupeStore {
  has(id: string): boolean | Promise<boolean>;
  add(id: string): void | Promise<void>;
}

/** The default store: the latest `capacity` ids in memory (per instance; bring a shared one if you scale out). */
export function memoryDedupeStore(capacity = 10_000): DedupeStore {
  const seen = new Set<string>();
  return {
    has: (id) => seen.has(id),
    add: (id) => {
      seen.add(id);
      if (seen.size > capacity) seen.delete(seen.values().next().value as string);
    },
  };
}

export interface AgentHandlerOptions {
  /** The agent's `whsec_` signing secret. */
  signingSecret: string;
  /** A one-way or async message (or a late reply) arrived. */
  onMessage?: (message: Message, delivery: Delivered) => unknown;
  /** A sync request: what this returns is the reply. */
  onSyncRequest?: (message: Message, delivery: Delivered) => unknown;
  /** Your turn in an autoRun meeting: what this returns is your speech (undefined: say nothing). */
  onMeetingTurn?: (turn: { meeting: Meeting; history: Message[] }, delivery: Delivered) => unknown;
  /** Something happened in a meeting you take part in. */
  onMeetingEvent?: (event: MeetingEvent, delivery: Delivered) => unknown;
  dedupe?: DedupeStore;
}

const problem = (status: number, code: string, detail: string) =>
  new Response(
    JSON.stringify({ type: `urn:agent-messaging:problem:${code}`, title: detail, status, detail, code }),
    {
      status,
      headers: { 'content-type': 'application/problem+json' },
    },
  );

/**
 * A fetch handler for an agent's endpoint (a Worker, Bun, Deno, or Node through an adapter). It
 * verifies the Standard Webhooks signature (bad or stale: 401), drops duplicates by webhook-id,
 * and calls the matching callback; a callback that throws gives 500, so the service retries.
 */
export function createAgentHandler(options: AgentHandlerOptions): (request: Request) => Promise<Response> {
  const webhook = new Webhook(options.signingSecret);
  const dedupe = options.dedupe ?? memoryDedupeStore();
  const inFlight = new Set<string>();

  async function dispatch(delivery: Delivered): Promise<Record<string, unknown>> {
    switch (delivery.type) {
      case 'message':
        if (delivery.message) await options.onMessage?.(delivery.message, delivery);
        return {};
      case 'sync_request': {
        if (!options.onSyncRequest || !delivery.message) return {};
        const reply = await options.onSyncRequest(delivery.message, delivery);
        return reply === undefined ? {} : { reply };
      }
      case 'meeting_turn': {
        if (!options.onMeetingTurn || !delivery.meeting) return {};
        const speech = await options.onMeetingTurn(
          { meeting: delivery.meeting, history: delivery.history ?? [] },
          delivery,
        );
        return speech === undefined ? {} : { speech };
      }
      case 'meeting_event':
        if (delivery.event) await options.onMeetingEvent?.(delivery.event, delivery);
        return {};
      default:
        return {};
    }
  }

  return async (request) => {
    if (request.method !== 'POST') return problem(405, 'method_not_allowed', 'POST only');
    const payload = await request.text();
    let delivery: Delivered;
    try {
      delivery = webhook.verify(payload, Object.fromEntries(request.headers)) as Delivered;
    } catch {
      return problem(401, 'invalid_signature', 'Missing, invalid or stale webhook signature');
    }
    const id = request.headers.get('webhook-id') as string;
    if (inFlight.has(id) || (await dedupe.has(id))) return Response.json({ duplicate: true });
    inFlight.add(id);
    try {
      const answer = await dispatch(delivery);
      await dedupe.add(id);
      return Response.json(answer);
    } catch (error) {
      console.error('agent handler failed; the delivery will be retried', error);
      return problem(500, 'handler_failed', 'The handler failed');
    } finally {
      inFlight.delete(id);
    }
  };
}
