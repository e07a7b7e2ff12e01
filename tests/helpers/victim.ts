import { readyMeeting } from './meetings';
import { createAgent, createOrganization, type TestAgent, type TestStack } from './stack';

/**
 * An organization with two agents, a conversation and a meeting, and every /v1 operation of the
 * OpenAPI document made concrete against them: what the security tests attack.
 */
export async function setUpVictim(stack: TestStack) {
  const victim = await createOrganization(stack, 'Victim');
  const orgKey = victim.apiKey;
  const alice: TestAgent = await createAgent(stack, orgKey, { name: 'alice' });
  const bob: TestAgent = await createAgent(stack, orgKey, { name: 'bob' });
  const sent = await stack.call('POST', '/v1/conversations/async', {
    token: alice.token,
    body: { to: bob.id, content: 'private' },
  });
  const meetingId = await readyMeeting(stack, alice, [bob]);
  const ids: Record<string, string> = {
    agt: bob.id,
    msg: sent.body.message.id,
    ses: sent.body.sessionId,
    mtg: meetingId,
    org: victim.organization.id,
  };
  const document = (await stack.call('GET', '/openapi.json')).body;
  const operations: { method: string; path: string }[] = Object.entries(
    document.paths as Record<string, Record<string, unknown>>,
  )
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
    );

  /** A concrete path for the operation, pointing at the victim organization's resources. */
  const concrete = (path: string): string => {
    const [, resource] = path.split('/').slice(1);
    const prefix =
      { agents: 'agt', messages: 'msg', sessions: 'ses', meetings: 'mtg', organizations: 'org' }[
        resource ?? ''
      ] ?? 'agt';
    // Required query parameters, so that the request is valid but for its credentials.
    const query = path === '/v1/messages/search' ? '?q=private' : '';
    return path.replace(/\{[a-zA-Z]+\}/, ids[prefix] as string) + query;
  };

  /** A valid body for each operation that needs one, aimed at the victim's agents and messages. */
  const bodyFor = (method: string, path: string): unknown =>
    (<Record<string, unknown>>{
      'POST /v1/organizations': { name: 'x' },
      'POST /v1/agents': { name: 'x' },
      'PATCH /v1/agents/{id}': { name: 'hijacked' },
      'POST /v1/messages': { to: ids.agt, content: 'x' },
      'POST /v1/conversations/sync': { to: ids.agt, content: 'x', timeoutMs: 1000 },
      'POST /v1/conversations/async': { to: ids.agt, content: 'x' },
      'POST /v1/sessions/{id}/reply': { content: 'x' },
      'POST /v1/inbox/ack': { messageIds: [ids.msg] },
      'POST /v1/meetings': { title: 'x', participantIds: [ids.agt], turnDurationMs: 1000 },
      'POST /v1/meetings/{id}/invite': { agentIds: [ids.agt] },
      'POST /v1/meetings/{id}/speak': { content: 'x' },
    })[`${method} ${path}`];

  return { orgKey, organizationId: victim.organization.id, alice, bob, ids, operations, concrete, bodyFor };
}

export type Victim = Awaited<ReturnType<typeof setUpVictim>>;
