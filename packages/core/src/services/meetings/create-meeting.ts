import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { idempotentWrite } from '../../idempotency';
import { newId } from '../../ids';
import { meetings } from '../../schema';
import { resolveAgentRefs } from '../agents/resolve-agent-refs';
import { loadRecipients } from '../messages/post-messages';
import { invited, MeetingTx } from './meeting-tx';

export interface CreateMeetingInput {
  title: string;
  participantIds: string[];
  turnDurationMs: number;
  maxTurns?: number | undefined;
  maxDurationMs?: number | undefined;
  autoRun?: boolean | undefined;
}

/** The caller hosts (attending, join order 0); the others are invited. */
export async function createMeeting(ctx: Ctx, request: CreateMeetingInput, idempotencyKey?: string) {
  const host = requireKind(ctx.principal, 'agent');
  const input = { ...request, participantIds: await resolveAgentRefs(ctx, request.participantIds) };
  const inviteeIds = [...new Set(input.participantIds)].filter((id) => id !== host.agentId);
  const scope = { principalId: host.agentId, key: idempotencyKey, request: ['POST /v1/meetings', input] };
  return idempotentWrite(ctx.db, scope, async (tx) => {
    const [hostAgent, ...invitees] = await loadRecipients(tx, host.organizationId, [
      host.agentId,
      ...inviteeIds,
    ]);
    const [row] = await tx
      .insert(meetings)
      .values({
        id: newId('meeting'),
        organizationId: host.organizationId,
        hostId: host.agentId,
        title: input.title,
        turnDurationMs: input.turnDurationMs,
        maxTurns: input.maxTurns ?? null,
        maxDurationMs: input.maxDurationMs ?? null,
        autoRun: input.autoRun ?? false,
      })
      .returning();
    if (!row || !hostAgent) throw new Error('insert returned no row');
    const meeting = await MeetingTx.create(tx, ctx.config, row, [hostAgent, ...invitees]);
    const now = new Date();
    await meeting.addParticipants([
      { agentId: host.agentId, status: 'attending', joinOrder: 0, joinedAt: now },
      ...invitees.map((agent) => invited(agent.id)),
    ]);
    await meeting.event('meeting_created', { hostId: host.agentId, title: input.title });
    for (const agent of invitees) await meeting.event('participant_invited', { agentId: agent.id });
    return { body: { meeting: meeting.view() }, deliveryIds: meeting.deliveryIds };
  });
}
