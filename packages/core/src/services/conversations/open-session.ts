import { and, eq, ne } from 'drizzle-orm';
import type { Tx } from '../../db';
import { newId } from '../../ids';
import { sessions } from '../../schema';

/**
 * The open session of a pair of agents, created on first use (the caller holds the pair's lock, so
 * two first uses cannot both create one; the partial unique index backs that up).
 */
export async function openSession(tx: Tx, organizationId: string, x: string, y: string) {
  const [agentA, agentB] = x < y ? [x, y] : [y, x];
  const [existing] = await tx
    .select()
    .from(sessions)
    .where(and(eq(sessions.agentA, agentA), eq(sessions.agentB, agentB), ne(sessions.status, 'ended')))
    .for('update');
  if (existing) return existing;
  const [created] = await tx
    .insert(sessions)
    .values({ id: newId('session'), organizationId, agentA, agentB })
    .returning();
  if (!created) throw new Error('insert returned no row');
  return created;
}
