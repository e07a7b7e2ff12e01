import { AppError, requireKind } from '@agent-messaging/core';
import { z } from '@hono/zod-openapi';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { mcpServer } from '../mcp/server';
import { problemResponse } from '../problem';
import { bearerAuth, json, jsonBody, problemResponses } from '../schemas';
import type { App } from '../types';

const JsonRpc = z.object({ jsonrpc: z.literal('2.0') }).passthrough();

/**
 * `POST /mcp`: the Model Context Protocol over Streamable HTTP, stateless (no session, JSON
 * responses), for agent tokens; its tools are the API's operations (see ../mcp/tools.ts). The
 * caller's credential is checked by the same middleware as the API's (app.ts).
 */
export function registerMcp(app: App) {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/mcp',
    tags: ['MCP'],
    security: bearerAuth,
    summary:
      'The Model Context Protocol (Streamable HTTP, stateless): the API as tools, acting as your agent',
    request: { body: jsonBody(JsonRpc) },
    responses: { 200: json(JsonRpc, 'The JSON-RPC response'), ...problemResponses(401, 403, 413, 415) },
  });
  app.post('/mcp', async (c) => {
    requireKind(c.get('principal'), 'agent');
    const server = mcpServer(c, (request) => Promise.resolve(app.fetch(request, c.env, c.executionCtx)));
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });
  for (const method of ['get', 'delete'] as const) {
    app.openAPIRegistry.registerPath({
      method,
      path: '/mcp',
      tags: ['MCP'],
      security: bearerAuth,
      summary: 'Not offered: the server is stateless (no server-initiated stream, no session to end)',
      responses: { 405: problemResponses(405)[405], ...problemResponses(401) },
    });
  }
  // No server-initiated stream and no session to delete: this server answers POSTs only.
  app.on(['GET', 'DELETE'], '/mcp', () => {
    const response = problemResponse(new AppError(405, 'method_not_allowed', 'Use POST /mcp.'));
    response.headers.set('allow', 'POST');
    return response;
  });
}
