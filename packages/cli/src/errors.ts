import {
  AgentMessagingError,
  ConflictError,
  NetworkError,
  NotFoundError,
  TimeoutError,
} from '@agent-messaging/sdk';
import { CommanderError } from 'commander';

export const ExitCode = { ok: 0, error: 1, usage: 2, notFound: 4, conflict: 5, timeout: 6 } as const;

/** A failure of the CLI itself (no credential, a broken config file), with a code like the API's. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Failure {
  exitCode: number;
  code: string;
  message: string;
  /** The HTTP status, for the API's errors. */
  status?: number;
  /** Which fields were invalid, for the API's validation errors. */
  errors?: { path: string; message: string }[];
}

/** The innermost cause's message: "fetch failed" alone does not say that the connection was refused. */
function rootCause(error: Error): string | undefined {
  let cause: unknown = error.cause;
  let message: string | undefined;
  while (cause instanceof Error) {
    message = cause.message;
    cause = cause.cause;
  }
  return message;
}

const exitCodeOf = (error: AgentMessagingError) =>
  error instanceof NotFoundError
    ? ExitCode.notFound
    : error instanceof ConflictError
      ? ExitCode.conflict
      : error instanceof TimeoutError
        ? ExitCode.timeout
        : ExitCode.error;

/** What a thrown error means for the user: its exit code, its code and one line to read. */
export function failureOf(error: unknown): Failure {
  if (error instanceof CommanderError) {
    // Commander's messages start with "error: ", which the report adds back with the code.
    const message = error.message.replace(/^error: /, '');
    return { exitCode: error.exitCode === 0 ? ExitCode.ok : ExitCode.usage, code: 'usage', message };
  }
  if (error instanceof AgentMessagingError) {
    const cause = error instanceof NetworkError ? rootCause(error) : undefined;
    return {
      exitCode: exitCodeOf(error),
      code: error.code,
      message: cause ? `${error.detail} (${cause})` : error.detail,
      ...(error.status > 0 && { status: error.status }),
      ...(error.problem?.errors && { errors: error.problem.errors }),
    };
  }
  if (error instanceof CliError)
    return { exitCode: ExitCode.error, code: error.code, message: error.message };
  return { exitCode: ExitCode.error, code: 'internal', message: String((error as Error)?.message ?? error) };
}
