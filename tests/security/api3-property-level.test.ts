import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createAgent, eventually, startTestStack, type TestStack } from '../helpers/stack';
import { setUpVictim, type Victim } from '../helpers/victim';

// OWASP API Security Top 10 (2023), API3: Broken Object Property Level Authorization. No answer
// and no log line ever holds a credential or its hash (a token or signing secret is shown once,
// by the call that makes it); no request can set a property it should not (mass assignment).

let stack: TestStack;
let v: Victim;
let secrets: string[];

beforeAll(async () => {
  stack = await startTestStack();
  v = await setUpVictim(stack);
  const extra = await createAgent(stack, v.orgKey, {
    name: 'with-endpoint',
    endpointUrl: 'http://127.0.0.1:9/hook',
  });
  const { rows } = await stack.sql.query(
    `SELECT k.hash, a.signing_secret_encrypted FROM api_keys k LEFT JOIN agents a ON a.id = k.agent_id`,
  );
  secrets = [
    v.orgKey,
    v.alice.token,
    v.bob.token,
    extra.token,
    extra.signingSecret,
    extra.signingSecret.replace(/^whsec_/, ''),
    ...rows.flatMap((row: { hash: string; signing_secret_encrypted: string | null }) =>
      [row.hash, row.signing_secret_encrypted].filter((value): value is string => Boolean(value)),
    ),
  ];
});
afterAll(() => stack?.stop());

describe('API3: object properties', () => {
  it('no read of any route, by any credential, holds a token, a key, a signing secret or a hash of one', async () => {
    let answers = 0;
    for (const { method, path } of v.operations.filter((operation) => operation.method === 'GET')) {
      for (const token of [v.orgKey, v.alice.token, v.bob.token, ADMIN_TOKEN]) {
        const response = await stack.call(method, v.concrete(path), { token });
        const text = JSON.stringify(response.body);
        for (const secret of secrets) expect(text, `${method} ${path}`).not.toContain(secret);
        answers += 1;
      }
    }
    expect(answers).toBeGreaterThan(50);
  });

  it('no log line holds one either, failures included', async () => {
    // A failure on our side is logged with its details: an agent whose sealed signing secret no
    // longer opens (corrupted at rest), pushed to.
    const broken = await createAgent(stack, v.orgKey, {
      name: 'broken',
      endpointUrl: 'http://127.0.0.1:9/hook',
    });
    const { rows } = await stack.sql.query(
      "UPDATE agents SET signing_secret_encrypted = 'v1.' || repeat('A', 60) WHERE id = $1 RETURNING signing_secret_encrypted",
      [broken.id],
    );
    secrets.push(broken.token, broken.signingSecret, rows[0].signing_secret_encrypted);
    await stack.call('POST', '/v1/messages', { token: v.alice.token, body: { to: broken.id, content: 'x' } });
    for (const token of [`${v.orgKey}x`, v.alice.token.slice(0, -1)])
      await stack.call('GET', '/v1/inbox', { token });
    const text = await eventually(async () => {
      const all = stack.output();
      return all.includes('failed on our side') ? all : undefined;
    });
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('refuses properties a caller may not set (mass assignment), and changes nothing', async () => {
    const attempts: [string, string, unknown][] = [
      ['POST', '/v1/agents', { name: 'x', organizationId: 'org_01jd6s5v1xe8rb8xgsnq8mq2gx' }],
      ['POST', '/v1/agents', { name: 'x', status: 'deactivated' }],
      ['PATCH', `/v1/agents/${v.bob.id}`, { status: 'deactivated' }],
      ['PATCH', `/v1/agents/${v.bob.id}`, { signingSecret: 'whsec_mine' }],
      ['PATCH', `/v1/agents/${v.bob.id}`, { id: 'agt_01jd6s5v1xe8rb8xgsnq8mq2gx' }],
      ['POST', '/v1/organizations', { name: 'x', apiKey: 'am_org_mine' }],
    ];
    for (const [method, path, body] of attempts) {
      const token = path === '/v1/organizations' ? ADMIN_TOKEN : v.orgKey;
      const response = await stack.call(method, path, { token, body });
      expect([response.status, response.body.code], `${method} ${path} ${JSON.stringify(body)}`).toEqual([
        400,
        'validation_failed',
      ]);
    }
    // Nor as a message's sender: `from` is who holds the token, whatever the body says.
    const sent = await stack.call('POST', '/v1/messages', {
      token: v.alice.token,
      body: { to: v.bob.id, content: 'x', from: v.bob.id },
    });
    expect([sent.status, sent.body.code]).toEqual([400, 'validation_failed']);
    const bob = await stack.call('GET', `/v1/agents/${v.bob.id}`, { token: v.orgKey });
    expect(bob.body.agent).toMatchObject({ status: 'active', name: 'bob' });
  });
});
