import type { Message } from '@agent-messaging/sdk';
import type { Command } from 'commander';
import { agentRefs, parseContent, wholeNumber } from '../args';
import { connect } from '../config';
import { colors, emit, fields, line, showContent, table } from '../output';

/** Messages as a table: what a listing of them prints. */
export const messageTable = (messages: Message[], empty: string) =>
  table(
    ['ID', 'FROM', 'TO', 'SESSION', 'SENT', 'CONTENT'],
    messages.map((m) => [m.id, m.from, m.to, m.sessionId, m.createdAt, showContent(m.content)]),
    empty,
  );

export function registerMessages(program: Command) {
  program
    .command('send')
    .description('send a one-way message; several recipients get one each')
    .usage('[options] <to...> <content>')
    .argument(
      '<to...>',
      'recipients (agent ids or ext:<externalId>, repeated or comma-separated), then the content: JSON if it parses, else a string',
    )
    .action(async (words: string[], _options: object, command: Command) => {
      // Commander takes only a last argument as variadic: the content is the last word.
      const content = words.at(-1);
      const to = agentRefs(words.slice(0, -1));
      if (content === undefined || to.length === 0) {
        command.error('error: send needs recipients, then the content', {
          code: 'commander.missingArgument',
        });
      }
      const client = await connect();
      if (to.length === 1) {
        const message = await client.messages.send(to[0] as string, parseContent(content));
        emit(command, { message }, () => line(`Sent ${message.id} to ${message.to} (${message.status}).`));
      } else {
        const messages = await client.messages.send(to, parseContent(content));
        emit(command, { messages }, () => messageTable(messages, 'Sent nothing.'));
      }
    });

  const messages = program.command('messages').description('one message: its delivery, and re-driving it');

  messages
    .command('get')
    .description('a message with its delivery status and every delivery attempt')
    .argument('<id>')
    .action(async (id: string, _options: object, command: Command) => {
      const client = await connect();
      emit(command, await client.messages.get(id), ({ message, delivery, attempts }) => {
        fields([
          ['id', message.id],
          ['kind', message.kind],
          ['from', message.from],
          ['to', message.to],
          ['session', message.sessionId],
          ['meeting', message.meetingId],
          ['sent', message.createdAt],
          ['status', message.status],
          ['acknowledged', message.acknowledgedAt],
          ['content', showContent(message.content)],
          ['last error', delivery?.lastError],
          ['next attempt', delivery?.nextAttemptAt],
        ]);
        if (attempts.length === 0) return;
        line();
        table(
          ['ATTEMPT', 'AT', 'MS', 'STATUS', 'ERROR'],
          attempts.map((a) => [a.attempt, a.at, a.durationMs, a.responseStatus, a.error]),
          '',
        );
      });
    });

  messages
    .command('redeliver')
    .description('deliver a dead message again (organization key); conflict if it is not dead')
    .argument('<id>')
    .action(async (id: string, _options: object, command: Command) => {
      const client = await connect();
      const message = await client.messages.redeliver(id);
      emit(command, { message }, () => line(`Redelivering ${message.id} (${message.status}).`));
    });

  program
    .command('dead-letters')
    .description('messages whose delivery gave up (dead), newest first; redeliver them by id')
    .option('--agent <id>', 'organization key: only this agent’s')
    .option('--limit <n>', 'at most this many', wholeNumber, 50)
    .action(async (options: { agent?: string; limit: number }, command: Command) => {
      const client = await connect();
      const { messages: dead } = await client.messages.list({
        status: 'dead',
        ...(options.agent && { agentId: options.agent }),
        limit: options.limit,
      });
      emit(command, { messages: dead }, () => {
        messageTable(dead, 'No dead messages.');
        if (dead.length > 0) line(colors.dim('Redeliver one: agent-messaging messages redeliver <id>'));
      });
    });
}
