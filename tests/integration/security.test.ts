import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readyMeeting } from '../helpers/meetings';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// Every route of the OpenAPI document, called without a token, with a bad one, and with the
// credentials of another organization: never a 2xx on someone else's data, never a 500.

let stack: TestStack;
let orgKey: string;
let victimOrgId: string;
let alice: TestAgent;
let bob: TestAgent;
let ids: Record<string, string>;
let operations: { method: string; path: string }[];

beforeAll(async () => {
  stack = await startTestStack();
  const victim = await createOrganization(stack, 'Victim');
  orgKey = victim.apiKey;
  victimOrgId = victim.organization.id;
  alice = await createAgent(stack, orgKey, { name: 'alice' });
  bob = await createAgent(stack, orgKey, { name: 'bob' });
  const sent = await stack.call('POST', '/v1/conversations/async', {
    token: alice.token,
    body: { to: bob.id, content: 'private' },
  });
  const meetingId = await readyMeeting(stack, alice, [bob]);
  ids = {
    agt: bob.id,
    msg: sent.body.message.id,
    ses: sent.body.sessionId,
    mtg: meetingId,
    org: victimOrgId,
  };
  const document = (await stack.call('GET', '/openapi.json')).body;
  operations = Object.entries(document.paths as Record<string, Record<string, unknown>>)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
    );
});
afterAll(() => stack?.stop());

/** A concrete path for the operation, pointing at the victim organization's resources. */
function concrete(path: string): string {
  const prefix = path.startsWith('/v1/agents')
    ? 'agt'
    : path.startsWith('/v1/messages')
      ? 'msg'
      : path.startsWith('/v1/sessions')
        ? 'ses'
        : path.startsWith('/v1/meetings')
          ? 'mtg'
          : path.startsWith('/v1/organizations')
            ? 'org'
            : 'agt';
  // Required query parameters, so that the request is valid but for its credentials.
  const query = path === '/v1/messages/search' ? '?q=private' : '';
  return path.replace(/\{[a-zA-Z]+\}/, ids[prefix] as string) + query;
}

/** A valid body for each operation that needs one, aimed at the victim's agents and messages. */
function bodyFor(method: string, path: string): unknown {
  const bodies: Record<string, unknown> = {
    'POST /v1/organizations': { name: 'x' },
    'POST /v1/agents': { name: 'x' },
    'PATCH /v1/agents/{id}': { name: 'hijacked' },
    'POST /v1/messages': { to: ids.agt, content: 'x' },
    'POST /v1/conversations/sync': { to: ids.agt, content: 'x', timeoutMs: 1000 },
    'POST /v1/conversations/async': { to: ids.agt, content: 'x' },
    'POST /v1/sessions/{id}/reply': { content: 'x' },
    'POST /v1/inbox/ack': { messageIds: [ids.msg] },
    'POST /v1/meetings': { title: 'x', participantIds: [ids.agt], turnDurationMs: 1000 },
    'POST /v1/meetings/{id}/invite': { agentIds: [ids.agt] },
    'POST /v1/meetings/{id}/speak': { content: 'x' },
  };
  return bodies[`${method} ${path}`];
}

describe('every route', () => {
  it('covers the whole API (sanity check of the list)', () => {
    expect(operations.length).toBeGreaterThanOrEqual(25);
  });

  it('answers 401 problem+json without a token and with a bad one', async () => {
    for (const { method, path } of operations) {
      for (const token of [undefined, 'am_agt_forged0000000000000000000000000000000', 'garbage']) {
        const response = await stack.call(method, concrete(path), { token, body: bodyFor(method, path) });
        expect(response.status, `${method} ${path} token=${token}`).toBe(401);
        expect(response.body.code).toBe('unauthorized');
      }
    }
  });

  it("never hands another organization's data or effects to an outsider", async () => {
    const outsider = await createOrganization(stack, 'Attacker');
    const outsiderKey = outsider.apiKey;
    const mallory = await createAgent(stack, outsiderKey, { name: 'mallory' });
    for (const { method, path } of operations) {
      for (const token of [mallory.token, outsiderKey]) {
        const response = await stack.call(method, concrete(path), { token, body: bodyFor(method, path) });
        const label = `${method} ${path} as ${token === outsiderKey ? 'org key' : 'agent'}`;
        expect(response.status, label).toBeLessThan(500);
        if (
          (method === 'GET' && !path.includes('{')) ||
          path === '/v1/inbox/ack' ||
          path === '/v1/organizations'
        ) {
          // Their own listings, inbox and organization (nothing of the victim's), or a plain refusal.
          for (const id of [ids.msg, ids.ses, ids.mtg, bob.id, alice.id, victimOrgId])
            expect(JSON.stringify(response.body), label).not.toContain(id);
          if (response.status === 200 && path === '/v1/inbox/ack')
            expect(response.body.acknowledged).toEqual([]);
        } else if (method === 'POST' && path === '/v1/agents') {
          // An organization key creates agents in its own organization only; agents cannot.
          expect(response.status, label).toBe(token === outsiderKey ? 201 : 403);
          if (response.status === 201)
            expect(response.body.agent.organizationId).toBe(outsider.organization.id);
        } else {
          expect([403, 404], label).toContain(response.status);
        }
      }
    }
    // Nothing of the victim's changed: bob kept his name, the message is still unread, the meeting not ended.
    expect((await stack.call('GET', `/v1/agents/${bob.id}`, { token: orgKey })).body.agent).toMatchObject({
      name: 'bob',
      status: 'active',
    });
    expect(
      (await stack.call('GET', '/v1/inbox', { token: bob.token })).body.messages.map(
        (m: { id: string }) => m.id,
      ),
    ).toContain(ids.msg);
    expect((await stack.call('GET', `/v1/meetings/${ids.mtg}`, { token: orgKey })).body.meeting.status).toBe(
      'ready',
    );
  });

  it('an agent cannot act for another agent of its own organization', async () => {
    const carol = await createAgent(stack, orgKey, { name: 'carol' });
    // carol is not in alice and bob's session or meeting, and cannot read bob's message.
    expect((await stack.call('GET', `/v1/messages/${ids.msg}`, { token: carol.token })).status).toBe(404);
    expect(
      (
        await stack.call('POST', `/v1/sessions/${ids.ses}/reply`, {
          token: carol.token,
          body: { content: 'x' },
        })
      ).status,
    ).toBe(404);
    expect((await stack.call('POST', `/v1/sessions/${ids.ses}/end`, { token: carol.token })).status).toBe(
      404,
    );
    expect((await stack.call('GET', `/v1/meetings/${ids.mtg}`, { token: carol.token })).status).toBe(404);
    expect((await stack.call('POST', `/v1/meetings/${ids.mtg}/end`, { token: carol.token })).status).toBe(
      404,
    );
    expect(
      (await stack.call('POST', '/v1/inbox/ack', { token: carol.token, body: { messageIds: [ids.msg] } }))
        .body,
    ).toEqual({ acknowledged: [], count: 0 });
    // The admin token manages organizations only.
    expect((await stack.call('GET', '/v1/inbox', { token: ADMIN_TOKEN })).status).toBe(403);
  });

  it('a token the service has seen stops at once when rotated or its agent deactivated, on every route', async () => {
    for (const revoke of ['rotate', 'deactivate'] as const) {
      const dave = await createAgent(stack, orgKey, { name: `dave-${revoke}` });
      // Seen once: the isolate remembers whose token it is (never whether it is live).
      expect((await stack.call('GET', '/v1/inbox', { token: dave.token })).status).toBe(200);
      const revoked =
        revoke === 'rotate'
          ? await stack.call('POST', `/v1/agents/${dave.id}/rotate`, { token: orgKey })
          : await stack.call('DELETE', `/v1/agents/${dave.id}`, { token: orgKey });
      expect(revoked.status).toBe(200);
      for (const { method, path } of operations) {
        const body = bodyFor(method, path);
        const response = await stack.call(method, concrete(path), { token: dave.token, body });
        expect(response.status, `${revoke}: ${method} ${path}`).toBe(401);
        expect(response.body.code).toBe('unauthorized');
      }
      // The writes that check the token inside their own statement wrote nothing.
      const { rows } = await stack.sql.query('SELECT count(*)::int AS n FROM messages WHERE sender_id = $1', [
        dave.id,
      ]);
      expect(rows[0].n, revoke).toBe(0);
    }
  });
});
