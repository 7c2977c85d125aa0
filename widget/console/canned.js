// SPDX-License-Identifier: Apache-2.0
// Canned answers of the staff console: each in the formal ("Sie") and informal ("Du") German form
// the clinic uses with a patient. Variables: {patient_name} (empty when unknown; the sentence stays
// correct) and {clinic_phone}. A clinic edits this list; it is plain data, no code runs from it.

// Used when the gateway does not send the clinic's phone number (staff "config" frame, extension).
export const CLINIC_DEFAULTS = { phone: '030 1234567' }; // as in deploy/policy.json official_contacts

export const CANNED = [
  { id: 'greet', title: 'Begrüßung',
    sie: 'Guten Tag {patient_name}, vielen Dank für Ihre Nachricht. Wir kümmern uns gleich darum.',
    du: 'Hallo {patient_name}, danke für deine Nachricht. Wir kümmern uns gleich darum.' },
  { id: 'call', title: 'Bitte anrufen',
    sie: 'Guten Tag {patient_name}, das besprechen wir am besten telefonisch. Bitte rufen Sie uns unter {clinic_phone} an.',
    du: 'Hallo {patient_name}, das besprechen wir am besten telefonisch. Bitte ruf uns unter {clinic_phone} an.' },
  { id: 'docs', title: 'Unterlagen zur Aufnahme',
    sie: 'Bitte bringen Sie zur Aufnahme Ihre Kostenzusage, Ihren aktuellen Medikamentenplan und Ihre Versichertenkarte mit.',
    du: 'Bitte bring zur Aufnahme deine Kostenzusage, deinen aktuellen Medikamentenplan und deine Versichertenkarte mit.' },
  { id: 'appt', title: 'Termin bestätigt',
    sie: 'Ihr Termin ist bestätigt. Falls Sie ihn nicht wahrnehmen können, sagen Sie bitte unter {clinic_phone} ab.',
    du: 'Dein Termin ist bestätigt. Falls du ihn nicht wahrnehmen kannst, sag bitte unter {clinic_phone} ab.' },
  { id: 'safer', title: 'Sicherer Kanal für Befunde',
    sie: 'Bitte senden Sie Befunde oder Fotos nicht über den Chat. Bringen Sie sie zum Termin mit oder rufen Sie uns unter {clinic_phone} an.',
    du: 'Bitte schick Befunde oder Fotos nicht über den Chat. Bring sie zum Termin mit oder ruf uns unter {clinic_phone} an.' },
  { id: 'bye', title: 'Abschluss',
    sie: 'Gern geschehen, {patient_name}. Wir wünschen Ihnen alles Gute!',
    du: 'Gern geschehen, {patient_name}. Wir wünschen dir alles Gute!' },
];

// Fills a canned answer. An unknown name leaves no gap: "Guten Tag , …" becomes "Guten Tag, …".
export function fillCanned(item, form, vars) {
  const tpl = form === 'Du' ? item.du : item.sie;
  return tpl
    .replace(/\{(\w+)\}/g, (m, k) => (vars[k] == null ? '' : String(vars[k])))
    .replace(/ +([,.!?])/g, '$1')
    .replace(/,([.!?])/g, '$1')
    .replace(/ {2,}/g, ' ')
    .trim();
}
