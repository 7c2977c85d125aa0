// SPDX-License-Identifier: Apache-2.0
// The DPO console (widget/dpo/) in headless Debian chromium against the REAL gateway: a patient
// writes a canary message and an agent opens the conversation (over WebSocket, from node); policy
// decisions are appended as the policy module records them; a checkpoint is signed with the CLI.
// Then the DPO logs in with the keyboard, sees the chain "verified up to checkpoint N", the
// timeline with the conversation.opened record, filters it by event type, opens the access
// history of that conversation, switches to English, and sees charts drawn as SVG. The canary
// text never appears in the page; axe-core finds no serious/critical violation; the CSP is never
// violated and nothing is requested from another origin. Screenshot: docs/img/dpo-console.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { startGateway, addStaff, pgQuery, login, wsConnect } from '../integration/lib/harness.mjs';
import { launch, newContext, newPage, shot, axe } from './lib/browser.mjs';

const DPO = { email: 'dora@demo-clinic.example', password: 'correct horse battery staple' };
const AGENT = { email: 'anna@demo-clinic.example', password: 'correct horse battery staple' };
const CANARY = 'CANARY' + crypto.randomBytes(5).toString('hex').toUpperCase();
const SRC = process.env.CAREGATE_SRC || path.resolve('.');

let gw;
let browser;
let ctx;
let page;
let conv;

before(async () => {
  gw = await startGateway({ config: { staff_email_domains: 'demo-clinic.example', widget_dir: path.join(SRC, 'widget') } });
  await addStaff(gw, DPO.email, 'dpo', DPO.password, { alias: 'DSB' });
  await addStaff(gw, AGENT.email, 'agent', AGENT.password, { alias: 'Anna' });

  const p = await wsConnect(gw, 'caregate.patient.v1', { path: '/ws/patient' });
  p.send({ type: 'hello', session: null, lang: 'de' });
  conv = (await p.next('welcome')).conversation;
  p.send({ type: 'msg', client_id: 'c1', text: `Guten Tag, ${CANARY}, ich nehme Ibuprofen.` });
  await p.next('ack', 10000);
  const cookie = await login(gw, AGENT.email, AGENT.password);
  const s = await wsConnect(gw, 'caregate.staff.v1', { path: '/ws/staff', cookie });
  await s.next('queue', 10000);
  s.send({ type: 'open', conversation: conv });
  await s.next('history', 10000);
  await s.close();
  await p.close();

  // policy decisions, as message.policy records carry them (docs/audit.md)
  for (const [d, det] of [['redact', '{"PHONE":2,"MEDICATION":1}'], ['redact', '{"PERSON":1,"CONDITION":3}'], ['block', '{"IBAN":1}'], ['redact', '{"EMAIL":1}']])
    await pgQuery(gw, `SELECT audit_append('message.policy', 'gateway', $1, $2::jsonb)`, [conv, `{"decision":"${d}","findings":${det}}`]);
  const cp = await gw.cli(['audit', 'checkpoint']);
  assert.equal(cp.code, 0, cp.stderr);

  browser = await launch();
  ctx = await newContext(browser, gw.origin);
});

after(async () => {
  await browser?.close();
  await gw?.cleanup();
});

test('DPO logs in with the keyboard and sees the chain verified up to the checkpoint', async () => {
  page = await newPage(ctx);
  page.setDefaultTimeout(30000);
  await page.goto(gw.origin + '/dpo/index.html');
  await page.locator('#login-form').waitFor();
  await page.locator('#email').focus();
  await page.keyboard.type(DPO.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(DPO.password);
  await page.keyboard.press('Enter');
  // generous timeouts: CI machines run several gateways and browsers at once
  await page.locator('#app').waitFor({ timeout: 60000 });
  await page.waitForSelector('#chain[data-state="verified"]', { timeout: 60000 });
  const text = await page.locator('#chain-main').textContent();
  assert.match(text, /Geprüft bis Checkpoint 1 vom /);
});

test('timeline shows the opened conversation; filter by event type', async () => {
  await page.waitForSelector('#tl-body tr[data-event="conversation.opened"]', { timeout: 30000 });
  const row = page.locator('#tl-body tr[data-event="conversation.opened"]').first();
  assert.match(await row.textContent(), /Unterhaltung geöffnet/);
  assert.match(await row.textContent(), /Anna/);
  await page.selectOption('#f-event', 'conversation.opened');
  await page.click('#filters button[type="submit"]');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#tl-body tr')];
    return rows.length > 0 && rows.every((r) => r.dataset.event === 'conversation.opened');
  });
  assert.match(await page.locator('#export').getAttribute('href'), /^\/api\/audit\/export/);
});

test('access history of the conversation and charts drawn as SVG', async () => {
  await page.locator('#tl-body button[data-conv]').first().click();
  await page.waitForSelector('#conv-table tr[data-event="conversation.opened"]');
  assert.match(await page.locator('#conv-out').textContent(), /Kanal web/);
  await page.waitForSelector('#ch-redact svg rect[data-cat="PHONE"]');
  await page.waitForSelector('#ch-block svg rect[data-cat="IBAN"]');
  assert.ok(await page.locator('#ret-kept').count());
  await page.locator('#timeline-h').scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.selectOption('#f-event', '');
  await page.click('#filters button[type="submit"]');
  await page.waitForSelector('#tl-body tr[data-event="dpo.viewed"]');
  await shot(page, 'dpo-console', { docs: true, fullPage: true });
});

test('English UI, no message text anywhere, accessible, CSP clean', async () => {
  await page.selectOption('#lang', 'en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.match(await page.locator('#chain-main').textContent(), /Verified up to checkpoint 1 of /);
  assert.match(await page.locator('#timeline-h').textContent(), /Audit log/);
  const html = await page.content();
  assert.ok(!html.includes(CANARY), 'the canary text reached the DPO page');
  assert.ok(!/Ibuprofen/i.test(html), 'message text reached the DPO page');
  await shot(page, 'dpo-console-en');
  const v = await axe(page);
  assert.deepEqual(v.map((x) => `${x.id}: ${x.nodes.map((n) => n.target).join(' ')}`), []);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(ctx.foreign, []);
});

test('Polish and Hungarian UI: chain status, log and event names translated; axe clean', async () => {
  for (const [l, chain, heading, opened] of [
    ['pl', /Zweryfikowano do punktu kontrolnego 1 z /, /Dziennik audytu/, 'Otwarto rozmowę'],
    ['hu', /Ellenőrizve a\(z\) 1\. ellenőrzőpontig/, /Auditnapló/, 'Beszélgetés megnyitva'],
  ]) {
    await page.selectOption('#lang', l);
    await page.waitForFunction((x) => document.documentElement.lang === x, l);
    assert.match(await page.locator('#chain-main').textContent(), chain);
    assert.match(await page.locator('#timeline-h').textContent(), heading);
    await page.locator('#tl-body tr[data-event="conversation.opened"]', { hasText: opened }).first().waitFor();
    const v = await axe(page);
    assert.deepEqual(v.map((x) => `${x.id}: ${x.nodes.map((n) => n.target).join(' ')}`), []);
  }
  await page.selectOption('#lang', 'en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.deepEqual(page.problems, []);
});

test('a tampered record is shown as the first bad record', async () => {
  await pgQuery(gw, `SELECT audit_append('conversation.opened', 'x', $1, '{}')`, [conv]);
  const seq = Number((await pgQuery(gw, 'SELECT max(seq) AS s FROM audit_log')).rows[0].s);
  await pgQuery(gw, `SET session_replication_role = replica; UPDATE audit_log SET subject = 'other' WHERE seq = ${seq}`);
  try {
    await page.click('#chain-btn');
    await page.waitForSelector('#chain[data-state="failed"]');
    assert.match(await page.locator('#chain-main').textContent(), new RegExp(`first bad record no. ${seq}`));
    assert.match(await page.locator('#chain-sub').textContent(), /hash/);
    await shot(page, 'dpo-console-tampered');
  } finally {
    await pgQuery(gw, `SET session_replication_role = replica; UPDATE audit_log SET subject = '${conv}' WHERE seq = ${seq}`);
  }
  await page.click('#chain-btn');
  await page.waitForSelector('#chain[data-state="verified"]');
});

test('an agent cannot use the DPO console', async () => {
  const c2 = await newContext(browser, gw.origin);
  const p2 = await newPage(c2);
  await p2.goto(gw.origin + '/dpo/index.html');
  await p2.fill('#email', AGENT.email);
  await p2.fill('#password', AGENT.password);
  await p2.click('#login-btn');
  await p2.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
  assert.match(await p2.locator('#login-error').textContent(), /keinen Zugang/);
  assert.equal(await p2.locator('#app').isHidden(), true);
  const r = await p2.evaluate(async () => (await fetch('/api/audit/events')).status);
  assert.equal(r, 403);
  await c2.close();
});
