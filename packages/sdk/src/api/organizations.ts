import { path, type Request } from '../transport';
import type { Organization, OrganizationSummary, Whoami } from '../types';

export const organizationsApi = (request: Request) => ({
  /** Admin token only: a new organization and its key (shown only this once). */
  create: (input: { name: string; externalId?: string }) =>
    request<{ organization: Organization; apiKey: string }>('POST', '/v1/organizations', { body: input }),
  /** Who this client's credential is: its kind, its organization, and for an agent token the agent. */
  whoami: () => request<Whoami>('GET', '/v1/me'),
  /** Your organization: all of it with the organization key, its id and name with an agent token. */
  current: async () =>
    (await request<{ organization: Organization | OrganizationSummary }>('GET', '/v1/organization'))
      .organization,
  /** Admin token only; OrganizationNotFoundError if there is none. */
  get: async (id: string) =>
    (await request<{ organization: Organization }>('GET', path`/v1/organizations/${id}`)).organization,
  /** Admin token only: keys revoked, agents deactivated, meetings and sessions ended; history kept. */
  deactivate: async (id: string) =>
    (await request<{ organization: Organization }>('DELETE', path`/v1/organizations/${id}`)).organization,
});
