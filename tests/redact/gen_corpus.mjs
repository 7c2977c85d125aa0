// SPDX-License-Identifier: Apache-2.0
// One-off generator of tests/redact/corpus.jsonl: labelled clinic-chat messages in
// de, en, pl, hu with byte-offset spans. Identifiers are generated with correct check
// digits; hard negatives (invoice/order numbers, doses, rooms, appointment dates,
// prices) are mixed in. Deterministic (seeded), so the committed corpus can be
// regenerated: `node tests/redact/gen_corpus.mjs > tests/redact/corpus.jsonl`; the held-out
// sets: `node tests/redact/gen_corpus.mjs --heldout heldout2.txt > tests/redact/heldout2.jsonl`.
// The phrasing and term pools were written for realism from clinic chat experience,
// independently of the engine's dictionaries (some terms are not in them).

let seed = 20261123;
function rnd() { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000; }
const pick = (a) => a[Math.floor(rnd() * a.length)];
const ri = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const digits = (n) => Array.from({ length: n }, () => ri(0, 9)).join('');
const pad = (v, n) => String(v).padStart(n, '0');

// ---------------------------------------------------------------- identifiers
function kvnr() {
  for (;;) {
    const L = String.fromCharCode(65 + ri(0, 25)), d = digits(8);
    const ln = pad(L.charCodeAt(0) - 64, 2);
    const s = ln + d; let sum = 0;
    for (let i = 0; i < 10; i++) { let p = +s[i] * (i % 2 ? 2 : 1); sum += Math.floor(p / 10) + (p % 10); }
    return L + d + (sum % 10);
  }
}
function birth() { return { d: ri(1, 28), m: ri(1, 12), y: ri(1940, 2005) }; }
function rvnr(spaced) {
  const w = [2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1];
  const b = birth(); const L = String.fromCharCode(65 + ri(0, 25));
  const area = pad(ri(10, 89), 2), bd = pad(b.d, 2) + pad(b.m, 2) + pad(b.y % 100, 2), ser = pad(ri(0, 99), 2);
  const ds = area + bd + pad(L.charCodeAt(0) - 64, 2) + ser; let sum = 0;
  for (let i = 0; i < 12; i++) { const p = +ds[i] * w[i]; sum += Math.floor(p / 10) + (p % 10); }
  const c = sum % 10;
  return spaced ? `${area} ${bd} ${L} ${ser}${c}` : `${area}${bd}${L}${ser}${c}`;
}
function steuerid() {
  for (;;) {
    const a = []; a.push(ri(1, 9));
    while (a.length < 10) a.push(ri(0, 9));
    const cnt = Array(10).fill(0); a.forEach((x) => cnt[x]++);
    if (cnt.filter((c) => c >= 2).length !== 1 || cnt.some((c) => c > 3)) continue;
    let prod = 10;
    for (const x of a) { let s = (x + prod) % 10; if (s === 0) s = 10; prod = (s * 2) % 11; }
    let c = 11 - prod; if (c === 10) c = 0;
    const s = a.join('') + c;
    return rnd() < 0.5 ? s : `${s.slice(0, 2)} ${s.slice(2, 5)} ${s.slice(5, 8)} ${s.slice(8)}`;
  }
}
function atsvnr() {
  const w = [3, 7, 9, 0, 5, 8, 4, 2, 1, 6];
  for (;;) {
    const b = birth(); const ser = String(ri(100, 999));
    const s = ser + 'X' + pad(b.d, 2) + pad(b.m, 2) + pad(b.y % 100, 2);
    let sum = 0; for (let i = 0; i < 10; i++) if (i !== 3) sum += +s[i] * w[i];
    if (sum % 11 === 10) continue;
    const full = s.replace('X', String(sum % 11));
    return rnd() < 0.5 ? full : full.slice(0, 4) + ' ' + full.slice(4);
  }
}
function pesel() {
  const w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]; const b = birth();
  const m = b.y >= 2000 ? b.m + 20 : b.m;
  const s = pad(b.y % 100, 2) + pad(m, 2) + pad(b.d, 2) + digits(4);
  let sum = 0; for (let i = 0; i < 10; i++) sum += +s[i] * w[i];
  return s + ((10 - (sum % 10)) % 10);
}
function nip() {
  const w = [6, 5, 7, 2, 3, 4, 5, 6, 7];
  for (;;) {
    const s = String(ri(101, 999)) + digits(6); let sum = 0;
    for (let i = 0; i < 9; i++) sum += +s[i] * w[i];
    if (sum % 11 === 10) continue;
    const f = s + (sum % 11);
    return rnd() < 0.5 ? `${f.slice(0, 3)}-${f.slice(3, 6)}-${f.slice(6, 8)}-${f.slice(8)}` : f;
  }
}
function taj() {
  const s = digits(8); let sum = 0;
  for (let i = 0; i < 8; i++) sum += +s[i] * (i % 2 ? 7 : 3);
  const f = s + (sum % 10);
  return rnd() < 0.6 ? `${f.slice(0, 3)} ${f.slice(3, 6)} ${f.slice(6)}` : f;
}
function hupersonal() {
  for (;;) {
    const b = birth(); const sex = b.y >= 2000 ? ri(3, 4) : ri(1, 2);
    const s = String(sex) + pad(b.y % 100, 2) + pad(b.m, 2) + pad(b.d, 2) + digits(3);
    let sum = 0;
    for (let i = 0; i < 10; i++) sum += +s[i] * (b.y >= 1997 ? 10 - i : i + 1);
    if (sum % 11 === 10) continue;
    const f = s + (sum % 11);
    return rnd() < 0.5 ? `${f[0]}-${f.slice(1, 7)}-${f.slice(7)}` : f;
  }
}
function hutax() {
  for (;;) {
    const s = '8' + digits(8); let sum = 0;
    for (let i = 0; i < 9; i++) sum += +s[i] * (i + 1);
    if (sum % 11 === 10) continue;
    return s + (sum % 11);
  }
}
function nhs() {
  for (;;) {
    const s = digits(9); let sum = 0;
    for (let i = 0; i < 9; i++) sum += +s[i] * (10 - i);
    let c = 11 - (sum % 11); if (c === 11) c = 0; if (c === 10) continue;
    const f = s + c;
    return rnd() < 0.7 ? `${f.slice(0, 3)} ${f.slice(3, 6)} ${f.slice(6)}` : f;
  }
}
function ssn() { return `${pad(ri(1, 665), 3)}-${pad(ri(1, 99), 2)}-${pad(ri(1, 9999), 4)}`; }
const ibanLen = { DE: 22, AT: 20, PL: 28, HU: 28, GB: 22, FR: 27, NL: 18, CH: 21, IT: 27, ES: 24, CZ: 24, SK: 24, BE: 16, LU: 20 };
function mod97(str) { let r = 0; for (const ch of str) { const v = /[0-9]/.test(ch) ? ch : String(ch.charCodeAt(0) - 55); for (const d of v) r = (r * 10 + +d) % 97; } return r; }
function iban(cc) {
  const n = ibanLen[cc]; let bban = '';
  if (cc === 'GB') bban = pick(['NWBK', 'BARC', 'LOYD', 'HBUK']) + digits(n - 8);
  else if (cc === 'NL') bban = pick(['ABNA', 'INGB', 'RABO']) + digits(n - 8);
  else bban = digits(n - 4);
  const chk = pad(98 - mod97(bban + cc + '00'), 2);
  const s = cc + chk + bban;
  return rnd() < 0.7 ? s.replace(/(.{4})/g, '$1 ').trim() : s;
}

// ---------------------------------------------------------------- people, places
const fnDE = ['Anna', 'Sabine', 'Julia', 'Thomas', 'Michael', 'Katharina', 'Stefan', 'Petra', 'Jürgen', 'Monika', 'Lukas', 'Laura', 'Andreas', 'Claudia', 'Markus', 'Lena', 'Wolfgang', 'Sophie'];
const snDE = ['Schmidt', 'Müller', 'Meyer', 'Schneider', 'Fischer', 'Weber', 'Wagner', 'Becker', 'Hoffmann', 'Schulz', 'Koch', 'Richter', 'Klein', 'Wolf', 'Neumann', 'Schwarz', 'Zimmermann', 'Krüger', 'Huber', 'Gruber'];
const fnEN = ['James', 'Sarah', 'Emily', 'David', 'Oliver', 'Charlotte', 'Michael', 'Jessica', 'Thomas', 'Rachel', 'Daniel', 'Sophie', 'Andrew', 'Helen', 'Robert', 'Lucy'];
const snEN = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Robinson', 'Wright', 'Thompson', 'Evans', 'Walker', 'Green', 'Hughes', 'Clarke'];
const fnPL = ['Katarzyna', 'Anna', 'Agnieszka', 'Magdalena', 'Piotr', 'Tomasz', 'Krzysztof', 'Marta', 'Paweł', 'Joanna', 'Michał', 'Ewa', 'Łukasz', 'Małgorzata', 'Jakub', 'Zofia'];
const snPL = ['Nowak', 'Kowalska', 'Kowalski', 'Wiśniewska', 'Wójcik', 'Kamińska', 'Lewandowski', 'Zielińska', 'Szymański', 'Woźniak', 'Dąbrowska', 'Kozłowski', 'Jankowska', 'Mazur', 'Krawczyk'];
const fnHU = ['Anna', 'Katalin', 'Éva', 'Zsófia', 'László', 'István', 'Péter', 'Gábor', 'Zoltán', 'Erzsébet', 'Judit', 'Tamás', 'Krisztina', 'Balázs', 'Réka'];
const snHU = ['Nagy', 'Kovács', 'Tóth', 'Szabó', 'Horváth', 'Varga', 'Kiss', 'Molnár', 'Németh', 'Farkas', 'Balogh', 'Papp', 'Takács', 'Juhász', 'Lakatos'];

const streetDE = ['Hauptstraße', 'Bahnhofstraße', 'Lindenweg', 'Goethestraße', 'Schillerstr.', 'Am Markt', 'Berliner Straße', 'Gartenweg', 'Mozartgasse', 'Karl-Marx-Allee', 'Rosenweg', 'Kirchplatz'];
const cityDE = [['10115', 'Berlin'], ['80331', 'München'], ['50667', 'Köln'], ['20095', 'Hamburg'], ['01067', 'Dresden'], ['04109', 'Leipzig'], ['1010', 'Wien'], ['8010', 'Graz'], ['5020', 'Salzburg'], ['70173', 'Stuttgart']];
const streetEN = ['Baker Street', 'High Street', 'Church Road', 'Station Road', 'Park Avenue', 'Victoria Road', 'Green Lane', 'Manor Drive'];
const pcEN = ['SW1A 1AA', 'M1 1AE', 'B33 8TH', 'EC1A 1BB', 'LS1 4AP', 'BS1 5TR'];
const streetPL = ['ul. Marszałkowska', 'ul. Długa', 'ul. Piotrkowska', 'al. Jerozolimskie', 'ul. Słowackiego', 'ul. Kwiatowa', 'ul. Lipowa', 'os. Tysiąclecia'];
const cityPL = [['00-950', 'Warszawa'], ['31-042', 'Kraków'], ['90-001', 'Łódź'], ['50-001', 'Wrocław'], ['61-001', 'Poznań'], ['80-001', 'Gdańsk']];
const streetHU = ['Kossuth Lajos utca', 'Petőfi Sándor utca', 'Rákóczi út', 'Andrássy út', 'Deák Ferenc tér', 'Fő utca', 'Szabadság tér', 'Béke utca'];
const cityHU = [['1051', 'Budapest'], ['4024', 'Debrecen'], ['6720', 'Szeged'], ['7621', 'Pécs'], ['9021', 'Győr']];

// ---------------------------------------------------------------- health terms
const condDE = ['Migräne', 'Bluthochdruck', 'Diabetes', 'Asthma', 'Rückenschmerzen', 'Kopfschmerzen', 'Fieber', 'Husten', 'Durchfall', 'Übelkeit', 'Schwindel', 'Depressionen', 'Angststörung', 'Heuschnupfen', 'Bronchitis', 'Gürtelrose', 'Sodbrennen', 'Blasenentzündung', 'Schilddrüsenunterfunktion', 'Tinnitus', 'Halsschmerzen', 'Arthrose', 'Vorhofflimmern', 'Neurodermitis'];
const condEN = ['migraine', 'high blood pressure', 'diabetes', 'asthma', 'back pain', 'a |headache', 'a |fever', 'a |cough', 'diarrhoea', 'nausea', 'dizziness', 'depression', 'anxiety', 'hay fever', 'bronchitis', 'shingles', 'heartburn', 'a |urinary tract infection', 'hypothyroidism', 'tinnitus', 'a |sore throat', 'arthritis', 'atrial fibrillation', 'eczema'];
const condPL = ['migrenę', 'nadciśnienie', 'cukrzycę', 'astmę', 'bóle pleców', 'ból głowy', 'gorączkę', 'kaszel', 'biegunkę', 'nudności', 'zawroty głowy', 'depresję', 'alergię', 'zapalenie oskrzeli', 'półpasiec', 'zgagę', 'zapalenie pęcherza', 'niedoczynność tarczycy', 'ból gardła', 'anemię', 'łuszczycę', 'infekcję', 'zapalenie zatok'];
const condHU = ['migrénem', 'magas vérnyomásom', 'cukorbetegségem', 'asztmám', 'hátfájásom', 'fejfájásom', 'lázam', 'köhögésem', 'hasmenésem', 'hányingerem', 'szédülésem', 'depresszióm', 'allergiám', 'hörghurutom', 'övsömöröm', 'gyomorégésem', 'felfázásom', 'torokfájásom', 'vérszegénységem', 'ekcémám', 'fülzúgásom', 'szorongásom'];
// the "-ra/-re" forms for "gyógyszert szedek a ... miatt"
const medNames = ['Ibuprofen', 'Paracetamol', 'Metformin', 'Ramipril', 'Bisoprolol', 'Amlodipin', 'L-Thyroxin', 'Pantoprazol', 'Sertralin', 'Salbutamol', 'Candesartan', 'Atorvastatin', 'Novaminsulfon', 'Diclofenac', 'Citalopram', 'Xarelto', 'Eliquis', 'Euthyrox', 'Ozempic', 'Aspirin', 'Amoxicillin', 'Cetirizin', 'Omeprazol', 'Tilidin'];
const medPL = ['Ibuprom', 'Apap', 'Metformax', 'metforminę', 'Polopirynę', 'Euthyrox', 'Xanax', 'Nolpazę', 'Concor', 'amoksycylinę', 'Ketonal', 'No-Spę', 'Pyralginę', 'Letrox', 'Siofor'];
const medHU = ['Algopyrin', 'Cataflam', 'Rubophen', 'Euthyrox', 'Nolpaza', 'Concor', 'Metformin', 'Xanax', 'Panadol', 'No-Spa', 'Letrox', 'Siofor', 'Advil', 'Augmentin'];
const doses = ['400 mg', '600 mg', '500 mg', '1000 mg', '5 mg', '10 mg', '20 mg', '50 µg', '75 µg', '2,5 mg', '100 mg', '40 mg'];
const SERVICE_WORDS = new Set(['Krankschreibung', 'zwolnienie lekarskie']);
const treatDE = ['Darmspiegelung', 'Blutabnahme', 'Physiotherapie', 'MRT', 'Ultraschalluntersuchung', 'Impfung', 'Mammographie', 'Wurzelbehandlung', 'Krankschreibung', 'Grippeimpfung', 'Langzeit-EKG', 'Chemotherapie', 'Psychotherapie', 'Magenspiegelung', 'Röntgenaufnahme', 'Operation'];
const treatEN = ['colonoscopy', 'blood test', 'physiotherapy', 'MRI scan', 'ultrasound', 'vaccination', 'mammogram', 'root canal', 'sick note', 'flu jab', 'ECG', 'chemotherapy', 'smear test', 'x-ray', 'surgery'];
const treatPL = ['kolonoskopię', 'badanie krwi', 'fizjoterapię', 'rezonans', 'USG', 'szczepienie', 'mammografię', 'leczenie kanałowe', 'zwolnienie lekarskie', 'EKG', 'chemioterapię', 'gastroskopię', 'RTG', 'operację', 'cytologię'];
const treatHU = ['vastagbéltükrözésre', 'vérvételre', 'gyógytornára', 'MR vizsgálatra', 'ultrahangra', 'oltásra', 'mammográfiára', 'gyökérkezelésre', 'EKG-ra', 'röntgenre', 'műtétre', 'gyomortükrözésre', 'szűrővizsgálatra', 'laborra'];

// ---------------------------------------------------------------- formats
function dateDE(b) { return rnd() < 0.8 ? `${pad(b.d, 2)}.${pad(b.m, 2)}.${b.y}` : `${b.d}.${b.m}.${b.y}`; }
function dateEN(b) { const M = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']; return rnd() < 0.5 ? `${pad(b.d, 2)}/${pad(b.m, 2)}/${b.y}` : `${b.d} ${M[b.m - 1]} ${b.y}`; }
function datePL(b) { const M = ['stycznia', 'lutego', 'marca', 'kwietnia', 'maja', 'czerwca', 'lipca', 'sierpnia', 'września', 'października', 'listopada', 'grudnia']; return rnd() < 0.7 ? `${pad(b.d, 2)}.${pad(b.m, 2)}.${b.y}` : `${b.d} ${M[b.m - 1]} ${b.y}`; }
function dateHU(b) { const M = ['január', 'február', 'március', 'április', 'május', 'június', 'július', 'augusztus', 'szeptember', 'október', 'november', 'december']; return rnd() < 0.6 ? `${b.y}.${pad(b.m, 2)}.${pad(b.d, 2)}.` : `${b.y}. ${M[b.m - 1]} ${b.d}.`; }
function future() { return { d: ri(1, 28), m: ri(1, 12), y: pick([2025, 2026, 2027]) }; }
function phoneDE() { return pick([() => `0171 ${digits(7)}`, () => `0151 ${digits(8)}`, () => `030 ${digits(8)}`, () => `+49 176 ${digits(8)}`, () => `+49 (0)89 ${digits(7)}`, () => `0049 160 ${digits(7)}`, () => `0221/${digits(6)}`, () => `+43 664 ${digits(7)}`, () => `0664 ${digits(7)}`, () => `01512${digits(7)}`])(); }
function phoneEN() { return pick([() => `07700 ${ri(900000, 900999)}`, () => `+44 7700 ${ri(900000, 900999)}`, () => `020 7946 ${pad(ri(0, 999), 4)}`, () => `(415) 555-${pad(ri(100, 199), 4)}`, () => `212-555-${pad(ri(100, 199), 4)}`, () => `+1 646 555 ${pad(ri(100, 199), 4)}`, () => `0161 496 ${pad(ri(0, 999), 4)}`])(); }
function phonePL() { return pick([() => `${pick(['501', '602', '512', '694', '785', '880'])} ${digits(3)} ${digits(3)}`, () => `+48 ${pick(['501', '600', '721'])} ${digits(3)} ${digits(3)}`, () => `22 ${digits(3)} ${digits(2)} ${digits(2)}`, () => `${pick(['501', '698'])}${digits(6)}`, () => `0048 ${pick(['512', '605'])} ${digits(3)} ${digits(3)}`])(); }
function phoneHU() { return pick([() => `06 30 ${digits(3)} ${digits(4)}`, () => `+36 20 ${digits(3)} ${digits(4)}`, () => `06-1-${digits(3)}-${digits(4)}`, () => `+36 70 ${digits(7)}`, () => `30 ${digits(3)} ${digits(4)}`, () => `06 70 ${digits(3)} ${digits(4)}`])(); }
function emailFor(fn, sn) {
  const f = fn.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace('ł', 'l');
  const s = sn.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace('ł', 'l');
  return pick([`${f}.${s}@gmail.com`, `${f[0]}${s}@web.de`, `${s}${ri(1, 99)}@gmx.at`, `${f}_${s}@outlook.com`, `${f}.${s}@wp.pl`, `${s}.${f}@freemail.hu`, `${f}${ri(60, 99)}@yahoo.co.uk`]);
}
const inv = () => pick([`RE-${ri(2023, 2025)}-${pad(ri(1, 99999), 5)}`, `${ri(2023, 2025)}-${pad(ri(1, 9999), 4)}`, digits(8), `${digits(4)}-${digits(4)}-${digits(2)}`, digits(10), `${digits(3)} ${digits(3)} ${digits(4)}`, digits(11), digits(9)]);
const price = () => pick(['49,90', '120,00', '35', '18,50', '250', '1.250,00', '9,99']);
const time = () => `${ri(7, 18)}:${pick(['00', '15', '30', '45'])}`;

// ---------------------------------------------------------------- templates
// A template returns segments: plain strings, or [CATEGORY, text].
const P = (t) => ['PERSON', t];
const T = {
  de: {
    pos: [
      () => { const f = pick(fnDE), s = pick(snDE), b = birth(); return ['Hallo, ich heiße ', P(`${f} ${s}`), ', geb. ', ['DOB', dateDE(b)], ', ich nehme ', ['MEDICATION', `${pick(medNames)} ${pick(doses)}`], ' wegen ', ['CONDITION', pick(condDE)], '.']; },
      () => ['Guten Tag, mein Name ist ', P(`${pick(fnDE)} ${pick(snDE)}`), '. Ich bräuchte einen Termin, ich habe seit Tagen ', ['CONDITION', pick(condDE)], '.'],
      () => ['Könnten Sie mir bitte ein neues Rezept für ', ['MEDICATION', pick(medNames)], ' ausstellen? Meine Versichertennummer ist ', ['HEALTH_ID', kvnr()], '.'],
      () => ['Bitte rufen Sie mich zurück: ', ['PHONE', phoneDE()], ' (ab 16 Uhr)'],
      () => ['Meine neue Adresse ist ', ['ADDRESS', `${pick(streetDE)} ${ri(1, 120)}${pick(['', '', 'a', 'b'])}`], ', ', ['ADDRESS', (() => { const c = pick(cityDE); return `${c[0]} ${c[1]}`; })()], '. Bitte für die Unterlagen ändern.'],
      () => ['Ich habe ', ['CONDITION', pick(condDE)], ' und ', ['CONDITION', pick(condDE)], ', soll ich trotzdem zur ', ['TREATMENT', pick(treatDE)], ' kommen?'],
      () => ['Wann sind die Ergebnisse von der ', ['TREATMENT', pick(treatDE)], ' da? Viele Grüße, ', P(`${pick(fnDE)} ${pick(snDE)}`)],
      () => ['Für die Erstattung hier meine IBAN: ', ['IBAN', iban(pick(['DE', 'DE', 'AT', 'CH', 'NL']))]],
      () => ['Meine Steuer-ID für die Bescheinigung: ', ['NATIONAL_ID', steuerid()]],
      () => ['Die Rentenversicherung braucht das Attest, meine Nummer ist ', ['NATIONAL_ID', rvnr(rnd() < 0.5)], '.'],
      () => ['Grüß Gott, meine Sozialversicherungsnummer ist ', ['HEALTH_ID', atsvnr()], ', ich hätte gern einen Termin wegen ', ['CONDITION', pick(condDE)], '.'],
      () => { const f = pick(fnDE), s = pick(snDE); return ['Sie erreichen mich auch per Mail unter ', ['EMAIL', emailFor(f, s)], '.']; },
      () => ['Liebe Frau ', P(pick(snDE)), ', vielen Dank für die schnelle Hilfe!'],
      () => ['Herr ', P(pick(snDE)), ' hat mir ', ['MEDICATION', `${pick(medNames)} ${pick(doses)}`], ' verschrieben, muss ich das vor dem Essen nehmen?'],
      () => ['Meine Tochter ', P(pick(fnDE)), ' (geboren am ', ['DOB', dateDE(birth())], ') hat seit gestern ', ['CONDITION', pick(condDE)], '.'],
      () => ['Hallo ', P(pick(fnDE)), ', ich komme morgen zur ', ['TREATMENT', pick(treatDE)], '.'],
      () => ['Ich vertrage kein ', ['MEDICATION', pick(medNames)], ', ich bekomme davon ', ['CONDITION', pick(condDE)], '.'],
      () => ['Mein Mann ', P(`${pick(fnDE)} ${pick(snDE)}`), ', geb. ', ['DOB', dateDE(birth())], ', ist unter ', ['PHONE', phoneDE()], ' erreichbar.'],
      () => ['Bitte die ', ['TREATMENT', 'Krankschreibung'], ' an ', ['EMAIL', emailFor(pick(fnDE), pick(snDE))], ' schicken. Danke!'],
      () => ['Ich wohne jetzt in der ', ['ADDRESS', `${pick(streetDE)} ${ri(1, 80)}`], '.'],
    ],
    neg: [
      () => [`Ich habe die Rechnung Nr. ${inv()} über ${price()} € schon überwiesen.`],
      () => [`Meine Bestellnummer ist ${inv()}, wann kann ich die Einlagen abholen?`],
      () => { const f = future(); return [`Ist mein Termin am ${pad(f.d, 2)}.${pad(f.m, 2)}.${f.y} um ${time()} Uhr noch aktuell?`]; },
      () => [`Wir warten in Zimmer ${ri(1, 320)} im ${ri(1, 4)}. Stock.`],
      () => ['Haben Sie am Samstag geöffnet?'],
      () => [`Die Parkgebühr beträgt ${price()} € pro Stunde, oder?`],
      () => ['Danke für die schnelle Antwort!'],
      () => [`Soll ich die Dosis von ${pick(doses)} auf zwei Tabletten erhöhen?`],
      () => [`Ich komme etwa ${ri(5, 30)} Minuten später, Stau auf der A${ri(1, 99)}.`],
      () => [`Kann ich den Termin vom ${ri(1, 28)}.${ri(1, 12)}. auf nächste Woche verschieben?`],
      () => [`Die Praxis ist von ${time()} bis ${time()} Uhr besetzt, richtig?`],
      () => [`Rechnungsnummer ${inv()} vom ${ri(1, 28)}.${ri(1, 12)}.${ri(2024, 2025)}, Betrag ${price()} €.`],
      () => ['Wo kann ich in der Nähe parken?'],
      () => [`Bitte nehmen Sie ${ri(1, 3)} x täglich ${ri(1, 2)} Tablette nach dem Essen, hat die Apotheke gesagt.`],
      () => [`Ticket ${digits(6)}: das Kontaktformular auf der Webseite funktioniert nicht.`],
    ],
  },
  en: {
    pos: [
      () => ['Hi, my name is ', P(`${pick(fnEN)} ${pick(snEN)}`), ', DOB ', ['DOB', dateEN(birth())], '. I take ', ['MEDICATION', `${pick(medNames)} ${pick(doses)}`], ' for ', ['CONDITION', pick(condEN)], '.'],
      () => ['Hello, this is ', P(`${pick(fnEN)} ${pick(snEN)}`), ', I have had ', ['CONDITION', pick(condEN)], ' for a week, can I come in today?'],
      () => ['My NHS number is ', ['HEALTH_ID', nhs()], ', I need a repeat prescription for ', ['MEDICATION', pick(medNames)], '.'],
      () => ['Please call me back on ', ['PHONE', phoneEN()], ' after 5pm.'],
      () => ['I have moved to ', ['ADDRESS', `${ri(1, 250)} ${pick(streetEN)}`], ', London ', ['ADDRESS', pick(pcEN)], '.'],
      () => ['I was born on ', ['DOB', dateEN(birth())], ' if you need it for the form.'],
      () => ['When will the results of my ', ['TREATMENT', pick(treatEN)], ' be ready? Kind regards, ', P(`${pick(fnEN)} ${pick(snEN)}`)],
      () => ['For the refund, my IBAN is ', ['IBAN', iban(pick(['GB', 'GB', 'DE', 'FR', 'IT']))], '.'],
      () => ['The insurance form asks for my SSN: ', ['NATIONAL_ID', ssn()]],
      () => ['You can email me at ', ['EMAIL', emailFor(pick(fnEN), pick(snEN))], ' with the letter.'],
      () => ['Dear Dr ', P(pick(snEN)), ', thank you for the ', ['TREATMENT', pick(treatEN)], ' yesterday.'],
      () => ['Mrs ', P(pick(snEN)), ' told me to stop the ', ['MEDICATION', pick(medNames)], ' before the ', ['TREATMENT', pick(treatEN)], '.'],
      () => ['My son ', P(pick(fnEN)), ' has ', ['CONDITION', pick(condEN)], ' and ', ['CONDITION', pick(condEN)], ', should we come in?'],
      () => ['I am ', ['CONDITION', 'allergic'], ' to ', ['MEDICATION', pick(medNames)], ', please note it in my file.'],
      () => ['Hi ', P(pick(fnEN)), ', is the ', ['TREATMENT', pick(treatEN)], ' still at 10?'],
      () => ['Can I book a ', ['TREATMENT', pick(treatEN)], '? I think I have ', ['CONDITION', pick(condEN)], '.'],
    ],
    neg: [
      () => [`I paid invoice ${inv()} for £${price().replace(',', '.')} last week.`],
      () => [`My order number is ${inv()}, when can I pick up the insoles?`],
      () => { const f = future(); return [`Is my appointment on ${pad(f.d, 2)}/${pad(f.m, 2)}/${f.y} at ${time()} still on?`]; },
      () => [`We are waiting in room ${ri(1, 320)} on the ${pick(['first', 'second', 'third'])} floor.`],
      () => ['Are you open on Saturday?'],
      () => ['Thanks for the quick reply!'],
      () => [`Should I increase the dose from ${pick(doses)} to two tablets?`],
      () => [`I will be about ${ri(5, 30)} minutes late, sorry.`],
      () => [`Can I move my appointment from ${pick(['Monday', 'Tuesday', 'Friday'])} to next week?`],
      () => [`Parking costs $${ri(2, 9)}.50 per hour, right?`],
      () => ['Where can I park nearby?'],
      () => [`Reference ${inv()}: the online form does not load.`],
      () => [`The pharmacy said ${ri(1, 3)} tablets a day after meals.`],
    ],
  },
  pl: {
    pos: [
      () => ['Dzień dobry, nazywam się ', P(`${pick(fnPL)} ${pick(snPL)}`), ', ur. ', ['DOB', datePL(birth())], ', mam ', ['CONDITION', pick(condPL)], ' i biorę ', ['MEDICATION', `${pick(medPL)} ${pick(doses)}`], '.'],
      () => ['Mój PESEL to ', ['NATIONAL_ID', pesel()], ', proszę o receptę na ', ['MEDICATION', pick(medPL)], '.'],
      () => ['Proszę o kontakt pod numerem ', ['PHONE', phonePL()], ' po 16.'],
      () => ['Mój nowy adres: ', ['ADDRESS', `${pick(streetPL)} ${ri(1, 150)}${pick(['', '/' + ri(1, 40), ' m. ' + ri(1, 60)])}`], ', ', ['ADDRESS', (() => { const c = pick(cityPL); return `${c[0]} ${c[1]}`; })()], '.'],
      () => ['Od trzech dni mam ', ['CONDITION', pick(condPL)], ', czy mogę przyjść dzisiaj?'],
      () => ['Kiedy będą wyniki ', ['TREATMENT', pick(['badania krwi', 'cytologii', 'kolonoskopii', 'morfologii', 'gastroskopii'])], '? Pozdrawiam, ', P(`${pick(fnPL)} ${pick(snPL)}`)],
      () => ['Numer konta do zwrotu: ', ['IBAN', iban('PL')]],
      () => ['NIP do faktury: ', ['NATIONAL_ID', nip()]],
      () => ['Mój e-mail to ', ['EMAIL', emailFor(pick(fnPL), pick(snPL))], '.'],
      () => ['Pani ', P(pick(snPL)), ' mówiła, że mam odstawić ', ['MEDICATION', pick(medPL)], ' przed ', ['TREATMENT', 'zabiegiem'], '.'],
      () => ['Chciałabym umówić ', ['TREATMENT', pick(treatPL)], ', mam ', ['CONDITION', pick(condPL)], '.'],
      () => ['Syn ', P(pick(fnPL)), ' (urodzony ', ['DOB', datePL(birth())], ') ma ', ['CONDITION', pick(condPL)], '.'],
      () => ['Cześć ', P(pick(fnPL)), ', czy ', ['TREATMENT', pick(['USG', 'EKG', 'RTG'])], ' jest jutro o 10?'],
      () => ['Biorę ', ['MEDICATION', `${pick(medPL)} ${pick(doses)}`], ' na ', ['CONDITION', pick(condPL)], ', czy mogę zwiększyć dawkę?'],
      () => ['Mam skierowanie na ', ['TREATMENT', pick(treatPL)], ', kiedy jest wolny termin?'],
    ],
    neg: [
      () => [`Zapłaciłam fakturę nr ${inv()} na kwotę ${price()} zł.`],
      () => [`Numer zamówienia ${inv()}, kiedy mogę odebrać wkładki?`],
      () => { const f = future(); return [`Czy wizyta ${pad(f.d, 2)}.${pad(f.m, 2)}.${f.y} o ${time()} jest aktualna?`]; },
      () => [`Czekamy w pokoju ${ri(1, 320)} na ${ri(1, 4)} piętrze.`],
      () => ['Czy w sobotę jest otwarte?'],
      () => ['Dziękuję za szybką odpowiedź!'],
      () => [`Czy mogę zwiększyć dawkę z ${pick(doses)} do dwóch tabletek?`],
      () => [`Spóźnię się około ${ri(5, 30)} minut.`],
      () => ['Gdzie można zaparkować w pobliżu?'],
      () => [`Parking kosztuje ${ri(2, 9)} zł za godzinę?`],
      () => [`Apteka mówi ${ri(1, 3)} tabletki dziennie po jedzeniu.`],
      () => [`Przesyłka ${digits(10)} nie dotarła.`],
    ],
  },
  hu: {
    pos: [
      () => ['Jó napot, ', P(`${pick(snHU)} ${pick(fnHU)}`), ' vagyok, szül. ', ['DOB', dateHU(birth())], ', ', ['CONDITION', pick(condHU)], ' van, és ', ['MEDICATION', `${pick(medHU)} ${pick(doses)}`], ' tablettát szedek.'],
      () => ['A TAJ számom ', ['HEALTH_ID', taj()], ', kérnék egy időpontot.'],
      () => ['Kérem, hívjanak vissza ezen a számon: ', ['PHONE', phoneHU()], '.'],
      () => ['Az új címem: ', ['ADDRESS', (() => { const c = pick(cityHU); return `${c[0]} ${c[1]}`; })()], ', ', ['ADDRESS', `${pick(streetHU)} ${ri(1, 90)}.`]],
      () => ['Három napja ', ['CONDITION', pick(condHU)], ' van, bemehetek ma?'],
      () => ['Mikor lesz kész a ', ['TREATMENT', pick(['vérvétel', 'laborvizsgálat', 'ultrahang', 'röntgen'])], ' eredménye? Üdvözlettel: ', P(`${pick(snHU)} ${pick(fnHU)}`)],
      () => ['A visszatérítéshez a számlaszámom: ', ['IBAN', iban('HU')]],
      () => ['Az adóazonosító jelem ', ['NATIONAL_ID', hutax()], '.'],
      () => ['A személyi számom ', ['NATIONAL_ID', hupersonal()], ', ha kell az űrlaphoz.'],
      () => ['Az e-mail címem ', ['EMAIL', emailFor(pick(fnHU), pick(snHU))], '.'],
      () => ['A nevem ', P(`${pick(snHU)} ${pick(fnHU)}`), ', időpontot szeretnék ', ['TREATMENT', pick(treatHU)], '.'],
      () => ['Kedves ', P(pick(fnHU)), ', holnap jövök ', ['TREATMENT', pick(treatHU)], '.'],
      () => [P(`${pick(snHU)}`), ' doktor úr azt mondta, hogy hagyjam abba a ', ['MEDICATION', pick(medHU)], ' szedését.'],
      () => ['A fiam, ', P(pick(fnHU)), ' (született ', ['DOB', dateHU(birth())], ') ', ['CONDITION', pick(condHU)], ' miatt nem tud iskolába menni.'],
      () => ['Szedhetek ', ['MEDICATION', pick(medHU)], ' tablettát, ha ', ['CONDITION', pick(condHU)], ' van?'],
    ],
    neg: [
      () => [`Kifizettem a ${inv()} számú számlát, ${price()} Ft.`],
      () => [`A rendelésszámom ${inv()}, mikor vehetem át a betétet?`],
      () => { const f = future(); return [`Az időpontom ${f.y}.${pad(f.m, 2)}.${pad(f.d, 2)}. ${time()} órakor még érvényes?`]; },
      () => [`A ${ri(1, 320)}-es szobában várunk, ${ri(1, 4)}. emelet.`],
      () => ['Szombaton nyitva vannak?'],
      () => ['Köszönöm a gyors választ!'],
      () => [`Emelhetem az adagot ${pick(doses)}-ról két tablettára?`],
      () => [`Kb. ${ri(5, 30)} percet késni fogok.`],
      () => ['Hol lehet a közelben parkolni?'],
      () => [`A parkolás óránként ${ri(200, 600)} Ft?`],
      () => [`A csomag száma ${digits(10)}, még nem érkezett meg.`],
    ],
  },
};

const out = [];
let id = 0;
for (const lang of ['de', 'en', 'pl', 'hu']) {
  const nPos = 90, nNeg = 32;
  const items = [];
  for (let i = 0; i < nPos; i++) items.push(pick(T[lang].pos)());
  for (let i = 0; i < nNeg; i++) items.push(pick(T[lang].neg)());
  for (const segs of items) {
    let text = '', bytes = 0; const spans = [];
    for (const s of segs) {
      if (typeof s === 'string') { text += s; bytes += Buffer.byteLength(s); continue; }
      let [cat, t] = s;
      if (t.includes("|")) { const [pre, rest] = t.split("|"); text += pre; bytes += Buffer.byteLength(pre); t = rest; }
      const b = Buffer.byteLength(t);
      // service words say nothing about health (tests/redact/LABELLING.md): text, no label;
      // the pools keep them so the seeded draws, and the rest of the corpus, stay the same
      if (!SERVICE_WORDS.has(t)) spans.push({ start: bytes, end: bytes + b, category: cat });
      text += t; bytes += b;
    }
    out.push(JSON.stringify({ id: `${lang}-${++id}`, lang, text, spans }));
  }
}

// ---------------------------------------------------------------- hand-written
// Free-form messages written by hand (not from templates): typos, lower case,
// emoji, mixed languages, names outside the first-name list, and hard negatives.
// Markup: [[CATEGORY:text]]; {ID} placeholders get freshly generated valid ids.
const HAND = {
  de: [
    'hallo, hier ist [[PERSON:Jana Brandt]], ich hab seit gestern [[CONDITION:Fieber]] und [[CONDITION:Gliederschmerzen]] 🤒 kann ich heute noch vorbeikommen?',
    'Guten Morgen! Mein Sohn [[PERSON:Ben]] hat [[CONDITION:Scharlach]], brauchen Sie ein Attest für die Kita?',
    'Bin die Tochter von Frau [[PERSON:Yilmaz]], sie nimmt [[MEDICATION:Marcumar]] und hat jetzt blaue Flecken.',
    'Ich brauche bitte wieder [[MEDICATION:Euthyrox 75 µg]], 100 Stück.',
    'KVNR: [[HEALTH_ID:{KVNR}]], bitte das Rezept an die Apotheke am Markt schicken',
    'Hat sich das mit der [[TREATMENT:Blutabnahme]] erledigt? LG [[PERSON:Tanja]]',
    'Rechnung 2024-117 ist doppelt gekommen, bitte prüfen. Danke!',
    'Kann ich die Rechnung RE-88213 auch bar bezahlen?',
    'Die Bestellung 100234871 (Kompressionsstrümpfe) ist angekommen, danke.',
    'Unser Termin: Dienstag 14:30, Raum 12. Bitte Versichertenkarte mitbringen.',
    'Meine Nummer hat sich geändert: [[PHONE:0176 23456789]]',
    'Bitte zurückrufen unter [[PHONE:+49 30 4471 2290]], ich bin ab 15 Uhr erreichbar.',
    'Wir sind umgezogen, neue Anschrift: [[ADDRESS:Weidenstraße 7]], [[ADDRESS:04229 Leipzig]]',
    'ich heiße [[PERSON:Olga Petrenko]] und bin [[DOB:1979]] geboren, ich hatte eine [[TREATMENT:Knie-OP]]',
    'Der [[TREATMENT:Schnelltest]] war positiv 😕 was soll ich machen?',
    'Meine Frau ist [[CONDITION:schwanger]] und hat [[CONDITION:Sodbrennen]], darf sie [[MEDICATION:Rennie]] nehmen?',
    'Zahlung per Überweisung an IBAN [[IBAN:{IBAN_DE}]] ist raus.',
    'Betrag 89,00 EUR, Kundennummer 4471123 – bitte bestätigen',
    'Ist Dr. [[PERSON:Hartmann]] morgen da?',
    'Parkplatz ist im Hof, Einfahrt neben Hausnummer 12.',
    'Können Sie mir die Ergebnisse vom [[TREATMENT:Blutbild]] per Mail schicken? [[EMAIL:t.keller@posteo.de]]',
    'Ich hatte am 3.2. einen Termin, der wurde abgesagt. Neuer Termin?',
    'Meine Tochter ([[DOB:12.08.2016]]) hat [[CONDITION:Läuse]] 🙈',
    'Viele Grüße aus dem Urlaub, bin ab 15.09. wieder da',
    'Steuer-ID für die Bescheinigung: [[NATIONAL_ID:{STEUERID}]]',
    'Mit freundlichen Grüßen\nDr. [[PERSON:Ulrike Baumann]]',
    'Wie lange dauert die [[TREATMENT:Darmspiegelung]] ungefähr?',
    'Die Praxis in der Bahnhofstr. hat zu, wo ist die Vertretung?',
    'Bitte 2 Tabletten morgens, 1 abends – so stand es auf dem Zettel.',
    'Zimmer 3 oder 4? Wir warten schon 20 min.',
  ],
  en: [
    'hi its [[PERSON:Megan]] again, the [[CONDITION:rash]] is spreading, should I come in?',
    'My daughter [[PERSON:Ava]] (dob [[DOB:03/11/2015]]) has [[CONDITION:conjunctivitis]] I think',
    'Can you send my [[TREATMENT:blood test]] results to [[EMAIL:m.obrien@hotmail.co.uk]]?',
    'NHS no. [[HEALTH_ID:{NHS}]] – need repeat of [[MEDICATION:sertraline 50mg]] please',
    'Invoice INV-20931 was paid by card on Monday.',
    'Order #448190 arrived, thank you!',
    'Appointment confirmed for 12/06/2025 at 9:15, room 7.',
    'Call me on [[PHONE:07911 123456]] if anything changes',
    'I moved to [[ADDRESS:14 Kingsley Road]], [[ADDRESS:LS6 2AB]]',
    'This is Mr [[PERSON:Okafor]], I missed my [[TREATMENT:flu jab]] yesterday',
    "I've had [[CONDITION:diarrhoea]] for 3 days and can't keep water down",
    'Is Dr [[PERSON:Patel]] in on Friday?',
    'Thanks so much, see you next week!',
    'Can I pay the £25 fee online?',
    'Please cancel my 10:30 with the nurse, my car broke down',
    'Regards,\n[[PERSON:Susan Whitfield]]',
    'I take [[MEDICATION:metformin]] and [[MEDICATION:atorvastatin 20 mg]], is that ok with the new tablets?',
    'My husband has [[CONDITION:sleep apnoea]], do you do referrals?',
    'Bank details for the refund: [[IBAN:{IBAN_GB}]]',
    'My social security number is [[NATIONAL_ID:{SSN}]]',
    'Could you fax the letter? Our fax is on the website.',
    'Room 12 is locked, we are waiting outside.',
    'Sorry, I meant Tuesday the 14th not the 15th.',
    'I was diagnosed with [[CONDITION:type 2 diabetes]] last year',
    'Hey, do you have any slots for a [[TREATMENT:smear test]] next month?',
    'The parking ticket cost me 4.50, can I claim it?',
    'Our reference is 2025/0447, please quote it.',
    'My mum [[PERSON:Margaret]] fell and hurt her hip, can the doctor visit?',
    'Mobile: [[PHONE:+44 7700 900461]]',
    'See you at 3pm, thanks [[PERSON:Claire]]!',
  ],
  pl: [
    'dzień dobry, tu [[PERSON:Basia Lewicka]], mam [[CONDITION:gorączkę]] od wczoraj, czy mogę przyjść?',
    'Córka [[PERSON:Zuzia]] ma [[CONDITION:ospę]], potrzebuję zaświadczenia do przedszkola',
    'Proszę o receptę na [[MEDICATION:Euthyrox 50]], kończy mi się.',
    'PESEL: [[NATIONAL_ID:{PESEL}]]',
    'Faktura FV/2024/0318 została opłacona przelewem.',
    'Zamówienie nr 55123098 dotarło, dziękuję!',
    'Wizyta 15.03.2025 o 11:00, gabinet 4 – aktualna?',
    'Mój numer: [[PHONE:604 221 980]]',
    'Proszę oddzwonić na [[PHONE:+48 22 628 14 00]]',
    'Nowy adres: [[ADDRESS:ul. Lipowa 12/4]], [[ADDRESS:15-427 Białystok]]',
    'Mam [[CONDITION:zapalenie ucha]] i strasznie boli 😣',
    'Pani doktor [[PERSON:Nowicka]] kazała powtórzyć [[TREATMENT:morfologię]]',
    'Biorę [[MEDICATION:Ibuprom]] co 6 godzin, czy to bezpieczne?',
    'Dziękuję bardzo, do zobaczenia!',
    'Czy mogę zapłacić kartą?',
    'Pozdrawiam\n[[PERSON:Tomasz Wrona]]',
    'Przelew na konto [[IBAN:{IBAN_PL}]] wysłany',
    'NIP firmy do faktury: [[NATIONAL_ID:{NIP}]]',
    'Mąż ma [[CONDITION:nadciśnienie]] i [[CONDITION:cukrzycę typu 2]]',
    'Czy jest wolny termin na [[TREATMENT:USG]] tarczycy?',
    'Jestem w [[CONDITION:ciąży]]? Test pokazał dwie kreski',
    'Mój e-mail: [[EMAIL:ania.kowal@onet.pl]]',
    'Spóźnię się 10 minut, przepraszam',
    'Pokój 112 jest zamknięty',
    'Kwota 150 zł za wizytę prywatną?',
    'Mama urodziła się [[DOB:7 lipca 1948]], czy potrzebujecie tej daty?',
    'Od tygodnia mam [[CONDITION:kaszel]] i [[CONDITION:katar]]',
    'Cześć [[PERSON:Ola]], kiedy przychodzisz na [[TREATMENT:szczepienie]]?',
    'Paczka 00156001 nie przyszła',
    'Godziny otwarcia w święta?',
  ],
  hu: [
    'Jó napot, [[PERSON:Szilágyi Tünde]] vagyok, [[CONDITION:lázas]] vagyok és [[CONDITION:köhögök]]',
    'A kislányom, [[PERSON:Lili]] [[CONDITION:bárányhimlős]], kell igazolás az oviba?',
    'Kérnék receptet [[MEDICATION:Euthyrox 100]] tablettára',
    'TAJ: [[HEALTH_ID:{TAJ}]]',
    'A 2024/1183 számú számlát átutaltam.',
    'A rendelés (554 201 88) megérkezett, köszönöm',
    'Az időpontom 2025.04.12. 10:00, 3-as rendelő – jó így?',
    'A telefonszámom: [[PHONE:06 20 441 2288]]',
    'Hívjanak a [[PHONE:+36 1 355 7000]] számon',
    'Új címem: [[ADDRESS:1137 Budapest]], [[ADDRESS:Pozsonyi út 21.]]',
    'Két napja [[CONDITION:hasmenésem]] van 😩',
    '[[PERSON:Kovácsné]] doktornő azt mondta, ismételjük meg a [[TREATMENT:vérvételt]]',
    'Szedhetek [[MEDICATION:Algopyrint]] [[MEDICATION:Xanax]] mellé?',
    'Köszönöm szépen, viszlát!',
    'Lehet kártyával fizetni?',
    'Üdvözlettel:\n[[PERSON:Fekete Ádám]]',
    'Az utalás ment a [[IBAN:{IBAN_HU}]] számlára',
    'Adóazonosító jel: [[NATIONAL_ID:{HUTAX}]]',
    'A férjemnek [[CONDITION:magas a vérnyomása]] és [[CONDITION:cukorbeteg]]',
    'Van szabad időpont [[TREATMENT:ultrahangra]] jövő héten?',
    'Az e-mailem: [[EMAIL:kiss.bence@citromail.hu]]',
    '10 percet késem, elnézést',
    'A 112-es szoba zárva van',
    'Mennyibe kerül a magánrendelés, 15 000 Ft?',
    'Anyukám [[DOB:1951. március 3.]]-án született, kell ez a dátum?',
    'Egy hete [[CONDITION:fáj a torkom]] és [[CONDITION:náthás]] vagyok',
    'Szia [[PERSON:Dóri]], mikor jössz [[TREATMENT:oltásra]]?',
    'A csomag (4421 8873) nem jött meg',
    'Ünnepek alatt nyitva vannak?',
    'Személyi szám: [[NATIONAL_ID:{HUPERS}]]',
  ],
};
const fill = (s) => s.replace(/\{(\w+)\}/g, (_, k) => ({
  KVNR: kvnr, STEUERID: steuerid, NHS: nhs, SSN: ssn, PESEL: pesel, NIP: nip, TAJ: taj, HUTAX: hutax, HUPERS: hupersonal,
  IBAN_DE: () => iban('DE'), IBAN_GB: () => iban('GB'), IBAN_PL: () => iban('PL'), IBAN_HU: () => iban('HU'),
})[k]());
function markup(lang, msg, tag) {
  {
    let text = '', bytes = 0; const spans = [];
    const re = /\[\[([A-Z_]+):([^\]]+)\]\]/g; let last = 0, m;
    const src = fill(msg);
    while ((m = re.exec(src))) {
      const pre = src.slice(last, m.index); text += pre; bytes += Buffer.byteLength(pre);
      const b = Buffer.byteLength(m[2]); spans.push({ start: bytes, end: bytes + b, category: m[1] });
      text += m[2]; bytes += b; last = re.lastIndex;
    }
    const rest = src.slice(last); text += rest;
    return JSON.stringify({ id: `${lang}-${tag}-${++id}`, lang, text, spans });
  }
}
if (process.argv[2] === '--heldout') {
  const file = process.argv[3] || 'heldout.txt';
  const fsm = await import('node:fs');
  const url = new URL(file, import.meta.url);
  const lines = fsm.readFileSync(url, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  out.length = 0;
  for (const l of lines) { const [lang, msg] = l.split('\t'); out.push(markup(lang, msg.replace(/\\n/g, '\n'), 'heldout')); }
} else {
  for (const lang of ['de', 'en', 'pl', 'hu']) for (const msg of HAND[lang]) out.push(markup(lang, msg, 'hand'));
}

process.stdout.write(out.join('\n') + '\n');
