import { and, eq } from 'drizzle-orm';
import { lockKeys, type Tx } from '../../db';
import type { Config } from '../../env';
import { AppError, fail } from '../../errors';
import { newId } from '../../ids';
import { jsonValue } from '../../json';
import {
  agents,
  meetingEvents,
  type meetingEventTypes,
  meetingParticipants,
  meetings,
  messages,
} from '../../schema';
import { meetingView } from '../../views';
import { enqueueDeliveries } from '../deliveries/enqueue-delivery';

type Meeting = typeof meetings.$inferSelect;
type Participant = typeof meetingParticipants.$inferSelect;
type Agent = typeof agents.$inferSelect;

export type MeetingEventType = (typeof meetingEventTypes)[number];

export const meetingLock = (meetingId: string) => `meeting:${meetingId}`;

/** Overdue turns applied in one transaction at most (only an outage leaves more behind). */
export const MAX_CATCH_UP = 100;

/** Statuses of participants who take turns. */
const inRotation = (p: Participant) => p.status === 'attending' || p.status === 'speaking';

/**
 * One meeting inside one transaction, under the meeting's advisory lock: every change goes through
 * here, so events get gap-free seqs, turns advance exactly once and overdue turns are applied
 * before anything else happens. Collects the outbox ids to hand off after commit.
 */
export class MeetingTx {
  readonly deliveryIds: string[] = [];

  private constructor(
    readonly tx: Tx,
    private readonly config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
    public meeting: Meeting,
    public participants: Participant[],
    private readonly agentsById: Map<string, Agent>,
  ) {}

  /** Locks and loads the meeting of this organization (404 if absent), then applies due timeouts. */
  static async open(
    tx: Tx,
    config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
    organizationId: string,
    meetingId: string,
  ) {
    await lockKeys(tx, meetingLock(meetingId));
    const [meeting] = await tx
      .select()
      .from(meetings)
      .where(and(eq(meetings.id, meetingId), eq(meetings.organizationId, organizationId)));
    if (!meeting) throw fail.notFound('meeting', meetingId);
    const rows = await tx
      .select({ participant: meetingParticipants, agent: agents })
      .from(meetingParticipants)
      .innerJoin(agents, eq(agents.id, meetingParticipants.agentId))
      .where(eq(meetingParticipants.meetingId, meetingId));
    const state = new MeetingTx(
      tx,
      config,
      meeting,
      rows.map((r) => r.participant),
      new Map(rows.map((r) => [r.agent.id, r.agent])),
    );
    await state.applyTimeouts();
    return state;
  }

  /** A fresh meeting, created in this transaction by `createMeeting`. */
  static async create(
    tx: Tx,
    config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
    meeting: Meeting,
    members: Agent[],
  ) {
    await lockKeys(tx, meetingLock(meeting.id));
    return new MeetingTx(tx, config, meeting, [], new Map(members.map((a) => [a.id, a])));
  }

  view() {
    return meetingView(this.meeting, this.participants);
  }

  participant(agentId: string): Participant | undefined {
    return this.participants.find((p) => p.agentId === agentId);
  }

  /** The caller must take part (invited, attending or speaking; not left); otherwise 404. */
  requireParticipant(agentId: string): Participant {
    const participant = this.participant(agentId);
    if (!participant || participant.status === 'left') throw fail.notFound('meeting', this.meeting.id);
    return participant;
  }

  requireHost(agentId: string): void {
    this.requireParticipant(agentId);
    if (this.meeting.hostId !== agentId) throw new AppError(403, 'not_host', 'Only the host may do this.');
  }

  async addParticipants(values: (typeof meetingParticipants.$inferInsert)[], newAgents: Agent[] = []) {
    for (const agent of newAgents) this.agentsById.set(agent.id, agent);
    if (values.length === 0) return;
    const rows = await this.tx.insert(meetingParticipants).values(values).returning();
    this.participants.push(...rows);
  }

  async setParticipant(agentId: string, changes: Partial<typeof meetingParticipants.$inferInsert>) {
    const [row] = await this.tx
      .update(meetingParticipants)
      .set(changes)
      .where(
        and(eq(meetingParticipants.meetingId, this.meeting.id), eq(meetingParticipants.agentId, agentId)),
      )
      .returning();
    if (!row) throw new Error(`participant ${agentId} vanished`);
    this.participants = this.participants.map((p) => (p.agentId === agentId ? row : p));
    return row;
  }

  async update(changes: Partial<typeof meetings.$inferInsert>) {
    const [row] = await this.tx
      .update(meetings)
      .set(changes)
      .where(eq(meetings.id, this.meeting.id))
      .returning();
    if (!row) throw new Error(`meeting ${this.meeting.id} vanished`);
    this.meeting = row;
  }

  /** Appends an event with the next seq and pushes it to every present participant with an endpoint. */
  async event(type: MeetingEventType, data: Record<string, unknown>) {
    const seq = this.meeting.lastSeq + 1;
    await this.update({ lastSeq: seq });
    await this.tx.insert(meetingEvents).values({ meetingId: this.meeting.id, seq, type, data });
    const recipients = this.participants
      .filter((p) => p.status !== 'left')
      .map((p) => this.agentsById.get(p.agentId))
      .filter((a): a is Agent => a?.status === 'active');
    this.deliveryIds.push(
      ...(await enqueueDeliveries(
        this.tx,
        recipients.map((agent) => ({
          agent,
          subject: { type: 'meeting_event' as const, meetingId: this.meeting.id, eventSeq: seq },
        })),
        this.config.MAX_DELIVERY_ATTEMPTS,
      )),
    );
  }

  /** A message in the meeting's history, with its message_posted event. */
  async post(input: {
    kind: 'user' | 'system' | 'timeout' | 'ending';
    senderId: string | null;
    content: unknown;
    metadata?: Record<string, unknown>;
  }) {
    const [message] = await this.tx
      .insert(messages)
      .values({
        id: newId('message'),
        organizationId: this.meeting.organizationId,
        kind: input.kind,
        senderId: input.senderId,
        meetingId: this.meeting.id,
        content: jsonValue(input.content),
        metadata: input.metadata ?? {},
      })
      .returning();
    if (!message) throw new Error('insert returned no row');
    await this.event('message_posted', {
      messageId: message.id,
      kind: message.kind,
      from: message.senderId,
      turnNumber: this.meeting.turnNumber,
    });
    return message;
  }

  /** Who speaks after `afterJoinOrder`: the next in join order among those in rotation, wrapping. */
  nextSpeaker(afterJoinOrder: number): Participant | undefined {
    const rotation = this.participants
      .filter(inRotation)
      .sort((a, b) => (a.joinOrder ?? 0) - (b.joinOrder ?? 0));
    return rotation.find((p) => (p.joinOrder ?? 0) > afterJoinOrder) ?? rotation[0];
  }

  /**
   * Ends the current turn (if any) and starts the next one at `startsAt`, or ends the meeting when
   * maxTurns is reached. With autoRun the new speaker's endpoint is asked for its speech.
   */
  async advanceTurn(startsAt: Date) {
    const previous = this.meeting.currentSpeakerId
      ? this.participant(this.meeting.currentSpeakerId)
      : undefined;
    if (previous?.status === 'speaking') await this.setParticipant(previous.agentId, { status: 'attending' });
    if (this.meeting.maxTurns !== null && this.meeting.turnNumber >= this.meeting.maxTurns) {
      await this.end({ reason: 'max_turns', endedBy: null });
      return;
    }
    const next = this.nextSpeaker(previous?.joinOrder ?? 0);
    if (!next) throw new Error(`meeting ${this.meeting.id} has nobody in rotation`);
    const turnEndsAt = new Date(startsAt.getTime() + this.meeting.turnDurationMs);
    await this.setParticipant(next.agentId, { status: 'speaking' });
    await this.update({
      turnNumber: this.meeting.turnNumber + 1,
      currentSpeakerId: next.agentId,
      turnEndsAt,
    });
    await this.event('turn_started', {
      turnNumber: this.meeting.turnNumber,
      speakerId: next.agentId,
      turnEndsAt: turnEndsAt.toISOString(),
    });
    const speaker = this.agentsById.get(next.agentId);
    // A turn caught up after it already ended (a backlog of timeouts) is not worth asking for.
    if (this.meeting.autoRun && speaker?.status === 'active' && turnEndsAt > new Date()) {
      this.deliveryIds.push(
        ...(await enqueueDeliveries(
          this.tx,
          [
            {
              agent: speaker,
              subject: {
                type: 'meeting_turn',
                meetingId: this.meeting.id,
                turnNumber: this.meeting.turnNumber,
              },
            },
          ],
          this.config.MAX_DELIVERY_ATTEMPTS,
        )),
      );
    }
  }

  /**
   * Applies the overdue turns, in order: each gets a `timeout` message (from the system, on behalf
   * of the silent speaker) and a turn_timed_out event, and the next turn starts when the overdue
   * one ended, so a long silence is caught up exactly, never skipped or doubled. At most
   * MAX_CATCH_UP turns per transaction, so an outage's backlog is worked off in bounded steps.
   */
  private async applyTimeouts(now = new Date()): Promise<number> {
    let applied = 0;
    while (
      applied < MAX_CATCH_UP &&
      this.meeting.status === 'active' &&
      this.meeting.turnEndsAt &&
      this.meeting.turnEndsAt <= now
    ) {
      const speakerId = this.meeting.currentSpeakerId as string;
      const endedAt = this.meeting.turnEndsAt;
      const message = await this.post({
        kind: 'timeout',
        senderId: null,
        content: { event: 'turn_timed_out', turnNumber: this.meeting.turnNumber },
        metadata: { onBehalfOf: speakerId, turnNumber: this.meeting.turnNumber },
      });
      await this.event('turn_timed_out', {
        turnNumber: this.meeting.turnNumber,
        speakerId,
        messageId: message.id,
      });
      await this.advanceTurn(endedAt);
      applied += 1;
    }
    return applied;
  }

  /**
   * A participant other than the host leaves: out of the rotation, and if it was speaking, the
   * turn passes. Before the start, a meeting left with no attendee but the host is no longer ready.
   */
  async leave(agentId: string) {
    const wasSpeaking = this.participant(agentId)?.status === 'speaking';
    await this.setParticipant(agentId, { status: 'left', leftAt: new Date() });
    await this.event('participant_left', { agentId });
    if (wasSpeaking) await this.advanceTurn(new Date());
    const othersAttending = this.participants.some(
      (p) => p.agentId !== this.meeting.hostId && p.status === 'attending',
    );
    if (this.meeting.status === 'ready' && !othersAttending) await this.update({ status: 'created' });
  }

  /** Ends the meeting: nobody speaks any more, an ending message and meeting_ended are recorded. */
  async end(input: { reason: 'host' | 'max_turns' | 'host_deactivated'; endedBy: string | null }) {
    const speaking = this.participants.find((p) => p.status === 'speaking');
    if (speaking) await this.setParticipant(speaking.agentId, { status: 'attending' });
    await this.update({ status: 'ended', endedAt: new Date(), currentSpeakerId: null, turnEndsAt: null });
    await this.post({
      kind: 'ending',
      senderId: input.endedBy,
      content: { event: 'meeting_ended', reason: input.reason },
      metadata: input.endedBy ? {} : { onBehalfOf: this.meeting.hostId },
    });
    await this.event('meeting_ended', { reason: input.reason, endedBy: input.endedBy });
  }
}
