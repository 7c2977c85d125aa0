// SPDX-License-Identifier: Apache-2.0
//
// Desktop notifications in the staff console: opt-in by a button (the browser's permission is
// asked for on the click), one notification per new patient message in a conversation that is
// not open, carrying the short conversation id and the channel only — never the message text.
// Clicking it opens the conversation. The browser's Notification is replaced by a recorder in
// the page (headless Chromium shows no notifications), with the permission the test chooses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeServer } from './lib/fakeserver.mjs';
import { launch, newContext, newPage, chatFrame } from './lib/browser.mjs';

let fake;
let browser;

before(async () => {
  fake = await startFakeServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await fake?.close();
});

const recorder = (answer) => {
  window.__shown = [];
  class FakeNotification {
    // The browser remembers a granted permission across reloads; so does the recorder.
    static permission = sessionStorage.getItem('__perm') || 'default';
    static async requestPermission() {
      sessionStorage.setItem('__perm', window.__answer);
      FakeNotification.permission = window.__answer;
      return window.__answer;
    }
    constructor(title, opts) { this.title = title; this.opts = opts; window.__shown.push(this); }
    close() { this.closed = true; }
  }
  window.__answer = answer;
  window.Notification = FakeNotification;
};

async function console_(answer) {
  const ctx = await newContext(browser, fake.url);
  await ctx.addInitScript(recorder, answer);
  const sp = await newPage(ctx);
  await sp.goto(fake.url + '/console/index.html');
  await sp.fill('#email', 'anna@demo-clinic.example');
  await sp.fill('#password', 'correct horse');
  await sp.click('#login-btn');
  await sp.waitForSelector('#conn[data-state="online"]');
  return { ctx, sp };
}

async function patientSays(text) {
  const ctx = await newContext(browser, fake.url);
  const page = await newPage(ctx);
  await page.goto(fake.url + '/demo/index.html');
  await page.locator('.launcher').click();
  const f = await chatFrame(page);
  if (await f.locator('#privacy-ok').isVisible()) await f.click('#privacy-ok');
  await f.fill('#text', text);
  await f.press('#text', 'Enter');
  await f.waitForSelector('.msg.me[data-state="sent"]');
  return ctx;
}

test('opt-in, then a notification without message text; click opens the conversation', async () => {
  const { ctx, sp } = await console_('granted');
  assert.equal(await sp.getAttribute('#notify', 'aria-pressed'), 'false');
  await patientSays('Vor dem Opt-in: Frage zum Parkplatz');
  await sp.waitForTimeout(500);
  assert.equal(await sp.evaluate(() => window.__shown.length), 0, 'nothing before the opt-in');

  await sp.click('#notify');
  await sp.waitForSelector('#notify[aria-pressed="true"]');
  const secret = 'Ich habe Diabetes, Tel. 0170 1234567';
  const pctx = await patientSays(secret);
  await sp.waitForFunction(() => window.__shown.length === 1);
  const n = await sp.evaluate(() => ({ title: window.__shown[0].title, ...window.__shown[0].opts }));
  assert.equal(n.title, 'Neue Nachricht');
  assert.match(n.body, /^Unterhaltung #[0-9a-z-]+ · Web-Chat$/);
  for (const part of ['Diabetes', '0170', '1234567', 'Parkplatz']) assert.ok(!JSON.stringify(n).includes(part), `no ${part} in the notification`);

  await sp.evaluate(() => window.__shown[0].onclick());
  await sp.locator('.m.patient', { hasText: 'Diabetes' }).waitFor();
  assert.equal(await sp.evaluate(() => window.__shown[0].closed), true);

  // The preference is kept across a reload, and can be switched off again.
  await sp.reload();
  await sp.waitForSelector('#conn[data-state="online"]');
  await sp.waitForSelector('#notify[aria-pressed="true"]');
  await sp.click('#notify');
  await sp.waitForSelector('#notify[aria-pressed="false"]');
  assert.deepEqual(sp.problems, []);
  await pctx.close();
  await ctx.close();
});

test('permission refused: the button says so and nothing is shown', async () => {
  const { ctx, sp } = await console_('denied');
  await sp.click('#notify');
  await sp.waitForFunction(() => /blockiert/.test(document.getElementById('notify-label').textContent));
  assert.equal(await sp.getAttribute('#notify', 'aria-pressed'), 'false');
  const pctx = await patientSays('Frage nach der Ablehnung');
  await sp.waitForTimeout(500);
  assert.equal(await sp.evaluate(() => window.__shown.length), 0);
  await pctx.close();
  await ctx.close();
});
