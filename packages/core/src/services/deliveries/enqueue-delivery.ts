import type { Queryable } from '../../db';
import { newId } from '../../ids';
import { type agents, deliveries, type deliveryType } from '../../schema';

type Recipient = Pick<
  typeof agents.$inferSelect,
  'id' | 'organizationId' | 'endpointUrl' | 'endpointDisabledAt'
>;

export interface DeliverySubject {
  type: (typeof deliveryType.enumValues)[number];
  messageId?: string;
  meetingId?: string;
  eventSeq?: number;
  turnNumber?: number;
}

/** True when the agent has an endpoint we may push to. */
function canPush(agent: Recipient): boolean {
  return agent.endpointUrl !== null && agent.endpointDisabledAt === null;
}

/** Outbox rows for the recipients that have a working endpoint (their ids are the webhook-ids). */
export function outboxRows(items: { agent: Recipient; subject: DeliverySubject }[], attemptLimit: number) {
  return items
    .filter(({ agent }) => canPush(agent))
    .map(({ agent, subject }) => ({
      id: newId('delivery'),
      organizationId: agent.organizationId,
      agentId: agent.id,
      attemptLimit,
      ...subject,
    }));
}

/**
 * Adds outbox rows, in the caller's transaction, for the recipients that have a working endpoint;
 * returns their ids for the caller to push after commit.
 */
export async function enqueueDeliveries(
  q: Queryable,
  items: { agent: Recipient; subject: DeliverySubject }[],
  attemptLimit: number,
): Promise<string[]> {
  const rows = outboxRows(items, attemptLimit);
  if (rows.length === 0) return [];
  await q.insert(deliveries).values(rows);
  return rows.map((row) => row.id);
}
