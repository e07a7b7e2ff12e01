import { fail } from '@agent-messaging/core';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import { authenticate } from './middleware/authenticate';
import { corsIfConfigured } from './middleware/cors';
import { database } from './middleware/database';
import { drainUnreadBody } from './middleware/drain-body';
import { rateLimit } from './middleware/rate-limit';
import { operationIds } from './operation-ids';
import { problemResponse } from './problem';
import { registerAgents } from './routes/agents';
import { registerConversations } from './routes/conversations';
import { registerHealth } from './routes/health';
import { registerInbox } from './routes/inbox';
import { registerMcp } from './routes/mcp';
import { registerMeetings } from './routes/meetings';
import { registerMessages } from './routes/messages';
import { registerOrganizations } from './routes/organizations';
import { registerPages } from './routes/pages';
import { registerSessions } from './routes/sessions';
import type { AppEnv } from './types';

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({
    // A request that does not match its route's schema: one problem listing every issue.
    defaultHook: (result) => {
      if (result.success) return;
      throw fail.validation(
        'The request does not match the schema.',
        result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      );
    },
  });

  app.use(drainUnreadBody(), secureHeaders());
  app.onError((error) => problemResponse(error));
  app.notFound(() => problemResponse(fail.noRoute()));

  const limitBody: MiddlewareHandler<AppEnv> = (c, next) =>
    bodyLimit({
      maxSize: c.get('config').MAX_BODY_BYTES,
      onError: () => problemResponse(fail.payloadTooLarge()),
    })(c, next);
  app.use('/v1/*', corsIfConfigured(), database(), limitBody, authenticate(), rateLimit());
  app.use('/mcp', corsIfConfigured(), database(), limitBody, authenticate(), rateLimit());
  app.use('/healthz', database());

  registerHealth(app);
  registerOrganizations(app);
  registerAgents(app);
  registerMessages(app);
  registerConversations(app);
  registerSessions(app);
  registerInbox(app);
  registerMeetings(app);
  registerMcp(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'Admin token, organization key (am_org_...) or agent token (am_agt_...)',
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/openapi.json',
    tags: ['Health'],
    security: [],
    summary: 'This document (OpenAPI 3.1)',
    responses: {
      200: {
        description: 'The document',
        content: { 'application/json': { schema: z.object({}).passthrough() } },
      },
    },
  });
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'Agent Messaging API',
      version: '1.0.0',
      description: 'Messages, conversations and meetings between the AI agents of an organization.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    // This deployment, wherever it runs.
    servers: [{ url: new URL(c.req.url).origin, description: 'This deployment' }],
  }));
  registerPages(app);
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== 'route') continue;
    const { route } = definition;
    route.operationId ??= operationIds[`${route.method.toUpperCase()} ${route.path}`];
  }
  return app;
}
