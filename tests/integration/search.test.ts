import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meetingApi, readyMeeting } from '../helpers/meetings';
import {
  createAgent,
  createOrganization,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// Full-text search: what each caller may find, ranking, snippets, web search syntax, pages.

let stack: TestStack;
let orgKey: string;
let otherOrgKey: string;
let alice: TestAgent;
let bob: TestAgent;
let carol: TestAgent;
let dave: TestAgent;
let stranger: TestAgent;
const ids: Record<string, string> = {};

const send = async (from: TestAgent, to: TestAgent, content: unknown) => {
  const sent = await stack.call('POST', '/v1/messages', { token: from.token, body: { to: to.id, content } });
  if (sent.status !== 202) throw new Error(`send: ${sent.status}`);
  return sent.body.message.id as string;
};
const search = (token: string, query: string) => stack.call('GET', `/v1/messages/search?${query}`, { token });
const found = async (token: string, query: string) => {
  const result = await search(token, query);
  expect(result.status).toBe(200);
  return result.body.results.map((hit: { message: { id: string } }) => hit.message.id) as string[];
};

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Acme')).apiKey;
  otherOrgKey = (await createOrganization(stack, 'Globex')).apiKey;
  [alice, bob, carol, dave] = (await Promise.all(
    ['alice', 'bob', 'carol', 'dave'].map((name) => createAgent(stack, orgKey, { name, externalId: name })),
  )) as [TestAgent, TestAgent, TestAgent, TestAgent];
  stranger = await createAgent(stack, otherOrgKey, { name: 'stranger' });
  ids.twice = await send(alice, bob, 'The quarterly invoice is late: please send the invoice again');
  ids.attached = await send(alice, carol, { text: 'Invoice attached', pages: 3 });
  ids.notAlices = await send(bob, carol, 'Our refund policy for invoices');
  ids.refund = await send(carol, alice, 'Refund issued for the invoice');
  ids.elsewhere = await send(stranger, stranger, 'The quarterly invoice of another company');
  const meeting = meetingApi(stack, await readyMeeting(stack, alice, [dave], { turnDurationMs: 60_000 }));
  await meeting.act(alice, 'start');
  const spoken = await meeting.speak(dave, 'Invoice review, in the meeting');
  ids.meeting = spoken.body.message.id;
});
afterAll(() => stack?.stop());

describe('GET /v1/messages/search', () => {
  it('an agent finds what it sent or received and what was said in its meetings, best first', async () => {
    const hits = await search(alice.token, 'q=invoice');
    expect(hits.status).toBe(200);
    const hitIds = hits.body.results.map((hit: { message: { id: string } }) => hit.message.id);
    expect([...hitIds].sort()).toEqual([ids.twice, ids.attached, ids.refund, ids.meeting].sort());
    // The message that says it twice ranks first; ranks never go up.
    expect(hitIds[0]).toBe(ids.twice);
    const ranks = hits.body.results.map((hit: { rank: number }) => hit.rank);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    expect(hits.body.results[0].snippet).toContain('<mark>invoice</mark>');
    // Text inside JSON content is found, and stemming matches "invoices" too.
    expect(await found(bob.token, 'q=invoice')).toEqual(expect.arrayContaining([ids.twice, ids.notAlices]));
  });

  it('the organization key finds all of its organization, and nobody finds another organization', async () => {
    expect((await found(orgKey, 'q=invoice')).sort()).toEqual(
      [ids.twice, ids.attached, ids.notAlices, ids.refund, ids.meeting].sort(),
    );
    expect(await found(otherOrgKey, 'q=invoice')).toEqual([ids.elsewhere]);
    expect(await found(stranger.token, 'q=quarterly invoice')).toEqual([ids.elsewhere]);
    const foreignPeer = await search(stranger.token, `q=invoice&with=${alice.id}`);
    expect([foreignPeer.status, foreignPeer.body.code]).toEqual([404, 'agent_not_found']);
  });

  it('speaks web search syntax and takes the listing filters', async () => {
    expect(await found(alice.token, `q=${encodeURIComponent('"quarterly invoice"')}`)).toEqual([ids.twice]);
    expect((await found(alice.token, `q=${encodeURIComponent('invoice -refund')}`)).sort()).toEqual(
      [ids.twice, ids.attached, ids.meeting].sort(),
    );
    expect(await found(alice.token, 'q=invoice&with=ext:carol')).toEqual(
      expect.arrayContaining([ids.attached, ids.refund]),
    );
    expect(await found(alice.token, 'q=invoice&with=ext:carol')).toHaveLength(2);
    expect(await found(alice.token, 'q=nothinglikethis')).toEqual([]);
  });

  it('pages through every hit once, in rank order', async () => {
    const all = await found(alice.token, 'q=invoice&limit=50');
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await search(alice.token, `q=invoice&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      paged.push(...page.body.results.map((hit: { message: { id: string } }) => hit.message.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all);
    const bad = await search(alice.token, 'q=invoice&cursor=nonsense');
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
  });
});
