import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import {
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

let stack: TestStack;
let orgKey: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack)).apiKey;
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(() => stack?.stop());

const agent = (name: string, endpointUrl?: string) =>
  createAgent(stack, orgKey, { name, ...(endpointUrl && { endpointUrl }) });

/** An agent whose endpoint answers each sync_request with `answer(content)` inline. */
async function answeringAgent(name: string, answer: (content: any) => unknown) {
  const endpoint = await startEndpoint((request) =>
    request.body.type === 'sync_request'
      ? Response.json({ reply: answer(request.body.message.content) })
      : Response.json({}),
  );
  cleanups.push(endpoint.close);
  return { ...(await agent(name, endpoint.url)), endpoint };
}

const syncSend = (
  from: TestAgent,
  to: string,
  content: unknown,
  timeoutMs = 5_000,
  headers: Record<string, string> = {},
) =>
  stack.call('POST', '/v1/conversations/sync', {
    token: from.token,
    body: { to, content, timeoutMs },
    headers,
  });

const inbox = async (who: TestAgent, query = '') =>
  (await stack.call('GET', `/v1/inbox${query}`, { token: who.token })).body;

describe('sync request/reply', () => {
  it('returns the reply the endpoint gives inline', async () => {
    const asker = await agent('asker');
    const expert = await answeringAgent('expert', (content) => ({ answer: content.question.toUpperCase() }));
    const { status, body } = await syncSend(asker, expert.id, { question: 'why?' });
    expect(status).toBe(200);
    expect(body.sessionId).toMatch(/^ses_/);
    expect(body.reply).toMatchObject({
      from: expert.id,
      to: asker.id,
      content: { answer: 'WHY?' },
      sessionId: body.sessionId,
    });
    expect(body.reply.inReplyTo).toMatch(/^msg_/);
    // The expert's endpoint got a signed sync_request carrying the session id.
    expect(expert.endpoint.received[0]?.body).toMatchObject({
      type: 'sync_request',
      message: { sessionId: body.sessionId },
    });
    // The reply reached the asker in the response, so it is not left in its inbox.
    expect((await inbox(asker)).messages).toEqual([]);
    // The session is reused by the next exchange.
    const again = await syncSend(asker, expert.id, { question: 'again' });
    expect(again.body.sessionId).toBe(body.sessionId);
  });

  it('waits for a reply posted later through the API', async () => {
    const asker = await agent('asker');
    const pulled = await agent('pulled'); // no endpoint: it reads its inbox
    const pending = syncSend(asker, pulled.id, 'ping');
    const request = await eventually(async () => (await inbox(pulled)).messages[0]);
    expect(request).toMatchObject({ from: asker.id, content: 'ping' });
    const replied = await stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
      token: pulled.token,
      body: { content: 'pong' },
    });
    expect(replied.status).toBe(201);
    expect(replied.body.late).toBe(false);
    const { status, body } = await pending;
    expect(status).toBe(200);
    expect(body.reply.content).toBe('pong');
    // A second reply to the same request is refused.
    const second = await stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
      token: pulled.token,
      body: { content: 'x' },
    });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('already_replied');
  });

  it('times out with 504, and a late reply is kept in the sender inbox', async () => {
    const asker = await agent('asker');
    const slow = await agent('slow');
    const timedOut = await syncSend(asker, slow.id, 'anyone?', 300);
    expect(timedOut.status).toBe(504);
    expect(timedOut.body).toMatchObject({ code: 'timeout', sessionId: expect.stringMatching(/^ses_/) });
    const { sessionId, requestId } = timedOut.body;

    // The session is no longer waiting: the asker may send again.
    const session = await stack.sql.query('SELECT status FROM sessions WHERE id = $1', [sessionId]);
    expect(session.rows[0].status).toBe('active');

    const late = await stack.call('POST', `/v1/sessions/${sessionId}/reply`, {
      token: slow.token,
      body: { content: 'sorry, late' },
    });
    expect(late.status).toBe(201);
    expect(late.body.late).toBe(true);
    const pending = (await inbox(asker)).messages;
    expect(pending).toEqual([
      expect.objectContaining({ content: 'sorry, late', inReplyTo: requestId, from: slow.id }),
    ]);

    // The timeout is recorded in the history between the two.
    const history = await stack.call('GET', `/v1/conversations/${slow.id}/messages`, { token: asker.token });
    expect(history.body.messages.map((m: { kind: string }) => m.kind)).toEqual(['user', 'timeout', 'user']);
    expect(history.body.messages[1]).toMatchObject({
      from: null,
      metadata: { onBehalfOf: slow.id, requestId },
    });
  });

  it('20 concurrent sync sends from one sender: exactly one proceeds, the others 409 agent_busy', async () => {
    const asker = await agent('asker');
    const targets = await Promise.all(Array.from({ length: 20 }, (_, i) => agent(`t${i}`)));
    const results = await Promise.all(targets.map((t) => syncSend(asker, t.id, 'busy?', 1_500)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 504)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    for (const r of results.filter((r) => r.status === 409)) expect(r.body.code).toBe('agent_busy');
    const { rows } = await stack.sql.query(
      "SELECT count(*)::int AS n FROM messages WHERE sender_id = $1 AND kind = 'user'",
      [asker.id],
    );
    expect(rows[0].n).toBe(1);
  });

  it('20 senders to one recipient: every one gets its own answer', async () => {
    const expert = await answeringAgent('expert', (content) => ({ echo: content.n }));
    const askers = await Promise.all(Array.from({ length: 20 }, (_, i) => agent(`asker${i}`)));
    const results = await Promise.all(askers.map((a, n) => syncSend(a, expert.id, { n }, 15_000)));
    results.forEach((result, n) => {
      expect(result.status).toBe(200);
      expect(result.body.reply).toMatchObject({ content: { echo: n }, to: askers[n]?.id });
    });
    expect(new Set(results.map((r) => r.body.sessionId)).size).toBe(20);
  });

  it('a second pending request in the same session is refused', async () => {
    const a = await agent('a');
    const b = await agent('b');
    const pending = syncSend(a, b.id, 'first', 20_000);
    const request = await eventually(async () => (await inbox(b)).messages[0]);
    const reverse = await syncSend(b, a.id, 'me too', 1_000);
    expect(reverse.status).toBe(409);
    expect(reverse.body.code).toBe('session_busy');
    // Release the first wait.
    await stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
      token: b.token,
      body: { content: 'ok' },
    });
    expect((await pending).status).toBe(200);
  });

  it('double reply race: exactly one wins', async () => {
    const asker = await agent('asker');
    const pulled = await agent('pulled');
    const pending = syncSend(asker, pulled.id, 'race');
    const request = await eventually(async () => (await inbox(pulled)).messages[0]);
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
          token: pulled.token,
          body: { content: i },
        }),
      ),
    );
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409).every((r) => r.body.code === 'already_replied')).toBe(
      true,
    );
    const winner = replies.find((r) => r.status === 201)?.body.message.content;
    expect((await pending).body.reply.content).toBe(winner);
  });

  it('ending the session releases a waiting sender at once with session_ended', async () => {
    const asker = await agent('asker');
    const pulled = await agent('pulled');
    const started = Date.now();
    const pending = syncSend(asker, pulled.id, 'hold on', 10_000);
    const request = await eventually(async () => (await inbox(pulled)).messages[0]);
    const ended = await stack.call('POST', `/v1/sessions/${request.sessionId}/end`, { token: pulled.token });
    expect(ended.status).toBe(200);
    expect(ended.body.session.status).toBe('ended');
    expect(ended.body.message).toMatchObject({ kind: 'ending', from: pulled.id, to: asker.id });
    const result = await pending;
    expect(result.status).toBe(409);
    expect(result.body.code).toBe('session_ended');
    expect(Date.now() - started).toBeLessThan(8_000);
    // Ending twice is refused; the next send opens a new session.
    expect(
      (await stack.call('POST', `/v1/sessions/${request.sessionId}/end`, { token: asker.token })).body.code,
    ).toBe('session_ended');
    const next = await stack.call('POST', '/v1/conversations/async', {
      token: asker.token,
      body: { to: pulled.id, content: 'new' },
    });
    expect(next.body.sessionId).not.toBe(request.sessionId);
  });

  it('a repeated Idempotency-Key replays the reply without a second request', async () => {
    const asker = await agent('asker');
    const expert = await answeringAgent('expert', (content) => `re: ${content}`);
    const headers = { 'idempotency-key': 'ask-once' };
    const first = await syncSend(asker, expert.id, 'once', 5_000, headers);
    expect(first.status).toBe(200);
    const again = await syncSend(asker, expert.id, 'once', 5_000, headers);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(expert.endpoint.received.filter((r) => r.body.type === 'sync_request')).toHaveLength(1);
    const other = await syncSend(asker, expert.id, 'another question', 5_000, headers);
    expect(other.body.code).toBe('idempotency_conflict');
  });

  it('a reply names the request it answers: a late answer to an old request never takes a pending one', async () => {
    const asker = await agent('asker');
    const pulled = await agent('pulled');
    const first = await syncSend(asker, pulled.id, 'first?', 200);
    expect(first.status).toBe(504);
    const second = syncSend(asker, pulled.id, 'second?', 10_000);
    const secondRequest = await eventually(async () =>
      (await inbox(pulled)).messages.find((m: any) => m.content === 'second?'),
    );
    const path = `/v1/sessions/${first.body.sessionId}/reply`;

    const unknown = await stack.call('POST', path, {
      token: pulled.token,
      body: { content: 'x', requestId: 'msg_01jd6s5v1xe8rb8xgsnq8mq2gx' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('message_not_found');

    const toFirst = await stack.call('POST', path, {
      token: pulled.token,
      body: { content: 'answer to first', requestId: first.body.requestId },
    });
    expect(toFirst.status).toBe(201);
    expect(toFirst.body).toMatchObject({ late: true, message: { inReplyTo: first.body.requestId } });

    // Without requestId the reply answers the pending request.
    const toSecond = await stack.call('POST', path, {
      token: pulled.token,
      body: { content: 'answer to second' },
    });
    expect(toSecond.body).toMatchObject({ late: false, message: { inReplyTo: secondRequest.id } });
    expect((await second).body.reply).toMatchObject({
      content: 'answer to second',
      inReplyTo: secondRequest.id,
    });
    expect((await inbox(asker)).messages).toEqual([
      expect.objectContaining({ content: 'answer to first', inReplyTo: first.body.requestId }),
    ]);
  });

  it('a reply after the session ended is still kept, late, in the sender inbox', async () => {
    const asker = await agent('asker');
    const pulled = await agent('pulled');
    const pending = syncSend(asker, pulled.id, 'still there?', 10_000);
    const request = await eventually(async () => (await inbox(pulled)).messages[0]);
    await stack.call('POST', `/v1/sessions/${request.sessionId}/end`, { token: asker.token });
    expect((await pending).body.code).toBe('session_ended');

    const late = await stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
      token: pulled.token,
      body: { content: 'yes, sorry' },
    });
    expect(late.status).toBe(201);
    expect(late.body.late).toBe(true);
    const kept = (await inbox(asker)).messages.filter((m: any) => m.kind === 'user');
    expect(kept).toEqual([expect.objectContaining({ content: 'yes, sorry', inReplyTo: request.id })]);
    // Once answered, the ended session has nothing more to reply to.
    const again = await stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
      token: pulled.token,
      body: { content: 'again' },
    });
    expect(again.body.code).toBe('already_replied');
  });

  it('the sweeper expires a wait whose caller went away', async () => {
    const asker = await agent('asker');
    const pulled = await agent('pulled');
    const pending = syncSend(asker, pulled.id, 'abandoned', 200);
    const request = await eventually(async () => (await inbox(pulled)).messages[0]);
    await pending;
    // Make it look like a wait whose HTTP request died before its own expiry ran.
    await stack.sql.query(
      "UPDATE sessions SET status = 'waiting', pending_request_id = $2, waiter_id = $3, wait_deadline = now() - interval '1 second' WHERE id = $1",
      [request.sessionId, request.id, asker.id],
    );
    await stack.sweep();
    const { rows } = await stack.sql.query('SELECT status FROM sessions WHERE id = $1', [request.sessionId]);
    expect(rows[0].status).toBe('active');
    const history = await stack.call('GET', `/v1/conversations/${pulled.id}/messages`, {
      token: asker.token,
    });
    expect(history.body.messages.at(-1)).toMatchObject({
      kind: 'timeout',
      from: null,
      metadata: { onBehalfOf: pulled.id, requestId: request.id },
    });
  });
});

describe('sync: refusals and access', () => {
  it('validates the request', async () => {
    const a = await agent('a');
    const b = await agent('b');
    for (const [body, code] of [
      [{ to: b.id, content: 1 }, 'validation_failed'],
      [{ to: b.id, content: 1, timeoutMs: 10 }, 'validation_failed'],
      [{ to: b.id, content: 1, timeoutMs: 10_000_000 }, 'validation_failed'],
      [{ to: a.id, content: 1, timeoutMs: 1000 }, 'validation_failed'],
      [{ to: 'agt_01jd6s5v1xe8rb8xgsnq8mq2gx', content: 1, timeoutMs: 1000 }, 'agent_not_found'],
    ] as const) {
      const response = await stack.call('POST', '/v1/conversations/sync', { token: a.token, body });
      expect(response.body.code, JSON.stringify(body)).toBe(code);
    }
  });

  it('refuses a deactivated recipient (409) and a rotated-away token (401), writing nothing', async () => {
    const a = await agent('a');
    const gone = await agent('gone');
    const b = await agent('b');
    await stack.call('DELETE', `/v1/agents/${gone.id}`, { token: orgKey });
    const written = async () =>
      (
        await stack.sql.query(
          `SELECT (SELECT count(*) FROM sessions WHERE $1 IN (agent_a, agent_b))::int AS sessions,
                  (SELECT count(*) FROM messages WHERE sender_id = $1)::int AS messages`,
          [a.id],
        )
      ).rows[0];
    const inactive = await syncSend(a, gone.id, 1, 1000);
    expect([inactive.status, inactive.body.code]).toEqual([409, 'agent_inactive']);
    await stack.call('POST', `/v1/agents/${a.id}/rotate`, { token: orgKey });
    const revoked = await syncSend(a, b.id, 1, 1000);
    expect([revoked.status, revoked.body.code]).toEqual([401, 'unauthorized']);
    expect(await written()).toEqual({ sessions: 0, messages: 0 });
  });

  it('only the recipient of the request may reply, and others cannot end the session', async () => {
    const asker = await agent('asker');
    const pulled = await agent('pulled');
    const stranger = await agent('stranger');
    const outsiderKey = (await createOrganization(stack, 'Other')).apiKey;
    const outsider = await createAgent(stack, outsiderKey, { name: 'outsider' });
    const pending = syncSend(asker, pulled.id, 'q', 2_000);
    const request = await eventually(async () => (await inbox(pulled)).messages[0]);
    const path = `/v1/sessions/${request.sessionId}`;
    for (const who of [stranger, outsider]) {
      for (const refused of [
        await stack.call('POST', `${path}/reply`, { token: who.token, body: { content: 'x' } }),
        await stack.call('POST', `${path}/end`, { token: who.token }),
      ]) {
        expect([refused.status, refused.body.code]).toEqual([404, 'session_not_found']);
      }
    }
    expect(
      (await stack.call('POST', `${path}/reply`, { token: orgKey, body: { content: 'x' } })).status,
    ).toBe(403);
    // The asker is a participant but nothing is addressed to it.
    const own = await stack.call('POST', `${path}/reply`, { token: asker.token, body: { content: 'x' } });
    expect(own.status).toBe(409);
    expect(own.body.code).toBe('no_pending_request');
    expect((await pending).status).toBe(504);
  });
});
