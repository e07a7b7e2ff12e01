import type { Message } from '@agent-messaging/sdk';
import { runIfMain, type Target, workspace } from './lib';

// A brainstorming meeting of three serverless agents with autoRun: each turn is pushed to the
// speaker's function, whose answer is its speech. The meeting runs to maxTurns on its own; the
// host only watches its events here to know when it is over.

const ideaFrom = (name: string) => (history: Message[]) => {
  const heard = history.filter((m) => m.kind === 'user').length;
  return `${name}: idea #${heard + 1}, building on what ${heard} speeches said`;
};

export async function brainstorm(target: Target, options: { maxTurns?: number } = {}) {
  const ws = await workspace(target, 'Brainstorm');
  try {
    const speaker = (name: string) => () => ({
      onMeetingTurn: ({ history }: { history: Message[] }) => ideaFrom(name)(history),
    });
    const host = await ws.agent('facilitator', speaker('facilitator'));
    const ada = await ws.agent('ada', speaker('ada'));
    const grace = await ws.agent('grace', speaker('grace'));

    const meeting = await host.client.meetings.create({
      title: 'Names for the product',
      participantIds: [ada.id, grace.id],
      turnDurationMs: 10_000,
      maxTurns: options.maxTurns ?? 6,
      autoRun: true,
    });
    await ada.client.meetings.attend(meeting.id);
    await grace.client.meetings.attend(meeting.id);
    await host.client.meetings.start(meeting.id, 'Ideas, please: one each turn.');

    // Watch it happen; the iterator ends with meeting_ended.
    const seen: string[] = [];
    for await (const event of host.client.meetings.events(meeting.id)) seen.push(event.type);
    const history = await host.client.meetings.history(meeting.id);
    return {
      meetingId: meeting.id,
      events: seen.length,
      speeches: history.filter((m) => m.kind === 'user').map((m) => ({ from: m.from, content: m.content })),
      ending: history.at(-1)?.content,
      speakers: { facilitator: host.id, ada: ada.id, grace: grace.id },
    };
  } finally {
    ws.close();
  }
}

runIfMain(import.meta.url, brainstorm);
