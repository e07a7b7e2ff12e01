import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  startTestStack,
  type TestStack,
} from '../helpers/stack';
import { setUpVictim, type Victim } from '../helpers/victim';

// OWASP API Security Top 10 (2023), API2: Broken Authentication. Every route of the document
// without a token, with a forged or malformed one, with a rotated or revoked one, with one of a
// deactivated organization, with the wrong kind. Tokens do not expire by time here: they are
// revoked (rotation, deactivation), which these tests cover; tokens and keys are stored hashed.

let stack: TestStack;
let v: Victim;

beforeAll(async () => {
  stack = await startTestStack();
  v = await setUpVictim(stack);
});
afterAll(() => stack?.stop());

describe('API2: authentication, on every route', () => {
  it('answers 401 problem+json without a token and with a bad one', async () => {
    for (const { method, path } of v.operations) {
      for (const token of [undefined, 'am_agt_forged0000000000000000000000000000000', 'garbage']) {
        const response = await stack.call(method, v.concrete(path), { token, body: v.bodyFor(method, path) });
        expect(response.status, `${method} ${path} token=${token}`).toBe(401);
        expect(response.body.code).toBe('unauthorized');
      }
    }
  });

  it('a token the service has seen stops at once when rotated or its agent deactivated, on every route', async () => {
    for (const revoke of ['rotate', 'deactivate'] as const) {
      const dave = await createAgent(stack, v.orgKey, { name: `dave-${revoke}` });
      // Seen once: the isolate remembers whose token it is (never whether it is live).
      expect((await stack.call('GET', '/v1/inbox', { token: dave.token })).status).toBe(200);
      const revoked =
        revoke === 'rotate'
          ? await stack.call('POST', `/v1/agents/${dave.id}/rotate`, { token: v.orgKey })
          : await stack.call('DELETE', `/v1/agents/${dave.id}`, { token: v.orgKey });
      expect(revoked.status).toBe(200);
      for (const { method, path } of v.operations) {
        const body = v.bodyFor(method, path);
        const response = await stack.call(method, v.concrete(path), { token: dave.token, body });
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

  it("a deactivated organization's key and agent tokens stop at once, on every route", async () => {
    const doomed = await createOrganization(stack, 'Doomed');
    const agent = await createAgent(stack, doomed.apiKey, { name: 'doomed-agent' });
    // Seen once by the isolate, then deactivated.
    expect((await stack.call('GET', '/v1/inbox', { token: agent.token })).status).toBe(200);
    const deactivated = await stack.call('DELETE', `/v1/organizations/${doomed.organization.id}`, {
      token: ADMIN_TOKEN,
    });
    expect(deactivated.status).toBe(200);
    for (const token of [doomed.apiKey, agent.token]) {
      for (const { method, path } of v.operations) {
        const response = await stack.call(method, v.concrete(path), { token, body: v.bodyFor(method, path) });
        expect([response.status, response.body.code], `${method} ${path}`).toEqual([401, 'unauthorized']);
      }
    }
  });

  it('keeps keys and tokens hashed at rest: the database holds no credential it handed out', async () => {
    const org = await createOrganization(stack, 'Hashed');
    const agent = await createAgent(stack, org.apiKey, { name: 'hashed' });
    const { rows } = await stack.sql.query('SELECT to_jsonb(k) AS row FROM api_keys k');
    const stored = JSON.stringify(rows);
    for (const secret of [org.apiKey, agent.token]) {
      expect(stored).not.toContain(secret);
      expect(stored).not.toContain(secret.slice(7));
    }
  });
});
