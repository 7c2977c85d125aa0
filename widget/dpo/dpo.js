// SPDX-License-Identifier: Apache-2.0
// The DPO console: POST /api/login (same session cookie as the staff console), then read-only
// views over GET /api/audit/* (gateway/gw_dpo.c, docs/dpo.md): chain status, timeline with
// filters and pagination, redactions/blocks per category as SVG charts drawn here (no chart
// library, no inline style: colours are SVG attributes), the access history of one conversation,
// the retention report, and the export download. Every value is put into the page with
// textContent / setAttribute, never as HTML. The API carries no message text, so there is none
// to show; every view the DPO opens is itself recorded in the audit log by the gateway.

import { translator } from '../i18n.js';

const STR = {
  de: {
    login_title: 'Datenschutz-Konsole', email: 'E-Mail-Adresse', password: 'Passwort', login: 'Anmelden',
    login_fine: 'Nur lesender Zugang für die Rolle dpo. Nachrichtentexte sind hier nie sichtbar; jeder Abruf wird protokolliert.',
    login_bad: 'E-Mail-Adresse oder Passwort stimmen nicht.', login_err: 'Anmeldung gerade nicht möglich ({code}).',
    login_missing: 'Bitte E-Mail-Adresse und Passwort eingeben.', login_role: 'Dieses Konto hat keinen Zugang zur Datenschutz-Konsole.',
    console: 'Datenschutz-Konsole', language: 'Sprache', logout: 'Abmelden',
    nav_chain: 'Integrität', nav_timeline: 'Protokoll', nav_charts: 'Schwärzungen', nav_conv: 'Unterhaltung', nav_ret: 'Aufbewahrung',
    loading: 'Wird geladen …', refresh: 'Aktualisieren',
    chain_title: 'Integrität des Protokolls', chain_check: 'Erneut prüfen',
    chain_ok: 'Geprüft bis Checkpoint {n} vom {ts}', chain_ok_none: 'Kette lückenlos bis Eintrag {seq}; noch kein signierter Checkpoint',
    chain_ok_sub: 'Signatur mit Schlüssel {key} gültig. {after} neuere Einträge sind verkettet geprüft, aber noch nicht signiert. Geprüft {at}.',
    chain_bad: 'Manipulation erkannt: erster fehlerhafter Eintrag Nr. {seq}', chain_bad_nos: 'Manipulation erkannt',
    chain_bad_sub: '{reason}. Zuletzt gültig: Checkpoint {n}.',
    chain_unverifiable: 'Nicht prüfbar: kein vertrauenswürdiger öffentlicher Schlüssel', chain_err: 'Prüfung gerade nicht möglich ({code}).',
    timeline_title: 'Protokoll', timeline_caption: 'Prüfprotokoll, neueste Einträge zuerst', export: 'Exportieren (JSON Lines)',
    f_from: 'Von', f_to: 'Bis', f_event: 'Ereignis', f_actor: 'Akteur (ID)', f_conv: 'Unterhaltung (ID)',
    apply: 'Anwenden', reset: 'Zurücksetzen', more: 'Ältere Einträge laden', all_events: 'Alle Ereignisse',
    c_seq: 'Nr.', c_time: 'Zeit', c_event: 'Ereignis', c_actor: 'Akteur', c_subject: 'Betrifft', c_details: 'Details',
    tl_count: '{n} Einträge angezeigt', tl_none: 'Keine Einträge für diese Filter.', bad_filter: 'Filter ungültig: {msg}',
    show_history: 'Zugriffe anzeigen', system: 'System', gateway: 'Gateway', cli: 'Kommandozeile', nobody: '—',
    charts_title: 'Schwärzungen und Sperren je Kategorie', b_day: 'Tage (30)', b_hour: 'Stunden (48)',
    ch_redact: 'Geschwärzte Angaben', ch_block: 'Gesperrte Nachrichten', ch_table: 'Zahlen als Tabelle',
    ch_empty: 'Keine Einträge im Zeitraum.', ch_desc: '{title}: {total} insgesamt von {from} bis {to}.', ch_time: 'Zeitraum',
    conv_title: 'Zugriffe auf eine Unterhaltung', conv_id: 'Unterhaltungs-ID', conv_show: 'Verlauf anzeigen',
    conv_bad: 'Bitte eine vollständige Unterhaltungs-ID eingeben.', conv_gone: 'Unterhaltung nicht (mehr) vorhanden – Protokolleinträge bleiben.',
    conv_meta: 'Kanal {channel}, Status {status}, Aufbewahrungsklasse {cls}, Sperrvermerk {hold}, angelegt {created}, geschlossen {closed}',
    conv_none: 'Keine Protokolleinträge zu dieser Unterhaltung.', yes: 'ja', no: 'nein',
    k_access: 'Zugriff', k_export: 'Export', k_erase: 'Löschung', k_retention: 'Aufbewahrung', k_policy: 'Richtlinie', k_other: 'Sonstiges',
    ret_title: 'Aufbewahrung und Löschungen', ret_kept: 'Aufbewahrt (Sperrvermerk oder Frist läuft)', ret_deleted: 'Gelöscht und Löschläufe',
    ret_summary: '{kept} geschlossene oder gesperrte Unterhaltungen, {open} offene. Richtlinie: {policy}.',
    r_id: 'Unterhaltung', r_class: 'Klasse', r_hold: 'Sperrvermerk', r_closed: 'Geschlossen', r_due: 'Löschung fällig', r_verdict: 'Status',
    v_legal_hold: 'Sperrvermerk', v_period: 'Frist läuft', v_due: 'fällig', v_open: 'offen', v_unknown_class: 'Klasse unbekannt', v_unknown: '—',
    ret_none: 'Keine Einträge.', forbidden: 'Diese Ansicht ist für Ihre Rolle nicht freigegeben.',
    unavailable: 'Server gerade nicht erreichbar. Bitte erneut versuchen.',
    a_nav: 'Bereiche', a_bucket: 'Zeitraster', a_legend: 'Kategorien',
  },
  en: {
    login_title: 'Data protection console', email: 'E-mail address', password: 'Password', login: 'Sign in',
    login_fine: 'Read-only access for the dpo role. Message text is never shown here; every view is logged.',
    login_bad: 'E-mail address or password not accepted.', login_err: 'Sign-in not possible right now ({code}).',
    login_missing: 'Please enter e-mail address and password.', login_role: 'This account has no access to the data protection console.',
    console: 'Data protection console', language: 'Language', logout: 'Sign out',
    nav_chain: 'Integrity', nav_timeline: 'Log', nav_charts: 'Redactions', nav_conv: 'Conversation', nav_ret: 'Retention',
    loading: 'Loading …', refresh: 'Refresh',
    chain_title: 'Integrity of the log', chain_check: 'Check again',
    chain_ok: 'Verified up to checkpoint {n} of {ts}', chain_ok_none: 'Chain intact up to record {seq}; no signed checkpoint yet',
    chain_ok_sub: 'Signature valid with key {key}. {after} newer records are chain-checked but not signed yet. Checked {at}.',
    chain_bad: 'Tampering detected: first bad record no. {seq}', chain_bad_nos: 'Tampering detected',
    chain_bad_sub: '{reason}. Last valid: checkpoint {n}.',
    chain_unverifiable: 'Cannot verify: no trusted public key', chain_err: 'Check not possible right now ({code}).',
    timeline_title: 'Audit log', timeline_caption: 'Audit log, newest records first', export: 'Export (JSON Lines)',
    f_from: 'From', f_to: 'To', f_event: 'Event', f_actor: 'Actor (id)', f_conv: 'Conversation (id)',
    apply: 'Apply', reset: 'Reset', more: 'Load older records', all_events: 'All events',
    c_seq: 'No.', c_time: 'Time', c_event: 'Event', c_actor: 'Actor', c_subject: 'Subject', c_details: 'Details',
    tl_count: '{n} records shown', tl_none: 'No records for these filters.', bad_filter: 'Invalid filter: {msg}',
    show_history: 'Show accesses', system: 'System', gateway: 'Gateway', cli: 'Command line', nobody: '—',
    charts_title: 'Redactions and blocks per category', b_day: 'Days (30)', b_hour: 'Hours (48)',
    ch_redact: 'Redacted items', ch_block: 'Blocked messages', ch_table: 'Numbers as a table',
    ch_empty: 'No records in this period.', ch_desc: '{title}: {total} in total from {from} to {to}.', ch_time: 'Period',
    conv_title: 'Accesses to one conversation', conv_id: 'Conversation id', conv_show: 'Show history',
    conv_bad: 'Please enter a complete conversation id.', conv_gone: 'Conversation no longer exists – its audit records remain.',
    conv_meta: 'Channel {channel}, status {status}, retention class {cls}, legal hold {hold}, created {created}, closed {closed}',
    conv_none: 'No audit records for this conversation.', yes: 'yes', no: 'no',
    k_access: 'Access', k_export: 'Export', k_erase: 'Erasure', k_retention: 'Retention', k_policy: 'Policy', k_other: 'Other',
    ret_title: 'Retention and deletions', ret_kept: 'Kept (legal hold or period running)', ret_deleted: 'Deleted and retention runs',
    ret_summary: '{kept} closed or held conversations, {open} open. Policy: {policy}.',
    r_id: 'Conversation', r_class: 'Class', r_hold: 'Legal hold', r_closed: 'Closed', r_due: 'Deletion due', r_verdict: 'State',
    v_legal_hold: 'legal hold', v_period: 'period running', v_due: 'due', v_open: 'open', v_unknown_class: 'unknown class', v_unknown: '—',
    ret_none: 'No records.', forbidden: 'This view is not available to your role.',
    unavailable: 'Server not reachable right now. Please try again.',
    a_nav: 'Sections', a_bucket: 'Time buckets', a_legend: 'Categories',
  },
  pl: {
    login_title: 'Konsola ochrony danych', email: 'Adres e-mail', password: 'Hasło', login: 'Zaloguj',
    login_fine: 'Dostęp tylko do odczytu dla roli dpo. Treść wiadomości nigdy nie jest tu widoczna; każde wyświetlenie jest rejestrowane.',
    login_bad: 'Adres e-mail lub hasło nie zostały przyjęte.',
    login_err: 'Logowanie jest teraz niemożliwe ({code}).', login_missing: 'Podaj adres e-mail i hasło.',
    login_role: 'To konto nie ma dostępu do konsoli ochrony danych.', console: 'Konsola ochrony danych',
    language: 'Język', logout: 'Wyloguj', nav_chain: 'Integralność', nav_timeline: 'Dziennik',
    nav_charts: 'Anonimizacje', nav_conv: 'Rozmowa', nav_ret: 'Przechowywanie', loading: 'Ładowanie …',
    refresh: 'Odśwież', chain_title: 'Integralność dziennika', chain_check: 'Sprawdź ponownie',
    chain_ok: 'Zweryfikowano do punktu kontrolnego {n} z {ts}',
    chain_ok_none: 'Łańcuch nienaruszony do wpisu {seq}; brak jeszcze podpisanego punktu kontrolnego',
    chain_ok_sub: 'Podpis kluczem {key} ważny. {after} nowszych wpisów sprawdzono w łańcuchu, ale jeszcze ich nie podpisano. Sprawdzono {at}.',
    chain_bad: 'Wykryto manipulację: pierwszy błędny wpis nr {seq}', chain_bad_nos: 'Wykryto manipulację',
    chain_bad_sub: '{reason}. Ostatni ważny: punkt kontrolny {n}.',
    chain_unverifiable: 'Nie można zweryfikować: brak zaufanego klucza publicznego',
    chain_err: 'Sprawdzenie jest teraz niemożliwe ({code}).', timeline_title: 'Dziennik audytu',
    timeline_caption: 'Dziennik audytu, najnowsze wpisy najpierw', export: 'Eksportuj (JSON Lines)',
    f_from: 'Od', f_to: 'Do', f_event: 'Zdarzenie', f_actor: 'Wykonawca (id)', f_conv: 'Rozmowa (id)',
    apply: 'Zastosuj', reset: 'Wyczyść', more: 'Wczytaj starsze wpisy', all_events: 'Wszystkie zdarzenia',
    c_seq: 'Nr', c_time: 'Czas', c_event: 'Zdarzenie', c_actor: 'Wykonawca', c_subject: 'Dotyczy',
    c_details: 'Szczegóły', tl_count: 'Wyświetlono wpisów: {n}', tl_none: 'Brak wpisów dla tych filtrów.',
    bad_filter: 'Nieprawidłowy filtr: {msg}', show_history: 'Pokaż dostępy', system: 'System',
    gateway: 'Bramka', cli: 'Wiersz poleceń', nobody: '—',
    charts_title: 'Anonimizacje i blokady według kategorii', b_day: 'Dni (30)', b_hour: 'Godziny (48)',
    ch_redact: 'Zanonimizowane dane', ch_block: 'Zablokowane wiadomości', ch_table: 'Liczby w tabeli',
    ch_empty: 'Brak wpisów w tym okresie.', ch_desc: '{title}: łącznie {total} od {from} do {to}.',
    ch_time: 'Okres', conv_title: 'Dostępy do jednej rozmowy', conv_id: 'Id rozmowy',
    conv_show: 'Pokaż historię', conv_bad: 'Podaj pełny identyfikator rozmowy.',
    conv_gone: 'Rozmowa już nie istnieje – jej wpisy w dzienniku pozostają.',
    conv_meta: 'Kanał {channel}, status {status}, klasa przechowywania {cls}, blokada prawna {hold}, utworzona {created}, zamknięta {closed}',
    conv_none: 'Brak wpisów w dzienniku dla tej rozmowy.', yes: 'tak', no: 'nie', k_access: 'Dostęp',
    k_export: 'Eksport', k_erase: 'Usunięcie', k_retention: 'Przechowywanie', k_policy: 'Zasady',
    k_other: 'Inne', ret_title: 'Przechowywanie i usunięcia',
    ret_kept: 'Przechowywane (blokada prawna lub trwający okres)', ret_deleted: 'Usunięte i przebiegi usuwania',
    ret_summary: 'Rozmowy zamknięte lub zablokowane: {kept}, otwarte: {open}. Zasady: {policy}.',
    r_id: 'Rozmowa', r_class: 'Klasa', r_hold: 'Blokada prawna', r_closed: 'Zamknięta',
    r_due: 'Termin usunięcia', r_verdict: 'Stan', v_legal_hold: 'blokada prawna', v_period: 'okres trwa',
    v_due: 'do usunięcia', v_open: 'otwarta', v_unknown_class: 'nieznana klasa', v_unknown: '—',
    ret_none: 'Brak wpisów.', forbidden: 'Ten widok nie jest dostępny dla Twojej roli.',
    unavailable: 'Serwer jest teraz nieosiągalny. Spróbuj ponownie.',
    a_nav: 'Sekcje', a_bucket: 'Przedziały czasu', a_legend: 'Kategorie',
  },
  hu: {
    login_title: 'Adatvédelmi konzol', email: 'E-mail-cím', password: 'Jelszó', login: 'Bejelentkezés',
    login_fine: 'Csak olvasási hozzáférés a dpo szerepkörnek. Üzenetszöveg itt soha nem látható; minden megtekintést naplózunk.',
    login_bad: 'Az e-mail-cím vagy a jelszó nem elfogadható.',
    login_err: 'A bejelentkezés most nem lehetséges ({code}).',
    login_missing: 'Adja meg az e-mail-címet és a jelszót.',
    login_role: 'Ennek a fióknak nincs hozzáférése az adatvédelmi konzolhoz.', console: 'Adatvédelmi konzol',
    language: 'Nyelv', logout: 'Kijelentkezés', nav_chain: 'Sértetlenség', nav_timeline: 'Napló',
    nav_charts: 'Kitakarások', nav_conv: 'Beszélgetés', nav_ret: 'Megőrzés', loading: 'Betöltés …',
    refresh: 'Frissítés', chain_title: 'A napló sértetlensége', chain_check: 'Ellenőrzés újra',
    chain_ok: 'Ellenőrizve a(z) {n}. ellenőrzőpontig ({ts})',
    chain_ok_none: 'A lánc sértetlen a(z) {seq}. bejegyzésig; még nincs aláírt ellenőrzőpont',
    chain_ok_sub: 'Az aláírás a(z) {key} kulccsal érvényes. {after} újabb bejegyzés láncellenőrzött, de még nincs aláírva. Ellenőrizve: {at}.',
    chain_bad: 'Manipuláció észlelve: az első hibás bejegyzés száma {seq}',
    chain_bad_nos: 'Manipuláció észlelve', chain_bad_sub: '{reason}. Utolsó érvényes: {n}. ellenőrzőpont.',
    chain_unverifiable: 'Nem ellenőrizhető: nincs megbízható nyilvános kulcs',
    chain_err: 'Az ellenőrzés most nem lehetséges ({code}).', timeline_title: 'Auditnapló',
    timeline_caption: 'Auditnapló, a legújabb bejegyzések elöl', export: 'Exportálás (JSON Lines)',
    f_from: 'Ettől', f_to: 'Eddig', f_event: 'Esemény', f_actor: 'Végrehajtó (azonosító)',
    f_conv: 'Beszélgetés (azonosító)', apply: 'Alkalmaz', reset: 'Visszaállítás',
    more: 'Régebbi bejegyzések betöltése', all_events: 'Minden esemény', c_seq: 'Sorszám', c_time: 'Idő',
    c_event: 'Esemény', c_actor: 'Végrehajtó', c_subject: 'Érintett', c_details: 'Részletek',
    tl_count: '{n} bejegyzés látható', tl_none: 'Nincs bejegyzés ezekkel a szűrőkkel.',
    bad_filter: 'Érvénytelen szűrő: {msg}', show_history: 'Hozzáférések mutatása', system: 'Rendszer',
    gateway: 'Átjáró', cli: 'Parancssor', nobody: '—', charts_title: 'Kitakarások és tiltások kategóriánként',
    b_day: 'Napok (30)', b_hour: 'Órák (48)', ch_redact: 'Kitakart adatok', ch_block: 'Letiltott üzenetek',
    ch_table: 'Számok táblázatban', ch_empty: 'Nincs bejegyzés ebben az időszakban.',
    ch_desc: '{title}: összesen {total}, {from} és {to} között.', ch_time: 'Időszak',
    conv_title: 'Egy beszélgetés hozzáférései', conv_id: 'Beszélgetés azonosítója',
    conv_show: 'Előzmények mutatása', conv_bad: 'Adja meg a beszélgetés teljes azonosítóját.',
    conv_gone: 'A beszélgetés már nem létezik – a naplóbejegyzései megmaradnak.',
    conv_meta: 'Csatorna {channel}, állapot {status}, megőrzési osztály {cls}, jogi zárolás {hold}, létrehozva {created}, lezárva {closed}',
    conv_none: 'Ehhez a beszélgetéshez nincs naplóbejegyzés.', yes: 'igen', no: 'nem', k_access: 'Hozzáférés',
    k_export: 'Export', k_erase: 'Törlés', k_retention: 'Megőrzés', k_policy: 'Szabályzat', k_other: 'Egyéb',
    ret_title: 'Megőrzés és törlések', ret_kept: 'Megőrizve (jogi zárolás vagy futó határidő)',
    ret_deleted: 'Törölve és törlési futások',
    ret_summary: '{kept} lezárt vagy zárolt beszélgetés, {open} nyitott. Szabályzat: {policy}.',
    r_id: 'Beszélgetés', r_class: 'Osztály', r_hold: 'Jogi zárolás', r_closed: 'Lezárva',
    r_due: 'Törlés esedékes', r_verdict: 'Állapot', v_legal_hold: 'jogi zárolás', v_period: 'határidő fut',
    v_due: 'esedékes', v_open: 'nyitott', v_unknown_class: 'ismeretlen osztály', v_unknown: '—',
    ret_none: 'Nincs bejegyzés.', forbidden: 'Ez a nézet az Ön szerepköre számára nem elérhető.',
    unavailable: 'A szerver most nem érhető el. Kérjük, próbálja újra.',
    a_nav: 'Részek', a_bucket: 'Időbeosztás', a_legend: 'Kategóriák',
  },
};

// Event names the gateway writes (docs/audit.md) with labels; filter values match a name or a prefix.
const EVENTS = {
  de: {
    'login.ok': 'Anmeldung', 'login.failed': 'Anmeldung fehlgeschlagen', logout: 'Abmeldung',
    'conversation.created': 'Unterhaltung begonnen', 'conversation.opened': 'Unterhaltung geöffnet',
    'conversation.status': 'Status geändert', 'conversation.assigned': 'Zugewiesen',
    'message.policy': 'Richtlinienentscheidung', 'audit.checkpoint': 'Checkpoint signiert', 'audit.export': 'Protokoll exportiert',
    'dpo.viewed': 'DSB-Abruf', 'dpo.denied': 'DSB-Abruf verweigert', 'retention.run': 'Löschlauf', 'data.erase': 'Löschung auf Wunsch',
    'account.provisioned': 'Konto angelegt', 'channel.added': 'Kanal hinzugefügt', 'channel.removed': 'Kanal entfernt',
    'key.rotate': 'Schlüsselrotation', 'policy.load': 'Richtlinie geladen',
    conversation: 'Alle Unterhaltungs-Ereignisse', login: 'Alle Anmelde-Ereignisse', dpo: 'Alle DSB-Abrufe', audit: 'Alle Protokoll-Ereignisse',
  },
  en: {
    'login.ok': 'Sign-in', 'login.failed': 'Sign-in failed', logout: 'Sign-out',
    'conversation.created': 'Conversation started', 'conversation.opened': 'Conversation opened',
    'conversation.status': 'Status changed', 'conversation.assigned': 'Assigned',
    'message.policy': 'Policy decision', 'audit.checkpoint': 'Checkpoint signed', 'audit.export': 'Log exported',
    'dpo.viewed': 'DPO view', 'dpo.denied': 'DPO view refused', 'retention.run': 'Retention run', 'data.erase': 'Erasure on request',
    'account.provisioned': 'Account created', 'channel.added': 'Channel added', 'channel.removed': 'Channel removed',
    'key.rotate': 'Key rotation', 'policy.load': 'Policy loaded',
    conversation: 'All conversation events', login: 'All sign-in events', dpo: 'All DPO views', audit: 'All audit-log events',
  },
  pl: {
    'login.ok': 'Logowanie', 'login.failed': 'Nieudane logowanie', logout: 'Wylogowanie',
    'conversation.created': 'Rozpoczęto rozmowę', 'conversation.opened': 'Otwarto rozmowę',
    'conversation.status': 'Zmiana statusu', 'conversation.assigned': 'Przypisano',
    'message.policy': 'Decyzja zasad', 'audit.checkpoint': 'Podpisano punkt kontrolny',
    'audit.export': 'Wyeksportowano dziennik', 'dpo.viewed': 'Wgląd IOD', 'dpo.denied': 'Odmowa wglądu IOD',
    'retention.run': 'Przebieg usuwania', 'data.erase': 'Usunięcie na żądanie',
    'account.provisioned': 'Utworzono konto', 'channel.added': 'Dodano kanał',
    'channel.removed': 'Usunięto kanał', 'key.rotate': 'Rotacja klucza', 'policy.load': 'Wczytano zasady',
    conversation: 'Wszystkie zdarzenia rozmów', login: 'Wszystkie zdarzenia logowania',
    dpo: 'Wszystkie wglądy IOD', audit: 'Wszystkie zdarzenia dziennika',
  },
  hu: {
    'login.ok': 'Bejelentkezés', 'login.failed': 'Sikertelen bejelentkezés', logout: 'Kijelentkezés',
    'conversation.created': 'Beszélgetés indult', 'conversation.opened': 'Beszélgetés megnyitva',
    'conversation.status': 'Állapot módosult', 'conversation.assigned': 'Hozzárendelve',
    'message.policy': 'Szabályzati döntés', 'audit.checkpoint': 'Ellenőrzőpont aláírva',
    'audit.export': 'Napló exportálva', 'dpo.viewed': 'Adatvédelmi megtekintés',
    'dpo.denied': 'Adatvédelmi megtekintés elutasítva', 'retention.run': 'Törlési futás',
    'data.erase': 'Törlés kérésre', 'account.provisioned': 'Fiók létrehozva',
    'channel.added': 'Csatorna hozzáadva', 'channel.removed': 'Csatorna eltávolítva',
    'key.rotate': 'Kulcscsere', 'policy.load': 'Szabályzat betöltve',
    conversation: 'Minden beszélgetés-esemény', login: 'Minden bejelentkezési esemény',
    dpo: 'Minden adatvédelmi megtekintés', audit: 'Minden naplóesemény',
  },
};
const FILTER_EVENTS = ['conversation.opened', 'conversation', 'message.policy', 'login', 'login.failed', 'dpo', 'dpo.denied',
  'audit.checkpoint', 'audit.export', 'retention.run', 'data.erase', 'account.provisioned', 'key.rotate'];
const PALETTE = ['#0b6b5d', '#1a56db', '#a8201a', '#7a4d00', '#6b3fa0', '#b3541e', '#2f6f2f', '#8a1c5b', '#3d5a80', '#4d5d63'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SVGNS = 'http://www.w3.org/2000/svg';

const LOCALES = { de: 'de-DE', en: 'en-GB', pl: 'pl-PL', hu: 'hu-HU' };
const $ = (id) => document.getElementById(id);
let lang = pickLang();
let tcat = translator(lang);
const state = { events: [], next: null, query: '', stats: null, bucket: 'day', chain: null, conv: null, ret: null, me: null };

function pickLang() {
  const saved = localStorage.getItem('caregate.dpo.lang');
  if (saved in STR) return saved;
  for (const p of navigator.languages || [navigator.language]) {
    const l = String(p).slice(0, 2).toLowerCase();
    if (l in STR) return l;
  }
  return 'de';
}

function t(key, vars) {
  const s = STR[lang][key] ?? STR.en[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}
const evLabel = (e) => EVENTS[lang][e] || e;

function el(tag, attrs = {}, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') n.textContent = v;
    else if (k === 'class') n.className = v;
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids) if (c !== null && c !== undefined) n.append(c);
  return n;
}
function svg(tag, attrs = {}, ...kids) {
  const n = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  for (const c of kids) n.append(c);
  return n;
}

function fmtTime(iso) {
  if (!iso) return t('nobody');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
}
function fmtBucket(iso, bucket) {
  const d = new Date(iso);
  const o = bucket === 'hour' ? { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' } : { day: '2-digit', month: '2-digit' };
  return new Intl.DateTimeFormat(LOCALES[lang], o).format(d);
}

// ---- API ----------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) { super(body?.message || `HTTP ${status}`); this.status = status; this.body = body; }
}

async function api(path) {
  let r;
  try {
    r = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  } catch {
    throw new ApiError(0, { message: t('unavailable') });
  }
  let body = null;
  try { body = await r.json(); } catch { /* empty */ }
  if (r.status === 401) { showLogin(); throw new ApiError(401, body); }
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

function notice(msg) {
  const n = $('notice');
  n.textContent = msg || '';
  n.hidden = !msg;
}
function apiFail(e) {
  if (e.status === 401) return;
  notice(e.status === 403 ? t('forbidden') : e.status === 0 || e.status >= 500 ? t('unavailable') : e.message);
}

// ---- login ----------------------------------------------------------------------------------------

function showLogin() {
  $('app').hidden = true;
  $('login').hidden = false;
  $('email').focus();
}

async function login(ev) {
  ev.preventDefault();
  const email = $('email').value.trim();
  const password = $('password').value;
  const err = $('login-error');
  err.textContent = '';
  if (!email || !password) { err.textContent = t('login_missing'); return; }
  $('login-btn').disabled = true;
  try {
    const r = await fetch('/api/login', {
      method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const body = await r.json().catch(() => ({}));
    if (r.status === 401) { err.textContent = t('login_bad'); return; }
    if (!r.ok) { err.textContent = t('login_err', { code: r.status }); return; }
    if (!['dpo', 'admin'].includes(body.staff?.role)) { err.textContent = t('login_role'); return; }
    state.me = body.staff;
    $('password').value = '';
    await start();
  } catch {
    err.textContent = t('login_err', { code: '—' });
  } finally {
    $('login-btn').disabled = false;
  }
}

async function logout() {
  await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => {});
  state.me = null;
  showLogin();
}

// ---- chain ---------------------------------------------------------------------------------------------

async function loadChain(full = false) {
  const box = $('chain');
  box.dataset.state = 'pending';
  $('chain-main').textContent = t('loading');
  $('chain-sub').textContent = '';
  try {
    state.chain = await api('/api/audit/chain' + (full ? '?full=1' : ''));
  } catch (e) {
    state.chain = { error: e.status || '—' };
    if (e.status === 401) return;
  }
  renderChain();
}

function renderChain() {
  const c = state.chain;
  if (!c) return;
  const box = $('chain');
  const main = $('chain-main');
  const sub = $('chain-sub');
  if (c.error) {
    box.dataset.state = 'error';
    main.textContent = t('chain_err', { code: c.error });
    sub.textContent = '';
    return;
  }
  box.dataset.state = c.status;
  if (c.status === 'verified') {
    main.textContent = c.checkpoint ? t('chain_ok', { n: c.checkpoint.n, ts: fmtTime(c.checkpoint.ts) }) : t('chain_ok_none', { seq: c.head_seq });
    sub.textContent = c.checkpoint ? t('chain_ok_sub', { key: c.key_id || '—', after: c.unsigned_records, at: fmtTime(c.checked_at) }) : '';
  } else if (c.status === 'unverifiable') {
    main.textContent = t('chain_unverifiable');
    sub.textContent = c.key_error || '';
  } else {
    main.textContent = c.bad_seq ? t('chain_bad', { seq: c.bad_seq }) : t('chain_bad_nos');
    sub.textContent = t('chain_bad_sub', { reason: c.reason || '', n: c.checkpoint ? c.checkpoint.n : '—' });
  }
}

// ---- timeline ------------------------------------------------------------------------------------------

function localToIso(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function filterQuery() {
  const q = new URLSearchParams();
  const from = localToIso($('f-from').value);
  const to = localToIso($('f-to').value);
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  if ($('f-event').value) q.set('event', $('f-event').value);
  const actor = $('f-actor').value.trim();
  if (actor) q.set('actor', actor);
  const conv = $('f-conv').value.trim();
  if (conv) q.set('conversation', conv);
  return q;
}

function updateExportLink() {
  const q = new URLSearchParams();
  const from = localToIso($('f-from').value);
  const to = localToIso($('f-to').value);
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  const s = q.toString();
  $('export').href = '/api/audit/export' + (s ? '?' + s : '');
}

async function loadTimeline(more = false) {
  const q = more ? new URLSearchParams(state.query) : filterQuery();
  if (!more) state.query = q.toString();
  q.set('limit', '100');
  if (more && state.next) q.set('before', String(state.next));
  try {
    const r = await api('/api/audit/events?' + q.toString());
    state.events = more ? state.events.concat(r.events) : r.events;
    state.next = r.next_before;
    notice('');
  } catch (e) {
    if (e.status === 400) { notice(t('bad_filter', { msg: e.message })); return; }
    apiFail(e);
    return;
  }
  renderTimeline();
}

function actorCell(e) {
  if (e.actor_alias || e.actor_role) {
    return el('span', {}, el('span', { class: 'who', text: e.actor_alias || '' }), ' ',
      el('span', { class: 'role', text: e.actor_role || '' }), el('br'), el('code', { class: 'id', text: e.actor }));
  }
  const named = { system: t('system'), gateway: t('gateway'), cli: t('cli'), '': t('nobody') };
  return e.actor in named ? el('span', { text: named[e.actor] }) : el('code', { class: 'id', text: e.actor });
}

function subjectCell(e) {
  const s = e.subject || '';
  if (UUID.test(s) && /^(conversation|message|data|retention|dpo)\./.test(e.event) && !(e.event.startsWith('dpo.') && e.details?.endpoint !== 'conversation')) {
    return el('span', {}, el('code', { class: 'id', text: s }), ' ',
      el('button', { type: 'button', class: 'link', 'data-conv': s, text: t('show_history'), 'aria-label': `${t('show_history')} ${s}` }));
  }
  return s ? el('code', { class: 'id', text: s }) : el('span', { text: t('nobody') });
}

function detailsText(d) {
  if (!d || typeof d !== 'object') return '';
  return Object.entries(d).map(([k, v]) => {
    if (k === 'findings' && v && typeof v === 'object') {
      const parts = Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : `${tcat.cat(x.category)} ${x.count ?? 1}`))
        : Object.entries(v).map(([c, n]) => `${tcat.cat(c)} ${n}`);
      return `${k}: ${parts.join(', ')}`;
    }
    return `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`;
  }).join(' · ');
}

function renderTimeline() {
  const body = $('tl-body');
  body.replaceChildren();
  for (const e of state.events) {
    body.append(el('tr', { 'data-event': e.event },
      el('td', { class: 'num', text: String(e.seq) }),
      el('td', { class: 'time' }, el('time', { datetime: e.ts, text: fmtTime(e.ts) })),
      el('td', {}, el('span', { class: 'ev', text: evLabel(e.event) }), el('br'), el('code', { class: 'id', text: e.event })),
      el('td', {}, actorCell(e)),
      el('td', {}, subjectCell(e)),
      el('td', { class: 'details', text: detailsText(e.details) })));
  }
  $('tl-count').textContent = state.events.length ? t('tl_count', { n: state.events.length }) : t('tl_none');
  $('more').hidden = !state.next;
}

function fillEventSelect() {
  const sel = $('f-event');
  const cur = sel.value;
  sel.replaceChildren(el('option', { value: '', text: t('all_events') }),
    ...FILTER_EVENTS.map((e) => el('option', { value: e, text: `${evLabel(e)} (${e})` })));
  sel.value = cur;
}

// ---- charts ---------------------------------------------------------------------------------------------

async function loadStats() {
  try {
    state.stats = await api('/api/audit/stats?bucket=' + state.bucket);
  } catch (e) {
    apiFail(e);
    return;
  }
  renderCharts();
}

function bucketsOf(stats) {
  const step = stats.bucket === 'hour' ? 3600e3 : 86400e3;
  const from = new Date(stats.from);
  const start = stats.bucket === 'hour'
    ? Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate(), from.getUTCHours())
    : Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  const end = new Date(stats.to).getTime();
  const out = [];
  for (let x = start; x < end && out.length < 800; x += step) out.push(new Date(x).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  return out;
}

function drawChart(container, titleId, title, kind, buckets, cats, colour) {
  const rows = state.stats.series.filter((s) => s.kind === kind);
  const by = new Map(); // bucket -> Map(cat -> n)
  let max = 0;
  let total = 0;
  for (const s of rows) {
    if (!by.has(s.t)) by.set(s.t, new Map());
    by.get(s.t).set(s.category, (by.get(s.t).get(s.category) || 0) + s.count);
    total += s.count;
  }
  for (const m of by.values()) max = Math.max(max, [...m.values()].reduce((a, b) => a + b, 0));
  const W = 560; const H = 200; const L = 34; const B = 24; const T = 8; const R = 6;
  const bw = (W - L - R) / Math.max(buckets.length, 1);
  const descId = container.id + '-desc';
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, class: 'chart-svg', 'data-kind': kind });
  const desc = svg('desc', { id: descId });
  desc.textContent = t('ch_desc', { title, total, from: fmtTime(state.stats.from), to: fmtTime(state.stats.to) });
  root.append(desc);
  const top = Math.max(max, 1);
  const y = (v) => T + (H - T - B) * (1 - v / top);
  // axis and grid: 0, max/2, max
  for (const v of [0, Math.round(top / 2), top]) {
    root.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#d9e1df', 'stroke-width': 1 }));
    const lab = svg('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#4d5d63' });
    lab.textContent = String(v);
    root.append(lab);
  }
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  buckets.forEach((b, i) => {
    const m = by.get(b);
    let acc = 0;
    if (m) {
      for (const c of cats) {
        const n = m.get(c) || 0;
        if (!n) continue;
        const r = svg('rect', { x: L + i * bw + 1, width: Math.max(bw - 2, 1), y: y(acc + n), height: y(acc) - y(acc + n), fill: colour(c), 'data-cat': c });
        const tt = svg('title');
        tt.textContent = `${fmtBucket(b, state.stats.bucket)} · ${tcat.cat(c)}: ${n}`;
        r.append(tt);
        root.append(r);
        acc += n;
      }
    }
    if (i % every === 0) {
      const lab = svg('text', { x: L + i * bw + bw / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 10, fill: '#4d5d63' });
      lab.textContent = fmtBucket(b, state.stats.bucket).replace(/,.*$/, '');
      root.append(lab);
    }
  });
  container.replaceChildren(root);
  if (!total) container.append(el('p', { class: 'muted', text: t('ch_empty') }));
}

function renderCharts() {
  const st = state.stats;
  if (!st) return;
  const buckets = bucketsOf(st);
  const cats = [...new Set(st.series.map((s) => s.category))].sort();
  const colour = (c) => PALETTE[cats.indexOf(c) % PALETTE.length];
  drawChart($('ch-redact'), 'ch-redact-h', t('ch_redact'), 'redact', buckets, cats, colour);
  drawChart($('ch-block'), 'ch-block-h', t('ch_block'), 'block', buckets, cats, colour);
  $('legend').replaceChildren(...cats.map((c) => el('li', {},
    (() => { const s = svg('svg', { width: 12, height: 12, 'aria-hidden': 'true' }); s.append(svg('rect', { width: 12, height: 12, rx: 2, fill: colour(c) })); return s; })(),
    ' ', tcat.cat(c))));
  // the same numbers as a table, for screen readers and for copying
  const table = $('ch-table');
  const kinds = ['redact', 'block'];
  const head = el('tr', {}, el('th', { scope: 'col', text: t('ch_time') }),
    ...kinds.flatMap((k) => cats.map((c) => el('th', { scope: 'col', text: `${k === 'redact' ? t('ch_redact') : t('ch_block')}: ${tcat.cat(c)}` }))));
  const rows = [...new Set(st.series.map((s) => s.t))].sort().map((b) => el('tr', {},
    el('th', { scope: 'row', text: fmtBucket(b, st.bucket) }),
    ...kinds.flatMap((k) => cats.map((c) => el('td', { class: 'num', text: String(st.series.filter((s) => s.t === b && s.kind === k && s.category === c).reduce((a, s) => a + s.count, 0)) })))));
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
}

// ---- one conversation -----------------------------------------------------------------------------------

function kindOf(ev) {
  if (ev === 'conversation.opened' || ev.startsWith('dpo.')) return 'k_access';
  if (/export/.test(ev)) return 'k_export';
  if (/eras|delete/.test(ev)) return 'k_erase';
  if (/^retention\.|legal_hold/.test(ev)) return 'k_retention';
  if (/^message\.|policy/.test(ev)) return 'k_policy';
  return 'k_other';
}

async function loadConv(id) {
  const out = $('conv-out');
  if (!UUID.test(id)) { out.replaceChildren(el('p', { class: 'form-error', text: t('conv_bad') })); return; }
  try {
    state.conv = await api('/api/audit/conversation/' + encodeURIComponent(id.toLowerCase()));
  } catch (e) {
    apiFail(e);
    return;
  }
  renderConv();
}

function renderConv() {
  const c = state.conv;
  const out = $('conv-out');
  if (!c) return;
  const parts = [];
  const m = c.conversation;
  parts.push(el('p', { class: 'muted', text: m ? t('conv_meta', {
    channel: m.channel, status: m.status, cls: m.retention_class, hold: m.legal_hold ? t('yes') : t('no'),
    created: fmtTime(m.created_at), closed: m.closed_at ? fmtTime(m.closed_at) : t('nobody'),
  }) : t('conv_gone') }));
  if (!c.records.length) parts.push(el('p', { text: t('conv_none') }));
  else {
    parts.push(el('div', { class: 'table-wrap' }, el('table', { class: 'tl', id: 'conv-table' },
      el('caption', { class: 'vh', text: t('conv_title') }),
      el('thead', {}, el('tr', {}, ...['c_time', 'r_verdict', 'c_event', 'c_actor', 'c_details'].map((k) => el('th', { scope: 'col', text: t(k) })))),
      el('tbody', {}, ...c.records.map((e) => el('tr', { 'data-event': e.event },
        el('td', { class: 'time' }, el('time', { datetime: e.ts, text: fmtTime(e.ts) })),
        el('td', {}, el('span', { class: 'tag ' + kindOf(e.event), text: t(kindOf(e.event)) })),
        el('td', {}, el('span', { class: 'ev', text: evLabel(e.event) }), el('br'), el('code', { class: 'id', text: e.event })),
        el('td', {}, actorCell(e)),
        el('td', { class: 'details', text: detailsText(e.details) })))))));
  }
  out.replaceChildren(...parts);
}

// ---- retention -------------------------------------------------------------------------------------------

async function loadRetention() {
  try {
    state.ret = await api('/api/audit/retention');
  } catch (e) {
    apiFail(e);
    return;
  }
  renderRetention();
}

function table(id, cols, rows) {
  const tb = $(id);
  if (!rows.length) { tb.replaceChildren(el('tbody', {}, el('tr', {}, el('td', { text: t('ret_none') })))); return; }
  tb.replaceChildren(el('thead', {}, el('tr', {}, ...cols.map((k) => el('th', { scope: 'col', text: t(k) })))), el('tbody', {}, ...rows));
}

function renderRetention() {
  const r = state.ret;
  if (!r) return;
  $('ret-summary').textContent = t('ret_summary', { kept: r.kept.length, open: r.open_conversations, policy: r.policy_version || '—' });
  table('ret-kept', ['r_id', 'r_class', 'r_hold', 'r_closed', 'r_verdict', 'r_due'], r.kept.map((c) => el('tr', {},
    el('td', {}, el('code', { class: 'id', text: c.id })),
    el('td', { text: c.class }),
    el('td', { text: c.legal_hold ? t('yes') : t('no') }),
    el('td', { text: c.closed_at ? fmtTime(c.closed_at) : t('nobody') }),
    el('td', {}, el('span', { class: 'tag v-' + c.verdict, text: t('v_' + c.verdict) })),
    el('td', { text: c.due_at ? fmtTime(c.due_at) : t('nobody') }))));
  table('ret-deleted', ['c_time', 'c_event', 'c_subject', 'c_details'], r.deletions.map((d) => el('tr', {},
    el('td', {}, el('time', { datetime: d.ts, text: fmtTime(d.ts) })),
    el('td', {}, el('span', { class: 'ev', text: evLabel(d.event) }), el('br'), el('code', { class: 'id', text: d.event })),
    el('td', {}, el('code', { class: 'id', text: d.subject })),
    el('td', { class: 'details', text: detailsText(d.details) }))));
}

// ---- wiring ------------------------------------------------------------------------------------------------

function applyStrings() {
  document.documentElement.lang = lang;
  tcat = translator(lang);
  for (const n of document.querySelectorAll('[data-t]')) n.textContent = t(n.dataset.t);
  document.title = `caregate · ${t('console')}`;
  $('lang').value = lang;
  $('nav').setAttribute('aria-label', t('a_nav'));
  $('bucket').setAttribute('aria-label', t('a_bucket'));
  $('legend').setAttribute('aria-label', t('a_legend'));
  fillEventSelect();
  $('me').textContent = state.me ? `${state.me.alias || ''} (${state.me.role})` : '';
  renderChain();
  renderTimeline();
  renderCharts();
  renderConv();
  renderRetention();
}

async function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  applyStrings();
  updateExportLink();
  await Promise.all([loadChain(), loadTimeline(), loadStats(), loadRetention()]);
}

function wire() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('lang').addEventListener('change', () => {
    lang = $('lang').value in STR ? $('lang').value : 'de';
    localStorage.setItem('caregate.dpo.lang', lang);
    applyStrings();
  });
  $('chain-btn').addEventListener('click', () => loadChain());
  $('filters').addEventListener('submit', (ev) => { ev.preventDefault(); updateExportLink(); loadTimeline(); });
  $('filters').addEventListener('reset', () => setTimeout(() => { updateExportLink(); loadTimeline(); }, 0));
  $('filters').addEventListener('change', updateExportLink);
  $('more').addEventListener('click', () => loadTimeline(true));
  $('tl-body').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-conv]');
    if (!b) return;
    $('conv-id').value = b.dataset.conv;
    loadConv(b.dataset.conv).then(() => $('conv-h').scrollIntoView());
    $('conv-id').focus();
  });
  $('conv-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadConv($('conv-id').value.trim()); });
  $('ret-btn').addEventListener('click', loadRetention);
  for (const b of $('bucket').querySelectorAll('button')) {
    b.addEventListener('click', () => {
      state.bucket = b.dataset.bucket;
      for (const o of $('bucket').querySelectorAll('button')) o.setAttribute('aria-pressed', String(o === b));
      loadStats();
    });
  }
}

async function boot() {
  wire();
  applyStrings();
  // An existing session shows the console at once; otherwise the chain request answers 401.
  try {
    const c = await api('/api/audit/chain');
    state.chain = c;
    $('login').hidden = true;
    $('app').hidden = false;
    applyStrings();
    updateExportLink();
    await Promise.all([loadTimeline(), loadStats(), loadRetention()]);
  } catch (e) {
    if (e.status !== 401) { showLogin(); $('login-error').textContent = e.status === 403 ? t('login_role') : t('unavailable'); }
  }
}

boot();
