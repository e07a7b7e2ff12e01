import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, offlinePage } from '../helpers/browser';
import { startEndpoint } from '../helpers/endpoint';
import {
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// The dashboard in a real Chromium against the real stack (with the sweeper's clock, as in the
// cloud), reaching no other host: sign in, see the agents, watch a meeting advance by a timeout
// without reloading, redeliver a dead message and see it delivered.

const SCREENSHOTS = '.tmp/screenshots';

let stack: TestStack;
let browser: Browser;
let orgKey: string;
let alice: TestAgent;
let bob: TestAgent;
let flaky: TestAgent;
let failing = true;
let endpoint: Awaited<ReturnType<typeof startEndpoint>>;

beforeAll(async () => {
  [stack, browser, endpoint] = await Promise.all([
    startTestStack({}, { ticker: true }),
    launchBrowser(),
    startEndpoint(() => (failing ? new Response('down', { status: 503 }) : Response.json({}))),
  ]);
  orgKey = (await createOrganization(stack, 'Dashboard Inc')).apiKey;
  alice = await createAgent(stack, orgKey, { name: 'alice' });
  bob = await createAgent(stack, orgKey, { name: 'bob' });
  flaky = await createAgent(stack, orgKey, { name: 'flaky', endpointUrl: endpoint.url });
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await endpoint?.close();
  await stack?.stop();
});

async function signedIn(width = 1280): Promise<{ page: Page; blocked: string[] }> {
  const opened = await offlinePage(browser, stack.apiUrl);
  await opened.page.setViewportSize({ width, height: 900 });
  await opened.page.goto(`${stack.apiUrl}/dashboard`);
  await opened.page.getByLabel('Organization key').fill(orgKey);
  await opened.page.getByRole('button', { name: 'Sign in' }).click();
  await opened.page.getByRole('table', { name: 'Agents' }).waitFor();
  return opened;
}

describe('/dashboard', () => {
  it('signs in with the organization key, kept in session storage and never in the URL', async () => {
    const { page, blocked } = await signedIn();
    const agents = page.getByRole('table', { name: 'Agents' });
    for (const name of ['alice', 'bob', 'flaky'])
      await agents.getByRole('cell', { name, exact: true }).waitFor();
    await expect(agents.getByRole('row', { name: /flaky/ }).textContent()).resolves.toContain(
      new URL(endpoint.url).host,
    );
    expect(page.url()).not.toContain(orgKey);
    expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(orgKey);
    // A reload keeps the tab signed in; signing out forgets the key.
    await page.reload();
    await page.getByRole('table', { name: 'Agents' }).waitFor();
    await expect(page.getByRole('link', { name: 'Agents' }).getAttribute('aria-current')).resolves.toBe(
      'page',
    );
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Organization key').waitFor();
    expect(await page.evaluate(() => Object.values(sessionStorage))).not.toContain(orgKey);
    // An agent token is refused with a reason.
    await page.getByLabel('Organization key').fill(alice.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('organization key');
    expect(blocked).toEqual([]);
  });

  it('shows a meeting live: a timeout moves the turn on, without reloading', async () => {
    const created = await stack.call('POST', '/v1/meetings', {
      token: alice.token,
      body: { title: 'Weekly sync', participantIds: [bob.id], turnDurationMs: 2000 },
    });
    const id = created.body.meeting.id;
    await stack.call('POST', `/v1/meetings/${id}/attend`, { token: bob.token });
    const { page, blocked } = await signedIn();
    await page.getByRole('link', { name: 'Meetings' }).click();
    await page.getByRole('link', { name: 'Watch Weekly sync' }).waitFor();
    // Started after the page loaded: the page learns it from the events alone.
    await page.getByRole('link', { name: 'Watch Weekly sync' }).click();
    await page.getByRole('heading', { name: 'Weekly sync' }).waitFor();
    await page.evaluate(() => {
      (window as unknown as { stayed: boolean }).stayed = true;
    });
    await stack.call('POST', `/v1/meetings/${id}/start`, { token: alice.token, body: { content: 'Agenda' } });
    const speaker = page.locator('#current-speaker');
    await expect.poll(() => speaker.textContent(), { timeout: 10_000 }).toContain('bob');
    await expect(page.locator('#countdown').textContent()).resolves.toMatch(/Turn ends in [0-2] s/);
    await page.screenshot({ path: `${SCREENSHOTS}/meeting.png` });
    // bob stays silent: his turn times out and alice speaks next, on the page as it is.
    await expect.poll(() => speaker.textContent(), { timeout: 10_000 }).toContain('alice');
    const transcript = page.getByRole('list', { name: 'Transcript' });
    await expect.poll(() => transcript.textContent()).toContain('turn_timed_out');
    await expect(transcript.textContent()).resolves.toContain('Agenda');
    await expect(page.getByRole('list', { name: 'Events as they happen' }).textContent()).resolves.toContain(
      'turn timed out',
    );
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    expect(blocked).toEqual([]);
  });

  it('redelivers a dead letter, which is then delivered', async () => {
    const sent = await stack.call('POST', '/v1/messages', {
      token: alice.token,
      body: { to: flaky.id, content: { text: 'are you there?' } },
    });
    const id = sent.body.message.id;
    // Every attempt fails: after the last one the message is dead (the clock drives the retries).
    await eventually(
      async () =>
        (await stack.call('GET', `/v1/messages/${id}`, { token: orgKey })).body.message.status === 'dead',
      15_000,
    );
    failing = false;
    const { page, blocked } = await signedIn();
    await page.getByRole('link', { name: 'Dead letters' }).click();
    const row = page.getByRole('table', { name: 'Dead letters' }).getByRole('row', { name: /are you there/ });
    await row.getByText('dead').waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/dead-letters.png` });
    await row.getByRole('button', { name: 'Redeliver' }).click();
    await row.getByText('delivered').waitFor({ timeout: 15_000 });
    await expect(page.getByRole('status').textContent()).resolves.toContain('delivered');
    expect(endpoint.received.at(-1)?.body.message.id).toBe(id);
    // The messages view shows it delivered, with every attempt.
    await page.getByRole('link', { name: 'Messages', exact: true }).click();
    const message = page
      .getByRole('table', { name: 'Latest messages' })
      .getByRole('row', { name: /are you there/ });
    await message.getByRole('button', { name: 'Attempts' }).click();
    await expect.poll(() => message.textContent()).toContain('HTTP 200');
    // The endpoint's health: one dead, then delivered, the last failure a 503.
    await page.getByRole('link', { name: 'Agents', exact: true }).click();
    const health = page.getByRole('table', { name: 'Agents' }).getByRole('row', { name: /flaky/ });
    await expect.poll(() => health.textContent()).toContain('HTTP 503');
    await page.screenshot({ path: `${SCREENSHOTS}/agents.png` });
    expect(blocked).toEqual([]);
  });

  it('fits a narrow screen', async () => {
    const { page } = await signedIn(375);
    const captions = {
      Agents: 'Agents',
      Messages: 'Latest messages',
      'Dead letters': 'Dead letters',
      Sessions: 'Sessions',
      Meetings: 'Meetings',
    };
    for (const [section, caption] of Object.entries(captions)) {
      const link = page.getByRole('link', { name: section, exact: true });
      await link.click();
      await expect.poll(() => link.getAttribute('aria-current')).toBe('page');
      await expect.poll(() => page.locator('main p.loading').count()).toBe(0);
      await page.getByRole('table', { name: caption }).or(page.locator('main p.empty')).first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, section).toBeLessThanOrEqual(0);
    }
    await page.getByRole('link', { name: 'Agents', exact: true }).click();
    await page.getByRole('table', { name: 'Agents' }).waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/agents-narrow.png` });
  });
});
