import { describe, expect, it } from 'vitest';
import { printReport, runChaos } from '../../bench/chaos';

// The chaos run at 1,000 messages (`npm run chaos` runs 10,000): workers killed twice and
// PostgreSQL once while endpoints fail at random, and afterwards nothing accepted is lost.

describe('chaos', () => {
  it('1,000 messages through two worker restarts and a PostgreSQL SIGKILL: none lost', async () => {
    const report = await runChaos({ messages: 1_000 });
    const holds = printReport(report);
    expect(report.accepted).toBeGreaterThanOrEqual(1_000);
    expect(report.outages).toHaveLength(3);
    expect(report.delivered).toBeGreaterThan(report.accepted * 0.7);
    expect(report.meetingTurns).toBeGreaterThan(10);
    expect({
      lost: report.lost,
      deadTransient: report.deadTransient,
      duplicatesWithNewId: report.duplicatesWithNewId,
      unsettled: report.unsettled,
      meetingsWithGaps: report.meetingsWithGaps,
      rejectedSignatures: report.rejectedSignatures,
    }).toEqual({
      lost: 0,
      deadTransient: 0,
      duplicatesWithNewId: 0,
      unsettled: 0,
      meetingsWithGaps: 0,
      rejectedSignatures: 0,
    });
    expect(holds).toBe(true);
  }, 600_000);
});
