import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateEncryptionKey } from '@agent-messaging/core';
import {
  bundleWorkers,
  ensureDatabase,
  type LocalWorkers,
  migrate,
  startNeonEdge,
  startPostgres,
  startWorkers,
} from '@agent-messaging/local';
import { AgentMessaging } from '@agent-messaging/sdk';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { readBody } from './endpoint';

// The chaos run: messages of every kind from concurrent senders to endpoints that fail at random,
// while the workers are killed and restarted twice and PostgreSQL once (SIGKILL, then started on
// the same data). Then, endpoints healthy and the clock running: nothing accepted is lost.
// `npm run chaos` (10,000 messages; CHAOS_MESSAGES=n for another size); tests/chaos runs 1,000.

const ADMIN_TOKEN = 'chaos-admin-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ChaosReport {
  accepted: number;
  delivered: number;
  dead: number;
  /** For the agent whose endpoint answered 410 Gone, once it was disabled: kept in its inbox. */
  held: number;
  /** Dead though its endpoint's failures were not permanent: must be 0. */
  deadTransient: number;
  /** Receipts of a message beyond its first, all with the same webhook-id (at-least-once). */
  duplicates: number;
  /** A message received under two different webhook-ids: must be 0. */
  duplicatesWithNewId: number;
  /** Accepted but not in the database, or delivered-or-dead nowhere: must be 0. */
  lost: number;
  /** Deliveries neither delivered nor dead once everything settled: must be 0. */
  unsettled: number;
  /** Meetings whose events have a gap: must be 0. */
  meetingsWithGaps: number;
  /** Turns the autoRun meetings went through (spoken by the endpoints, or timed out). */
  meetingTurns: number;
  rejectedSignatures: number;
  maxDeliveryLagMs: number;
  outages: string[];
}

/** An endpoint that fails at random while `chaotic`: 5xx, hangs, resets, slow answers. */
async function chaoticEndpoint(options: { gone?: boolean; timeoutMs: number }) {
  const receipts = new Map<string, Set<string>>(); // message id -> webhook-ids it came with
  let secret = '';
  let chaotic = true;
  let rejected = 0;
  const server = createServer((request, response) => {
    // A sender that gives up (its timeout, the workers killed) cuts the request: nothing to answer.
    handle(request, response).catch(() => response.destroy());
  });
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const raw = await readBody(request);
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
    try {
      new Webhook(secret).verify(raw, headers);
    } catch {
      rejected += 1;
      response.writeHead(401).end();
      return;
    }
    if (options.gone) {
      response.writeHead(410).end();
      return;
    }
    const roll = Math.random();
    if (chaotic && roll < 0.3) {
      const failure = Math.floor(roll * 40); // 0..11, spread over the kinds of failure
      if (failure < 3) {
        response.writeHead(503).end('busy');
      } else if (failure < 6) {
        await sleep(options.timeoutMs + 300); // past the delivery timeout
        if (!response.destroyed) response.writeHead(200).end('{}');
      } else if (failure < 9) {
        request.socket.destroy(); // connection reset
      } else {
        await sleep(200); // slow, then fine
        record(raw, headers['webhook-id'] as string);
        response.writeHead(200, { 'content-type': 'application/json' }).end(answer(raw));
      }
      return;
    }
    record(raw, headers['webhook-id'] as string);
    response.writeHead(200, { 'content-type': 'application/json' }).end(answer(raw));
  };
  const record = (raw: string, webhookId: string) => {
    const body = JSON.parse(raw) as { message?: { id: string } };
    if (!body.message) return;
    const ids = receipts.get(body.message.id) ?? new Set<string>();
    ids.add(`${webhookId}#${(receipts.get(body.message.id)?.size ?? 0) + 1}`);
    receipts.set(body.message.id, ids);
  };
  const answer = (raw: string) => {
    const body = JSON.parse(raw) as { type: string };
    if (body.type === 'sync_request') return JSON.stringify({ reply: 'ok' });
    if (body.type === 'meeting_turn') return JSON.stringify({ speech: 'my turn' });
    return '{}';
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    receipts,
    setSecret: (value: string) => {
      secret = value;
    },
    calm: () => {
      chaotic = false;
    },
    rejected: () => rejected,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function runChaos(options: {
  messages: number;
  senders?: number;
  log?: (line: string) => void;
}) {
  const log = options.log ?? (() => {});
  // Under the working directory: workerd loads the bundles by paths relative to it.
  const workDir = await mkdtemp(join(process.cwd(), '.tmp-chaos-'));
  const dataDir = join(workDir, 'postgres');
  let postgres = await startPostgres(dataDir);
  const edge = await startNeonEdge();
  const databaseUrl = await ensureDatabase(postgres, 'chaos');
  await migrate(databaseUrl);
  const scripts = await bundleWorkers(join(workDir, 'build'));
  const deliveryTimeoutMs = 1_000;
  const workerOptions = {
    scripts,
    ticker: true as const,
    rateLimits: { agent: 1_000_000, organization: 1_000_000 },
    vars: {
      DATABASE_URL: databaseUrl,
      NEON_WS_PROXY: edge.wsProxy,
      NEON_HTTP_ENDPOINT: edge.sqlEndpoint,
      ADMIN_TOKEN,
      ENCRYPTION_KEY: generateEncryptionKey(),
      ALLOW_PRIVATE_ENDPOINTS: 'true',
      DELIVERY_TIMEOUT_MS: String(deliveryTimeoutMs),
      RETRY_BASE_MS: '100',
      RETRY_MAX_MS: '1000',
      MAX_DELIVERY_ATTEMPTS: '25',
    },
  };
  let workers: LocalWorkers = await startWorkers(workerOptions);
  const sql = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  sql.on('error', () => {});
  const outages: string[] = [];
  const endpoints = await Promise.all(
    Array.from({ length: 6 }, (_, i) => chaoticEndpoint({ gone: i === 5, timeoutMs: deliveryTimeoutMs })),
  );
  try {
    const admin = new AgentMessaging({ baseUrl: workers.apiUrl, token: ADMIN_TOKEN });
    const { apiKey } = await admin.organizations.create({ name: 'Chaos' });
    const org = new AgentMessaging({ baseUrl: workers.apiUrl, token: apiKey });
    const receivers: string[] = [];
    const receiverTokens = new Map<string, string>();
    for (const endpoint of endpoints) {
      const created = await org.agents.create({
        name: `receiver-${receivers.length}`,
        endpointUrl: endpoint.url,
      });
      endpoint.setSecret(created.signingSecret);
      receivers.push(created.agent.id);
      receiverTokens.set(created.agent.id, created.token);
    }
    const goneAgent = receivers[5] as string;
    const healthy = receivers.slice(0, 5);
    const senderCount = options.senders ?? 16;
    const senders = [];
    for (let i = 0; i < senderCount; i++) {
      const created = await org.agents.create({ name: `sender-${i}` });
      senders.push({ id: created.agent.id, token: created.token });
    }
    // Meetings of endpoint agents that run by themselves (autoRun), started now.
    const meetingIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const host = senders[i] as { id: string; token: string };
      const client = new AgentMessaging({ baseUrl: workers.apiUrl, token: host.token });
      const meeting = await client.meetings.create({
        title: `chaos ${i}`,
        participantIds: healthy.slice(0, 3),
        turnDurationMs: 1_500,
        maxTurns: 30,
        autoRun: true,
      });
      meetingIds.push(meeting.id);
    }
    for (const [i, id] of meetingIds.entries()) {
      for (const participant of healthy.slice(0, 3)) {
        const token = receiverTokens.get(participant) as string;
        await new AgentMessaging({ baseUrl: workers.apiUrl, token }).meetings.attend(id);
      }
      const host = senders[i] as { token: string };
      await new AgentMessaging({ baseUrl: workers.apiUrl, token: host.token }).meetings.start(id, 'begin');
    }

    const accepted: { id: string; to: string }[] = [];
    const refusals = new Map<string, number>();
    let issued = 0;
    const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)] as T;
    const send = async (sender: { id: string; token: string }) => {
      const client = new AgentMessaging({ baseUrl: workers.apiUrl, token: sender.token, timeoutMs: 10_000 });
      const kind = Math.random();
      const to = Math.random() < 0.05 ? goneAgent : pick(healthy);
      if (kind < 0.5) {
        const message = await client.messages.send(to, { n: issued });
        accepted.push({ id: message.id, to });
      } else if (kind < 0.65) {
        const recipients = [pick(healthy), pick(healthy), goneAgent].filter(
          (r, i, all) => all.indexOf(r) === i,
        );
        for (const message of await client.messages.send(recipients, { n: issued })) {
          accepted.push({ id: message.id, to: message.to as string });
        }
      } else if (kind < 0.9) {
        const { message } = await client.async.send(to, { n: issued });
        accepted.push({ id: message.id, to });
      } else {
        const { reply } = await client.sync.sendAndWait(pick(healthy), { n: issued }, { timeoutMs: 3_000 });
        accepted.push({ id: reply.inReplyTo as string, to: reply.from as string });
      }
    };
    // Each sender sends until the run has its count of accepted messages; a send refused, timed
    // out or cut by an outage is not accepted, and its sender waits a little, as a client would.
    const lane = async (sender: { id: string; token: string }) => {
      while (accepted.length < options.messages) {
        issued += 1;
        await send(sender).catch(async (error: { code?: string }) => {
          refusals.set(error.code ?? 'unknown', (refusals.get(error.code ?? 'unknown') ?? 0) + 1);
          await sleep(100);
        });
      }
    };
    const restartWorkers = async (label: string) => {
      outages.push(label);
      log(`chaos: ${label}`);
      await workers.stop();
      workers = await startWorkers(workerOptions);
      // The port changes: the senders' clients are made per request from `workers.apiUrl`.
    };
    const killPostgres = async () => {
      outages.push('PostgreSQL SIGKILLed and started again on the same data');
      log('chaos: SIGKILL PostgreSQL');
      const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      await sleep(1_000);
      for (let tries = 0; ; tries++) {
        try {
          postgres = await startPostgres(dataDir, { port: postgres.port });
          break;
        } catch (error) {
          if (tries > 20) throw error;
          await sleep(500); // its old backends are still on their way out
        }
      }
    };
    const chaos = (async () => {
      const at = (share: number) => async () => {
        while (accepted.length < options.messages * share) await sleep(20);
      };
      await at(0.2)();
      await restartWorkers('workers killed and started again (1)');
      await at(0.45)();
      await killPostgres();
      await at(0.7)();
      await restartWorkers('workers killed and started again (2)');
    })();
    await Promise.all([...senders.map(lane), chaos]);

    // Calm: endpoints answer, the clock and the cron's safety net run until everything settles.
    for (const endpoint of endpoints) endpoint.calm();
    const started = Date.now();
    for (;;) {
      await workers.sweep().catch(() => {});
      const { rows } = await sql.query(
        "SELECT count(*)::int AS n FROM deliveries WHERE status IN ('queued', 'failed') AND agent_id <> $1",
        [goneAgent],
      );
      const goneLeft = await sql.query(
        "SELECT count(*)::int AS n FROM deliveries WHERE status IN ('queued', 'failed') AND agent_id = $1",
        [goneAgent],
      );
      if (rows[0].n === 0 && goneLeft.rows[0].n === 0) break;
      if (Date.now() - started > 180_000) break;
      await sleep(1_000);
    }

    // The accounting.
    const acceptedIds = accepted.map((a) => a.id);
    const { rows: stored } = await sql.query(
      `SELECT m.id, m.recipient_id, m.created_at, d.status, d.delivered_at, d.attempts
       FROM messages m LEFT JOIN deliveries d ON d.message_id = m.id WHERE m.id = ANY($1)`,
      [acceptedIds],
    );
    const byId = new Map(stored.map((row) => [row.id as string, row]));
    const receipts = new Map<string, Set<string>>();
    for (const endpoint of endpoints)
      for (const [id, hooks] of endpoint.receipts)
        receipts.set(id, new Set([...(receipts.get(id) ?? []), ...hooks]));
    let lost = 0;
    let delivered = 0;
    let dead = 0;
    let held = 0;
    let deadTransient = 0;
    let duplicates = 0;
    let duplicatesWithNewId = 0;
    let maxLag = 0;
    for (const { id, to } of accepted) {
      const row = byId.get(id);
      if (!row) {
        lost += 1;
        log(`lost: ${id} is not in the database`);
        continue;
      }
      if (row.status === 'dead') {
        dead += 1;
        if (to !== goneAgent) deadTransient += 1;
        continue;
      }
      if (row.status === null && to === goneAgent) {
        // Its endpoint answered 410 Gone and was disabled: kept in its inbox, not pushed.
        held += 1;
        continue;
      }
      const got = receipts.get(id);
      if (row.status !== 'delivered' || !got) {
        // Sync requests answered inline count as delivered by their reply.
        if (row.status === 'delivered') delivered += 1;
        else {
          lost += 1;
          log(
            `lost: ${id} to ${to}: delivery ${row.status}, ${row.attempts} attempts, received ${got?.size ?? 0}`,
          );
        }
        continue;
      }
      delivered += 1;
      const webhookIds = new Set([...got].map((hook) => hook.split('#')[0]));
      duplicates += got.size - 1;
      if (webhookIds.size > 1) duplicatesWithNewId += 1;
      maxLag = Math.max(maxLag, new Date(row.delivered_at).getTime() - new Date(row.created_at).getTime());
    }
    const unsettled = (
      await sql.query("SELECT count(*)::int AS n FROM deliveries WHERE status IN ('queued', 'failed')")
    ).rows[0].n as number;
    const gaps = (
      await sql.query(
        'SELECT count(*)::int AS n FROM (SELECT meeting_id FROM meeting_events GROUP BY meeting_id HAVING max(seq) <> count(*)) g',
      )
    ).rows[0].n as number;
    const meetingTurns = (
      await sql.query(
        "SELECT count(*)::int AS n FROM meeting_events WHERE type IN ('message_posted', 'turn_timed_out') AND meeting_id = ANY($1)",
        [meetingIds],
      )
    ).rows[0].n as number;
    log(`refused sends: ${JSON.stringify(Object.fromEntries(refusals))}`);
    return {
      accepted: accepted.length,
      delivered,
      dead,
      held,
      deadTransient,
      duplicates,
      duplicatesWithNewId,
      lost,
      unsettled,
      meetingsWithGaps: gaps,
      meetingTurns,
      rejectedSignatures: endpoints.reduce((sum, e) => sum + e.rejected(), 0),
      maxDeliveryLagMs: maxLag,
      outages,
    } satisfies ChaosReport;
  } finally {
    await sql.end().catch(() => {});
    await workers.stop().catch(() => {});
    for (const endpoint of endpoints) await endpoint.close().catch(() => {});
    await edge.close().catch(() => {});
    await postgres.stop().catch(() => {});
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The report as a table; whether it holds no loss. */
export function printReport(report: ChaosReport): boolean {
  const rows: [string, number | string][] = [
    ['accepted', report.accepted],
    ['delivered', report.delivered],
    ['dead (permanent failures: 410 Gone)', report.dead - report.deadTransient],
    ['dead (transient failures)', report.deadTransient],
    ['kept in the inbox (endpoint gone, disabled)', report.held],
    ['duplicates, same webhook-id', report.duplicates],
    ['duplicates, another webhook-id', report.duplicatesWithNewId],
    ['lost', report.lost],
    ['deliveries not settled', report.unsettled],
    ['meeting turns (autoRun, spoken or timed out)', report.meetingTurns],
    ['meetings with gaps in their events', report.meetingsWithGaps],
    ['rejected signatures', report.rejectedSignatures],
    ['max delivery lag (ms)', report.maxDeliveryLagMs],
  ];
  for (const [label, value] of rows) console.log(`${label.padEnd(40)} ${value}`);
  for (const outage of report.outages) console.log(`outage: ${outage}`);
  return (
    report.lost === 0 &&
    report.deadTransient === 0 &&
    report.duplicatesWithNewId === 0 &&
    report.unsettled === 0 &&
    report.meetingsWithGaps === 0
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await runChaos({
    messages: Number(process.env.CHAOS_MESSAGES ?? 10_000),
    log: (line) => console.log(line),
  });
  process.exit(printReport(report) ? 0 : 1);
}
