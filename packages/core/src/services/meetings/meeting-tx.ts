import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { type Db, lockKeys, lockStatement, type Queryable, rowFromJson, type Tx } from '../../db';
import type { Config } from '../../env';
import { databaseError } from '../../error-chain';
import { AppError, fail } from '../../errors';
import { jsonValue } from '../../json';
import {
  agents,
  deliveries,
  type MeetingEndReason,
  meetingEvents,
  type meetingEventTypes,
  meetingParticipants,
  meetings,
  messages,
} from '../../schema';
import { meetingView } from '../../views';
import { outboxRows } from '../deliveries/enqueue-delivery';
import { newMessage } from '../messages/post-messages';

type Meeting = typeof meetings.$inferSelect;
type Participant = typeof meetingParticipants.$inferSelect;
type Agent = typeof agents.$inferSelect;

export type MeetingEventType = (typeof meetingEventTypes)[number];

export const meetingLock = (meetingId: string) => `meeting:${meetingId}`;

/** What `commit` raises when another change came in after `load`. */
const MEETING_CHANGED = 'meeting_changed';

/** True when a commit failed because the meeting changed since it was loaded: load again. */
export function isMeetingChanged(error: unknown): boolean {
  const failure = databaseError(error) as { code: string; message?: string; hint?: string } | undefined;
  return (
    failure?.code === 'P0001' && failure.hint === 'agent-messaging' && failure.message === MEETING_CHANGED
  );
}

type Member = { participant: Record<string, unknown>; agent: Record<string, unknown> };

/** Overdue turns applied in one transaction or batch at most (only an outage leaves more behind). */
export const MAX_CATCH_UP = 100;

/** A participant as invited: no join order until it attends. */
export const invited = (agentId: string) => ({
  agentId,
  status: 'invited' as const,
  joinOrder: null,
  joinedAt: null,
});

/** Statuses of participants who take turns. */
const inRotation = (p: Participant) => p.status === 'attending' || p.status === 'speaking';

/**
 * The meeting of this organization with its participants and their agents (404 if absent), in one
 * statement (so from one snapshot); `authorized`, a caller's key check, rides along.
 */
export async function readMeetingState(
  q: Queryable,
  organizationId: string,
  meetingId: string,
  authorized?: SQL,
) {
  const { rows } = await q.execute<{
    meeting: Record<string, unknown> | null;
    members: Member[] | null;
  }>(sql`
    SELECT to_jsonb(m) AS meeting,
           (SELECT jsonb_agg(jsonb_build_object('participant', to_jsonb(p), 'agent', to_jsonb(a)))
            FROM meeting_participants p JOIN agents a ON a.id = p.agent_id
            WHERE p.meeting_id = m.id) AS members
    FROM (SELECT ${authorized ?? sql`true`}) AS caller(live)
    LEFT JOIN meetings m ON m.id = ${meetingId} AND m.organization_id = ${organizationId}`);
  const [row] = rows;
  if (!row?.meeting) throw fail.notFound('meeting', meetingId);
  const members = (row.members ?? []).map((member) => ({
    participant: rowFromJson(meetingParticipants, member.participant),
    agent: rowFromJson(agents, member.agent),
  }));
  return {
    meeting: rowFromJson(meetings, row.meeting),
    participants: members.map((m) => m.participant),
    agentsById: new Map(members.map((m) => [m.agent.id, m.agent])),
  };
}

/** A write of the meeting's, not yet run (a drizzle query: runs when awaited, or in a batch). */
type Write = PromiseLike<unknown> & BatchItem<'pg'>;

/**
 * One meeting as one aggregate: every change goes through here, so events get gap-free seqs,
 * turns advance exactly once and overdue turns are applied before anything else happens. Collects
 * the outbox ids to push after commit. Two ways to hold it:
 * - `open` in a transaction, under the meeting's advisory lock: writes run as they come;
 * - `load` (one statement, no lock) then `commit` (one batch: the lock, a check that the meeting's
 *   last event is still the one loaded, then every write): two round trips for a change, retried
 *   by `changeMeeting` if another change came in between.
 */
export class MeetingTx {
  readonly deliveryIds: string[] = [];
  /** Writes waiting for `commit`; null when they run at once (opened in a transaction). */
  private readonly pending: Write[] | null;
  /** Events appended by this change, in order (not yet in the database when buffered). */
  private readonly appended: { type: MeetingEventType; data: Record<string, unknown> }[] = [];
  private readonly loadedSeq: number;

  private constructor(
    readonly q: Queryable,
    private readonly config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
    public meeting: Meeting,
    public participants: Participant[],
    private readonly agentsById: Map<string, Agent>,
    buffered: boolean,
  ) {
    this.pending = buffered ? [] : null;
    this.loadedSeq = meeting.lastSeq;
  }

  /** The meeting's pending deadline (epoch ms), the current turn's end, for the sweeper's ticker. */
  get wakeAt(): number | null {
    return this.meeting.status === 'active' ? (this.meeting.turnEndsAt?.getTime() ?? null) : null;
  }

  /** Locks and loads the meeting in the caller's transaction, then applies due timeouts. */
  static async open(
    tx: Tx,
    config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
    organizationId: string,
    meetingId: string,
  ) {
    await lockKeys(tx, meetingLock(meetingId));
    const { meeting, participants, agentsById } = await readMeetingState(tx, organizationId, meetingId);
    const state = new MeetingTx(tx, config, meeting, participants, agentsById, false);
    await state.applyTimeouts();
    return state;
  }

  /**
   * Loads the meeting in one statement, without a lock, and applies due timeouts in memory; the
   * change is written by `commit`. `authorized` (the caller's key check) rides along in the statement.
   */
  static async load(
    db: Db,
    config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
    organizationId: string,
    meetingId: string,
    authorized?: SQL,
  ) {
    const { meeting, participants, agentsById } = await readMeetingState(
      db,
      organizationId,
      meetingId,
      authorized,
    );
    const state = new MeetingTx(db, config, meeting, participants, agentsById, true);
    await state.applyTimeouts();
    return state;
  }

  /**
   * Writes a loaded meeting's change in one batch, under the meeting's lock, if the meeting is as it
   * was loaded (every change appends an event, so its last seq tells); otherwise raises, for
   * `changeMeeting` to load again (`isMeetingChanged`). Nothing to write, nothing sent.
   */
  async commit(db: Db): Promise<void> {
    const [first, ...rest] = this.pending ?? [];
    if (!first) return;
    await db.batch([
      db.execute(lockStatement([meetingLock(this.meeting.id)])),
      db.execute(sql`SELECT am_fail(${MEETING_CHANGED}, 'The meeting changed since it was loaded.')
        FROM meetings WHERE id = ${this.meeting.id} AND last_seq <> ${this.loadedSeq}`),
      first,
      ...rest,
    ]);
  }

  /** Runs the write now (opened in a transaction) or keeps it for `commit`. */
  private async write(query: Write): Promise<void> {
    if (this.pending) this.pending.push(query);
    else await query;
  }

  /** A fresh meeting, created in this transaction by `createMeeting`. */
  static async create(
    tx: Tx,
    config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
    meeting: Meeting,
    members: Agent[],
  ) {
    await lockKeys(tx, meetingLock(meeting.id));
    return new MeetingTx(tx, config, meeting, [], new Map(members.map((a) => [a.id, a])), false);
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

  async addParticipants(
    values: Pick<Participant, 'agentId' | 'status' | 'joinOrder' | 'joinedAt'>[],
    newAgents: Agent[] = [],
  ) {
    for (const agent of newAgents) this.agentsById.set(agent.id, agent);
    if (values.length === 0) return;
    const invitedAt = new Date();
    const rows: Participant[] = values.map((value) => ({
      ...value,
      meetingId: this.meeting.id,
      invitedAt,
      leftAt: null,
    }));
    await this.write(this.q.insert(meetingParticipants).values(rows));
    this.participants.push(...rows);
  }

  async setParticipant(agentId: string, changes: Partial<Omit<Participant, 'meetingId' | 'agentId'>>) {
    const current = this.participant(agentId);
    if (!current) throw new Error(`participant ${agentId} vanished`);
    await this.write(
      this.q
        .update(meetingParticipants)
        .set(changes)
        .where(
          and(eq(meetingParticipants.meetingId, this.meeting.id), eq(meetingParticipants.agentId, agentId)),
        ),
    );
    const row = { ...current, ...changes };
    this.participants = this.participants.map((p) => (p.agentId === agentId ? row : p));
    return row;
  }

  async update(changes: Partial<Omit<Meeting, 'id' | 'organizationId'>>) {
    await this.write(this.q.update(meetings).set(changes).where(eq(meetings.id, this.meeting.id)));
    this.meeting = { ...this.meeting, ...changes };
  }

  /** Appends an event with the next seq and pushes it to every present participant with an endpoint. */
  async event(type: MeetingEventType, data: Record<string, unknown>) {
    const seq = this.meeting.lastSeq + 1;
    await this.update({ lastSeq: seq });
    await this.write(this.q.insert(meetingEvents).values({ meetingId: this.meeting.id, seq, type, data }));
    this.appended.push({ type, data });
    const recipients = this.participants
      .filter((p) => p.status !== 'left')
      .map((p) => this.agentsById.get(p.agentId))
      .filter((a): a is Agent => a?.status === 'active');
    await this.enqueue(
      recipients.map((agent) => ({
        agent,
        subject: { type: 'meeting_event' as const, meetingId: this.meeting.id, eventSeq: seq },
      })),
    );
  }

  /** Outbox rows for the agents that have an endpoint, pushed after commit. */
  private async enqueue(items: Parameters<typeof outboxRows>[0]) {
    const rows = outboxRows(items, this.config.MAX_DELIVERY_ATTEMPTS);
    if (rows.length === 0) return;
    await this.write(this.q.insert(deliveries).values(rows));
    this.deliveryIds.push(...rows.map((row) => row.id));
  }

  /** Whether this change timed out the agent's turn (the events it appended, not yet stored). */
  timedOutNow(agentId: string): boolean {
    return this.appended.some((e) => e.type === 'turn_timed_out' && e.data.speakerId === agentId);
  }

  /** A message in the meeting's history, with its message_posted event. */
  async post(input: {
    kind: 'user' | 'system' | 'timeout' | 'ending';
    senderId: string | null;
    content: unknown;
    metadata?: Record<string, unknown>;
  }) {
    const message = newMessage({
      organizationId: this.meeting.organizationId,
      kind: input.kind,
      senderId: input.senderId,
      meetingId: this.meeting.id,
      content: input.content,
      metadata: input.metadata ?? {},
    });
    await this.write(this.q.insert(messages).values({ ...message, content: jsonValue(message.content) }));
    await this.event('message_posted', {
      messageId: message.id,
      kind: message.kind,
      from: message.senderId,
      turnNumber: this.meeting.turnNumber,
    });
    return message;
  }

  /** When the meeting ends by itself (maxDurationMs after its start), or null. */
  endsAt(): Date | null {
    const { startedAt, maxDurationMs } = this.meeting;
    return startedAt && maxDurationMs !== null ? new Date(startedAt.getTime() + maxDurationMs) : null;
  }

  /** A turn's end, never after the meeting's: the meeting's end is then the turn's deadline. */
  private capped(turnEndsAt: Date): Date {
    const endsAt = this.endsAt();
    return endsAt && endsAt < turnEndsAt ? endsAt : turnEndsAt;
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
    const turnEndsAt = this.capped(new Date(startsAt.getTime() + this.meeting.turnDurationMs));
    await this.setParticipant(next.agentId, { status: 'speaking' });
    await this.update({
      turnNumber: this.meeting.turnNumber + 1,
      currentSpeakerId: next.agentId,
      turnEndsAt,
    });
    await this.event('turn_started', {
      turnNumber: this.meeting.turnNumber,
      speakerId: next.agentId,
      // When the turn began: a turn caught up late began when the one before it ended.
      startedAt: startsAt.toISOString(),
      turnEndsAt: turnEndsAt.toISOString(),
    });
    const speaker = this.agentsById.get(next.agentId);
    // A turn caught up after it already ended (a backlog of timeouts) is not worth asking for.
    if (this.meeting.autoRun && speaker?.status === 'active' && turnEndsAt > new Date()) {
      await this.enqueue([
        {
          agent: speaker,
          subject: { type: 'meeting_turn', meetingId: this.meeting.id, turnNumber: this.meeting.turnNumber },
        },
      ]);
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
      const endsAt = this.endsAt();
      if (endsAt && this.meeting.turnEndsAt >= endsAt) {
        // The deadline is the meeting's own: it is over, the current turn with it.
        await this.end({ reason: 'max_duration', endedBy: null });
        applied += 1;
        break;
      }
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
    const othersInRotation = this.participants.some(
      (p) => p.agentId !== this.meeting.hostId && inRotation(p),
    );
    if (this.meeting.status === 'active' && !othersInRotation) {
      // Nobody but the host is left to talk to.
      await this.end({ reason: 'no_participants', endedBy: null });
      return;
    }
    if (wasSpeaking) await this.advanceTurn(new Date());
    if (this.meeting.status === 'ready' && !othersInRotation) await this.update({ status: 'created' });
  }

  /** Ends the meeting: nobody speaks any more, an ending message and meeting_ended are recorded. */
  async end(input: { reason: MeetingEndReason; endedBy: string | null }) {
    const speaking = this.participants.find((p) => p.status === 'speaking');
    if (speaking) await this.setParticipant(speaking.agentId, { status: 'attending' });
    await this.update({
      status: 'ended',
      endedAt: new Date(),
      endReason: input.reason,
      currentSpeakerId: null,
      turnEndsAt: null,
    });
    await this.post({
      kind: 'ending',
      senderId: input.endedBy,
      content: { event: 'meeting_ended', reason: input.reason },
      metadata: input.endedBy ? {} : { onBehalfOf: this.meeting.hostId },
    });
    await this.event('meeting_ended', { reason: input.reason, endedBy: input.endedBy });
  }
}
