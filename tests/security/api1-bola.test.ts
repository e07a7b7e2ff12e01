import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  startTestStack,
  type TestStack,
} from '../helpers/stack';
import { setUpVictim, type Victim } from '../helpers/victim';

// OWASP API Security Top 10 (2023), API1: Broken Object Level Authorization. Every object route
// of the OpenAPI document, aimed at another organization's objects, and at another agent's of
// the same organization: never a 2xx on someone else's data or effects, never a 500.

let stack: TestStack;
let v: Victim;

beforeAll(async () => {
  stack = await startTestStack();
  v = await setUpVictim(stack);
});
afterAll(() => stack?.stop());

describe('API1: object level authorization, on every route', () => {
  it('covers the whole API (sanity check of the list)', () => {
    expect(v.operations.length).toBeGreaterThanOrEqual(25);
  });

  it("never hands another organization's data or effects to an outsider", async () => {
    const outsider = await createOrganization(stack, 'Attacker');
    const outsiderKey = outsider.apiKey;
    const mallory = await createAgent(stack, outsiderKey, { name: 'mallory' });
    for (const { method, path } of v.operations) {
      for (const token of [mallory.token, outsiderKey]) {
        const response = await stack.call(method, v.concrete(path), { token, body: v.bodyFor(method, path) });
        const label = `${method} ${path} as ${token === outsiderKey ? 'org key' : 'agent'}`;
        expect(response.status, label).toBeLessThan(500);
        if (
          (method === 'GET' && !path.includes('{')) ||
          path === '/v1/inbox/ack' ||
          path === '/v1/organizations'
        ) {
          // Their own listings, inbox and organization (nothing of the victim's), or a plain refusal.
          for (const id of [v.ids.msg, v.ids.ses, v.ids.mtg, v.bob.id, v.alice.id, v.organizationId])
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
    expect((await stack.call('GET', `/v1/agents/${v.bob.id}`, { token: v.orgKey })).body.agent).toMatchObject(
      {
        name: 'bob',
        status: 'active',
      },
    );
    expect(
      (await stack.call('GET', '/v1/inbox', { token: v.bob.token })).body.messages.map(
        (m: { id: string }) => m.id,
      ),
    ).toContain(v.ids.msg);
    expect(
      (await stack.call('GET', `/v1/meetings/${v.ids.mtg}`, { token: v.orgKey })).body.meeting.status,
    ).toBe('ready');
  });

  it('an agent cannot act for another agent of its own organization', async () => {
    const carol = await createAgent(stack, v.orgKey, { name: 'carol' });
    // carol is not in alice and bob's session or meeting, and cannot read bob's message.
    expect((await stack.call('GET', `/v1/messages/${v.ids.msg}`, { token: carol.token })).status).toBe(404);
    expect(
      (
        await stack.call('POST', `/v1/sessions/${v.ids.ses}/reply`, {
          token: carol.token,
          body: { content: 'x' },
        })
      ).status,
    ).toBe(404);
    expect((await stack.call('POST', `/v1/sessions/${v.ids.ses}/end`, { token: carol.token })).status).toBe(
      404,
    );
    expect((await stack.call('GET', `/v1/meetings/${v.ids.mtg}`, { token: carol.token })).status).toBe(404);
    expect((await stack.call('POST', `/v1/meetings/${v.ids.mtg}/end`, { token: carol.token })).status).toBe(
      404,
    );
    expect(
      (await stack.call('POST', '/v1/inbox/ack', { token: carol.token, body: { messageIds: [v.ids.msg] } }))
        .body,
    ).toEqual({ acknowledged: [], count: 0 });
    // The admin token manages organizations only.
    expect((await stack.call('GET', '/v1/inbox', { token: ADMIN_TOKEN })).status).toBe(403);
  });
});
