/**
 * Calls `check` until it returns a value or `deadline` passes, sleeping between calls with backoff
 * (from `initialMs`, times 1.5, at most `maxMs`): prompt for answers that come fast, gentle on the
 * database for ones that come slowly. Returns undefined at the deadline. `wake` settling (the work
 * that produces the answer finished) cuts the current sleep short, once; with `firstLookAfterWake`
 * the first check waits for it too (or for the first step), since nothing can be found before.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  deadline: number,
  {
    initialMs = 25,
    maxMs = 500,
    wake,
    firstLookAfterWake = false,
  }: { initialMs?: number; maxMs?: number; wake?: Promise<unknown>; firstLookAfterWake?: boolean } = {},
): Promise<T | undefined> {
  let delay = initialMs;
  let woken = wake?.then(
    () => undefined,
    () => undefined,
  );
  const sleep = async () => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return false;
    // A step, cut short by `woken` when there is one (else by nothing: a promise that never settles).
    await until(woken ?? new Promise<never>(() => {}), Date.now() + Math.min(delay, remaining));
    woken = undefined;
    delay = Math.min(maxMs, delay * 1.5);
    return true;
  };
  if (firstLookAfterWake && woken) await sleep();
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (!(await sleep())) return undefined;
  }
}

/** `promise`'s value, or 'timeout' once `deadline` (epoch ms) passes. */
export async function until<T>(promise: Promise<T>, deadline: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), 'timeout');
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
