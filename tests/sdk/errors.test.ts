import {
  AgentBusyError,
  AgentMessagingError,
  AgentNotFoundError,
  AuthError,
  ConflictError,
  errorFromProblem,
  ForbiddenError,
  IdempotencyConflictError,
  MessageNotFoundError,
  NotFoundError,
  OrganizationNotFoundError,
  ServerError,
  TimeoutError,
  ValidationError,
} from '@agent-messaging/sdk';
import { describe, expect, it } from 'vitest';

const problem = (status: number, code: string, extra: object = {}) => ({
  type: `urn:agent-messaging:problem:${code}`,
  title: 'Title',
  status,
  detail: `Detail of ${code}`,
  code,
  ...extra,
});

describe('errorFromProblem', () => {
  it.each([
    [401, 'unauthorized', AuthError],
    [403, 'forbidden', ForbiddenError],
    [404, 'not_found', NotFoundError],
    [404, 'organization_not_found', OrganizationNotFoundError],
    [404, 'agent_not_found', AgentNotFoundError],
    [404, 'message_not_found', MessageNotFoundError],
    [400, 'validation_failed', ValidationError],
    [422, 'validation_failed', ValidationError],
    [413, 'payload_too_large', ValidationError],
    [409, 'idempotency_conflict', IdempotencyConflictError],
    [409, 'agent_busy', AgentBusyError],
    [504, 'timeout', TimeoutError],
  ] as const)('%i %s', (status, code, ErrorClass) => {
    const body = problem(status, code);
    const error = errorFromProblem(status, body);
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toBeInstanceOf(AgentMessagingError);
    expect(error).toMatchObject({ name: ErrorClass.name, status, code, detail: body.detail, problem: body });
  });

  it('keeps the specific not-found errors under NotFoundError and the idempotency one under ConflictError', () => {
    expect(errorFromProblem(404, problem(404, 'agent_not_found'))).toBeInstanceOf(NotFoundError);
    expect(errorFromProblem(404, problem(404, 'organization_not_found'))).toBeInstanceOf(NotFoundError);
    expect(errorFromProblem(409, problem(409, 'idempotency_conflict'))).toBeInstanceOf(ConflictError);
    expect(errorFromProblem(404, problem(404, 'not_found'))).not.toBeInstanceOf(AgentNotFoundError);
  });

  it('keeps validation details', () => {
    const errors = [{ path: 'name', message: 'Required' }];
    const error = errorFromProblem(400, problem(400, 'validation_failed', { errors }));
    expect(error.problem?.errors).toEqual(errors);
  });

  it.each([
    [404, 'widget_not_found', NotFoundError],
    [409, 'something_new', ConflictError],
    [422, 'something_new', ValidationError],
    [401, 'something_new', AuthError],
    [503, 'service_unavailable', ServerError],
  ] as const)('falls back by status for an unknown code: %i %s', (status, code, ErrorClass) => {
    const error = errorFromProblem(status, problem(status, code));
    expect(error.constructor).toBe(ErrorClass);
    expect(error.code).toBe(code);
  });

  it('makes do with a body that is not a problem', () => {
    const error = errorFromProblem(502, '<html>Bad gateway</html>');
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status: 502, code: 'http_502', problem: undefined });
    const teapot = errorFromProblem(418, null);
    expect(teapot.constructor).toBe(AgentMessagingError);
    expect(teapot.code).toBe('http_418');
  });
});
