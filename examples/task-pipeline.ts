import { runIfMain, type Target, workspace } from './lib';

// A task pipeline of one-way hand-offs: the planner splits a task and sends it to the worker,
// the worker's function does it and hands the result to the reviewer, the reviewer's function
// approves it. Each hop is a signed push to the next agent's own endpoint.

export async function taskPipeline(target: Target) {
  const ws = await workspace(target, 'Pipeline');
  try {
    let resolveReviewed: (value: unknown) => void = () => {};
    const reviewed = new Promise((resolve) => {
      resolveReviewed = resolve;
    });
    const reviewer = await ws.agent('reviewer', () => ({
      onMessage: (message) => resolveReviewed({ approved: true, review: message.content }),
    }));
    const worker = await ws.agent('worker', (self) => ({
      onMessage: async (message) => {
        const { steps } = message.content as { steps: string[] };
        await self.client.messages.send(reviewer.id, { done: steps.map((step) => `${step}: done`) });
      },
    }));
    const planner = await ws.agent('planner');

    const sent = await planner.client.messages.send(worker.id, {
      steps: ['fetch data', 'clean it', 'report'],
    });
    const result = await Promise.race([
      reviewed,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the pipeline did not finish in 20 s')), 20_000),
      ),
    ]);
    return { firstMessage: sent.id, result };
  } finally {
    ws.close();
  }
}

runIfMain(import.meta.url, taskPipeline);
