/**
 * Requests per credential, per window, as Cloudflare's Workers rate limiting binding counts them
 * (per location, a window of 10 or 60 seconds): each agent token and each organization key has its
 * own budget. The binding does the counting and cannot be asked its limit, so the limit is also a
 * setting, which the RateLimit headers report; sst.config.ts and the local stack set both from
 * the same figure (their tests check it).
 */
export const RATE_LIMITS = {
  agent: { binding: 'AgentRateLimit', setting: 'AGENT_RATE_LIMIT', limit: 1200, period: 60 },
  organization: {
    binding: 'OrganizationRateLimit',
    setting: 'ORGANIZATION_RATE_LIMIT',
    limit: 600,
    period: 60,
  },
} as const;

/** The Workers rate limiting binding (`env.<binding>.limit({ key })`). */
export interface RateLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}
