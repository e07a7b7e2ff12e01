import { path, type Request } from '../transport';
import type { Message, Metadata, Session } from '../types';

/** The longest one long-poll of the inbox may wait (the API's limit). */
const MAX_WAIT_MS = 30_000;

/** Synchronous request/reply (agent token). */
export const syncApi = (request: Request) => ({
  /**
   * Sends and waits for the reply. Throws TimeoutError (a later reply lands in the inbox),
   * AgentBusyError (already waiting elsewhere), SessionEndedError (ended while waiting).
   */
  sendAndWait: (
    to: string,
    content: unknown,
    options: { timeoutMs?: number; metadata?: Metadata; idempotencyKey?: string } = {},
  ) => {
    const timeoutMs = options.timeoutMs ?? 30_000;
    return request<{ sessionId: string; reply: Message }>('POST', '/v1/conversations/sync', {
      body: { to, content, timeoutMs, ...(options.metadata && { metadata: options.metadata }) },
      idempotencyKey: options.idempotencyKey,
      extraTimeoutMs: timeoutMs,
    });
  },
  /**
   * Answers a request addressed to you in this session: `requestId` (the request message's id), or
   * by default the pending one. A late reply is kept in the sender's inbox (`late: true`).
   */
  reply: (sessionId: string, content: unknown, options: { requestId?: string; metadata?: Metadata } = {}) =>
    request<{ message: Message; late: boolean }>('POST', path`/v1/sessions/${sessionId}/reply`, {
      body: { content, ...options },
    }),
  end: (sessionId: string) =>
    request<{ session: Session; message: Message }>('POST', path`/v1/sessions/${sessionId}/end`),
});

/** The inbox: messages stay until acknowledged; reading is not acknowledging. */
export const inboxApi = (request: Request) => ({
  read: async (query: { from?: string; limit?: number; waitMs?: number } = {}) =>
    (
      await request<{ messages: Message[] }>('GET', '/v1/inbox', {
        query,
        extraTimeoutMs: query.waitMs ?? 0,
      })
    ).messages,
  ack: async (messageIds: string[]) =>
    messageIds.length === 0
      ? []
      : (await request<{ acknowledged: string[] }>('POST', '/v1/inbox/ack', { body: { messageIds } }))
          .acknowledged,
  /** Acknowledges every unacknowledged message from `from` (an id or `ext:` ref); how many. */
  ackFrom: async (from: string) =>
    (await request<{ count: number }>('POST', '/v1/inbox/ack', { body: { from } })).count,
});

/** Asynchronous conversations (agent token). */
export const asyncApi = (request: Request, inbox: ReturnType<typeof inboxApi>) => ({
  send: (to: string, content: unknown, options: { metadata?: Metadata; idempotencyKey?: string } = {}) =>
    request<{ message: Message; sessionId: string }>('POST', '/v1/conversations/async', {
      body: { to, content, ...(options.metadata && { metadata: options.metadata }) },
      idempotencyKey: options.idempotencyKey,
    }),
  /**
   * The Python SDK's convenience: unread messages, acknowledged as they are returned (`ack: false`
   * leaves them in the inbox). Acknowledging before processing loses them if you crash: for
   * at-least-once processing use `inbox.read` then `inbox.ack`, or `resumeAgentHandler`.
   */
  getUnreadMessages: async (options: { from?: string; limit?: number; ack?: boolean } = {}) => {
    const messages = await inbox.read({
      ...(options.from && { from: options.from }),
      ...(options.limit && { limit: options.limit }),
    });
    if (options.ack !== false) await inbox.ack(messages.map((m) => m.id));
    return messages;
  },
  /** Everything between you and one agent, oldest first (all pages). */
  getMessagesFromAgent: async (agentId: string) => {
    const pages: Message[][] = [];
    let before: string | undefined;
    do {
      const page = await request<{ messages: Message[]; nextCursor: string | null }>(
        'GET',
        path`/v1/conversations/${agentId}/messages`,
        { query: { limit: 200, before } },
      );
      pages.unshift(page.messages);
      before = page.nextCursor ?? undefined;
    } while (before);
    return pages.flat();
  },
  /** The next unacknowledged message (from one agent, if given), or null after timeoutMs. */
  waitForMessage: async (options: { from?: string; timeoutMs?: number; ack?: boolean } = {}) => {
    const deadline = Date.now() + (options.timeoutMs ?? MAX_WAIT_MS);
    for (;;) {
      const waitMs = Math.max(0, Math.min(MAX_WAIT_MS, deadline - Date.now()));
      const [message] = await inbox.read({ ...(options.from && { from: options.from }), limit: 1, waitMs });
      if (message) {
        if (options.ack !== false) await inbox.ack([message.id]);
        return message;
      }
      if (Date.now() >= deadline) return null;
    }
  },
});
