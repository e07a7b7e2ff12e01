import { databaseError } from '../error-chain';

/** True when a query failed on the named unique index (Postgres error 23505). */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const failure = databaseError(error);
  return failure?.code === '23505' && failure.constraint === constraint;
}
