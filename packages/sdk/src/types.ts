// Wire types of the API (JSON, camelCase, times as ISO-8601 strings).

export type Json = unknown;
export type Metadata = Record<string, unknown>;

export interface Organization {
  id: string;
  externalId: string | null;
  name: string;
  createdAt: string;
}

export interface Agent {
  id: string;
  organizationId: string;
  externalId: string | null;
  name: string;
  description: string | null;
  endpointUrl: string | null;
  endpointDisabled: boolean;
  metadata: Metadata;
  status: 'active' | 'deactivated';
  createdAt: string;
}

export type DeliveryStatus = 'queued' | 'delivered' | 'failed' | 'dead';

export interface Message {
  id: string;
  kind: 'user' | 'system' | 'timeout' | 'ending';
  from: string | null;
  to: string | null;
  sessionId: string | null;
  meetingId: string | null;
  inReplyTo: string | null;
  /** Set on a sync request: the sender waits for a reply until then. */
  replyDeadline: string | null;
  content: Json;
  metadata: Metadata;
  status: DeliveryStatus;
  acknowledgedAt: string | null;
  createdAt: string;
}

export interface DeliveryAttempt {
  attempt: number;
  at: string;
  durationMs: number;
  responseStatus: number | null;
  error: string | null;
}

export interface Delivery {
  id: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
}

export interface Session {
  id: string;
  agentA: string;
  agentB: string;
  status: 'active' | 'waiting' | 'ended';
  pendingRequestId: string | null;
  createdAt: string;
  endedAt: string | null;
  endedBy: string | null;
}

export interface Meeting {
  id: string;
  title: string;
  hostId: string;
  status: 'created' | 'ready' | 'active' | 'ended';
  turnDurationMs: number;
  maxTurns: number | null;
  autoRun: boolean;
  turnNumber: number;
  currentSpeakerId: string | null;
  turnEndsAt: string | null;
  participants: {
    agentId: string;
    status: 'invited' | 'attending' | 'speaking' | 'left';
    joinOrder: number | null;
  }[];
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

export interface MeetingEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  createdAt: string;
}

interface DeliveryBase {
  /** The same on every attempt (and in the webhook-id header). */
  deliveryId: string;
  /** The agent the delivery is for. */
  agentId: string;
}

/** A one-way or async message, or a sync request (`message.sessionId` set). */
export interface MessageDelivery extends DeliveryBase {
  type: 'message' | 'sync_request';
  message: Message;
}

/** Your turn in an autoRun meeting, with the meeting's recent history. */
export interface MeetingTurnDelivery extends DeliveryBase {
  type: 'meeting_turn';
  meeting: Meeting;
  history: Message[];
}

export interface MeetingEventDelivery extends DeliveryBase {
  type: 'meeting_event';
  meetingId: string;
  event: MeetingEvent;
}

/** What the service POSTs to an agent's endpoint. */
export type Delivered = MessageDelivery | MeetingTurnDelivery | MeetingEventDelivery;
