/**
 * Calls `check` until it returns a value or `deadline` passes, sleeping between calls with backoff
 * (from `initialMs`, times 1.5, at most `maxMs`): prompt for answers that come fast, gentle on the
 * database for ones that come slowly. Returns undefined at the deadline.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  deadline: number,
  { initialMs = 25, maxMs = 500, wake }: { initialMs?: number; maxMs?: number; wake?: Promise<unknown> } = {},
): Promise<T | undefined> {
  let delay = initialMs;
  // `wake` settling (the work that produces the answer finished) cuts the current sleep short, once.
  let woken = wake?.then(
    () => undefined,
    () => undefined,
  );
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const sleep = new Promise((resolve) => {
      timer = setTimeout(resolve, Math.min(delay, remaining));
    });
    await (woken ? Promise.race([sleep, woken]) : sleep);
    clearTimeout(timer);
    woken = undefined;
    delay = Math.min(maxMs, delay * 1.5);
  }
}
