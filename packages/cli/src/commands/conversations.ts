import type { Command } from 'commander';
import { parseContent, wholeNumber } from '../args';
import { connect } from '../config';
import { colors, emit, line, showContent, waitingFor } from '../output';
import { messageTable } from './messages';

export function registerConversations(program: Command) {
  program
    .command('inbox')
    .description('your unacknowledged messages, oldest first (agent token)')
    .option('--wait <ms>', 'wait up to this long (at most 30000) for a message if there is none', wholeNumber)
    .option('--from <agent>', 'only from this agent (an id or ext:<externalId>)')
    .option('--limit <n>', 'at most this many', wholeNumber)
    .option('--ack', 'acknowledge the messages once printed: they leave the inbox')
    .action(
      async (options: { wait?: number; from?: string; limit?: number; ack?: boolean }, command: Command) => {
        const client = await connect();
        const read = client.inbox.read({ from: options.from, limit: options.limit, waitMs: options.wait });
        const messages = options.wait ? await waitingFor('waiting for messages', read) : await read;
        // Printed before acknowledged: should acknowledging fail, the messages are still there.
        emit(command, { messages }, () => messageTable(messages, 'No unacknowledged messages.'));
        if (options.ack) await client.inbox.ack(messages.map((message) => message.id));
      },
    );

  program
    .command('ask')
    .description('send a synchronous request and wait for the reply (agent token)')
    .argument('<to>', 'an agent id or ext:<externalId>')
    .argument('<content>', 'JSON if it parses, else a string')
    .option('--timeout <ms>', 'how long to wait for the reply', wholeNumber, 30_000)
    .action(async (to: string, content: string, options: { timeout: number }, command: Command) => {
      const client = await connect();
      const answered = await waitingFor(
        `waiting for ${to} to reply`,
        client.sync.sendAndWait(to, parseContent(content), { timeoutMs: options.timeout }),
      );
      emit(command, answered, ({ sessionId, reply }) => {
        line(colors.dim(`Reply from ${reply.from} in ${sessionId}:`));
        line(showContent(reply.content));
      });
    });

  program
    .command('reply')
    .description('answer the synchronous request waiting in a session (agent token)')
    .argument('<sessionId>')
    .argument('<content>', 'JSON if it parses, else a string')
    .option('--request <messageId>', 'the request to answer (default: the pending one)')
    .action(async (sessionId: string, content: string, options: { request?: string }, command: Command) => {
      const client = await connect();
      const replied = await client.sync.reply(sessionId, parseContent(content), {
        ...(options.request && { requestId: options.request }),
      });
      emit(command, replied, ({ message, late }) =>
        line(`Replied ${message.id}${late ? ' late: it waits in the sender’s inbox' : ''}.`),
      );
    });
}
