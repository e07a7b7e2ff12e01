import { sql } from 'drizzle-orm';
import type { Db, Queryable, Tx } from '../../db';
import type { Config } from '../../env';
import { answerOf, applyAnswer } from './apply-answer';
import { retryDelayMs } from './backoff';
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

/**
 * Records an attempt in one statement: the attempt row, the delivery's new state, the message's
 * acknowledgement (a 2xx from the endpoint acknowledges it) and a 410's disabling of the endpoint.
 * Conditional on the claim: if our lease ran out and someone re-claimed, theirs is the word, and
 * this attempt adds nothing but its own record. True when the claim was still ours.
 */
async function recordStatement(q: Queryable, attempt: Attempt, state: ReturnType<typeof nextState>) {
  const { target, outcome, startedAt } = attempt;
  const { delivery } = target;
  // Only the parts this outcome needs: each one is planned on every run.
  const acknowledged = outcome.ok
    ? sql`, acknowledged AS (
        UPDATE messages SET acknowledged_at = now()
        WHERE acknowledged_at IS NULL AND id IN (SELECT message_id FROM updated)
      )`
    : sql``;
  const disabled = outcome.gone
    ? sql`, disabled AS (
        UPDATE agents SET endpoint_disabled_at = now()
        WHERE id = ${target.agent.id} AND endpoint_url = ${outcome.gone}
      )`
    : sql``;
  const { rows } = await q.execute<{ current: number }>(sql`
    WITH updated AS (
      UPDATE deliveries
      SET status = ${state.status},
          last_error = ${outcome.error},
          delivered_at = ${outcome.ok ? sql`now()` : sql`NULL`},
          next_attempt_at = now() + make_interval(secs => ${state.retryInMs / 1000})
      WHERE id = ${delivery.id} AND attempts = ${delivery.attempts} AND status IN ('queued', 'failed')
      RETURNING message_id
    ), attempt AS (
      INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, response_status, error)
      VALUES (${delivery.id}, ${delivery.attempts}, ${startedAt.toISOString()}::timestamptz,
              ${Date.now() - startedAt.getTime()}, ${outcome.responseStatus}, ${outcome.error})
    )${acknowledged}${disabled}
    SELECT count(*)::int AS current FROM updated`);
  return Number(rows[0]?.current ?? 0) > 0;
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

/**
 * Records one attempt. An endpoint's answer (a reply, a speech) is applied in the same transaction
 * as the attempt, as if the agent had called the API, if the claim is still ours. Returns the
 * delivery's new status and the outbox ids the answer created.
 */
export async function recordAttempt(
  db: Db,
  config: RecordConfig,
  attempt: Attempt,
): Promise<{ status: AttemptStatus; followUps: string[] }> {
  const state = nextState(config, attempt);
  const { target, outcome } = attempt;
  const answer = outcome.ok && outcome.answer ? answerOf(target.delivery.type, outcome.answer) : null;
  if (!answer) {
    await recordStatement(db, attempt, state);
    return { status: state.status, followUps: [] };
  }
  return db.transaction(async (tx) => {
    if (!(await recordStatement(tx, attempt, state))) return { status: state.status, followUps: [] };
    const applied = await applyAnswer(tx, config.MAX_DELIVERY_ATTEMPTS, target, answer);
    if (applied.refused) await noteRefusal(tx, target.delivery, applied.refused);
    return { status: state.status, followUps: applied.deliveryIds };
  });
}
