import { openDb } from '@agent-messaging/core';
import {
  type AttemptRow,
  recordTogether,
} from '@agent-messaging/core/src/services/deliveries/record-attempts-together';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import {
  createAgent,
  createOrganization,
  eventually,
  insertUndispatched,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// Sends that come together in an isolate, and attempts that finish together, are written
// together: one statement for the lot (a group commit), each as if alone.

let stack: TestStack;
let orgKey: string;
let sender: TestAgent;

beforeAll(async () => {
  stack = await startTestStack({}, { ownEdge: true });
  orgKey = (await createOrganization(stack)).apiKey;
  sender = await createAgent(stack, orgKey, { name: 'sender' });
});
afterAll(() => stack?.stop());

/** The core's database, as a worker opens it, through the stack's stand-ins. */
function coreDb() {
  const { sqlEndpoint, wsProxy } = inject('stack');
  return openDb({ DATABASE_URL: stack.databaseUrl, NEON_HTTP_ENDPOINT: sqlEndpoint, NEON_WS_PROXY: wsProxy });
}

/** An attempt of one of `agentId`'s deliveries that is not its claim's (recorded, but not current). */
const attemptRow =
  (agentId: string) =>
  (deliveryId: string): AttemptRow => ({
    deliveryId,
    attempt: 7,
    status: 'failed',
    error: 'test',
    ok: false,
    retrySecs: 1,
    startedAt: new Date().toISOString(),
    durationMs: 1,
    responseStatus: 500,
    agentId,
    gone: null,
  });

/** A session of the test's pool in a transaction holding the delivery's row. */
async function lockDelivery(id: string) {
  const client = await stack.sql.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE', [id]);
  return client;
}

describe('writing together', () => {
  it('sends that come together and the attempts of their pushes are written in a few statements', async () => {
    const count = 30;
    // The endpoint holds every push until all have arrived, then answers them all at once.
    let release!: () => void;
    const allArrived = new Promise<void>((resolve) => {
      release = resolve;
    });
    const endpoint = await startEndpoint(async (_request, index) => {
      if (index === count - 1) release();
      await allArrived;
      return Response.json({});
    });
    try {
      const receiver = await createAgent(stack, orgKey, { name: 'receiver', endpointUrl: endpoint.url });
      // The sender's key is looked up once per isolate, on its first request: done here.
      expect((await stack.call('GET', '/v1/me', { token: sender.token })).status).toBe(200);
      const before = stack.edgeStats().allRoundTrips;
      const sent = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const { status, body } = await stack.call('POST', '/v1/messages', {
            token: sender.token,
            body: { to: receiver.id, content: { i } },
          });
          expect(status).toBe(202);
          return body.message.id as string;
        }),
      );
      const deliveries = await eventually(async () => {
        const { rows } = await stack.sql.query(
          `SELECT d.status, d.attempts, m.acknowledged_at,
                  (SELECT count(*)::int FROM delivery_attempts a WHERE a.delivery_id = d.id) AS recorded
           FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.message_id = ANY($1)`,
          [sent],
        );
        return rows.length === count && rows.every((row) => row.status === 'delivered') && rows;
      });
      for (const delivery of deliveries) {
        expect(delivery).toMatchObject({ attempts: 1, recorded: 1 });
        expect(delivery.acknowledged_at).not.toBeNull();
      }
      // One statement each would be 60 (30 sends, 30 records).
      expect(stack.edgeStats().allRoundTrips - before).toBeLessThanOrEqual(count / 2);
    } finally {
      await endpoint.close();
    }
  });

  it('each send of a burst gets its own answer: its messages, or its own refusal', async () => {
    const inbox = await createAgent(stack, orgKey, { name: 'burst-inbox' });
    const gone = await createAgent(stack, orgKey, { name: 'burst-gone' });
    expect((await stack.call('DELETE', `/v1/agents/${gone.id}`, { token: orgKey })).status).toBe(200);
    const before = stack.edgeStats().allRoundTrips;
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        stack.call('POST', '/v1/messages', {
          token: sender.token,
          body: {
            to: i % 8 === 3 ? gone.id : i % 8 === 5 ? [inbox.id, inbox.id] : inbox.id,
            content: { i },
          },
        }),
      ),
    );
    answers.forEach(({ status, body }, i) => {
      if (i % 8 === 3) {
        expect(status).toBe(409);
        expect(body.code).toBe('agent_inactive');
      } else {
        expect(status).toBe(202);
        const messages = body.messages ?? [body.message];
        for (const message of messages) expect(message).toMatchObject({ content: { i }, to: inbox.id });
      }
    });
    // What the answers say is what was written: the refused sends wrote nothing.
    const { rows } = await stack.sql.query(
      "SELECT content->>'i' AS i, count(*)::int AS n FROM messages WHERE sender_id = $1 AND recipient_id = ANY($2) GROUP BY 1",
      [sender.id, [inbox.id, gone.id]],
    );
    const written = Object.fromEntries(rows.map((row) => [Number(row.i), row.n]));
    expect(written).toEqual(
      Object.fromEntries(
        Array.from({ length: 24 }, (_, i) => i)
          .filter((i) => i % 8 !== 3)
          .map((i) => [i, 1]),
      ),
    );
    expect(stack.edgeStats().allRoundTrips - before).toBeLessThan(24);
  });

  it('a statement with a row that fails records the others alone, and only the bad one fails', async () => {
    const receiver = await createAgent(stack, orgKey, { name: 'inbox' });
    const [first, second] = await insertUndispatched(stack, sender.id, receiver.id, { hello: 1 }, 2);
    const { db, close } = coreDb();
    const row = attemptRow(receiver.id);
    try {
      // The first goes alone at once; the next two queue behind it and go in one statement, which
      // fails on the delivery that does not exist; each of those two then goes alone.
      const outcomes = await Promise.allSettled([
        recordTogether(db, row(first?.id as string)),
        recordTogether(db, row('dlv_does_not_exist')),
        recordTogether(db, row(second?.id as string)),
      ]);
      expect(outcomes[0]).toEqual({ status: 'fulfilled', value: false });
      expect(outcomes[1]?.status).toBe('rejected');
      const { reason } = outcomes[1] as PromiseRejectedResult;
      expect(String(reason.cause ?? reason)).toMatch(/foreign key/);
      expect(outcomes[2]).toEqual({ status: 'fulfilled', value: false });
      const { rows } = await stack.sql.query(
        'SELECT delivery_id, attempt FROM delivery_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id',
        [[first?.id, second?.id, 'dlv_does_not_exist']],
      );
      expect(rows).toEqual([first?.id, second?.id].sort().map((id) => ({ delivery_id: id, attempt: 7 })));
    } finally {
      await close();
    }
  });

  it('an attempt waiting on a statement that does not answer records itself alone after the limit', async () => {
    const receiver = await createAgent(stack, orgKey, { name: 'stuck' });
    const [held, free] = await insertUndispatched(stack, sender.id, receiver.id, { hello: 2 }, 2);
    const { db, close } = coreDb();
    const row = attemptRow(receiver.id);
    // A transaction elsewhere holds the first delivery's row: the statement recording it waits.
    const locker = await lockDelivery(held?.id as string);
    try {
      const stuck = recordTogether(db, row(held?.id as string), 300);
      let stuckDone = false;
      void stuck.finally(() => {
        stuckDone = true;
      });
      // Queued behind the stuck statement, it waits 300 ms, then goes alone and lands.
      const started = Date.now();
      expect(await recordTogether(db, row(free?.id as string), 300)).toBe(false);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(stuckDone).toBe(false);
      await locker.query('COMMIT');
      expect(await stuck).toBe(false);
      const { rows } = await stack.sql.query(
        'SELECT delivery_id FROM delivery_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id',
        [[held?.id, free?.id]],
      );
      expect(rows.map((r) => r.delivery_id)).toEqual([held?.id, free?.id].sort());
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      locker.release();
      await close();
    }
  });

  it('an attempt carried by a statement another caller sent, which does not answer, fails with 503 after the limit', async () => {
    const receiver = await createAgent(stack, orgKey, { name: 'carried' });
    const [first, held, carried] = await insertUndispatched(stack, sender.id, receiver.id, { hello: 3 }, 3);
    const { db, close } = coreDb();
    const row = attemptRow(receiver.id);
    const [firstLock, heldLock] = [
      await lockDelivery(first?.id as string),
      await lockDelivery(held?.id as string),
    ];
    try {
      // The first statement waits on its row; the next two queue behind it.
      const writer = recordTogether(db, row(first?.id as string), 300);
      const blocked = recordTogether(db, row(held?.id as string), 300);
      const passenger = recordTogether(db, row(carried?.id as string), 300);
      const outcome = passenger.then(
        () => 'recorded',
        (error) => error,
      );
      // The first lands; the second caller sends both queued rows, a statement that waits on its row.
      await firstLock.query('COMMIT');
      expect(await writer).toBe(false);
      const error = await outcome;
      expect(error).toMatchObject({ status: 503, code: 'service_unavailable' });
      // The statement was only slow: it lands once the row is free, the passenger's row with it.
      await heldLock.query('COMMIT');
      expect(await blocked).toBe(false);
      // On a session of the locks' (the test's pool has two, both theirs).
      const { rows } = await heldLock.query('SELECT 1 FROM delivery_attempts WHERE delivery_id = $1', [
        carried?.id,
      ]);
      expect(rows).toHaveLength(1);
    } finally {
      for (const client of [firstLock, heldLock]) {
        await client.query('ROLLBACK').catch(() => {});
        client.release();
      }
      await close();
    }
  });
});
