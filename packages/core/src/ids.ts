import { typeid } from 'typeid-js';

// Prefixed, time-sortable ids (TypeID: prefix + UUIDv7 in base32), e.g. `agt_01jd...`.
const prefixes = {
  organization: 'org',
  apiKey: 'key',
  agent: 'agt',
  message: 'msg',
  session: 'ses',
  meeting: 'mtg',
  delivery: 'dlv',
  streamLease: 'stl',
} as const;

export type IdKind = keyof typeof prefixes;

export function newId(kind: IdKind): string {
  return typeid(prefixes[kind]).toString();
}

export function idPrefix(kind: IdKind): string {
  return `${prefixes[kind]}_`;
}
