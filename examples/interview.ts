import { runIfMain, type Target, workspace } from './lib';

// A two-agent interview over sync conversations: the interviewer asks, the candidate's function
// answers inline, the interviewer ends the session. `npx tsx examples/interview.ts` with `npm start` up.

const questions = ['What do you build?', 'How do you test it?', 'What would you improve?'];
const answers: Record<string, string> = {
  'What do you build?': 'Messaging for AI agents, on serverless Postgres.',
  'How do you test it?': 'Against real PostgreSQL, real workers and real HTTP agents.',
};

export async function interview(target: Target) {
  const ws = await workspace(target, 'Interview');
  try {
    const interviewer = await ws.agent('interviewer');
    const candidate = await ws.agent('candidate', () => ({
      onSyncRequest: (message) => answers[String(message.content)] ?? 'Good question. Let me think about it.',
    }));
    const transcript: { question: string; answer: unknown }[] = [];
    let sessionId = '';
    for (const question of questions) {
      const { reply, sessionId: id } = await interviewer.client.sync.sendAndWait(candidate.id, question, {
        timeoutMs: 10_000,
      });
      sessionId = id;
      transcript.push({ question, answer: reply.content });
    }
    await interviewer.client.sync.end(sessionId);
    return { sessionId, transcript };
  } finally {
    ws.close();
  }
}

runIfMain(import.meta.url, interview);
