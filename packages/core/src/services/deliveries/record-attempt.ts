import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db';
import type { Config } from '../../env';
import { answerOf, applyAnswer } from './apply-answer';
import { retryDelayMs } from './backoff';
import { type AttemptRow, recordAttemptRows, recordTogether } from './record-attempts-together';
import type { AttemptStatus, Outcome, Target } from './target';

export type RecordConfig = Pick<Config, 'RETRY_BASE_MS' | 'RETRY_MAX_MS' | 'MAX_DELIVERY_ATTEMPTS'>;

export interface Attempt {
  target: Target;
  startedAt: Date;
  outcome: Outcome;
}

/** Where the attempt leaves the delivery: delivered, failed (retried later) or dead. */
function nextState(config: RecordConfig, { target, outcome }: Attempt) {
  const { attempts, attemptLimit } = target.delivery;
  const status: AttemptStatus = outcome.ok
    ? 'delivered'
    : outcome.final || attempts >= attemptLimit
      ? 'dead'
      : 'failed';
  // Failures of this series of attempts (a redeliver starts a new series with a raised limit).
  const seriesFailures = attempts - (attemptLimit - config.MAX_DELIVERY_ATTEMPTS);
  const retryInMs =
    status === 'failed' ? retryDelayMs(seriesFailures, config.RETRY_BASE_MS, config.RETRY_MAX_MS) : 0;
  return { status, retryInMs };
}

/** The arguments of `am_record_attempt` for this attempt and the state it leaves. */
function attemptRow(
  { target, outcome, startedAt }: Attempt,
  state: ReturnType<typeof nextState>,
): AttemptRow {
  return {
    deliveryId: target.delivery.id,
    attempt: target.delivery.attempts,
    status: state.status,
    error: outcome.error,
    ok: outcome.ok,
    retrySecs: state.retryInMs / 1000,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    responseStatus: outcome.responseStatus,
    agentId: target.agent.id,
    gone: outcome.gone ?? null,
  };
}

/** A refused answer (already replied, turn expired) is noted on the attempt and the delivery. */
async function noteRefusal(tx: Tx, delivery: Target['delivery'], refusal: string) {
  await tx.execute(sql`
    WITH noted AS (
      UPDATE deliveries SET last_error = ${refusal} WHERE id = ${delivery.id}
    )
    UPDATE delivery_attempts SET error = ${refusal}
    WHERE delivery_id = ${delivery.id} AND attempt = ${delivery.attempts}`);
}

/** Where an attempt left its delivery, and what it left to do: outbox ids and a deadline. */
export interface Recorded {
  status: AttemptStatus;
  followUps: string[];
  /** The next attempt's time when it failed, or the next turn's end its answer started (epoch ms). */
  wakeAt: number | null;
}

/**
 * Records one attempt. An endpoint's answer (a reply, a speech) is applied in the same transaction
 * as the attempt, as if the agent had called the API, if the claim is still ours.
 */
export async function recordAttempt(db: Db, config: RecordConfig, attempt: Attempt): Promise<Recorded> {
  const state = nextState(config, attempt);
  const { target, outcome } = attempt;
  const retryAt = state.status === 'failed' ? Date.now() + state.retryInMs : null;
  const answer = outcome.ok && outcome.answer ? answerOf(target.delivery.type, outcome.answer) : null;
  if (!answer) {
    await recordTogether(db, attemptRow(attempt, state));
    return { status: state.status, followUps: [], wakeAt: retryAt };
  }
  return db.transaction(async (tx) => {
    const unanswered = { status: state.status, followUps: [], wakeAt: retryAt };
    const [current] = await recordAttemptRows(tx, [attemptRow(attempt, state)]);
    if (!current) return unanswered;
    const applied = await applyAnswer(tx, config.MAX_DELIVERY_ATTEMPTS, target, answer);
    if (applied.refused) await noteRefusal(tx, target.delivery, applied.refused);
    return { status: state.status, followUps: applied.deliveryIds, wakeAt: applied.wakeAt };
  });
}
