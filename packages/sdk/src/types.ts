// Wire types of the API (JSON, camelCase, times as ISO-8601 strings): generated from its OpenAPI
// document into ./openapi.ts, so they are the route schemas' own; npm test fails if they drift.
import type { components, paths } from './openapi';

type Schemas = components['schemas'];

/** The JSON body an operation takes, as its route declares it. */
export type Body<P extends keyof paths, M extends 'post' | 'patch'> =
  NonNullable<paths[P][M]> extends {
    requestBody?: { content: { 'application/json': infer B } };
  }
    ? B
    : never;

/** The query parameters an operation takes, as its route declares them. */
export type Query<P extends keyof paths> =
  NonNullable<paths[P]['get']> extends {
    parameters: { query?: infer Q };
  }
    ? NonNullable<Q>
    : never;

export type Json = unknown;
export type Metadata = Record<string, unknown>;

export type Organization = Schemas['Organization'];
/** What an agent token sees of its organization. */
export type OrganizationSummary = Schemas['OrganizationSummary'];
export type Agent = Schemas['Agent'];
/** An agent as its peers see it (an agent token's view of the directory). */
export type DirectoryEntry = Schemas['DirectoryEntry'];
/** `content` is any JSON value, `null` included: always present (a schema of `unknown` reads as optional). */
export type Message = Schemas['Message'] & { content: Json };
/** A search hit: the message, its rank and a snippet with the words found in `<mark></mark>`. */
export type SearchHit = Schemas['SearchHit'] & { message: Message };
export type DeliveryStatus = Message['status'];
export type DeliveryAttempt = Schemas['DeliveryAttempt'];
export type Delivery = NonNullable<Schemas['Delivery']>;
export type Session = Schemas['Session'];
/** A session in a listing: with the caller's peer. */
export type SessionSummary = Schemas['SessionSummary'];
export type SessionCounts = Schemas['SessionCounts'];
export type AgentStats = Schemas['AgentStats'];
export type Meeting = Schemas['Meeting'];
/** An event of a meeting: `type` says which, and what its `data` holds. */
export type MeetingEvent = Schemas['MeetingEvent'];
export type MeetingEndReason = Schemas['MeetingEndReason'];
export type MeetingStats = Schemas['MeetingStats'];
/** Who a credential is (GET /v1/me). */
export type Whoami = Schemas['Whoami'];

// What the service POSTs to an agent's endpoint (webhooks, outside the request/response document).

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
