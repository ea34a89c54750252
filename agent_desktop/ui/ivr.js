// The IVR admin page (#/ivr, permission ivr.manage): the flows and their versions, a version's steps as a
// readable table and as JSON to edit (Validate / Save as new version / Activate, with the server's field
// errors listed by path), and the prompts with play and upload. The server validates; the page shows.
import { api, ApiError } from './api.js';
import { t, enumLabel, formatDateTime, fieldLabel } from './i18n.js';
import { el } from './forms.js';
import { toast } from './app.js';

const LANGUAGES = ['zh-CN', 'en'];
// Per step kind: the fields that lead to another step (menus add one per key option).
const EXITS = ['next', 'on_fail', 'found', 'missing', 'open', 'closed'];

const button = (label, onclick, attrs = {}) => el('button', { type: 'button', onclick, ...attrs }, label);
const enc = encodeURIComponent;

export async function ivrPage(main) {
  const s = { flows: [], name: null, version: null, shown: null };
  s.flowsBox = el('section', { id: 'ivr-flows' });
  s.editor = el('section', { id: 'ivr-editor', hidden: true });
  s.promptsBox = el('section', { id: 'ivr-prompts' });
  main.replaceChildren(el('div', { class: 'ivr-admin' },
    el('h2', {}, t('menu.ivr')),
    el('h4', {}, t('ui.ivr.flows')), s.flowsBox, s.editor,
    el('h4', {}, t('ui.ivr.prompts')), s.promptsBox));
  await loadFlows(s);
  const first = s.flows.find((f) => f.name === 'ivr') || s.flows[0];
  if (first && first.active_version) await openVersion(s, first.name, first.active_version);
  await loadPrompts(s);
}

// --- flows ----------------------------------------------------------------------------------------

async function loadFlows(s) {
  s.flows = await api('/api/ivr/flows');
  const head = el('tr', {}, ['name', 'active_version', 'versions'].map((f) => el('th', {}, fieldLabel(f))));
  const rows = s.flows.map((flow) => el('tr', { 'data-flow': flow.name },
    el('td', {}, flow.name),
    el('td', { 'data-active-version': flow.active_version ?? '' }, flow.active_version ?? '—'),
    el('td', {}, flow.versions.map((v) => el('a', {
      href: '#', class: v.is_active ? 'active' : null, 'data-open': `${flow.name}/${v.version}`,
      title: `${formatDateTime(v.created_at)} ${v.created_by_name || ''} ${v.note || ''}`.trim(),
      onclick: (e) => { e.preventDefault(); openVersion(s, flow.name, v.version); },
    }, t('ui.ivr.version_label', { version: v.version }), ' ')))));
  s.flowsBox.replaceChildren(el('table', { class: 'striped' }, el('thead', {}, head), el('tbody', {}, rows)));
}

async function openVersion(s, name, version) {
  const shown = await api(`/api/ivr/flows/${enc(name)}/versions/${version}`);
  s.name = name;
  s.version = version;
  s.shown = shown;
  renderEditor(s);
}

function renderEditor(s) {
  const v = s.shown;
  s.table = el('div', { class: 'overflow-auto', id: 'ivr-steps-box' });
  s.json = el('textarea', { id: 'ivr-json', rows: 18, spellcheck: 'false', 'aria-label': fieldLabel('definition'), style: 'font-family: monospace' });
  s.json.value = JSON.stringify(v.definition, null, 2);
  s.json.addEventListener('input', () => { const parsed = parse(s, false); if (parsed) drawSteps(s, parsed); });
  s.note = el('input', { id: 'ivr-note', name: 'note', maxlength: 300, placeholder: fieldLabel('note'), 'aria-label': fieldLabel('note') });
  s.errors = el('div', { id: 'ivr-errors', role: 'alert', 'aria-live': 'polite' });
  s.status = el('p', { id: 'ivr-status', role: 'status' });
  const versions = s.flows.find((f) => f.name === s.name)?.versions || [];
  s.editor.hidden = false;
  s.editor.dataset.flow = s.name;
  s.editor.dataset.version = s.version;
  s.editor.replaceChildren(
    el('h3', {}, `${s.name} · ${t('ui.ivr.version_label', { version: v.version })}`,
      v.is_active ? el('mark', { id: 'ivr-shown-active' }, ` ${fieldLabel('is_active')}`) : null),
    el('p', { class: 'muted' }, [formatDateTime(v.created_at), v.created_by_name, v.note].filter(Boolean).join(' · ')),
    el('h5', {}, fieldLabel('steps')), s.table,
    el('label', { for: 'ivr-json' }, fieldLabel('definition')), s.json, s.note,
    el('div', { class: 'toolbar' },
      button(t('ui.ivr.validate'), () => validate(s), { id: 'ivr-validate', class: 'secondary' }),
      button(t('ui.ivr.save_version'), () => save(s), { id: 'ivr-save' }),
      button(t('ui.ivr.activate'), () => activate(s, s.version), { id: 'ivr-activate', class: 'outline', disabled: v.is_active })),
    s.errors, s.status,
    el('details', {}, el('summary', {}, fieldLabel('versions')),
      el('ul', { id: 'ivr-versions' }, versions.map((item) => el('li', {},
        `${t('ui.ivr.version_label', { version: item.version })} · ${formatDateTime(item.created_at)} ${item.created_by_name || ''} ${item.note || ''} `,
        item.is_active ? el('mark', {}, fieldLabel('is_active'))
          : button(t('ui.ivr.activate'), () => activate(s, item.version), { class: 'outline', 'data-activate': item.version }))))));
  drawSteps(s, v.definition);
}

// The steps as people read them: id, kind, prompt, and where each key or outcome leads.
function drawSteps(s, definition) {
  const head = el('tr', {}, [t('ui.ivr.step_id'), t('ui.ivr.step_kind'), fieldLabel('prompt'), t('ui.ivr.transitions')].map((h) => el('th', {}, h)));
  const steps = Object.entries(definition?.steps || {});
  const body = steps.map(([id, step]) => {
    const exits = [];
    for (const option of step.options || []) exits.push(`${option.digit} → ${option.next}`);
    for (const key of EXITS) if (step[key]) exits.push(`${fieldLabel(key)} → ${step[key]}`);
    if (step.queue) exits.push(`${fieldLabel('queue')}: ${step.queue}`);
    const promptsShown = [step.prompt, step.invalid_prompt].filter(Boolean).join(' / ');
    return el('tr', { 'data-step': id, class: id === definition.start ? 'start' : null },
      el('td', {}, id === definition.start ? `▶ ${id}` : id),
      el('td', {}, enumLabel('StepKind', step.kind)),
      el('td', {}, promptsShown),
      el('td', { 'data-exits': id }, exits.map((x) => el('div', {}, x))));
  });
  s.table.replaceChildren(el('table', { id: 'ivr-steps', class: 'striped' }, el('thead', {}, head), el('tbody', {}, body)));
}

function parse(s, report = true) {
  try {
    const value = JSON.parse(s.json.value);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('{…}');
    return value;
  } catch (error) {
    if (report) showErrors(s, t('ui.ivr.json_invalid', { error: error.message }), []);
    return null;
  }
}

function showErrors(s, message, fields) {
  s.status.textContent = '';
  s.errors.replaceChildren();
  if (!message) return;
  s.errors.append(el('p', { class: 'form-error' }, message),
    el('ul', {}, fields.map((f) => el('li', { class: 'field-error', 'data-error-for': f.field }, el('code', {}, f.field || '—'), ` ${f.message}`))));
}

async function call(s, fn) {
  const buttons = s.editor.querySelectorAll('.toolbar button');
  buttons.forEach((b) => b.setAttribute('aria-busy', 'true'));
  try { return await fn(); } catch (error) {
    if (error instanceof ApiError) showErrors(s, error.message, error.body.fields || []);
    else showErrors(s, String(error.message || error), []);
    return undefined;
  } finally { buttons.forEach((b) => b.removeAttribute('aria-busy')); }
}

async function validate(s) {
  const definition = parse(s);
  if (!definition) return;
  const answer = await call(s, () => api('/api/ivr/flows/validate', { method: 'POST', body: { definition } }));
  if (answer) { showErrors(s, '', []); s.status.textContent = t('ui.ivr.valid', { steps: answer.steps }); }
}

async function save(s) {
  const definition = parse(s);
  if (!definition) return;
  const body = { definition, note: s.note.value.trim() || null, activate: false };
  const saved = await call(s, () => api(`/api/ivr/flows/${enc(s.name)}/versions`, { method: 'POST', body }));
  if (!saved) return;
  await loadFlows(s);
  s.shown = saved;
  s.version = saved.version;
  renderEditor(s);
  s.status.textContent = t('ui.ivr.saved', { version: saved.version });
  toast(s.status.textContent);
}

async function activate(s, version) {
  const done = await call(s, () => api(`/api/ivr/flows/${enc(s.name)}/versions/${version}/activate`, { method: 'POST' }));
  if (!done) return;
  await loadFlows(s);
  s.shown = done;
  s.version = done.version;
  renderEditor(s);
  s.status.textContent = t('ui.ivr.activated', { version: done.version });
  toast(s.status.textContent);
}

// --- prompts --------------------------------------------------------------------------------------

async function loadPrompts(s) {
  const list = await api('/api/ivr/prompts');
  if (!s.upload) {
    s.upload = uploadForm(s);
    s.listBox = el('div', { class: 'overflow-auto' });
    s.promptsBox.replaceChildren(s.upload, s.listBox);
  }
  s.names.replaceChildren(...list.map((p) => el('option', { value: p.name })));
  const head = el('tr', {}, el('th', {}, fieldLabel('name')), LANGUAGES.map((lang) => el('th', {}, lang)));
  const rows = list.map((p) => el('tr', { 'data-prompt': p.name },
    el('td', {}, p.name, p.in_catalog ? null : el('small', { class: 'muted' }, ` (${fieldLabel('uploaded')})`)),
    p.audio.map((a) => el('td', { 'data-audio': `${p.name}/${a.language}`, 'data-has-audio': a.has_audio ? 'true' : 'false' },
      el('div', {}, a.text || ''),
      a.has_audio
        ? el('div', {}, button(`▶ ${t('ui.ivr.play')}`, (e) => play(e.target, p.name, a.language), { class: 'outline', 'data-play': `${p.name}/${a.language}` }),
          el('small', { class: 'muted' }, ` ${(a.duration_ms / 1000).toFixed(1)} s · ${a.uploaded ? fieldLabel('uploaded') : t('ui.ivr.generated')}`))
        : el('small', { class: 'muted' }, t('ui.ivr.no_audio'))))));
  s.listBox.replaceChildren(el('table', { id: 'ivr-prompt-list', class: 'striped' }, el('thead', {}, head), el('tbody', {}, rows)));
}

// The audio element appears on demand: listening is audited, so nothing is fetched before a click.
function play(target, name, language) {
  const cellNode = target.closest('td');
  cellNode.querySelector('audio')?.remove();
  const audio = el('audio', { controls: true, autoplay: true, src: `/api/ivr/prompts/${enc(name)}/${enc(language)}/audio` });
  cellNode.append(audio);
}

function uploadForm(s) {
  const names = el('datalist', { id: 'ivr-prompt-names' });
  s.names = names;
  const form = el('form', { id: 'ivr-upload', class: 'toolbar', novalidate: true },
    el('input', { name: 'name', list: 'ivr-prompt-names', required: true, pattern: '[A-Za-z0-9_.-]+', placeholder: fieldLabel('prompt'), 'aria-label': fieldLabel('prompt') }),
    names,
    el('select', { name: 'language', 'aria-label': fieldLabel('language') }, LANGUAGES.map((lang) => el('option', { value: lang }, lang))),
    el('input', { type: 'file', name: 'file', accept: '.wav,.mp3,audio/wav,audio/mpeg', 'aria-label': fieldLabel('file') }),
    el('button', { type: 'submit' }, t('ui.ivr.upload')));
  const result = el('p', { id: 'ivr-upload-result', role: 'status' });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const name = String(data.get('name') || '').trim();
    const language = data.get('language');
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || !data.get('file')?.size) {
      result.replaceChildren(el('span', { class: 'form-error' }, t('validation.missing')));
      return;
    }
    const body = new FormData();
    body.append('file', data.get('file'));
    try {
      await api(`/api/ivr/prompts/${enc(name)}/${enc(language)}/audio`, { method: 'POST', form: body });
      result.textContent = t('ui.ivr.uploaded', { name, language });
      toast(result.textContent);
      await loadPrompts(s);
    } catch (error) {
      const fields = error instanceof ApiError ? error.body.fields || [] : [];
      result.replaceChildren(el('span', { class: 'form-error' }, error.message),
        ...fields.map((f) => el('span', { class: 'field-error', 'data-error-for': f.field }, ` ${fieldLabel(String(f.field).split('.').pop())}: ${f.message}`)));
    }
  });
  return el('div', {}, form, el('small', { class: 'muted' }, t('ui.ivr.upload_hint')), result);
}

export const ivrRoutes = [[/^#\/ivr$/, ivrPage]];
