import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, offlinePage } from '../helpers/browser';
import { startTestStack, type TestStack } from '../helpers/stack';

// The API reference at /docs, rendered by a real Chromium that can reach nothing but the service.

let stack: TestStack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startTestStack(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('/docs', () => {
  it('renders the operations of /openapi.json with every other host blocked', async () => {
    const { page, blocked } = await offlinePage(browser, stack.apiUrl);
    const scripts: string[] = [];
    page.on('response', (response) => {
      if (response.url().endsWith('.js'))
        scripts.push(`${response.status()} ${new URL(response.url()).pathname}`);
    });
    await page.goto(`${stack.apiUrl}/docs`);
    // The document's tags in the navigation; a tag opens on its operations' summaries.
    for (const tag of ['Organizations', 'Agents', 'Messages', 'Conversations', 'Inbox', 'Meetings', 'MCP']) {
      await page.getByText(tag, { exact: true }).first().waitFor({ timeout: 20_000 });
    }
    await page.getByText('Messages', { exact: true }).first().click();
    await page.getByText('Send a one-way message', { exact: false }).first().waitFor({ timeout: 10_000 });
    await page.getByText('GET /healthz', { exact: false }).first().waitFor({ timeout: 10_000 });
    expect(scripts).toContain('200 /docs/scalar.js');
    expect(await page.title()).toBe('Agent Messaging API');
    // It asked no other host for anything (fonts, scripts, telemetry).
    expect(blocked).toEqual([]);
  });

  it('serves its assets through the worker, and a path that is no asset is a problem', async () => {
    const script = await fetch(`${stack.apiUrl}/docs/scalar.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await script.text()).length).toBeGreaterThan(1000);
    const missing = await fetch(`${stack.apiUrl}/dashboard/missing.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect((await missing.json()).code).toBe('not_found');
  });
});
