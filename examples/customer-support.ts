import { runIfMain, type Target, workspace } from './lib';

// Customer support: the front agent asks a billing specialist synchronously (its function answers
// inline), escalates the refund asynchronously to a supervisor who works from its inbox, waits for
// the decision, then ends the session with the specialist.

export async function customerSupport(target: Target) {
  const ws = await workspace(target, 'Support');
  try {
    const front = await ws.agent('front-desk');
    const specialist = await ws.agent('billing-specialist', () => ({
      onSyncRequest: (message) => {
        const { invoice } = message.content as { invoice: string };
        return { invoice, status: 'charged twice', refundable: true };
      },
    }));
    const supervisor = await ws.agent('supervisor'); // no endpoint: it pulls its inbox

    const customer = { name: 'Ada', invoice: 'INV-1042' };
    const diagnosis = await front.client.sync.sendAndWait(
      specialist.id,
      { invoice: customer.invoice },
      { timeoutMs: 10_000 },
    );

    const escalation = await front.client.async.send(supervisor.id, {
      request: 'approve refund',
      customer: customer.name,
      diagnosis: diagnosis.reply.content,
    });

    // The supervisor's side: read, decide, reply, acknowledge only once handled.
    const [pending] = await supervisor.client.inbox.read({ from: front.id });
    if (!pending) throw new Error('the escalation did not arrive');
    await supervisor.client.async.send(front.id, {
      decision: 'approved',
      for: (pending.content as { customer: string }).customer,
    });
    await supervisor.client.inbox.ack([pending.id]);

    const decision = await front.client.async.waitForMessage({ from: supervisor.id, timeoutMs: 10_000 });
    const ended = await front.client.sync.end(diagnosis.sessionId);
    return {
      diagnosis: diagnosis.reply.content,
      escalationSession: escalation.sessionId,
      decision: decision?.content,
      specialistSession: ended.session.status,
    };
  } finally {
    ws.close();
  }
}

runIfMain(import.meta.url, customerSupport);
