// End to end in headless Chromium (Debian's, driven by playwright-core): the web page against a
// real server on PostgreSQL, with change notifications over LISTEN/NOTIFY (no Redis here).
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestServer, type RunningServer } from './helpers.js';

const RESULTS_DIR = fileURLToPath(new URL('../test-results/', import.meta.url));

/** Flags for Chromium on a machine without network: no background traffic, no first-run UI. */
const CHROMIUM_ARGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let server: RunningServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ seed: true });
  // Playwright starts Chromium with --headless, --no-sandbox and a fresh temporary profile.
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const count = (testid: string) => page.locator(`[data-testid="${testid}"]`).count();

async function waitForCount(testid: string, n: number): Promise<void> {
  await page.waitForFunction(([id, expected]) => document.querySelectorAll(`[data-testid="${id}"]`).length === expected, [testid, n] as const);
}

function checkpointByNode(node: string) {
  return page.locator(`[data-testid="checkpoint"][data-node="${node}"]`);
}

describe('the demo page', () => {
  it('opens on the seeded thread with its timeline and the connection badges', async () => {
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]');
    await expect(page.locator('[data-testid="health"] li[data-service="postgresql"]').getAttribute('data-state')).resolves.toBe('ok');
    await expect(page.locator('[data-testid="health"] li[data-service="pgvector"]').getAttribute('data-state')).resolves.toBe('ok');
    await expect(page.locator('[data-testid="thread-title"]').textContent()).resolves.toContain('Welcome');
    await waitForCount('checkpoint', 6);
  });

  it('creates a thread and runs the workflow, the timeline filling live', async () => {
    await page.fill('[data-testid="new-thread-title"]', 'E2E thread');
    await page.click('[data-testid="create-thread"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="thread-title"]')?.textContent === 'E2E thread');
    await page.waitForSelector('[data-testid="live-status"].on');
    await page.fill('[data-testid="question"]', 'How does a rewind of checkpoints work?');
    await page.click('[data-testid="run"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent?.startsWith('Done: 6 step(s)'));
    await waitForCount('checkpoint', 6);
    // Every checkpoint also arrived as a server-sent event.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="events"] li[data-type="checkpoint.saved"]').length === 6);
    await expect(page.locator('[data-testid="state"]').textContent()).resolves.toContain('[Checkpoints and time travel]');
  });

  it('rewinds to an earlier checkpoint and resumes from it', async () => {
    await checkpointByNode('retrieve').first().locator('[data-testid="rewind"]').click();
    await waitForCount('checkpoint', 7);
    await expect(page.locator('[data-testid="checkpoint"]').first().textContent()).resolves.toContain('rewound to');
    await page.click('[data-testid="resume"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent?.startsWith('Done: 3 step(s) (draft → review → answer)'));
    await waitForCount('checkpoint', 10);
  });

  it('diffs two checkpoints', async () => {
    await checkpointByNode('receive').first().locator('[data-testid="tick"]').check();
    await page.locator('[data-testid="checkpoint"]').first().locator('[data-testid="tick"]').check();
    await page.click('[data-testid="diff"]');
    await page.waitForSelector('[data-testid="diff-op"]');
    const operations = await page.locator('[data-testid="diff-op"]').allTextContents();
    expect(operations).toEqual(expect.arrayContaining(['replace /node = "answer"']));
    expect(operations.some((op) => op.startsWith('replace /answer'))).toBe(true);
    await mkdir(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: `${RESULTS_DIR}demo-timeline.png`, fullPage: true });
  });

  it('forks a new thread from a checkpoint', async () => {
    await checkpointByNode('plan').first().locator('[data-testid="fork"]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="thread-title"]')?.textContent?.includes('(fork at plan)'));
    await waitForCount('checkpoint', 1);
    await expect(checkpointByNode('plan').count()).resolves.toBe(1);
    await expect(count('thread-item')).resolves.toBeGreaterThanOrEqual(3);
  });

  it('ingests pasted text and an uploaded file, then searches with scores and filters', async () => {
    await page.fill('[data-testid="doc-title"]', 'Glacier notes');
    await page.fill('[data-testid="doc-text"]', 'Glaciers leave moraines and erratic boulders behind when the ice retreats.');
    await page.fill('[data-testid="doc-tags"]', 'geology');
    await page.click('[data-testid="ingest"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="ingest-status"]')?.textContent?.startsWith('Ingested “Glacier notes”'));

    await page.setInputFiles('[data-testid="doc-file"]', { name: 'volcano.md', mimeType: 'text/markdown', buffer: Buffer.from('# Volcano notes\n\nLava cools into basalt near the vents.') });
    await page.click('[data-testid="upload"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="ingest-status"]')?.textContent?.startsWith('Ingested “Volcano notes”'));
    await expect(page.locator('[data-testid="sources"]').textContent()).resolves.toContain('Volcano notes');

    await page.fill('[data-testid="query"]', 'glacier moraines');
    await page.click('[data-testid="search"]');
    await page.waitForSelector('[data-testid="result"]');
    const first = page.locator('[data-testid="result"]').first();
    await expect(first.locator('.source').textContent()).resolves.toBe('Glacier notes');
    await expect(first.locator('.score').textContent()).resolves.toMatch(/^\d\.\d{4}$/);

    await page.selectOption('[data-testid="mode"]', 'vector');
    await page.selectOption('[data-testid="filter-source"]', 'volcano');
    await page.fill('[data-testid="query"]', 'lava basalt');
    await page.click('[data-testid="search"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="search-status"]')?.textContent?.includes('(vector, filtered)'));
    const titles = await page.locator('[data-testid="result"] .source').allTextContents();
    expect(titles.length).toBeGreaterThan(0);
    expect(new Set(titles)).toEqual(new Set(['Volcano notes']));

    await mkdir(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: `${RESULTS_DIR}demo-e2e.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
