import { AppError, ConfigError, type Problem, problemFromUnknown } from '@agent-messaging/core';
import { HTTPException } from 'hono/http-exception';

const httpExceptionCodes: Record<number, AppError> = {
  400: new AppError(400, 'invalid_json', 'The body could not be parsed as JSON.'),
  413: new AppError(413, 'payload_too_large'),
  415: new AppError(415, 'unsupported_media_type', 'Send the body as application/json.'),
};

/** Every failure, ours or Hono's, as problem+json; unexpected ones are logged, never echoed. */
export function problemResponse(error: unknown): Response {
  let problem: Problem;
  if (error instanceof HTTPException && httpExceptionCodes[error.status]) {
    problem = (httpExceptionCodes[error.status] as AppError).toProblem();
  } else if (error instanceof ConfigError) {
    console.error(error.message);
    problem = new AppError(
      500,
      'misconfigured',
      'The service is misconfigured; its logs say how.',
    ).toProblem();
  } else {
    if (!(error instanceof AppError)) console.error('unhandled error', error);
    problem = problemFromUnknown(error);
  }
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json' },
  });
}
