import { path, type Request } from '../transport';
import type { Delivery, DeliveryAttempt, Message, Metadata } from '../types';

export interface SendOptions {
  metadata?: Metadata;
  /** Same key and body: the first response again, no second message. */
  idempotencyKey?: string;
}

/** One-way messages (agent token to send; sender, recipient or organization key to read). */
export const messagesApi = (request: Request) => {
  function send(to: string, content: unknown, options?: SendOptions): Promise<Message>;
  function send(to: string[], content: unknown, options?: SendOptions): Promise<Message[]>;
  async function send(to: string | string[], content: unknown, options: SendOptions = {}) {
    const body = await request<{ message?: Message; messages?: Message[] }>('POST', '/v1/messages', {
      body: { to, content, ...(options.metadata && { metadata: options.metadata }) },
      idempotencyKey: options.idempotencyKey,
    });
    return Array.isArray(to) ? body.messages : body.message;
  }
  return {
    send,
    get: (id: string) =>
      request<{ message: Message; delivery: Delivery | null; attempts: DeliveryAttempt[] }>(
        'GET',
        path`/v1/messages/${id}`,
      ),
    /** Organization key: re-drives a dead delivery. */
    redeliver: async (id: string) =>
      (await request<{ message: Message }>('POST', path`/v1/messages/${id}/redeliver`)).message,
  };
};
