import {
  ConfigError,
  constantTimeEqual,
  databaseError,
  decryptSecret,
  describeForLog,
  encryptSecret,
  generateEncryptionKey,
  generateToken,
  loadConfig,
  pollUntil,
  retryDelayMs,
  sha256Hex,
} from '@agent-messaging/core';
import { canonicalJson } from '@agent-messaging/core/src/json';
import { describe, expect, it } from 'vitest';

describe('retryDelayMs', () => {
  it('grows exponentially from the base, with jitter between half and all of the step', () => {
    expect(retryDelayMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(retryDelayMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(retryDelayMs(3, 1000, 60_000, () => 1)).toBe(4000);
  });

  it('never exceeds the cap', () => {
    expect(retryDelayMs(30, 1000, 60_000, () => 1)).toBe(60_000);
    expect(retryDelayMs(30, 1000, 60_000, () => 0)).toBe(30_000);
  });
});

describe('canonicalJson', () => {
  it('gives equal strings for equal values whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { y: 2, z: 1 }] }, b: 1 }),
    );
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 2 }));
  });
});

describe('secrets', () => {
  it('encrypts with AES-GCM: round trip, fresh IV each time, wrong key fails', async () => {
    const key = generateEncryptionKey();
    const sealedA = await encryptSecret('whsec_abc', key);
    const sealedB = await encryptSecret('whsec_abc', key);
    expect(sealedA).not.toBe(sealedB);
    expect(await decryptSecret(sealedA, key)).toBe('whsec_abc');
    await expect(decryptSecret(sealedA, generateEncryptionKey())).rejects.toThrow();
  });

  it('makes distinct high-entropy tokens and compares hashes exactly', async () => {
    const a = generateToken('agt');
    expect(a).toMatch(/^am_agt_[1-9A-HJ-NP-Za-km-z]{40}$/);
    expect(generateToken('agt')).not.toBe(a);
    expect(constantTimeEqual(await sha256Hex(a), await sha256Hex(a))).toBe(true);
    expect(constantTimeEqual(await sha256Hex(a), await sha256Hex(`${a}x`))).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
  });
});

describe('loadConfig', () => {
  const valid = {
    DATABASE_URL: 'postgres://u:p@localhost:5432/db',
    ADMIN_TOKEN: 'x'.repeat(24),
    ENCRYPTION_KEY: generateEncryptionKey(),
  };

  it('fills defaults and parses flags', () => {
    const config = loadConfig({ ...valid, ALLOW_PRIVATE_ENDPOINTS: 'true' });
    expect(config.ALLOW_PRIVATE_ENDPOINTS).toBe(true);
    expect(config.MAX_DELIVERY_ATTEMPTS).toBe(8);
    expect(loadConfig({ ...valid }).ALLOW_PRIVATE_ENDPOINTS).toBe(false);
  });

  it('reads secrets linked by SST (SST_RESOURCE_<Name> holding JSON {value}) when plain ones are absent', () => {
    const linked = {
      SST_RESOURCE_DatabaseUrl: JSON.stringify({ type: 'sst.sst.Secret', value: valid.DATABASE_URL }),
      SST_RESOURCE_AdminToken: JSON.stringify({ value: valid.ADMIN_TOKEN }),
      SST_RESOURCE_EncryptionKey: JSON.stringify({ value: valid.ENCRYPTION_KEY }),
    };
    expect(loadConfig(linked)).toMatchObject(valid);
    // A plain variable wins over a link.
    expect(loadConfig({ ...linked, ADMIN_TOKEN: 'y'.repeat(30) }).ADMIN_TOKEN).toBe('y'.repeat(30));
  });

  it('fails closed, naming each bad variable but never its value', () => {
    try {
      loadConfig({ ...valid, ADMIN_TOKEN: 'short-secret', DATABASE_URL: 'mysql://x' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).toContain('ADMIN_TOKEN');
      expect(message).toContain('DATABASE_URL');
      expect(message).not.toContain('short-secret');
    }
  });
});

describe('describeForLog', () => {
  it('keeps the database error and drops the query parameters drizzle puts in its message', () => {
    const cause = Object.assign(new Error('duplicate key value violates unique constraint "x"'), {
      name: 'DatabaseError',
      code: '23505',
    });
    const outer = Object.assign(
      new Error('Failed query: insert into api_keys ...\nparams: am_agt_SECRET,whsec_SECRET'),
      {
        name: 'DrizzleQueryError',
        cause,
      },
    );
    const line = describeForLog(outer);
    expect(line).toContain('DatabaseError [23505]: duplicate key value');
    expect(line).toContain('(in DrizzleQueryError)');
    expect(line).not.toContain('SECRET');
    expect(databaseError(outer)?.code).toBe('23505');
  });
});

describe('pollUntil', () => {
  it('checks at once, then backs off until a value or the deadline', async () => {
    let checks = 0;
    const value = await pollUntil(async () => (++checks === 3 ? 'found' : undefined), Date.now() + 5_000, {
      initialMs: 5,
      maxMs: 10,
    });
    expect(value).toBe('found');
    expect(checks).toBe(3);
    let tries = 0;
    const none = await pollUntil(
      async () => {
        tries++;
        return undefined;
      },
      Date.now() + 30,
      { initialMs: 5, maxMs: 5 },
    );
    expect(none).toBeUndefined();
    expect(tries).toBeGreaterThan(1);
  });

  it('with firstLookAfterWake, looks first when the work it waits for settles, not before', async () => {
    let settle: (value: unknown) => void = () => {};
    const wake = new Promise((resolve) => {
      settle = resolve;
    });
    const looks: number[] = [];
    let done = false;
    const started = Date.now();
    const polled = pollUntil(
      async () => {
        looks.push(Date.now() - started);
        return done ? 'reply' : undefined;
      },
      Date.now() + 5_000,
      { initialMs: 1_000, maxMs: 1_000, wake, firstLookAfterWake: true },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(looks).toEqual([]);
    done = true;
    settle(undefined);
    expect(await polled).toBe('reply');
    expect(looks).toHaveLength(1);
    expect(looks[0]).toBeLessThan(1_000);
  });
});
