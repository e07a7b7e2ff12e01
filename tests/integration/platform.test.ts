import http from 'node:http';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  startTestStack,
  type TestStack,
} from '../helpers/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

describe('platform routes', () => {
  it('GET /healthz checks the database', async () => {
    const { status, body } = await stack.call('GET', '/healthz');
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ok', database: 'ok' });
  });

  it('GET /openapi.json is a valid OpenAPI 3.1 document covering the routes', async () => {
    const { status, body } = await stack.call('GET', '/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    const result = await new Validator().validate(body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    for (const path of [
      '/v1/organizations',
      '/v1/agents',
      '/v1/agents/{id}',
      '/v1/agents/{id}/rotate',
      '/v1/messages',
      '/v1/messages/{id}',
      '/v1/messages/{id}/redeliver',
      '/healthz',
    ]) {
      expect(body.paths, path).toHaveProperty([path]);
    }
    expect(body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(body.components.schemas).toHaveProperty('Problem');
  });

  it('GET /docs serves the API reference page', async () => {
    const response = await fetch(`${stack.apiUrl}/docs`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('/openapi.json');
  });

  it('a request refused before its body was read leaves the connection open for the next one', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { hostname, port } = new URL(stack.apiUrl);
    const post = (size: number) =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const body = JSON.stringify({ to: 'x', content: 'y'.repeat(size) });
        const request = http.request(
          {
            host: hostname,
            port,
            path: '/v1/messages',
            method: 'POST',
            agent,
            headers: { authorization: 'Bearer nope', 'content-type': 'application/json' },
          },
          (response) => {
            response.resume();
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, reused: request.reusedSocket }),
            );
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    // Each is refused (401) before its body is parsed; the next one goes on the same connection.
    const answers = [];
    for (const size of [10, 100_000, 10]) {
      answers.push(await post(size));
      await new Promise((resolve) => setTimeout(resolve, 50)); // time for a close to arrive, if any
    }
    agent.destroy();
    expect(answers).toEqual([
      { status: 401, reused: false },
      { status: 401, reused: true },
      { status: 401, reused: true },
    ]);
  });

  it('an unknown route is a problem+json 404', async () => {
    const response = await stack.call('GET', '/v1/nothing-here', { token: 'x' });
    expect(response.status).toBe(401);
    const anonymous = await stack.call('GET', '/nothing');
    expect(anonymous.status).toBe(404);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    expect(anonymous.body.code).toBe('not_found');
  });
});

describe('configuration fails closed', () => {
  it('a worker with a bad setting answers 500 misconfigured without revealing values', async () => {
    const broken = await startTestStack({ ENCRYPTION_KEY: 'too-short', MAX_DELIVERY_ATTEMPTS: 'many' });
    try {
      const response = await broken.call('GET', '/healthz');
      expect(response.status).toBe(500);
      expect(response.body.code).toBe('misconfigured');
      expect(JSON.stringify(response.body)).not.toContain('too-short');
    } finally {
      await broken.stop();
    }
  });
});

describe('a deployment that refuses private endpoints (the cloud default)', () => {
  it('refuses loopback, private and metadata endpoint URLs on create and update', async () => {
    const strict = await startTestStack({ ALLOW_PRIVATE_ENDPOINTS: 'false' });
    try {
      const { apiKey } = await createOrganization(strict);
      for (const endpointUrl of [
        'http://127.0.0.1:8080/hook',
        'http://10.0.0.7/hook',
        'http://169.254.169.254/',
      ]) {
        const created = await strict.call('POST', '/v1/agents', {
          token: apiKey,
          body: { name: 'x', endpointUrl },
        });
        expect(created.status).toBe(400);
        expect(created.body.code).toBe('endpoint_not_allowed');
      }
      const agent = await createAgent(strict, apiKey, {
        name: 'public',
        endpointUrl: 'https://agent.example.com/hook',
      });
      const patched = await strict.call('PATCH', `/v1/agents/${agent.id}`, {
        token: apiKey,
        body: { endpointUrl: 'http://localhost/hook' },
      });
      expect(patched.status).toBe(400);
      expect(
        (await strict.call('GET', `/v1/agents/${agent.id}`, { token: apiKey })).body.agent.endpointUrl,
      ).toBe('https://agent.example.com/hook');
    } finally {
      await strict.stop();
    }
  });
});

describe('a database in trouble', () => {
  it('out of connections: 503 service_unavailable with Retry-After, on /healthz and on the API', async () => {
    // A role that may not open any connection: PostgreSQL refuses it as it refuses one too many.
    const role = `limited_${Date.now()}`;
    await stack.sql.query(`CREATE ROLE ${role} LOGIN PASSWORD 'limited' CONNECTION LIMIT 0`);
    const databaseUrl = stack.databaseUrl.replace('postgres:postgres@', `${role}:limited@`);
    const busy = await startTestStack({ DATABASE_URL: databaseUrl });
    try {
      const health = await busy.call('GET', '/healthz');
      expect(health.status).toBe(503);
      expect(health.body.code).toBe('service_unavailable');
      const write = await busy.call('POST', '/v1/organizations', { token: ADMIN_TOKEN, body: { name: 'x' } });
      expect(write.status).toBe(503);
      expect(write.headers.get('retry-after')).toBe('1');
      expect(write.body).toMatchObject({ code: 'service_unavailable', status: 503 });
    } finally {
      await busy.stop();
    }
  });

  it('unreachable: 503 service_unavailable with Retry-After, revealing nothing', async () => {
    const gone = await startTestStack({
      DATABASE_URL: 'postgres://postgres:secret-password@127.0.0.1:1/nowhere',
    });
    try {
      const write = await gone.call('POST', '/v1/organizations', { token: ADMIN_TOKEN, body: { name: 'x' } });
      expect(write.status).toBe(503);
      expect(write.headers.get('content-type')).toContain('application/problem+json');
      expect(write.headers.get('retry-after')).toBe('1');
      expect(write.body).toEqual({
        type: 'urn:agent-messaging:problem:service_unavailable',
        title: 'Service is unavailable',
        status: 503,
        detail: 'The database cannot be reached; retry shortly.',
        code: 'service_unavailable',
      });
    } finally {
      await gone.stop();
    }
  });
});
