import { type SQL, sql } from 'drizzle-orm';

/** JSON with object keys sorted, so equal values give equal strings (idempotency request hashes). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** A JSON value for a jsonb column, `null` included (a bare null would become SQL NULL). */
export function jsonValue(value: unknown): SQL {
  return sql`${JSON.stringify(value)}::jsonb`;
}
