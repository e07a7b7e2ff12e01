import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import {
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestStack,
} from '../helpers/stack';

// OWASP API Security Top 10 (2023), API10: Unsafe Consumption of APIs. What an agent's endpoint
// answers is third-party input: read up to 256 KiB, parsed defensively, used only in the shape the
// contract names (`{reply}` to a sync request, `{speech}` to a meeting turn), bounded in time.

let stack: TestStack;
let orgKey: string;

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Consumers')).apiKey;
});
afterAll(() => stack?.stop());

/** An agent whose endpoint answers `answer`, and an asker; the asker's sync request to it. */
async function ask(answer: () => Response | Promise<Response>, timeoutMs = 1_500) {
  const endpoint = await startEndpoint(answer);
  const target = await createAgent(stack, orgKey, { name: 'answerer', endpointUrl: endpoint.url });
  const asker = await createAgent(stack, orgKey, { name: 'asker' });
  const response = await stack.call('POST', '/v1/conversations/sync', {
    token: asker.token,
    body: { to: target.id, content: 'question', timeoutMs },
  });
  return { endpoint, target, asker, response };
}

describe('API10: answers from agents’ endpoints', () => {
  it('an answer over 256 KiB is cut off and not taken as a reply', async () => {
    const huge = JSON.stringify({ reply: 'x'.repeat(300 * 1024) });
    const { endpoint, response, target } = await ask(
      () => new Response(huge, { headers: { 'content-type': 'application/json' } }),
    );
    try {
      expect([response.status, response.body.code]).toEqual([504, 'timeout']);
      const { rows } = await stack.sql.query(
        "SELECT count(*)::int AS n FROM messages WHERE sender_id = $1 AND kind = 'user'",
        [target.id],
      );
      expect(rows[0].n).toBe(0);
    } finally {
      await endpoint.close();
    }
  });

  it('an answer that is not JSON, or not of the contract’s shape, acknowledges without replying', async () => {
    for (const body of ['<html>hi</html>', '{"reply": ', '[1,2,3]', '{"speech": "wrong field"}', 'null']) {
      const { endpoint, response, target } = await ask(() => new Response(body), 800);
      try {
        expect([response.status, response.body.code], body).toEqual([504, 'timeout']);
        const { rows } = await stack.sql.query(
          "SELECT count(*)::int AS n FROM messages WHERE sender_id = $1 AND kind = 'user'",
          [target.id],
        );
        expect(rows[0].n, body).toBe(0);
      } finally {
        await endpoint.close();
      }
    }
  });

  it('a well-formed reply is taken as it is, whatever JSON it holds', async () => {
    const { endpoint, response } = await ask(() =>
      Response.json({ reply: { nested: ['<script>', 1, null] }, extra: 'ignored' }),
    );
    try {
      expect(response.status).toBe(200);
      expect(response.body.reply.content).toEqual({ nested: ['<script>', 1, null] });
    } finally {
      await endpoint.close();
    }
  });

  it('an endpoint that starts answering and never finishes is cut off at the delivery timeout', async () => {
    const endpoint = await startEndpoint(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"reply": "'));
              // ...and nothing more, ever.
            },
          }),
        ),
    );
    try {
      const target = await createAgent(stack, orgKey, { name: 'dripping', endpointUrl: endpoint.url });
      const sender = await createAgent(stack, orgKey, { name: 'sender' });
      const sent = await stack.call('POST', '/v1/messages', {
        token: sender.token,
        body: { to: target.id, content: 'hi' },
      });
      const started = Date.now();
      // The test stack's DELIVERY_TIMEOUT_MS is 2 s: the attempt is over by then, one way or the other.
      const attempt = await eventually(async () => {
        const read = await stack.call('GET', `/v1/messages/${sent.body.message.id}`, { token: orgKey });
        return read.body.attempts[0];
      }, 10_000);
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(attempt.durationMs).toBeLessThan(5_000);
    } finally {
      await endpoint.close();
    }
  });
});
