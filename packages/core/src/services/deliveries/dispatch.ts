import pMap from 'p-map';
import type { Db } from '../../db';
import type { Config } from '../../env';
import { describeForLog } from '../../error-chain';
import { buildPayload } from './build-payload';
import { claimDeliveries, leaseMs } from './claim-deliveries';
import { type PushConfig, push, unpushable } from './push';
import { type Attempt, type RecordConfig, recordAttempt } from './record-attempt';
import type { AttemptStatus, Outcome, Target } from './target';

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
export async function record(
  db: Db,
  config: DispatchConfig,
  attempt: Attempt,
): Promise<{ status: AttemptStatus; followUps: string[] }> {
  try {
    return await recordAttempt(db, config, attempt);
  } catch (error) {
    // Recording with the answer failed: record the attempt as failed, without it.
    return recordAttempt(db, config, { ...attempt, outcome: crashed(attempt.target, error) }).catch(
      (failure) => {
        // The lease ends and the row is due again: nothing is lost, the attempt is just not recorded.
        console.error(`delivery ${attempt.target.delivery.id}: recording failed:`, describeForLog(failure));
        return { status: 'failed' as const, followUps: [] };
      },
    );
  }
}

/**
 * Pushes claimed deliveries with bounded concurrency (a Worker keeps at most 6 connections open at
 * once), then what their answers created (a late reply; an autoRun meeting's next turn and its
 * events), a few rounds deep; beyond that it is due and the sweeper takes it, so one invocation
 * never turns into a long loop (Workers bound subrequests per invocation).
 */
export async function deliver(
  db: Db,
  config: DispatchConfig,
  targets: Target[],
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
    },
    { concurrency: config.DISPATCH_CONCURRENCY },
  );
  if (followUps.length > 0 && depth < MAX_FOLLOW_UP_DEPTH) {
    const claims = await claimDeliveries(db, {
      ids: followUps,
      limit: followUps.length,
      leaseMs: leaseMs(config),
    });
    const next = await deliver(db, config, claims, depth + 1);
    summary.claimed += next.claimed;
    summary.delivered += next.delivered;
    summary.failed += next.failed;
    summary.dead += next.dead;
  }
  return summary;
}

/** Claims due deliveries (the given ids, or any that are due) and delivers them. */
export async function dispatch(
  db: Db,
  config: DispatchConfig,
  options: { ids?: string[]; limit: number },
): Promise<DispatchSummary> {
  const targets = await claimDeliveries(db, { ...options, leaseMs: leaseMs(config) });
  return deliver(db, config, targets);
}
