import { AgentMessaging } from '@agent-messaging/sdk';

/** Where the organization key is kept: this tab's session storage, never the URL. */
const KEY_ITEM = 'agent-messaging:organization-key';

export interface Session {
  token: string;
  client: AgentMessaging;
  organization: { id: string; name: string };
  /** Agent id -> name, for showing who is who. */
  names: Map<string, string>;
}

export const storedKey = (): string | null => sessionStorage.getItem(KEY_ITEM);
export const forgetKey = (): void => sessionStorage.removeItem(KEY_ITEM);

/** Checks that `token` is an organization key; keeps it for this tab and returns the session. */
export async function signIn(token: string): Promise<Session> {
  const client = new AgentMessaging({ baseUrl: location.origin, token });
  const who = await client.organizations.whoami();
  if (who.kind !== 'organization')
    throw new Error('This is an agent token: the dashboard needs the organization key.');
  sessionStorage.setItem(KEY_ITEM, token);
  return { token, client, organization: who.organization, names: new Map() };
}

/** An agent's name (and its id, for telling two of the same name apart), or the id alone. */
export const nameOf = (session: Session, id: string | null | undefined): string =>
  id ? (session.names.get(id) ?? id) : 'system';

/** Learns every agent's name (the organization's first 200). */
export async function loadNames(session: Session): Promise<void> {
  const { agents } = await session.client.agents.list({ limit: 200 });
  for (const agent of agents) session.names.set(agent.id, agent.name);
}
