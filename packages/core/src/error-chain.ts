/** The error and its causes, outermost first. */
export function* causes(error: unknown): Generator<object> {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) yield e;
}

/** The PostgreSQL error in the chain (it has a SQLSTATE `code`), if any. */
export function databaseError(error: unknown): { code: string; constraint?: string } | undefined {
  for (const e of causes(error)) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code))
      return e as { code: string; constraint?: string };
  }
  return undefined;
}

/**
 * A line for the logs that is safe to keep: the innermost cause's name, SQLSTATE and message.
 * Never a query's parameters (drizzle puts them in its own message: they can be token hashes,
 * message contents or encrypted secrets).
 */
export function describeForLog(error: unknown): string {
  const chain = [...causes(error)] as { name?: string; message?: string; code?: unknown; stack?: string }[];
  const innermost = chain.at(-1);
  if (!innermost) return String(error);
  const code = typeof innermost.code === 'string' ? ` [${innermost.code}]` : '';
  const outer = chain.length > 1 ? ` (in ${chain[0]?.name})` : '';
  return `${innermost.name ?? 'Error'}${code}: ${innermost.message ?? ''}${outer}\n${innermost.stack?.split('\n').slice(1, 6).join('\n') ?? ''}`;
}

/**
 * The database could not be reached: a connection refused, reset or cut, or Neon's HTTP endpoint
 * answering 5xx without a PostgreSQL error (its compute starting or restarting, say). Retrying
 * later may well succeed.
 */
export function databaseUnreachable(error: unknown): boolean {
  if (databaseError(error)) return false;
  return [...causes(error)].some((e) => {
    const { code, message, name } = e as { code?: unknown; message?: unknown; name?: unknown };
    return (
      (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND)$/.test(code)) ||
      (typeof message === 'string' &&
        /ECONNREFUSED|ECONNRESET|Connection terminated|Server error \(HTTP status 5\d\d\)|fetch failed|WebSocket/i.test(
          message,
        )) ||
      (name === 'NeonDbError' && typeof message === 'string' && /HTTP status 5\d\d/.test(message))
    );
  });
}
