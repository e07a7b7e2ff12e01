import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestStack,
} from '../helpers/stack';

let stack: TestStack;
let orgKey: string;
let otherOrgKey: string;

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Acme')).apiKey;
  otherOrgKey = (await createOrganization(stack, 'Globex')).apiKey;
});
afterAll(() => stack?.stop());

describe('organizations', () => {
  it('the admin token creates an organization with a key shown once and stored only as a hash', async () => {
    const { status, body } = await stack.call('POST', '/v1/organizations', {
      token: ADMIN_TOKEN,
      body: { name: 'Initech', externalId: 'ini-1' },
    });
    expect(status).toBe(201);
    expect(body.organization).toMatchObject({ name: 'Initech', externalId: 'ini-1' });
    expect(body.organization.id).toMatch(/^org_[0-9a-z]{26}$/);
    expect(body.apiKey).toMatch(/^am_org_/);
    const { rows } = await stack.sql.query('SELECT prefix, hash FROM api_keys WHERE organization_id = $1', [
      body.organization.id,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0].hash).not.toContain(body.apiKey);
    expect(body.apiKey.startsWith(rows[0].prefix)).toBe(true);
  });

  it('refuses a second organization with the same externalId', async () => {
    const first = await stack.call('POST', '/v1/organizations', {
      token: ADMIN_TOKEN,
      body: { name: 'X', externalId: 'dup' },
    });
    expect(first.status).toBe(201);
    const second = await stack.call('POST', '/v1/organizations', {
      token: ADMIN_TOKEN,
      body: { name: 'Y', externalId: 'dup' },
    });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('external_id_taken');
  });

  it('only the admin token creates organizations', async () => {
    const byOrg = await stack.call('POST', '/v1/organizations', { token: orgKey, body: { name: 'X' } });
    expect(byOrg.status).toBe(403);
    expect(byOrg.body.code).toBe('forbidden');
    const anonymous = await stack.call('POST', '/v1/organizations', { body: { name: 'X' } });
    expect(anonymous.status).toBe(401);
  });
});

describe('agents', () => {
  it('creates, reads, lists, finds by externalId, updates and deactivates', async () => {
    const created = await stack.call('POST', '/v1/agents', {
      token: orgKey,
      body: {
        name: 'Support bot',
        externalId: 'support-1',
        description: 'answers tickets',
        endpointUrl: 'http://127.0.0.1:9/hook',
        metadata: { tier: 1 },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^am_agt_/);
    expect(created.body.signingSecret).toMatch(/^whsec_/);
    const agent = created.body.agent;
    expect(agent).toMatchObject({
      name: 'Support bot',
      externalId: 'support-1',
      status: 'active',
      metadata: { tier: 1 },
    });

    const read = await stack.call('GET', `/v1/agents/${agent.id}`, { token: orgKey });
    expect(read.body.agent).toEqual(agent);

    const found = await stack.call('GET', '/v1/agents?externalId=support-1', { token: orgKey });
    expect(found.body.agents.map((a: { id: string }) => a.id)).toEqual([agent.id]);

    const updated = await stack.call('PATCH', `/v1/agents/${agent.id}`, {
      token: orgKey,
      body: { name: 'Support', description: null, endpointUrl: null },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.agent).toMatchObject({
      name: 'Support',
      description: null,
      endpointUrl: null,
      externalId: 'support-1',
    });

    const deactivated = await stack.call('DELETE', `/v1/agents/${agent.id}`, { token: orgKey });
    expect(deactivated.body.agent.status).toBe('deactivated');
    const again = await stack.call('DELETE', `/v1/agents/${agent.id}`, { token: orgKey });
    expect(again.status).toBe(200);
    // Its token is revoked at once; its record stays.
    const withOldToken = await stack.call('GET', `/v1/messages/msg_01jd6s5v1xe8rb8xgsnq8mq2gx`, {
      token: created.body.token,
    });
    expect(withOldToken.status).toBe(401);
    expect((await stack.call('GET', `/v1/agents/${agent.id}`, { token: orgKey })).status).toBe(200);
  });

  it('pages through agents with a cursor', async () => {
    const key = (await createOrganization(stack, 'Paging')).apiKey;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createAgent(stack, key, { name: `p${i}` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { agents: { id: string }[]; nextCursor: string | null } } = await stack.call(
        'GET',
        `/v1/agents?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: key },
      );
      expect(page.body.agents.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.agents.map((a) => a.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it('rotation replaces the token and the signing secret', async () => {
    const agent = await createAgent(stack, orgKey, { name: 'rotating' });
    const rotated = await stack.call('POST', `/v1/agents/${agent.id}/rotate`, { token: orgKey });
    expect(rotated.status).toBe(200);
    expect(rotated.body.token).not.toBe(agent.token);
    expect(rotated.body.signingSecret).not.toBe(agent.signingSecret);
    const probe = (token: string) =>
      stack.call('POST', '/v1/messages', { token, body: { to: agent.id, content: 'x' } });
    expect((await probe(agent.token)).status).toBe(401);
    expect((await probe(rotated.body.token)).status).toBe(202);
  });

  it('concurrent rotations leave exactly one live token, and deliveries are signed with its secret', async () => {
    const endpoint = await startEndpoint();
    const agent = await createAgent(stack, orgKey, { name: 'twice-rotated', endpointUrl: endpoint.url });
    const sender = await createAgent(stack, orgKey, { name: 'sender' });
    const rotations = await Promise.all(
      Array.from({ length: 5 }, () => stack.call('POST', `/v1/agents/${agent.id}/rotate`, { token: orgKey })),
    );
    expect(rotations.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const probe = async (token: string) =>
      (await stack.call('POST', '/v1/messages', { token, body: { to: sender.id, content: 'x' } })).status;
    const live: { token: string; signingSecret: string }[] = [];
    for (const rotation of rotations)
      if ((await probe(rotation.body.token)) === 202) live.push(rotation.body);
    expect(live).toHaveLength(1);

    await stack.call('POST', '/v1/messages', {
      token: sender.token,
      body: { to: agent.id, content: 'signed' },
    });
    const request = await eventually(async () => endpoint.received[0]);
    expect(() =>
      new Webhook(live[0]?.signingSecret as string).verify(request.raw, request.headers),
    ).not.toThrow();
    expect(() => new Webhook(agent.signingSecret).verify(request.raw, request.headers)).toThrow();
    await endpoint.close();
  });

  it('keeps signing secrets encrypted at rest', async () => {
    const agent = await createAgent(stack, orgKey, { name: 'secretive' });
    const { rows } = await stack.sql.query('SELECT signing_secret_encrypted FROM agents WHERE id = $1', [
      agent.id,
    ]);
    expect(rows[0].signing_secret_encrypted).toMatch(/^v1\./);
    expect(rows[0].signing_secret_encrypted).not.toContain(agent.signingSecret.slice(6));
  });

  it('refuses an externalId already used in the organization, but not in another one', async () => {
    await createAgent(stack, orgKey, { name: 'a', externalId: 'same' });
    const dup = await stack.call('POST', '/v1/agents', {
      token: orgKey,
      body: { name: 'b', externalId: 'same' },
    });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('external_id_taken');
    const elsewhere = await stack.call('POST', '/v1/agents', {
      token: otherOrgKey,
      body: { name: 'b', externalId: 'same' },
    });
    expect(elsewhere.status).toBe(201);
  });
});

describe('agents: bad input', () => {
  const cases: [string, Record<string, string>, unknown, number, string][] = [
    ['missing name', {}, {}, 400, 'validation_failed'],
    ['unknown field', {}, { name: 'x', color: 'red' }, 400, 'validation_failed'],
    ['empty name', {}, { name: '  ' }, 400, 'validation_failed'],
    ['metadata not an object', {}, { name: 'x', metadata: [1] }, 400, 'validation_failed'],
    ['malformed JSON', {}, '{"name":', 400, 'invalid_json'],
    ['not JSON', { 'content-type': 'text/plain' }, 'name=x', 415, 'unsupported_media_type'],
    ['ftp endpoint', {}, { name: 'x', endpointUrl: 'ftp://example.com/x' }, 400, 'endpoint_not_allowed'],
    [
      'endpoint with credentials',
      {},
      { name: 'x', endpointUrl: 'https://u:p@example.com/x' },
      400,
      'endpoint_not_allowed',
    ],
    ['not a URL', {}, { name: 'x', endpointUrl: 'not a url' }, 400, 'endpoint_not_allowed'],
  ];
  it.each(cases)('%s: refused, nothing created', async (_name, headers, body, status, code) => {
    const before = await stack.sql.query('SELECT count(*)::int AS n FROM agents');
    const response = await stack.call('POST', '/v1/agents', { token: orgKey, body, headers });
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status, code, type: `urn:agent-messaging:problem:${code}` });
    expect(typeof response.body.detail).toBe('string');
    const after = await stack.sql.query('SELECT count(*)::int AS n FROM agents');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('lists which fields failed', async () => {
    const response = await stack.call('POST', '/v1/agents', { token: orgKey, body: { name: 7 } });
    expect(response.body.errors).toEqual([expect.objectContaining({ path: 'name' })]);
  });

  it('a POST that takes no body refuses one with fields in it, and changes nothing', async () => {
    const agent = await createAgent(stack, orgKey, { name: 'not-rotated' });
    const rotate = (body?: unknown) =>
      stack.call('POST', `/v1/agents/${agent.id}/rotate`, { token: orgKey, body });
    const refused = await rotate({ force: true });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('validation_failed');
    expect((await stack.call('GET', `/v1/agents/${agent.id}`, { token: agent.token })).status).not.toBe(401);
    expect((await rotate({})).status).toBe(200);
  });

  it('refuses a malformed id with 400 and an unknown one with 404', async () => {
    expect((await stack.call('GET', '/v1/agents/nope', { token: orgKey })).body.code).toBe(
      'validation_failed',
    );
    const unknown = await stack.call('GET', '/v1/agents/agt_01jd6s5v1xe8rb8xgsnq8mq2gx', { token: orgKey });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('agent_not_found');
  });
});

describe('agents: security', () => {
  it('every agent route needs a valid organization key', async () => {
    const agent = await createAgent(stack, orgKey, { name: 'guarded' });
    const routes: [string, string, unknown?][] = [
      ['POST', '/v1/agents', { name: 'x' }],
      ['GET', '/v1/agents'],
      ['GET', `/v1/agents/${agent.id}`],
      ['PATCH', `/v1/agents/${agent.id}`, { name: 'y' }],
      ['DELETE', `/v1/agents/${agent.id}`],
      ['POST', `/v1/agents/${agent.id}/rotate`],
    ];
    for (const [method, path, body] of routes) {
      const none = await stack.call(method, path, { body });
      expect(none.status, `${method} ${path} without token`).toBe(401);
      expect(none.body.code).toBe('unauthorized');
      const bad = await stack.call(method, path, { body, token: 'am_org_not-a-real-key' });
      expect(bad.status, `${method} ${path} with a bad token`).toBe(401);
      const asAgent = await stack.call(method, path, { body, token: agent.token });
      if (method === 'GET' && path === '/v1/agents') {
        // The directory: agents of the organization, never their endpoints or secrets.
        expect(asAgent.status, 'the directory, as an agent').toBe(200);
        expect(Object.keys(asAgent.body.agents[0]).sort()).toEqual(
          ['description', 'endpoint', 'externalId', 'id', 'metadata', 'name', 'status'].sort(),
        );
      } else expect(asAgent.status, `${method} ${path} as an agent`).toBe(403);
      const asAdmin = await stack.call(method, path, { body, token: ADMIN_TOKEN });
      expect(asAdmin.status, `${method} ${path} as admin`).toBe(403);
      if (path.includes(agent.id)) {
        const otherOrg = await stack.call(method, path, { body, token: otherOrgKey });
        expect(otherOrg.status, `${method} ${path} from another organization`).toBe(404);
      }
    }
    // Nothing above changed the agent.
    const read = await stack.call('GET', `/v1/agents/${agent.id}`, { token: orgKey });
    expect(read.body.agent).toMatchObject({ name: 'guarded', status: 'active' });
  });

  it("another organization's list does not show this organization's agents", async () => {
    await createAgent(stack, orgKey, { name: 'mine', externalId: 'mine-only' });
    const other = await stack.call('GET', '/v1/agents?externalId=mine-only', { token: otherOrgKey });
    expect(other.body.agents).toEqual([]);
  });
});
