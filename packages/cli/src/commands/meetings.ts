import type { Meeting, MeetingEvent } from '@agent-messaging/sdk';
import type { Command } from 'commander';
import { collectAgentRefs, parseContent, wholeNumber } from '../args';
import { connect } from '../config';
import { colors, emit, fields, line, spinner, table, wantsJson } from '../output';

/** Where a meeting stands, on one line. */
const showState = (meeting: Meeting) =>
  `Meeting ${meeting.id} is ${meeting.status}` +
  (meeting.currentSpeakerId
    ? `, turn ${meeting.turnNumber}: ${meeting.currentSpeakerId} speaks until ${meeting.turnEndsAt}.`
    : '.');

function printMeeting(meeting: Meeting) {
  fields([
    ['id', meeting.id],
    ['title', meeting.title],
    ['status', meeting.status],
    ['host', meeting.hostId],
    ['turn', meeting.turnNumber],
    ['speaker', meeting.currentSpeakerId],
    ['turn ends', meeting.turnEndsAt],
    ['turn ms', meeting.turnDurationMs],
    ['max turns', meeting.maxTurns],
    ['auto-run', meeting.autoRun],
    ['ended', meeting.endReason && `${meeting.endedAt} (${meeting.endReason})`],
  ]);
  line();
  table(
    ['PARTICIPANT', 'STATUS', 'JOIN ORDER'],
    meeting.participants.map((p) => [p.agentId, p.status, p.joinOrder]),
    'No participants.',
  );
}

/** One event on one line: seq, time, type, then its data as key=value. */
const showEvent = (event: MeetingEvent) =>
  [
    String(event.seq).padStart(4),
    colors.dim(event.createdAt),
    colors.cyan(event.type.padEnd(19)),
    Object.entries(event.data)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' '),
  ].join('  ');

export function registerMeetings(program: Command) {
  const meetings = program
    .command('meetings')
    .description('turn-based meetings (agent token; the host runs them)');

  meetings
    .command('create')
    .description('create a meeting that you host; the participants then attend it')
    .argument('<title>')
    .requiredOption(
      '--participants <agents>',
      'agent ids or ext:<externalId>, comma-separated or repeated',
      collectAgentRefs,
    )
    .option('--turn-ms <ms>', 'how long each turn lasts', wholeNumber, 60_000)
    .option('--max-turns <n>', 'end after this many turns', wholeNumber)
    .option('--max-duration-ms <ms>', 'end after this long', wholeNumber)
    .option('--auto-run', 'deliver each turn to the speaker’s endpoint, which answers with its speech')
    .action(
      async (
        title: string,
        options: {
          participants: string[];
          turnMs: number;
          maxTurns?: number;
          maxDurationMs?: number;
          autoRun?: boolean;
        },
        command: Command,
      ) => {
        const client = await connect();
        const meeting = await client.meetings.create({
          title,
          participantIds: options.participants,
          turnDurationMs: options.turnMs,
          ...(options.maxTurns !== undefined && { maxTurns: options.maxTurns }),
          ...(options.maxDurationMs !== undefined && { maxDurationMs: options.maxDurationMs }),
          ...(options.autoRun && { autoRun: true }),
        });
        emit(command, { meeting }, () => printMeeting(meeting));
      },
    );

  meetings
    .command('attend')
    .description('attend a meeting you are invited to')
    .argument('<id>')
    .action(async (id: string, _options: object, command: Command) => {
      const client = await connect();
      const meeting = await client.meetings.attend(id);
      emit(command, { meeting }, () => line(showState(meeting)));
    });

  meetings
    .command('start')
    .description('start it once everyone attends (host), with an opening speech if given')
    .argument('<id>')
    .argument('[content]', 'JSON if it parses, else a string')
    .action(async (id: string, content: string | undefined, _options: object, command: Command) => {
      const client = await connect();
      const started = await client.meetings.start(
        id,
        content === undefined ? undefined : parseContent(content),
      );
      emit(command, started, ({ meeting }) => line(showState(meeting)));
    });

  meetings
    .command('speak')
    .description('speak in your turn; the turn passes to the next participant')
    .argument('<id>')
    .argument('<content>', 'JSON if it parses, else a string')
    .option('--turn <n>', 'refuse (turn_expired) if this turn is already over', wholeNumber)
    .action(async (id: string, content: string, options: { turn?: number }, command: Command) => {
      const client = await connect();
      const spoken = await client.meetings.speak(id, parseContent(content), {
        ...(options.turn !== undefined && { turnNumber: options.turn }),
      });
      emit(command, spoken, ({ meeting, message }) => line(`Said ${message?.id}. ${showState(meeting)}`));
    });

  meetings
    .command('end')
    .description('end the meeting (host)')
    .argument('<id>')
    .action(async (id: string, _options: object, command: Command) => {
      const client = await connect();
      const meeting = await client.meetings.end(id);
      emit(command, { meeting }, () => line(showState(meeting)));
    });

  meetings
    .command('status')
    .description('the meeting, its turn and its participants')
    .argument('<id>')
    .action(async (id: string, _options: object, command: Command) => {
      const client = await connect();
      const meeting = await client.meetings.status(id);
      emit(command, { meeting }, () => printMeeting(meeting));
    });

  meetings
    .command('tail')
    .description('print the meeting’s events as they happen, until it ends or Ctrl-C (--json: one per line)')
    .argument('<id>')
    .option('--after <seq>', 'only the events after this one', wholeNumber)
    .action(async (id: string, options: { after?: number }, command: Command) => {
      const client = await connect();
      const json = wantsJson(command);
      // Ctrl-C (or a kill) stops following, which is how tail is meant to end: exit 0.
      const stop = new AbortController();
      const abort = () => stop.abort();
      process.once('SIGINT', abort).once('SIGTERM', abort);
      const progress = spinner(`following ${id} (Ctrl-C to stop)`);
      try {
        for await (const event of client.meetings.events(id, { ...options, signal: stop.signal })) {
          progress.clear();
          line(json ? JSON.stringify(event) : showEvent(event));
        }
      } finally {
        progress.stop();
        process.off('SIGINT', abort).off('SIGTERM', abort);
      }
    });
}
