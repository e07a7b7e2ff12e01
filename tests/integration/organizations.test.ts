import { AgentMessaging, OrganizationNotFoundError } from '@agent-messaging/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import { meetingApi, readyMeeting } from '../helpers/meetings';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestStack,
} from '../helpers/stack';

// An organization seen by its own key and agents, and by the admin, who may deactivate it.

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

describe('reading organizations', () => {
  it('its key sees all of its own, its agents its id and name, the admin any by id', async () => {
    const { organization, apiKey } = await createOrganization(stack, 'Readable');
    const agent = await createAgent(stack, apiKey, { name: 'reader' });
    const byKey = await stack.call('GET', '/v1/organization', { token: apiKey });
    expect(byKey.status).toBe(200);
    expect(byKey.body.organization).toMatchObject({
      id: organization.id,
      name: 'Readable',
      deactivatedAt: null,
    });
    const byAgent = await stack.call('GET', '/v1/organization', { token: agent.token });
    expect(byAgent.body).toEqual({ organization: { id: organization.id, name: 'Readable' } });
    expect((await stack.call('GET', '/v1/organization', { token: ADMIN_TOKEN })).status).toBe(403);

    const byAdmin = await stack.call('GET', `/v1/organizations/${organization.id}`, { token: ADMIN_TOKEN });
    expect(byAdmin.body.organization).toMatchObject({ id: organization.id, name: 'Readable' });
    expect((await stack.call('GET', `/v1/organizations/${organization.id}`, { token: apiKey })).status).toBe(
      403,
    );
    const admin = new AgentMessaging({ baseUrl: stack.apiUrl, token: ADMIN_TOKEN });
    await expect(admin.organizations.get('org_01jd6s5v1xe8rb8xgsnq8mq2gx')).rejects.toBeInstanceOf(
      OrganizationNotFoundError,
    );
  });
});

describe('DELETE /v1/organizations/{id}', () => {
  it('revokes every credential at once and ends everything in progress, keeping all history', async () => {
    const { organization, apiKey } = await createOrganization(stack, 'Closing');
    const bystander = await createOrganization(stack, 'Staying');
    const down = await startEndpoint(() => new Response('down', { status: 503 }));
    try {
      const alice = await createAgent(stack, apiKey, { name: 'alice' });
      const bob = await createAgent(stack, apiKey, { name: 'bob' });
      const broken = await createAgent(stack, apiKey, { name: 'broken', endpointUrl: down.url });
      const staying = await createAgent(stack, bystander.apiKey, { name: 'staying' });
      // A delivery failing and waiting for its retry, a meeting in progress, a sender waiting.
      await stack.call('POST', '/v1/messages', {
        token: alice.token,
        body: { to: broken.id, content: 'hi' },
      });
      await eventually(async () => down.received.length > 0);
      const meeting = meetingApi(stack, await readyMeeting(stack, alice, [bob]));
      await meeting.act(alice, 'start');
      const waiting = stack.call('POST', '/v1/conversations/sync', {
        token: bob.token,
        body: { to: alice.id, content: 'are you there?', timeoutMs: 30_000 },
      });
      await eventually(async () => {
        const { rows } = await stack.sql.query(`SELECT 1 FROM sessions WHERE waiter_id = $1`, [bob.id]);
        return rows.length > 0;
      });
      const messagesBefore = await stack.sql.query(
        'SELECT count(*)::int AS n FROM messages WHERE organization_id = $1',
        [organization.id],
      );

      const deactivated = await stack.call('DELETE', `/v1/organizations/${organization.id}`, {
        token: ADMIN_TOKEN,
      });
      expect(deactivated.status).toBe(200);
      expect(deactivated.body.organization.deactivatedAt).not.toBeNull();

      // The waiting sender is released, and every credential stops, tokens seen before included.
      expect((await waiting).body.code).toBe('session_ended');
      for (const token of [apiKey, alice.token, bob.token]) {
        expect((await stack.call('GET', '/v1/organization', { token })).status).toBe(401);
      }
      const q = (text: string) => stack.sql.query(text, [organization.id]).then((r) => r.rows);
      expect(await q(`SELECT DISTINCT status FROM agents WHERE organization_id = $1`)).toEqual([
        { status: 'deactivated' },
      ]);
      expect(
        await q(`SELECT count(*)::int AS n FROM api_keys WHERE organization_id = $1 AND revoked_at IS NULL`),
      ).toEqual([{ n: 0 }]);
      expect(await q(`SELECT DISTINCT status FROM sessions WHERE organization_id = $1`)).toEqual([
        { status: 'ended' },
      ]);
      expect(
        await q(`SELECT e.data->>'reason' AS reason FROM meeting_events e JOIN meetings m ON m.id = e.meeting_id
                 WHERE m.organization_id = $1 AND e.type = 'meeting_ended'`),
      ).toEqual([{ reason: 'organization_deactivated' }]);
      expect(
        await q(
          `SELECT status, last_error FROM deliveries WHERE organization_id = $1 AND status <> 'delivered'`,
        ),
      ).toEqual(expect.arrayContaining([{ status: 'dead', last_error: 'organization deactivated' }]));
      expect(
        await q(
          `SELECT DISTINCT status FROM deliveries WHERE organization_id = $1 AND status <> 'delivered'`,
        ),
      ).toEqual([{ status: 'dead' }]);
      // Nothing deleted: the messages are all there, and more (the endings).
      const messagesAfter = await q('SELECT count(*)::int AS n FROM messages WHERE organization_id = $1');
      expect(messagesAfter[0].n).toBeGreaterThanOrEqual(messagesBefore.rows[0].n);

      // The admin still sees it; deactivating again changes nothing; the other organization goes on.
      const again = await stack.call('DELETE', `/v1/organizations/${organization.id}`, {
        token: ADMIN_TOKEN,
      });
      expect(again.body.organization.deactivatedAt).toBe(deactivated.body.organization.deactivatedAt);
      const seen = await stack.call('GET', `/v1/organizations/${organization.id}`, { token: ADMIN_TOKEN });
      expect(seen.body.organization.deactivatedAt).toBe(deactivated.body.organization.deactivatedAt);
      expect((await stack.call('GET', '/v1/inbox', { token: staying.token })).status).toBe(200);
      expect(
        (await stack.call('DELETE', `/v1/organizations/${organization.id}`, { token: bystander.apiKey }))
          .status,
      ).toBe(403);
    } finally {
      await down.close();
    }
  });
});
