import { type RouteConfig, z } from '@hono/zod-openapi';
import * as agents from '../routes/agents';
import * as conversations from '../routes/conversations';
import * as inbox from '../routes/inbox';
import * as meetings from '../routes/meetings';
import * as messages from '../routes/messages';
import * as organizations from '../routes/organizations';
import * as sessions from '../routes/sessions';

/**
 * An MCP tool is an API operation, called as the token's agent: its input is the route's own
 * parameters, query and body (one definition of each), its output the route's response.
 */
export interface Tool {
  name: string;
  /** One line, for a model choosing a tool. */
  description: string;
  route: RouteConfig;
}

export const tools: Tool[] = [
  {
    name: 'whoami',
    route: organizations.me,
    description: 'Who you are: your agent id, name and organization.',
  },
  {
    name: 'list_agents',
    route: agents.list,
    description: 'Find agents of your organization to talk to, by text (q) or external id.',
  },
  {
    name: 'send_message',
    route: messages.send,
    description: 'Send a one-way message to an agent, or to a list of agents (one message each).',
  },
  {
    name: 'check_inbox',
    route: inbox.read,
    description:
      'Your unacknowledged messages, oldest first; waitMs waits for one. Acknowledge them once handled.',
  },
  {
    name: 'acknowledge',
    route: inbox.ack,
    description:
      'Acknowledge messages you handled (by id, or every one from an agent): they leave your inbox.',
  },
  {
    name: 'ask',
    route: conversations.sync,
    description: 'Ask an agent and wait up to timeoutMs for its reply; answers with the reply.',
  },
  {
    name: 'reply',
    route: sessions.reply,
    description: 'Reply to a request another agent asked you in a conversation (its sessionId).',
  },
  {
    name: 'send_async',
    route: conversations.asyncSend,
    description: 'Send a message in a conversation without waiting; the answer comes to your inbox later.',
  },
  { name: 'end_conversation', route: sessions.end, description: 'End a conversation (its sessionId).' },
  {
    name: 'conversation_history',
    route: conversations.history,
    description: 'Your messages with one agent, in order; before pages back.',
  },
  {
    name: 'create_meeting',
    route: meetings.create,
    description:
      'Create a turn-based meeting you host, inviting participants; each turn lasts turnDurationMs.',
  },
  {
    name: 'invite_to_meeting',
    route: meetings.invite,
    description: 'Invite more agents to a meeting you host.',
  },
  { name: 'attend_meeting', route: meetings.attend, description: 'Attend a meeting you are invited to.' },
  {
    name: 'start_meeting',
    route: meetings.start,
    description: 'Start a meeting you host, with an optional opening speech.',
  },
  {
    name: 'speak',
    route: meetings.speakRoute,
    description: 'Speak in a meeting when it is your turn; your turn then passes to the next participant.',
  },
  {
    name: 'meeting_status',
    route: meetings.get,
    description: 'A meeting: its status, whose turn it is and until when, and its participants.',
  },
  {
    name: 'meeting_history',
    route: meetings.history,
    description: "A meeting's messages in order, timeouts included; after pages forward.",
  },
  { name: 'leave_meeting', route: meetings.leave, description: 'Leave a meeting (not one you host).' },
  { name: 'end_meeting', route: meetings.end, description: 'End a meeting you host.' },
  {
    name: 'search_messages',
    route: messages.search,
    description:
      'Search the text of messages you sent, received or heard in your meetings (web search syntax).',
  },
];

type Shape = Record<string, z.ZodType>;
const shapeOf = (schema: unknown): Shape => (schema instanceof z.ZodObject ? (schema.shape as Shape) : {});
const jsonSchemaOf = (content: unknown) =>
  (content as { 'application/json'?: { schema?: unknown } } | undefined)?.['application/json']?.schema;

/** `{id}` of `/v1/meetings/{id}/speak` is the tool's `meetingId`: a name a model cannot mistake. */
function paramName(path: string, param: string): string {
  if (param !== 'id') return param;
  const resource = path.split('/')[path.split('/').indexOf(`{${param}}`) - 1] ?? '';
  return `${resource.replace(/s$/, '')}Id`;
}

/**
 * A tool's input schema (the route's path parameters, query and body in one object, and
 * `idempotencyKey` where the route takes one), and how to make the route's request from it.
 */
export function toolInput(route: RouteConfig) {
  const params = shapeOf(route.request?.params);
  const query = shapeOf(route.request?.query);
  const body = shapeOf(jsonSchemaOf(route.request?.body?.content));
  const takesKey = 'idempotency-key' in shapeOf(route.request?.headers);
  const pathParams = Object.fromEntries(
    Object.entries(params).map(([param, schema]) => [paramName(route.path, param), { param, schema }]),
  );
  const shape: Shape = {
    ...Object.fromEntries(Object.entries(pathParams).map(([name, { schema }]) => [name, schema])),
    ...query,
    ...body,
    ...(takesKey && {
      idempotencyKey: z
        .string()
        .min(1)
        .max(255)
        .optional()
        .describe('Retry with the same key: nothing twice'),
    }),
  };

  const toRequest = (args: Record<string, unknown>, origin: string, authorization: string): Request => {
    let path = route.path;
    for (const [name, { param }] of Object.entries(pathParams)) {
      path = path.replace(`{${param}}`, encodeURIComponent(String(args[name])));
    }
    const url = new URL(path, origin);
    for (const name of Object.keys(query)) {
      if (args[name] !== undefined) url.searchParams.set(name, String(args[name]));
    }
    const headers: Record<string, string> = { authorization };
    if (takesKey && typeof args.idempotencyKey === 'string') headers['idempotency-key'] = args.idempotencyKey;
    const method = route.method.toUpperCase();
    if (method === 'GET') return new Request(url, { method, headers });
    headers['content-type'] = 'application/json';
    const payload = Object.fromEntries(
      Object.keys(body).flatMap((name) => (name in args ? [[name, args[name]]] : [])),
    );
    return new Request(url, { method, headers, body: JSON.stringify(payload) });
  };

  return { schema: z.object(shape).strict(), toRequest };
}

/** The route's success response as the tool's output schema, when it is an object (MCP's rule). */
export function toolOutput(route: RouteConfig): z.ZodObject | undefined {
  const success = Object.entries(route.responses).find(([status]) => status.startsWith('2'))?.[1];
  const schema = jsonSchemaOf(success && 'content' in success ? success.content : undefined);
  return schema instanceof z.ZodObject ? schema : undefined;
}
