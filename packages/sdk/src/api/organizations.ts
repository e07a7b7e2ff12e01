import type { Request } from '../transport';
import type { Organization } from '../types';

export const organizationsApi = (request: Request) => ({
  /** Admin token only: a new organization and its key (shown only this once). */
  create: (input: { name: string; externalId?: string }) =>
    request<{ organization: Organization; apiKey: string }>('POST', '/v1/organizations', { body: input }),
});
