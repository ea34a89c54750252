// The IVR admin page (#/ivr, permission ivr.manage): the flows and their versions, a version's steps as a
// readable table and as JSON to edit (Validate / Save as new version / Activate, with the server's field
// errors listed by path), a step editor with form fields for a route step's estimated-wait call-back offer
// and a menu's key captions (each with the server's error beside it), and the prompts with play and upload.
// The server validates; the page shows. The JSON stays the one source: the step editor writes into it.
import { api, ApiError } from './api.js';
import { t, enumLabel, formatDateTime, fieldLabel, has } from './i18n.js';
import { el } from './forms.js';
import { toast } from './app.js';

const LANGUAGES = ['zh-CN', 'en'];
// Per step kind: the fields that lead to another step (menus add one per key option).
const EXITS = ['next', 'on_fail', 'found', 'missing', 'open', 'closed'];

// Steps with form fields in the step editor (everything else: the JSON).
const EDITABLE = new Set(['menu', 'route', 'transfer_to_agent']);
const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '*', '#'];
// ivr.flows.WaitOffer: what a new offer starts with (the server's defaults).
const OFFER_DEFAULTS = { wait_over_s: 120, offer_key: '1', estimate_prompt: 'wait-estimate', minutes_prompt: 'wait-minutes',
  offer_prompt: 'wait-offer', confirmed_prompt: 'callback-confirmed', timeout_ms: 5000 };
const OFFER_FIELDS = [['wait_over_s', 'integer'], ['offer_key', 'key'], ['timeout_ms', 'integer'], ['estimate_prompt', 'prompt'],
  ['minutes_prompt', 'prompt'], ['offer_prompt', 'prompt'], ['confirmed_prompt', 'prompt']];
// Captions the screen pop translates (ivr.choice.*); anything else is shown as typed.
const CHOICES = ['account', 'case_status', 'complaint', 'sales', 'billing', 'agent'];

const button = (label, onclick, attrs = {}) => el('button', { type: 'button', onclick, ...attrs }, label);
const enc = encodeURIComponent;

export async function ivrPage(main) {
  const s = { flows: [], name: null, version: null, shown: null, editing: null, fieldErrors: [] };
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
  s.json.addEventListener('input', () => { const parsed = parse(s, false); if (parsed) { drawSteps(s, parsed); renderStepForm(s); } });
  s.stepBox = el('section', { id: 'ivr-step-editor', hidden: true });
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
    el('h5', {}, fieldLabel('steps')), s.table, s.stepBox,
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
  s.fieldErrors = [];
  drawSteps(s, v.definition);
  renderStepForm(s);
}

// The steps as people read them: id, kind, prompt, and where each key or outcome leads.
function drawSteps(s, definition) {
  const head = el('tr', {}, [t('ui.ivr.step_id'), t('ui.ivr.step_kind'), fieldLabel('prompt'), t('ui.ivr.transitions'), ''].map((h) => el('th', {}, h)));
  const steps = Object.entries(definition?.steps || {});
  const body = steps.map(([id, step]) => {
    const exits = [];
    for (const option of step.options || []) exits.push(`${option.digit} → ${option.next}${option.caption ? `（${captionText(option.caption)}）` : ''}`);
    for (const key of EXITS) if (step[key]) exits.push(`${fieldLabel(key)} → ${step[key]}`);
    if (step.queue) exits.push(`${fieldLabel('queue')}: ${step.queue}`);
    if (step.wait_offer && typeof step.wait_offer === 'object') {
      exits.push(t('ui.ivr.editor.offer_summary', { seconds: step.wait_offer.wait_over_s ?? OFFER_DEFAULTS.wait_over_s, key: step.wait_offer.offer_key ?? OFFER_DEFAULTS.offer_key }));
    }
    const promptsShown = [step.prompt, step.invalid_prompt].filter(Boolean).join(' / ');
    return el('tr', { 'data-step': id, class: id === definition.start ? 'start' : null },
      el('td', {}, id === definition.start ? `▶ ${id}` : id),
      el('td', {}, enumLabel('StepKind', step.kind)),
      el('td', {}, promptsShown),
      el('td', { 'data-exits': id }, exits.map((x) => el('div', {}, x))),
      el('td', {}, EDITABLE.has(step?.kind)
        ? button(t('ui.ivr.editor.edit'), () => editStep(s, id), { class: 'outline', 'data-edit-step': id }) : ''));
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
  s.fieldErrors = fields;
  // A problem in a field the step editor has: open that step so the message stands beside its field.
  const formError = fields.map((f) => /^steps\.([^.]+)\.(wait_offer|options\.\d+\.caption)/.exec(String(f.field || ''))).find(Boolean);
  if (formError && !fields.some((f) => String(f.field || '').startsWith(`steps.${s.editing}.`))) editStep(s, formError[1]);
  else markFieldErrors(s);
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

// --- the step editor ------------------------------------------------------------------------------

const captionText = (caption) => (has(`ivr.choice.${caption}`) ? t(`ivr.choice.${caption}`) : caption);

function editStep(s, id) {
  s.editing = id;
  renderStepForm(s);
  s.stepBox.scrollIntoView?.({ block: 'nearest' });
}

// The open step's form fields, drawn from the JSON (so a hand edit there shows here too).
function renderStepForm(s) {
  const box = s.stepBox;
  if (!box) return;
  const definition = parse(s, false);
  const step = definition?.steps?.[s.editing];
  if (!s.editing || !step || !EDITABLE.has(step.kind)) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.hidden = false;
  box.dataset.step = s.editing;
  const base = `steps.${s.editing}`;
  box.replaceChildren(
    el('h5', {}, t('ui.ivr.editor.title', { step: s.editing }), ' ', el('small', { class: 'muted' }, enumLabel('StepKind', step.kind))),
    step.kind === 'menu' ? captionFields(s, step, base) : offerFields(s, step, base),
    el('div', { class: 'toolbar' },
      el('small', { class: 'muted' }, t('ui.ivr.editor.hint')), ' ',
      button(t('ui.ivr.editor.close'), () => { s.editing = null; renderStepForm(s); }, { class: 'secondary outline', id: 'ivr-step-close' })));
  markFieldErrors(s);
}

// One labelled control with the server's message for its path beside it.
function fieldRow(path, label, control) {
  return el('div', { class: 'ivr-field', 'data-field': path },
    el('label', { for: control.id }, label), control,
    el('small', { class: 'field-error', 'data-error-for': path, role: 'alert' }));
}

// Writes a change of the open step into the JSON; ``redraw`` re-renders the form (a field appeared or went).
function change(s, path, mutate, redraw = false) {
  const definition = parse(s);
  const step = definition?.steps?.[s.editing];
  if (!step) return;
  mutate(step);
  s.json.value = JSON.stringify(definition, null, 2);
  s.status.textContent = '';
  s.fieldErrors = s.fieldErrors.filter((f) => f.field !== path);  // the message was about the old value
  drawSteps(s, definition);
  if (redraw) renderStepForm(s);
  else markFieldErrors(s);
}

// Numbers as numbers; an empty box leaves the server's default; anything else goes as typed (the server says why).
function numberValue(raw) {
  const text = raw.trim();
  if (text === '') return undefined;
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

function offerFields(s, step, base) {
  const path = `${base}.wait_offer`;
  const offer = step.wait_offer && typeof step.wait_offer === 'object' ? step.wait_offer : null;
  const toggle = el('input', { type: 'checkbox', role: 'switch', id: 'ivr-offer-on', 'data-path': path, checked: Boolean(offer) });
  toggle.addEventListener('change', () => change(s, path, (st) => {
    if (toggle.checked) st.wait_offer = { ...OFFER_DEFAULTS };
    else delete st.wait_offer;
  }, true));
  const rows = [];
  if (offer) {
    for (const [name, kind] of OFFER_FIELDS) {
      const fieldPath = `${path}.${name}`;
      const attrs = { id: `ivr-offer-${name}`, name, 'data-path': fieldPath };
      let control;
      if (kind === 'key') {
        control = el('select', attrs, KEYS.map((k) => el('option', { value: k, selected: String(offer[name] ?? OFFER_DEFAULTS[name]) === k }, k)));
      } else if (kind === 'integer') {
        control = el('input', { ...attrs, type: 'number', step: 1, min: 0, value: offer[name] ?? '', placeholder: String(OFFER_DEFAULTS[name]) });
      } else {
        control = el('input', { ...attrs, list: 'ivr-prompt-names', value: offer[name] ?? '', placeholder: OFFER_DEFAULTS[name] });
      }
      const event = control.tagName === 'SELECT' ? 'change' : 'input';
      control.addEventListener(event, () => change(s, fieldPath, (st) => {
        const value = kind === 'integer' ? numberValue(control.value) : control.value.trim() || undefined;
        if (value === undefined) delete st.wait_offer[name];
        else st.wait_offer[name] = value;
      }));
      rows.push(fieldRow(fieldPath, fieldLabel(name), control));
    }
  }
  return el('fieldset', { id: 'ivr-offer' }, el('legend', {}, fieldLabel('wait_offer')),
    el('small', { class: 'muted' }, t('ui.ivr.editor.offer_hint')),
    fieldRow(path, t('ui.ivr.editor.offer_on'), toggle),
    el('div', { style: 'display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:0 1rem' }, rows));
}

function captionFields(s, step, base) {
  const known = CHOICES.filter((c) => has(`ivr.choice.${c}`));
  const list = el('datalist', { id: 'ivr-choice-names' }, known.map((c) => el('option', { value: c }, t(`ivr.choice.${c}`))));
  const rows = (Array.isArray(step.options) ? step.options : []).map((option, index) => {
    const path = `${base}.options.${index}.caption`;
    const preview = el('small', { class: 'muted', 'data-caption-preview': index }, option.caption ? captionText(option.caption) : '');
    const control = el('input', { id: `ivr-caption-${index}`, 'data-path': path, list: 'ivr-choice-names', value: option.caption ?? '',
      placeholder: t('ui.ivr.editor.caption_placeholder') });
    control.addEventListener('input', () => {
      const value = control.value.trim();
      preview.textContent = value ? captionText(value) : '';
      change(s, path, (st) => {
        if (value) st.options[index].caption = value;
        else delete st.options[index].caption;
      });
    });
    return el('tr', { 'data-option': option.digit },
      el('td', {}, el('kbd', {}, option.digit)), el('td', {}, `→ ${option.next}`),
      el('td', {}, control, ' ', preview, el('small', { class: 'field-error', 'data-error-for': path, role: 'alert' })));
  });
  return el('fieldset', { id: 'ivr-captions' }, el('legend', {}, fieldLabel('caption')),
    el('small', { class: 'muted' }, t('ui.ivr.editor.caption_hint')), list,
    el('table', { class: 'striped' },
      el('thead', {}, el('tr', {}, el('th', {}, fieldLabel('digit')), el('th', {}, fieldLabel('next')), el('th', {}, fieldLabel('caption')))),
      el('tbody', {}, rows)));
}

// The server's field messages beside the step editor's fields (the full list stays in #ivr-errors).
function markFieldErrors(s) {
  if (!s.stepBox) return;
  for (const node of s.stepBox.querySelectorAll('[data-error-for]')) {
    const messages = (s.fieldErrors || []).filter((f) => f.field === node.dataset.errorFor).map((f) => f.message);
    node.textContent = messages.join('；');
    const control = s.stepBox.querySelector(`[data-path="${node.dataset.errorFor}"]`);
    if (control && messages.length) control.setAttribute('aria-invalid', 'true');
    else control?.removeAttribute('aria-invalid');
  }
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
