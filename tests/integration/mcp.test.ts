import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// The MCP server at POST /mcp, driven by the MCP SDK's own client over Streamable HTTP: two agents
// hold a conversation and a meeting through tools alone.

let stack: TestStack;
let orgKey: string;
const clients: Client[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Tool users')).apiKey;
});
afterAll(async () => {
  for (const client of clients) await client.close();
  await stack?.stop();
});

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', stack.apiUrl), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

/** Calls a tool; the structured result of a success, or throws with the tool error's text. */
async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
  if (result.isError) throw new Error(text);
  // The text is the same JSON as the structured content, for clients that read only text.
  expect(JSON.parse(text)).toEqual(result.structuredContent);
  return result.structuredContent as Record<string, any>;
}

describe('MCP: who may connect', () => {
  it('an agent token only: 401 without one or with a bad one, 403 for an organization key', async () => {
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    const headers = { accept: 'application/json, text/event-stream' };
    for (const token of [undefined, 'am_agt_forged0000000000000000000000000000000']) {
      const response = await stack.call('POST', '/mcp', { token, body: initialize, headers });
      expect([response.status, response.body.code]).toEqual([401, 'unauthorized']);
    }
    const asOrg = await stack.call('POST', '/mcp', { token: orgKey, body: initialize, headers });
    expect([asOrg.status, asOrg.body.code]).toEqual([403, 'forbidden']);
    const agent = await createAgent(stack, orgKey, { name: 'probe' });
    const get = await stack.call('GET', '/mcp', { token: agent.token, headers });
    expect([get.status, get.body.code, get.headers.get('allow')]).toEqual([
      405,
      'method_not_allowed',
      'POST',
    ]);
  });
});

describe('MCP: two agents talk through tools alone', () => {
  let alice: TestAgent;
  let bob: TestAgent;
  let aliceTools: Client;
  let bobTools: Client;

  beforeAll(async () => {
    alice = await createAgent(stack, orgKey, { name: 'alice', externalId: 'alice' });
    bob = await createAgent(stack, orgKey, { name: 'bob billing', externalId: 'bob' });
    [aliceTools, bobTools] = await Promise.all([connect(alice.token), connect(bob.token)]);
  });

  it('lists every tool, each with a description and an input schema', async () => {
    const { tools } = await aliceTools.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      [
        'acknowledge',
        'ask',
        'attend_meeting',
        'check_inbox',
        'conversation_history',
        'create_meeting',
        'end_conversation',
        'end_meeting',
        'invite_to_meeting',
        'leave_meeting',
        'list_agents',
        'meeting_history',
        'meeting_status',
        'reply',
        'search_messages',
        'send_async',
        'send_message',
        'speak',
        'start_meeting',
        'whoami',
      ].sort(),
    );
    for (const tool of tools) {
      expect(tool.description?.length, tool.name).toBeGreaterThan(20);
      expect(tool.inputSchema.type, tool.name).toBe('object');
    }
    const speak = tools.find((tool) => tool.name === 'speak');
    expect(speak?.inputSchema.required).toEqual(expect.arrayContaining(['meetingId', 'content']));
    expect(speak?.outputSchema?.properties).toHaveProperty('meeting');
  });

  it('a conversation: directory, one-way message, inbox and acknowledgement, a question answered', async () => {
    expect((await call(aliceTools, 'whoami')).agent).toMatchObject({ id: alice.id, name: 'alice' });
    const found = await call(aliceTools, 'list_agents', { q: 'billing' }); // name, description or externalId
    expect(found.agents.map((a: { id: string }) => a.id)).toEqual([bob.id]);
    expect(found.agents[0]).not.toHaveProperty('endpointUrl');

    const sent = await call(aliceTools, 'send_message', { to: 'ext:bob', content: { text: 'hello bob' } });
    const inbox = await call(bobTools, 'check_inbox', { waitMs: 2000 });
    expect(inbox.messages.map((m: { id: string; content: unknown }) => [m.id, m.content])).toEqual([
      [sent.message.id, { text: 'hello bob' }],
    ]);
    expect(await call(bobTools, 'acknowledge', { from: alice.id })).toEqual({
      acknowledged: [sent.message.id],
      count: 1,
    });
    expect((await call(bobTools, 'check_inbox')).messages).toEqual([]);

    // alice asks and waits; bob, who has no endpoint, finds the question in his inbox and replies.
    const asked = call(aliceTools, 'ask', { to: bob.id, content: 'What is 6 x 7?', timeoutMs: 10_000 });
    const question = await eventually(
      async () => (await call(bobTools, 'check_inbox', { waitMs: 1000 })).messages[0],
    );
    expect(question.content).toBe('What is 6 x 7?');
    await call(bobTools, 'reply', { sessionId: question.sessionId, content: '42' });
    const answered = await asked;
    expect(answered.reply.content).toBe('42');

    await call(aliceTools, 'send_async', { to: bob.id, content: 'thanks, more later' });
    const history = await call(bobTools, 'conversation_history', { agentId: alice.id });
    expect(history.messages.map((m: { content: unknown }) => m.content)).toEqual([
      { text: 'hello bob' },
      'What is 6 x 7?',
      '42',
      'thanks, more later',
    ]);
    const ended = await call(bobTools, 'end_conversation', { sessionId: answered.sessionId });
    expect(ended.session.status).toBe('ended');
    const hits = await call(aliceTools, 'search_messages', { q: 'thanks' });
    expect(hits.results.map((hit: { message: { content: unknown } }) => hit.message.content)).toEqual([
      'thanks, more later',
    ]);
  });

  it('a meeting: created, attended, started, spoken in turn, read and ended', async () => {
    const created = await call(aliceTools, 'create_meeting', {
      title: 'Planning',
      participantIds: [bob.id],
      turnDurationMs: 60_000,
    });
    const meetingId = created.meeting.id;
    await call(bobTools, 'attend_meeting', { meetingId });
    const started = await call(aliceTools, 'start_meeting', { meetingId, content: 'Agenda: budget' });
    expect(started.meeting.currentSpeakerId).toBe(bob.id);
    // Not alice's turn: the tool error carries the API's problem code and detail.
    await expect(call(aliceTools, 'speak', { meetingId, content: 'me again' })).rejects.toThrow(
      /^not_your_turn: It is agt_\w+'s turn\.$/,
    );
    await call(bobTools, 'speak', { meetingId, content: 'Budget is fine', metadata: { vote: 'yes' } });
    const status = await call(bobTools, 'meeting_status', { meetingId });
    expect(status.meeting).toMatchObject({ status: 'active', currentSpeakerId: alice.id, turnNumber: 2 });
    await call(aliceTools, 'speak', { meetingId, content: 'Then we are done' });
    const ended = await call(aliceTools, 'end_meeting', { meetingId });
    expect(ended.meeting).toMatchObject({ status: 'ended', endReason: 'host' });
    const history = await call(bobTools, 'meeting_history', { meetingId });
    expect(history.messages.map((m: { content: unknown }) => m.content)).toEqual([
      'Agenda: budget',
      'Budget is fine',
      'Then we are done',
      { event: 'meeting_ended', reason: 'host' },
    ]);

    // The same history as a resource, and the inbox as one.
    const resource = await bobTools.readResource({ uri: `meeting://${meetingId}/history` });
    const contents = resource.contents[0] as { text: string; mimeType: string };
    expect(JSON.parse(contents.text).messages).toHaveLength(4);
    await call(aliceTools, 'send_message', { to: bob.id, content: 'after the meeting' });
    const inbox = await bobTools.readResource({ uri: 'inbox://unacknowledged' });
    expect(JSON.parse((inbox.contents[0] as { text: string }).text).messages.at(-1).content).toBe(
      'after the meeting',
    );
  });

  it('refuses bad input and what the caller may not see, as tool errors', async () => {
    await expect(call(aliceTools, 'speak', { meetingId: 'mtg_nope', content: 'x' })).rejects.toThrow(
      /validation_failed|Input validation error/,
    );
    const outsiderKey = (await createOrganization(stack, 'Outsiders')).apiKey;
    const mallory = await createAgent(stack, outsiderKey, { name: 'mallory' });
    const malloryTools = await connect(mallory.token);
    await expect(call(malloryTools, 'send_message', { to: bob.id, content: 'hi' })).rejects.toThrow(
      /^agent_not_found: /,
    );
    expect((await call(malloryTools, 'list_agents')).agents.map((a: { id: string }) => a.id)).toEqual([
      mallory.id,
    ]);
    // A token rotated away stops at once, mid-session.
    await stack.call('POST', `/v1/agents/${mallory.id}/rotate`, { token: outsiderKey });
    await expect(call(malloryTools, 'whoami')).rejects.toThrow(/401|unauthorized/i);
  });
});
