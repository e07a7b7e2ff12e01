import { sql } from 'drizzle-orm';
import { credentialKey, type Principal } from '../../auth';
import { type Db, lockStatement } from '../../db';
import { AppError } from '../../errors';
import { newId } from '../../ids';

/**
 * Takes a lease for an event stream, unless the caller already holds `max` live ones (429
 * `too_many_streams`). One round trip: a batch that takes the holder's lock (so racing opens
 * count one after another), forgets its leases that ran out, and inserts the new one if there is
 * room. The lease lasts `lifetimeMs` at most, so a stream that dies without closing frees it.
 */
export async function takeStreamLease(
  db: Db,
  principal: Principal,
  max: number,
  lifetimeMs: number,
): Promise<string> {
  const holder = principal.kind === 'admin' ? 'admin' : credentialKey(principal);
  const id = newId('streamLease');
  const [, , taken] = await db.batch([
    db.execute(lockStatement([`streams:${holder}`])),
    db.execute(sql`DELETE FROM stream_leases WHERE holder = ${holder} AND expires_at <= now()`),
    db.execute<{ id: string }>(sql`
      INSERT INTO stream_leases (id, holder, expires_at)
      SELECT ${id}, ${holder}, now() + ${`${lifetimeMs} milliseconds`}::interval
      WHERE (SELECT count(*) FROM stream_leases WHERE holder = ${holder}) < ${max}
      RETURNING id`),
  ]);
  if (taken.rows.length === 0) {
    throw new AppError(
      429,
      'too_many_streams',
      `At most ${max} event streams at once per credential; close one first.`,
    );
  }
  return id;
}

/** Gives a stream's lease back. */
export async function releaseStreamLease(db: Db, id: string): Promise<void> {
  await db.execute(sql`DELETE FROM stream_leases WHERE id = ${id}`);
}
