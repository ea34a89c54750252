// The QA pages (质检). #/qa: the inspector's assigned calls and, for QA managers, the scorecard designer,
// sampling rules, disputes and calibration; #/qa/evaluate/<assignment>: the workbench (player with the
// waveform, comments pinned to the time, score form with a live total); #/qa/mine: the agent's own
// evaluations (acknowledge, dispute); #/qa/results: results by agent/team/month with a trend chart.
// The server scores and validates (qa/scoring.py); these pages show and collect.
import { api, ApiError, query } from './api.js';
import { t, has, enumLabel, formatDateTime, toLocalInput } from './i18n.js';
import { el } from './forms.js';
import { cell } from './lists.js';
import { can, currentUser, go, toast } from './app.js';
import { whileShown } from './ws-client.js';

const SEEK_STEP_S = 5;
const PREVIEW_DELAY_MS = 300;
const ITEM_KINDS = ['yes_no', 'scale'];
const CRITICAL = ['none', 'section', 'evaluation'];
const RULE_KINDS = {
  // kind → its parameter and the factor from what is typed to what is stored (seconds → ms)
  random_per_agent: ['per_week', 1],
  long_silence: ['min_silence_ms', 1000],
  overtalk: ['min_overtalk_ms', 1000],
  low_survey: ['min_score', 1], // 1 = 非常满意 … 5 = 非常不满意: sample scores at or above this
  complaint: ['', 1], // every call with a complaint: nothing to set
  new_agent: ['days', 1],
};
// A new rule or a changed kind starts from the contract's examples.
const RULE_DEFAULTS = {
  random_per_agent: { per_week: 5 }, long_silence: { min_silence_ms: 20000 }, overtalk: { min_overtalk_ms: 5000 },
  low_survey: { min_score: 4 }, complaint: {}, new_agent: { days: 30 },
};
const PALETTE = ['#1565c0', '#c62828', '#2e7d32', '#6a1b9a', '#ef6c00', '#00838f', '#5d4037', '#ad1457'];

const button = (label, onclick, attrs = {}) => el('button', { type: 'button', onclick, ...attrs }, label);
const pct = (v) => (v === null || v === undefined ? '—' : `${Number(v).toFixed(1)}%`);
const num = (v) => (v === null || v === undefined || v === '' ? null : Number(v));

// A calendar day (YYYY-MM-DD) in the center's zone, `offset` days from today.
function centerDay(offset) {
  return toLocalInput(new Date(Date.now() + offset * 86_400_000).toISOString()).slice(0, 10);
}

export function mmss(ms) {
  const s = Math.max(0, Math.floor((ms || 0) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

async function act(fn, done) {
  try { const answer = await fn(); if (done) toast(done); return answer ?? true; } catch (error) {
    toast(error instanceof ApiError ? error.message : String(error.message || error), 'error');
    return undefined;
  }
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// replaceChildren without "null" text: arrays flattened, absent parts skipped.
function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function statusBadge(status) {
  return el('span', { class: `badge qa-status qa-status-${status}`, 'data-status-badge': status }, t(`ui.qa.status.${status}`));
}

// An error body's field problems, shown as a list (for those with no input of their own).
function errorList(error) {
  const fields = error instanceof ApiError ? error.body.fields || [] : [];
  return [el('p', { class: 'form-error' }, error instanceof ApiError ? error.message : String(error.message || error)),
    fields.length ? el('ul', {}, fields.map((f) => el('li', { class: 'field-error', 'data-error-for': f.field }, el('code', {}, f.field || '—'), ` ${f.message}`))) : null];
}

// Puts each field problem beside the input whose data-path is its path (else beside the nearest ancestor
// path shown, else in `top`). Returns how many found a place.
function placeErrors(root, top, error) {
  root.querySelectorAll('.field-error').forEach((n) => n.remove());
  root.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
  top.replaceChildren();
  if (!error) return;
  top.append(el('p', { class: 'form-error' }, error instanceof ApiError ? error.message : String(error.message || error)));
  const fields = error instanceof ApiError ? error.body.fields || [] : [];
  for (const f of fields) {
    const parts = String(f.field || '').split('.');
    let node = null;
    for (let n = parts.length; n > 0 && !node; n -= 1) node = root.querySelector(`[data-path="${CSS.escape(parts.slice(0, n).join('.'))}"]`);
    const note = el('small', { class: 'field-error', 'data-error-for': f.field }, f.message);
    if (node) {
      node.setAttribute('aria-invalid', 'true');
      (node.closest('label') || node).after(note);
    } else top.append(el('div', { class: 'field-error', 'data-error-for': f.field }, `${f.field}: ${f.message}`));
  }
  root.querySelector('[aria-invalid=true]')?.focus();
}

function tabs(active) {
  const entries = [
    ['#/qa', 'ui.qa.tab.assigned', 'qa.evaluate'],
    ['#/qa/scorecards', 'ui.qa.tab.scorecards', 'qa.manage'],
    ['#/qa/sampling', 'ui.qa.tab.sampling', 'qa.manage'],
    ['#/qa/disputes', 'ui.qa.tab.disputes', 'qa.manage'],
    ['#/qa/calibrations', 'ui.qa.tab.calibration', 'qa.evaluate'],
    ['#/qa/results', 'ui.qa.tab.results', 'qa.results'],
  ].filter(([, , p]) => can(p));
  return el('nav', { class: 'qa-tabs', 'aria-label': t('menu.qa') },
    entries.map(([hash, key]) => el('a', { href: hash, class: hash === active ? 'active' : null, 'aria-current': hash === active ? 'page' : null }, t(key))));
}

function page(main, active, title, ...children) {
  const root = el('div', { class: 'qa-page', id: 'qa-page' }, tabs(active), el('h2', {}, title), ...children);
  fill(main, root);
  return root;
}

// --- the player: <audio> + the waveform ---------------------------------------------------------------
// The audio is fetched on the first play only (listening is audited); the waveform comes first so the
// inspector sees where to listen (long silences, overtalk) before pressing play.
function createPlayer(recordingId, durationMs, { commentKey = true } = {}) {
  const p = { id: recordingId, durationMs: durationMs || 0, comments: [], wave: null };
  p.audio = el('audio', { controls: true, preload: 'none', src: `/api/recordings/${recordingId}/audio`, id: 'qa-audio' });
  p.clock = el('span', { class: 'qa-clock', id: 'qa-clock' }, `0:00 / ${mmss(p.durationMs)}`);
  p.box = el('div', { class: 'qa-wave', id: 'qa-wave', 'aria-label': t('ui.qa.waveform') }, el('p', { class: 'muted', 'aria-busy': 'true' }, t('ui.qa.waveform_loading')));
  p.legend = el('div', { class: 'qa-legend' });
  p.root = el('section', { class: 'qa-player', 'data-recording': recordingId },
    el('div', { class: 'qa-audio-row' }, p.audio, p.clock,
      el('small', { class: 'muted qa-keys' }, t(commentKey ? 'ui.qa.keys_hint' : 'ui.qa.keys_hint_view'))),
    p.box, p.legend);
  p.currentMs = () => Math.round((p.audio.currentTime || 0) * 1000);
  p.duration = () => p.durationMs || (Number.isFinite(p.audio.duration) ? p.audio.duration * 1000 : 0);
  p.seek = (ms) => {
    const target = Math.max(0, Math.min(ms, p.duration() || ms));
    p.audio.currentTime = target / 1000;
    follow(p);
  };
  p.toggle = () => { if (p.audio.paused) p.audio.play().catch(() => {}); else p.audio.pause(); };
  p.setComments = (comments) => { p.comments = comments; drawMarkers(p); };
  const tick = () => { follow(p); if (!p.audio.paused) p.frame = requestAnimationFrame(tick); };
  p.audio.addEventListener('play', () => { cancelAnimationFrame(p.frame); p.frame = requestAnimationFrame(tick); });
  for (const name of ['timeupdate', 'seeked', 'pause', 'loadedmetadata']) p.audio.addEventListener(name, () => follow(p));
  loadWaveform(p);
  return p;
}

async function loadWaveform(p) {
  try {
    p.wave = await api(`/api/recordings/${p.id}/waveform`);
    if (p.wave.duration_ms) p.durationMs = p.wave.duration_ms;
  } catch (error) {
    fill(p.box, el('p', { class: 'muted', id: 'qa-wave-missing' }, error instanceof ApiError && error.status === 404 ? t('ui.qa.not_analysed') : error.message));
    return;
  }
  drawWave(p);
}

const LANE = 56;
const GAP = 8;
const WIDTH = 1000;

function drawWave(p) {
  const w = p.wave;
  const dur = p.durationMs || 1;
  const x = (ms) => (ms / dur) * WIDTH;
  const channels = w.channels || [];
  const height = Math.max(1, channels.length) * (LANE + GAP);
  const bands = (list, cls, y, h, label) => (list || []).map(([s, e]) => svg('rect', { class: cls, x: x(s), y, width: Math.max(x(e) - x(s), 1.5), height: h },
    svg('title', {}, `${label} ${mmss(s)}–${mmss(e)} (${((e - s) / 1000).toFixed(1)} s)`)));
  const lanes = channels.map((ch, i) => {
    const y0 = i * (LANE + GAP);
    const mid = y0 + LANE / 2;
    const n = ch.peaks.length || 1;
    const step = WIDTH / n;
    const d = ch.peaks.map((v, k) => {
      const h = Math.max(0.5, v * (LANE / 2 - 2));
      return `M${(k * step + step / 2).toFixed(2)} ${(mid - h).toFixed(1)}V${(mid + h).toFixed(1)}`;
    }).join('');
    return svg('g', { class: `qa-lane qa-ch-${ch.name}`, 'data-channel': ch.name },
      svg('rect', { class: 'qa-lane-bg', x: 0, y: y0, width: WIDTH, height: LANE }),
      bands(ch.activity, 'qa-activity', y0 + LANE - 6, 6, t(`ui.qa.channel.${ch.name}`)),
      svg('path', { class: 'qa-peaks', d, 'stroke-width': Math.max(step * 0.8, 0.6) }));
  });
  p.markers = svg('g', { class: 'qa-markers' });
  p.playhead = svg('line', { class: 'qa-playhead', x1: 0, x2: 0, y1: 0, y2: height, id: 'qa-playhead' });
  p.svg = svg('svg', { viewBox: `0 0 ${WIDTH} ${height}`, preserveAspectRatio: 'none', class: 'qa-wave-svg', role: 'img', 'aria-label': t('ui.qa.waveform'), style: `height:${height * 1.3}px` },
    lanes,
    bands(w.silences, 'qa-silence', 0, height, t('ui.qa.long_silence')),
    bands(w.overtalk, 'qa-overtalk', 0, height, t('ui.qa.overtalk')),
    p.markers, p.playhead);
  p.svg.addEventListener('click', (event) => {
    const r = p.svg.getBoundingClientRect();
    p.seek(((event.clientX - r.left) / r.width) * dur);
  });
  fill(p.box, el('div', { class: 'qa-lane-names' }, channels.map((ch) => el('span', { style: `height:${(LANE + GAP) * 1.3}px` }, t(`ui.qa.channel.${ch.name}`)))), p.svg);
  p.box.dataset.channels = channels.map((c) => c.name).join(',');
  fill(p.legend,
    ...channels.map((ch) => el('span', { class: `qa-key qa-ch-${ch.name}` }, t(`ui.qa.channel.${ch.name}`))),
    el('span', { class: 'qa-key qa-key-overtalk' }, `${t('ui.qa.overtalk')} ${(w.overtalk || []).length}`),
    el('span', { class: 'qa-key qa-key-silence' }, `${t('ui.qa.long_silence')} ${(w.silences || []).length}`),
    channels.length === 1 ? el('small', { class: 'muted' }, t('ui.qa.mixed_mono')) : null);
  drawMarkers(p);
  follow(p);
}

function drawMarkers(p) {
  if (!p.markers) return;
  const dur = p.durationMs || 1;
  fill(p.markers, ...p.comments.map((c) => {
    const cx = (c.at_ms / dur) * WIDTH;
    return svg('polygon', { class: 'qa-marker', points: `${cx - 6},0 ${cx + 6},0 ${cx},10`, 'data-marker': c.at_ms,
      onclick: (e) => { e.stopPropagation(); p.seek(c.at_ms); } }, svg('title', {}, `${mmss(c.at_ms)} ${c.text}`));
  }));
}

function follow(p) {
  const ms = p.currentMs();
  p.root.dataset.ms = ms;
  p.clock.textContent = `${mmss(ms)} / ${mmss(p.duration())}`;
  if (p.playhead) {
    const cx = (ms / (p.durationMs || 1)) * WIDTH;
    p.playhead.setAttribute('x1', cx);
    p.playhead.setAttribute('x2', cx);
  }
}

// Space, ←/→ and C act on the player unless the user is typing. On a radio button or checkbox (the score
// form) Space and C still do, but the arrows keep moving between the choices, as keyboard users expect.
function playerKeys(p, onComment) {
  return (event) => {
    const target = event.target instanceof HTMLElement ? event.target : null;
    if (event.ctrlKey || event.metaKey || event.altKey || !target) return;
    const choice = target.tagName === 'INPUT' && ['radio', 'checkbox'].includes(target.type);
    if (target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName) || (target.tagName === 'INPUT' && !choice)) return;
    if (event.key === ' ' || event.code === 'Space') {
      if (/^(BUTTON|A|AUDIO)$/.test(target.tagName)) target.blur();
      event.preventDefault();
      p.toggle();
    } else if ((event.key === 'ArrowLeft' || event.key === 'ArrowRight') && !choice) {
      event.preventDefault();
      p.seek(p.currentMs() + (event.key === 'ArrowLeft' ? -1 : 1) * SEEK_STEP_S * 1000);
    } else if ((event.key === 'c' || event.key === 'C') && onComment) {
      event.preventDefault();
      onComment();
    }
  };
}

// --- comments pinned to the time ----------------------------------------------------------------------
function commentsPanel(p, initial, { editable, onChange }) {
  const c = { list: [...(initial || [])].sort((a, b) => a.at_ms - b.at_ms), at: 0 };
  const ul = el('ul', { class: 'qa-comments', id: 'qa-comments' });
  const draw = () => {
    fill(ul, ...c.list.map((item, index) => el('li', { 'data-comment': index },
      el('a', { href: '#', class: 'qa-at', 'data-comment-at': item.at_ms, onclick: (e) => { e.preventDefault(); p?.seek(item.at_ms); } }, mmss(item.at_ms)),
      ` ${item.text} `,
      editable ? button('×', () => { c.list.splice(index, 1); draw(); onChange?.(); }, { class: 'small secondary outline', 'aria-label': t('ui.remove') }) : null)));
    if (!c.list.length) ul.append(el('li', { class: 'muted' }, t('ui.qa.no_comments')));
    p?.setComments(c.list);
  };
  const root = el('section', { class: 'qa-comment-box' }, el('h4', {}, t('ui.qa.comments')), ul);
  if (editable) {
    const at = el('span', { class: 'qa-at', id: 'qa-comment-at' }, '0:00');
    const text = el('input', { id: 'qa-comment-text', maxlength: 500, placeholder: t('ui.qa.comment_placeholder'), 'aria-label': t('ui.qa.comment_placeholder'),
      onfocus: () => { c.at = p ? p.currentMs() : 0; at.textContent = mmss(c.at); } });
    const add = () => {
      const value = text.value.trim();
      if (!value) return;
      c.list.push({ at_ms: c.at, text: value });
      c.list.sort((a, b) => a.at_ms - b.at_ms);
      text.value = '';
      text.blur();
      draw();
      onChange?.();
    };
    text.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); add(); }
      if (e.key === 'Escape') text.blur();
    });
    root.append(el('div', { class: 'toolbar' }, at, text, button(t('ui.qa.add_comment'), add, { id: 'qa-comment-add', class: 'secondary' })));
    c.focus = () => { text.focus(); };
  }
  c.root = root;
  c.values = () => c.list.map((x) => ({ at_ms: x.at_ms, text: x.text }));
  draw();
  return c;
}

// --- the score form ---------------------------------------------------------------------------------
const itemMax = (item) => (item.kind === 'scale' ? Number(item.scale_max) : 1);

function choicesOf(item) {
  const out = item.kind === 'scale'
    ? Array.from({ length: itemMax(item) + 1 }, (_, v) => [String(itemMax(item) - v), String(itemMax(item) - v)])
    : [['1', t('ui.yes')], ['0', t('ui.no')]];
  if (item.allow_na) out.push(['na', t('ui.qa.not_applicable')]);
  return out;
}

function criticalBadge(critical) {
  if (!critical || critical === 'none') return null;
  return el('span', { class: `badge danger qa-critical-${critical}` }, t(`ui.qa.critical.${critical}`));
}

// A form over a scorecard definition. Every item starts at full marks (deduction scoring: the inspector
// takes points away, each with its 扣分依据) unless `answers` say otherwise.
function scoreForm(definition, answers, { onChange } = {}) {
  const f = { root: el('div', { class: 'qa-score-form', id: 'qa-score-form' }), items: new Map() };
  for (const [si, section] of (definition.sections || []).entries()) {
    const fs = el('fieldset', { class: 'qa-section', 'data-section': section.key, 'data-path': `sections.${si}` },
      el('legend', {}, section.title, ' ', el('small', { class: 'muted' }, t('ui.qa.weight_n', { weight: section.weight })), ' ',
        section.critical ? el('span', { class: 'badge danger' }, t('ui.qa.critical_section')) : null, ' ',
        el('span', { class: 'qa-section-pct', 'data-section-pct': section.key })));
    for (const item of section.items || []) {
      const given = answers?.[item.key];
      const start = given ? (given.value === null || given.value === undefined ? 'na' : String(given.value)) : String(itemMax(item));
      const evidence = el('textarea', { rows: 2, maxlength: 2000, name: `answers.${item.key}.evidence`, 'data-path': `answers.${item.key}.evidence`,
        id: `qa-evidence-${item.key}`, placeholder: t('ui.qa.evidence_placeholder'), oninput: () => onChange?.() });
      evidence.value = given?.evidence || '';
      const radios = choicesOf(item).map(([value, label]) => el('label', { class: 'qa-choice', 'data-choice': `${item.key}:${value}` },
        el('input', { type: 'radio', name: `answers.${item.key}.value`, value, checked: value === start,
          onchange: () => { sync(); onChange?.(); } }), ` ${label}`));
      const evidenceLabel = el('label', { class: 'qa-evidence', for: evidence.id }, el('span', { class: 'qa-evidence-title' }, t('ui.qa.evidence')), evidence);
      const box = el('div', { class: 'qa-item', 'data-item': item.key, 'data-path': `answers.${item.key}` },
        el('div', { class: 'qa-item-head' }, el('strong', {}, item.title), ' ',
          el('small', { class: 'muted' }, `${t('ui.qa.weight_n', { weight: item.weight })}${item.kind === 'scale' ? ` · 0–${item.scale_max}` : ''}`), ' ',
          criticalBadge(item.critical)),
        item.guidance ? el('small', { class: 'muted qa-guidance' }, item.guidance) : null,
        el('div', { class: 'qa-choices', role: 'radiogroup', 'data-path': `answers.${item.key}.value`, 'aria-label': item.title }, radios),
        evidenceLabel);
      const sync = () => {
        const v = f.value(item.key);
        const deducted = v !== null && v < itemMax(item);
        box.classList.toggle('deducted', deducted);
        evidenceLabel.classList.toggle('required', deducted);
      };
      f.items.set(item.key, { item, box, sync, evidence });
      fs.append(box);
    }
    f.root.append(fs);
  }
  f.value = (key) => {
    const checked = f.items.get(key).box.querySelector('input[type=radio]:checked');
    if (!checked || checked.value === 'na') return null;
    return Number(checked.value);
  };
  f.values = () => {
    const out = {};
    for (const [key, { box, evidence }] of f.items) {
      if (!box.querySelector('input[type=radio]:checked')) continue;
      out[key] = { value: f.value(key), evidence: evidence.value.trim() };
    }
    return out;
  };
  f.showSections = (result) => {
    for (const s of result?.sections || []) {
      const span = f.root.querySelector(`[data-section-pct="${CSS.escape(s.key)}"]`);
      if (span) span.textContent = s.pct === null || s.pct === undefined ? t('ui.qa.not_applicable') : pct(s.pct);
    }
  };
  for (const { sync } of f.items.values()) sync();
  return f;
}

function resultBox(result, standardScore, attrs = {}) {
  const box = el('div', { class: 'qa-result', ...attrs });
  const draw = (r) => {
    box.dataset.totalPct = r?.total_pct ?? '';
    box.dataset.failed = r?.failed ? 'true' : 'false';
    fill(box,
      el('div', {}, el('span', { class: 'muted' }, t('ui.qa.total')), el('b', { 'data-figure': 'total_pct' }, pct(r?.total_pct))),
      el('div', {}, el('span', { class: 'muted' }, t('ui.qa.score')), el('b', { 'data-figure': 'score' }, r?.score ?? '—'), el('small', {}, ` / ${standardScore ?? '—'}`)),
      el('div', {}, el('span', { class: 'muted' }, t('ui.qa.grade')), el('b', { 'data-figure': 'grade' }, r?.grade ?? '—')),
      r?.failed ? el('div', { class: 'qa-failed' }, el('span', { class: 'badge danger', 'data-figure': 'failed' }, t('ui.qa.failed'))) : null);
  };
  draw(result);
  box.update = draw;
  return box;
}

// A live total: the server's preview of the answers so far, debounced; stale answers are dropped.
function livePreview(scorecard, form, box, note) {
  let timer = null;
  let seq = 0;
  const run = async () => {
    const mine = ++seq;
    try {
      const result = await api(`/api/qa/scorecards/${scorecard.id}/preview`, { method: 'POST', body: { version: scorecard.version, answers: form.values() } });
      if (mine !== seq) return;
      box.update(result);
      form.showSections(result);
      note.textContent = '';
    } catch (error) {
      if (mine !== seq) return;
      note.textContent = error instanceof ApiError ? (error.body.fields || []).map((x) => x.message).filter(Boolean)[0] || error.message : String(error);
    }
  };
  return { schedule: () => { clearTimeout(timer); timer = setTimeout(run, PREVIEW_DELAY_MS); }, run };
}

// A paged table over a Page[...] endpoint with select filters (these endpoints have no text search).
// filters: [{ name, label, options: [[value, label], ...] }]; the first option is the default.
async function pagedList(container, { endpoint, filters = [], params = {}, columns, onOpen, limit = 20 }) {
  const state = { ...params, offset: 0, limit };
  for (const f of filters) state[f.name] = f.options[0][0];
  const bar = el('div', { class: 'toolbar' }, filters.map((f) => el('label', {}, t(f.label),
    el('select', { name: f.name, 'data-filter': f.name, onchange: (e) => { state[f.name] = e.target.value; state.offset = 0; load(); } },
      f.options.map(([value, label]) => el('option', { value }, label))))));
  const table = el('table', { class: 'list striped' });
  const pager = el('div', { class: 'pager' });
  fill(container, filters.length ? bar : null, el('div', { class: 'overflow-auto' }, table), pager);
  async function load() {
    table.setAttribute('aria-busy', 'true');
    let page;
    try { page = await api(`${endpoint}${query(state)}`); } catch (error) {
      fill(table, el('caption', { class: 'form-error' }, error.message));
      table.removeAttribute('aria-busy');
      return;
    }
    const shown = columns.filter((c) => !c.when || c.when(state));
    fill(table, el('thead', {}, el('tr', {}, shown.map((c) => el('th', {}, t(c.label))))),
      el('tbody', {}, page.items.length
        ? page.items.map((row) => el('tr', { 'data-id': row.id, onclick: () => onOpen(row) }, shown.map((c) => el('td', {}, cell(c, row)))))
        : el('tr', {}, el('td', { colspan: shown.length, class: 'muted' }, t('ui.no_results')))));
    table.removeAttribute('aria-busy');
    const to = Math.min(state.offset + state.limit, page.total);
    fill(pager, el('span', { class: 'muted', 'data-total': page.total }, t('ui.page_range', { from: page.total ? state.offset + 1 : 0, to, total: page.total })),
      el('button', { class: 'outline', disabled: state.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - state.limit); load(); } }, t('ui.previous')),
      el('button', { class: 'outline', disabled: to >= page.total, onclick: () => { state.offset += state.limit; load(); } }, t('ui.next')));
  }
  await load();
  return { reload: load, state };
}

// --- #/qa: assigned calls ---------------------------------------------------------------------------
async function qaHome(main) {
  const listBox = el('section', { id: 'qa-assigned' });
  page(main, '#/qa', t('ui.qa.assigned_title'), listBox);
  const filters = [{ name: 'status', label: 'ui.qa.col.status', options: [['open', t('ui.qa.status.open')], ['done', t('ui.qa.status.done')]] }];
  // A QA manager also sees everyone's backlog.
  if (can('qa.manage')) filters.unshift({ name: 'mine', label: 'ui.qa.whose', options: [['true', t('ui.qa.whose_mine')], ['false', t('ui.qa.whose_all')]] });
  await pagedList(listBox, {
    endpoint: '/api/qa/assignments',
    params: { mine: 'true' },
    filters,
    columns: [
      { key: 'started_at', label: 'ui.qa.col.started_at' },
      { key: 'queue', label: 'ui.qa.col.queue' },
      { key: 'agent_name', label: 'ui.qa.col.agent', format: (v, row) => v || row.agent || '' },
      { key: 'duration_ms', label: 'ui.qa.col.duration', format: (v) => mmss(v) },
      { key: 'reason', label: 'ui.qa.col.reason', format: (v) => reasonLabel(v) },
      { key: 'scorecard_version', label: 'ui.qa.col.scorecard', format: (v) => t('ui.qa.version_n', { version: v }) },
      { key: 'inspector_name', label: 'ui.qa.col.inspector', when: (state) => state.mine === 'false' },
      { key: 'due_at', label: 'ui.qa.col.due_at' },
      { key: 'evaluation_id', label: 'ui.qa.col.progress', format: (v, row) => (row.calibration_id ? t('ui.qa.calibration_n', { id: row.calibration_id }) : v ? t('ui.qa.draft_saved') : '') },
    ],
    onOpen: (row) => (row.evaluation_id && row.status === 'done' ? go(`#/qa/evaluation/${row.evaluation_id}`) : go(`#/qa/evaluate/${row.id}`)),
  });
}

// Why a call was sampled: our words for the usual reasons and rule kinds, then qa-sampling's for its rule
// codes, else the rule's code itself.
function reasonLabel(code) {
  if (!code) return '';
  for (const key of [`ui.qa.why.${code}`, `ui.qa_sampling.reason.${code}`]) if (has(key)) return t(key);
  return code;
}

// --- #/qa/evaluate/<assignment>: the workbench ------------------------------------------------------
async function workbench(main, assignmentId) {
  // One's own assignment (a QA manager may open anyone's); 403/404 come back as the router's error page.
  const a = await api(`/api/qa/assignments/${assignmentId}`);
  const [recording, scorecard, draft] = await Promise.all([
    api(`/api/recordings/${a.recording_id}`).catch(() => null),
    api(`/api/qa/scorecards/${a.scorecard_id}${query({ version: a.scorecard_version })}`),
    a.evaluation_id ? api(`/api/qa/evaluations/${a.evaluation_id}`) : null,
  ]);
  if (draft && draft.status !== 'draft') { go(`#/qa/evaluation/${draft.id}`); return; }
  const w = { a, scorecard, evaluationId: draft?.id ?? null };
  const player = createPlayer(a.recording_id, recording?.duration_ms ?? a.duration_ms);
  const total = resultBox(null, scorecard.standard_score, { id: 'qa-live-total' });
  const note = el('small', { class: 'muted', id: 'qa-preview-note' });
  let preview = null;
  const form = scoreForm(scorecard.definition, draft?.answers, { onChange: () => { preview?.schedule(); w.dirty = true; } });
  preview = livePreview(scorecard, form, total, note);
  const comments = commentsPanel(player, draft?.comments, { editable: true, onChange: () => { w.dirty = true; } });
  const summary = el('textarea', { id: 'qa-summary', rows: 3, oninput: () => { w.dirty = true; }, maxlength: 4000, 'data-path': 'summary', placeholder: t('ui.qa.summary_placeholder'), 'aria-label': t('ui.qa.summary') });
  summary.value = draft?.summary || '';
  const errors = el('div', { id: 'qa-errors', role: 'alert', 'aria-live': 'polite' });
  const status = el('p', { id: 'qa-save-status', role: 'status', class: 'muted' });
  const root = el('div', { class: 'qa-page qa-workbench', id: 'qa-workbench', 'data-assignment': a.id },
    tabs(null),
    el('header', { class: 'qa-head' }, el('h2', {}, t('ui.qa.workbench')), callFacts(a, recording)),
    el('div', { class: 'qa-bench-grid' },
      el('div', { class: 'qa-bench-left' }, player.root, comments.root, recording?.analysis ? analysisFacts(recording.analysis) : null),
      el('div', { class: 'qa-bench-right' },
        el('h4', {}, scorecard.name, ' ', el('small', { class: 'muted' }, t('ui.qa.version_n', { version: scorecard.version }))),
        el('div', { class: 'qa-sticky' }, total, note),
        form.root,
        el('label', { for: 'qa-summary' }, t('ui.qa.summary'), summary),
        errors,
        el('div', { class: 'toolbar' },
          button(t('ui.qa.save_draft'), () => save(false), { id: 'qa-save-draft', class: 'secondary' }),
          button(t('ui.qa.submit'), () => save(true), { id: 'qa-submit' })),
        status)));
  fill(main, root);
  preview.run();

  async function save(submit) {
    const body = { assignment_id: a.id, answers: form.values(), comments: comments.values(), summary: summary.value.trim(), submit };
    const buttons = root.querySelectorAll('#qa-save-draft, #qa-submit');
    buttons.forEach((b) => b.setAttribute('aria-busy', 'true'));
    try {
      const saved = w.evaluationId
        ? await api(`/api/qa/evaluations/${w.evaluationId}`, { method: 'PUT', body })
        : await api('/api/qa/evaluations', { method: 'POST', body });
      w.evaluationId = saved.id;
      w.dirty = false;
      root.dataset.evaluation = saved.id;
      placeErrors(form.root, errors, null);
      if (saved.result) total.update(saved.result);
      if (submit) {
        toast(t('ui.qa.submitted'));
        go(`#/qa/evaluation/${saved.id}`);
      } else {
        status.textContent = t('ui.qa.draft_saved_at', { at: formatDateTime(new Date().toISOString()) });
      }
    } catch (error) {
      placeErrors(root, errors, error);
    } finally { buttons.forEach((b) => b.removeAttribute('aria-busy')); }
  }

  const keys = playerKeys(player, () => comments.focus());
  // Closing or reloading the tab with unsaved scores asks first (the browser's own prompt).
  const leave = (event) => { if (w.dirty) { event.preventDefault(); event.returnValue = ''; } };
  document.addEventListener('keydown', keys);
  window.addEventListener('beforeunload', leave);
  whileShown(root, () => {}, () => {
    document.removeEventListener('keydown', keys);
    window.removeEventListener('beforeunload', leave);
    player.audio.pause();
  });
}

function fact(label, value, key) {
  return el('div', {}, el('dt', {}, label), el('dd', key ? { 'data-fact': key } : {}, value ?? '—'));
}

function callFacts(a, recording) {
  return el('dl', { class: 'detail qa-facts' },
    fact(t('ui.qa.col.agent'), a.agent_name || a.agent, 'agent'),
    fact(t('ui.qa.col.queue'), a.queue, 'queue'),
    fact(t('ui.qa.col.started_at'), formatDateTime(a.started_at || recording?.started_at), 'started_at'),
    fact(t('ui.qa.col.duration'), mmss(a.duration_ms ?? recording?.duration_ms), 'duration'),
    fact(t('ui.qa.col.linkedid'), a.linkedid || recording?.linkedid, 'linkedid'),
    a.reason ? fact(t('ui.qa.col.reason'), reasonLabel(a.reason), 'reason') : null);
}

function analysisFacts(x) {
  const s = (ms) => (ms === null || ms === undefined ? t('ui.qa.not_measurable') : `${(ms / 1000).toFixed(1)} s`);
  return el('details', { class: 'qa-analysis', open: true }, el('summary', {}, t('ui.qa.analysis')),
    el('dl', { class: 'detail' },
      fact(t('ui.qa.an.agent_talk'), s(x.agent_talk_ms)),
      fact(t('ui.qa.an.caller_talk'), s(x.caller_talk_ms)),
      fact(t('ui.qa.an.silence_share'), x.silence_share === null || x.silence_share === undefined ? '—' : `${Math.round(x.silence_share * 100)}%`),
      fact(t('ui.qa.an.longest_silence'), s(x.longest_silence_ms)),
      fact(t('ui.qa.an.overtalk'), s(x.overtalk_ms)),
      fact(t('ui.qa.an.agent_talk_ratio'), x.agent_talk_ratio === null || x.agent_talk_ratio === undefined ? t('ui.qa.not_measurable') : `${Math.round(x.agent_talk_ratio * 100)}%`),
      fact(t('ui.qa.an.dead_air'), s(x.dead_air_after_answer_ms))));
}

// --- a submitted evaluation, read-only --------------------------------------------------------------
function answerText(item, answer) {
  if (!answer) return '—';
  if (answer.value === null || answer.value === undefined) return t('ui.qa.not_applicable');
  if (item.kind === 'scale') return `${answer.value} / ${item.scale_max}`;
  return Number(answer.value) ? t('ui.yes') : t('ui.no');
}

function evaluationSections(ev) {
  const definition = ev.scorecard?.definition || { sections: [] };
  const bySection = Object.fromEntries((ev.result?.sections || []).map((s) => [s.key, s]));
  return el('div', { class: 'qa-eval-sections', id: 'qa-eval-sections' }, definition.sections.map((section) => el('fieldset', { class: 'qa-section', 'data-section': section.key },
    el('legend', {}, section.title, ' ', el('span', { class: 'qa-section-pct', 'data-section-pct': section.key },
      bySection[section.key] ? (bySection[section.key].pct === null ? t('ui.qa.not_applicable') : pct(bySection[section.key].pct)) : '')),
    el('table', { class: 'striped qa-answers' }, el('tbody', {}, section.items.map((item) => {
      const answer = ev.answers?.[item.key];
      const deducted = answer && answer.value !== null && answer.value !== undefined && Number(answer.value) < itemMax(item);
      return el('tr', { 'data-item': item.key, class: deducted ? 'deducted' : null },
        el('td', {}, item.title, ' ', criticalBadge(item.critical)),
        el('td', { 'data-answer': item.key }, answerText(item, answer)),
        el('td', { class: 'qa-evidence-text', 'data-evidence': item.key }, answer?.evidence || ''));
    }))))));
}

function evaluationFacts(ev) {
  return el('dl', { class: 'detail qa-facts' },
    fact(t('ui.qa.col.agent'), ev.agent_name || ev.agent, 'agent'),
    fact(t('ui.qa.col.queue'), ev.queue, 'queue'),
    fact(t('ui.qa.col.linkedid'), ev.linkedid, 'linkedid'),
    fact(t('ui.qa.col.inspector'), ev.inspector_name, 'inspector'),
    fact(t('ui.qa.col.scorecard'), `${ev.scorecard?.name || ''} · ${t('ui.qa.version_n', { version: ev.scorecard?.version })}`, 'scorecard'),
    fact(t('ui.qa.col.submitted_at'), formatDateTime(ev.submitted_at), 'submitted_at'),
    fact(t('ui.qa.col.status'), statusBadge(ev.status), 'status'),
    ev.acknowledged_at ? fact(t('ui.qa.col.acknowledged_at'), formatDateTime(ev.acknowledged_at), 'acknowledged_at') : null,
    ev.dispute_reason ? fact(t('ui.qa.dispute_reason'), ev.dispute_reason, 'dispute_reason') : null,
    ev.disputed_at ? fact(t('ui.qa.col.disputed_at'), formatDateTime(ev.disputed_at), 'disputed_at') : null,
    ev.resolution ? fact(t('ui.qa.resolution'), t(`ui.qa.outcome.${ev.resolution}`), 'resolution') : null,
    ev.resolution_note ? fact(t('ui.qa.resolution_note'), ev.resolution_note, 'resolution_note') : null,
    ev.resolved_by_name ? fact(t('ui.qa.col.resolved_by'), `${ev.resolved_by_name} ${formatDateTime(ev.resolved_at)}`, 'resolved_by') : null);
}

// A rescore keeps what was there before: the earlier results, newest first.
function historyBox(ev) {
  if (!ev.history?.length) return null;
  return el('details', { class: 'qa-history', id: 'qa-history' }, el('summary', {}, t('ui.qa.history', { n: ev.history.length })),
    el('ul', {}, [...ev.history].reverse().map((h) => el('li', { 'data-history-at': h.at },
      t('ui.qa.history_entry', { at: formatDateTime(h.at), by: h.by_name || '—', total: pct(h.result?.total_pct), grade: h.result?.grade ?? '—' })))));
}

// The evaluation with its player; `actions` (a node) goes under the result.
function evaluationView(ev, actions) {
  const player = ev.recording_id ? createPlayer(ev.recording_id, null, { commentKey: false }) : null;
  const comments = commentsPanel(player, ev.comments, { editable: false });
  const root = el('div', { class: 'qa-evaluation', id: 'qa-evaluation', 'data-evaluation': ev.id, 'data-status': ev.status },
    el('div', { class: 'qa-bench-grid' },
      el('div', { class: 'qa-bench-left' }, player?.root, comments.root,
        ev.summary ? el('section', {}, el('h4', {}, t('ui.qa.summary')), el('p', { id: 'qa-summary-text' }, ev.summary)) : null),
      el('div', { class: 'qa-bench-right' },
        resultBox(ev.result, ev.scorecard?.standard_score, { id: 'qa-result' }),
        evaluationFacts(ev), historyBox(ev), actions, evaluationSections(ev))));
  if (player) {
    const keys = playerKeys(player, null);
    document.addEventListener('keydown', keys);
    whileShown(root, () => {}, () => { document.removeEventListener('keydown', keys); player.audio.pause(); });
  }
  return { root, player };
}

async function evaluationPage(main, id) {
  const ev = await api(`/api/qa/evaluations/${id}`);
  const back = el('p', { class: 'toolbar' }, el('a', { href: can('qa.manage') && ['disputed'].includes(ev.status) ? `#/qa/disputes/${ev.id}` : '#/qa' }, `← ${t('ui.qa.back')}`),
    ev.calibration_id ? el('a', { href: `#/qa/calibrations/${ev.calibration_id}`, id: 'qa-to-calibration' }, t('ui.qa.calibration_n', { id: ev.calibration_id })) : null);
  page(main, null, t('ui.qa.evaluation_n', { id: ev.id }), back, evaluationView(ev, null).root);
}

// --- #/qa/mine: the agent's evaluations --------------------------------------------------------------
async function minePage(main) {
  const listBox = el('section', { id: 'qa-mine' });
  fill(main, el('div', { class: 'qa-page' }, el('h2', {}, t('menu.qa_mine')), listBox));
  await pagedList(listBox, {
    endpoint: '/api/qa/evaluations/mine',
    columns: [
      { key: 'submitted_at', label: 'ui.qa.col.submitted_at' },
      { key: 'queue', label: 'ui.qa.col.queue' },
      { key: 'scorecard.name', label: 'ui.qa.col.scorecard' },
      { key: 'result.total_pct', label: 'ui.qa.total', format: (v) => pct(v) },
      { key: 'result.score', label: 'ui.qa.score' },
      { key: 'result.grade', label: 'ui.qa.grade', format: (v, row) => el('span', {}, v ?? '', row.result?.failed ? el('span', { class: 'badge danger' }, ` ${t('ui.qa.failed')}`) : null) },
      { key: 'inspector_name', label: 'ui.qa.col.inspector' },
      { key: 'status', label: 'ui.qa.col.status', format: (v) => statusBadge(v) },
    ],
    onOpen: (row) => go(`#/qa/mine/${row.id}`),
  });
}

async function mineDetail(main, id) {
  const ev = await api(`/api/qa/evaluations/${id}`);
  const actions = el('div', { class: 'qa-actions', id: 'qa-mine-actions' });
  if (['submitted', 'acknowledged'].includes(ev.status)) {
    const reason = el('textarea', { id: 'qa-dispute-reason', rows: 3, maxlength: 2000, 'data-path': 'reason', placeholder: t('ui.qa.dispute_placeholder') });
    const errors = el('div', { role: 'alert' });
    const form = el('details', { class: 'qa-dispute', id: 'qa-dispute-box' }, el('summary', { role: 'button', class: 'outline', id: 'qa-dispute-open' }, t('ui.qa.dispute')),
      el('label', { for: 'qa-dispute-reason' }, t('ui.qa.dispute_reason'), reason), errors,
      button(t('ui.qa.dispute_send'), async () => {
        try {
          await api(`/api/qa/evaluations/${ev.id}/dispute`, { method: 'POST', body: { reason: reason.value.trim() } });
          toast(t('ui.qa.disputed'));
          go(`#/qa/mine/${ev.id}`);
        } catch (error) { placeErrors(form, errors, error); }
      }, { id: 'qa-dispute-send' }));
    actions.append(el('div', { class: 'toolbar' },
      ev.status === 'submitted' ? button(t('ui.qa.acknowledge'), async () => {
        if (await act(() => api(`/api/qa/evaluations/${ev.id}/acknowledge`, { method: 'POST' }), t('ui.qa.acknowledged'))) go(`#/qa/mine/${ev.id}`);
      }, { id: 'qa-acknowledge' }) : null), form);
  }
  const back = el('p', {}, el('a', { href: '#/qa/mine' }, `← ${t('menu.qa_mine')}`));
  fill(main, el('div', { class: 'qa-page' }, back, el('h2', {}, t('ui.qa.evaluation_n', { id: ev.id })), evaluationView(ev, actions).root));
}

// --- #/qa/disputes: the QA lead's inbox -------------------------------------------------------------
async function disputesPage(main) {
  const listBox = el('section', { id: 'qa-disputes' });
  page(main, '#/qa/disputes', t('ui.qa.disputes_title'), listBox);
  await pagedList(listBox, {
    endpoint: '/api/qa/disputes',
    filters: [{ name: 'status', label: 'ui.qa.col.status', options: ['open', 'resolved', 'all'].map((v) => [v, t(`ui.qa.dispute_filter.${v}`)]) }],
    columns: [
      { key: 'disputed_at', label: 'ui.qa.col.disputed_at' },
      { key: 'agent_name', label: 'ui.qa.col.agent' },
      { key: 'queue', label: 'ui.qa.col.queue' },
      { key: 'inspector_name', label: 'ui.qa.col.inspector' },
      { key: 'result.total_pct', label: 'ui.qa.total', format: (v) => pct(v) },
      { key: 'dispute_reason', label: 'ui.qa.dispute_reason' },
      { key: 'status', label: 'ui.qa.col.status', format: (v) => statusBadge(v) },
    ],
    onOpen: (row) => go(`#/qa/disputes/${row.id}`),
  });
}

async function disputeDetail(main, id) {
  const ev = await api(`/api/qa/evaluations/${id}`);
  const actions = el('div', { class: 'qa-actions', id: 'qa-resolve-box' });
  if (ev.status === 'disputed') {
    const errors = el('div', { role: 'alert', id: 'qa-resolve-errors' });
    const note = el('textarea', { id: 'qa-resolve-note', rows: 2, maxlength: 2000, 'data-path': 'note', placeholder: t('ui.qa.resolution_note') });
    const rescoreBox = el('div', { class: 'qa-rescore', id: 'qa-rescore', hidden: true });
    const total = resultBox(ev.result, ev.scorecard.standard_score, { id: 'qa-rescore-total' });
    const previewNote = el('small', { class: 'muted' });
    let preview = null;
    const form = scoreForm(ev.scorecard.definition, ev.answers, { onChange: () => preview?.schedule() });
    preview = livePreview(ev.scorecard, form, total, previewNote);
    rescoreBox.append(el('h4', {}, t('ui.qa.rescore_title')), total, previewNote, form.root);
    const outcome = (value) => el('label', { 'data-outcome': value }, el('input', { type: 'radio', name: 'outcome', value, checked: value === 'upheld',
      onchange: () => { rescoreBox.hidden = value !== 'rescored'; if (value === 'rescored') preview.run(); } }), ` ${t(`ui.qa.outcome.${value}`)}`);
    actions.append(el('h4', {}, t('ui.qa.resolve')),
      el('div', { class: 'toolbar', role: 'radiogroup', 'data-path': 'outcome' }, outcome('upheld'), outcome('rescored')),
      el('label', { for: 'qa-resolve-note' }, t('ui.qa.resolution_note'), note), rescoreBox, errors,
      button(t('ui.qa.resolve_send'), async () => {
        const chosen = actions.querySelector('input[name=outcome]:checked').value;
        const body = { outcome: chosen, note: note.value.trim() };
        if (chosen === 'rescored') body.answers = form.values();
        try {
          await api(`/api/qa/evaluations/${ev.id}/resolve`, { method: 'POST', body });
          toast(t('ui.qa.resolved'));
          go('#/qa/disputes');
        } catch (error) { placeErrors(actions, errors, error); }
      }, { id: 'qa-resolve-send' }));
  }
  const back = el('p', {}, el('a', { href: '#/qa/disputes' }, `← ${t('ui.qa.disputes_title')}`));
  page(main, '#/qa/disputes', t('ui.qa.evaluation_n', { id: ev.id }), back, evaluationView(ev, actions).root);
}

// --- #/qa/scorecards: the list and the designer --------------------------------------------------------
async function scorecardsPage(main) {
  const list = await api('/api/qa/scorecards');
  const table = el('table', { class: 'striped list', id: 'qa-scorecards' },
    el('thead', {}, el('tr', {}, ['ui.qa.sc.name', 'ui.qa.sc.description', 'ui.qa.sc.version', 'ui.qa.sc.standard_score'].map((k) => el('th', {}, t(k))))),
    el('tbody', {}, list.length ? list.map((sc) => el('tr', { 'data-id': sc.id, onclick: () => go(`#/qa/scorecards/${sc.id}`) },
      el('td', {}, sc.name), el('td', {}, sc.description || ''), el('td', {}, t('ui.qa.version_n', { version: sc.version })), el('td', {}, sc.standard_score ?? '')))
      : el('tr', {}, el('td', { colspan: 4, class: 'muted' }, t('ui.no_results')))));
  page(main, '#/qa/scorecards', t('ui.qa.tab.scorecards'),
    el('div', { class: 'toolbar' }, el('a', { role: 'button', href: '#/qa/scorecards/new', id: 'qa-scorecard-new' }, `+ ${t('ui.qa.sc.new')}`)),
    el('div', { class: 'overflow-auto' }, table), await assignForm(list));
}

const blankItem = (n) => ({ key: `i${n}`, title: '', weight: 1, kind: 'yes_no', allow_na: false, critical: 'none', guidance: '' });
const blankSection = (n) => ({ key: `s${n}`, title: '', weight: 1, critical: false, items: [blankItem(`${n}_1`)] });
const blankDefinition = () => ({
  sections: [blankSection(1)],
  grade_bands: [{ grade: '优秀', min_pct: 90 }, { grade: '良好', min_pct: 80 }, { grade: '合格', min_pct: 60 }, { grade: '不合格', min_pct: 0 }],
  standard_score: 100,
});

async function scorecardDesigner(main, id, version) {
  const isNew = id === 'new';
  const shown = isNew ? null : await api(`/api/qa/scorecards/${id}${query({ version })}`);
  const s = {
    name: shown?.name || '', description: shown?.description || '',
    def: structuredClone(shown?.definition || blankDefinition()),
  };
  if (s.def.standard_score === undefined) s.def.standard_score = shown?.standard_score ?? 100;
  s.def.grade_bands = s.def.grade_bands || [];
  const latest = shown ? Math.max(...(shown.versions || [shown.version])) : null;
  const oldVersion = shown && shown.version !== latest;
  const body = el('div', { id: 'qa-designer-body' });
  const errors = el('div', { id: 'qa-designer-errors', role: 'alert' });
  const status = el('p', { role: 'status', id: 'qa-designer-status', class: 'muted' });
  const root = page(main, '#/qa/scorecards', isNew ? t('ui.qa.sc.new') : `${shown.name} · ${t('ui.qa.version_n', { version: shown.version })}`,
    shown ? el('p', { class: 'toolbar' }, t('ui.qa.sc.versions'), ' ', (shown.versions || []).map((v) => el('a', { href: '#', 'data-version': v, class: v === shown.version ? 'active' : null,
      onclick: (e) => { e.preventDefault(); scorecardDesigner(main, id, v); } }, t('ui.qa.version_n', { version: v }), ' '))) : null,
    oldVersion ? el('p', { class: 'muted' }, t('ui.qa.sc.old_version_note')) : null,
    el('p', { class: 'muted' }, t('ui.qa.sc.versioning_note')),
    body, errors,
    el('div', { class: 'toolbar' }, button(isNew ? t('ui.qa.sc.create') : t('ui.qa.sc.save_version'), () => save(), { id: 'qa-designer-save' })),
    status);
  root.classList.add('qa-designer');
  root.id = 'qa-designer';

  const input = (path, value, set, { weighted = false, ...attrs } = {}) => {
    const node = el('input', { 'data-path': path, name: path, value: value ?? '', ...attrs });
    node.addEventListener('input', () => {
      if (attrs.type === 'number') set(node.value === '' ? null : Number(node.value));
      else set(node.value);
      if (weighted) drawWeights();
    });
    return node;
  };
  const check = (path, value, set, label) => el('label', { class: 'qa-check' },
    el('input', { type: 'checkbox', 'data-path': path, name: path, checked: Boolean(value), onchange: (e) => set(e.target.checked) }), ` ${label}`);
  const select = (path, value, options, set, labelOf) => {
    const node = el('select', { 'data-path': path, name: path }, options.map((o) => el('option', { value: o, selected: o === value }, labelOf(o))));
    node.addEventListener('change', () => set(node.value));
    return node;
  };
  const field = (label, control) => el('label', {}, label, control);
  const move = (list, index, by) => { const [x] = list.splice(index, 1); list.splice(Math.max(0, Math.min(list.length, index + by)), 0, x); draw(); };
  const weightTotals = [];
  function drawWeights() {
    for (const [node, list] of weightTotals) {
      const sum = list.reduce((acc, x) => acc + (Number(x.weight) || 0), 0);
      node.textContent = t('ui.qa.sc.weight_sum', { sum: Number(sum.toFixed(2)) });
    }
  }

  function draw() {
    weightTotals.length = 0;
    const d = s.def;
    const sectionsSum = el('small', { class: 'muted' });
    weightTotals.push([sectionsSum, d.sections]);
    fill(body,
      el('div', { class: 'qa-grid' },
        field(t('ui.qa.sc.name'), input('name', s.name, (v) => { s.name = v; }, { maxlength: 200, id: 'qa-sc-name' })),
        field(t('ui.qa.sc.description'), input('description', s.description, (v) => { s.description = v; }, { maxlength: 2000 })),
        field(t('ui.qa.sc.standard_score'), input('definition.standard_score', d.standard_score, (v) => { d.standard_score = v; }, { type: 'number', min: 1, step: 1, id: 'qa-sc-standard' }))),
      el('fieldset', { class: 'qa-bands', 'data-path': 'definition.grade_bands' }, el('legend', {}, t('ui.qa.sc.grade_bands')),
        d.grade_bands.map((band, bi) => el('div', { class: 'qa-row', 'data-band': bi },
          field(t('ui.qa.grade'), input(`definition.grade_bands.${bi}.grade`, band.grade, (v) => { band.grade = v; }, { maxlength: 20 })),
          field(t('ui.qa.sc.min_pct'), input(`definition.grade_bands.${bi}.min_pct`, band.min_pct, (v) => { band.min_pct = v; }, { type: 'number', min: 0, max: 100, step: 'any' })),
          button('×', () => { d.grade_bands.splice(bi, 1); draw(); }, { class: 'small secondary outline', 'aria-label': t('ui.remove') }))),
        button(`+ ${t('ui.qa.sc.add_band')}`, () => { d.grade_bands.push({ grade: '', min_pct: 0 }); draw(); }, { class: 'small outline', id: 'qa-add-band' })),
      el('h4', {}, t('ui.qa.sc.sections'), ' ', sectionsSum),
      d.sections.map((section, si) => {
        const itemsSum = el('small', { class: 'muted' });
        weightTotals.push([itemsSum, section.items]);
        const sp = `definition.sections.${si}`;
        return el('fieldset', { class: 'qa-design-section', 'data-section': si, 'data-path': sp },
          el('legend', {}, t('ui.qa.sc.section_n', { n: si + 1 })),
          el('div', { class: 'qa-row' },
            field(t('ui.qa.sc.key'), input(`${sp}.key`, section.key, (v) => { section.key = v; }, { maxlength: 40, class: 'qa-key-input' })),
            field(t('ui.qa.sc.title'), input(`${sp}.title`, section.title, (v) => { section.title = v; }, { maxlength: 200 })),
            field(t('ui.qa.sc.weight'), input(`${sp}.weight`, section.weight, (v) => { section.weight = v; }, { type: 'number', min: 0, step: 'any', weighted: true })),
            check(`${sp}.critical`, section.critical, (v) => { section.critical = v; }, t('ui.qa.critical_section')),
            el('span', { class: 'qa-row-tools' },
              button('↑', () => move(d.sections, si, -1), { class: 'small outline', disabled: si === 0, 'aria-label': t('ui.qa.sc.up') }),
              button('↓', () => move(d.sections, si, 1), { class: 'small outline', disabled: si === d.sections.length - 1, 'aria-label': t('ui.qa.sc.down') }),
              button('×', () => { d.sections.splice(si, 1); draw(); }, { class: 'small secondary outline', 'aria-label': t('ui.remove') }))),
          el('div', { class: 'muted' }, t('ui.qa.sc.items'), ' ', itemsSum),
          section.items.map((item, ii) => {
            const ip = `${sp}.items.${ii}`;
            return el('div', { class: 'qa-design-item', 'data-item': ii, 'data-path': ip },
              el('div', { class: 'qa-row' },
                field(t('ui.qa.sc.key'), input(`${ip}.key`, item.key, (v) => { item.key = v; }, { maxlength: 40, class: 'qa-key-input' })),
                field(t('ui.qa.sc.title'), input(`${ip}.title`, item.title, (v) => { item.title = v; }, { maxlength: 200 })),
                field(t('ui.qa.sc.weight'), input(`${ip}.weight`, item.weight, (v) => { item.weight = v; }, { type: 'number', min: 0, step: 'any', weighted: true })),
                field(t('ui.qa.sc.kind'), select(`${ip}.kind`, item.kind, ITEM_KINDS, (v) => {
                  item.kind = v;
                  if (v === 'scale' && !item.scale_max) item.scale_max = 5;
                  if (v !== 'scale') delete item.scale_max;
                  draw();
                }, (o) => t(`ui.qa.kind.${o}`))),
                item.kind === 'scale' ? field(t('ui.qa.sc.scale_max'), input(`${ip}.scale_max`, item.scale_max, (v) => { item.scale_max = v; }, { type: 'number', min: 1, max: 100, step: 1 })) : null,
                field(t('ui.qa.sc.critical'), select(`${ip}.critical`, item.critical || 'none', CRITICAL, (v) => { item.critical = v; }, (o) => t(`ui.qa.critical_opt.${o}`))),
                check(`${ip}.allow_na`, item.allow_na, (v) => { item.allow_na = v; }, t('ui.qa.sc.allow_na')),
                el('span', { class: 'qa-row-tools' },
                  button('↑', () => move(section.items, ii, -1), { class: 'small outline', disabled: ii === 0, 'aria-label': t('ui.qa.sc.up') }),
                  button('↓', () => move(section.items, ii, 1), { class: 'small outline', disabled: ii === section.items.length - 1, 'aria-label': t('ui.qa.sc.down') }),
                  button('×', () => { section.items.splice(ii, 1); draw(); }, { class: 'small secondary outline', 'aria-label': t('ui.remove') }))),
              field(t('ui.qa.sc.guidance'), input(`${ip}.guidance`, item.guidance, (v) => { item.guidance = v; }, { maxlength: 1000 })));
          }),
          button(`+ ${t('ui.qa.sc.add_item')}`, () => { section.items.push(blankItem(`${si + 1}_${section.items.length + 1}`)); draw(); }, { class: 'small outline', 'data-add-item': si }));
      }),
      button(`+ ${t('ui.qa.sc.add_section')}`, () => { d.sections.push(blankSection(d.sections.length + 1)); draw(); }, { class: 'outline', id: 'qa-add-section' }));
    drawWeights();
  }

  async function save() {
    const payload = { name: s.name.trim(), description: s.description.trim(), definition: s.def };
    try {
      const saved = isNew
        ? await api('/api/qa/scorecards', { method: 'POST', body: payload })
        : await api(`/api/qa/scorecards/${id}`, { method: 'PUT', body: payload });
      toast(t('ui.qa.sc.saved', { version: saved.version }));
      if (isNew) go(`#/qa/scorecards/${saved.id}`); else scorecardDesigner(main, saved.id, saved.version);
    } catch (error) { placeErrors(body, errors, error); }
  }
  draw();
}

// A manual assignment: a recording to an inspector on a scorecard.
async function assignForm(scorecards) {
  const inspectors = await inspectorChoices();
  const errors = el('div', { role: 'alert' });
  const form = el('form', { class: 'toolbar', id: 'qa-assign-form', novalidate: true },
    el('input', { type: 'number', name: 'recording_id', 'data-path': 'recording_id', min: 1, placeholder: t('ui.qa.recording_id'), 'aria-label': t('ui.qa.recording_id') }),
    el('select', { name: 'scorecard_id', 'data-path': 'scorecard_id', 'aria-label': t('ui.qa.col.scorecard') }, scorecards.map((sc) => el('option', { value: sc.id }, sc.name))),
    inspectors.single('inspector_id'),
    el('button', { type: 'submit' }, t('ui.qa.assign')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { recording_id: num(data.get('recording_id')), scorecard_id: num(data.get('scorecard_id')) };
    // nobody chosen: left out, so the server's answer is "required" beside the select
    if (data.get('inspector_id')) body.inspector_id = num(data.get('inspector_id'));
    try {
      await api('/api/qa/assignments', { method: 'POST', body });
      placeErrors(form, errors, null);
      toast(t('ui.qa.assigned'));
      form.reset();
    } catch (error) { placeErrors(form, errors, error); }
  });
  return el('section', {}, el('h4', {}, t('ui.qa.manual_assign')), form, errors);
}

// Inspectors to choose from: GET /api/qa/inspectors (QA_MANAGE) — whoever the role matrix lets score calls,
// by name, with their 工号, role and open assignments (the backlog, to balance the work). Someone a rule
// still names but who can no longer score (deactivated, another role) stays in the list, marked, so saving
// shows the server's refusal instead of dropping them silently; `known` ([{id, name}]) names them.
async function inspectorChoices(known = []) {
  const people = await api('/api/qa/inspectors');
  const byId = new Map(people.map((u) => [u.id, u]));
  const names = new Map(known.map((k) => [k.id, k.name]));
  const text = (u) => (u.gone
    ? t('ui.qa.inspector_gone', { name: u.name })
    : t('ui.qa.inspector_option', { name: u.name, number: u.agent_number || u.username, role: enumLabel('Role', u.role), open: u.open_assignments }));
  const nameOf = (id) => byId.get(id)?.name || names.get(id) || `#${id}`;
  // A single choice: a select that starts on "choose" (no silent default inspector).
  const single = (name) => el('select', { name, 'data-path': name, 'aria-label': t('ui.qa.col.inspector'), 'data-inspector-select': name },
    el('option', { value: '' }, people.length ? t('ui.qa.choose_inspector') : t('ui.qa.no_inspectors')),
    people.map((u) => el('option', { value: u.id }, text(u))));
  // Several: a disclosure with one checkbox per inspector; its summary names who is chosen. It fires the
  // checkboxes' change events (they bubble), and read() gives the chosen ids in the list's order.
  const multi = (name, chosen) => {
    const picked = new Set((chosen || []).map(Number));
    const gone = [...picked].filter((id) => !byId.has(id)).map((id) => ({ id, name: nameOf(id), gone: true }));
    const summary = el('summary', { role: 'button', class: 'secondary outline qa-multi-summary', style: 'display:block;width:100%;text-align:start' });
    const boxes = [...people, ...gone].map((u) => el('li', {}, el('label', { 'data-inspector': u.id, class: u.gone ? 'muted' : null },
      // the size is set here: the rules table's input rule (qa.css) would stretch a checkbox into a bar
      el('input', { type: 'checkbox', value: u.id, checked: picked.has(u.id), name: `${name}[]`, style: 'width:1.25em;height:1.25em;padding:0' }), ` ${text(u)}`)));
    const node = el('details', { class: 'qa-multi', 'data-path': name, 'data-inspector-multi': name },
      summary, el('ul', { style: 'list-style:none;padding-left:0;max-height:16rem;overflow:auto;margin:.25rem 0' },
        boxes.length ? boxes : el('li', { class: 'muted' }, t('ui.qa.no_inspectors'))));
    const draw = () => {
      const ids = read(node);
      summary.textContent = ids.length ? t('ui.qa.inspectors_chosen', { n: ids.length, names: ids.map(nameOf).join('、') }) : t('ui.qa.choose_inspectors');
      node.dataset.chosen = ids.join(',');
    };
    node.addEventListener('change', draw);
    draw();
    return node;
  };
  const read = (node) => (node.tagName === 'SELECT'
    ? [...node.selectedOptions].map((o) => num(o.value)).filter((v) => v !== null)
    : [...node.querySelectorAll('input[type=checkbox]:checked')].map((box) => Number(box.value)));
  return { people, single, multi, read };
}

// --- #/qa/sampling: rules and runs --------------------------------------------------------------------
async function samplingPage(main) {
  const [rules, scorecards] = await Promise.all([api('/api/qa/sampling-rules'), api('/api/qa/scorecards')]);
  const inspectors = await inspectorChoices(rules.flatMap((r) => r.inspectors || []));
  const s = { rules: (rules.items || rules).map((r) => ({ ...r, params: { ...(r.params || {}) } })) };
  const box = el('div', { id: 'qa-rules' });
  const errors = el('div', { role: 'alert', id: 'qa-rules-errors' });
  const status = el('p', { role: 'status', id: 'qa-rules-status', class: 'muted' });
  const draw = () => {
    fill(box, el('div', { class: 'overflow-auto' }, el('table', { class: 'striped qa-rules-table' },
      el('thead', {}, el('tr', {}, ['code', 'kind', 'param', 'scorecard', 'inspectors', 'active', ''].map((k) => el('th', {}, k ? t(`ui.qa.rule.${k}`) : '')))),
      el('tbody', {}, s.rules.map((rule, ri) => {
        const [param, factor] = RULE_KINDS[rule.kind] || ['', 1];
        const shownValue = rule.params[param] === undefined ? '' : rule.params[param] / factor;
        const inspectorNode = inspectors.multi(`${ri}.inspector_ids`, rule.inspector_ids);
        inspectorNode.addEventListener('change', () => { rule.inspector_ids = inspectors.read(inspectorNode); });
        return el('tr', { 'data-rule': rule.code || ri },
          el('td', {}, el('input', { 'data-path': `${ri}.code`, value: rule.code || '', maxlength: 40, oninput: (e) => { rule.code = e.target.value.trim(); } })),
          el('td', {}, el('select', { 'data-path': `${ri}.kind`, onchange: (e) => { rule.kind = e.target.value; rule.params = { ...RULE_DEFAULTS[rule.kind] }; draw(); } },
            Object.keys(RULE_KINDS).map((k) => el('option', { value: k, selected: k === rule.kind }, t(`ui.qa.rule_kind.${k}`))))),
          el('td', {}, param ? el('label', { class: 'qa-param' }, t(`ui.qa.param.${param}`),
            el('input', { type: 'number', min: 0, step: 'any', 'data-path': `${ri}.params.${param}`, value: shownValue,
              oninput: (e) => { rule.params = { [param]: e.target.value === '' ? null : Math.round(Number(e.target.value) * factor) }; } })) : '—'),
          el('td', {}, el('select', { 'data-path': `${ri}.scorecard_id`, onchange: (e) => { rule.scorecard_id = num(e.target.value); } },
            el('option', { value: '' }, '—'), scorecards.map((sc) => el('option', { value: sc.id, selected: sc.id === rule.scorecard_id }, sc.name)))),
          el('td', {}, inspectorNode),
          el('td', {}, el('input', { type: 'checkbox', role: 'switch', 'data-path': `${ri}.active`, checked: rule.active !== false, onchange: (e) => { rule.active = e.target.checked; } })),
          el('td', {}, button('×', () => { s.rules.splice(ri, 1); draw(); }, { class: 'small secondary outline', 'aria-label': t('ui.remove') })));
      })))));
  };
  const save = async () => {
    const body = s.rules.map(({ id, code, kind, params, active, inspector_ids: ids, scorecard_id: sc }) => ({ id, code, kind, params, active: active !== false, inspector_ids: ids || [], scorecard_id: sc ?? null }));
    status.textContent = '';
    try {
      const saved = await api('/api/qa/sampling-rules', { method: 'PUT', body });
      s.rules = (saved.items || saved).map((r) => ({ ...r, params: { ...(r.params || {}) } }));
      placeErrors(box, errors, null);
      draw();
      status.textContent = t('ui.qa.rules_saved_at', { at: formatDateTime(new Date().toISOString()) });
    } catch (error) { placeErrors(box, errors, error); }
  };
  const runResult = el('div', { id: 'qa-run-result', role: 'status' });
  const today = centerDay(0);
  const weekAgo = centerDay(-7);
  const runForm = el('form', { class: 'toolbar', id: 'qa-run-form', novalidate: true },
    el('label', {}, t('ui.qa.period_start'), el('input', { type: 'date', name: 'period_start', 'data-path': 'period_start', value: weekAgo })),
    el('label', {}, t('ui.qa.period_end'), el('input', { type: 'date', name: 'period_end', 'data-path': 'period_end', value: today })),
    el('button', { type: 'submit' }, t('ui.qa.run_sampling')));
  runForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(runForm));
    try {
      const answer = await api('/api/qa/sampling/run', { method: 'POST', body: data });
      placeErrors(runForm, runResult, null);
      fill(runResult, el('p', { 'data-created': answer.created }, t('ui.qa.run_created', { n: answer.created })),
        el('ul', {}, Object.entries(answer.by_rule || {}).map(([code, n]) => el('li', { 'data-by-rule': code }, `${code}: ${n}`))),
        answer.skipped?.length ? el('p', { class: 'muted', 'data-skipped': answer.skipped.join(',') }, t('ui.qa.run_skipped', { codes: answer.skipped.join(', ') })) : null);
    } catch (error) { placeErrors(runForm, runResult, error); }
  });
  page(main, '#/qa/sampling', t('ui.qa.tab.sampling'), box, errors,
    el('div', { class: 'toolbar' },
      button(`+ ${t('ui.qa.rule.add')}`, () => { s.rules.push({ code: '', kind: 'random_per_agent', params: { ...RULE_DEFAULTS.random_per_agent }, active: true, inspector_ids: [], scorecard_id: scorecards[0]?.id ?? null }); draw(); }, { class: 'outline', id: 'qa-rule-add' }),
      button(t('ui.save'), save, { id: 'qa-rules-save' })), status,
    el('h4', {}, t('ui.qa.run_sampling')), runForm, runResult);
  draw();
}

// --- #/qa/calibrations ------------------------------------------------------------------------------
// The calibrations: a QA manager sees all of them and starts new ones; an inspector sees those they take
// part in and opens their own scoring from here (the spread only after submitting it: they score blind).
async function calibrationsPage(main) {
  const manager = can('qa.manage');
  const listBox = el('section', { id: 'qa-calibrations' });
  const parts = [el('p', { class: 'muted' }, t('ui.qa.calibration_hint')), el('h4', {}, t('ui.qa.calibration_list')), listBox];
  if (manager) {
    const [scorecards, inspectors] = await Promise.all([api('/api/qa/scorecards'), inspectorChoices()]);
    const errors = el('div', { role: 'alert' });
    const chooser = inspectors.multi('inspector_ids', []);
    const form = el('form', { class: 'qa-grid', id: 'qa-calibration-form', novalidate: true },
      el('label', {}, t('ui.qa.recording_id'), el('input', { type: 'number', min: 1, name: 'recording_id', 'data-path': 'recording_id' })),
      el('label', {}, t('ui.qa.col.scorecard'), el('select', { name: 'scorecard_id', 'data-path': 'scorecard_id' }, scorecards.map((sc) => el('option', { value: sc.id }, sc.name)))),
      // not a <label>: the chooser holds labelled checkboxes of its own
      el('div', { role: 'group', 'aria-label': t('ui.qa.inspectors') }, el('div', { style: 'margin-bottom:.4rem' }, t('ui.qa.inspectors')), chooser),
      el('div', {}, el('button', { type: 'submit' }, t('ui.qa.calibration_create'))));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = { recording_id: num(data.get('recording_id')), scorecard_id: num(data.get('scorecard_id')), inspector_ids: inspectors.read(chooser) };
      try {
        const made = await api('/api/qa/calibrations', { method: 'POST', body });
        toast(t('ui.qa.calibration_created', { id: made.id }));
        go(`#/qa/calibrations/${made.id}`);
      } catch (error) { placeErrors(form, errors, error); }
    });
    parts.push(el('h4', {}, t('ui.qa.calibration_create')), form, errors);
  }
  page(main, '#/qa/calibrations', t('ui.qa.tab.calibration'), ...parts);
  const spreadText = (x) => (x ? t('ui.qa.spread_short', { range: pct(x.range), stdev: Number(x.stdev).toFixed(2) }) : '—');
  await pagedList(listBox, {
    endpoint: '/api/qa/calibrations',
    filters: [{ name: 'status', label: 'ui.qa.col.status', options: ['all', 'open', 'done'].map((v) => [v, t(`ui.qa.calibration_filter.${v}`)]) }],
    columns: [
      { key: 'created_at', label: 'ui.qa.col.created_at' },
      { key: 'linkedid', label: 'ui.qa.col.linkedid', format: (v, row) => v || `#${row.recording_id}` },
      { key: 'agent_name', label: 'ui.qa.col.agent' },
      { key: 'scorecard_name', label: 'ui.qa.col.scorecard', format: (v, row) => `${v} · ${t('ui.qa.version_n', { version: row.scorecard_version })}` },
      { key: 'inspectors', label: 'ui.qa.inspectors', format: (list) => el('span', { class: 'qa-members' }, (list || []).map((m, i) => el('span', { 'data-member': m.inspector_id, 'data-member-status': m.status },
        i ? '、' : '', m.name, ' ', el('small', { class: 'muted' }, `(${t(`ui.qa.status.${m.status}`)})`)))) },
      { key: 'submitted', label: 'ui.qa.col.submitted', format: (v, row) => `${v} / ${(row.inspectors || []).length}` },
      { key: 'spread', label: 'ui.qa.col.spread', format: (v) => el('span', { 'data-spread-range': v ? v.range : '' }, spreadText(v)) },
      ...(manager ? [] : [{ key: 'my_status', label: 'ui.qa.col.my_status', format: (v) => (v ? statusBadge(v) : '') }]),
      { key: 'note', label: 'ui.qa.col.note' },
    ],
    // Scoring blind: before one's own scoring is submitted, the row opens the scoring, not the spread.
    onOpen: (row) => go(!manager && row.my_assignment_id && ['open', 'draft'].includes(row.my_status)
      ? `#/qa/evaluate/${row.my_assignment_id}` : `#/qa/calibrations/${row.id}`),
  });
}

async function calibrationDetail(main, id) {
  const c = await api(`/api/qa/calibrations/${id}`);
  const spread = c.spread || {};
  const inspectors = c.inspectors || [];
  const items = c.items || [];
  const me = currentUser();
  const mine = inspectors.find((i) => i.inspector_id === me?.id);
  page(main, '#/qa/calibrations', t('ui.qa.calibration_n', { id: c.id }),
    el('dl', { class: 'detail', id: 'qa-spread' },
      fact(t('ui.qa.spread.min'), pct(spread.min), 'min'), fact(t('ui.qa.spread.max'), pct(spread.max), 'max'),
      fact(t('ui.qa.spread.range'), pct(spread.range), 'range'),
      fact(t('ui.qa.spread.stdev'), spread.stdev === null || spread.stdev === undefined ? '—' : Number(spread.stdev).toFixed(2), 'stdev')),
    mine && ['open', 'draft'].includes(mine.status) ? el('p', { class: 'muted' }, t('ui.qa.calibration_blind')) : null,
    el('table', { class: 'striped', id: 'qa-calibration-inspectors' },
      el('thead', {}, el('tr', {}, ['col.inspector', 'col.status', 'total', 'grade'].map((k) => el('th', {}, t(`ui.qa.${k}`))))),
      el('tbody', {}, inspectors.map((i) => el('tr', { 'data-inspector': i.inspector_id },
        el('td', {}, i.name), el('td', {}, i.status ? t(`ui.qa.status.${i.status}`) : ''), el('td', {}, pct(i.total_pct)), el('td', {}, i.grade ?? '—'))))),
    el('h4', {}, t('ui.qa.calibration_items')),
    el('div', { class: 'overflow-auto' }, el('table', { class: 'striped', id: 'qa-calibration-items' },
      el('thead', {}, el('tr', {}, el('th', {}, t('ui.qa.sc.title')), inspectors.map((i) => el('th', {}, i.name)), el('th', {}, t('ui.qa.agree')))),
      el('tbody', {}, items.map((item) => el('tr', { 'data-item': item.key, class: item.agree ? null : 'qa-disagree' },
        el('td', {}, item.title),
        inspectors.map((i) => { const v = item.values?.[i.inspector_id] ?? item.values?.[String(i.inspector_id)]; return el('td', {}, v === null ? t('ui.qa.not_applicable') : v ?? '—'); }),
        el('td', {}, item.agree ? '✓' : el('span', { class: 'badge danger' }, t('ui.qa.disagree')))))))));
}

// --- #/qa/results ---------------------------------------------------------------------------------------
async function resultsPage(main) {
  const today = centerDay(0);
  // from the first day of the month five months back: six months on the trend chart
  const [year, month] = today.split('-').map(Number);
  const back = new Date(Date.UTC(year, month - 1 - 5, 1));
  const state = { group: 'agent', from: back.toISOString().slice(0, 10), to: today };
  const filters = el('form', { class: 'toolbar', id: 'qa-results-filters' },
    el('select', { name: 'group', 'aria-label': t('ui.qa.group') }, ['agent', 'team', 'month'].map((g) => el('option', { value: g, selected: g === state.group }, t(`ui.qa.group_by.${g}`)))),
    el('label', {}, t('ui.qa.from'), el('input', { type: 'date', name: 'from', value: state.from })),
    el('label', {}, t('ui.qa.to'), el('input', { type: 'date', name: 'to', value: state.to })),
    el('button', { type: 'submit' }, t('ui.search')));
  const exports = el('div', { class: 'toolbar', id: 'qa-results-export' });
  const tableBox = el('div', { class: 'overflow-auto', id: 'qa-results-table' });
  const chartBox = el('div', { id: 'qa-trend' });
  page(main, '#/qa/results', t('ui.qa.tab.results'), filters, exports, tableBox, el('h4', {}, t('ui.qa.trend')), chartBox);
  const load = async () => {
    fill(exports, ...['csv', 'xlsx'].map((fmt) => el('a', { role: 'button', class: 'secondary outline', 'data-export': fmt, download: '',
      href: `/api/qa/results/export${query({ ...state, format: fmt })}` }, `${t('ui.export')} ${fmt.toUpperCase()}`)));
    tableBox.setAttribute('aria-busy', 'true');
    let data;
    try { data = await api(`/api/qa/results${query(state)}`); } catch (error) {
      fill(tableBox, ...errorList(error));
      tableBox.removeAttribute('aria-busy');
      return;
    }
    tableBox.removeAttribute('aria-busy');
    const grades = [...new Set((data.rows || []).flatMap((r) => Object.keys(r.grade_counts || {})))];
    fill(tableBox, el('table', { class: 'striped', id: 'qa-results' },
      el('thead', {}, el('tr', {}, [t(`ui.qa.group_by.${state.group}`), t('ui.qa.res.evaluations'), t('ui.qa.res.avg'), t('ui.qa.res.min'), t('ui.qa.res.max'),
        t('ui.qa.res.failed'), t('ui.qa.res.disputed'), t('ui.qa.res.rescored'), ...grades].map((h) => el('th', {}, h)))),
      el('tbody', {}, (data.rows || []).length ? data.rows.map((r) => el('tr', { 'data-key': r.key },
        el('td', {}, r.label ?? r.key), el('td', {}, r.evaluations), el('td', {}, pct(r.avg_pct)), el('td', {}, pct(r.min_pct)), el('td', {}, pct(r.max_pct)),
        el('td', {}, r.failed), el('td', {}, r.disputed), el('td', {}, r.rescored ?? 0), grades.map((g) => el('td', {}, r.grade_counts?.[g] ?? 0))))
        : el('tr', {}, el('td', { colspan: 8 + grades.length, class: 'muted' }, t('ui.no_results'))))));
    fill(chartBox, trendChart(data.trend || [], Object.fromEntries((data.rows || []).map((r) => [r.key, r.label ?? r.key]))));
  };
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    Object.assign(state, Object.fromEntries(new FormData(filters)));
    load();
  });
  await load();
}

// Average % per month, one line per key (the first eight keys by their number of points).
function trendChart(trend, labels) {
  if (!trend.length) return el('p', { class: 'muted' }, t('ui.no_results'));
  const months = [...new Set(trend.map((p) => p.month))].sort();
  const counts = {};
  for (const p of trend) counts[p.key] = (counts[p.key] || 0) + 1;
  const keys = Object.keys(counts).sort((a, b) => counts[b] - counts[a]).slice(0, PALETTE.length);
  const width = 640;
  const height = 240;
  const pad = { l: 36, r: 12, t: 10, b: 26 };
  const iw = width - pad.l - pad.r;
  const ih = height - pad.t - pad.b;
  const x = (m) => pad.l + (months.length === 1 ? iw / 2 : (months.indexOf(m) / (months.length - 1)) * iw);
  const y = (v) => pad.t + ih - (Math.max(0, Math.min(100, v)) / 100) * ih;
  const grid = [0, 25, 50, 75, 100].map((v) => [svg('line', { class: 'grid', x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v) }),
    svg('text', { class: 'axis', x: 2, y: y(v) + 4 }, `${v}%`)]);
  const axis = months.map((m) => svg('text', { class: 'axis', x: x(m) - 18, y: height - 6 }, m));
  const lines = keys.map((key, k) => {
    const points = trend.filter((p) => p.key === key && p.avg_pct !== null).sort((a, b) => (a.month < b.month ? -1 : 1));
    return svg('g', { 'data-series': key },
      svg('polyline', { fill: 'none', stroke: PALETTE[k], 'stroke-width': 2, points: points.map((p) => `${x(p.month)},${y(p.avg_pct)}`).join(' ') }),
      points.map((p) => svg('circle', { cx: x(p.month), cy: y(p.avg_pct), r: 3, fill: PALETTE[k] }, svg('title', {}, `${labels[key] ?? key} ${p.month} ${pct(p.avg_pct)}`))));
  });
  return el('div', {},
    svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart qa-trend', role: 'img', 'aria-label': t('ui.qa.trend') }, grid, axis, lines),
    el('div', { class: 'qa-legend' }, keys.map((key, k) => el('span', { class: 'qa-key', style: `--c:${PALETTE[k]}` }, labels[key] ?? key))));
}

export const qaRoutes = [
  [/^#\/qa$/, qaHome],
  [/^#\/qa\/evaluate\/(\d+)$/, workbench],
  [/^#\/qa\/evaluation\/(\d+)$/, evaluationPage],
  [/^#\/qa\/mine$/, minePage],
  [/^#\/qa\/mine\/(\d+)$/, mineDetail],
  [/^#\/qa\/disputes$/, disputesPage],
  [/^#\/qa\/disputes\/(\d+)$/, disputeDetail],
  [/^#\/qa\/scorecards$/, scorecardsPage],
  [/^#\/qa\/scorecards\/(new|\d+)$/, (main, id) => scorecardDesigner(main, id, null)],
  [/^#\/qa\/sampling$/, samplingPage],
  [/^#\/qa\/calibrations$/, calibrationsPage],
  [/^#\/qa\/calibrations\/(\d+)$/, calibrationDetail],
  [/^#\/qa\/results$/, resultsPage],
];
