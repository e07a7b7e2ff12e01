import {
  AgentBusyError,
  AgentNotFoundError,
  AuthError,
  ConflictError,
  createAgentHandler,
  errorFromProblem,
  NotFoundError,
  NotYourTurnError,
  ServerError,
  TimeoutError,
  ValidationError,
} from '@agent-messaging/sdk';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';

const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const otherSecret = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`;

function signed(
  body: object,
  options: { id?: string; secret?: string; at?: Date; tamper?: boolean; method?: string } = {},
) {
  const payload = JSON.stringify(body);
  const id = options.id ?? 'dlv_test1';
  const at = options.at ?? new Date();
  const signature = new Webhook(options.secret ?? secret).sign(id, at, payload);
  return new Request('http://agent.test/hook', {
    method: options.method ?? 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
    },
    ...(options.method === 'GET'
      ? {}
      : { body: options.tamper ? payload.replace('hello', 'HELLO') : payload }),
  });
}

const message = { id: 'msg_1', content: 'hello', sessionId: 'ses_1' };

describe('createAgentHandler', () => {
  it('verifies the signature and hands the message to onMessage', async () => {
    const seen: unknown[] = [];
    const handler = createAgentHandler({
      signingSecret: secret,
      onMessage: (m) => void seen.push(m.content),
    });
    const response = await handler(
      signed({ type: 'message', deliveryId: 'dlv_test1', agentId: 'agt_1', message }),
    );
    expect(response.status).toBe(200);
    expect(seen).toEqual(['hello']);
  });

  it.each([
    ['a tampered body', { tamper: true }],
    ['another secret', { secret: otherSecret }],
    ['a stale timestamp', { at: new Date(Date.now() - 10 * 60_000) }],
  ])('refuses %s with 401 and does not call back', async (_name, options) => {
    let called = false;
    const handler = createAgentHandler({
      signingSecret: secret,
      onMessage: () => {
        called = true;
      },
    });
    const response = await handler(signed({ type: 'message', message }, options));
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe('invalid_signature');
    expect(called).toBe(false);
  });

  it('refuses unsigned requests and other methods', async () => {
    const handler = createAgentHandler({ signingSecret: secret });
    const unsigned = await handler(new Request('http://agent.test/hook', { method: 'POST', body: '{}' }));
    expect(unsigned.status).toBe(401);
    expect((await handler(new Request('http://agent.test/hook'))).status).toBe(405);
  });

  it('calls back once per webhook-id; a redelivery is acknowledged as a duplicate', async () => {
    let calls = 0;
    const handler = createAgentHandler({
      signingSecret: secret,
      onMessage: () => {
        calls += 1;
      },
    });
    const body = { type: 'message', message };
    expect((await handler(signed(body, { id: 'dlv_a' }))).status).toBe(200);
    const again = await handler(signed(body, { id: 'dlv_a' }));
    expect(await again.json()).toEqual({ duplicate: true });
    await handler(signed(body, { id: 'dlv_b' }));
    expect(calls).toBe(2);
  });

  it('a callback that throws gives 500, and the retry calls it again', async () => {
    let calls = 0;
    const handler = createAgentHandler({
      signingSecret: secret,
      onMessage: () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
      },
    });
    const body = { type: 'message', message };
    expect((await handler(signed(body, { id: 'dlv_retry' }))).status).toBe(500);
    expect((await handler(signed(body, { id: 'dlv_retry' }))).status).toBe(200);
    expect(calls).toBe(2);
  });

  it('answers a sync_request with {reply} and a meeting_turn with {speech}', async () => {
    const handler = createAgentHandler({
      signingSecret: secret,
      onSyncRequest: (m) => ({ echo: m.content }),
      onMeetingTurn: ({ meeting, history }) => `turn ${meeting.turnNumber} after ${history.length}`,
    });
    const reply = await handler(signed({ type: 'sync_request', message }, { id: 'dlv_s' }));
    expect(await reply.json()).toEqual({ reply: { echo: 'hello' } });
    const speech = await handler(
      signed({ type: 'meeting_turn', meeting: { turnNumber: 3 }, history: [message] }, { id: 'dlv_t' }),
    );
    expect(await speech.json()).toEqual({ speech: 'turn 3 after 1' });
    const event = await handler(signed({ type: 'meeting_event', event: { seq: 1 } }, { id: 'dlv_e' }));
    expect(await event.json()).toEqual({});
  });
});

describe('errorFromProblem', () => {
  const problem = (status: number, code: string) => ({ type: 'x', title: 'T', status, detail: 'D', code });

  it.each([
    [404, 'agent_not_found', AgentNotFoundError],
    [409, 'agent_busy', AgentBusyError],
    [504, 'timeout', TimeoutError],
    [409, 'not_your_turn', NotYourTurnError],
    [401, 'unauthorized', AuthError],
    [400, 'validation_failed', ValidationError],
  ] as const)('%i %s -> %s', (status, code, ErrorClass) => {
    const error = errorFromProblem(status, problem(status, code));
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toMatchObject({ status, code });
  });

  it('falls back by status for codes it does not know, and for bodies that are not problems', () => {
    expect(errorFromProblem(409, problem(409, 'something_new'))).toBeInstanceOf(ConflictError);
    expect(errorFromProblem(404, problem(404, 'widget_not_found'))).toBeInstanceOf(NotFoundError);
    expect(errorFromProblem(502, 'Bad gateway')).toBeInstanceOf(ServerError);
    expect(errorFromProblem(404, problem(404, 'agent_not_found'))).toBeInstanceOf(NotFoundError);
  });
});
