import { createConfig, lintFromString } from '@redocly/openapi-core';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../functions/api/src/app';

// The OpenAPI document is clean under Redocly's recommended rules: servers, security on every
// operation (security: [] on public ones), an operationId on each, responses for each.

/**
 * Operations that are not resources, with why a rule does not fit them: pages and the document
 * itself answer what they are or nothing (no 4xx of their own), and /mcp's GET and DELETE exist
 * only to say 405 (a stateless MCP server offers neither), so they have no 2xx.
 */
const notResources: Record<string, string[]> = {
  'operation-4xx-response': ['/healthz', '/openapi.json', '/docs', '/dashboard'].map(
    (path) => `#/paths/${path.replaceAll('/', '~1')}/get/responses`,
  ),
  'operation-2xx-response': ['get', 'delete'].map((method) => `#/paths/~1mcp/${method}/responses`),
};

describe('the OpenAPI document', () => {
  it("is clean under Redocly's recommended rules", async () => {
    const document = await (await createApp().request('https://agents.acme.test/openapi.json')).json();
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({
      source: JSON.stringify(document),
      absoluteRef: '/openapi.json',
      config,
    });
    const unexpected = problems
      .filter((problem) => !notResources[problem.ruleId]?.includes(problem.location[0]?.pointer ?? ''))
      .map(
        (problem) =>
          `${problem.severity} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer}`,
      );
    expect(unexpected).toEqual([]);
    // The exceptions are real: each one is still reported, so none is stale.
    expect(problems.length).toBe(Object.values(notResources).flat().length);
    expect(document.servers).toEqual([{ url: 'https://agents.acme.test', description: 'This deployment' }]);
  });

  it('names every operation, uniquely', async () => {
    const document = await (await createApp().request('/openapi.json')).json();
    const ids = Object.values(
      document.paths as Record<string, Record<string, { operationId?: string }>>,
    ).flatMap((methods) => Object.values(methods).map((operation) => operation.operationId));
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
