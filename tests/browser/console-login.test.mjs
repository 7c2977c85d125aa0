// SPDX-License-Identifier: Apache-2.0
//
// Staff console against the real gateway: the optional second factor (TOTP) asked for in
// the login form only when the account has it, and the first-reply clock in the queue,
// coloured against the policy's target.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startRealGateway } from './lib/gateway.mjs';
import { launch, newContext, newPage, shot } from './lib/browser.mjs';
import { wsConnect } from '../integration/lib/harness.mjs';

const STAFF = { email: 'jonas@demo-clinic.example', password: 'another long password' };
let gw;
let browser;

function base32(s) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of s.replace(/=+$/, '').toUpperCase()) bits += abc.indexOf(ch).toString(2).padStart(5, '0');
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

function totp(secret, t = Date.now()) { // RFC 6238, SHA-1, 30 s, 6 digits
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(t / 30000)));
  const h = createHmac('sha1', base32(secret)).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String(((h.readUInt32BE(o) & 0x7fffffff) % 1e6)).padStart(6, '0');
}

before(async () => {
  gw = await startRealGateway();
  await gw.addStaff(STAFF.email, STAFF.password, 'agent', 'Jonas');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await gw?.stop();
});

test('TOTP: the console asks for the code only when the account has it, and logs in with it', async () => {
  const r = await gw.gw.cli(['user', 'totp', '--email', STAFF.email]);
  assert.equal(r.code, 0, r.stderr);
  const secret = /secret=([A-Z2-7]+)/.exec(r.stdout)[1];
  const ctx = await newContext(browser, gw.origin);
  const page = await newPage(ctx);
  await page.goto(gw.origin + '/console/');
  await page.fill('#email', STAFF.email);
  await page.fill('#password', STAFF.password);
  await page.press('#password', 'Enter');
  await page.waitForSelector('#totp-row:not([hidden])', { timeout: 20000 });
  assert.match(await page.locator('#login-error').innerText(), /6-stelligen Code|6-digit code/);
  await page.fill('#totp', '000000' === totp(secret) ? '111111' : '000000');
  await page.press('#totp', 'Enter');
  await page.waitForFunction(() => /stimmt nicht|not right/.test(document.getElementById('login-error').textContent), null, { timeout: 20000 });
  await page.fill('#totp', totp(secret));
  await page.press('#totp', 'Enter');
  await page.waitForSelector('#conn[data-state="online"]', { timeout: 20000 });
  await shot(page, 'console-totp');
  await ctx.close();
});

test('first-reply clock: a waiting conversation shows the time left against the policy target', async () => {
  const p = await wsConnect(gw.gw, 'caregate.patient.v1', { path: '/ws/patient' });
  p.send({ type: 'hello', session: null, lang: 'de', privacy_notice: '2026-01' });
  await p.next('welcome');
  p.send({ type: 'msg', client_id: 'clock-1', text: 'Wann ist die Anreise möglich?' });
  await p.next('ack', 10000);
  const agent = { email: 'mia@demo-clinic.example', password: 'yet another password' };
  await gw.addStaff(agent.email, agent.password, 'agent', 'Mia');
  const ctx = await newContext(browser, gw.origin);
  const page = await newPage(ctx);
  await page.goto(gw.origin + '/console/');
  await page.fill('#email', agent.email);
  await page.fill('#password', agent.password);
  await page.press('#password', 'Enter');
  await page.waitForSelector('#conn[data-state="online"]', { timeout: 20000 });
  await page.click('button.filter[data-filter="all"], [data-filter="all"]').catch(() => {});
  const clock = page.locator('.item .clock').first();
  await clock.waitFor({ timeout: 20000 });
  assert.match(await clock.innerText(), /Antwort fällig in \d+ min|reply due in \d+ min/);
  assert.equal(await clock.getAttribute('data-level'), 'low', 'just arrived: within target');
  await ctx.close();
  await p.close();
});
