// SPDX-License-Identifier: Apache-2.0
// Browser helpers for tests/browser: launch Debian's chromium through playwright-core (no browser
// download), collect console errors and CSP violations per page, take screenshots into
// tests/artifacts/, and run axe-core from node_modules inside a page. Nothing here reaches the
// network beyond the gateway under test: third-party requests are aborted and recorded.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.resolve(HERE, '../../artifacts');
export const DOCS_IMG = path.resolve(HERE, '../../../docs/img');
const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// A fresh context (own cookies and localStorage) whose pages may only talk to `origin`.
// page.problems collects console errors, page errors, CSP violations and foreign requests.
export async function newContext(browser, origin, opts = {}) {
  const ctx = await browser.newContext({ locale: 'de-DE', viewport: { width: 1280, height: 860 }, ...opts });
  const foreign = [];
  await ctx.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    foreign.push(u);
    return route.abort();
  });
  ctx.foreign = foreign;
  return ctx;
}

export async function newPage(ctx) {
  const page = await ctx.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/WebSocket connection|Failed to load resource/.test(m.text())) page.problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
  return page;
}

export async function shot(page, name, { docs = false, fullPage = false } = {}) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name + '.png');
  await page.screenshot({ path: file, fullPage });
  // Shots marked docs:true are refreshed in docs/img only on request, so that a normal test run
  // never modifies the source tree: CAREGATE_DOCS_SHOTS=1 node --test tests/browser/
  if (docs && process.env.CAREGATE_DOCS_SHOTS === '1') {
    fs.mkdirSync(DOCS_IMG, { recursive: true });
    fs.copyFileSync(file, path.join(DOCS_IMG, name + '.png'));
  }
  return file;
}

// Run axe-core in a page or frame; returns the violations of impact serious or critical.
export async function axe(target, context = 'document') {
  // axe itself applies a style while it measures, which the gateway's CSP blocks and logs; that
  // report is axe's, not the page's, so it is taken out of page.problems again.
  const page = typeof target.page === 'function' ? target.page() : target;
  const before = page.problems ? page.problems.length : 0;
  try {
    return await runAxe(target, context);
  } finally {
    if (page.problems) {
      const added = page.problems.splice(before).filter((p) => !/Applying inline style violates/.test(p));
      page.problems.push(...added);
    }
  }
}

async function runAxe(target, context) {
  // page.addScriptTag({path}) inlines the file, which the gateway's CSP (default-src 'self')
  // rightly blocks (and logs as a violation); evaluating the same source through the DevTools
  // protocol is not subject to the page's CSP, so the CSP stays on while axe runs.
  if (!(await target.evaluate(() => typeof window.axe === 'object'))) await target.evaluate(fs.readFileSync(AXE, 'utf8'));
  const res = await target.evaluate(async (ctx) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(ctx === 'document' ? document : ctx, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  }, context);
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

// The chat iframe of a page that embeds embed.js (after the launcher was clicked). The launcher
// lives in an open shadow root, which playwright's CSS selectors pierce.
export async function chatFrame(page) {
  const handle = await page.waitForSelector('iframe[src*="chat.html"]', { state: 'attached' });
  const frame = await handle.contentFrame();
  // The language list is filled by chat.js: once it is there the chat has initialised (the
  // privacy notice is shown or not), so callers can look at the page's real state.
  await frame.waitForSelector('#lang option', { state: 'attached' });
  return frame;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
