import { z } from '@hono/zod-openapi';
import { problems } from '../schemas';
import type { App } from '../types';

// Pages for people. Their scripts and styles are static assets of this worker (see
// packages/local/src/api-assets.ts), so they ask no other host for anything.

const page = (title: string, head: string, body: string) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title}</title>
    ${head}
  </head>
  <body>
    ${body}
  </body>
</html>`;

const docs = page(
  'Agent Messaging API',
  '',
  `<div id="app"></div>
    <script src="/docs/scalar.js"></script>
    <script>
      Scalar.createApiReference('#app', {
        url: '/openapi.json',
        withDefaultFonts: false,
        showDeveloperTools: 'never',
        agent: { disabled: true },
      });
    </script>`,
);

const dashboard = page(
  'Agent Messaging dashboard',
  '<link rel="stylesheet" href="/dashboard/style.css" />',
  `<div id="root"><noscript>The dashboard needs JavaScript.</noscript></div>
    <script type="module" src="/dashboard/app.js"></script>`,
);

/** The dashboard runs only its own script and talks only to this origin. */
const dashboardPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const html = (description: string) => ({
  200: { description, content: { 'text/html': { schema: z.string() } } },
});

export function registerPages(app: App) {
  for (const [path, summary] of [
    ['/docs', 'This reference, rendered (no other host needed)'],
    ['/dashboard', 'The dashboard for the organization key holder'],
  ] as const) {
    app.openAPIRegistry.registerPath({
      method: 'get',
      path,
      tags: ['Pages'],
      security: [],
      summary,
      responses: html('The page'),
    });
  }
  app.get('/docs', (c) => c.html(docs));
  app.get('/dashboard', (c) => {
    c.header('content-security-policy', dashboardPolicy);
    c.header('referrer-policy', 'no-referrer');
    return c.html(dashboard);
  });
  // In the cloud the platform serves an existing asset before the worker runs; locally (and for a
  // path that is no asset) the request comes here and the same files answer through the binding.
  for (const [page, kinds] of [
    ['docs', 'The reference renderer (JavaScript)'],
    ['dashboard', "The dashboard's script and stylesheet"],
  ] as const) {
    app.openAPIRegistry.registerPath({
      method: 'get',
      path: `/${page}/{asset}`,
      tags: ['Pages'],
      security: [],
      summary: `${kinds}, a static asset`,
      request: { params: z.object({ asset: z.string() }) },
      responses: {
        200: {
          description: 'The file',
          content: { 'text/javascript': { schema: z.string() }, 'text/css': { schema: z.string() } },
        },
        404: problems[404],
      },
    });
    app.get(`/${page}/:asset`, async (c) => {
      if (!c.env.ASSETS) return c.notFound();
      const asset = await c.env.ASSETS.fetch(c.req.raw);
      if (asset.status === 404) return c.notFound();
      // A fetched response's headers are immutable; the secure headers are added to a copy.
      return new Response(asset.body, asset);
    });
  }
}
