import { describe, expect, it } from 'vitest';
import { createApp } from '../../functions/api/src/app';

// OWASP API Security Top 10 (2023), API9: Improper Inventory Management. The OpenAPI document is
// the inventory: it lists every route the api answers and nothing else (no forgotten or
// undocumented route), and there is one version of the API, /v1.

describe('API9: the OpenAPI document lists every route that exists, and nothing else', () => {
  it('the routes the app serves are exactly the operations of its document', async () => {
    const app = createApp();
    const served = app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    const document = await (await app.request('/openapi.json')).json();
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect([...new Set(served)].sort()).toEqual([...new Set(documented)].sort());
    // One version, and every /v1 operation says who may call it.
    for (const path of Object.keys(document.paths))
      expect(path).toMatch(/^\/(v1\/|mcp$|healthz$|openapi\.json$|(docs|dashboard)(\/\{asset\})?$)/);
  });
});
