import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Arbitraries } from '../helpers/arbitrary';
import { readyMeeting } from '../helpers/meetings';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// Every route of /openapi.json called with generated inputs, valid and not, with every kind of
// credential (the caller's, another organization's, none): never a 5xx, every refusal a
// problem+json with a documented code, and the database's invariants hold afterwards.
// Seeded: FUZZ_SEED=<n> replays a run; FUZZ_RUNS=<n> sets the requests per route.

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 60);

let stack: TestStack;
let document: any;
let codes: Set<string>;
let tokens: string[];

beforeAll(async () => {
  stack = await startTestStack();
  const home = await createOrganization(stack, 'Home');
  const away = await createOrganization(stack, 'Away');
  const [alice, bob, carol] = [
    await createAgent(stack, home.apiKey, { name: 'alice', externalId: 'alice' }),
    await createAgent(stack, home.apiKey, { name: 'bob', externalId: 'bob' }),
    await createAgent(stack, home.apiKey, { name: 'carol' }),
  ] as TestAgent[];
  const mallory = await createAgent(stack, away.apiKey, { name: 'mallory', externalId: 'alice' });
  const sent = await stack.call('POST', '/v1/conversations/async', {
    token: alice?.token,
    body: { to: bob?.id, content: 'hello' },
  });
  const meetingId = await readyMeeting(stack, alice as TestAgent, [bob as TestAgent, carol as TestAgent]);
  const started = await readyMeeting(stack, bob as TestAgent, [alice as TestAgent]);
  await stack.call('POST', `/v1/meetings/${started}/start`, { token: bob?.token });
  document = (await stack.call('GET', '/openapi.json')).body;
  codes = new Set(document.components.schemas.Problem.properties.code.enum);
  // The home organization's agents, its key, then everyone else's credentials and none.
  tokens = [
    alice?.token,
    bob?.token,
    home.apiKey,
    away.apiKey,
    mallory.token,
    ADMIN_TOKEN,
    'am_agt_forged0000000000000000000000000000000',
    '',
  ] as string[];
  fuzzed = new Arbitraries(document, {
    ids: {
      agt: [alice, bob, carol, mallory].map((a) => a?.id as string),
      msg: [sent.body.message.id],
      ses: [sent.body.sessionId],
      mtg: [meetingId, started],
      org: [home.organization.id, away.organization.id],
      ext: ['ext:alice', 'ext:bob', 'ext:nobody'],
    },
  });
});
afterAll(() => stack?.stop());

let fuzzed: Arbitraries;

interface Case {
  token: string;
  path: string;
  query: Record<string, unknown>;
  body: unknown;
}

/** Mostly the home organization's own credentials, so that requests get past the door. */
const credential = () =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...tokens.slice(0, 2)) },
    { weight: 3, arbitrary: fc.constant(tokens[2] as string) },
    { weight: 3, arbitrary: fc.constantFrom(...tokens.slice(3)) },
  );

/** What the route takes, as one arbitrary request; long waits are kept short. */
function caseOf(path: string, operation: any): fc.Arbitrary<Case> {
  const parameters: any[] = operation.parameters ?? [];
  const short = (name: string, schema: any) =>
    name === 'waitMs'
      ? fc.integer({ min: 0, max: 200 })
      : name === 'timeoutMs'
        ? fc.integer({ min: 100, max: 400 })
        : fuzzed.any(schema);
  const pathParams = fc.record(
    Object.fromEntries(
      parameters.filter((p) => p.in === 'path').map((p) => [p.name, fuzzed.valid(p.schema)]),
    ),
  );
  const query = fc.record(
    Object.fromEntries(
      parameters.filter((p) => p.in === 'query').map((p) => [p.name, short(p.name, p.schema)]),
    ),
    { requiredKeys: [] },
  );
  const bodySchema = operation.requestBody?.content?.['application/json']?.schema;
  const body = bodySchema
    ? fc.oneof(
        { weight: 5, arbitrary: fuzzed.valid(bodySchema).map((b) => clampWaits(b)) },
        { weight: 1, arbitrary: fuzzed.any(bodySchema) },
        { weight: 1, arbitrary: fc.constantFrom('{"broken":', '[]', 'null') },
      )
    : fc.constant(undefined);
  return fc
    .record({ token: credential(), pathParams, query, body })
    .map(({ token, pathParams, query, body }) => ({
      token,
      path: path.replace(/\{(\w+)\}/g, (_, name: string) =>
        encodeURIComponent(String((pathParams as Record<string, unknown>)[name])),
      ),
      query,
      body,
    }));
}

function clampWaits(body: unknown): unknown {
  if (body && typeof body === 'object' && 'timeoutMs' in body) return { ...body, timeoutMs: 300 };
  return body;
}

const revokes = ({ path, method }: { path: string; method: string }) =>
  method === 'delete' || path.endsWith('/rotate');

const queryString = (query: Record<string, unknown>) => {
  const entries = Object.entries(query).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
  return entries.length ? `?${new URLSearchParams(entries)}` : '';
};

describe('fuzzing every route', () => {
  it(`${RUNS_PER_ROUTE} generated requests per route: no undocumented 5xx, every refusal a documented problem (seed ${SEED})`, async () => {
    const operations = Object.entries(document.paths as Record<string, Record<string, any>>)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
      )
      // What revokes credentials (rotations, deactivations) goes last, so the rest gets past the door.
      .sort((a, b) => Number(revokes(a)) - Number(revokes(b)));
    let requests = 0;
    for (const [index, { path, method, operation }] of operations.entries()) {
      const cases = fc.sample(caseOf(path, operation), { seed: SEED + index, numRuns: RUNS_PER_ROUTE });
      for (const c of cases) {
        const url = `${c.path}${queryString(c.query)}`;
        const response = await stack.call(method.toUpperCase(), url, {
          token: c.token || undefined,
          ...(c.body !== undefined && { body: typeof c.body === 'string' ? c.body : c.body }),
        });
        requests += 1;
        const label = `seed ${SEED + index}: ${method.toUpperCase()} ${url} ${JSON.stringify(c.body)?.slice(0, 300)} -> ${response.status} ${JSON.stringify(response.body)?.slice(0, 300)}`;
        // A 5xx only where the route documents it (a sync request's 504 timeout), never a failure.
        if (response.status >= 500)
          expect(operation.responses, label).toHaveProperty([String(response.status)]);
        if (response.status >= 400) {
          expect(response.headers.get('content-type'), label).toContain('application/problem+json');
          expect(codes.has(response.body.code), label).toBe(true);
          expect(response.body.status, label).toBe(response.status);
        }
      }
    }
    expect(requests).toBe(operations.length * RUNS_PER_ROUTE);
  });

  it('leaves every invariant of the database intact', async () => {
    const violations: Record<string, string> = {
      'a meeting with two speakers': `
        SELECT meeting_id FROM meeting_participants WHERE status = 'speaking' GROUP BY meeting_id HAVING count(*) > 1`,
      'an active meeting whose current speaker is not the one speaking': `
        SELECT m.id FROM meetings m WHERE m.status = 'active' AND NOT EXISTS (
          SELECT 1 FROM meeting_participants p WHERE p.meeting_id = m.id AND p.agent_id = m.current_speaker_id AND p.status = 'speaking')`,
      'a meeting not active with someone speaking': `
        SELECT m.id FROM meetings m JOIN meeting_participants p ON p.meeting_id = m.id
        WHERE m.status <> 'active' AND p.status = 'speaking'`,
      'a gap in a meeting events': `
        SELECT meeting_id FROM meeting_events GROUP BY meeting_id HAVING max(seq) <> count(*)`,
      'a turn number that is not the count of turns started': `
        SELECT m.id FROM meetings m WHERE m.turn_number <> (
          SELECT count(*) FROM meeting_events e WHERE e.meeting_id = m.id AND e.type = 'turn_started')`,
      'a waiting session without its pending request': `
        SELECT s.id FROM sessions s WHERE s.status = 'waiting' AND NOT EXISTS (
          SELECT 1 FROM messages r WHERE r.id = s.pending_request_id AND r.session_id = s.id AND r.sender_id = s.waiter_id)`,
      'a session message between agents not of the session': `
        SELECT m.id FROM messages m JOIN sessions s ON s.id = m.session_id
        WHERE m.sender_id IS NOT NULL AND m.sender_id NOT IN (s.agent_a, s.agent_b)`,
      'a message across organizations': `
        SELECT m.id FROM messages m
        LEFT JOIN agents sa ON sa.id = m.sender_id LEFT JOIN agents ra ON ra.id = m.recipient_id
        WHERE sa.organization_id <> m.organization_id OR ra.organization_id <> m.organization_id`,
      'a delivery without its subject': `
        SELECT d.id FROM deliveries d
        WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = d.message_id)
          AND NOT EXISTS (SELECT 1 FROM meetings g WHERE g.id = d.meeting_id)`,
      'a delivery to someone other than its message recipient': `
        SELECT d.id FROM deliveries d JOIN messages m ON m.id = d.message_id
        WHERE d.type IN ('message', 'sync_request') AND (d.agent_id <> m.recipient_id OR d.organization_id <> m.organization_id)`,
      'a meeting participant of another organization': `
        SELECT p.meeting_id FROM meeting_participants p JOIN meetings m ON m.id = p.meeting_id
        JOIN agents a ON a.id = p.agent_id WHERE a.organization_id <> m.organization_id`,
    };
    for (const [violation, query] of Object.entries(violations)) {
      const { rows } = await stack.sql.query(query);
      expect(rows, violation).toEqual([]);
    }
    // The fuzzing did write: these checks looked at something.
    const { rows } = await stack.sql.query(
      'SELECT (SELECT count(*) FROM messages)::int AS messages, (SELECT count(*) FROM meetings)::int AS meetings',
    );
    expect(rows[0].messages).toBeGreaterThan(10);
    expect(rows[0].meetings).toBeGreaterThan(2);
  });
});
