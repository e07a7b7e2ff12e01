import { createAgent, type TestAgent, type TestStack } from './stack';

/** A meeting hosted by `host` with `others` invited and attending (in that order); not started. */
export async function readyMeeting(
  stack: TestStack,
  host: TestAgent,
  others: TestAgent[],
  options: { turnDurationMs?: number; maxTurns?: number; autoRun?: boolean; title?: string } = {},
) {
  const created = await stack.call('POST', '/v1/meetings', {
    token: host.token,
    body: {
      title: options.title ?? 'Standup',
      participantIds: others.map((a) => a.id),
      turnDurationMs: options.turnDurationMs ?? 60_000,
      ...(options.maxTurns && { maxTurns: options.maxTurns }),
      ...(options.autoRun && { autoRun: true }),
    },
  });
  if (created.status !== 201)
    throw new Error(`create meeting: ${created.status} ${JSON.stringify(created.body)}`);
  const id: string = created.body.meeting.id;
  for (const agent of others) {
    const attended = await stack.call('POST', `/v1/meetings/${id}/attend`, { token: agent.token });
    if (attended.status !== 200)
      throw new Error(`attend: ${attended.status} ${JSON.stringify(attended.body)}`);
  }
  return id;
}

/** Runs `task` over `items` with at most `concurrency` at once; results in the order of `items`. */
export async function mapConcurrently<T, R>(items: T[], concurrency: number, task: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

/** Agents made through the API, a few at a time (the order of `names` is kept). */
export function agents(stack: TestStack, orgKey: string, names: string[], endpointUrl?: string) {
  return mapConcurrently(names, 8, (name) =>
    createAgent(stack, orgKey, { name, ...(endpointUrl && { endpointUrl }) }),
  );
}

export const meetingApi = (stack: TestStack, id: string) => ({
  id,
  get: (who: { token: string }) => stack.call('GET', `/v1/meetings/${id}`, { token: who.token }),
  act: (who: { token: string }, action: string, body?: unknown) =>
    stack.call('POST', `/v1/meetings/${id}/${action}`, {
      token: who.token,
      ...(body !== undefined && { body }),
    }),
  speak: (who: { token: string }, content: unknown) =>
    stack.call('POST', `/v1/meetings/${id}/speak`, { token: who.token, body: { content } }),
  messages: (who: { token: string }) =>
    stack.call('GET', `/v1/meetings/${id}/messages`, { token: who.token }),
  events: (who: { token: string }, query = '') =>
    stack.call('GET', `/v1/meetings/${id}/events${query}`, { token: who.token }),
});
