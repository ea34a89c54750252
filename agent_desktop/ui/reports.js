// The reports page (#/reports, #/reports/<tab>): call measures by queue/agent/team and interval (话务), Erlang C
// staffing against the agents staffed (人力), and the business measures: outbound, complaints, satisfaction,
// IVR. Every figure's column carries its definition (hover, and the legend below the table); charts are
// inline SVG like the wallboard's; CSV/XLSX exports are the server's (same filters, definitions sheet).
// Numbers are formatted in the UI language, times in the center's zone.
import { api, query } from './api.js';
import { t, currentLanguage, centerZone } from './i18n.js';
import { el } from './forms.js';
import { can } from './app.js';

const TABS = ['calls', 'staffing', 'outbound', 'complaints', 'survey', 'ivr'];
const BUSINESS = new Set(['outbound', 'complaints', 'survey', 'ivr']);
const GRAINS = {
  calls: ['15m', '30m', '60m', 'day', 'week', 'month'],
  staffing: ['15m', '30m', '60m'],
  business: ['day', 'week', 'month'],
};
const BY = { calls: ['queue', 'agent', 'team'], survey: ['agent', 'queue'] };
const NOT_MEASURES = new Set(['period_start', 'key', 'label']);

// What the supervisor chose survives tab switches (not page reloads).
const state = { from: null, to: null, grain: { calls: '60m', staffing: '30m', business: 'day' }, by: { calls: 'queue', survey: 'agent' }, keys: '', queue: '', date: null, shrinkage: 30 };

// --- formatting ---------------------------------------------------------------------------------------

function todayInZone(offsetDays = 0) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone: centerZone(), year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date(Date.now() + offsetDays * 86_400_000)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

export function formatNumber(value, code = '') {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value !== 'number') return String(value);
  const decimals = code.endsWith('_pct') || code.endsWith('_s') || code.startsWith('average') ? 1 : 0;
  const text = new Intl.NumberFormat(currentLanguage(), { maximumFractionDigits: Math.max(decimals, Number.isInteger(value) ? 0 : 2), minimumFractionDigits: 0 }).format(value);
  return code.endsWith('_pct') ? `${text}%` : text;
}

// A period's start in the center's zone, as precise as its grain.
export function formatPeriod(iso, grain) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: centerZone(), year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(d).map((x) => [x.type, x.value]));
  const day = `${p.year}-${p.month}-${p.day}`;
  if (grain === 'month') return `${p.year}-${p.month}`;
  if (grain === 'day' || grain === 'week') return day;
  return `${day} ${p.hour}:${p.minute}`;
}

const shortPeriod = (iso, grain) => {
  const text = formatPeriod(iso, grain);
  return ['15m', '30m', '60m'].includes(grain) ? text.slice(-5) : text.slice(5) || text;
};

// --- inline SVG charts (wallboard style) --------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const PALETTE = ['#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#e53935', '#00897b', '#6d4c41', '#3949ab'];

// Lines over shared x labels; values are 0..max (percentages: max 100); optional dashed target line.
export function lineChart({ labels, series, max = 100, target = null, unit = '%', ariaLabel, width = 560, height = 180, name }) {
  const pad = { l: 34, r: 12, t: 10, b: 20 };
  const iw = width - pad.l - pad.r;
  const ih = height - pad.t - pad.b;
  const n = Math.max(labels.length, 1);
  const step = iw / n;
  const x = (k) => pad.l + k * step + step / 2;
  const y = (v) => pad.t + ih - (Math.min(v, max) / max) * ih;
  const every = Math.ceil(n / 8);
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': ariaLabel, class: 'chart report-chart', 'data-chart': name },
    svg('line', { x1: pad.l, x2: pad.l + iw, y1: pad.t + ih, y2: pad.t + ih, class: 'axis-line' }),
    svg('text', { x: 2, y: pad.t + 8, class: 'axis' }, `${formatNumber(max)}${unit}`),
    svg('text', { x: 2, y: pad.t + ih, class: 'axis' }, `0${unit}`),
    target !== null && target !== undefined
      ? svg('line', { x1: pad.l, x2: pad.l + iw, y1: y(target), y2: y(target), class: 'target', 'data-target': target },
        svg('title', {}, t('ui.reports.chart.target', { value: `${formatNumber(target)}${unit}` })))
      : null,
    series.map((s, i) => {
      const pts = s.values.map((v, k) => (v === null || v === undefined ? null : { k, v })).filter(Boolean);
      const color = PALETTE[i % PALETTE.length];
      return svg('g', { 'data-series': s.key },
        pts.length > 1 ? svg('polyline', { points: pts.map((p) => `${x(p.k)},${y(p.v)}`).join(' '), class: 'series', stroke: color, fill: 'none', 'stroke-width': 2 }) : null,
        pts.map((p) => svg('circle', { cx: x(p.k), cy: y(p.v), r: 2.5, fill: color },
          svg('title', {}, `${s.label} · ${labels[p.k]} · ${formatNumber(p.v)}${unit}`))));
    }),
    labels.map((label, k) => (k % every === 0 ? svg('text', { x: pad.l + k * step, y: height - 5, class: 'axis' }, label) : null)));
}

// Grouped bars (one group per label) with an optional line series on the same scale.
export function barChart({ labels, series, line = null, ariaLabel, width = 560, height = 180, name }) {
  const pad = { l: 34, r: 12, t: 10, b: 20 };
  const iw = width - pad.l - pad.r;
  const ih = height - pad.t - pad.b;
  const n = Math.max(labels.length, 1);
  const all = [...series.flatMap((s) => s.values), ...(line ? line.values : [])].filter((v) => typeof v === 'number');
  const max = Math.max(1, ...all);
  const step = iw / n;
  const bw = Math.max((step - 2) / Math.max(series.length, 1), 1);
  const y = (v) => pad.t + ih - (v / max) * ih;
  const every = Math.ceil(n / 8);
  const linePts = line ? line.values.map((v, k) => (typeof v === 'number' ? `${pad.l + k * step + step / 2},${y(v)}` : null)).filter(Boolean) : [];
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': ariaLabel, class: 'chart report-chart', 'data-chart': name },
    svg('line', { x1: pad.l, x2: pad.l + iw, y1: pad.t + ih, y2: pad.t + ih, class: 'axis-line' }),
    svg('text', { x: 2, y: pad.t + 8, class: 'axis' }, formatNumber(max)),
    series.map((s, i) => svg('g', { 'data-series': s.key, fill: PALETTE[i % PALETTE.length] },
      s.values.map((v, k) => svg('rect', { x: pad.l + k * step + 1 + i * bw, y: y(v || 0), width: Math.max(bw - 1, 1), height: pad.t + ih - y(v || 0) },
        svg('title', {}, `${labels[k]} · ${s.label} ${formatNumber(v)}`))))),
    linePts.length > 1 ? svg('polyline', { points: linePts.join(' '), fill: 'none', stroke: '#c62828', 'stroke-width': 2, 'data-series': line.key }) : null,
    labels.map((label, k) => (k % every === 0 ? svg('text', { x: pad.l + k * step, y: height - 5, class: 'axis' }, label) : null)));
}

function legend(items) {
  return el('div', { class: 'report-legend' }, items.map((item, i) => el('span', {},
    el('i', { class: item.dashed ? 'dash' : 'swatch', style: `background:${item.dashed ? 'transparent' : item.color || PALETTE[i % PALETTE.length]}` }), item.label)));
}

const figure = (title, chart, items) => el('figure', { class: 'report-figure' }, el('figcaption', {}, el('strong', {}, title)), chart, items ? legend(items) : '');

// --- the table with its definitions ------------------------------------------------------------------

// Columns: the definitions' order, for the fields the rows have; fields without a definition last.
function measureColumns(rows, totals, defs) {
  const present = new Set();
  for (const r of [...rows, ...totals]) for (const [k, v] of Object.entries(r)) if (!NOT_MEASURES.has(k) && typeof v !== 'object') present.add(k);
  // A column with nothing to count anywhere (e.g. queue-only measures in agent rows) is left out of the
  // table; the legend still defines it.
  const counted = new Set([...present].filter((k) => [...rows, ...totals].some((r) => r[k] !== null && r[k] !== undefined)));
  const ordered = defs.map((d) => d.code).filter((c) => counted.has(c));
  for (const k of counted) if (!ordered.includes(k)) ordered.push(k);
  return ordered;
}

function reportTable({ rows, totals, defs, grain, keyHeader, id = 'report-table', period = true }) {
  const byCode = Object.fromEntries(defs.map((d) => [d.code, d]));
  const codes = measureColumns(rows, totals, defs);
  const head = el('tr', {}, period ? el('th', { scope: 'col' }, t('ui.reports.period')) : '', el('th', { scope: 'col' }, keyHeader),
    codes.map((c) => el('th', { scope: 'col', 'data-code': c, title: byCode[c]?.formula || '' }, byCode[c]?.label || c)));
  const line = (r, when) => el('tr', { 'data-key': r.key ?? '', 'data-period': r.period_start || '' },
    period ? el('td', { class: 'period' }, when) : '', el('td', { class: 'key' }, keyLabel(r)),
    codes.map((c) => el('td', { class: 'num', 'data-code': c }, formatNumber(r[c], c))));
  return el('div', { class: 'overflow-auto' }, el('table', { class: 'list report', id },
    el('thead', {}, head),
    el('tbody', {}, rows.length ? rows.map((r) => line(r, formatPeriod(r.period_start, grain)))
      : el('tr', {}, el('td', { colspan: codes.length + (period ? 2 : 1), class: 'muted' }, t('ui.reports.no_data')))),
    totals.length ? el('tfoot', {}, totals.map((r) => line(r, t('ui.reports.total')))) : ''));
}

// Unkeyed reports (complaints, IVR) count the whole center; a totals row of a keyed one is labelled by the
// period cell ("Total").
function keyLabel(r) {
  if (r.key === 'all') return t('ui.reports.all');
  return r.label || r.key || '';
}

function definitionsLegend(defs) {
  return el('details', { class: 'report-definitions', id: 'report-definitions' },
    el('summary', {}, t('ui.reports.definitions'), ' ', el('small', { class: 'muted' }, t('ui.reports.hover_hint'))),
    el('dl', {}, defs.map((d) => el('div', { 'data-definition': d.code }, el('dt', {}, d.label, ' ', el('code', {}, d.code)), el('dd', {}, d.formula)))));
}

// --- the page -----------------------------------------------------------------------------------------

function ensureStyle() {
  if (document.getElementById('reports-style')) return;
  document.head.append(el('style', { id: 'reports-style' }, `
.reports nav.tabs { display: flex; justify-content: flex-start; flex-wrap: wrap; gap: .3rem; border-bottom: 1px solid var(--pico-muted-border-color); margin-bottom: .8rem; }
.reports .tabs a { padding: .35rem .9rem; text-decoration: none; border-radius: 6px 6px 0 0; }
.reports .tabs a[aria-selected=true] { background: var(--pico-primary-background); color: var(--pico-primary-inverse); }
table.report td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.report th[title] { text-decoration: underline dotted; cursor: help; }
table.report tfoot td { font-weight: 700; }
table.report tbody tr { cursor: default; }
table.report thead th { min-width: 4.5em; vertical-align: bottom; }
.report-charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 1rem; margin-top: 1rem; }
.report-figure { margin: 0; }
.report-legend { display: flex; flex-wrap: wrap; gap: .2rem 1rem; font-size: .85rem; }
.report-legend i { display: inline-block; width: .9rem; height: .6rem; margin-right: .3rem; }
.report-legend i.dash { border-top: 2px dashed #c62828; height: 0; vertical-align: middle; }
.report-definitions dl div { display: flex; gap: 1rem; border-bottom: 1px dotted var(--pico-muted-border-color); }
.report-definitions dt { flex: 0 0 16rem; font-weight: normal; } .report-definitions dd { margin: 0; }
`));
}

function select(name, options, value, label) {
  return el('label', {}, label, el('select', { name, 'aria-label': label }, options.map(([v, text]) => el('option', { value: v, selected: v === value }, text))));
}

function grainGroup(tab) { return tab === 'calls' || tab === 'staffing' ? tab : 'business'; }

function toolbar(tab, onRun) {
  const form = el('form', { class: 'toolbar', id: 'report-filters' });
  if (tab === 'staffing') {
    form.append(
      el('label', {}, t('ui.reports.date'), el('input', { type: 'date', name: 'date', value: state.date || state.to })),
      el('label', {}, t('ui.reports.queue'), el('input', { name: 'queue', value: state.queue, list: 'report-queues', required: true, size: 12 })),
      el('datalist', { id: 'report-queues' }),
      el('label', {}, t('ui.reports.shrinkage'), el('input', { type: 'number', name: 'shrinkage_pct', min: 0, max: 90, value: state.shrinkage, style: 'width:6rem' })));
  } else {
    form.append(
      el('label', {}, t('ui.reports.from'), el('input', { type: 'date', name: 'from', value: state.from })),
      el('label', {}, t('ui.reports.to'), el('input', { type: 'date', name: 'to', value: state.to })));
  }
  const group = grainGroup(tab);
  form.append(select('grain', GRAINS[group].map((g) => [g, t(`ui.reports.grain.${g}`)]), state.grain[group], t('ui.reports.grain')));
  if (BY[tab]) form.append(select('by', BY[tab].map((b) => [b, t(`ui.reports.by.${b}`)]), state.by[tab], t('ui.reports.by')));
  if (tab === 'calls') form.append(el('input', { name: 'keys', value: state.keys, placeholder: t('ui.reports.filter'), 'aria-label': t('ui.reports.filter') }));
  form.append(el('button', { type: 'submit', id: 'report-run' }, t('ui.reports.run')));
  if (tab !== 'staffing' && can('reports.export')) {
    for (const fmt of ['csv', 'xlsx']) {
      form.append(el('button', { type: 'button', class: 'secondary outline', 'data-export': fmt, onclick: () => { readForm(tab, form); download(tab, fmt); } }, t(`ui.reports.export_${fmt}`)));
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); readForm(tab, form); onRun(); });
  form.addEventListener('change', (e) => { if (e.target.tagName === 'SELECT') { readForm(tab, form); onRun(); } });
  return form;
}

function readForm(tab, form) {
  const data = Object.fromEntries(new FormData(form));
  if (data.from !== undefined) state.from = data.from;
  if (data.to !== undefined) state.to = data.to;
  if (data.grain) state.grain[grainGroup(tab)] = data.grain;
  if (data.by) state.by[tab] = data.by;
  if (data.keys !== undefined) state.keys = data.keys;
  if (data.queue !== undefined) state.queue = data.queue.trim();
  if (data.date !== undefined) state.date = data.date;
  if (data.shrinkage_pct !== undefined && data.shrinkage_pct !== '') state.shrinkage = Number(data.shrinkage_pct);
}

function params(tab) {
  // The page's language, not the browser's: labels and formulas come translated from the server.
  const p = new URLSearchParams({ from: state.from, to: state.to, grain: state.grain[grainGroup(tab)], lang: currentLanguage() });
  if (BY[tab]) p.set('by', state.by[tab]);
  if (tab === 'calls') for (const k of state.keys.split(/[,，]/).map((s) => s.trim()).filter(Boolean)) p.append('key', k);
  return p;
}

function download(tab, fmt) {
  const p = params(tab);
  p.set('format', fmt);
  const a = el('a', { href: `/api/reports/${tab}/export?${p}`, download: '', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

export async function reportsPage(main, tab = 'calls') {
  if (!TABS.includes(tab)) tab = 'calls';
  ensureStyle();
  state.to = state.to || todayInZone();
  state.from = state.from || todayInZone(-6);
  const body = el('section', { id: 'report-body', 'data-tab': tab });
  const run = () => renderTab(tab, body);
  const root = el('div', { class: 'reports', id: 'reports' },
    el('h2', {}, t('ui.reports.title')),
    el('nav', { class: 'tabs', role: 'tablist' }, TABS.map((name) => el('a', {
      href: `#/reports/${name}`, role: 'tab', 'data-tab': name, 'aria-selected': String(name === tab),
    }, t(`ui.reports.tab.${name}`)))),
    toolbar(tab, run), body);
  main.replaceChildren(root);
  await run();
}

async function renderTab(tab, body) {
  body.setAttribute('aria-busy', 'true');
  body.dataset.ready = 'false';
  try {
    if (tab === 'calls') await callsTab(body);
    else if (tab === 'staffing') await staffingTab(body);
    else await businessTab(tab, body);
  } catch (error) {
    body.replaceChildren(el('p', { class: 'form-error', role: 'alert' }, error.body?.fields?.map((f) => `${f.field}: ${f.message}`).join('; ') || error.message));
  } finally {
    body.removeAttribute('aria-busy');
    body.dataset.ready = 'true';
  }
}

// --- 话务 --------------------------------------------------------------------------------------------

const definitionCache = {};
async function callDefinitions() {
  const lang = currentLanguage();
  if (!definitionCache[lang]) definitionCache[lang] = await api(`/api/reports/definitions${query({ lang })}`);
  return definitionCache[lang];
}

async function callsTab(body) {
  const p = params('calls');
  const [defs, data] = await Promise.all([callDefinitions(), api(`/api/reports/calls?${p}`)]);
  const grain = data.grain || state.grain.calls;
  const keyHeader = t(`ui.reports.key.${data.by || state.by.calls}`);
  body.replaceChildren(reportTable({ rows: data.rows || [], totals: data.totals || [], defs, grain, keyHeader }), definitionsLegend(defs));
  const charts = el('div', { class: 'report-charts', id: 'report-charts' });
  body.append(charts);
  charts.append(...callCharts(data, grain));
  if ((data.by || state.by.calls) === 'queue') {
    const queue = state.keys.split(/[,，]/).map((s) => s.trim()).find(Boolean) || '';
    try {
      const curve = await api(`/api/reports/abandon-curve${query({ from: state.from, to: state.to, queue, lang: currentLanguage() })}`);
      charts.append(abandonCurve(curve.rows || []));
    } catch (error) {
      charts.append(el('p', { class: 'muted' }, t('ui.reports.not_available', { message: error.message })));
    }
  }
}

function seriesByKey(rows) {
  const periods = [...new Set(rows.map((r) => r.period_start))].sort((a, b) => new Date(a) - new Date(b));
  const keys = [...new Map(rows.map((r) => [r.key, r.label || r.key])).entries()];
  const at = new Map(rows.map((r) => [`${r.key}|${r.period_start}`, r]));
  return { periods, keys, at };
}

function callCharts(data, grain) {
  const rows = data.rows || [];
  if (!rows.length) return [];
  const { periods, keys, at } = seriesByKey(rows);
  const labels = periods.map((p) => shortPeriod(p, grain));
  const out = [];
  const slKeys = keys.filter(([k]) => periods.some((p) => at.get(`${k}|${p}`)?.service_level_pct !== null && at.get(`${k}|${p}`)?.service_level_pct !== undefined));
  if (slKeys.length) {
    const targets = [...new Set(rows.map((r) => r.target_pct).filter((v) => typeof v === 'number'))];
    // One target line when the queues shown share it; else each queue gets its own chart.
    const groups = targets.length <= 1 ? [slKeys] : slKeys.map((k) => [k]);
    for (const group of groups) {
      const target = targets.length <= 1 ? targets[0] ?? null : rows.find((r) => r.key === group[0][0] && typeof r.target_pct === 'number')?.target_pct ?? null;
      const series = group.map(([k, label]) => ({ key: k, label, values: periods.map((p) => at.get(`${k}|${p}`)?.service_level_pct ?? null) }));
      const name = group.map(([, label]) => label).join(', ');
      out.push(figure(`${t('ui.reports.chart.sl')} · ${name}`,
        lineChart({ labels, series, target, name: 'sl', ariaLabel: t('ui.reports.chart.sl_label', { key: name }) }),
        [...series.map((s) => ({ label: s.label })), ...(target !== null ? [{ label: t('ui.reports.chart.target', { value: formatNumber(target, '_pct') }), dashed: true }] : [])]));
    }
  }
  const sum = (p, field) => keys.reduce((n, [k]) => n + (at.get(`${k}|${p}`)?.[field] || 0), 0);
  if (rows.some((r) => typeof r.offered === 'number')) {
    const offered = { key: 'offered', label: t('ui.reports.chart.offered'), values: periods.map((p) => sum(p, 'offered')) };
    const answered = { key: 'answered', label: t('ui.reports.chart.answered'), values: periods.map((p) => sum(p, 'answered')) };
    out.push(figure(t('ui.reports.chart.volume'), barChart({ labels, series: [offered, answered], name: 'volume', ariaLabel: t('ui.reports.chart.volume') }),
      [{ label: offered.label }, { label: answered.label }]));
  }
  return out;
}

function abandonCurve(rows) {
  const labels = rows.map((r) => (r.wait_s === null || r.wait_s === 'inf' || r.wait_s === Infinity ? '∞' : String(r.wait_s)));
  const series = [{ key: 'cumulative_abandon_pct', label: t('ui.reports.chart.cumulative_abandon'), values: rows.map((r) => r.cumulative_abandon_pct ?? null) }];
  const bars = barChart({ labels, series: [{ key: 'abandoned', label: t('ui.abandoned'), values: rows.map((r) => r.abandoned || 0) }], name: 'abandon-counts', ariaLabel: t('ui.reports.chart.abandon'), height: 110 });
  return figure(t('ui.reports.chart.abandon'),
    el('div', {}, lineChart({ labels, series, name: 'abandon', ariaLabel: t('ui.reports.chart.abandon') }), bars),
    [{ label: series[0].label }, { label: t('ui.abandoned'), color: PALETTE[0] }]);
}

// --- 人力 --------------------------------------------------------------------------------------------

async function staffingTab(body) {
  const list = document.getElementById('report-queues');
  if (list && !list.children.length) {
    // The queues that had calls in the chosen range, as suggestions.
    api(`/api/reports/calls${query({ from: state.from, to: state.to, grain: 'day', by: 'queue' })}`)
      .then((d) => list.replaceChildren(...[...new Set((d.totals || []).map((r) => r.key))].map((q) => el('option', { value: q }))))
      .catch(() => {});
  }
  if (!state.queue) { body.replaceChildren(el('p', { class: 'muted' }, t('ui.reports.staffing.pick_queue'))); return; }
  const data = await api(`/api/reports/staffing${query({ date: state.date || state.to, queue: state.queue, grain: state.grain.staffing, shrinkage_pct: state.shrinkage, lang: currentLanguage() })}`);
  const rows = data.rows || [];
  const codes = ['offered', 'aht_s', 'required_agents', 'required_with_shrinkage', 'staffed_agents', 'forecast_sl_pct'];
  const defs = codes.map((c) => ({ code: c, label: t(`ui.reports.staffing.${c}`), formula: '' }));
  const table = reportTable({ rows: rows.map((r) => ({ ...r, key: data.queue, label: data.queue })), totals: [], defs, grain: state.grain.staffing, keyHeader: t('ui.reports.key.queue'), id: 'staffing-table' });
  const labels = rows.map((r) => shortPeriod(r.period_start, state.grain.staffing));
  const chart = barChart({
    labels, name: 'staffing', ariaLabel: t('ui.reports.chart.staffing'),
    series: [{ key: 'required_with_shrinkage', label: t('ui.reports.chart.required'), values: rows.map((r) => r.required_with_shrinkage ?? 0) }],
    line: { key: 'staffed_agents', values: rows.map((r) => r.staffed_agents ?? 0) },
  });
  body.replaceChildren(
    el('p', { class: 'muted' }, t('ui.reports.staffing.params', { threshold: data.threshold_s ?? '—', target: data.target_pct ?? '—', shrinkage: data.shrinkage_pct ?? state.shrinkage })),
    table,
    el('div', { class: 'report-charts' }, figure(t('ui.reports.chart.staffing'), chart,
      [{ label: t('ui.reports.chart.required') }, { label: t('ui.reports.chart.staffed'), color: '#c62828' }])));
}

// --- 外呼 / 投诉 / 满意度 / IVR ---------------------------------------------------------------------

const HEADLINES = {
  outbound: [['attempts', 'connects'], 'connect_pct'],
  complaints: [['received', 'resolved'], 'overdue'],
  survey: [['answers', 'satisfied'], null],
  ivr: [['sessions', 'self_service'], null],
};

async function businessTab(tab, body) {
  const data = await api(`/api/reports/${tab}?${params(tab)}`);
  const defs = data.definitions || [];
  const grain = data.grain || state.grain.business;
  const keyHeader = t(`ui.reports.key.${tab === 'survey' ? data.by || state.by.survey : tab}`);
  const totals = data.totals ? [data.totals] : [];
  const parts = [];
  if (tab === 'survey') parts.push(el('p', { class: 'muted' }, t('ui.reports.survey.scale')));
  parts.push(reportTable({ rows: data.rows || [], totals, defs, grain, keyHeader }));
  if ((data.groups || []).length) {
    parts.push(el('h4', {}, t('ui.reports.groups')),
      reportTable({ rows: data.groups, totals: [], defs, grain, keyHeader, id: 'report-groups', period: false }));
  }
  parts.push(definitionsLegend(defs));
  parts.push(el('div', { class: 'report-charts', id: 'report-charts' }, businessCharts(tab, data, defs, grain)));
  body.replaceChildren(...parts);
}

function businessCharts(tab, data, defs, grain) {
  const rows = data.rows || [];
  if (!rows.length) return [];
  const label = (code) => defs.find((d) => d.code === code)?.label || code;
  const periods = [...new Set(rows.map((r) => r.period_start))].sort((a, b) => new Date(a) - new Date(b));
  const labels = periods.map((p) => shortPeriod(p, grain));
  const sum = (p, f) => rows.filter((r) => r.period_start === p).reduce((n, r) => n + (r[f] || 0), 0);
  const [bars] = HEADLINES[tab];
  const series = bars.map((code) => ({ key: code, label: label(code), values: periods.map((p) => sum(p, code)) }));
  const out = [figure(series.map((s) => s.label).join(' / '), barChart({ labels, series, name: tab, ariaLabel: series.map((s) => s.label).join(' / ') }),
    series.map((s) => ({ label: s.label })))];
  if (tab === 'survey') {
    const dist = [1, 2, 3, 4, 5].map((n) => data.totals?.[`score_${n}`] || 0);
    out.push(figure(label('answers'), barChart({ labels: [1, 2, 3, 4, 5].map((n) => label(`score_${n}`)), series: [{ key: 'scores', label: label('answers'), values: dist }], name: 'survey-distribution', ariaLabel: label('answers') })));
  }
  if (tab === 'ivr') {
    const containment = { key: 'containment_pct', label: label('containment_pct'), values: periods.map((p) => rows.find((r) => r.period_start === p)?.containment_pct ?? null) };
    out.push(figure(containment.label, lineChart({ labels, series: [containment], name: 'containment', ariaLabel: containment.label }), [{ label: containment.label }]));
    // The estimated-wait call-back offer: how many callers took it, how many stayed in the queue.
    if (data.totals?.wait_offered) {
      const offers = ['wait_accepted', 'wait_declined'].map((code) => ({ key: code, label: label(code), values: periods.map((p) => sum(p, code)) }));
      out.push(figure(t('ui.reports.chart.wait_offer'), barChart({ labels, series: offers, name: 'wait-offer', ariaLabel: t('ui.reports.chart.wait_offer') }),
        offers.map((x) => ({ label: x.label }))));
    }
  }
  return out;
}

export const reportsRoutes = [
  [/^#\/reports(?:\/([a-z]+))?$/, (main, tab) => reportsPage(main, tab || 'calls')],
];
