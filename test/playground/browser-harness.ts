// Starts a playground (own database, own BullMQ prefix, page on port 0) and opens it in Debian's Chromium.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startPlayground, type RunningPlayground } from '../../src/playground/start.ts';
import { deleteKeys } from '../support/e2e.ts';

/** Generous: a shared 2-core machine runs these beside everything else. */
export const UI_TIMEOUT_MS = 15_000;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface OpenPlayground {
  page: Page;
  playground: RunningPlayground;
  /** Every URL the page has asked for. */
  requested: string[];
  actAs(name: string): Promise<void>;
  openChannel(name: string): Promise<void>;
  openSesame(tab: 'Home' | 'Messages'): Promise<void>;
  type(text: string): Promise<void>;
  /** The conversation shown, to find messages in. */
  conversation(): Locator;
  /** Waits until `locator` is visible. */
  see(locator: Locator, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function openPlayground(browser: Browser, env: NodeJS.ProcessEnv = {}): Promise<OpenPlayground> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-playground-'));
  const prefix = `sesame-playground-test-${randomUUID()}`;
  const playground = await startPlayground({
    env: { REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_PATH: join(dir, 'playground.db'), ...env },
    port: 0,
    redisPrefix: prefix,
    log: pino({ level: 'silent' }),
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  const requested: string[] = [];
  page.on('request', (request) => void requested.push(request.url()));
  await page.goto(playground.url);
  const see = (locator: Locator, timeoutMs = UI_TIMEOUT_MS) => locator.waitFor({ state: 'visible', timeout: timeoutMs });
  const composer = page.getByRole('textbox', { name: 'Message' });
  return {
    page,
    playground,
    requested,
    see,
    actAs: async (name) => {
      await page.getByLabel('Acting as').selectOption({ label: name });
    },
    openChannel: async (name) => {
      await page.getByRole('button', { name: `# ${name}` }).click();
      await see(page.getByRole('heading', { name: `#${name}` }));
    },
    openSesame: async (tab) => {
      await page.getByRole('button', { name: 'Sesame', exact: true }).click();
      await page.getByRole('tab', { name: tab }).click();
    },
    type: async (text) => {
      await composer.fill(text);
      await composer.press('Enter');
    },
    conversation: () => page.getByRole('log'),
    close: async () => {
      await context.close();
      await playground.stop();
      await deleteKeys(`${prefix}:*`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
