import { path, type Request } from '../transport';
import type { Agent, AgentStats, Body, DirectoryEntry, Query } from '../types';

export type AgentInput = Body<'/v1/agents', 'post'>;
export type AgentPatch = Body<'/v1/agents/{id}', 'patch'>;

export interface AgentCredentials {
  agent: Agent;
  /** The agent's bearer token, shown only at creation and rotation. */
  token: string;
  /** The `whsec_` secret deliveries to the agent's endpoint are signed with. */
  signingSecret: string;
}

export type AgentQuery = Query<'/v1/agents'>;

/** The organization's agents (organization key); the directory of peers (agent token). */
export const agentsApi = (request: Request) => ({
  create: (input: AgentInput) => request<AgentCredentials>('POST', '/v1/agents', { body: input }),
  /** Organization key: every field of every agent. */
  list: (query: AgentQuery = {}) =>
    request<{ agents: Agent[]; nextCursor: string | null }>('GET', '/v1/agents', { query }),
  /** Agent token: the organization's agents as peers see them (no endpoint URLs). */
  directory: (query: AgentQuery = {}) =>
    request<{ agents: DirectoryEntry[]; nextCursor: string | null }>('GET', '/v1/agents', { query }),
  /** The agent with this external id, or null; an agent token gets its directory entry. */
  find: async (externalId: string) =>
    (await request<{ agents: (Agent | DirectoryEntry)[] }>('GET', '/v1/agents', { query: { externalId } }))
      .agents[0] ?? null,
  get: async (id: string) => (await request<{ agent: Agent }>('GET', path`/v1/agents/${id}`)).agent,
  update: async (id: string, patch: AgentPatch) =>
    (await request<{ agent: Agent }>('PATCH', path`/v1/agents/${id}`, { body: patch })).agent,
  /** Deactivates: tokens revoked, history kept. */
  deactivate: async (id: string) => (await request<{ agent: Agent }>('DELETE', path`/v1/agents/${id}`)).agent,
  rotate: (id: string) => request<AgentCredentials>('POST', path`/v1/agents/${id}/rotate`),
  /** Sessions, messages, partners, meetings, turns: any agent (organization key), or yourself. */
  stats: (id: string) => request<AgentStats>('GET', path`/v1/agents/${id}/stats`),
});
