import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from 'hono';
import type { AppEnv } from '../types';
import { toolInput, toolOutput, tools } from './tools';

/** The API, called in this isolate: `app.fetch` with this request's bindings and lifetime. */
type Call = (request: Request) => Promise<Response>;

/**
 * A problem+json answer as a tool error a model can read: the same code and detail. As text only:
 * clients check any structured content against the tool's output schema, errors included.
 */
function toolError(problem: { code?: string; detail?: string }): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: `${problem.code ?? 'error'}: ${problem.detail ?? ''}` }],
  };
}

/**
 * The MCP server for one request (stateless: nothing kept between requests, so any isolate serves
 * any request). Every tool and resource is an API call made as the caller, with the caller's own
 * token, through the same routes, checks and services as over HTTP.
 */
export function mcpServer(c: Context<AppEnv>, call: Call): McpServer {
  const server = new McpServer({ name: 'agent-messaging', version: '1.0.0' });
  const origin = new URL(c.req.url).origin;
  const authorization = c.req.header('authorization') ?? '';
  const get = async (path: string) => {
    const response = await call(new Request(new URL(path, origin), { headers: { authorization } }));
    return { ok: response.ok, body: await response.json() };
  };

  for (const tool of tools) {
    const input = toolInput(tool.route);
    const outputSchema = toolOutput(tool.route);
    server.registerTool(
      tool.name,
      {
        description: tool.description,
        inputSchema: input.schema,
        ...(outputSchema && { outputSchema }),
        annotations: { readOnlyHint: tool.route.method === 'get' },
      },
      async (args: Record<string, unknown>): Promise<CallToolResult> => {
        const response = await call(input.toRequest(args, origin, authorization));
        const body = await response.json();
        if (!response.ok) return toolError(body);
        return { content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body };
      },
    );
  }

  const resource = (uri: string, { ok, body }: { ok: boolean; body: unknown }) => {
    if (!ok) {
      const problem = body as { code?: string; detail?: string };
      throw new Error(`${problem.code}: ${problem.detail}`);
    }
    return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(body) }] };
  };
  server.registerResource(
    'inbox',
    'inbox://unacknowledged',
    { description: 'Your unacknowledged messages, oldest first', mimeType: 'application/json' },
    async (uri) => resource(uri.href, await get('/v1/inbox?limit=200')),
  );
  server.registerResource(
    'meeting-history',
    new ResourceTemplate('meeting://{meetingId}/history', { list: undefined }),
    { description: "A meeting's messages in order (the first 500)", mimeType: 'application/json' },
    async (uri, { meetingId }) =>
      resource(
        uri.href,
        await get(`/v1/meetings/${encodeURIComponent(String(meetingId))}/messages?limit=500`),
      ),
  );
  return server;
}
