/**
 * Delay before retry number `failures` (1 after the first failure): exponential from `baseMs`,
 * capped at `maxMs`, with "equal jitter" (half fixed, half random) so retries of many deliveries
 * that failed together spread out instead of stampeding the endpoint again.
 */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
