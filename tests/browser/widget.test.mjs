// SPDX-License-Identifier: Apache-2.0
// The browser round trip against the REAL gateway (binary from CAREGATE_BIN, real PostgreSQL):
// a patient on the demo clinic page writes by keyboard alone; staff in a second browser context
// logs in, sees the conversation in the queue, opens it and answers with a canned answer; the
// patient sees the answer; a reload keeps the history; axe-core finds no serious or critical
// violations on widget and console; nothing is requested from any other origin and the CSP the
// gateway sends is never violated. Fast UI details are tested on the fake gateway in widget-ui.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRealGateway } from './lib/gateway.mjs';
import { launch, newContext, newPage, shot, axe, chatFrame } from './lib/browser.mjs';

const STAFF = { email: 'anna@demo-clinic.example', password: 'correct horse battery staple' };
const PATIENT_TEXT = 'Guten Tag, ich komme nächste Woche zur Aufnahme. Wo kann ich parken?';
// Acknowledged by the gateway: "sent", or already "delivered"/"read" when staff has it open.
const ACKED = ':is([data-state="sent"],[data-state="delivered"],[data-state="read"])';

let gw;
let browser;
let pctx;
let sctx;
let page;   // patient: demo clinic page
let chat;   // patient: chat iframe
let sp;     // staff console

before(async () => {
  gw = await startRealGateway();
  browser = await launch();
  pctx = await newContext(browser, gw.origin);
  sctx = await newContext(browser, gw.origin);
});

after(async () => {
  await browser?.close();
  await gw?.stop();
});

test('real gateway serves the widget with a strict CSP', async () => {
  const r = await fetch(gw.origin + '/chat.html');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-security-policy') || '', /default-src 'self'/);
  for (const p of ['/embed.js', '/chat.js', '/i18n.js', '/chat.css', '/demo/index.html', '/console/index.html', '/dpo/index.html']) {
    assert.equal((await fetch(gw.origin + p)).status, 200, p);
  }
});

test('patient writes on the demo page using the keyboard only', async () => {
  page = await newPage(pctx);
  await page.goto(gw.origin + '/demo/index.html');
  await page.locator('.launcher').waitFor();
  let onLauncher = false;
  for (let i = 0; i < 30 && !onLauncher; i++) {
    await page.keyboard.press('Tab');
    onLauncher = await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.classList.contains('launcher') ?? false);
  }
  assert.ok(onLauncher, 'launcher reachable by Tab');
  await page.keyboard.press('Enter');
  chat = await chatFrame(page);
  await chat.waitForFunction(() => document.activeElement?.id === 'privacy-ok');
  await page.keyboard.press('Enter');
  await chat.waitForFunction(() => document.activeElement?.id === 'text');
  await chat.waitForSelector('#status[data-state="on"], #status[data-state="closed"]', { timeout: 20000 });
  await page.keyboard.type(PATIENT_TEXT);
  await page.keyboard.press('Enter');
  await chat.waitForSelector('.msg.me' + ACKED, { timeout: 20000 });
  assert.ok(await chat.evaluate(() => localStorage.getItem('caregate.session')), 'resume token stored');
  await shot(page, 'real-patient-sent');
});

test('staff logs in, sees the conversation in the queue and answers with a canned answer', async () => {
  await gw.addStaff(STAFF.email, STAFF.password, 'agent');
  sp = await newPage(sctx);
  await sp.goto(gw.origin + '/console/index.html');
  await sp.fill('#email', STAFF.email);
  await sp.fill('#password', STAFF.password);
  await sp.press('#password', 'Enter');
  await sp.waitForSelector('#conn[data-state="online"]', { timeout: 20000 });
  await sp.keyboard.press('3'); // filter "all": the new conversation, assigned or not
  const item = sp.locator('#list .item').first();
  await item.waitFor({ timeout: 20000 });
  await item.click();
  await sp.waitForFunction((t) => [...document.querySelectorAll('.m.patient .m-text')].some((e) => e.textContent === t), PATIENT_TEXT, { timeout: 20000 });
  await sp.selectOption('#canned', 'greet');
  const reply = await sp.inputValue('#reply-text');
  assert.match(reply, /^Guten Tag, vielen Dank für Ihre Nachricht/);
  await sp.keyboard.press('Alt+Enter');
  await sp.waitForSelector('.m.staff[data-state="sent"]', { timeout: 20000 });
  await shot(sp, 'real-console-answered', { docs: true });
});

test('staff: private note, take the conversation, mark it done (keyboard shortcuts)', async () => {
  await sp.keyboard.press('Escape');
  await sp.keyboard.press('n');
  await sp.keyboard.type('Parkplatz-Info geschickt.');
  await sp.keyboard.press('Alt+Enter');
  await sp.waitForSelector('.m.note[data-state="sent"]', { timeout: 20000 });
  await sp.keyboard.press('Escape');
  await sp.keyboard.press('t');
  await sp.waitForFunction(() => document.getElementById('take').dataset.mine === 'true', null, { timeout: 20000 });
  await sp.keyboard.press('e');
  await sp.waitForSelector('#status-btns [data-status="done"][aria-pressed="true"]', { timeout: 20000 });
  await sp.keyboard.press('4'); // filter "done"
  await sp.locator('#list .item').first().waitFor({ timeout: 20000 });
  await sp.keyboard.press('3');
  await sp.click('#status-btns [data-status="open"]');
  await sp.waitForSelector('#status-btns [data-status="open"][aria-pressed="true"]', { timeout: 20000 });
});

test('staff hands the conversation to a colleague (by alias); the shift toggle is saved', async () => {
  await gw.addStaff('ben@demo-clinic.example', 'another long passphrase 42', 'agent', 'Ben');
  const ben = String((await gw.query("SELECT id FROM staff WHERE alias = 'Ben'")).rows[0].id);
  const conv = String((await gw.query('SELECT id FROM conversation ORDER BY created_at LIMIT 1')).rows[0].id);
  await sp.focus('#handoff'); // focusing the menu asks for a fresh staff_list
  await sp.waitForSelector(`#handoff option[value="${ben}"]`, { state: 'attached', timeout: 20000 });
  assert.doesNotMatch(await sp.locator('#handoff').innerText(), /@/, 'no e-mail addresses in the menu');
  await sp.selectOption('#handoff', ben);
  let assignee = null;
  for (let i = 0; i < 100 && assignee !== ben; i++) {
    assignee = String((await gw.query('SELECT assignee FROM conversation WHERE id = $1', [conv])).rows[0].assignee);
    if (assignee !== ben) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(assignee, ben, 'the database has Ben as assignee');
  await sp.waitForFunction(() => /Zugewiesen an Ben/.test(document.getElementById('conv-sub').textContent), null, { timeout: 20000 });
  await sp.waitForFunction(() => [...document.querySelectorAll('#list .item .assignee')].some((e) => e.textContent === 'Zugewiesen an Ben'), null, { timeout: 20000 });
  assert.equal(await sp.locator('#take').innerText(), 'Übernehmen');
  await shot(sp, 'real-console-handed-over');

  const shift = async () => (await gw.query("SELECT on_shift FROM staff WHERE alias = 'Anna'")).rows[0].on_shift;
  const was = await sp.getAttribute('#shift', 'aria-pressed');
  assert.ok(was === 'true' || was === 'false', 'shift state shown after the welcome');
  assert.equal(String(await shift()), was);
  await sp.click('#shift');
  const flipped = String(was !== 'true');
  await sp.waitForSelector(`#shift[aria-pressed="${flipped}"]`, { timeout: 20000 });
  assert.equal(String(await shift()), flipped, 'staff.on_shift saved');
  assert.equal(await sp.locator('#shift-label').innerText(), flipped === 'true' ? 'Im Dienst' : 'Nicht im Dienst');
  await sp.click('#shift');
  await sp.waitForSelector(`#shift[aria-pressed="${was}"]`, { timeout: 20000 });
});

test('the patient sees the answer', async () => {
  await chat.waitForSelector('.msg.staff', { timeout: 20000 });
  assert.match(await chat.locator('.msg.staff .text').last().innerText(), /vielen Dank für Ihre Nachricht/);
  assert.doesNotMatch(await chat.locator('#log').innerText(), /Parkplatz-Info/, 'private notes never reach the patient');
  await shot(page, 'real-patient-answered', { docs: true });
});

test('reloading the patient page keeps the history', async () => {
  await page.reload();
  chat = await chatFrame(page);
  await chat.waitForSelector('.msg.staff', { timeout: 20000 });
  const texts = await chat.locator('.msg .text').allInnerTexts();
  assert.ok(texts.includes(PATIENT_TEXT), 'own message in history');
  assert.ok(texts.some((t) => /vielen Dank für Ihre Nachricht/.test(t)), 'answer in history');
  assert.equal(texts.filter((t) => t === PATIENT_TEXT).length, 1, 'no duplicate after resume');
});

test('gateway restart: a message typed while it is down is queued, then stored and shown once', async (t) => {
  if (!gw.restart) { t.skip('the integration helper offers no restart'); return; }
  const text = 'Nachricht während des Neustarts';
  await gw.restart(async () => {
    await chat.waitForSelector('#banner:not([hidden])', { timeout: 20000 });
    await chat.fill('#text', text);
    await chat.press('#text', 'Enter');
    await chat.waitForSelector('.msg.me[data-state="queued"]');
    await shot(page, 'real-patient-offline');
  });
  // The chat's backoff (up to 30 s between tries) plus a slow restart on a loaded machine.
  await chat.waitForSelector('.msg.me' + ACKED + ' >> text=' + text, { timeout: 90000 }).catch(async (e) => {
    const log = await chat.locator('#log').innerText().catch(() => '?');
    const banner = await chat.locator('#banner').isVisible().catch(() => '?');
    throw new Error(`${e.message}\nchat log:\n${log}\nbanner visible: ${banner}\ngateway log tail:\n${(gw.gw.logs?.() || '').slice(-1500)}`);
  });
  await sp.waitForSelector('#conn[data-state="online"]', { timeout: 90000 });
  await sp.waitForFunction((x) => [...document.querySelectorAll('.m.patient .m-text')].filter((e) => e.textContent === x).length === 1, text, { timeout: 20000 });
  await page.reload();
  chat = await chatFrame(page);
  await chat.waitForSelector('.msg.staff', { timeout: 20000 });
  const texts = await chat.locator('.msg .text').allInnerTexts();
  assert.equal(texts.filter((x) => x === text).length, 1, 'stored exactly once');
});

test('axe-core: no serious or critical violations on widget and console', async () => {
  let v = await axe(chat);
  assert.deepEqual(v, [], 'widget: ' + JSON.stringify(v, null, 1));
  v = await axe(sp);
  assert.deepEqual(v, [], 'console: ' + JSON.stringify(v, null, 1));
});

test('erasure request: the gateway shreds the conversation, nothing is left on the device', async () => {
  const keys = async () => Number((await gw.query('SELECT count(*) AS n FROM data_key')).rows[0].n);
  const before = await keys();
  assert.ok(before >= 1, 'the patient conversation has a data key');
  await chat.click('#menu-btn');
  await chat.click('#m-erase');
  await chat.waitForSelector('#erase-dlg[open]');
  await chat.click('#erase-yes');
  await chat.waitForFunction(() => /gelöscht/.test(document.getElementById('notice').textContent), null, { timeout: 20000 });
  const session = await chat.evaluate(() => localStorage.getItem('caregate.session'));
  assert.equal(session, null, 'erased: no resume token left on the device');
  let after = before;
  for (let i = 0; i < 100 && after >= before; i++) {
    after = await keys();
    if (after >= before) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(after, before - 1, 'the conversation\'s data key is destroyed (crypto-shredding)');
});

test('console: logout ends the session; a lost session cookie leads back to the login form', async () => {
  await sp.click('#logout');
  await sp.waitForSelector('#login:not([hidden])');
  await sp.reload();
  await sp.waitForSelector('#login:not([hidden])');
  await sp.fill('#email', STAFF.email);
  await sp.fill('#password', STAFF.password);
  await sp.press('#password', 'Enter');
  await sp.waitForSelector('#conn[data-state="online"]', { timeout: 20000 });
  await sctx.clearCookies();
  await sp.reload();
  await sp.waitForSelector('#login:not([hidden])', { timeout: 20000 });
  assert.match(await sp.locator('#login-error').innerText(), /Bitte melden Sie sich an/);
});

test('no CSP violations, script errors or third-party requests', () => {
  assert.deepEqual(page.problems, []);
  assert.deepEqual(sp.problems, []);
  assert.deepEqual(pctx.foreign, []);
  assert.deepEqual(sctx.foreign, []);
});
