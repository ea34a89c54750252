// The recordings pages: #/recordings (permission recordings.listen) lists the calls in the user's scope with
// filters (queue, agent, dates, status) and a player per stored recording (the audio endpoint serves HTTP
// ranges, so the browser seeks without downloading the whole file); #/recordings/policies (recordings.manage)
// edits the per-queue recording policy. The server scopes, audits and validates; the page shows.
import { api, ApiError } from './api.js';
import { t, enumLabel, formatDateTime } from './i18n.js';
import { el } from './forms.js';
import { renderList } from './lists.js';
import { can, toast } from './app.js';

const STATUSES = ['stored', 'pending', 'empty', 'corrupt', 'missing', 'deleted'];
const MODES = ['all', 'share', 'none'];

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return '';
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

function player(row) {
  if (row.status !== 'stored') return el('span', { class: 'muted', title: row.error || '' }, t('ui.rec.no_audio'));
  // preload="none": nothing is fetched (nor audited as a playback) until the user presses play
  return el('audio', {
    controls: true, preload: 'none', src: `/api/recordings/${row.id}/audio`, 'data-recording': row.id,
    'aria-label': `${t('ui.rec.player')} ${row.uniqueid}`,
  });
}

function analysisSummary(analysis) {
  if (!analysis) return '';
  const text = t('ui.rec.analysis', {
    silence: Math.round((analysis.silence_share || 0) * 100),
    longest: formatDuration(analysis.longest_silence_ms),
  });
  return el('span', { title: analysis.mixed_mono ? t('ui.rec.mixed') : '' }, text);
}

async function recordingsPage(main) {
  const section = el('section', { id: 'recordings' }, el('h2', {}, t('ui.rec.title')));
  if (can('recordings.manage')) {
    section.append(el('p', {}, el('a', { href: '#/recordings/policies', id: 'recording-policies-link' }, t('ui.rec.policies'))));
  }
  main.replaceChildren(section);
  await renderList(section, {
    endpoint: '/api/recordings',
    searchHint: 'ui.rec.search',
    filters: [
      { name: 'queue', label: 'ui.rec.queue' },
      { name: 'agent', label: 'ui.rec.agent' },
      { name: 'from', label: 'ui.rec.from', kind: 'date' },
      { name: 'to', label: 'ui.rec.to', kind: 'date' },
      { name: 'status', label: 'ui.rec.status', options: STATUSES, enumName: 'RecordingStatus' },
    ],
    columns: [
      { key: 'started_at', label: 'ui.rec.started_at', format: (v) => formatDateTime(v) },
      { key: 'queue', label: 'ui.rec.queue' },
      { key: 'agent_name', label: 'ui.rec.agent', format: (v, row) => v || row.agent || '' },
      { key: 'duration_ms', label: 'ui.rec.duration', format: (v) => formatDuration(v) },
      { key: 'status', label: 'ui.rec.status', format: (v, row) => el('span', { 'data-status': v },
        enumLabel('RecordingStatus', v), row.held ? el('span', { class: 'badge', title: t('ui.rec.held') }, ' 🔒') : '') },
      { key: 'analysis', label: 'ui.rec.analysis_title', format: (v) => analysisSummary(v) },
      { key: 'id', label: 'ui.rec.player', format: (_v, row) => player(row) },
    ],
  });
}

// --- policy editor --------------------------------------------------------------------------------------

function policyRow(policy = { queue: '', mode: 'all', share_pct: 100, retention_days: 365 }) {
  const share = el('input', { type: 'number', name: 'share_pct', min: 0, max: 100, value: policy.share_pct, 'aria-label': t('ui.rec.share_pct') });
  const mode = el('select', { name: 'mode', 'aria-label': t('ui.rec.mode') },
    MODES.map((m) => el('option', { value: m, selected: policy.mode === m }, enumLabel('RecordingMode', m))));
  const sync = () => { share.disabled = mode.value !== 'share'; };
  mode.addEventListener('change', sync);
  sync();
  const tr = el('tr', { 'data-queue': policy.queue },
    el('td', {}, el('input', { name: 'queue', value: policy.queue, required: true, 'aria-label': t('ui.rec.queue') })),
    el('td', {}, mode),
    el('td', {}, share),
    el('td', {}, el('input', { type: 'number', name: 'retention_days', min: 1, value: policy.retention_days, 'aria-label': t('ui.rec.retention_days') })),
    el('td', {}, el('button', { type: 'button', class: 'secondary outline', onclick: () => tr.remove() }, t('ui.rec.remove'))));
  return tr;
}

function readRows(body) {
  return [...body.querySelectorAll('tr')].map((tr) => {
    const v = (name) => tr.querySelector(`[name="${name}"]`).value;
    return { queue: v('queue').trim(), mode: v('mode'), share_pct: Number(v('share_pct') || 0), retention_days: Number(v('retention_days') || 0) };
  });
}

async function policiesPage(main) {
  const policies = await api('/api/recordings/policies');
  const body = el('tbody', {}, policies.map((p) => policyRow(p)));
  const errors = el('div', { class: 'form-error', role: 'alert' });
  const editable = can('recordings.manage');
  const form = el('form', { id: 'recording-policies', novalidate: true },
    el('table', { class: 'striped' },
      el('thead', {}, el('tr', {}, ['ui.rec.queue', 'ui.rec.mode', 'ui.rec.share_pct', 'ui.rec.retention_days', ''].map((k) => el('th', {}, k ? t(k) : '')))),
      body),
    errors,
    editable ? el('div', { class: 'toolbar' },
      el('button', { type: 'button', class: 'secondary', id: 'add-policy', onclick: () => body.append(policyRow()) }, t('ui.rec.add_policy')),
      el('button', { type: 'submit', id: 'save-policies' }, t('ui.rec.save'))) : '');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    try {
      const saved = await api('/api/recordings/policies', { method: 'PUT', body: readRows(body) });
      body.replaceChildren(...saved.map((p) => policyRow(p)));
      toast(t('ui.rec.saved'));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const fields = error.body.fields || [];
      errors.replaceChildren(el('p', {}, error.message),
        el('ul', {}, fields.map((f) => el('li', { 'data-field': f.field }, `${rowLabel(body, f.loc)}${f.message}`))));
    }
  });
  if (!editable) for (const node of form.querySelectorAll('input, select, button')) node.disabled = true;
  main.replaceChildren(el('section', { id: 'recording-policy' },
    el('h2', {}, t('ui.rec.policies')), el('p', { class: 'muted' }, t('ui.rec.policy_hint')), form,
    el('p', {}, el('a', { href: '#/recordings' }, t('ui.rec.title')))));
}

// "support · 录音比例（%）: " for an error at [row, field]
function rowLabel(body, loc) {
  if (!Array.isArray(loc) || typeof loc[0] !== 'number') return '';
  const tr = body.querySelectorAll('tr')[loc[0]];
  const queue = tr ? tr.querySelector('[name="queue"]').value : `#${loc[0] + 1}`;
  const key = loc[1] ? `ui.rec.${loc[1]}` : null;
  return `${queue}${key ? ` · ${t(key)}` : ''}: `;
}

export const recordingsRoutes = [
  [/^#\/recordings\/policies$/, (main) => policiesPage(main)],
  [/^#\/recordings$/, (main) => recordingsPage(main)],
];
