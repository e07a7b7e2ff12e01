import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  customType,
  foreignKey,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

// The whole product's schema. Every state is a Postgres enum; every hot query has an index.

/**
 * jsonb, taken as the drivers give it. Both of Neon's paths parse jsonb already; drizzle's own
 * jsonb column parses a string value once more, so the string "42" would come back as the number 42
 * (and a row read as `to_jsonb(...)` is parsed JSON too).
 */
const jsonb = customType<{ data: unknown; driverData: unknown }>({
  dataType: () => 'jsonb',
  toDriver: (value) => JSON.stringify(value),
});

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const apiKeyKind = pgEnum('api_key_kind', ['organization', 'agent']);
export const agentStatus = pgEnum('agent_status', ['active', 'deactivated']);
export const messageKind = pgEnum('message_kind', ['user', 'system', 'timeout', 'ending']);
export const deliveryType = pgEnum('delivery_type', [
  'message',
  'sync_request',
  'meeting_turn',
  'meeting_event',
]);
export const deliveryStatus = pgEnum('delivery_status', ['queued', 'delivered', 'failed', 'dead']);
export const sessionStatus = pgEnum('session_status', ['active', 'waiting', 'ended']);
export const meetingStatus = pgEnum('meeting_status', ['created', 'ready', 'active', 'ended']);
export const participantStatus = pgEnum('participant_status', ['invited', 'attending', 'speaking', 'left']);
/** What a meeting event can be (a check: the list may grow, and enum values cannot be dropped). */
export const meetingEventTypes = [
  'meeting_created',
  'participant_invited',
  'participant_joined',
  'meeting_started',
  'turn_started',
  'message_posted',
  'turn_timed_out',
  'participant_left',
  'meeting_ended',
] as const;

/** Why a meeting ended (its `endReason`, and `meeting_ended`'s `reason`). */
export const meetingEndReasons = [
  'host',
  'max_turns',
  'max_duration',
  'no_participants',
  'host_deactivated',
  'organization_deactivated',
] as const;
export type MeetingEndReason = (typeof meetingEndReasons)[number];

export const organizations = pgTable(
  'organizations',
  {
    id: text('id').primaryKey(),
    externalId: text('external_id'),
    name: text('name').notNull(),
    createdAt: createdAt(),
    /** Set when the admin deactivated it: its keys revoked, its agents deactivated, history kept. */
    deactivatedAt: at('deactivated_at'),
  },
  (t) => [uniqueIndex('organizations_external_id_key').on(t.externalId)],
);

export const agents = pgTable(
  'agents',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id),
    externalId: text('external_id'),
    name: text('name').notNull(),
    description: text('description'),
    endpointUrl: text('endpoint_url'),
    /** Set when the endpoint answered 410 Gone: nothing is pushed to it until the URL changes. */
    endpointDisabledAt: at('endpoint_disabled_at'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /** AES-GCM ciphertext of the `whsec_` signing secret (it must be readable to sign). */
    signingSecretEncrypted: text('signing_secret_encrypted').notNull(),
    status: agentStatus('status').notNull().default('active'),
    createdAt: createdAt(),
    updatedAt: at('updated_at').notNull().defaultNow(),
    deactivatedAt: at('deactivated_at'),
  },
  (t) => [
    uniqueIndex('agents_org_external_id_key').on(t.organizationId, t.externalId),
    index('agents_org_id_idx').on(t.organizationId, t.id),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id),
    agentId: text('agent_id').references(() => agents.id),
    kind: apiKeyKind('kind').notNull(),
    /** The first characters of the token, shown to humans to tell keys apart. */
    prefix: text('prefix').notNull(),
    /** SHA-256 of the whole token, hex. The token itself is never stored. */
    hash: text('hash').notNull(),
    createdAt: createdAt(),
    revokedAt: at('revoked_at'),
  },
  (t) => [
    uniqueIndex('api_keys_hash_key').on(t.hash),
    // Revoking an agent's keys (rotate, deactivate).
    index('api_keys_agent_idx').on(t.agentId),
    check('api_keys_agent_kind', sql`(${t.kind} = 'agent') = (${t.agentId} IS NOT NULL)`),
  ],
);

export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id),
    agentA: text('agent_a')
      .notNull()
      .references(() => agents.id),
    agentB: text('agent_b')
      .notNull()
      .references(() => agents.id),
    status: sessionStatus('status').notNull().default('active'),
    /** The pending sync request while `status = 'waiting'`, its sender and when the wait ends. */
    pendingRequestId: text('pending_request_id'),
    waiterId: text('waiter_id').references(() => agents.id),
    waitDeadline: at('wait_deadline'),
    createdAt: createdAt(),
    endedAt: at('ended_at'),
    endedBy: text('ended_by').references(() => agents.id),
  },
  (t) => [
    check('sessions_ordered_pair', sql`${t.agentA} < ${t.agentB}`),
    check(
      'sessions_waiting_has_request',
      sql`(${t.status} = 'waiting') = (${t.pendingRequestId} IS NOT NULL AND ${t.waiterId} IS NOT NULL AND ${t.waitDeadline} IS NOT NULL)`,
    ),
    // One open session per pair; an ended one never blocks a new one.
    uniqueIndex('sessions_open_pair_key').on(t.agentA, t.agentB).where(sql`${t.status} <> 'ended'`),
    index('sessions_wait_deadline_idx').on(t.waitDeadline).where(sql`${t.status} = 'waiting'`),
    // "Is this agent waiting for a reply anywhere?": at most one row per agent.
    uniqueIndex('sessions_one_wait_per_agent_key').on(t.waiterId).where(sql`${t.status} = 'waiting'`),
  ],
);

export const meetings = pgTable(
  'meetings',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id),
    hostId: text('host_id')
      .notNull()
      .references(() => agents.id),
    title: text('title').notNull(),
    status: meetingStatus('status').notNull().default('created'),
    turnDurationMs: integer('turn_duration_ms').notNull(),
    maxTurns: integer('max_turns'),
    /** The meeting ends by itself this long after it started; its turns never outlast it. */
    maxDurationMs: integer('max_duration_ms'),
    autoRun: boolean('auto_run').notNull().default(false),
    turnNumber: integer('turn_number').notNull().default(0),
    currentSpeakerId: text('current_speaker_id').references(() => agents.id),
    turnEndsAt: at('turn_ends_at'),
    /** Last event seq handed out: the next event takes lastSeq + 1 under the meeting's lock. */
    lastSeq: integer('last_seq').notNull().default(0),
    createdAt: createdAt(),
    startedAt: at('started_at'),
    endedAt: at('ended_at'),
    /** Why it ended (one of meetingEndReasons); set exactly when it has. */
    endReason: text('end_reason').$type<MeetingEndReason>(),
  },
  (t) => [
    check('meetings_turn_duration_positive', sql`${t.turnDurationMs} > 0`),
    check('meetings_max_duration_positive', sql`${t.maxDurationMs} IS NULL OR ${t.maxDurationMs} > 0`),
    check('meetings_ended_has_reason', sql`(${t.status} = 'ended') = (${t.endReason} IS NOT NULL)`),
    check('meetings_max_turns_positive', sql`${t.maxTurns} IS NULL OR ${t.maxTurns} > 0`),
    check(
      'meetings_active_has_turn',
      sql`(${t.status} = 'active') = (${t.turnEndsAt} IS NOT NULL AND ${t.currentSpeakerId} IS NOT NULL)`,
    ),
    index('meetings_overdue_idx').on(t.turnEndsAt).where(sql`${t.status} = 'active'`),
    index('meetings_org_idx').on(t.organizationId, t.id),
  ],
);

export const meetingParticipants = pgTable(
  'meeting_participants',
  {
    meetingId: text('meeting_id')
      .notNull()
      .references(() => meetings.id),
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.id),
    status: participantStatus('status').notNull().default('invited'),
    /** Order of attending (the host is 0); null while invited. */
    joinOrder: integer('join_order'),
    invitedAt: createdAt(),
    joinedAt: at('joined_at'),
    leftAt: at('left_at'),
  },
  (t) => [
    primaryKey({ columns: [t.meetingId, t.agentId] }),
    uniqueIndex('meeting_participants_join_order_key').on(t.meetingId, t.joinOrder),
    check('meeting_participants_joined_has_order', sql`(${t.status} = 'invited') = (${t.joinOrder} IS NULL)`),
    // One speaker at a time.
    uniqueIndex('meeting_participants_one_speaker_key').on(t.meetingId).where(sql`${t.status} = 'speaking'`),
    index('meeting_participants_agent_idx').on(t.agentId),
  ],
);

export const meetingEvents = pgTable(
  'meeting_events',
  {
    meetingId: text('meeting_id')
      .notNull()
      .references(() => meetings.id),
    seq: integer('seq').notNull(),
    type: text('type').$type<(typeof meetingEventTypes)[number]>().notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.meetingId, t.seq] }),
    check('meeting_events_seq_positive', sql`${t.seq} > 0`),
    check(
      'meeting_events_known_type',
      sql.raw(`"type" IN (${meetingEventTypes.map((type) => `'${type}'`).join(', ')})`),
    ),
  ],
);

export const messages = pgTable(
  'messages',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id),
    kind: messageKind('kind').notNull().default('user'),
    senderId: text('sender_id').references(() => agents.id),
    recipientId: text('recipient_id').references(() => agents.id),
    sessionId: text('session_id').references(() => sessions.id),
    meetingId: text('meeting_id').references(() => meetings.id),
    /** For a sync reply: the request it answers. */
    inReplyToId: text('in_reply_to_id'),
    /** For a sync request: until when its sender waits for the reply (a later reply is "late"). */
    replyDeadline: at('reply_deadline'),
    content: jsonb('content').$type<unknown>().notNull(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    /** Set when the recipient acknowledged it (inbox ack or a 2xx from its endpoint). */
    acknowledgedAt: at('acknowledged_at'),
    // Also `search`, a stored tsvector of the content's text (migration 0006), left out of this
    // model so that no read carries it; only search queries name it.
  },
  (t) => [
    check('messages_one_destination', sql`(${t.recipientId} IS NULL) <> (${t.meetingId} IS NULL)`),
    check('messages_user_has_sender', sql`${t.kind} <> 'user' OR ${t.senderId} IS NOT NULL`),
    foreignKey({ columns: [t.inReplyToId], foreignColumns: [t.id], name: 'messages_in_reply_to_fk' }),
    // Inbox: a recipient's unacknowledged messages, oldest first.
    index('messages_inbox_idx')
      .on(t.recipientId, t.id)
      .where(sql`${t.acknowledgedAt} IS NULL AND ${t.recipientId} IS NOT NULL`),
    index('messages_session_idx').on(t.sessionId, t.id),
    index('messages_meeting_idx').on(t.meetingId, t.id),
    index('messages_pair_idx').on(t.senderId, t.recipientId, t.id),
    uniqueIndex('messages_one_reply_key').on(t.inReplyToId),
  ],
);

/** The outbox: one row per thing to push to one agent's endpoint. Its id is the `webhook-id`. */
export const deliveries = pgTable(
  'deliveries',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id),
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.id),
    type: deliveryType('type').notNull(),
    messageId: text('message_id').references(() => messages.id),
    meetingId: text('meeting_id').references(() => meetings.id),
    eventSeq: integer('event_seq'),
    /** Turn this delivery asks the agent to speak in (meeting_turn), so a stale answer is not spoken. */
    turnNumber: integer('turn_number'),
    status: deliveryStatus('status').notNull().default('queued'),
    /** Attempts made, ever; `dead` once it reaches `attemptLimit` (a redeliver raises the limit). */
    attempts: integer('attempts').notNull().default(0),
    attemptLimit: integer('attempt_limit').notNull(),
    /** When it is next due; while an attempt runs, the end of that attempt's lease. */
    nextAttemptAt: at('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    createdAt: createdAt(),
    deliveredAt: at('delivered_at'),
  },
  (t) => [
    check('deliveries_subject', sql`${t.messageId} IS NOT NULL OR ${t.meetingId} IS NOT NULL`),
    check('deliveries_attempts_nonneg', sql`${t.attempts} >= 0`),
    index('deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.status} IN ('queued', 'failed')`),
    index('deliveries_message_idx').on(t.messageId),
    // An agent's endpoint health (its stats).
    index('deliveries_agent_idx').on(t.agentId, t.status),
  ],
);

export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => deliveries.id),
    attempt: integer('attempt').notNull(),
    startedAt: at('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    responseStatus: integer('response_status'),
    error: text('error'),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);

/** Stored responses of creating POSTs, replayed for a repeated `Idempotency-Key`. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    principalId: text('principal_id').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    /** The response body to replay; its HTTP status is the route's. */
    responseBody: jsonb('response_body').$type<unknown>(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.principalId, t.key] }),
    index('idempotency_keys_created_idx').on(t.createdAt),
  ],
);

/**
 * Event streams held open, per holder (an agent, or an organization key): a stream takes a lease
 * when it opens and gives it back when it closes; a lease of a stream that died without closing
 * runs out by itself at `expiresAt` (just past the longest a stream lives).
 */
export const streamLeases = pgTable(
  'stream_leases',
  {
    id: text('id').primaryKey(),
    holder: text('holder').notNull(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [index('stream_leases_holder_idx').on(t.holder, t.expiresAt)],
);
