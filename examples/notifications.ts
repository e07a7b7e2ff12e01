import type { Message } from '@agent-messaging/sdk';
import { runIfMain, type Target, workspace } from './lib';

// Notifications: an announcer fans one message out to four agents in one call. Two have
// endpoints, and the message is pushed to their functions (a 2xx answer acknowledges it); two have
// none, and pull it from their inbox, then acknowledge it. The announcer watches the
// acknowledgements come in through its sent messages.

export async function notifications(target: Target) {
  const ws = await workspace(target, 'Notifications');
  try {
    const pushedTo: Record<string, unknown> = {};
    let allPushed: () => void = () => {};
    const pushed = new Promise<void>((resolve) => {
      allPushed = resolve;
    });
    const pushedAgent = (name: string) =>
      ws.agent(name, () => ({
        onMessage: (message: Message) => {
          pushedTo[name] = message.content;
          if (Object.keys(pushedTo).length === 2) allPushed();
        },
      }));
    const [pager, mailer] = await Promise.all([pushedAgent('pager'), pushedAgent('mailer')]);
    const [auditor, archiver] = await Promise.all([ws.agent('auditor'), ws.agent('archiver')]);
    const announcer = await ws.agent('announcer');

    const notice = { text: 'Maintenance at 02:00 UTC', severity: 'info' };
    const sent = await announcer.client.messages.send(
      [pager.id, mailer.id, auditor.id, archiver.id],
      notice,
      { metadata: { topic: 'maintenance' } },
    );

    // The pullers read their inbox (waiting if need be), then acknowledge what they read.
    const pulledBy: Record<string, unknown> = {};
    for (const [name, puller] of [
      ['auditor', auditor],
      ['archiver', archiver],
    ] as const) {
      const unread = await puller.client.inbox.read({ waitMs: 10_000 });
      pulledBy[name] = unread.map((message) => message.content);
      await puller.client.inbox.ack(unread.map((message) => message.id));
    }
    await Promise.race([
      pushed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no push within 20 s')), 20_000)),
    ]);

    // Acknowledgements as the announcer sees them: a pushed message counts once its function
    // answered, a pulled one once it was acknowledged.
    const filters = { direction: 'sent', metadata: { topic: 'maintenance' } } as const;
    let acknowledged = 0;
    for (let tries = 0; tries < 100; tries++) {
      acknowledged = await announcer.client.messages.count({ ...filters, acknowledged: true });
      if (acknowledged === sent.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const unacknowledged = await announcer.client.messages.count({ ...filters, acknowledged: false });
    return { sent: sent.length, pushedTo, pulledBy, acknowledged, unacknowledged };
  } finally {
    ws.close();
  }
}

runIfMain(import.meta.url, notifications);
