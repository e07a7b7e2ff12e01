/** The API's error body (RFC 9457 problem+json). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

/** Every error the SDK throws; `code` is the API's stable problem code (`http_<status>` without one). */
export class AgentMessagingError extends Error {
  readonly status: number;
  readonly code: string;
  /** The problem's detail, else the message. */
  readonly detail: string;
  readonly problem: Problem | undefined;

  constructor(
    message: string,
    options: { status?: number; code?: string; problem?: Problem; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status ?? 0;
    this.code = options.code ?? 'unknown';
    this.detail = options.problem?.detail ?? message;
    this.problem = options.problem;
  }
}

export class NetworkError extends AgentMessagingError {}
export class AuthError extends AgentMessagingError {}
export class ForbiddenError extends AgentMessagingError {}
export class ValidationError extends AgentMessagingError {}
export class NotFoundError extends AgentMessagingError {}
export class OrganizationNotFoundError extends NotFoundError {}
export class AgentNotFoundError extends NotFoundError {}
export class MessageNotFoundError extends NotFoundError {}
export class ConflictError extends AgentMessagingError {}
export class IdempotencyConflictError extends ConflictError {}
export class ServerError extends AgentMessagingError {}
/** Conversations. */
export class SessionError extends ConflictError {}
export class SessionNotFoundError extends NotFoundError {}
export class AgentBusyError extends SessionError {}
export class SessionEndedError extends SessionError {}
export class TimeoutError extends AgentMessagingError {}
/** Meetings. */
export class MeetingError extends ConflictError {}
export class MeetingNotFoundError extends NotFoundError {}
export class NotHostError extends ForbiddenError {}
export class MeetingNotActiveError extends MeetingError {}
export class NotYourTurnError extends MeetingError {}
export class TurnExpiredError extends MeetingError {}

type ErrorClass = new (
  message: string,
  options: ConstructorParameters<typeof AgentMessagingError>[1],
) => AgentMessagingError;

/** Problem code -> error class; codes not listed fall back by HTTP status. */
const byCode: Record<string, ErrorClass> = {
  unauthorized: AuthError,
  forbidden: ForbiddenError,
  validation_failed: ValidationError,
  invalid_json: ValidationError,
  unsupported_media_type: ValidationError,
  payload_too_large: ValidationError,
  endpoint_not_allowed: ValidationError,
  not_found: NotFoundError,
  organization_not_found: OrganizationNotFoundError,
  agent_not_found: AgentNotFoundError,
  message_not_found: MessageNotFoundError,
  session_not_found: SessionNotFoundError,
  meeting_not_found: MeetingNotFoundError,
  idempotency_conflict: IdempotencyConflictError,
  agent_busy: AgentBusyError,
  session_busy: SessionError,
  session_ended: SessionEndedError,
  no_pending_request: SessionError,
  already_replied: SessionError,
  timeout: TimeoutError,
  not_host: NotHostError,
  meeting_not_active: MeetingNotActiveError,
  meeting_not_ready: MeetingError,
  meeting_already_started: MeetingError,
  meeting_ended: MeetingNotActiveError,
  host_cannot_leave: MeetingError,
  not_attending: MeetingError,
  not_your_turn: NotYourTurnError,
  turn_expired: TurnExpiredError,
};

const byStatus: Record<number, ErrorClass> = {
  400: ValidationError,
  401: AuthError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  413: ValidationError,
  415: ValidationError,
  422: ValidationError,
  504: TimeoutError,
};

/** The typed error for a failed response, from its problem body when it has one. */
export function errorFromProblem(status: number, body: unknown): AgentMessagingError {
  const problem =
    body && typeof body === 'object' && typeof (body as Problem).code === 'string'
      ? (body as Problem)
      : undefined;
  const ErrorType =
    (problem && byCode[problem.code]) ??
    byStatus[status] ??
    (status >= 500 ? ServerError : AgentMessagingError);
  const message = problem ? `${problem.title}: ${problem.detail}` : `HTTP ${status}`;
  return new ErrorType(message, {
    status,
    code: problem?.code ?? `http_${status}`,
    ...(problem && { problem }),
  });
}
