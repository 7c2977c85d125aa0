// SPDX-License-Identifier: Apache-2.0
// Fast UI tests of the patient widget and the staff console against the in-memory fake gateway
// (lib/fakeserver.mjs): offline queue, resume, office hours, languages, Sie/Du, policy notices,
// erasure, keyboard use, accessibility (axe), phone width, CSP and "no third-party requests",
// and the JS size budget. The contract test against the real binary is widget.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startFakeServer, WIDGET_DIR } from './lib/fakeserver.mjs';
import { launch, newContext, newPage, shot, axe, chatFrame, sleep } from './lib/browser.mjs';

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

async function openWidget(ctx, { accept = true } = {}) {
  const page = await newPage(ctx);
  await page.goto(fake.url + '/demo/index.html');
  await page.locator('.launcher').click();
  const f = await chatFrame(page);
  if (accept && await f.locator('#privacy-ok').isVisible()) await f.click('#privacy-ok');
  return { page, f };
}

async function sendPatient(f, text) {
  await f.fill('#text', text);
  await f.press('#text', 'Enter');
}

async function staffLogin(ctx) {
  const sp = await newPage(ctx);
  await sp.goto(fake.url + '/console/index.html');
  await sp.fill('#email', 'anna@demo-clinic.example');
  await sp.fill('#password', 'correct horse');
  await sp.click('#login-btn');
  await sp.waitForSelector('#conn[data-state="online"]');
  return sp;
}

const clean = (page, ctx) => {
  assert.deepEqual(page.problems, [], 'no console errors, page errors or CSP violations');
  assert.deepEqual(ctx.foreign, [], 'no request left the gateway origin');
};

test('JS budget: embed.js + chat.js + i18n.js stay within 40 KB uncompressed', () => {
  const total = ['embed.js', 'chat.js', 'i18n.js'].reduce((n, f) => n + fs.statSync(path.join(WIDGET_DIR, f)).size, 0);
  assert.ok(total <= 40 * 1024, `patient widget JS is ${total} bytes`);
});

test('every widget JS file starts with the SPDX line; no inline script or style in HTML', () => {
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  for (const f of walk(WIDGET_DIR)) {
    const s = fs.readFileSync(f, 'utf8');
    if (f.endsWith('.js')) assert.match(s, /^\/\/ SPDX-License-Identifier: Apache-2\.0\n/, f);
    if (f.endsWith('.html')) {
      const markup = s.replace(/<code>[\s\S]*?<\/code>/g, ''); // examples shown as text
      assert.doesNotMatch(markup, /<script(?![^>]*\bsrc=)[^>]*>/, f + ': inline script');
      assert.doesNotMatch(markup, /<style|\sstyle=|\son[a-z]+=/i, f + ': inline style or handler');
      assert.doesNotMatch(markup, /(?:src|href|action)="(?:https?:)?\/\//i, f + ': absolute (third-party) URL');
    }
  }
});

test('round trip: patient writes on the demo page, staff answers with a canned answer, read receipt, reload keeps history', async () => {
  const pctx = await newContext(browser, fake.url);
  const { page, f } = await openWidget(pctx, { accept: false });
  await f.waitForSelector('#privacy:not([hidden])');
  assert.equal(await f.isDisabled('#text'), true, 'no typing before the privacy notice is accepted');
  await shot(page, 'widget-privacy', { docs: true });
  await f.click('#privacy-ok');
  await f.waitForSelector('#status[data-state="on"]');
  assert.equal(await f.locator('#status-text').innerText(), 'Antwort meist in 30 Min.');
  await sendPatient(f, 'Guten Tag, ich komme am 12.03.2026 zur Aufnahme. Wo kann ich parken?');
  await f.waitForSelector('.msg.me[data-state="sent"]');

  const sctx = await newContext(browser, fake.url);
  const sp = await staffLogin(sctx);
  const item = sp.locator('#list .item').first();
  await item.waitFor();
  assert.match(await item.innerText(), /\[NUMMER\]/, 'the queue shows the preview the gateway sent');
  await item.click();
  await sp.waitForSelector('.m.patient');
  await sp.selectOption('#canned', 'greet');
  assert.match(await sp.inputValue('#reply-text'), /^Guten Tag, vielen Dank für Ihre Nachricht/);
  await sp.keyboard.press('Alt+Enter');
  await sp.waitForSelector('.m.staff[data-state="sent"]');

  await f.waitForSelector('.msg.staff');
  assert.match(await f.locator('.msg.staff .text').innerText(), /vielen Dank für Ihre Nachricht/);
  await f.waitForSelector('.msg.me[data-state="read"]');
  await shot(page, 'widget-conversation', { docs: true });
  await shot(sp, 'console-conversation', { docs: true });

  await page.reload();
  await page.locator('.launcher').waitFor();
  const f2 = await chatFrame(page); // the panel re-opens itself (sessionStorage of the site)
  await f2.waitForSelector('.msg.staff');
  assert.equal(await f2.locator('.msg').count(), 2, 'history after reload: one patient and one staff message');
  assert.equal(await f2.isVisible('#privacy'), false, 'the privacy notice is remembered');
  clean(page, pctx);
  clean(sp, sctx);
  await pctx.close();
  await sctx.close();
});

test('offline: messages typed without a connection are queued, survive a reload and are stored once', async () => {
  const ctx = await newContext(browser, fake.url);
  const { page, f } = await openWidget(ctx);
  await f.waitForSelector('#status[data-state="on"]');
  fake.refuse(true);
  fake.dropSockets();
  await f.waitForSelector('#banner:not([hidden])');
  await sendPatient(f, 'Nachricht ohne Netz');
  await f.waitForSelector('.msg.me[data-state="queued"]');
  await shot(page, 'widget-offline', { docs: true });
  const v = await axe(f);
  assert.deepEqual(v, [], 'queued state: ' + JSON.stringify(v, null, 1));
  const outbox = await f.evaluate(() => JSON.parse(localStorage.getItem('caregate.outbox')));
  assert.equal(outbox.length, 1);
  assert.match(outbox[0].client_id, /^[0-9a-f-]{36}$/);

  await page.reload();
  const f2 = await chatFrame(page);
  await f2.waitForSelector('.msg.me[data-state="queued"]');
  fake.refuse(false);
  await f2.waitForSelector('.msg.me[data-state="sent"]', { timeout: 40000 });
  await f2.waitForSelector('#banner', { state: 'hidden' });
  const stored = [...fake.convs.values()].flatMap((c) => c.messages).filter((m) => m.text === 'Nachricht ohne Netz');
  assert.equal(stored.length, 1, 'stored exactly once');
  assert.equal(await f2.evaluate(() => JSON.parse(localStorage.getItem('caregate.outbox')).length), 0);
  clean(page, ctx);
  await ctx.close();
});

test('office closed: next opening time and emergency numbers, in the Du form', async () => {
  fake.setOffice({ open: false, next_open: '2026-11-23T07:00:00Z' });
  fake.setAddressForm('Du');
  try {
    const ctx = await newContext(browser, fake.url);
    const { page, f } = await openWidget(ctx);
    await f.waitForSelector('#office:not([hidden])');
    const text = await f.locator('#office').innerText();
    assert.match(text, /Wir antworten dir ab Montag, 23\. November/);
    assert.match(text, /112/);
    assert.match(text, /116117/);
    assert.equal(await f.locator('#emergency a[href="tel:112"]').count(), 1);
    assert.equal(await f.locator('label[for="text"]').innerText(), 'Deine Nachricht');
    await shot(page, 'widget-office-closed', { docs: true });
    const v = await axe(f);
    assert.deepEqual(v, [], JSON.stringify(v, null, 1));
    clean(page, ctx);
    await ctx.close();
  } finally {
    fake.setOffice({ open: true, next_open: null, first_reply_minutes: 30 });
    fake.setAddressForm('Sie');
  }
});

test('languages: switching to Polish and Hungarian translates the UI and is remembered', async () => {
  const ctx = await newContext(browser, fake.url);
  const { page, f } = await openWidget(ctx);
  await f.selectOption('#lang', 'pl');
  assert.equal(await f.locator('label[for="text"]').innerText(), 'Twoja wiadomość');
  assert.equal(await f.evaluate(() => document.documentElement.lang), 'pl');
  await f.selectOption('#lang', 'hu');
  assert.equal(await f.getAttribute('#text', 'placeholder'), 'Üzenet írása …');
  await page.reload();
  const f2 = await chatFrame(page);
  assert.equal(await f2.inputValue('#lang'), 'hu');
  await f2.selectOption('#lang', 'en');
  assert.equal(await f2.getAttribute('#send', 'aria-label'), 'Send');
  clean(page, ctx);
  await ctx.close();
});

test('policy notices: a blocked message is marked and explained with its finding category', async () => {
  const ctx = await newContext(browser, fake.url);
  const { page, f } = await openWidget(ctx);
  await f.waitForSelector('#status[data-state="on"]');
  await sendPatient(f, 'Meine IBAN ist DE89 3704 0044 0532 0130 00');
  await f.waitForSelector('.msg.me[data-state="failed"]');
  assert.match(await f.locator('#notice').innerText(), /sensible Angaben enthält \(Bankverbindung\)/);
  await shot(page, 'widget-policy-notice', { docs: true });
  assert.equal(await f.evaluate(() => JSON.parse(localStorage.getItem('caregate.outbox')).length), 0, 'not retried');
  await f.fill('#text', 'x'.repeat(9000));
  await f.press('#text', 'Enter');
  await f.waitForFunction(() => /zu lang/.test(document.getElementById('notice').textContent));
  assert.equal((await f.inputValue('#text')).length, 9000, 'a too-large text stays in the input field');
  clean(page, ctx);
  await ctx.close();
});

test('keyboard only: from the site to a sent message, then erase the conversation', async () => {
  const ctx = await newContext(browser, fake.url);
  const page = await newPage(ctx);
  await page.goto(fake.url + '/demo/index.html');
  await page.locator('.launcher').waitFor();
  // Tab through the site until the launcher has focus.
  let found = false;
  for (let i = 0; i < 30 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.classList.contains('launcher') ?? false);
  }
  assert.ok(found, 'the launcher is reachable with Tab');
  await page.keyboard.press('Enter');
  const f = await chatFrame(page);
  await f.waitForFunction(() => document.activeElement?.id === 'privacy-ok');
  await page.keyboard.press('Enter');
  await f.waitForFunction(() => document.activeElement?.id === 'text');
  await page.keyboard.type('Nur mit der Tastatur geschrieben');
  await page.keyboard.press('Enter');
  await f.waitForSelector('.msg.me[data-state="sent"]');
  // Menu -> erase -> confirm, all by keyboard: Shift+Tab from the text field reaches the header tools.
  await f.focus('#menu-btn');
  await page.keyboard.press('Enter');
  await f.waitForFunction(() => document.activeElement?.id === 'm-privacy');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await f.waitForSelector('#erase-dlg[open]');
  assert.equal(await f.evaluate(() => document.activeElement.id), 'erase-no', 'the safe choice has focus');
  await shot(page, 'widget-erase-dialog', { docs: true });
  const v = await axe(f);
  assert.deepEqual(v, [], JSON.stringify(v, null, 1));
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await f.waitForFunction(() => /gelöscht/.test(document.getElementById('notice').textContent));
  assert.equal(await f.locator('.msg').count(), 0);
  assert.equal(await f.evaluate(() => localStorage.getItem('caregate.session')), null);
  // Escape closes the panel and gives focus back to the launcher.
  await f.focus('#text');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.activeElement?.shadowRoot?.activeElement?.classList.contains('launcher'));
  clean(page, ctx);
  await ctx.close();
});

test('phone width (360 px): widget fills the screen, nothing overflows; console stacks', async () => {
  const ctx = await newContext(browser, fake.url, { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const { page, f } = await openWidget(ctx);
  await f.fill('#text', 'Hallo! Kann ich meinen Termin am Donnerstag verschieben?');
  await f.press('#text', 'Enter'); // a touch screen: Enter is a new line, the button sends
  assert.match(await f.inputValue('#text'), /\n$/);
  await f.tap('#send');
  await f.waitForSelector('.msg.me[data-state="sent"]');
  const box = await page.locator('iframe[src*="chat.html"]').boundingBox();
  assert.ok(box.width >= 359 && box.height >= 700, `panel is full screen: ${JSON.stringify(box)}`);
  const overflow = await f.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
  assert.equal(overflow, false, 'no horizontal scrolling in the chat');
  await shot(page, 'widget-phone', { docs: true });
  const sp = await staffLogin(ctx);
  await sp.locator('#list .item').first().click();
  await sp.waitForSelector('.m.patient');
  assert.equal(await sp.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth), false);
  await shot(sp, 'console-phone', { docs: true });
  clean(page, ctx);
  await ctx.close();
});

test('console: keyboard shortcuts, notes, policy block with categories, take and done; axe clean', async () => {
  const pctx = await newContext(browser, fake.url);
  const { f } = await openWidget(pctx);
  await sendPatient(f, 'Frage zum Rezept');
  await f.waitForSelector('.msg.me[data-state="sent"]');

  const ctx = await newContext(browser, fake.url);
  const sp = await newPage(ctx);
  await sp.goto(fake.url + '/console/index.html');
  await sp.waitForSelector('#login:not([hidden])');
  let v = await axe(sp);
  assert.deepEqual(v, [], JSON.stringify(v, null, 1));
  await sp.fill('#email', 'anna@demo-clinic.example');
  await sp.fill('#password', 'wrong');
  await sp.click('#login-btn');
  await sp.waitForFunction(() => /stimmen nicht/.test(document.getElementById('login-error').textContent));
  await shot(sp, 'console-login', { docs: true });
  await sp.fill('#password', 'correct horse');
  await sp.press('#password', 'Enter');
  await sp.waitForSelector('#conn[data-state="online"]');
  await sp.keyboard.press('3'); // filter: all
  await sp.locator('#list .item', { hasText: 'Frage zum Rezept' }).waitFor(); // the queue frame follows the open
  await sp.keyboard.press('j');
  for (let i = 0; i < 20 && !/Frage zum Rezept/.test(await sp.evaluate(() => document.activeElement.textContent)); i++) await sp.keyboard.press('j');
  const focused = await sp.evaluate(() => document.activeElement.dataset.id);
  assert.ok(focused, 'j focuses a queue entry');
  await sp.keyboard.press('Enter');
  await sp.waitForSelector('.m.patient');
  assert.equal(await sp.evaluate(() => document.activeElement.id), 'reply-text');

  await sp.keyboard.press('Escape');
  await sp.keyboard.press('n');
  await sp.keyboard.type('Rückruf vereinbart, bitte morgen nachfassen.');
  await sp.keyboard.press('Alt+Enter');
  await sp.waitForSelector('.m.note[data-state="sent"]');

  await sp.keyboard.press('Escape');
  await sp.keyboard.press('r');
  await sp.keyboard.type('Bitte nehmen Sie weiter Ibuprofen.');
  await sp.keyboard.press('Control+Enter');
  await sp.waitForSelector('#reply-error:not([hidden])');
  assert.match(await sp.locator('#reply-error').innerText(), /Medikament \(1\)/);
  assert.equal(await sp.inputValue('#reply-text'), 'Bitte nehmen Sie weiter Ibuprofen.', 'blocked text is given back');
  await shot(sp, 'console-policy-blocked', { docs: true });

  await sp.keyboard.press('Escape');
  await sp.keyboard.press('t');
  await sp.waitForFunction(() => document.getElementById('take').dataset.mine === 'true');
  assert.match(await sp.locator('#filters [data-filter="mine"] .n').innerText(), /^[1-9]/);
  await sp.keyboard.press('?');
  await sp.waitForSelector('#keys[open]');
  v = await axe(sp);
  assert.deepEqual(v, [], JSON.stringify(v, null, 1));
  await shot(sp, 'console-shortcuts', { docs: true });
  await sp.keyboard.press('Escape');
  await sp.keyboard.press('e');
  await sp.waitForSelector('#status-btns [data-status="done"][aria-pressed="true"]');
  v = await axe(sp);
  assert.deepEqual(v, [], JSON.stringify(v, null, 1));
  clean(sp, ctx);
  await ctx.close();
  await pctx.close();
});

test('console: a platform conversation shows its messaging window and a failed channel', async () => {
  const pctx = await newContext(browser, fake.url);
  const { f } = await openWidget(pctx);
  await sendPatient(f, 'Frage zur Anreise per WhatsApp');
  await f.waitForSelector('.msg.me[data-state="sent"]');
  const sctx = await newContext(browser, fake.url);
  const sp = await staffLogin(sctx);
  await sp.keyboard.press('3');
  await sp.locator('#list .item', { hasText: 'Frage zur Anreise per WhatsApp' }).click();
  await sp.waitForSelector('.m.patient');
  fake.setBridge({ platform: 'whatsapp', window: 'open', window_remaining_s: 2 * 3600 + 300, channel_state: 'active' });
  await sp.waitForFunction(() => /Antwortfenster noch 2 h 5 min/.test(document.getElementById('conv-sub').textContent));
  fake.setBridge({ platform: 'whatsapp', window: 'template_only', window_remaining_s: 0, channel_state: 'auth_failed' });
  await sp.waitForFunction(() => /nur Vorlage/.test(document.getElementById('conv-sub').textContent) &&
    /Kanal gestört/.test(document.getElementById('conv-sub').textContent));
  fake.setBridge({ platform: 'web', window: null });
  await sctx.close();
  await pctx.close();
});

test('closed chat: unread badge on the launcher; typing indicators both ways', async () => {
  const pctx = await newContext(browser, fake.url);
  const { page, f } = await openWidget(pctx);
  await sendPatient(f, 'Ist heute noch jemand erreichbar?');
  await f.waitForSelector('.msg.me[data-state="sent"]');
  const sctx = await newContext(browser, fake.url);
  const sp = await staffLogin(sctx);
  await sp.keyboard.press('3');
  await sp.locator('#list .item', { hasText: 'Ist heute noch jemand erreichbar?' }).click();
  await sp.waitForSelector('.m.patient');

  await f.locator('#text').pressSequentially('Hallo');
  await sp.waitForFunction(() => /schreibt/.test(document.getElementById('typing').textContent));
  await f.fill('#text', '');
  await sp.locator('#reply-text').pressSequentially('Moment');
  await f.waitForFunction(() => /schreibt/.test(document.getElementById('typing').textContent));
  await sp.fill('#reply-text', '');

  await page.locator('.launcher').click(); // close the panel
  await page.waitForSelector('.panel', { state: 'hidden' });
  await sp.fill('#reply-text', 'Ja, wir sind bis 17 Uhr da.');
  await sp.keyboard.press('Alt+Enter');
  const badge = page.locator('.launcher .badge');
  await badge.waitFor();
  assert.equal(await badge.innerText(), '1');
  assert.match(await page.locator('.launcher').getAttribute('aria-label'), /1 neue Nachricht/);
  await shot(page, 'widget-launcher-badge', { docs: true });
  await page.locator('.launcher').click();
  await badge.waitFor({ state: 'hidden' });
  await f.waitForSelector('.msg.staff');
  clean(page, pctx);
  clean(sp, sctx);
  await pctx.close();
  await sctx.close();
});

test('accessibility: demo page, widget and root page have no serious or critical axe violations; directory URLs work', async () => {
  const ctx = await newContext(browser, fake.url);
  const { page, f } = await openWidget(ctx);
  await sendPatient(f, 'Test für die Barrierefreiheit');
  await f.waitForSelector('.msg.me[data-state="sent"]');
  let v = await axe(f);
  assert.deepEqual(v, [], 'widget: ' + JSON.stringify(v, null, 1));
  v = await axe(page);
  assert.deepEqual(v, [], 'demo page: ' + JSON.stringify(v, null, 1));
  await shot(page, 'demo-page', { docs: true });
  await page.goto(fake.url + '/');
  v = await axe(page);
  assert.deepEqual(v, [], 'root page: ' + JSON.stringify(v, null, 1));
  // Directory URLs without the trailing slash (the gateway serves index.html without a redirect).
  await page.goto(fake.url + '/console');
  await page.waitForSelector('#login:not([hidden])');
  await page.goto(fake.url + '/demo');
  await page.locator('.launcher').waitFor();
  if (await page.locator('.launcher').getAttribute('aria-expanded') !== 'true') await page.locator('.launcher').click();
  await chatFrame(page); // (the site remembers in sessionStorage that the chat was open)
  clean(page, ctx);
  await ctx.close();
});

test('console: server canned answers with {clinic_phone}, hand to a colleague by alias, shift toggle, snooze with a time', async () => {
  fake.setCanned([{ id: 'srv-call', title: 'Rückruf (Server)', text: 'Bitte rufen Sie uns unter {clinic_phone} an, {patient_name}.' }]);
  fake.setClinicPhone('030 7654321');
  try {
    const pctx = await newContext(browser, fake.url);
    const { f } = await openWidget(pctx);
    await sendPatient(f, 'Bitte um Rückruf.');
    await f.waitForSelector('.msg.me[data-state="sent"]');
    const sctx = await newContext(browser, fake.url);
    const sp = await staffLogin(sctx);
    await sp.keyboard.press('3');
    await sp.locator('#list .item', { hasText: 'Rückruf' }).first().click();
    await sp.waitForSelector('.m.patient');
    // The server's list replaces canned.js; the phone comes from the welcome.
    assert.equal(await sp.locator('#canned option[value="greet"]').count(), 0, 'local list not used when the server sends answers');
    await sp.selectOption('#canned', 'srv-call');
    assert.equal(await sp.inputValue('#reply-text'), 'Bitte rufen Sie uns unter 030 7654321 an.');
    await sp.fill('#reply-text', '');

    // Hand to a colleague: aliases and on-shift marker, no e-mails, no DPO.
    const opts = await sp.locator('#handoff option').allInnerTexts();
    assert.deepEqual(opts, ['Übergeben an …', 'Ben']);
    await sp.selectOption('#handoff', 's3');
    await sp.waitForFunction(() => /Zugewiesen an Ben/.test(document.getElementById('conv-sub').textContent));
    await sp.waitForFunction(() => [...document.querySelectorAll('#list .item .assignee')].some((e) => e.textContent === 'Zugewiesen an Ben'));

    // Shift toggle (Anna starts on shift in the fake).
    await sp.waitForSelector('#shift[aria-pressed="true"]');
    assert.equal(await sp.locator('#shift-label').innerText(), 'Im Dienst');
    await sp.click('#shift');
    await sp.waitForSelector('#shift[aria-pressed="false"]');
    assert.equal(await sp.locator('#shift-label').innerText(), 'Nicht im Dienst');
    await sp.click('#shift');
    await sp.waitForSelector('#shift[aria-pressed="true"]');

    // Snooze asks for a time: quick choice by keyboard, then a custom time in the past is refused.
    await sp.click('#status-btns [data-status="snoozed"]');
    await sp.waitForSelector('#snooze[open]');
    assert.equal(await sp.evaluate(() => document.activeElement?.dataset.snooze), '1h', 'focus moves into the dialog');
    let v = await axe(sp);
    assert.deepEqual(v, [], 'snooze dialog: ' + JSON.stringify(v, null, 1));
    await shot(sp, 'console-snooze');
    await sp.keyboard.press('Tab');
    const t0 = Date.now();
    await sp.keyboard.press('Enter'); // 4 hours
    await sp.waitForSelector('#snooze:not([open])', { state: 'attached' });
    await sp.waitForSelector('#status-btns [data-status="snoozed"][aria-pressed="true"]');
    const conv = [...fake.convs.values()].find((c) => c.status === 'snoozed');
    const until = Date.parse(conv.snoozed_until);
    assert.ok(Math.abs(until - (t0 + 4 * 3600e3)) < 60e3, 'until is about 4 h from now: ' + conv.snoozed_until);
    assert.match(await sp.locator('#conv-sub').innerText(), /zurückgestellt bis/);
    await sp.click('#status-btns [data-status="snoozed"]');
    await sp.fill('#snooze-at', '2020-01-01T08:00');
    await sp.click('#snooze-form button[type="submit"]');
    assert.match(await sp.locator('#snooze-error').innerText(), /Zukunft/);
    await sp.keyboard.press('Escape');
    await sp.waitForSelector('#snooze:not([open])', { state: 'attached' });
    assert.equal(Date.parse(conv.snoozed_until), until, 'a refused time sends nothing');
    v = await axe(sp);
    assert.deepEqual(v, [], 'console: ' + JSON.stringify(v, null, 1));
    clean(sp, sctx);
    await sctx.close();
    await pctx.close();
  } finally {
    fake.setCanned(null);
    fake.setClinicPhone(null);
  }
});

test('a newer privacy-notice version from the gateway shows the notice again before the next message', async () => {
  const ctx = await newContext(browser, fake.url);
  try {
    const { page, f } = await openWidget(ctx);
    await sendPatient(f, 'Vor der neuen Fassung');
    await f.waitForSelector('.msg.me[data-state="sent"]');
    assert.equal(fake.hellos.at(-1).privacy_notice, '2026-01');

    const text = 'Neue Fassung: Ihre Nachrichten werden nach 12 Monaten gelöscht.';
    fake.setPrivacyVersion('2026-11', text);
    await page.reload();
    await page.locator('.launcher').waitFor();
    const g = await chatFrame(page); // the panel re-opens itself (sessionStorage of the site)
    await g.waitForSelector('#privacy:not([hidden])');
    assert.match(await g.textContent('#privacy-version'), /2026-11/);
    assert.match(await g.textContent('#privacy'), /nach 12 Monaten gelöscht/, 'the policy\'s own notice text is shown');
    assert.equal(await g.isDisabled('#text'), true, 'no typing until the new version is accepted');
    assert.equal(await g.locator('.msg', { hasText: 'Vor der neuen Fassung' }).count(), 1, 'the history stays visible');
    const before = fake.hellos.length;
    await g.click('#privacy-ok');
    // A fresh hello records the newly accepted version with the gateway.
    await g.waitForFunction(() => !document.getElementById('text').disabled);
    for (let i = 0; i < 50 && fake.hellos.length === before; i++) await sleep(100);
    assert.equal(fake.hellos.at(-1).privacy_notice, '2026-11');
    await sendPatient(g, 'Nach der neuen Fassung');
    await g.waitForSelector('.msg.me[data-state="sent"] >> text=Nach der neuen Fassung');

    // Accepted once: a later reload does not ask again.
    await page.reload();
    await page.locator('.launcher').waitFor();
    const h = await chatFrame(page);
    await h.waitForSelector('.msg', { hasText: 'Nach der neuen Fassung' });
    assert.equal(await h.isVisible('#privacy'), false);
    clean(page, ctx);
  } finally {
    fake.setPrivacyVersion('2026-01');
    await ctx.close();
  }
});

test('console: health data to WhatsApp is blocked with an override button that sends it redacted; a private phone number has none', async () => {
  const pctx = await newContext(browser, fake.url);
  const { f } = await openWidget(pctx);
  await sendPatient(f, 'Frage zu Schmerzmitteln per WhatsApp');
  await f.waitForSelector('.msg.me[data-state="sent"]');
  const sctx = await newContext(browser, fake.url);
  const sp = await staffLogin(sctx);
  try {
    await sp.keyboard.press('3');
    await sp.locator('#list .item', { hasText: 'Frage zu Schmerzmitteln per WhatsApp' }).click();
    await sp.waitForSelector('.m.patient');
    fake.setBridge({ platform: 'whatsapp', window: 'open', window_remaining_s: 3600, channel_state: 'active' });

    await sp.fill('#reply-text', 'Sie können 400 mg Ibuprofen nehmen.');
    await sp.keyboard.press('Alt+Enter');
    await sp.waitForSelector('#reply-error:not([hidden]) #override');
    assert.equal((await sp.textContent('#override')).trim(), 'Mit geschwärzten Gesundheitsdaten senden');
    assert.match(await sp.textContent('#reply-error'), /Prüfprotokoll/);
    assert.equal(await sp.inputValue('#reply-text'), 'Sie können 400 mg Ibuprofen nehmen.', 'the text is back in the input');
    assert.equal(fake.overrides.length, 0);
    let v = await axe(sp);
    assert.deepEqual(v, [], JSON.stringify(v, null, 1));
    await sp.click('#override');
    await sp.waitForSelector('.m.staff[data-state="sent"]');
    assert.equal(fake.overrides.length, 1, 'the reply went out with "override":true');
    await f.locator('.msg.staff', { hasText: '[MEDICATION]' }).waitFor();
    assert.equal(await f.locator('.msg.staff', { hasText: 'Ibuprofen' }).count(), 0, 'the patient got the redacted text');
    assert.equal(await sp.isHidden('#reply-error'), true);

    await sp.fill('#reply-text', 'Rufen Sie mich privat an: 0171 2345678');
    await sp.keyboard.press('Alt+Enter');
    await sp.waitForSelector('#reply-error:not([hidden])');
    assert.equal(await sp.locator('#override').count(), 0, 'no override for a private phone number');
    assert.deepEqual(sp.problems, []);
  } finally {
    fake.setBridge({ platform: 'web', window: null });
    await sctx.close();
    await pctx.close();
  }
});
