import type { Message } from '@agent-messaging/sdk';
import { badge, h, preview, table, time } from '../dom';
import { nameOf, type Session } from '../state';

/** A message's delivery attempts, read when asked for. */
async function attemptsOf(session: Session, id: string): Promise<HTMLElement> {
  const { delivery, attempts } = await session.client.messages.get(id);
  if (!delivery) return h('p', {}, 'Kept in the inbox: its agent has no endpoint.');
  return h(
    'ol',
    { class: 'attempts' },
    ...attempts.map((attempt) =>
      h(
        'li',
        {},
        time(attempt.at),
        ` ${attempt.responseStatus ? `HTTP ${attempt.responseStatus}` : 'no answer'}`,
        ` in ${attempt.durationMs} ms`,
        attempt.error ? ` (${attempt.error})` : '',
      ),
    ),
    attempts.length === 0 ? h('li', {}, 'No attempt yet.') : null,
  );
}

/** A button that shows a message's attempts under it. */
function detailsButton(session: Session, message: Message): HTMLElement {
  const holder = h('div', { class: 'details', id: `attempts-${message.id}` });
  const button = h(
    'button',
    {
      type: 'button',
      'aria-expanded': 'false',
      'aria-controls': holder.id,
      onclick: async () => {
        const open = button.getAttribute('aria-expanded') === 'true';
        button.setAttribute('aria-expanded', String(!open));
        holder.replaceChildren(open ? '' : await attemptsOf(session, message.id));
      },
    },
    'Attempts',
  );
  return h('div', {}, button, holder);
}

/** The organization's latest messages with their delivery status; each one's attempts on demand. */
export async function messagesView(session: Session): Promise<HTMLElement> {
  const { messages } = await session.client.messages.list({ limit: 50 });
  return table(
    'Latest messages',
    ['Sent', 'From', 'To', 'Kind', 'Status', 'Content', ''],
    messages.map((message) => [
      time(message.createdAt),
      nameOf(session, message.from),
      message.meetingId ? 'meeting' : nameOf(session, message.to),
      message.kind,
      badge(message.status),
      preview(message.content),
      detailsButton(session, message),
    ]),
    'No messages yet.',
  );
}

/** Waits for a redelivered message's delivery to settle (delivered, or failed or dead again). */
async function settled(session: Session, id: string): Promise<Message['status']> {
  for (let tries = 0; tries < 120; tries++) {
    const { message } = await session.client.messages.get(id);
    if (message.status !== 'queued') return message.status;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return 'queued';
}

/** Messages whose delivery gave up, each with a button that delivers it again. */
export async function deadLettersView(
  session: Session,
  announce: (text: string) => void,
): Promise<HTMLElement> {
  const { messages } = await session.client.messages.list({ status: 'dead', limit: 100 });
  return table(
    'Dead letters',
    ['Sent', 'From', 'To', 'Status', 'Content', ''],
    messages.map((message) => {
      const status = h('span', { id: `status-${message.id}` }, badge(message.status));
      const button = h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            button.setAttribute('disabled', '');
            try {
              await session.client.messages.redeliver(message.id);
              status.replaceChildren(badge('queued'));
              const outcome = await settled(session, message.id);
              status.replaceChildren(badge(outcome));
              announce(`Message to ${nameOf(session, message.to)}: ${outcome}.`);
            } catch (error) {
              announce((error as Error).message);
            } finally {
              button.removeAttribute('disabled');
            }
          },
        },
        'Redeliver',
      );
      return [
        time(message.createdAt),
        nameOf(session, message.from),
        nameOf(session, message.to),
        status,
        preview(message.content),
        button,
      ];
    }),
    'No dead letters.',
  );
}
