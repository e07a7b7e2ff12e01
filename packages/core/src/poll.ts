/**
 * Calls `check` until it returns a value or `deadline` passes, sleeping between calls with backoff
 * (from `initialMs`, times 1.5, at most `maxMs`): prompt for answers that come fast, gentle on the
 * database for ones that come slowly. Returns undefined at the deadline.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  deadline: number,
  { initialMs = 25, maxMs = 500 } = {},
): Promise<T | undefined> {
  let delay = initialMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return undefined;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, remaining)));
    delay = Math.min(maxMs, delay * 1.5);
  }
}
