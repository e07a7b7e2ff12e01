import { AgentMessagingError, errorFromProblem, NetworkError } from './errors';

export interface ClientOptions {
  /** The API's origin, e.g. http://127.0.0.1:8787 */
  baseUrl: string;
  /** Admin token, organization key (am_org_...) or agent token (am_agt_...). */
  token: string;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
  /** Per-request timeout; long waits (sync, long-polls) extend it by what they wait. Default 30 s. */
  timeoutMs?: number;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  idempotencyKey?: string | undefined;
  /** Added to the client's timeout for calls the server holds open on purpose. */
  extraTimeoutMs?: number;
  /** Cancels the call. */
  signal?: AbortSignal | undefined;
}

export type Request = <T>(method: string, path: string, options?: RequestOptions) => Promise<T>;

/** A path with its parameters URL-encoded: path`/v1/agents/${id}`. */
export const path = (strings: TemplateStringsArray, ...params: string[]) =>
  strings.reduce((built, part, i) => built + encodeURIComponent(params[i - 1] as string) + part);

/** One way to call the API: JSON in, JSON out, problems turned into typed errors. */
export function createTransport(options: ClientOptions): Request {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async <T>(method: string, path: string, request: RequestOptions = {}): Promise<T> => {
    const query = Object.entries(request.query ?? {}).filter(
      (entry): entry is [string, string | number] => entry[1] !== undefined,
    );
    const url = `${baseUrl}${path}${query.length ? `?${new URLSearchParams(query.map(([k, v]) => [k, String(v)]))}` : ''}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.token}`,
      accept: 'application/json',
    };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (request.idempotencyKey) headers['idempotency-key'] = request.idempotencyKey;
    // One controller for the timeout and the caller's signal, held here until the answer is read
    // (AbortSignal.any with AbortSignal.timeout can lose its timer to the garbage collector on Node 20).
    const waitMs = timeoutMs + (request.extraTimeoutMs ?? 0);
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException(`no answer within ${waitMs} ms`, 'TimeoutError')),
      waitMs,
    );
    const cancel = () => controller.abort(request.signal?.reason);
    if (request.signal?.aborted) cancel();
    request.signal?.addEventListener('abort', cancel, { once: true });
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, {
        method,
        headers,
        ...(request.body !== undefined && { body: JSON.stringify(request.body) }),
        signal: controller.signal,
      });
      text = await response.text();
    } catch (error) {
      throw new NetworkError(`${method} ${path} failed: ${(error as Error).message}`, {
        code: 'network_error',
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', cancel);
    }
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      if (response.ok)
        throw new AgentMessagingError(`${method} ${path}: the answer is not JSON`, {
          status: response.status,
          code: 'invalid_response',
        });
    }
    if (!response.ok) throw errorFromProblem(response.status, body);
    return body as T;
  };
}
