import type {
  agents,
  deliveryStatus,
  meetingEvents,
  meetingParticipants,
  meetings,
  messages,
  organizations,
  sessions,
} from './schema';

// The wire shapes (camelCase, ISO times). One function per resource so every route says it once.

type Row<T extends { $inferSelect: unknown }> = T['$inferSelect'];
export type DeliveryStatus = (typeof deliveryStatus.enumValues)[number];

export function organizationView(row: Row<typeof organizations>) {
  return {
    id: row.id,
    externalId: row.externalId,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    deactivatedAt: row.deactivatedAt?.toISOString() ?? null,
  };
}

export function agentView(row: Row<typeof agents>) {
  return {
    id: row.id,
    organizationId: row.organizationId,
    externalId: row.externalId,
    name: row.name,
    description: row.description,
    endpointUrl: row.endpointUrl,
    endpointDisabled: row.endpointDisabledAt !== null,
    metadata: row.metadata,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
  };
}

/** An agent as its peers see it in the directory: never its endpoint's URL or its secrets. */
export function directoryEntryView(row: Row<typeof agents>) {
  return {
    id: row.id,
    externalId: row.externalId,
    name: row.name,
    description: row.description,
    metadata: row.metadata,
    status: row.status,
    endpoint: row.endpointUrl !== null && row.endpointDisabledAt === null,
  };
}

/**
 * A message's status is its push delivery's status; a message with nothing to push (no endpoint)
 * is `queued` until its recipient acknowledges it from the inbox.
 */
export function messageView(row: Row<typeof messages>, deliveryStatus: DeliveryStatus | null) {
  return {
    id: row.id,
    kind: row.kind,
    from: row.senderId,
    to: row.recipientId,
    sessionId: row.sessionId,
    meetingId: row.meetingId,
    inReplyTo: row.inReplyToId,
    /** Set on a sync request: it expects a reply (POST /v1/sessions/{sessionId}/reply) by then. */
    replyDeadline: row.replyDeadline?.toISOString() ?? null,
    content: row.content,
    metadata: row.metadata,
    status: deliveryStatus ?? (row.acknowledgedAt ? 'delivered' : 'queued'),
    acknowledgedAt: row.acknowledgedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

export function sessionView(row: Row<typeof sessions>) {
  return {
    id: row.id,
    agentA: row.agentA,
    agentB: row.agentB,
    status: row.status,
    pendingRequestId: row.pendingRequestId,
    waiterId: row.waiterId,
    waitDeadline: row.waitDeadline?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null,
    endedBy: row.endedBy,
  };
}

export function meetingView(row: Row<typeof meetings>, participants: Row<typeof meetingParticipants>[]) {
  return {
    id: row.id,
    title: row.title,
    hostId: row.hostId,
    status: row.status,
    turnDurationMs: row.turnDurationMs,
    maxTurns: row.maxTurns,
    maxDurationMs: row.maxDurationMs,
    autoRun: row.autoRun,
    turnNumber: row.turnNumber,
    currentSpeakerId: row.currentSpeakerId,
    turnEndsAt: row.turnEndsAt?.toISOString() ?? null,
    participants: [...participants]
      .sort((a, b) => (a.joinOrder ?? Number.MAX_SAFE_INTEGER) - (b.joinOrder ?? Number.MAX_SAFE_INTEGER))
      .map((p) => ({ agentId: p.agentId, status: p.status, joinOrder: p.joinOrder })),
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    endedAt: row.endedAt?.toISOString() ?? null,
    endReason: row.endReason,
  };
}

export function eventView(row: Row<typeof meetingEvents>) {
  return { seq: row.seq, type: row.type, data: row.data, createdAt: row.createdAt.toISOString() };
}

export type OrganizationView = ReturnType<typeof organizationView>;
export type AgentView = ReturnType<typeof agentView>;
export type MessageView = ReturnType<typeof messageView>;
export type SessionView = ReturnType<typeof sessionView>;
export type MeetingView = ReturnType<typeof meetingView>;
export type EventView = ReturnType<typeof eventView>;
