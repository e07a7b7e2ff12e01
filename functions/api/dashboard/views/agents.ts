import type { Agent, AgentStats } from '@agent-messaging/sdk';
import { badge, h, table, time } from '../dom';
import type { Session } from '../state';

const endpointOf = (agent: Agent): Node | string => {
  if (!agent.endpointUrl) return 'inbox only';
  const host = new URL(agent.endpointUrl).host;
  return agent.endpointDisabled ? h('span', {}, host, ' ', badge('disabled')) : host;
};

const lastFailure = (stats: AgentStats | undefined): Node | string => {
  const failure = stats?.deliveries.lastFailure;
  if (!failure) return '—';
  return h(
    'span',
    {},
    time(failure.at),
    ' ',
    failure.status ? `HTTP ${failure.status}` : (failure.error ?? ''),
  );
};

/** Every agent with its endpoint's health: last delivery, what is pending or dead, the last failure. */
export async function agentsView(session: Session): Promise<HTMLElement> {
  const { agents } = await session.client.agents.list({ limit: 200 });
  const stats = await Promise.all(
    agents.map((agent) => session.client.agents.stats(agent.id).catch(() => undefined)),
  );
  return table(
    'Agents',
    ['Name', 'Status', 'Endpoint', 'Last delivery', 'Pending', 'Dead', 'Last failure'],
    agents.map((agent, i) => [
      h('span', { title: agent.id }, agent.name),
      badge(agent.status),
      endpointOf(agent),
      time(stats[i]?.deliveries.lastDeliveredAt),
      stats[i]?.deliveries.pending ?? '—',
      stats[i]?.deliveries.dead ?? '—',
      lastFailure(stats[i]),
    ]),
    'No agents yet.',
  );
}
