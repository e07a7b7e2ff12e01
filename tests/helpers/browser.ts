import chromium from '@sparticuz/chromium';
import { type Browser, type Page, chromium as playwright } from 'playwright-core';

/** A real headless Chromium, from the npm registry alone (see STACK.md). */
export async function launchBrowser(): Promise<Browser> {
  return playwright.launch({
    executablePath: await chromium.executablePath(),
    args: chromium.args,
    headless: true,
  });
}

/**
 * A page that may reach `origin` only: every request to another host is refused (as with no
 * internet) and listed in `blocked`.
 */
export async function offlinePage(
  browser: Browser,
  origin: string,
): Promise<{ page: Page; blocked: string[] }> {
  const context = await browser.newContext();
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    blocked.push(url);
    return route.abort('internetdisconnected');
  });
  return { page: await context.newPage(), blocked };
}
