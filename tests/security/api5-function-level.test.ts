import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestStack, type TestStack } from '../helpers/stack';
import { setUpVictim, type Victim } from '../helpers/victim';

// OWASP API Security Top 10 (2023), API5: Broken Function Level Authorization. Each route is for
// some kinds of credential (the admin token, an organization key, an agent token); every other
// kind, even of the same organization, is refused with 403 `forbidden` and changes nothing.

const ADMIN = 'admin';
const ORG = 'organization';
const AGENT = 'agent';
type Kind = typeof ADMIN | typeof ORG | typeof AGENT;

/** Who may call each route: the contract (README's API table). */
const allowed: Record<string, Kind[]> = {
  'POST /v1/organizations': [ADMIN],
  'GET /v1/organizations/{id}': [ADMIN],
  'DELETE /v1/organizations/{id}': [ADMIN],
  'GET /v1/organization': [ORG, AGENT],
  'GET /v1/me': [ORG, AGENT],
  'POST /v1/agents': [ORG],
  'GET /v1/agents': [ORG, AGENT],
  'GET /v1/agents/{id}': [ORG],
  'PATCH /v1/agents/{id}': [ORG],
  'DELETE /v1/agents/{id}': [ORG],
  'POST /v1/agents/{id}/rotate': [ORG],
  'GET /v1/agents/{id}/stats': [ORG, AGENT],
  'POST /v1/messages': [AGENT],
  'GET /v1/messages': [ORG, AGENT],
  'GET /v1/messages/count': [ORG, AGENT],
  'GET /v1/messages/search': [ORG, AGENT],
  'GET /v1/messages/{id}': [ORG, AGENT],
  'POST /v1/messages/{id}/redeliver': [ORG],
  'POST /v1/conversations/sync': [AGENT],
  'POST /v1/conversations/async': [AGENT],
  'GET /v1/conversations/{agentId}/messages': [AGENT],
  'GET /v1/sessions': [ORG, AGENT],
  'GET /v1/sessions/{id}': [ORG, AGENT],
  'GET /v1/sessions/{id}/messages': [ORG, AGENT],
  'POST /v1/sessions/{id}/reply': [AGENT],
  'POST /v1/sessions/{id}/end': [AGENT],
  'GET /v1/inbox': [AGENT],
  'POST /v1/inbox/ack': [AGENT],
  'POST /v1/meetings': [AGENT],
  'GET /v1/meetings': [ORG, AGENT],
  'GET /v1/meetings/{id}': [ORG, AGENT],
  'GET /v1/meetings/{id}/messages': [ORG, AGENT],
  'GET /v1/meetings/{id}/events': [ORG, AGENT],
  'GET /v1/meetings/{id}/stats': [ORG, AGENT],
  'POST /v1/meetings/{id}/invite': [AGENT],
  'POST /v1/meetings/{id}/attend': [AGENT],
  'POST /v1/meetings/{id}/start': [AGENT],
  'POST /v1/meetings/{id}/speak': [AGENT],
  'POST /v1/meetings/{id}/leave': [AGENT],
  'POST /v1/meetings/{id}/end': [AGENT],
};

let stack: TestStack;
let v: Victim;

beforeAll(async () => {
  stack = await startTestStack();
  v = await setUpVictim(stack);
});
afterAll(() => stack?.stop());

describe('API5: function level authorization', () => {
  it('names who may call every route of the document, and nothing else', () => {
    expect(v.operations.map(({ method, path }) => `${method} ${path}`).sort()).toEqual(
      Object.keys(allowed).sort(),
    );
  });

  it('refuses every other kind of credential with 403 forbidden, and nothing changes', async () => {
    const credentials: Record<Kind, string> = {
      [ADMIN]: ADMIN_TOKEN,
      [ORG]: v.orgKey,
      [AGENT]: v.alice.token,
    };
    const before = (
      await stack.sql.query(
        'SELECT (SELECT count(*) FROM messages)::int AS messages, (SELECT count(*) FROM agents)::int AS agents, (SELECT count(*) FROM meetings)::int AS meetings',
      )
    ).rows[0];
    for (const { method, path } of v.operations) {
      const route = `${method} ${path}`;
      for (const kind of [ADMIN, ORG, AGENT] as Kind[]) {
        if (allowed[route]?.includes(kind)) continue;
        const response = await stack.call(method, v.concrete(path), {
          token: credentials[kind],
          body: v.bodyFor(method, path),
        });
        expect([response.status, response.body.code], `${route} as ${kind}`).toEqual([403, 'forbidden']);
      }
    }
    const after = (
      await stack.sql.query(
        'SELECT (SELECT count(*) FROM messages)::int AS messages, (SELECT count(*) FROM agents)::int AS agents, (SELECT count(*) FROM meetings)::int AS meetings',
      )
    ).rows[0];
    expect(after).toEqual(before);
  });

  it("lets each allowed kind through (what it then gets is the route's business, never a 403 forbidden)", async () => {
    const credentials: Record<Kind, string> = { [ADMIN]: ADMIN_TOKEN, [ORG]: v.orgKey, [AGENT]: v.bob.token };
    for (const { method, path } of v.operations) {
      // Destructive ones are exercised by their own tests; here only whether the door opens.
      if (method === 'DELETE' || path.endsWith('/rotate') || path.endsWith('/end') || path.endsWith('/leave'))
        continue;
      for (const kind of allowed[`${method} ${path}`] ?? []) {
        const response = await stack.call(method, v.concrete(path), {
          token: credentials[kind],
          body: v.bodyFor(method, path),
        });
        expect(response.body?.code, `${method} ${path} as ${kind}`).not.toBe('forbidden');
        expect(response.status, `${method} ${path} as ${kind}`).toBeLessThan(500);
      }
    }
  });
});
