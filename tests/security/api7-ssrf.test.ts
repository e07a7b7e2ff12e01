import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import {
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestStack,
} from '../helpers/stack';

// OWASP API Security Top 10 (2023), API7: Server Side Request Forgery. Agents' endpoints are URLs
// the service POSTs to: the webhook case of the OWASP SSRF cheat sheet. Every spelling of an
// internal address is refused at registration (tests/unit/endpoint-url.test.ts goes through them
// one by one), again at delivery, and a redirect is never followed.

describe('API7 SSRF: a deployment that refuses private endpoints (the cloud default)', () => {
  let strict: TestStack;
  let orgKey: string;
  beforeAll(async () => {
    strict = await startTestStack({ ALLOW_PRIVATE_ENDPOINTS: 'false' });
    orgKey = (await createOrganization(strict)).apiKey;
  });
  afterAll(() => strict?.stop());

  it('refuses internal addresses in every spelling, at creation and on update', async () => {
    const agent = await createAgent(strict, orgKey, {
      name: 'public',
      endpointUrl: 'https://agent.example.com/hook',
    });
    for (const endpointUrl of [
      'http://2130706433/hook',
      'http://0x7f.1/hook',
      'http://0177.0.0.1/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[64:ff9b::a9fe:a9fe]/latest',
      'http://api.localhost./hook',
      'http://metadata.google.internal/computeMetadata/v1',
      'https://agent.example.com@10.0.0.1/hook',
      'gopher://agent.example.com/hook',
    ]) {
      for (const [method, path, body] of [
        ['POST', '/v1/agents', { name: 'x', endpointUrl }],
        ['PATCH', `/v1/agents/${agent.id}`, { endpointUrl }],
      ] as const) {
        const response = await strict.call(method, path, { token: orgKey, body });
        expect([response.status, response.body.code], `${method} ${endpointUrl}`).toEqual([
          400,
          'endpoint_not_allowed',
        ]);
      }
    }
    const read = await strict.call('GET', `/v1/agents/${agent.id}`, { token: orgKey });
    expect(read.body.agent.endpointUrl).toBe('https://agent.example.com/hook');
  });

  it('refuses again at delivery: an endpoint stored before the rule (or around it) is never called', async () => {
    const endpoint = await startEndpoint();
    try {
      const sender = await createAgent(strict, orgKey, { name: 'sender' });
      const target = await createAgent(strict, orgKey, { name: 'target' });
      // Written past the API, as an older deployment that allowed private endpoints would have.
      await strict.sql.query('UPDATE agents SET endpoint_url = $1 WHERE id = $2', [endpoint.url, target.id]);
      const sent = await strict.call('POST', '/v1/messages', {
        token: sender.token,
        body: { to: target.id, content: 'hello' },
      });
      expect(sent.status).toBe(202);
      const read = await eventually(async () => {
        await strict.sweep();
        const message = await strict.call('GET', `/v1/messages/${sent.body.message.id}`, { token: orgKey });
        return message.body.message.status === 'dead' ? message.body : undefined;
      });
      expect(read.delivery.lastError).toMatch(/loopback/);
      expect(endpoint.received).toEqual([]);
    } finally {
      await endpoint.close();
    }
  });
});

describe('API7 SSRF: redirects', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it('an endpoint answering with a redirect is a failed attempt; the redirect is never followed', async () => {
    const elsewhere = await startEndpoint();
    const redirecting = await startEndpoint(
      () => new Response(null, { status: 307, headers: { location: elsewhere.url } }),
    );
    try {
      const { apiKey } = await createOrganization(stack);
      const sender = await createAgent(stack, apiKey, { name: 'sender' });
      const target = await createAgent(stack, apiKey, { name: 'target', endpointUrl: redirecting.url });
      const sent = await stack.call('POST', '/v1/messages', {
        token: sender.token,
        body: { to: target.id, content: 'follow me?' },
      });
      const read = await eventually(async () => {
        const message = await stack.call('GET', `/v1/messages/${sent.body.message.id}`, { token: apiKey });
        return message.body.attempts.length > 0 ? message.body : undefined;
      });
      expect(read.attempts[0]).toMatchObject({ responseStatus: 307, error: 'endpoint answered 307' });
      expect(read.message.status).not.toBe('delivered');
      expect(redirecting.received.length).toBeGreaterThan(0);
      expect(elsewhere.received).toEqual([]);
    } finally {
      await redirecting.close();
      await elsewhere.close();
    }
  });
});
