// Messages come from the server's catalog (core/locales), so UI text and API errors share one source.
import { api } from './api.js';

let catalog = {};
let language = 'zh-CN';
let zone = 'Asia/Shanghai';

export function currentLanguage() { return language; }
export function centerZone() { return zone; }

function cookieLanguage() {
  const m = document.cookie.match(/(?:^|; )cc_lang=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

export async function loadLanguage(preferred, config) {
  if (config) zone = config.timezone;
  language = preferred || cookieLanguage() || config?.default_language || 'zh-CN';
  catalog = await api(`/api/i18n/${language}`);
  document.documentElement.lang = language;
  document.title = t('app.title');
}

export async function switchLanguage(lang) {
  document.cookie = `cc_lang=${encodeURIComponent(lang)}; path=/; max-age=31536000; samesite=lax`;
  try { await api('/api/auth/language', { method: 'PUT', body: { language: lang } }); } catch { /* not logged in */ }
  await loadLanguage(lang);
}

export function t(key, params = {}) {
  let text = catalog[key];
  if (text === undefined) return key.split('.').pop().replaceAll('_', ' ');
  for (const [k, v] of Object.entries(params)) text = text.replaceAll(`{${k}}`, v);
  return text;
}

export function has(key) { return key in catalog; }

// A form's own wording wins over the shared one: field.equipment.status before field.status.
export function fieldLabel(name, scope) {
  return scope && `field.${scope}.${name}` in catalog ? catalog[`field.${scope}.${name}`] : t(`field.${name}`);
}

// EquipmentCreate, EquipmentOut, ComplaintListItem → equipment, complaint.
export function scopeOf(schemaName) {
  return schemaName ? schemaName.replace(/(Create|Update|Out|In|ListItem|Brief)$/, '').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase() : null;
}

export function enumLabel(enumName, value) {
  if (value === null || value === undefined || value === '') return '';
  const key = `enum.${enumName}.${value}`;
  return key in catalog ? catalog[key] : String(value);
}

// Times are UTC on the wire and shown in the center's zone, whatever the browser's zone.
export function formatDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(language, {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(d);
}

// The center-zone wall time of a UTC instant, as a datetime-local input value.
export function toLocalInput(iso) {
  if (!iso) return '';
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
  }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour === '24' ? '00' : parts.hour}:${parts.minute}`;
}
