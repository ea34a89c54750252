// The pause reasons page (#/pause-reasons, permission acd.configure): the reasons agents may pause with, in the
// order the desktop offers them; add, edit (not the code: the PBX and queue_log keep it), deactivate and
// reactivate. The server validates and audits; the page shows its localized field errors beside the inputs.
import { api, ApiError } from './api.js';
import { t } from './i18n.js';
import { el, renderForm } from './forms.js';
import { go, toast } from './app.js';
import { confirmDialog } from './desktop.js';

const ENDPOINT = '/api/pause-reasons';
const button = (label, onclick, attrs = {}) => el('button', { type: 'button', onclick, ...attrs }, label);
const FIELDS = ['label_zh', 'label_en', 'counts_as_productive', 'active', 'sort_order', 'max_minutes'];

async function act(fn, done) {
  try { await fn(); if (done) toast(done); return true; } catch (error) {
    toast(error instanceof ApiError ? error.message : String(error), 'error');
    return false;
  }
}

const head = (...rest) => el('header', { class: 'desk-head' }, el('h2', {}, t('ui.pause_reasons.title'), ...rest));

async function listPage(main) {
  const rows = await api(`${ENDPOINT}/all`);
  const cols = ['field.pause_reason.code', 'field.pause_reason.label', 'field.label_en', 'field.counts_as_productive',
    'field.max_minutes', 'field.sort_order', 'field.pause_reason.active'];
  const table = el('table', { class: 'list', id: 'pause-reasons' },
    el('thead', {}, el('tr', {}, cols.map((k) => el('th', { scope: 'col' }, t(k))), el('th', { scope: 'col' }, ''))),
    el('tbody', {}, rows.map((r) => el('tr', { 'data-code': r.code, 'data-active': String(r.active), class: r.active ? '' : 'muted' },
      el('td', { 'data-cell': 'code' }, el('code', {}, r.code)),
      el('td', { 'data-cell': 'label' }, r.label_zh),
      el('td', { 'data-cell': 'label_en' }, r.label_en),
      el('td', {}, r.counts_as_productive ? t('ui.pause_reasons.productive') : t('ui.pause_reasons.not_productive')),
      el('td', {}, r.max_minutes ?? ''),
      el('td', {}, String(r.sort_order)),
      el('td', { 'data-cell': 'active' }, r.active ? t('ui.pause_reasons.active') : t('ui.pause_reasons.inactive')),
      el('td', { class: 'actions' },
        el('a', { href: `#/pause-reasons/${r.id}`, role: 'button', class: 'outline small', 'data-action': 'edit' }, t('ui.edit')),
        r.active
          ? button(t('ui.pause_reasons.deactivate'), async () => {
            if (!(await confirmDialog(t('ui.pause_reasons.confirm_deactivate', { label: r.label })))) return;
            if (await act(() => api(`${ENDPOINT}/${r.id}`, { method: 'DELETE' }), t('ui.pause_reasons.deactivated'))) listPage(main);
          }, { class: 'outline small secondary', 'data-action': 'deactivate' })
          : button(t('ui.pause_reasons.activate'), async () => {
            const body = Object.fromEntries(FIELDS.map((k) => [k, r[k]]));
            if (await act(() => api(`${ENDPOINT}/${r.id}`, { method: 'PUT', body: { ...body, active: true } }), t('ui.saved'))) listPage(main);
          }, { class: 'outline small', 'data-action': 'activate' }))))));
  main.replaceChildren(
    head(),
    el('p', { class: 'muted' }, t('ui.pause_reasons.hint')),
    el('div', { class: 'toolbar' }, el('a', { role: 'button', href: '#/pause-reasons/new', id: 'new-pause-reason' }, `+ ${t('ui.pause_reasons.new')}`)),
    el('div', { class: 'overflow-auto' }, table),
    el('p', { class: 'muted' }, el('small', {}, t('ui.pause_reasons.max_minutes_note'))));
}

async function newPage(main) {
  main.replaceChildren(head(' · ', t('ui.pause_reasons.new')));
  const form = await renderForm(main, 'PauseReasonIn', { onSubmit: async (values) => {
    await api(ENDPOINT, { method: 'POST', body: values });
    toast(t('ui.saved'));
    go('#/pause-reasons');
  } });
  form.id = 'pause-reason-form';
}

async function editPage(main, id) {
  const reason = (await api(`${ENDPOINT}/all`)).find((r) => String(r.id) === id);
  if (!reason) { main.replaceChildren(el('p', {}, t('error.not_found'))); return; }
  main.replaceChildren(head(' · ', el('code', {}, reason.code)));
  const form = await renderForm(main, 'PauseReasonUpdate', { initial: reason, onSubmit: async (values) => {
    await api(`${ENDPOINT}/${id}`, { method: 'PUT', body: values });
    toast(t('ui.saved'));
    go('#/pause-reasons');
  } });
  form.id = 'pause-reason-form';
}

export const pauseReasonsRoutes = [
  [/^#\/pause-reasons$/, listPage],
  [/^#\/pause-reasons\/new$/, newPage],
  [/^#\/pause-reasons\/(\d+)$/, editPage],
];
