import { and, eq, inArray } from 'drizzle-orm';
import type { Queryable, Tx } from '../../db';
import { fail } from '../../errors';
import { newId } from '../../ids';
import { jsonValue } from '../../json';
import { agents, type deliveryType, type messageKind, messages } from '../../schema';
import { enqueueDeliveries } from '../deliveries/enqueue-delivery';

type Agent = typeof agents.$inferSelect;
type Message = typeof messages.$inferSelect;

/**
 * A message row as it will be stored, made here: ids and times are ours, so a statement can write
 * it and its response be built before the statement runs. What is not given takes the schema's
 * defaults (a user message, no session or meeting, not acknowledged).
 */
export function newMessage(
  fields: Pick<Message, 'organizationId' | 'senderId'> &
    Partial<Omit<Message, 'content'>> & { content: unknown },
): Message {
  return {
    id: newId('message'),
    kind: 'user',
    recipientId: null,
    sessionId: null,
    meetingId: null,
    inReplyToId: null,
    replyDeadline: null,
    metadata: {},
    createdAt: new Date(),
    acknowledgedAt: null,
    ...fields,
    content: fields.content ?? null,
  };
}

/** A recipient must be an agent of the organization (404) that is active (409 agent_inactive). */
export function requireActiveRecipient(id: string, status: string | null | undefined): void {
  if (!status) throw fail.notFound('agent', id);
  if (status !== 'active') throw fail.conflict('agent_inactive', `Agent ${id} is deactivated.`);
}

/** The active agents with these ids in this organization; a missing one is 404, a deactivated one 409. */
export async function loadRecipients(q: Queryable, organizationId: string, ids: string[]): Promise<Agent[]> {
  const rows = await q
    .select()
    .from(agents)
    .where(and(eq(agents.organizationId, organizationId), inArray(agents.id, ids)));
  const byId = new Map(rows.map((agent) => [agent.id, agent]));
  return ids.map((id) => {
    const agent = byId.get(id);
    requireActiveRecipient(id, agent?.status);
    return agent as Agent;
  });
}

export interface PostMessagesInput {
  organizationId: string;
  senderId: string | null;
  recipients: Agent[];
  /** Whether to push to the recipients' endpoints (default true); the inbox keeps them either way. */
  push?: boolean;
  content: unknown;
  metadata?: Record<string, unknown> | undefined;
  kind?: (typeof messageKind.enumValues)[number];
  sessionId?: string;
  inReplyToId?: string;
  replyDeadline?: Date;
  deliveryType?: (typeof deliveryType.enumValues)[number];
}

/**
 * Inserts one message per recipient, each kept in the recipient's inbox, with an outbox row for
 * each recipient that has an endpoint. Returns the rows and the outbox ids to hand off after commit.
 */
export async function postMessages(tx: Tx, attemptLimit: number, input: PostMessagesInput) {
  const rows = await tx
    .insert(messages)
    .values(
      input.recipients.map((recipient) => ({
        id: newId('message'),
        organizationId: input.organizationId,
        kind: input.kind ?? 'user',
        senderId: input.senderId,
        recipientId: recipient.id,
        sessionId: input.sessionId ?? null,
        inReplyToId: input.inReplyToId ?? null,
        replyDeadline: input.replyDeadline ?? null,
        content: jsonValue(input.content),
        metadata: input.metadata ?? {},
      })),
    )
    .returning();
  if (input.push === false) return { rows, deliveryIds: [] };
  const deliveryIds = await enqueueDeliveries(
    tx,
    rows.map((row, index) => ({
      agent: input.recipients[index] as Agent,
      subject: { type: input.deliveryType ?? 'message', messageId: row.id },
    })),
    attemptLimit,
  );
  return { rows, deliveryIds };
}
