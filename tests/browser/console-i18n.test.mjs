// SPDX-License-Identifier: Apache-2.0
//
// The staff console speaks German, English, Polish and Hungarian, chosen from the browser's
// preferred languages (German otherwise). Every language carries every text key, and a console
// opened in a Polish or Hungarian browser shows no German text after login.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeServer } from './lib/fakeserver.mjs';
import { launch, newContext, newPage, axe } from './lib/browser.mjs';
import { STR, LANGS, pickLang } from '../../widget/console/strings.js';

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

test('every console language has every key, with the same placeholders, and no empty text', () => {
  assert.deepEqual(LANGS, ['de', 'en', 'pl', 'hu']);
  const keys = Object.keys(STR.de).sort();
  const ph = (s) => (s.match(/\{\w+\}/g) || []).sort().join(',');
  for (const l of LANGS) {
    assert.deepEqual(Object.keys(STR[l]).sort(), keys, `keys of ${l}`);
    for (const k of keys) {
      assert.ok(STR[l][k].trim().length > 0, `${l}.${k} is empty`);
      assert.equal(ph(STR[l][k]), ph(STR.de[k]), `placeholders of ${l}.${k}`);
    }
  }
});

test('the language is the first preferred one the console speaks', () => {
  assert.equal(pickLang(['hu-HU', 'en-GB']), 'hu');
  assert.equal(pickLang(['fr-FR', 'pl-PL', 'de']), 'pl');
  assert.equal(pickLang(['fr-FR']), 'de');
  assert.equal(pickLang([]), 'de');
});

for (const [locale, lang] of [['pl-PL', 'pl'], ['hu-HU', 'hu']]) {
  test(`console in a ${locale} browser: login, queue and shortcuts in ${lang}; axe clean`, async () => {
    const ctx = await newContext(browser, fake.url, { locale });
    const sp = await newPage(ctx);
    await sp.goto(fake.url + '/console/index.html');
    await sp.waitForSelector('#login:not([hidden])');
    assert.equal(await sp.evaluate(() => document.documentElement.lang), lang);
    assert.equal((await sp.textContent('#login-h')).trim(), STR[lang].login_title);
    assert.equal((await sp.textContent('#login-btn')).trim(), STR[lang].login);
    let v = await axe(sp);
    assert.deepEqual(v, [], JSON.stringify(v, null, 1));

    await sp.fill('#email', 'anna@demo-clinic.example');
    await sp.fill('#password', 'wrong');
    await sp.click('#login-btn');
    await sp.waitForFunction((want) => document.getElementById('login-error').textContent === want, STR[lang].login_bad);
    await sp.fill('#password', 'correct horse');
    await sp.press('#password', 'Enter');
    await sp.waitForSelector('#conn[data-state="online"]');
    assert.equal((await sp.textContent('#queue-h')).trim(), STR[lang].queue);
    // No German text left in any translated element once the console is running.
    const leftovers = await sp.evaluate((de) => [...document.querySelectorAll('[data-t]')]
      .filter((e) => e.dataset.t in de && e.textContent.trim() === de[e.dataset.t] && !/^(WhatsApp|Messenger|Instagram)$/.test(e.textContent.trim()))
      .map((e) => e.dataset.t), STR.de);
    assert.deepEqual(leftovers, []);
    v = await axe(sp);
    assert.deepEqual(v, [], JSON.stringify(v, null, 1));
    assert.deepEqual(sp.problems, []);
    await ctx.close();
  });
}
