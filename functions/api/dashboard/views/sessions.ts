import { badge, h, table, time } from '../dom';
import { nameOf, type Session } from '../state';

/** The organization's conversations: who, their state, who waits for a reply. */
export async function sessionsView(session: Session): Promise<HTMLElement> {
  const { sessions } = await session.client.sessions.list({ limit: 100 });
  return table(
    'Sessions',
    ['Started', 'Between', 'Status', 'Waiting', 'Ended'],
    sessions.map((s) => [
      time(s.createdAt),
      h('span', {}, nameOf(session, s.agentA), ' and ', nameOf(session, s.agentB)),
      badge(s.status),
      s.waiterId ? h('span', {}, nameOf(session, s.waiterId), ' until ', time(s.waitDeadline)) : '—',
      time(s.endedAt),
    ]),
    'No sessions yet.',
  );
}
