import { z } from 'zod';
import { fromBase64 } from './crypto';
import { RATE_LIMITS } from './rate-limits';

const flag = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');
const ms = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/** Every setting of every function, validated once per worker isolate; anything wrong fails closed. */
export const configSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection string'),
  ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters'),
  ENCRYPTION_KEY: z.string().refine((v) => {
    try {
      return fromBase64(v).length === 32;
    } catch {
      return false;
    }
  }, 'must be the base64 of 32 random bytes'),
  ALLOW_PRIVATE_ENDPOINTS: flag,
  /** Local only: `host:port` of the WebSocket-to-TCP proxy standing in for Neon's edge. */
  NEON_WS_PROXY: z.string().optional(),
  /** Local only: URL of the stand-in for Neon's HTTP query endpoint (`http://127.0.0.1:PORT/sql`). */
  NEON_HTTP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  DELIVERY_TIMEOUT_MS: ms(10_000),
  RETRY_BASE_MS: ms(1_000),
  RETRY_MAX_MS: ms(600_000),
  MAX_DELIVERY_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  /** Upper bound on a sync send's timeoutMs: the caller's HTTP request is held that long. */
  SYNC_MAX_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024),
  /** How long one scheduled sweeper run keeps looping (cron fires once a minute in the cloud). */
  SWEEP_BUDGET_MS: ms(25_000),
  SWEEP_STEP_MS: ms(1_000),
  /** Deliveries per dispatcher call, and how many of them run at once (Workers allow 6 connections). */
  DISPATCH_BATCH: z.coerce.number().int().min(1).max(100).default(25),
  DISPATCH_CONCURRENCY: z.coerce.number().int().min(1).max(6).default(6),
  /** How long one event stream (SSE) lives before the client reconnects with Last-Event-ID. */
  STREAM_LIFETIME_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(30 * 60_000)
    .default(5 * 60_000),
  /** Event streams (SSE) one agent, or one organization key, may hold open at once. */
  MAX_STREAMS: z.coerce.number().int().min(1).max(100).default(5),
  /** Browser origins allowed to call the API cross-origin, comma-separated; none by default (CORS off). */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.url({ protocol: /^https?$/ }).refine((url) => new URL(url).origin === url, 'must be an origin'),
      ),
    ),
  /** What the rate limiting bindings allow per minute (for the RateLimit headers; the bindings count). */
  AGENT_RATE_LIMIT: z.coerce.number().int().min(1).default(RATE_LIMITS.agent.limit),
  ORGANIZATION_RATE_LIMIT: z.coerce.number().int().min(1).default(RATE_LIMITS.organization.limit),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const cache = new WeakMap<object, Config>();

/** SST's names for the secrets linked in sst.config.ts, by the variable each one provides. */
export const linkedSecrets = {
  DATABASE_URL: 'DatabaseUrl',
  ADMIN_TOKEN: 'AdminToken',
  ENCRYPTION_KEY: 'EncryptionKey',
} as const;

/**
 * The value of a secret linked by SST: bound as `SST_RESOURCE_<Name>` holding JSON `{ value }`
 * (what `Resource.<Name>.value` reads), so the workers need not import SST's runtime.
 */
function linkedValue(env: Record<string, unknown>, name: string): string | undefined {
  const raw = env[`SST_RESOURCE_${name}`];
  if (typeof raw !== 'string') return undefined;
  try {
    const value = (JSON.parse(raw) as { value?: unknown }).value;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The env with plain variables first (local stack, tests), SST-linked secrets filling the gaps. */
export function resolveEnv(env: object): Record<string, unknown> {
  const resolved: Record<string, unknown> = { ...env };
  for (const [variable, name] of Object.entries(linkedSecrets)) {
    resolved[variable] ??= linkedValue(resolved, name);
  }
  return resolved;
}

/** Parses the worker's env (bindings are strings); names the bad variables, never their values. */
export function loadConfig(env: object): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = configSchema.safeParse(resolveEnv(env));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  cache.set(env, parsed.data);
  return parsed.data;
}
