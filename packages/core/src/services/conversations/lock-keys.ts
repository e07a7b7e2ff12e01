/** Advisory lock keys: one per unordered pair of agents (their session), one per waiting agent. */
export const pairLock = (a: string, b: string) => (a < b ? `pair:${a}:${b}` : `pair:${b}:${a}`);
export const waiterLock = (agentId: string) => `waiter:${agentId}`;
