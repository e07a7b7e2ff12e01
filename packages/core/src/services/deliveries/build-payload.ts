import { desc, eq } from 'drizzle-orm';
import type { Queryable } from '../../db';
import { meetingParticipants, meetings, messages } from '../../schema';
import { eventView, meetingView, messageView } from '../../views';
import type { Target } from './target';

/** Recent messages handed to an autoRun speaker with its turn, as context. */
const TURN_HISTORY = 20;

/**
 * The JSON body pushed for a delivery; null when what it was for is over (a meeting turn that
 * passed). Messages and events came with the claim; only a meeting turn reads more.
 */
export async function buildPayload(q: Queryable, { delivery, agent, message, event }: Target) {
  const base = { type: delivery.type, deliveryId: delivery.id, agentId: agent.id };
  switch (delivery.type) {
    case 'message':
    case 'sync_request':
      if (!message) throw new Error(`${delivery.type} delivery ${delivery.id} has no message`);
      return { ...base, message: messageView(message, delivery.status) };
    case 'meeting_event':
      if (!event) throw new Error(`meeting_event delivery ${delivery.id} has no event`);
      return { ...base, meetingId: delivery.meetingId, event: eventView(event) };
    case 'meeting_turn': {
      const [meeting] = await q
        .select()
        .from(meetings)
        .where(eq(meetings.id, delivery.meetingId as string));
      if (meeting?.status !== 'active' || meeting.turnNumber !== delivery.turnNumber) return null;
      const [participants, history] = await Promise.all([
        q.select().from(meetingParticipants).where(eq(meetingParticipants.meetingId, meeting.id)),
        q
          .select()
          .from(messages)
          .where(eq(messages.meetingId, meeting.id))
          .orderBy(desc(messages.id))
          .limit(TURN_HISTORY),
      ]);
      return {
        ...base,
        meeting: meetingView(meeting, participants),
        history: history.reverse().map((row) => messageView(row, null)),
      };
    }
  }
}
