import type { AgentMessaging } from './client';
import type { Message } from './types';

export interface ResumeOptions {
  onMessage?: (message: Message) => unknown;
  /** What this returns is sent as the reply (possibly late: the sender gets it in its inbox). */
  onSyncRequest?: (message: Message) => unknown;
  /** Messages read per page. */
  batchSize?: number;
}

/**
 * For an agent that was down: drains its inbox through the handlers, oldest first, and
 * acknowledges each message only after its handler returned (and its reply was sent), so a crash
 * part-way loses nothing. A handler that throws stops the drain with that message unacknowledged.
 * Returns how many messages were handled.
 */
export async function resumeAgentHandler(client: AgentMessaging, options: ResumeOptions): Promise<number> {
  let handled = 0;
  for (;;) {
    const messages = await client.inbox.read({ limit: options.batchSize ?? 50 });
    if (messages.length === 0) return handled;
    for (const message of messages) {
      if (message.replyDeadline && message.sessionId && options.onSyncRequest) {
        const reply = await options.onSyncRequest(message);
        if (reply !== undefined) {
          await client.sync.reply(message.sessionId, reply, { requestId: message.id }).catch(ignoreAnswered);
        }
      } else {
        await options.onMessage?.(message);
      }
      await client.inbox.ack([message.id]);
      handled += 1;
    }
  }
}

/** A request that was answered meanwhile needs no reply any more. */
function ignoreAnswered(error: unknown) {
  if ((error as { code?: string }).code !== 'already_replied') throw error;
}
