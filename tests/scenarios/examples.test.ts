import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brainstorm } from '../../examples/brainstorm';
import { customerSupport } from '../../examples/customer-support';
import { interview } from '../../examples/interview';
import { notifications } from '../../examples/notifications';
import { taskPipeline } from '../../examples/task-pipeline';
import { ADMIN_TOKEN, startTestStack, type TestStack } from '../helpers/stack';

// The examples of README, run as scenarios against the real stack, with the sweeper firing on an
// interval as `npm start` does.

let stack: TestStack;
let sweeping: ReturnType<typeof setInterval>;

beforeAll(async () => {
  stack = await startTestStack();
  sweeping = setInterval(() => void stack.sweep().catch(() => {}), 500);
});
afterAll(async () => {
  clearInterval(sweeping);
  await stack?.stop();
});

const target = () => ({ baseUrl: stack.apiUrl, adminToken: ADMIN_TOKEN });

describe('scenarios', () => {
  it('interview: three sync questions answered inline, then the session ends', async () => {
    const result = await interview(target());
    expect(result.transcript.map((t) => t.answer)).toEqual([
      'Messaging for AI agents, on serverless Postgres.',
      'Against real PostgreSQL, real workers and real HTTP agents.',
      'Good question. Let me think about it.',
    ]);
    const { rows } = await stack.sql.query('SELECT status FROM sessions WHERE id = $1', [result.sessionId]);
    expect(rows[0].status).toBe('ended');
  });

  it('customer support: sync diagnosis, async escalation, decision, session ended', async () => {
    const result = await customerSupport(target());
    expect(result).toMatchObject({
      diagnosis: { invoice: 'INV-1042', refundable: true },
      decision: { decision: 'approved', for: 'Ada' },
      specialistSession: 'ended',
    });
    // The escalation went through the pair's session and both sides' inboxes are drained.
    const { rows } = await stack.sql.query(
      'SELECT count(*)::int AS n FROM messages WHERE session_id = $1 AND acknowledged_at IS NULL',
      [result.escalationSession],
    );
    expect(rows[0].n).toBe(0);
  });

  it('brainstorming: an autoRun meeting of three agent functions runs to maxTurns by itself', async () => {
    const result = await brainstorm(target(), { maxTurns: 6 });
    const { facilitator, ada, grace } = result.speakers;
    // The opening speech, then six turns in join order: ada, grace, facilitator, twice.
    expect(result.speeches.map((s) => s.from)).toEqual([
      facilitator,
      ada,
      grace,
      facilitator,
      ada,
      grace,
      facilitator,
    ]);
    expect(result.speeches[1]?.content).toBe('ada: idea #2, building on what 1 speeches said');
    expect(result.ending).toEqual({ event: 'meeting_ended', reason: 'max_turns' });
  });

  it('task pipeline: one-way hand-offs planner -> worker -> reviewer', async () => {
    const result = await taskPipeline(target());
    expect(result.result).toEqual({
      approved: true,
      review: { done: ['fetch data: done', 'clean it: done', 'report: done'] },
    });
  });

  it('notifications: one fan-out, two pushed and two pulled from the inbox, all acknowledged', async () => {
    const notice = { text: 'Maintenance at 02:00 UTC', severity: 'info' };
    const result = await notifications(target());
    expect(result).toEqual({
      sent: 4,
      pushedTo: { pager: notice, mailer: notice },
      pulledBy: { auditor: [notice], archiver: [notice] },
      acknowledged: 4,
      unacknowledged: 0,
    });
  });
});
