import { databaseError } from './error-chain';

// One error type for everything a caller can get wrong, rendered as RFC 9457 problem+json.

const titles = {
  validation_failed: 'Request is not valid',
  invalid_json: 'Body is not valid JSON',
  payload_too_large: 'Body is too large',
  unsupported_media_type: 'Body must be application/json',
  unauthorized: 'Missing or invalid credentials',
  forbidden: 'Not allowed for this credential',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  organization_not_found: 'Organization not found',
  agent_not_found: 'Agent not found',
  message_not_found: 'Message not found',
  session_not_found: 'Session not found',
  meeting_not_found: 'Meeting not found',
  idempotency_conflict: 'Idempotency-Key reused with another request',
  external_id_taken: 'externalId is already taken',
  agent_inactive: 'Agent is deactivated',
  endpoint_not_allowed: 'Endpoint URL is not allowed',
  not_dead: 'Delivery is not dead',
  agent_busy: 'Agent is waiting for a reply',
  session_busy: 'Session already has a pending request',
  session_ended: 'Session has ended',
  no_pending_request: 'Nothing to reply to',
  already_replied: 'Request was already answered',
  timeout: 'Timed out waiting for a reply',
  not_host: 'Only the host may do this',
  host_cannot_leave: 'The host cannot leave',
  meeting_not_active: 'Meeting is not active',
  meeting_not_ready: 'Meeting cannot start yet',
  meeting_already_started: 'Meeting has already started',
  not_attending: 'Only attending participants can do this',
  meeting_ended: 'Meeting has ended',
  not_your_turn: 'It is not your turn',
  turn_expired: 'Your turn has expired',
  rate_limited: 'Too many requests',
  too_many_streams: 'Too many event streams open',
  misconfigured: 'Service is misconfigured',
  service_unavailable: 'Service is unavailable',
  internal_error: 'Internal error',
} as const;

export type ProblemCode = keyof typeof titles;

/** Every problem code the API answers with (documented in the OpenAPI document's Problem). */
export const problemCodes = Object.keys(titles) as [ProblemCode, ...ProblemCode[]];

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  [extension: string]: unknown;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    detail?: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? titles[code]);
    this.name = 'AppError';
  }

  toProblem(): Problem {
    return {
      type: `urn:agent-messaging:problem:${this.code}`,
      title: titles[this.code],
      status: this.status,
      detail: this.message,
      code: this.code,
      ...this.extensions,
    };
  }
}

export type Resource = 'organization' | 'agent' | 'message' | 'session' | 'meeting';

export const fail = {
  validation: (detail: string, errors?: { path: string; message: string }[]) =>
    new AppError(400, 'validation_failed', detail, errors ? { errors } : {}),
  unauthorized: (detail = 'Send Authorization: Bearer <token>.') => new AppError(401, 'unauthorized', detail),
  forbidden: (detail: string) => new AppError(403, 'forbidden', detail),
  notFound: (resource: Resource, id?: string) =>
    new AppError(
      404,
      `${resource}_not_found`,
      id ? `No ${resource} ${id} here.` : `No such ${resource} here.`,
    ),
  conflict: (code: ProblemCode, detail?: string) => new AppError(409, code, detail),
  noRoute: () => new AppError(404, 'not_found', 'No such route.'),
  payloadTooLarge: () => new AppError(413, 'payload_too_large'),
  unavailable: (detail: string) => new AppError(503, 'service_unavailable', detail),
};

/** The HTTP status of a problem raised by `am_fail` in the database, by its code. */
function statusOfRaised(code: ProblemCode): number {
  if (code === 'unauthorized') return 401;
  if (code === 'forbidden' || code === 'not_host') return 403;
  if (code.endsWith('not_found')) return 404;
  return 409;
}

/**
 * A domain problem that a statement or batch raised with `am_fail(code, detail)` (migration 0003),
 * as the AppError it stands for; undefined for any other error.
 */
export function raisedInDatabase(error: unknown): AppError | undefined {
  const failure = databaseError(error) as { code: string; message?: string; detail?: string; hint?: string };
  if (failure?.code !== 'P0001' || failure.hint !== 'agent-messaging') return undefined;
  const code = failure.message as ProblemCode;
  if (!(code in titles)) return undefined;
  return new AppError(statusOfRaised(code), code, failure.detail);
}

export function problemFromUnknown(error: unknown): Problem {
  if (error instanceof AppError) return error.toProblem();
  const raised = raisedInDatabase(error);
  if (raised) return raised.toProblem();
  return new AppError(500, 'internal_error', 'Something went wrong on our side.').toProblem();
}
