import {
  AppError,
  ConfigError,
  databaseError,
  databaseUnreachable,
  describeForLog,
  fail,
  type Problem,
  problemFromUnknown,
  raisedInDatabase,
} from '@agent-messaging/core';
import { HTTPException } from 'hono/http-exception';

const httpExceptionCodes: Record<number, AppError> = {
  400: new AppError(400, 'invalid_json', 'The body could not be parsed as JSON.'),
  413: new AppError(413, 'payload_too_large'),
  415: new AppError(415, 'unsupported_media_type', 'Send the body as application/json.'),
};

/**
 * PostgreSQL refusing work for lack of resources (class 53: too many connections, out of memory)
 * or shutting down (57P01-57P03): the request can be retried, so 503 rather than 500.
 */
function isDatabaseOverloaded(error: unknown): boolean {
  const code = databaseError(error)?.code ?? '';
  return code.startsWith('53') || /^57P0[123]$/.test(code);
}

/** Every failure, ours or Hono's, as problem+json; unexpected ones are logged, never echoed. */
export function problemResponse(error: unknown): Response {
  let problem: Problem;
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (isDatabaseOverloaded(error)) {
    console.error('database overloaded:', describeForLog(error));
    problem = fail.unavailable('The database is busy; retry shortly.').toProblem();
  } else if (databaseUnreachable(error)) {
    console.error('database unreachable:', describeForLog(error));
    problem = fail.unavailable('The database cannot be reached; retry shortly.').toProblem();
  } else if (error instanceof HTTPException && httpExceptionCodes[error.status]) {
    problem = (httpExceptionCodes[error.status] as AppError).toProblem();
  } else if (error instanceof ConfigError) {
    console.error(error.message);
    problem = new AppError(
      500,
      'misconfigured',
      'The service is misconfigured; its logs say how.',
    ).toProblem();
  } else {
    if (!(error instanceof AppError) && !raisedInDatabase(error)) {
      console.error('unhandled error:', describeForLog(error));
    }
    problem = problemFromUnknown(error);
  }
  if (problem.status === 503) headers['retry-after'] = '1';
  return new Response(JSON.stringify(problem), { status: problem.status, headers });
}
