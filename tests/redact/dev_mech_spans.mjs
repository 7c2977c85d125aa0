// SPDX-License-Identifier: Apache-2.0
// Converts a mech dev set (<lang>|<text> with [[X:span]] markers) into JSON lines with
// UTF-8 byte offsets, and prints every span back for reading. The id tag comes from the
// file name: dev_mech.txt -> <lang>-mech-nnn, dev2_mech.txt -> <lang>-d2mech-nnn.
// Usage: node tests/redact/dev_mech_spans.mjs tests/redact/dev_mech.txt > tests/redact/dev_mech.jsonl
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const tag = basename(process.argv[2], '.txt').startsWith('dev2_') ? 'd2mech' : 'mech';

const cats = { E: 'EMAIL', C: 'CONDITION', T: 'TREATMENT', M: 'MEDICATION', P: 'PERSON', D: 'DOB', A: 'ADDRESS', H: 'PHONE' };
const count = {};
for (const line of readFileSync(process.argv[2], 'utf8').split('\n')) {
  if (!line.trim() || line.startsWith('#')) continue;
  const bar = line.indexOf('|');
  const lang = line.slice(0, bar);
  const raw = line.slice(bar + 1);
  count[lang] = (count[lang] || 0) + 1;
  let text = '';
  const spans = [];
  let pos = 0;
  for (const m of raw.matchAll(/\[\[([A-Z]):(.*?)\]\]/g)) {
    text += raw.slice(pos, m.index);
    const start = Buffer.byteLength(text, 'utf8');
    text += m[2];
    spans.push({ start, end: Buffer.byteLength(text, 'utf8'), category: cats[m[1]] });
    pos = m.index + m[0].length;
  }
  text += raw.slice(pos);
  const id = `${lang}-${tag}-${String(count[lang]).padStart(3, '0')}`;
  for (const s of spans)
    process.stderr.write(`${id} ${s.category} ${Buffer.from(text, 'utf8').subarray(s.start, s.end).toString()}\n`);
  process.stdout.write(JSON.stringify({ id, lang, text, spans }) + '\n');
}
