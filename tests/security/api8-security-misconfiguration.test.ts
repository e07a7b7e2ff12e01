import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, startTestStack, type TestStack } from '../helpers/stack';

// OWASP API Security Top 10 (2023), API8: Security Misconfiguration. Security headers on every
// answer, cross-origin calls off unless configured, errors that reveal nothing, a configuration
// that fails closed (tests/integration/platform.test.ts: bad settings, a database in trouble).

describe('API8: security headers, CORS, errors', () => {
  let stack: TestStack;
  let orgKey: string;
  beforeAll(async () => {
    stack = await startTestStack();
    orgKey = (await createOrganization(stack)).apiKey;
  });
  afterAll(() => stack?.stop());

  it('every kind of answer carries the security headers', async () => {
    for (const [path, token] of [
      ['/v1/agents', orgKey],
      ['/v1/agents', undefined],
      ['/v1/nothing', orgKey],
      ['/nothing', undefined],
      ['/healthz', undefined],
      ['/openapi.json', undefined],
      ['/docs', undefined],
      ['/dashboard', undefined],
    ] as const) {
      const { headers, status } = await fetch(`${stack.apiUrl}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      const label = `${path} (${status})`;
      expect(headers.get('x-content-type-options'), label).toBe('nosniff');
      expect(headers.get('x-frame-options'), label).toBe('SAMEORIGIN');
      expect(headers.get('strict-transport-security'), label).toMatch(/max-age=\d+/);
      expect(headers.get('referrer-policy'), label).toBe('no-referrer');
      expect(headers.get('cross-origin-resource-policy'), label).toBe('same-origin');
      expect(headers.get('access-control-allow-origin'), label).toBeNull();
    }
  });

  it('cross-origin calls are off by default: no CORS headers, a preflight is not granted', async () => {
    const preflight = await stack.call('OPTIONS', '/v1/agents', {
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
    const simple = await stack.call('GET', '/v1/agents', {
      token: orgKey,
      headers: { origin: 'https://evil.example' },
    });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('errors are problem+json that reveal no internals', async () => {
    for (const response of [
      await stack.call('GET', '/v1/agents/agt_01jd6s5v1xe8rb8xgsnq8mq2gx', { token: orgKey }),
      await stack.call('POST', '/v1/agents', { token: orgKey, body: '{"name":' }),
      await stack.call('POST', '/v1/agents', { token: orgKey, body: { name: 'x', organizationId: 'org_x' } }),
      await stack.call('GET', '/v1/inbox', { token: 'am_agt_x' }),
    ]) {
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      const text = JSON.stringify(response.body);
      expect(text).not.toMatch(/\bat \w+ \(|node_modules|\.ts:\d+|stack|SELECT|postgres/i);
    }
  });
});

describe('API8: CORS when configured', () => {
  let stack: TestStack;
  let orgKey: string;
  beforeAll(async () => {
    stack = await startTestStack({ CORS_ORIGINS: 'https://app.example.com' });
    orgKey = (await createOrganization(stack)).apiKey;
  });
  afterAll(() => stack?.stop());

  it('grants the configured origin only, with the headers the API takes and answers', async () => {
    const preflight = await stack.call('OPTIONS', '/v1/messages', {
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, idempotency-key',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const allowed = await stack.call('GET', '/v1/agents', {
      token: orgKey,
      headers: { origin: 'https://app.example.com' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('ratelimit');
    const other = await stack.call('GET', '/v1/agents', {
      token: orgKey,
      headers: { origin: 'https://evil.example' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
