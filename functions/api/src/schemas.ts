import { problemCodes, schema } from '@agent-messaging/core';
import { z } from '@hono/zod-openapi';

// Wire schemas shared by the routes. Request bodies are strict: unknown fields are refused.

/** Every /v1 route: `Authorization: Bearer <token>` (which kind of token, each route says). */
export const bearerAuth = [{ bearer: [] }];

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z
      .enum(problemCodes)
      .openapi({ description: 'Stable: what went wrong', example: 'validation_failed' }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

const problemFor = (description: string) => ({
  content: { 'application/problem+json': { schema: Problem } },
  description,
});

/** The problem responses a route can give, by status. */
export const problems = {
  400: problemFor('Invalid request (validation_failed, invalid_json, ...)'),
  401: problemFor('Missing or invalid credentials (unauthorized)'),
  403: problemFor('Credential of the wrong kind or role (forbidden)'),
  404: problemFor('Not found, or not visible to this credential'),
  409: problemFor('Conflict with the current state'),
  413: problemFor('Body too large (payload_too_large)'),
  405: problemFor('Method not allowed (method_not_allowed); see Allow'),
  415: problemFor('Body is not JSON (unsupported_media_type)'),
  429: problemFor('Too many requests from this credential (rate_limited); see Retry-After'),
  503: problemFor('The database is busy or cannot be reached (service_unavailable); see Retry-After'),
  504: problemFor('No reply in time (timeout)'),
} as const;

/**
 * The problem responses a route can give; any route that takes a credential may also be rate
 * limited, and finds the database busy or out of reach.
 */
export function problemResponses<S extends keyof typeof problems>(...statuses: S[]) {
  const all: (keyof typeof problems)[] = statuses.includes(401 as S) ? [...statuses, 429, 503] : statuses;
  return Object.fromEntries(all.map((s) => [s, problems[s]])) as Pick<typeof problems, S | 429 | 503>;
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  content: { 'application/json': { schema } },
  required: true,
});

/** A POST that takes nothing: no body or `{}`; a JSON body with anything in it is refused. */
export const noBody = { ...jsonBody(z.object({}).strict()), required: false };

const idOf = (prefix: string, name: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`), `must be a ${name} id (${prefix}_...)`)
    .openapi({ example: `${prefix}_01jd6s5v1xe8rb8xgsnq8mq2gx` });

export const AgentId = idOf('agt', 'agent');
/** Where a request names an agent: its id, or `ext:<externalId>` in the caller's organization. */
export const AgentRef = z
  .string()
  .regex(/^(agt_[0-9a-z]{26}|ext:[^\s]{1,200})$/, 'must be an agent id (agt_...) or ext:<externalId>')
  .openapi({
    description:
      "An agent id, or `ext:<externalId>`: the agent of the caller's organization with that external id.",
    example: 'ext:billing-bot',
  });
export const MessageId = idOf('msg', 'message');
export const OrganizationId = idOf('org', 'organization');

export const SessionId = idOf('ses', 'session');
export const MeetingId = idOf('mtg', 'meeting');

export const agentIdParam = z.object({ id: AgentId.openapi({ param: { name: 'id', in: 'path' } }) });
export const messageIdParam = z.object({ id: MessageId.openapi({ param: { name: 'id', in: 'path' } }) });

export const sessionIdParam = z.object({ id: SessionId.openapi({ param: { name: 'id', in: 'path' } }) });

export const meetingIdParam = z.object({ id: MeetingId.openapi({ param: { name: 'id', in: 'path' } }) });

export const Metadata = z.record(z.string(), z.unknown()).openapi({ example: { team: 'support' } });
export const JsonContent = z
  .unknown()
  .refine((value) => value !== undefined, 'is required')
  .openapi({ description: 'Any JSON value', example: { text: 'Hello' } });

const name = z.string().trim().min(1).max(200);
const externalId = z.string().min(1).max(200);
export const timestamp = z.string().openapi({ format: 'date-time' });

export const Organization = z
  .object({
    id: OrganizationId,
    externalId: externalId.nullable(),
    name,
    createdAt: timestamp,
    deactivatedAt: timestamp.nullable().openapi({ description: 'Set once the admin deactivated it' }),
  })
  .openapi('Organization');

export const Agent = z
  .object({
    id: AgentId,
    organizationId: OrganizationId,
    externalId: externalId.nullable(),
    name,
    description: z.string().nullable(),
    endpointUrl: z.string().nullable(),
    endpointDisabled: z
      .boolean()
      .openapi({ description: 'The endpoint answered 410 Gone; set endpointUrl to re-enable.' }),
    metadata: Metadata,
    status: z.enum(['active', 'deactivated']),
    createdAt: timestamp,
  })
  .openapi('Agent');

export const DirectoryEntry = z
  .object({
    id: AgentId,
    externalId: externalId.nullable(),
    name,
    description: z.string().nullable(),
    metadata: Metadata,
    status: z.enum(['active', 'deactivated']),
    endpoint: z.boolean().openapi({ description: 'Whether messages to it are pushed to an endpoint.' }),
  })
  .openapi('DirectoryEntry', { description: 'An agent as its peers see it: no endpoint URL, no secrets.' });

export const AgentInput = {
  name,
  externalId,
  endpointUrl: z.string().max(2048).openapi({ example: 'https://agent.example.com/hook' }),
  description: z.string().max(2000),
  metadata: Metadata,
};

export const Message = z
  .object({
    id: MessageId,
    kind: z.enum(['user', 'system', 'timeout', 'ending']),
    from: AgentId.nullable(),
    to: AgentId.nullable(),
    sessionId: SessionId.nullable(),
    meetingId: MeetingId.nullable(),
    inReplyTo: MessageId.nullable(),
    replyDeadline: timestamp
      .nullable()
      .openapi({ description: 'On a sync request: reply by then with POST /v1/sessions/{sessionId}/reply' }),
    content: z.unknown(),
    metadata: Metadata,
    status: z.enum(['queued', 'delivered', 'failed', 'dead']),
    acknowledgedAt: timestamp.nullable(),
    createdAt: timestamp,
  })
  .openapi('Message');

export const DeliveryAttempt = z
  .object({
    attempt: z.number().int(),
    at: timestamp,
    durationMs: z.number().int(),
    responseStatus: z.number().int().nullable(),
    error: z.string().nullable(),
  })
  .openapi('DeliveryAttempt');

export const Delivery = z
  .object({
    id: z.string().openapi({ description: 'Also the webhook-id header of every attempt' }),
    status: z.enum(['queued', 'delivered', 'failed', 'dead']),
    attempts: z.number().int(),
    nextAttemptAt: timestamp.nullable(),
    lastError: z.string().nullable(),
  })
  .openapi('Delivery');

export const idempotencyKeyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Same key and body: the first response again, nothing created twice.' }),
});

export const Session = z
  .object({
    id: SessionId,
    agentA: AgentId,
    agentB: AgentId,
    status: z.enum(['active', 'waiting', 'ended']),
    pendingRequestId: MessageId.nullable(),
    waiterId: AgentId.nullable().openapi({ description: 'Who waits for the pending request to be answered' }),
    waitDeadline: timestamp.nullable(),
    createdAt: timestamp,
    endedAt: timestamp.nullable(),
    endedBy: AgentId.nullable(),
  })
  .openapi('Session');

const MeetingEndReason = z
  .enum(schema.meetingEndReasons)
  .openapi('MeetingEndReason', { description: 'Why a meeting ended' });

export const Meeting = z
  .object({
    id: MeetingId,
    title: z.string(),
    hostId: AgentId,
    status: z.enum(['created', 'ready', 'active', 'ended']),
    turnDurationMs: z.number().int(),
    maxTurns: z.number().int().nullable(),
    maxDurationMs: z.number().int().nullable(),
    autoRun: z.boolean(),
    turnNumber: z.number().int(),
    currentSpeakerId: AgentId.nullable(),
    turnEndsAt: timestamp.nullable(),
    participants: z.array(
      z.object({
        agentId: AgentId,
        status: z.enum(['invited', 'attending', 'speaking', 'left']),
        joinOrder: z.number().int().nullable(),
      }),
    ),
    createdAt: timestamp,
    startedAt: timestamp.nullable(),
    endedAt: timestamp.nullable(),
    endReason: MeetingEndReason.nullable(),
  })
  .openapi('Meeting');

const turnNumber = z.number().int();
/** Each event type with the data it carries. */
const eventData = {
  meeting_created: { hostId: AgentId, title: z.string() },
  participant_invited: {
    agentId: AgentId,
    again: z.literal(true).optional().openapi({ description: 'Invited again after leaving' }),
  },
  participant_joined: {
    agentId: AgentId,
    joinOrder: z.number().int(),
    rejoined: z.literal(true).optional().openapi({ description: 'Attends again after leaving' }),
  },
  meeting_started: { startedBy: AgentId },
  turn_started: {
    turnNumber,
    speakerId: AgentId,
    startedAt: timestamp.optional().openapi({ description: 'When the turn began (absent on older events)' }),
    turnEndsAt: timestamp,
  },
  message_posted: {
    messageId: MessageId,
    kind: z.enum(['user', 'system', 'timeout', 'ending']),
    from: AgentId.nullable(),
    turnNumber,
  },
  turn_timed_out: { turnNumber, speakerId: AgentId, messageId: MessageId },
  participant_left: { agentId: AgentId },
  meeting_ended: { reason: MeetingEndReason, endedBy: AgentId.nullable() },
} as const;

export const MeetingEvent = z
  .discriminatedUnion(
    'type',
    Object.entries(eventData).map(([type, data]) =>
      z
        .object({
          seq: z.number().int().openapi({ description: 'Gap-free per meeting; the SSE id' }),
          type: z.literal(type),
          data: z.object(data),
          createdAt: timestamp,
        })
        .openapi(`${type.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase())}Event`),
    ) as unknown as [z.ZodObject, ...z.ZodObject[]],
  )
  .openapi('MeetingEvent');
