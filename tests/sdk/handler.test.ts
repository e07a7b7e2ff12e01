import { type Answer, createAgentHandler, type DedupeStore, memoryDedupeStore } from '@agent-messaging/sdk';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const secret = `whsec_${Buffer.from('a 32-byte secret for these tests').toString('base64')}`;
const otherSecret = `whsec_${Buffer.from('another 32-byte secret, not ours').toString('base64')}`;

const message = {
  id: 'msg_1',
  kind: 'user',
  from: 'agt_a',
  to: 'agt_b',
  content: 'hello',
  sessionId: 'ses_1',
};
const oneWay = { type: 'message', deliveryId: 'dlv_1', agentId: 'agt_b', message };

/** A delivery as the service sends it: Standard Webhooks headers over the exact body. */
function delivery(
  body: unknown,
  options: { id?: string; secret?: string; at?: Date; tamper?: (payload: string) => string } = {},
) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const id = options.id ?? 'dlv_1';
  const at = options.at ?? new Date();
  return new Request('https://agent.example/hook', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(options.secret ?? secret).sign(id, at, payload),
    },
    body: options.tamper ? options.tamper(payload) : payload,
  });
}

/** A promise to settle from outside, to hold a callback while a second attempt arrives. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('createAgentHandler: verification', () => {
  it('hands a correctly signed message to onMessage and answers 200 {}', async () => {
    const calls: unknown[][] = [];
    const handler = createAgentHandler({
      signingSecret: secret,
      onMessage: (...args) => void calls.push(args),
    });
    const response = await handler(delivery(oneWay));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    expect(calls).toEqual([[message, oneWay]]);
  });

  it.each([
    ['a tampered body', { tamper: (payload: string) => payload.replace('hello', 'HELLO') }],
    ['a signature made with another secret', { secret: otherSecret }],
    ['a stale timestamp', { at: new Date(Date.now() - 6 * 60_000) }],
    ['a timestamp from the future', { at: new Date(Date.now() + 6 * 60_000) }],
  ])('refuses %s with 401 problem+json, without calling back', async (_name, options) => {
    let called = false;
    const handler = createAgentHandler({
      signingSecret: secret,
      onMessage: () => {
        called = true;
      },
    });
    const response = await handler(delivery(oneWay, options));
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 401, code: 'invalid_signature' });
    expect(called).toBe(false);
  });

  it('refuses a request without signature headers with 401', async () => {
    const handler = createAgentHandler({ signingSecret: secret });
    const response = await handler(
      new Request('https://agent.example/hook', { method: 'POST', body: JSON.stringify(oneWay) }),
    );
    expect(response.status).toBe(401);
  });

  it('applies a toleranceSeconds stricter than the default', async () => {
    const at = new Date(Date.now() - 60_000);
    const onMessage = () => {};
    expect(
      (await createAgentHandler({ signingSecret: secret, onMessage })(delivery(oneWay, { at }))).status,
    ).toBe(200);
    const strict = createAgentHandler({ signingSecret: secret, onMessage, toleranceSeconds: 30 });
    expect((await strict(delivery(oneWay, { at }))).status).toBe(401);
  });

  it('refuses a toleranceSeconds that standardwebhooks would not honour', () => {
    expect(() => createAgentHandler({ signingSecret: secret, toleranceSeconds: 600 })).toThrow(RangeError);
    expect(() => createAgentHandler({ signingSecret: secret, toleranceSeconds: 0 })).toThrow(RangeError);
  });

  it('answers 405 to anything but POST', async () => {
    const handler = createAgentHandler({ signingSecret: secret });
    const response = await handler(new Request('https://agent.example/hook'));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toMatchObject({ code: 'method_not_allowed' });
  });

  it('answers 400 to a signed body that is not JSON, or not a delivery', async () => {
    const handler = createAgentHandler({ signingSecret: secret });
    const notJson = await handler(delivery('{"type": "message",'));
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ code: 'invalid_json' });
    const noType = await handler(delivery([1, 2], { id: 'dlv_2' }));
    expect(noType.status).toBe(400);
    expect(await noType.json()).toMatchObject({ code: 'validation_failed' });
  });
});

describe('createAgentHandler: dispatch', () => {
  it('answers a sync_request with {reply: <what onSyncRequest returned>}', async () => {
    const handler = createAgentHandler({
      signingSecret: secret,
      onSyncRequest: (m) => ({ echo: m.content }),
    });
    const response = await handler(delivery({ ...oneWay, type: 'sync_request' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ reply: { echo: 'hello' } });
  });

  it('answers {} when onSyncRequest returns undefined (the agent replies later through the API)', async () => {
    const handler = createAgentHandler({ signingSecret: secret, onSyncRequest: () => undefined });
    expect(await (await handler(delivery({ ...oneWay, type: 'sync_request' }))).json()).toEqual({});
  });

  it('answers a meeting_turn with {speech}, and {} when there is nothing to say', async () => {
    const turn = { type: 'meeting_turn', deliveryId: 'dlv_t', agentId: 'agt_b', meeting: { turnNumber: 3 } };
    const speaking = createAgentHandler({
      signingSecret: secret,
      onMeetingTurn: ({ meeting, history }) => `turn ${meeting.turnNumber} after ${history.length}`,
    });
    const speech = await speaking(delivery({ ...turn, history: [message, message] }));
    expect(await speech.json()).toEqual({ speech: 'turn 3 after 2' });
    const silent = createAgentHandler({ signingSecret: secret, onMeetingTurn: () => undefined });
    expect(await (await silent(delivery({ ...turn, history: [] }))).json()).toEqual({});
  });

  it('hands a meeting_event to onMeetingEvent', async () => {
    const events: unknown[] = [];
    const handler = createAgentHandler({
      signingSecret: secret,
      onMeetingEvent: (event) => void events.push(event),
    });
    const event = { seq: 7, type: 'turn_started', data: {}, createdAt: '2025-01-01T00:00:00.000Z' };
    const response = await handler(
      delivery({ type: 'meeting_event', deliveryId: 'dlv_e', agentId: 'agt_b', meetingId: 'mtg_1', event }),
    );
    expect(await response.json()).toEqual({});
    expect(events).toEqual([event]);
  });

  it('refuses a message or sync request it has no callback for, so it stays in the inbox', async () => {
    const calls: string[] = [];
    const handler = createAgentHandler({ signingSecret: secret, onMeetingEvent: () => void calls.push('x') });
    for (const type of ['message', 'sync_request']) {
      const refused = await handler(delivery({ ...oneWay, type }, { id: `dlv_${type}` }));
      expect(refused.status).toBe(501);
      expect(await refused.json()).toMatchObject({ code: 'not_handled' });
    }
    expect(calls).toEqual([]);
  });

  it('acknowledges with 200 {} a meeting delivery it has no callback for, or a type it does not know', async () => {
    const handler = createAgentHandler({ signingSecret: secret, onMessage: () => 'unused' });
    const turn = { type: 'meeting_turn', deliveryId: 'dlv_t', agentId: 'agt_b', meeting: {}, history: [] };
    const silent = await handler(delivery(turn, { id: 'dlv_t' }));
    expect([silent.status, await silent.json()]).toEqual([200, {}]);
    const unknown = await handler(delivery({ ...oneWay, type: 'from_the_future' }, { id: 'dlv_b' }));
    expect([unknown.status, await unknown.json()]).toEqual([200, {}]);
  });
});

describe('createAgentHandler: at-least-once delivery', () => {
  // Failing callbacks are expected here; keep their logs out of the test output.
  beforeEach(() => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('calls back once per webhook-id; a redelivery is answered as a duplicate', async () => {
    let calls = 0;
    const handler = createAgentHandler({
      signingSecret: secret,
      onMessage: () => {
        calls += 1;
      },
    });
    expect((await handler(delivery(oneWay, { id: 'dlv_a' }))).status).toBe(200);
    const again = await handler(delivery(oneWay, { id: 'dlv_a' }));
    expect([again.status, await again.json()]).toEqual([200, { duplicate: true }]);
    await handler(delivery(oneWay, { id: 'dlv_b' }));
    expect(calls).toBe(2);
  });

  it('answers a redelivered sync_request with the first reply, so a lost answer is not a lost reply', async () => {
    let calls = 0;
    const handler = createAgentHandler({
      signingSecret: secret,
      onSyncRequest: () => {
        calls += 1;
        return `answer ${calls}`;
      },
    });
    const request = { ...oneWay, type: 'sync_request' };
    await handler(delivery(request));
    expect(await (await handler(delivery(request))).json()).toEqual({ duplicate: true, reply: 'answer 1' });
    expect(calls).toBe(1);
  });

  it('answers 500 when the callback throws, and calls it again on the retry', async () => {
    let calls = 0;
    const handler = createAgentHandler({
      signingSecret: secret,
      onMessage: () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
      },
    });
    const failed = await handler(delivery(oneWay));
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ code: 'handler_failed' });
    const retried = await handler(delivery(oneWay));
    expect([retried.status, await retried.json()]).toEqual([200, {}]);
    expect(calls).toBe(2);
  });

  it('makes a retry that arrives during the first attempt wait for it, not call back twice', async () => {
    const gate = deferred();
    let calls = 0;
    const handler = createAgentHandler({
      signingSecret: secret,
      onSyncRequest: async () => {
        calls += 1;
        await gate.promise;
        return 'done';
      },
    });
    const request = { ...oneWay, type: 'sync_request' };
    const first = handler(delivery(request));
    const second = handler(delivery(request));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toBe(1);
    gate.resolve();
    expect(await (await first).json()).toEqual({ reply: 'done' });
    expect(await (await second).json()).toEqual({ duplicate: true, reply: 'done' });
    expect(calls).toBe(1);
  });

  it('fails both concurrent attempts when the shared one fails, and runs again on the next retry', async () => {
    const gate = deferred();
    let calls = 0;
    const handler = createAgentHandler({
      signingSecret: secret,
      onMessage: async () => {
        calls += 1;
        if (calls === 1) await gate.promise;
      },
    });
    const first = handler(delivery(oneWay));
    const second = handler(delivery(oneWay));
    await new Promise((resolve) => setTimeout(resolve, 10));
    gate.reject(new Error('boom'));
    expect([(await first).status, (await second).status]).toEqual([500, 500]);
    expect((await handler(delivery(oneWay))).status).toBe(200);
    expect(calls).toBe(2);
  });

  it('remembers in a custom store only after the callback succeeded, with the answer', async () => {
    const remembered = new Map<string, Answer>();
    const store: DedupeStore = {
      recall: async (id) => remembered.get(id),
      remember: async (id, answer) => {
        remembered.set(id, answer);
      },
    };
    let fail = true;
    const handler = createAgentHandler({
      signingSecret: secret,
      dedupe: store,
      onSyncRequest: () => {
        if (fail) throw new Error('not yet');
        return 'ok';
      },
    });
    const request = { ...oneWay, type: 'sync_request' };
    expect((await handler(delivery(request, { id: 'dlv_x' }))).status).toBe(500);
    expect(remembered.size).toBe(0);
    fail = false;
    expect(await (await handler(delivery(request, { id: 'dlv_x' }))).json()).toEqual({ reply: 'ok' });
    expect(remembered.get('dlv_x')).toEqual({ reply: 'ok' });
  });

  it('still answers when the store cannot remember: the callback already did its work', async () => {
    const handler = createAgentHandler({
      signingSecret: secret,
      dedupe: {
        recall: () => undefined,
        remember: () => {
          throw new Error('store down');
        },
      },
      onSyncRequest: () => 'ok',
    });
    const response = await handler(delivery({ ...oneWay, type: 'sync_request' }));
    expect([response.status, await response.json()]).toEqual([200, { reply: 'ok' }]);
  });

  it('keeps the latest ids in the default store, dropping the oldest beyond its capacity', async () => {
    const store = memoryDedupeStore(2);
    for (const id of ['dlv_1', 'dlv_2', 'dlv_3']) await store.remember(id, { id });
    expect(await store.recall('dlv_1')).toBeUndefined();
    expect(await store.recall('dlv_2')).toEqual({ id: 'dlv_2' });
    expect(await store.recall('dlv_3')).toEqual({ id: 'dlv_3' });
  });
});
