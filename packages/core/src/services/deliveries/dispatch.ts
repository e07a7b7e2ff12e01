import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import pMap from 'p-map';
import { Webhook } from 'standardwebhooks';
import { decryptSecret } from '../../crypto';
import type { Db } from '../../db';
import { checkEndpointUrl } from '../../endpoint-url';
import type { Config } from '../../env';
import { describeForLog } from '../../error-chain';
import {
  agents,
  deliveries,
  deliveryAttempts,
  meetingEvents,
  meetingParticipants,
  meetings,
  messages,
} from '../../schema';
import { eventView, meetingView, messageView } from '../../views';
import { answerOf, applyAnswer } from './apply-answer';
import { retryDelayMs } from './backoff';
import { type Claim, claimDeliveries } from './claim-deliveries';

type DispatchConfig = Pick<
  Config,
  | 'DELIVERY_TIMEOUT_MS'
  | 'RETRY_BASE_MS'
  | 'RETRY_MAX_MS'
  | 'MAX_DELIVERY_ATTEMPTS'
  | 'DISPATCH_CONCURRENCY'
  | 'ALLOW_PRIVATE_ENDPOINTS'
  | 'ENCRYPTION_KEY'
>;

export interface DispatchSummary {
  claimed: number;
  delivered: number;
  failed: number;
  dead: number;
}

/** What one attempt came to. `final` outcomes are not retried. */
interface Outcome {
  ok: boolean;
  final: boolean;
  responseStatus: number | null;
  error: string | null;
  /** 410 Gone: the agent asked us to stop pushing to this URL. */
  gone?: string;
  /** The body of a 2xx answer, which may carry a reply. */
  answer?: string;
}

const MAX_ANSWER_BYTES = 256 * 1024;
const MAX_FOLLOW_UP_DEPTH = 4;

/**
 * Claims due deliveries (the given ids, or any that are due) and pushes each to its agent's
 * endpoint with bounded concurrency: a Worker keeps at most 6 connections open at once.
 */
export async function dispatch(
  db: Db,
  config: DispatchConfig,
  options: { ids?: string[]; limit: number },
  depth = 0,
): Promise<DispatchSummary> {
  const claims = await claimDeliveries(db, {
    ...(options.ids && { ids: options.ids }),
    limit: options.limit,
    leaseMs: config.DELIVERY_TIMEOUT_MS + 5_000,
  });
  const summary: DispatchSummary = { claimed: claims.length, delivered: 0, failed: 0, dead: 0 };
  const followUps: string[] = [];
  await pMap(
    claims,
    async (claim) => {
      const result = await attempt(db, config, claim);
      summary[result.status] += 1;
      followUps.push(...result.followUps);
    },
    { concurrency: config.DISPATCH_CONCURRENCY },
  );
  // What answers created (a late reply; an autoRun meeting's next turn and its events) goes out in
  // this invocation too, a few rounds deep; beyond that it is due and the sweeper takes it, so one
  // invocation never turns into a long loop (Workers bound subrequests per invocation).
  if (followUps.length > 0 && depth < MAX_FOLLOW_UP_DEPTH) {
    const next = await dispatch(db, config, { ids: followUps, limit: followUps.length }, depth + 1);
    summary.claimed += next.claimed;
    summary.delivered += next.delivered;
    summary.failed += next.failed;
    summary.dead += next.dead;
  }
  return summary;
}

async function loadTarget(db: Db, deliveryId: string) {
  const [target] = await db
    .select({ delivery: deliveries, agent: agents, message: messages })
    .from(deliveries)
    .innerJoin(agents, eq(agents.id, deliveries.agentId))
    .leftJoin(messages, eq(messages.id, deliveries.messageId))
    .where(eq(deliveries.id, deliveryId));
  if (!target) throw new Error(`claimed delivery ${deliveryId} vanished`);
  return target;
}

type Target = Awaited<ReturnType<typeof loadTarget>>;

/** Recent messages handed to an autoRun speaker with its turn, as context. */
const TURN_HISTORY = 20;

/** The JSON body pushed for a delivery; null when what it was for is over (a meeting turn that passed). */
async function buildPayload(db: Db, { delivery, agent, message }: Target) {
  const base = { type: delivery.type, deliveryId: delivery.id, agentId: agent.id };
  switch (delivery.type) {
    case 'message':
    case 'sync_request':
      if (!message) throw new Error(`${delivery.type} delivery ${delivery.id} has no message`);
      return { ...base, message: messageView(message, delivery.status) };
    case 'meeting_event': {
      const [event] = await db
        .select()
        .from(meetingEvents)
        .where(
          and(
            eq(meetingEvents.meetingId, delivery.meetingId as string),
            eq(meetingEvents.seq, delivery.eventSeq as number),
          ),
        );
      if (!event) throw new Error(`meeting_event delivery ${delivery.id} has no event`);
      return { ...base, meetingId: delivery.meetingId, event: eventView(event) };
    }
    case 'meeting_turn': {
      const [meeting] = await db
        .select()
        .from(meetings)
        .where(eq(meetings.id, delivery.meetingId as string));
      if (meeting?.status !== 'active' || meeting.turnNumber !== delivery.turnNumber) return null;
      const participants = await db
        .select()
        .from(meetingParticipants)
        .where(eq(meetingParticipants.meetingId, meeting.id));
      const history = await db
        .select()
        .from(messages)
        .where(eq(messages.meetingId, meeting.id))
        .orderBy(desc(messages.id))
        .limit(TURN_HISTORY);
      return {
        ...base,
        meeting: meetingView(meeting, participants),
        history: history.reverse().map((row) => messageView(row, null)),
      };
    }
  }
}

/** Why this delivery cannot be pushed at all, if it cannot. */
function unpushable({ agent }: Target, allowPrivate: boolean): string | null {
  if (agent.status !== 'active') return 'agent is deactivated';
  if (!agent.endpointUrl) return 'agent has no endpoint; the message waits in its inbox';
  if (agent.endpointDisabledAt)
    return 'endpoint answered 410 Gone and is disabled until its URL is set again';
  try {
    checkEndpointUrl(agent.endpointUrl, allowPrivate);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The answer's text, cut off at MAX_ANSWER_BYTES so a hostile endpoint cannot exhaust memory. */
async function readAnswer(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel();
      break;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

async function post(target: Target, payload: object, config: DispatchConfig): Promise<Outcome> {
  const url = target.agent.endpointUrl as string;
  const body = JSON.stringify(payload);
  const secret = await decryptSecret(target.agent.signingSecretEncrypted, config.ENCRYPTION_KEY);
  const sentAt = new Date();
  const signature = new Webhook(secret).sign(target.delivery.id, sentAt, body);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'AgentMessaging-Dispatcher/1',
        'webhook-id': target.delivery.id,
        'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body,
      // A redirect could lead anywhere, including our own network: it counts as a failure.
      redirect: 'manual',
      signal: AbortSignal.timeout(config.DELIVERY_TIMEOUT_MS),
    });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    return {
      ok: false,
      final: false,
      responseStatus: null,
      error: timedOut
        ? `no answer within ${config.DELIVERY_TIMEOUT_MS} ms`
        : `request failed: ${(error as Error).message}`,
    };
  }
  if (response.ok) {
    const answer = await readAnswer(response).catch(() => '');
    return { ok: true, final: true, responseStatus: response.status, error: null, answer };
  }
  await response.body?.cancel().catch(() => {});
  if (response.status === 410) {
    return { ok: false, final: true, responseStatus: 410, error: 'endpoint answered 410 Gone', gone: url };
  }
  return {
    ok: false,
    final: false,
    responseStatus: response.status,
    // Not the body: the sender can read attempts, and the body is the recipient's business.
    error: `endpoint answered ${response.status}`,
  };
}

/** What to push for this delivery, or why not, and the endpoint's outcome. */
async function push(db: Db, config: DispatchConfig, target: Target): Promise<Outcome> {
  const reason = unpushable(target, config.ALLOW_PRIVATE_ENDPOINTS);
  if (reason) return { ok: false, final: true, responseStatus: null, error: reason };
  if (target.message?.acknowledgedAt) {
    return { ok: true, final: true, responseStatus: null, error: 'already acknowledged through the inbox' };
  }
  const payload = await buildPayload(db, target);
  if (!payload) {
    return {
      ok: false,
      final: true,
      responseStatus: null,
      error: 'the turn ended before it could be delivered',
    };
  }
  return post(target, payload, config);
}

/**
 * An attempt that broke on our side (a bug, a secret that no longer decrypts): recorded as a
 * failed attempt like any other, so the row is retried and eventually `dead` instead of being
 * re-claimed forever unrecorded. The details go to the logs only: the attempt is visible to agents.
 */
function crashed(claim: Claim, error: unknown): Outcome {
  console.error(`delivery ${claim.id} attempt ${claim.attempt} failed on our side:`, describeForLog(error));
  return { ok: false, final: false, responseStatus: null, error: 'internal error while delivering' };
}

/**
 * One attempt at one claimed delivery; never throws, so one bad row cannot spoil its batch. The
 * result is recorded in one transaction: the attempt, the delivery's new state, the message's
 * acknowledgement and any answer the endpoint gave (a reply, a speech).
 */
async function attempt(
  db: Db,
  config: DispatchConfig,
  claim: Claim,
): Promise<{ status: 'delivered' | 'failed' | 'dead'; followUps: string[] }> {
  const startedAt = new Date();
  let target: Target | undefined;
  let outcome: Outcome;
  try {
    target = await loadTarget(db, claim.id);
    outcome = await push(db, config, target);
  } catch (error) {
    outcome = crashed(claim, error);
  }
  try {
    return await record(db, config, claim, { startedAt, outcome, target });
  } catch (error) {
    // Recording with the answer failed: record the attempt as failed, without it.
    return record(db, config, claim, { startedAt, outcome: crashed(claim, error) });
  }
}

async function record(
  db: Db,
  config: DispatchConfig,
  claim: Claim,
  { startedAt, outcome, target }: { startedAt: Date; outcome: Outcome; target?: Target | undefined },
): Promise<{ status: 'delivered' | 'failed' | 'dead'; followUps: string[] }> {
  const seriesFailures = claim.attempt - (claim.attemptLimit - config.MAX_DELIVERY_ATTEMPTS);
  const status: 'delivered' | 'failed' | 'dead' = outcome.ok
    ? 'delivered'
    : outcome.final || claim.attempt >= claim.attemptLimit
      ? 'dead'
      : 'failed';
  const now = new Date();
  const answer =
    target && outcome.ok && outcome.answer ? answerOf(target.delivery.type, outcome.answer) : null;
  let followUps: string[] = [];
  let error = outcome.error;

  await db.transaction(async (tx) => {
    // Conditional on the claim: if our lease ran out and someone re-claimed, theirs is the word,
    // and this attempt changes nothing but its own record.
    const [current] = await tx
      .update(deliveries)
      .set({
        status,
        lastError: error,
        deliveredAt: outcome.ok ? now : null,
        nextAttemptAt:
          status === 'failed'
            ? new Date(
                now.getTime() + retryDelayMs(seriesFailures, config.RETRY_BASE_MS, config.RETRY_MAX_MS),
              )
            : now,
      })
      .where(
        and(
          eq(deliveries.id, claim.id),
          eq(deliveries.attempts, claim.attempt),
          inArray(deliveries.status, ['queued', 'failed']),
        ),
      )
      .returning({ id: deliveries.id });
    if (current && target && answer) {
      const applied = await applyAnswer(tx, config.MAX_DELIVERY_ATTEMPTS, target, answer);
      followUps = applied.deliveryIds;
      if (applied.refused) {
        error = applied.refused;
        await tx.update(deliveries).set({ lastError: error }).where(eq(deliveries.id, claim.id));
      }
    }
    await tx.insert(deliveryAttempts).values({
      deliveryId: claim.id,
      attempt: claim.attempt,
      startedAt,
      durationMs: now.getTime() - startedAt.getTime(),
      responseStatus: outcome.responseStatus,
      error,
    });
    if (current && outcome.ok && target?.message) {
      // A 2xx from the endpoint acknowledges the message: it leaves the inbox.
      await tx
        .update(messages)
        .set({ acknowledgedAt: sql`coalesce(${messages.acknowledgedAt}, now())` })
        .where(and(eq(messages.id, target.message.id), isNull(messages.acknowledgedAt)));
    }
    if (outcome.gone && target) {
      await tx
        .update(agents)
        .set({ endpointDisabledAt: now })
        .where(and(eq(agents.id, target.agent.id), eq(agents.endpointUrl, outcome.gone)));
    }
  });
  return { status, followUps };
}
