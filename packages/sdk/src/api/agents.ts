import { path, type Request } from '../transport';
import type { Agent, Metadata } from '../types';

export interface AgentInput {
  name: string;
  externalId?: string;
  endpointUrl?: string;
  description?: string;
  metadata?: Metadata;
}

export type AgentPatch = Partial<{
  name: string;
  externalId: string | null;
  endpointUrl: string | null;
  description: string | null;
  metadata: Metadata;
}>;

export interface AgentCredentials {
  agent: Agent;
  /** The agent's bearer token, shown only at creation and rotation. */
  token: string;
  /** The `whsec_` secret deliveries to the agent's endpoint are signed with. */
  signingSecret: string;
}

/** Organization key: the organization's agents. */
export const agentsApi = (request: Request) => ({
  create: (input: AgentInput) => request<AgentCredentials>('POST', '/v1/agents', { body: input }),
  list: (query: { externalId?: string; cursor?: string; limit?: number } = {}) =>
    request<{ agents: Agent[]; nextCursor: string | null }>('GET', '/v1/agents', { query }),
  get: async (id: string) => (await request<{ agent: Agent }>('GET', path`/v1/agents/${id}`)).agent,
  findByExternalId: async (externalId: string) =>
    (await request<{ agents: Agent[] }>('GET', '/v1/agents', { query: { externalId } })).agents[0] ?? null,
  update: async (id: string, patch: AgentPatch) =>
    (await request<{ agent: Agent }>('PATCH', path`/v1/agents/${id}`, { body: patch })).agent,
  /** Deactivates: tokens revoked, history kept. */
  deactivate: async (id: string) => (await request<{ agent: Agent }>('DELETE', path`/v1/agents/${id}`)).agent,
  rotate: (id: string) => request<AgentCredentials>('POST', path`/v1/agents/${id}/rotate`),
});
