import type { Meeting, MeetingEvent, Message } from '@agent-messaging/sdk';
import { badge, h, preview, table, time } from '../dom';
import { followEvents } from '../events';
import { nameOf, type Session } from '../state';

/** The organization's meetings, newest first, each with a link to watch it live. */
export async function meetingsView(session: Session): Promise<HTMLElement> {
  const { meetings } = await session.client.meetings.list({ limit: 100 });
  return table(
    'Meetings',
    ['Title', 'Status', 'Host', 'Turn', 'Participants', ''],
    meetings.map((meeting) => [
      meeting.title,
      badge(meeting.status),
      nameOf(session, meeting.hostId),
      meeting.turnNumber,
      meeting.participants.length,
      h(
        'a',
        { href: `#meeting/${meeting.id}` },
        'Watch',
        h('span', { class: 'visually-hidden' }, ` ${meeting.title}`),
      ),
    ]),
    'No meetings yet.',
  );
}

const secondsLeft = (until: string | null): string => {
  if (!until) return '—';
  const seconds = Math.max(0, Math.ceil((Date.parse(until) - Date.now()) / 1000));
  return `${seconds} s`;
};

/**
 * One meeting, live: its participants and current speaker, a countdown to the end of the turn,
 * the transcript and the events as they arrive (Server-Sent Events), without reloading.
 */
export async function meetingView(session: Session, id: string, signal: AbortSignal): Promise<HTMLElement> {
  let meeting: Meeting = await session.client.meetings.status(id);
  const transcript: Message[] = await session.client.meetings.history(id);

  const status = h('p', { id: 'meeting-status' });
  const speaker = h('p', { id: 'current-speaker' });
  const countdown = h('p', { id: 'countdown' });
  const participants = h('ol', { class: 'participants', 'aria-label': 'Participants in turn order' });
  const lines = h('ol', { class: 'transcript', 'aria-label': 'Transcript' });
  const events = h('ol', { class: 'events', 'aria-live': 'polite', 'aria-label': 'Events as they happen' });

  const render = () => {
    status.replaceChildren('Status: ', badge(meeting.status), ` · turn ${meeting.turnNumber}`);
    speaker.replaceChildren(
      'Current speaker: ',
      h('strong', {}, meeting.currentSpeakerId ? nameOf(session, meeting.currentSpeakerId) : 'nobody'),
    );
    participants.replaceChildren(
      ...meeting.participants.map((p) =>
        h(
          'li',
          { 'aria-current': p.status === 'speaking' ? 'true' : undefined },
          nameOf(session, p.agentId),
          ' ',
          badge(p.status),
        ),
      ),
    );
    lines.replaceChildren(
      ...transcript.map((m) =>
        h(
          'li',
          { class: m.kind },
          h('strong', {}, m.kind === 'user' ? nameOf(session, m.from) : m.kind),
          ': ',
          preview(m.content, 500),
        ),
      ),
    );
  };
  const tick = () => {
    countdown.replaceChildren(
      'Turn ends in ',
      h('time', { datetime: meeting.turnEndsAt ?? '' }, secondsLeft(meeting.turnEndsAt)),
    );
  };
  render();
  tick();
  const timer = setInterval(tick, 250);
  signal.addEventListener('abort', () => clearInterval(timer));

  // Each event: shown, then the meeting and any new messages read again.
  const refresh = async () => {
    meeting = await session.client.meetings.status(id);
    transcript.push(...(await session.client.meetings.history(id, { after: transcript.at(-1)?.id })));
    render();
    tick();
  };
  // Events that come together (the history on opening, a timeout and the next turn) share a read.
  let pending = Promise.resolve();
  let queued = false;
  const onEvent = (event: MeetingEvent) => {
    events.prepend(h('li', {}, time(event.createdAt), ` #${event.seq} ${event.type.replaceAll('_', ' ')}`));
    if (queued) return;
    queued = true;
    pending = pending.then(() => {
      queued = false;
      return refresh();
    });
  };
  void followEvents(id, session.token, 0, onEvent, signal).catch((error: Error) => {
    events.prepend(h('li', { role: 'alert' }, `Lost the event stream: ${error.message}`));
  });

  return h(
    'section',
    { 'aria-labelledby': 'meeting-title' },
    h('h2', { id: 'meeting-title' }, meeting.title),
    status,
    speaker,
    countdown,
    h(
      'div',
      { class: 'columns' },
      h('section', { 'aria-label': 'Participants' }, h('h3', {}, 'Participants'), participants),
      h('section', { 'aria-label': 'Transcript' }, h('h3', {}, 'Transcript'), lines),
      h('section', { 'aria-label': 'Events' }, h('h3', {}, 'Events'), events),
    ),
    h('p', {}, h('a', { href: '#meetings' }, 'All meetings')),
  );
}
