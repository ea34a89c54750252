// The team lead's wallboard (#/wallboard): per-queue tiles, the agents with their live state, volume and
// service-level charts by interval, alerts, supervisor actions (listen/whisper/barge, force pause, log
// out, move) and the escalated-calls inbox. Live parts come from the websocket; the day's figures from
// GET /api/acd/wallboard every 15 s.
import { api, ApiError } from './api.js';
import { t, formatDateTime, currentLanguage } from './i18n.js';
import { el } from './forms.js';
import { can, toast } from './app.js';
import { connectLive, effectiveAgentState, clock, whileShown } from './ws-client.js';

const REFRESH_MS = 15_000;
const STATES = ['available', 'ringing', 'on_call', 'wrap_up', 'paused', 'unavailable'];
const SPY_MODES = ['listen', 'whisper', 'barge'];
const DEFAULT_WAIT_ALERT_S = 60; // until the first figures arrive

const button = (label, onclick, attrs = {}) => el('button', { type: 'button', onclick, ...attrs }, label);
const now = () => Date.now() / 1000;
const pct = (v) => (v === null || v === undefined ? '—' : `${Math.round(v)}%`);

async function act(fn, done) {
  try { const answer = await fn(); if (done) toast(done); return answer ?? true; } catch (error) {
    toast(error instanceof ApiError ? error.message : String(error), 'error');
    return undefined;
  }
}

export async function wallboardPage(main) {
  const w = { board: null, live: null, reasons: [], reasonLabels: {}, rowsShown: '', openRows: new Set(), askedFor: new Set(), scheduled: false };
  const root = el('div', { class: 'wallboard', id: 'wallboard' });
  w.status = el('span', { class: 'muted', id: 'ws-status', 'data-status': 'connecting' }, t('ui.desk.connecting'));
  w.updated = el('span', { class: 'muted', id: 'board-updated' });
  w.alerts = el('section', { class: 'alerts', id: 'alerts', role: 'alert', 'aria-live': 'assertive' });
  w.tiles = el('section', { class: 'tiles', id: 'queue-tiles', 'aria-label': t('ui.queues') });
  w.agents = el('section', { id: 'board-agents', 'aria-label': t('ui.agents') });
  w.charts = el('section', { class: 'charts', id: 'board-charts' });
  w.inbox = el('section', { id: 'escalations' });
  root.append(el('header', { class: 'desk-head' }, el('h2', {}, t('menu.wallboard')), w.status, w.updated),
    w.alerts, w.tiles, el('h4', {}, t('ui.agents')), w.agents, w.charts, w.inbox);
  main.replaceChildren(root);

  // Pause reasons (the admin's list, any logged-in user reads it): codes to send, labels in my language.
  try {
    const reasons = await api('/api/pause-reasons');
    w.reasons = reasons.map((r) => r.code);
    w.reasonLabels = Object.fromEntries(reasons.map((r) => [r.code, r.label]));
  } catch {
    // Before /api/pause-reasons is mounted, or for a user without it: the desktop session's list.
    try {
      const session = await api('/api/desktop/session');
      w.reasons = session.pause_reasons || [];
      w.reasonLabels = session.pause_reason_labels || {};
    } catch { w.reasons = []; }
  }
  // The service level's formula, for its hover text: the reports' translated definitions for a viewer who
  // may read reports (once per page), else the wallboard's own text naming the queue's variant.
  w.definitions = null;
  if (can('reports.read')) {
    try {
      const defs = await api(`/api/reports/definitions?lang=${encodeURIComponent(currentLanguage())}`);
      w.definitions = Object.fromEntries(defs.map((d) => [d.code, d]));
    } catch { w.definitions = null; }
  }
  w.live = connectLive({
    onStatus: (s) => { w.status.dataset.status = s; w.status.textContent = t(`ui.desk.ws_${s}`); },
    onChange: () => schedule(w),
  });
  await refresh(w);
  const timer = setInterval(() => refresh(w), REFRESH_MS);
  whileShown(root, () => tickTimes(w), () => { clearInterval(timer); w.live.close(); });
}

// Frames come in bursts: draw once per animation frame.
function schedule(w) {
  if (w.scheduled) return;
  w.scheduled = true;
  requestAnimationFrame(() => { w.scheduled = false; draw(w); });
}

async function refresh(w) {
  if (!w.tiles.isConnected || w.refreshing) return;
  w.refreshing = true;
  try {
    w.board = await api('/api/acd/wallboard?interval_minutes=30');
    w.updated.textContent = t('ui.wall.updated', { at: formatDateTime(w.board.generated_at) });
    w.updated.dataset.error = '';
  } catch (error) {
    w.updated.textContent = error.message;
    w.updated.dataset.error = 'true';
  } finally {
    w.refreshing = false;
    w.refreshedAt = Date.now();
  }
  draw(w);
  drawCharts(w);
  if (can('escalations.handle')) loadInbox(w);
}

function draw(w) {
  drawAlerts(w);
  drawTiles(w);
  drawAgents(w);
}

// --- queues -------------------------------------------------------------------------------------------
// A queue's live record (websocket) over its figures of the day (REST), by name.
function queues(w) {
  const names = new Set([...(w.board?.queues || []).map((q) => q.name), ...Object.keys(w.live?.state.queues || {})]);
  return [...names].sort().map((name) => ({
    name, figures: (w.board?.queues || []).find((q) => q.name === name) || null, live: w.live?.state.queues[name] || null,
  }));
}

function liveAgentsByState(w, liveQueue) {
  const out = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const [member, state] of Object.entries(liveQueue.agents || {})) {
    const agent = w.live.state.agents[member];
    const effective = agent ? effectiveAgentState({ ...agent, state }).state : state;
    if (effective in out) out[effective] += 1;
  }
  return out;
}

// The hover text of a queue's service level: which formula (variant), with its threshold and short-abandon
// rule, then the reports' definitions when we have them.
export function slFormula(q, definitions = null) {
  if (!q?.sl_variant) return '';
  const short = q.exclude_short && q.short_abandon_s > 0 && q.sl_variant !== 'answered'
    ? t('ui.wallboard.sl_short_excluded', { seconds: q.short_abandon_s }) : '';
  const lines = [
    t('ui.wallboard.sl_variant', { variant: t(`enum.ServiceLevelVariant.${q.sl_variant}`) }),
    t(`ui.wallboard.sl_formula.${q.sl_variant}`, { threshold: q.threshold_s, short }),
  ];
  const sl = definitions?.service_level_pct;
  const variants = definitions?.sl_variant;
  if (sl) lines.push(`${sl.label}: ${sl.formula}`);
  if (variants) lines.push(`${variants.label}: ${variants.formula}`);
  return lines.join('\n');
}

function slClass(value, target) {
  if (value === null || value === undefined) return 'sl-none';
  if (value >= target) return 'sl-ok';
  return value >= target - 10 ? 'sl-warn' : 'sl-bad';
}

function drawTiles(w) {
  const list = queues(w);
  if (!list.length) { w.tiles.replaceChildren(el('p', { class: 'muted' }, t('ui.wall.no_queues'))); return; }
  w.tiles.replaceChildren(...list.map(({ name, figures: f, live }) => {
    const waiting = live ? live.count : f?.waiting ?? 0;
    const longestSince = live?.longest_since ?? null;
    const byState = live ? liveAgentsByState(w, live) : f?.agents_by_state || {};
    const target = f?.target_pct ?? null;
    return el('article', { class: 'tile', 'data-queue': name },
      el('header', {}, el('strong', {}, name)),
      el('div', { class: 'big-figures' },
        el('div', {}, el('span', { class: 'muted' }, t('ui.waiting')), el('b', { 'data-figure': 'waiting', class: waiting ? 'hot' : '' }, String(waiting))),
        el('div', {}, el('span', { class: 'muted' }, t('ui.longest_wait')),
          el('b', { 'data-figure': 'longest_wait', 'data-since': longestSince ?? '' }, clock(longestSince ? now() - longestSince : f?.longest_wait_s ?? 0))),
        el('div', { class: slClass(f?.service_level_pct, target ?? 80), title: slFormula(f, w.definitions), 'data-sl-variant': f?.sl_variant ?? '' },
          el('span', { class: 'muted' }, t('ui.wall.service_level')),
          el('b', { 'data-figure': 'service_level' }, pct(f?.service_level_pct)),
          el('small', {}, ` / ${pct(target)}`))),
      el('div', { class: 'counts' },
        ['offered', 'answered', 'abandoned'].map((k) => el('span', {}, `${t(`ui.${k}`)} `, el('b', { 'data-figure': k }, String(f?.[k] ?? live?.[k] ?? 0))))),
      el('div', { class: 'by-state' }, STATES.filter((s) => byState[s]).map((s) =>
        el('span', { class: `badge state-${s}`, 'data-state-count': s }, `${t(`ui.agent_state.${s}`)} ${byState[s]}`))));
  }));
}

// --- alerts -------------------------------------------------------------------------------------------
function drawAlerts(w) {
  const alerts = [...(w.board?.alerts || [])];
  const threshold = w.board?.wait_alert_seconds ?? DEFAULT_WAIT_ALERT_S;
  // A caller waiting too long shows at once, between two refreshes of the figures.
  for (const q of Object.values(w.live?.state.queues || {})) {
    const waited = q.longest_since ? now() - q.longest_since : 0;
    if (waited > threshold && !alerts.some((a) => a.kind === 'long_wait' && a.queue === q.name)) {
      alerts.push({ kind: 'long_wait', queue: q.name, value: waited, threshold });
    }
  }
  // Redrawn only when an alert comes or goes (or a level changes): a live region must not chatter.
  const signature = alerts.map((a) => `${a.kind}:${a.queue}:${a.kind === 'service_level' ? Math.round(a.value) : ''}`).join('|');
  if (signature === w.alertsShown) return;
  w.alertsShown = signature;
  w.alerts.hidden = !alerts.length;
  w.alerts.replaceChildren(...alerts.map((a) => el('div', { class: `alert alert-${a.kind}`, 'data-alert': a.kind, 'data-queue': a.queue },
    a.kind === 'service_level'
      ? t('ui.wall.alert_service_level', { queue: a.queue, value: pct(a.value), threshold: pct(a.threshold) })
      : t('ui.wall.alert_long_wait', { queue: a.queue, threshold: clock(a.threshold) }))));
}

// --- agents -------------------------------------------------------------------------------------------
// REST rows (who, user id, calls today) joined with the live records (state now), by phone then by name.
function agentRows(w) {
  const liveAgents = Object.values(w.live?.state.agents || {});
  const used = new Set();
  const rows = (w.board?.agents || []).map((a) => {
    const live = liveAgents.find((x) => a.interface && x.interface === a.interface) || liveAgents.find((x) => x.name === a.name) || null;
    if (live) used.add(live.name);
    return { key: a.interface || a.name, info: a, live };
  });
  for (const live of liveAgents) if (!used.has(live.name)) rows.push({ key: live.interface || live.name, info: null, live });
  return rows.sort((x, y) => (x.info?.name || x.live.name).localeCompare(y.info?.name || y.live.name));
}

function rowState(w, row) {
  if (row.live) {
    const { state, since } = effectiveAgentState(row.live);
    const call = row.live.call ? w.live.state.calls[row.live.call] : null;
    return { state, since, reason: row.live.reason, caller: call?.caller_number || row.info?.current_caller || '', queues: Object.keys(row.live.queues || {}) };
  }
  const i = row.info;
  return { state: i.state || 'logged_out', since: i.since, reason: i.reason, caller: i.current_caller || '', queues: i.queues || [] };
}

function drawAgents(w) {
  const rows = agentRows(w);
  // Someone new on the live board: fetch who it is (user id for the actions) without waiting 15 s.
  // Once per newcomer: a live agent that is nobody's user stays without actions.
  const newcomers = rows.filter((r) => !r.info && !w.askedFor.has(r.key));
  if (newcomers.length && !w.refreshing) {
    for (const r of newcomers) w.askedFor.add(r.key);
    refresh(w);
  }
  const shape = rows.map((r) => `${r.key}:${r.info?.user_id ?? ''}:${rowState(w, r).queues.join('+')}`).join(',');
  if (shape !== w.rowsShown) { buildAgentTable(w, rows); w.rowsShown = shape; }
  for (const row of rows) updateAgentRow(w, row);
}

function buildAgentTable(w, rows) {
  const supervise = can('acd.supervise');
  const heads = ['ui.agent', 'ui.state', 'ui.in_state', 'ui.reason', 'ui.wall.calls_today', 'ui.wall.current_caller', 'ui.queues'];
  const table = el('table', { class: 'list agents-board', id: 'agent-board' },
    el('thead', {}, el('tr', {}, heads.map((k) => el('th', { scope: 'col' }, t(k))), supervise ? el('th', { scope: 'col' }, t('ui.wall.actions')) : '')),
    el('tbody', {}, rows.map((row) => el('tr', { 'data-agent': row.key, 'data-user-id': row.info?.user_id ?? '' },
      el('td', {}, row.info ? `${row.info.name}${row.info.agent_number ? ` (${row.info.agent_number})` : ''}` : row.live.name),
      el('td', { 'data-cell': 'state' }), el('td', { 'data-cell': 'since' }), el('td', { 'data-cell': 'reason' }),
      el('td', { 'data-cell': 'calls' }), el('td', { 'data-cell': 'caller' }), el('td', { 'data-cell': 'queues' }),
      supervise ? el('td', { class: 'actions' }, row.info?.user_id ? agentActions(w, row) : '') : ''))));
  if (!rows.length) table.tBodies[0].append(el('tr', {}, el('td', { colspan: heads.length + 1, class: 'muted' }, t('ui.no_results'))));
  w.agents.replaceChildren(el('div', { class: 'overflow-auto' }, table));
}

function updateAgentRow(w, row) {
  const tr = w.agents.querySelector(`tr[data-agent="${CSS.escape(row.key)}"]`);
  if (!tr) return;
  const s = rowState(w, row);
  const cell = (name) => tr.querySelector(`[data-cell=${name}]`);
  tr.dataset.state = s.state;
  const badge = cell('state').firstChild;
  if (!badge || badge.dataset.state !== s.state) {
    cell('state').replaceChildren(el('span', { class: `badge state-${s.state}`, 'data-state': s.state }, t(`ui.agent_state.${s.state}`)));
  }
  cell('since').dataset.since = s.since ?? '';
  cell('since').textContent = clock(s.since ? now() - s.since : null);
  cell('reason').textContent = s.state === 'paused' ? w.reasonLabels[s.reason] || s.reason || '' : '';
  const calls = row.info?.calls_today ?? Object.values(row.live?.queues || {}).reduce((n, q) => n + (q.calls_taken || 0), 0);
  cell('calls').textContent = String(calls);
  cell('caller').textContent = s.caller;
  cell('queues').textContent = s.queues.join(', ');
}

// Listen / whisper / barge at hand; the rarer actions folded in a <details> that survives redraws.
function agentActions(w, row) {
  const id = row.info.user_id;
  const base = `/api/acd/agents/${id}`;
  const spy = SPY_MODES.map((mode) => button(t(`ui.wall.${mode}`),
    () => act(() => api(`${base}/spy`, { method: 'POST', body: { mode } }), t('ui.wall.spy_started', { mode: t(`ui.wall.${mode}`) })),
    { class: 'outline small', 'data-action': mode }));
  const reason = w.reasons.length
    ? el('select', { name: 'reason', 'aria-label': t('ui.desk.pause_reason') }, w.reasons.map((r) => el('option', { value: r }, w.reasonLabels[r] || r)))
    : el('input', { name: 'reason', placeholder: t('ui.desk.pause_reason'), 'aria-label': t('ui.desk.pause_reason') });
  const allQueues = queues(w).map((q) => q.name);
  const from = el('select', { name: 'from_queue', 'aria-label': t('ui.wall.from_queue') }, rowState(w, row).queues.map((q) => el('option', { value: q }, q)));
  const to = el('select', { name: 'to_queue', 'aria-label': t('ui.wall.to_queue') }, allQueues.map((q) => el('option', { value: q }, q)));
  const more = el('details', { class: 'more', open: w.openRows.has(id) },
    el('summary', {}, t('ui.wall.more')),
    el('div', { class: 'toolbar' }, reason,
      button(t('ui.wall.force_pause'), () => act(() => api(`${base}/pause`, { method: 'POST', body: { reason: reason.value || w.reasons[0] } }), t('ui.wall.done')), { class: 'outline small', 'data-action': 'pause' }),
      button(t('ui.wall.unpause'), () => act(() => api(`${base}/unpause`, { method: 'POST' }), t('ui.wall.done')), { class: 'outline small', 'data-action': 'unpause' }),
      button(t('ui.wall.log_out'), () => act(() => api(`${base}/logout`, { method: 'POST', body: { queues: null } }), t('ui.wall.done')), { class: 'outline small secondary', 'data-action': 'logout' })),
    el('div', { class: 'toolbar' }, from, '→', to,
      button(t('ui.wall.move'), () => act(() => api(`${base}/move`, { method: 'POST', body: { from_queue: from.value, to_queue: to.value } }), t('ui.wall.done')), { class: 'outline small', 'data-action': 'move' })));
  more.addEventListener('toggle', () => { if (more.open) w.openRows.add(id); else w.openRows.delete(id); });
  return el('div', { class: 'agent-actions' }, el('div', { class: 'spy' }, spy), more);
}

// --- times that tick ----------------------------------------------------------------------------------
function tickTimes(w) {
  const n = now();
  for (const node of w.tiles.querySelectorAll('[data-figure=longest_wait][data-since]')) {
    if (node.dataset.since) node.textContent = clock(n - Number(node.dataset.since));
  }
  for (const node of w.agents.querySelectorAll('[data-cell=since]')) {
    if (node.dataset.since) node.textContent = clock(n - Number(node.dataset.since));
  }
  drawAlerts(w);
}

// --- charts: inline SVG, no library -------------------------------------------------------------------
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function drawCharts(w) {
  // Only queues that had calls today: empty charts would bury the ones that matter.
  const qs = (w.board?.queues || []).filter((q) => q.intervals?.some((i) => i.offered));
  w.charts.replaceChildren(el('h4', {}, t('ui.wall.by_interval')),
    qs.length ? '' : el('p', { class: 'muted' }, t('ui.wall.no_calls_today')),
    el('div', { class: 'chart-grid' }, qs.map((q) => el('figure', { 'data-chart': q.name }, chart(q),
      el('figcaption', {}, `${q.name} · `, el('span', { class: 'legend-volume' }, t('ui.offered')), ' · ',
        el('span', { class: 'legend-sl' }, t('ui.wall.service_level')), ' · ', el('span', { class: 'legend-target' }, t('ui.wall.target')))))));
}

function hourMinute(iso) {
  return formatDateTime(iso).slice(-5);
}

export function chart(q, width = 360, height = 140) {
  const pad = { l: 28, r: 28, t: 8, b: 18 };
  const iw = width - pad.l - pad.r;
  const ih = height - pad.t - pad.b;
  const n = q.intervals.length;
  const maxVolume = Math.max(1, ...q.intervals.map((i) => i.offered || 0));
  const step = iw / n;
  const y = (v) => pad.t + ih - (v / maxVolume) * ih;
  const ySl = (v) => pad.t + ih - (v / 100) * ih;
  const bars = q.intervals.map((i, k) => svg('rect', { class: 'bar', x: pad.l + k * step + 1, y: y(i.offered || 0), width: Math.max(step - 2, 1), height: pad.t + ih - y(i.offered || 0) },
    svg('title', {}, `${hourMinute(i.start)} ${t('ui.offered')} ${i.offered} · ${t('ui.answered')} ${i.answered} · ${t('ui.abandoned')} ${i.abandoned}`)));
  const sl = q.intervals.map((i, k) => (i.service_level_pct === null || i.service_level_pct === undefined ? null
    : { x: pad.l + k * step + step / 2, y: ySl(i.service_level_pct), i }));
  const points = sl.filter(Boolean).map((p) => `${p.x},${p.y}`);
  const dots = sl.filter(Boolean).map((p) => svg('circle', { cx: p.x, cy: p.y, r: 2.5, class: 'sl-dot' },
    svg('title', {}, `${hourMinute(p.i.start)} ${t('ui.wall.service_level')} ${pct(p.i.service_level_pct)}`)));
  const labels = q.intervals.map((i, k) => (k % Math.ceil(n / 6) === 0 ? svg('text', { x: pad.l + k * step, y: height - 4, class: 'axis' }, hourMinute(i.start)) : null));
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': t('ui.wall.chart_label', { queue: q.name }), class: 'chart' },
    svg('line', { x1: pad.l, x2: pad.l + iw, y1: pad.t + ih, y2: pad.t + ih, class: 'axis-line' }),
    svg('text', { x: 2, y: pad.t + 8, class: 'axis' }, String(maxVolume)),
    svg('text', { x: width - pad.r + 3, y: pad.t + 8, class: 'axis' }, '100%'),
    bars,
    q.target_pct ? svg('line', { x1: pad.l, x2: pad.l + iw, y1: ySl(q.target_pct), y2: ySl(q.target_pct), class: 'target' }) : null,
    points.length > 1 ? svg('polyline', { points: points.join(' '), class: 'sl' }) : null,
    dots,
    labels);
}

// --- escalated calls inbox ----------------------------------------------------------------------------
async function loadInbox(w) {
  let items;
  try {
    const open = await api('/api/escalations?status=open&limit=50');
    // Taken ones stay in the inbox until closed.
    const taken = await api('/api/escalations?status=taken&limit=50').catch(() => ({ items: [] }));
    items = [...(open.items || open), ...(taken.items || taken)];
  } catch (error) {
    w.inbox.replaceChildren(el('h4', {}, t('ui.wall.escalations')), el('p', { class: 'muted' }, error.message));
    return;
  }
  const typing = w.inbox.querySelector('input:focus');
  if (typing?.value) return;  // someone is typing a resolution: next time
  w.inbox.replaceChildren(el('h4', {}, t('ui.wall.escalations'), ' ', el('span', { class: 'badge', 'data-open': items.length }, String(items.length))),
    items.length ? el('table', { class: 'list', id: 'escalation-list' },
      el('thead', {}, el('tr', {}, ['ui.desk.time', 'ui.agent', 'ui.caller', 'ui.wall.customer', 'ui.reason', 'ui.state', 'ui.wall.actions'].map((k) => el('th', {}, t(k))))),
      el('tbody', {}, items.map((e) => escalationRow(w, e))))
      : el('p', { class: 'muted' }, t('ui.wall.no_escalations')));
}

function escalationRow(w, e) {
  const resolution = el('input', { name: 'resolution', placeholder: t('ui.wall.resolution'), 'aria-label': t('ui.wall.resolution') });
  return el('tr', { 'data-escalation': e.id },
    el('td', {}, formatDateTime(e.created_at)), el('td', {}, e.agent_name || ''), el('td', {}, e.caller_number || ''),
    el('td', {}, e.customer_id ? el('a', { href: `#/customers/${e.customer_id}` }, e.customer_name || `#${e.customer_id}`) : ''),
    el('td', {}, e.reason), el('td', {}, t(`ui.wall.escalation_${e.status}`), e.taken_by_name ? ` · ${e.taken_by_name}` : ''),
    el('td', { class: 'toolbar' },
      e.status === 'open' ? button(t('ui.wall.take'), async () => { if (await act(() => api(`/api/escalations/${e.id}/take`, { method: 'POST' }))) loadInbox(w); }, { class: 'small', 'data-action': 'take' }) : '',
      // Closed by whoever took it, with what was done.
      e.status === 'taken' ? resolution : '',
      e.status !== 'taken' ? '' : button(t('ui.wall.close'), async () => {
        if (!resolution.value.trim()) { resolution.focus(); return; }
        if (await act(() => api(`/api/escalations/${e.id}/close`, { method: 'POST', body: { resolution: resolution.value.trim() } }))) { resolution.blur(); loadInbox(w); }
      }, { class: 'small secondary', 'data-action': 'close' })));
}

export const wallboardRoutes = [[/^#\/wallboard$/, wallboardPage]];
