import pMap from 'p-map';
import type { Db } from '../../db';
import type { Config } from '../../env';
import { describeForLog } from '../../error-chain';
import type { Wake } from '../../ticker';
import { buildPayload } from './build-payload';
import { claimDeliveries, leaseMs } from './claim-deliveries';
import { type PushConfig, push, unpushable } from './push';
import { type Attempt, type RecordConfig, type Recorded, recordAttempt } from './record-attempt';
import type { Outcome, Target } from './target';

export type DispatchConfig = PushConfig & RecordConfig & Pick<Config, 'DISPATCH_CONCURRENCY'>;

export interface DispatchSummary {
  claimed: number;
  delivered: number;
  failed: number;
  dead: number;
}

const MAX_FOLLOW_UP_DEPTH = 4;

/** What to push for this delivery, or why not, and the endpoint's outcome. */
async function pushTarget(db: Db, config: PushConfig, target: Target): Promise<Outcome> {
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
  return push(target, payload, config);
}

/**
 * An attempt that broke on our side (a bug, a secret that no longer decrypts): recorded as a
 * failed attempt like any other, so the row is retried and eventually `dead` instead of being
 * re-claimed forever unrecorded. The details go to the logs only: the attempt is visible to agents.
 */
function crashed(target: Target, error: unknown): Outcome {
  const { id, attempts } = target.delivery;
  console.error(`delivery ${id} attempt ${attempts} failed on our side:`, describeForLog(error));
  return { ok: false, final: false, responseStatus: null, error: 'internal error while delivering' };
}

/** Pushes one claimed delivery; never throws (a failure on our side is its outcome). */
export async function pushOnce(db: Db, config: PushConfig, target: Target): Promise<Attempt> {
  const startedAt = new Date();
  try {
    return { target, startedAt, outcome: await pushTarget(db, config, target) };
  } catch (error) {
    return { target, startedAt, outcome: crashed(target, error) };
  }
}

/** Records an attempt; never throws, so one bad row cannot spoil its batch. */
export async function record(db: Db, config: DispatchConfig, attempt: Attempt): Promise<Recorded> {
  try {
    return await recordAttempt(db, config, attempt);
  } catch (error) {
    // Recording with the answer failed: record the attempt as failed, without it.
    return recordAttempt(db, config, { ...attempt, outcome: crashed(attempt.target, error) }).catch(
      (failure) => {
        // The lease ends and the row is due again: nothing is lost, the attempt is just not recorded.
        console.error(`delivery ${attempt.target.delivery.id}: recording failed:`, describeForLog(failure));
        return { status: 'failed' as const, followUps: [], wakeAt: null };
      },
    );
  }
}

/**
 * Pushes claimed deliveries with bounded concurrency (a Worker keeps at most 6 connections open at
 * once), then what their answers created (a late reply; an autoRun meeting's next turn and its
 * events), a few rounds deep; beyond that it is due and the sweeper takes it, so one invocation
 * never turns into a long loop (Workers bound subrequests per invocation). Every deadline this
 * leaves (a retry, a claim's lease, a meeting's next turn) goes to `wake`.
 */
export async function deliver(
  db: Db,
  config: DispatchConfig,
  targets: Target[],
  wake: Wake,
  depth = 0,
): Promise<DispatchSummary> {
  const summary: DispatchSummary = { claimed: targets.length, delivered: 0, failed: 0, dead: 0 };
  const followUps: string[] = [];
  await pMap(
    targets,
    async (target) => {
      const result = await record(db, config, await pushOnce(db, config, target));
      summary[result.status] += 1;
      followUps.push(...result.followUps);
      wake(result.wakeAt);
    },
    { concurrency: config.DISPATCH_CONCURRENCY },
  );
  if (followUps.length > 0 && depth < MAX_FOLLOW_UP_DEPTH) {
    const claims = await claim(db, config, { ids: followUps, limit: followUps.length }, wake);
    const next = await deliver(db, config, claims, wake, depth + 1);
    summary.claimed += next.claimed;
    summary.delivered += next.delivered;
    summary.failed += next.failed;
    summary.dead += next.dead;
  }
  return summary;
}

/** Claims due deliveries; the lease's end is a deadline (the claimer may die before recording). */
async function claim(db: Db, config: DispatchConfig, options: { ids?: string[]; limit: number }, wake: Wake) {
  const lease = leaseMs(config);
  const targets = await claimDeliveries(db, { ...options, leaseMs: lease });
  if (targets.length > 0) wake(Date.now() + lease);
  return targets;
}

/** Claims due deliveries (the given ids, or any that are due) and delivers them. */
export async function dispatch(
  db: Db,
  config: DispatchConfig,
  options: { ids?: string[]; limit: number },
  wake: Wake,
): Promise<DispatchSummary> {
  return deliver(db, config, await claim(db, config, options, wake), wake);
}
