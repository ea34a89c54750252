// The agent desktop (#/desktop): queues, the state bar (what the PBX says, from the websocket), the screen
// pop with its ring countdown, call control, the inbound record of the call, escalation, complaint and
// follow-up from the call, click-to-dial, the call-back / follow-up work list and the outbound record of a
// dialled call, my calls and figures today, keyboard shortcuts, notifications.
import { api, ApiError } from './api.js';
import { t, enumLabel, formatDateTime } from './i18n.js';
import { el, renderForm } from './forms.js';
import { can, currentUser, toast } from './app.js';
import { connectLive, effectiveAgentState, clock, whileShown } from './ws-client.js';

const SHORTCUTS = [['a', 'answer'], ['h', 'hangup'], ['p', 'pause'], ['r', 'ready']];
const TRANSFER_KINDS = ['queue', 'extension', 'department'];

const button = (label, onclick, attrs = {}) => el('button', { type: 'button', onclick, ...attrs }, label);
const epochIso = (epoch) => (epoch ? new Date(epoch * 1000).toISOString() : null);
const now = () => Date.now() / 1000;

// Runs an API action; errors become a toast. Returns the answer, or undefined after an error.
async function act(fn) {
  try { return await fn(); } catch (error) { toast(error instanceof ApiError ? error.message : String(error), 'error'); return undefined; }
}

// A modal yes/no question (a <dialog>, so it is keyboard- and screen-reader-friendly).
export function confirmDialog(message, { yes = t('ui.desk.confirm'), no = t('ui.desk.cancel') } = {}) {
  return new Promise((resolve) => {
    const dialog = el('dialog', { id: 'confirm-dialog', 'aria-modal': 'true' });
    const done = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
    dialog.append(el('article', {},
      el('p', { role: 'alert' }, message),
      el('footer', {}, button(no, () => done(false), { class: 'secondary', 'data-answer': 'no' }),
        button(yes, () => done(true), { 'data-answer': 'yes' }))));
    dialog.addEventListener('cancel', () => done(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

// Click-to-dial; inside the customer's 不宜访问时间 the server refuses until the agent confirms. The answer
// says whether the agent's phone picked up (then the PBX dials the customer) or why not.
export async function dialCustomer(customerId, number = null) {
  const body = { customer_id: customerId, number, confirm_quiet_hours: false };
  const placed = (answer) => {
    if (answer.outcome === 'answered') toast(t('ui.desk.dialing', { number: answer.number_display || '' }));
    else toast(t(`ui.desk.dial_${answer.outcome}`), 'error');
    return answer;
  };
  try {
    return placed(await api('/api/desktop/dial', { method: 'POST', body }));
  } catch (error) {
    if (!(error instanceof ApiError) || error.body.error !== 'error.quiet_hours') {
      toast(error.message, 'error');
      return null;
    }
    if (!(await confirmDialog(error.message, { yes: t('ui.desk.dial_anyway') }))) return null;
    return act(async () => placed(await api('/api/desktop/dial', { method: 'POST', body: { ...body, confirm_quiet_hours: true } })));
  }
}

// --- the page -----------------------------------------------------------------------------------------
export async function desktopPage(main) {
  const me = currentUser();
  const session = await api('/api/desktop/session');
  const d = {
    me, session, ctx: null, live: null, hello: null, queuesShown: '',
    callShown: '', reasons: session.pause_reasons || [],
    // code → label in my language (the admin's pause reasons); the code is what the PBX gets
    reasonLabels: session.pause_reason_labels || {},
  };
  const root = el('div', { class: 'desktop', id: 'desktop' });
  d.root = root;
  d.statusLine = el('span', { class: 'muted', id: 'ws-status', 'data-status': 'connecting' }, t('ui.desk.connecting'));
  d.stateBar = el('section', { class: 'state-bar', id: 'state-bar', 'aria-live': 'polite', 'aria-label': t('ui.desk.my_state') });
  d.queuesBox = el('fieldset', { class: 'queue-choice', id: 'queue-choice' });
  d.popBox = el('section', { class: 'pop', id: 'pop', 'aria-live': 'assertive', 'aria-label': t('ui.desk.screen_pop') });
  d.callBox = el('section', { class: 'call-controls', id: 'call-controls', 'aria-label': t('ui.desk.call') });
  d.recordsBox = el('section', { class: 'records', id: 'call-records' });
  d.dialBox = el('section', { class: 'dial', id: 'dial' });
  d.followBox = el('section', { class: 'follow-list', id: 'follow-ups', 'aria-label': t('ui.desk.follow_ups') });
  d.myDayBox = el('section', { class: 'my-day', id: 'my-day' });

  root.append(
    el('header', { class: 'desk-head' }, el('h2', {}, t('menu.desktop')), d.statusLine, shortcutLegend(), notificationButton()),
    d.stateBar, d.queuesBox,
    el('div', { class: 'desk-grid' },
      el('div', { class: 'desk-main' }, d.popBox, d.callBox, d.recordsBox),
      el('aside', { class: 'desk-side' }, d.followBox, d.dialBox, d.myDayBox)));
  main.replaceChildren(root);

  // Reloaded during a call: carry on with it (its record form too).
  if (session.call) d.ctx = contextFromSession(session.call);
  renderAll(d);
  if (d.ctx?.phase === 'talking') openRecord(d, d.ctx);
  renderDial(d);
  loadFollowUps(d);
  loadMyDay(d);

  d.live = connectLive({
    scope: 'own',
    onHello: (hello) => { d.hello = hello; },
    onStatus: (s) => {
      if (s === 'open' && d.statusLine.dataset.status === 'closed') recoverCall(d);
      d.statusLine.dataset.status = s;
      d.statusLine.textContent = t(`ui.desk.ws_${s}`);
    },
    onChange: () => onLive(d),
    onPop: (pop) => onPop(d, pop),
  });
  const keys = (event) => onKey(d, event);
  document.addEventListener('keydown', keys);
  whileShown(root, () => tick(d), () => { d.live.close(); document.removeEventListener('keydown', keys); });
}

function renderAll(d) {
  renderStateBar(d);
  renderQueues(d);
  renderPop(d);
  renderCall(d);
}

// --- live state ---------------------------------------------------------------------------------------
// My live agent record: matched by my phone, else by my name (as the hub does).
function myAgent(d) {
  const agents = d.live?.state.agents || {};
  const phone = d.me.pbx_interface || d.hello?.user.pbx_interface;
  return Object.values(agents).find((a) => phone && a.interface === phone)
    || Object.values(agents).find((a) => a.name === d.me.full_name) || null;
}

const myCall = (d) => (d.ctx ? d.live?.state.calls[d.ctx.linkedid] || null : null);

function onLive(d) {
  followCall(d);
  const agent = myAgent(d);
  // Re-drawn only when the PBX changed something, so an open reason list is not closed under the agent.
  const stateSig = JSON.stringify([agent?.state, agent?.since, agent?.reason, agent?.wrapup_until]);
  if (stateSig !== d.stateShown) renderStateBar(d);
  const joined = Object.keys(agent?.queues || {}).sort().join(',');
  if (joined !== d.queuesShown) renderQueues(d);
  if (callSignature(d) !== d.callShown) renderCall(d);
}

// What the call controls depend on: redrawn only when it changes (a half-typed transfer target survives).
function callSignature(d) {
  const call = myCall(d);
  return JSON.stringify([d.ctx?.linkedid, d.ctx?.phase, call?.state, call?.muted, call?.recording]);
}

// The pop belongs to a call: answered here it becomes the call in progress, answered elsewhere (or its
// ring over) it goes away, ended it leaves the record to finish.
function followCall(d) {
  const ctx = d.ctx;
  if (!ctx) return;
  const agent = myAgent(d);
  const call = myCall(d);
  const mine = agent?.name;
  const before = ctx.phase;
  if (call && call.state === 'talking' && call.agent === mine) {
    ctx.phase = 'talking';
    ctx.answeredAt = ctx.answeredAt || call.since;
  } else if (call && call.state === 'ringing' && (call.ringing || []).includes(mine)) {
    ctx.phase = 'ringing';
    ctx.seenRinging = true;
  } else if (ctx.phase === 'talking') {
    ctx.phase = 'ended';
    ctx.endedAt = now();
    loadMyDay(d);
  } else if (ctx.phase === 'ringing' && (ctx.seenRinging || call)) {
    // Answered by someone else, or the ring ended. (A call not seen yet may still be on its way.)
    ctx.phase = 'missed';
  }
  if (ctx.phase !== before) {
    if (ctx.phase === 'talking') openRecord(d, ctx);
    if (ctx.phase === 'missed') { d.ctx = null; if (!ctx.recordTouched) ctx.article?.remove(); }
    renderPop(d);
  }
}

// The last pop, kept for this tab only, so that a reload during the call still shows the caller's file.
const POP_KEY = 'desktop.pop';
function rememberPop(pop) {
  try { sessionStorage.setItem(POP_KEY, JSON.stringify(pop)); } catch { /* storage full or off */ }
}
function rememberedPop(linkedid) {
  try {
    const pop = JSON.parse(sessionStorage.getItem(POP_KEY) || 'null');
    return pop?.linkedid === linkedid ? pop : null;
  } catch { return null; }
}

function contextFromSession(call) {
  const pop = rememberedPop(call.linkedid);
  return { linkedid: call.linkedid, uniqueid: call.uniqueid, queue: call.queue, pop, customer: pop?.customers[0] || null,
    phase: call.state === 'talking' ? 'talking' : 'ringing', answeredAt: call.state === 'talking' ? call.since : null,
    callerNumber: call.caller_number };
}

// A pop sent while the socket was down is lost (it is outside the delta stream): ask for my call.
async function recoverCall(d) {
  const session = await api('/api/desktop/session').catch(() => null);
  if (!session?.call || d.ctx?.linkedid === session.call.linkedid) return;
  d.ctx = contextFromSession(session.call);
  if (d.ctx.phase === 'talking') openRecord(d, d.ctx);
  renderPop(d);
  renderCall(d);
}

function onPop(d, pop) {
  if (d.ctx && d.ctx.linkedid === pop.linkedid && d.ctx.pop) return;
  d.ctx = { linkedid: pop.linkedid, uniqueid: pop.uniqueid, queue: pop.queue, pop, customer: pop.customers[0] || null,
    phase: 'ringing', callerNumber: pop.caller_number };
  rememberPop(pop);
  followCall(d);
  renderPop(d);
  renderCall(d);
  notify(pop);
}

// --- state bar ----------------------------------------------------------------------------------------
function renderStateBar(d) {
  const agent = myAgent(d);
  d.stateShown = JSON.stringify([agent?.state, agent?.since, agent?.reason, agent?.wrapup_until]);
  const { state, since } = effectiveAgentState(agent);
  const reason = state === 'paused' && agent?.reason ? agent.reason : '';
  const pauseSelect = el('select', { id: 'pause-reason', 'aria-label': t('ui.desk.pause_reason') },
    d.reasons.map((r) => el('option', { value: r, selected: r === d.pauseChoice }, d.reasonLabels[r] || r)));
  pauseSelect.addEventListener('change', () => { d.pauseChoice = pauseSelect.value; });
  d.stateBar.replaceChildren(
    el('span', { class: `badge big state-${state}`, id: 'my-state', 'data-state': state }, t(`ui.agent_state.${state}`)),
    reason ? el('span', { class: 'reason', id: 'my-reason', 'data-code': reason }, d.reasonLabels[reason] || reason) : '',
    // Ticking times are not announced every second: only the state itself is.
    el('span', { class: 'muted', 'aria-live': 'off' }, t('ui.desk.in_state'), ' ', el('time', { id: 'time-in-state', 'data-since': since ?? '' }, clock(since ? now() - since : null))),
    state === 'wrap_up' && agent?.wrapup_until
      ? el('span', { class: 'wrapup', 'aria-live': 'off' }, t('ui.desk.wrapup_left'), ' ', el('time', { id: 'wrapup-left', 'data-until': agent.wrapup_until }, clock(agent.wrapup_until - now())))
      : '',
    el('span', { class: 'spacer' }),
    button(t('ui.desk.ready'), () => ready(d), { id: 'btn-ready', 'aria-keyshortcuts': 'R', disabled: !agent || state === 'available' }),
    pauseSelect,
    button(t('ui.desk.pause'), () => pause(d), { id: 'btn-pause', class: 'secondary', 'aria-keyshortcuts': 'P', disabled: !agent || state === 'paused' }));
}

const ready = (d) => act(() => api('/api/desktop/unpause', { method: 'POST' }));
function pause(d) {
  const reason = d.stateBar.querySelector('#pause-reason')?.value || d.reasons[0];
  return act(() => api('/api/desktop/pause', { method: 'POST', body: { reason } }));
}

// --- queues -------------------------------------------------------------------------------------------
function renderQueues(d) {
  const agent = myAgent(d);
  const mine = agent ? Object.keys(agent.queues || {}) : d.session.my_queues || [];
  d.queuesShown = [...mine].sort().join(',');
  const all = [...new Set([...(d.session.allowed_queues || d.session.queues || []), ...mine])].sort();
  d.queuesBox.replaceChildren(el('legend', {}, t('ui.desk.my_queues')),
    ...(all.length ? all.map((q) => el('label', { class: 'queue-toggle' },
      el('input', { type: 'checkbox', role: 'switch', name: 'queue', value: q, 'data-queue': q, checked: mine.includes(q),
        onchange: (e) => toggleQueue(d, q, e.target) }), ` ${q}`))
      : [el('span', { class: 'muted' }, t('ui.desk.no_queues'))]));
}

async function toggleQueue(d, queue, box) {
  const path = box.checked ? '/api/desktop/queues/login' : '/api/desktop/queues/logout';
  box.setAttribute('aria-busy', 'true');
  const done = await act(() => api(path, { method: 'POST', body: { queues: [queue] } }));
  box.removeAttribute('aria-busy');
  if (done === undefined) box.checked = !box.checked;  // refused: the PBX did not change
}

// --- screen pop ---------------------------------------------------------------------------------------
function renderPop(d) {
  const ctx = d.ctx;
  if (!ctx) { d.popBox.replaceChildren(el('p', { class: 'muted', id: 'no-call' }, t('ui.desk.no_call'))); return; }
  const pop = ctx.pop;
  const head = el('header', { class: 'pop-head' },
    el('strong', { id: 'pop-caller', 'data-linkedid': ctx.linkedid }, ctx.callerNumber || t('ui.desk.anonymous')),
    el('span', { class: `badge phase-${ctx.phase}`, id: 'call-phase', 'data-phase': ctx.phase }, t(`ui.desk.phase_${ctx.phase}`)),
    el('span', {}, t('ui.queue'), ': ', el('b', { id: 'pop-queue' }, ctx.queue || '—')),
    pop?.waited_s !== null && pop?.waited_s !== undefined ? el('span', {}, t('ui.desk.waited'), ': ', clock(pop.waited_s)) : '');
  const parts = [head];
  if (pop?.ivr) parts.push(ivrSummary(pop.ivr));
  if (pop && ctx.phase === 'ringing') {
    parts.push(el('div', { class: 'ring', 'aria-live': 'off' }, el('label', { for: 'ring-countdown' }, t('ui.desk.ring_target'), ' ',
      el('time', { id: 'ring-left' }, '')), el('progress', { id: 'ring-countdown', max: pop.three_rings_s, value: 0 })));
  }
  if (ctx.customer) parts.push(customerCard(d, ctx.customer, true));
  for (const other of (pop?.customers || []).slice(1)) parts.push(customerCard(d, other, false));
  if (pop?.unknown_caller && !ctx.customer) parts.push(quickCreate(d, ctx));
  if (pop?.recent_calls?.length) parts.push(el('h5', {}, t('ui.recent_calls')), recentCalls(pop.recent_calls));
  if (pop?.open_complaints?.length) parts.push(el('h5', {}, t('ui.open_complaints')), openComplaints(pop.open_complaints));
  d.popBox.replaceChildren(el('article', { class: `pop-card phase-${ctx.phase}` }, parts));
  tick(d);
}

// The caller's way through the IVR for this call: "3 投诉 › 0 人工服务", the id typed, self-service done.
// A caption is a key of ivr.choice.* (or an admin's plain text, which t() hands back as it is).
function ivrSummary(ivr) {
  const choices = ivr.choices.map((c, i) => [i ? ' › ' : '',
    el('span', { class: 'ivr-choice', 'data-digit': c.digit }, el('kbd', {}, c.digit), c.caption ? ` ${t(`ivr.choice.${c.caption}`)}` : '')]).flat();
  return el('div', { class: 'pop-ivr', id: 'pop-ivr' },
    el('span', { class: 'muted' }, t('field.ivr_path'), ': '),
    choices.length ? el('span', { id: 'pop-ivr-choices' }, choices) : el('span', { class: 'muted' }, t('ui.desk.ivr_no_choice')),
    ivr.customer_code ? el('span', { id: 'pop-ivr-customer', 'data-by': ivr.identified_by || '' }, ' · ',
      t(ivr.identified_by === 'customer_by_id' ? 'ui.desk.ivr_customer_typed' : 'ui.desk.ivr_customer_by_number', { code: ivr.customer_code })) : '',
    ivr.entered.length && !ivr.customer_code ? el('span', { id: 'pop-ivr-entered' }, ' · ', t('ui.desk.ivr_entered', { digits: ivr.entered.join(', ') })) : '',
    ivr.self_service ? el('span', { class: 'badge', id: 'pop-ivr-self-service' }, t('ui.desk.ivr_self_service')) : '');
}

function customerCard(d, c, current) {
  return el('div', { class: `customer${current ? ' current' : ''}`, 'data-customer-id': c.id },
    el('div', { class: 'customer-name' },
      el('a', { href: `#/customers/${c.id}`, class: 'pop-customer-name' }, c.name), ' ',
      el('span', { class: 'muted' }, c.code), ' ',
      el('span', { class: `badge grade-${c.grade}`, 'data-grade': c.grade, title: t('field.grade') }, c.grade), ' ',
      el('span', { class: 'badge secret', 'data-confidentiality': c.confidentiality, title: t('field.confidentiality') },
        `${t('field.confidentiality')}: ${enumLabel('Clearance', c.confidentiality)}`)),
    el('div', { class: 'muted' }, [enumLabel('CustomerKind', c.kind), c.region, c.contact_person].filter(Boolean).join(' · ')),
    c.unsuitable_now ? el('div', { class: 'warn', role: 'note' }, t('ui.desk.unsuitable_now')) : '',
    el('div', { class: 'toolbar' },
      !current ? button(t('ui.desk.this_is_the_caller'), () => chooseCustomer(d, d.ctx, c), { class: 'outline' }) : '',
      can('desktop.use') ? button(t('ui.desk.dial'), () => dialAndRecord(d, { customer: c }), { class: 'outline', 'data-dial': c.id }) : ''));
}

// The caller's file from now on: shown first, on the record, and remembered over a reload.
function chooseCustomer(d, ctx, c) {
  ctx.customer = c;
  if (ctx.pop) {
    ctx.pop = { ...ctx.pop, customers: [c, ...ctx.pop.customers.filter((x) => x.id !== c.id)], unknown_caller: false };
    rememberPop(ctx.pop);
  }
  renderPop(d);
  fillRecordCustomer(ctx, c);
}

function recentCalls(rows) {
  return el('ul', { class: 'recent', id: 'pop-recent' }, rows.map((r) => el('li', {},
    `${formatDateTime(epochIso(r.started_at))} · ${t(`menu.${r.direction}`)} · ${r.agent_name || ''} · ${r.content || ''}`)));
}

function openComplaints(rows) {
  return el('ul', { class: 'complaints', id: 'pop-complaints' }, rows.map((c) => el('li', {},
    el('a', { href: `#/complaints/${c.id}` }, c.case_number), ' ',
    enumLabel('ComplaintStatus', c.status), ' · ', enumLabel('ComplaintCategory', c.category),
    c.promised_deadline ? ` · ${t('field.promised_deadline')} ${formatDateTime(epochIso(c.promised_deadline))}` : '')));
}

// An unknown caller: a short customer form. The caller's number is never typed (the agent sees it masked):
// the form names the call (its linkedid) and the server files the number from it (POST /api/customers/from-call,
// only for this agent's own call); the phones here are further numbers only.
function quickCreate(d, ctx) {
  const box = el('div', { class: 'quick-create', id: 'quick-create' }, el('h5', {}, t('ui.desk.unknown_caller')));
  const note = el('p', { class: 'muted', id: 'quick-create-number' }, ctx.callerNumber
    ? t('ui.customers.from_call.number', { number: ctx.callerNumber }) : t('ui.customers.from_call.no_number'));
  renderForm(box, 'CustomerFromCall', {
    only: ['name', 'kind', 'grade', 'region', 'contact_person', 'phones'],
    initial: { grade: 'B', phones: ctx.callerNumber ? [] : [{ number: '', is_primary: true }] },
    extra: note,
    submitLabel: t('ui.desk.create_customer'),
    onSubmit: async (values) => {
      const saved = await api('/api/customers/from-call', { method: 'POST', body: { ...values, pbx_linkedid: ctx.linkedid } });
      toast(t('ui.saved'));
      chooseCustomer(d, ctx, { id: saved.id, code: saved.code, name: saved.name, grade: saved.grade, confidentiality: saved.confidentiality,
        kind: saved.kind, region: saved.region, contact_person: saved.contact_person, unsuitable_now: false });
    },
  });
  return box;
}

// --- call control -------------------------------------------------------------------------------------
function renderCall(d) {
  const ctx = d.ctx;
  const call = myCall(d);
  d.callShown = callSignature(d);
  if (!ctx || !['ringing', 'talking'].includes(ctx.phase)) { d.callBox.replaceChildren(); return; }
  const ringing = ctx.phase === 'ringing';
  const bar = el('div', { class: 'toolbar call-buttons' },
    ringing && d.session.answer_in_browser ? button(`${t('ui.desk.answer')} (A)`, () => answer(d), { id: 'btn-answer', 'aria-keyshortcuts': 'A' }) : '',
    ringing && !d.session.answer_in_browser ? el('span', { class: 'muted' }, t('ui.desk.answer_on_phone')) : '',
    !ringing ? button(`${t('ui.desk.hangup')} (H)`, () => hangup(d), { id: 'btn-hangup', class: 'danger', 'aria-keyshortcuts': 'H' }) : '',
    !ringing ? recordingButton(d, call) : '');
  const parts = [bar];
  if (!ringing) parts.push(transferForm(d, ctx), escalateForm(d, ctx));
  d.callBox.replaceChildren(...parts);
}

async function answer(d) {
  if (d.ctx?.phase !== 'ringing' || !d.session.answer_in_browser) return;
  await act(() => api('/api/desktop/answer', { method: 'POST' }));
}

async function hangup(d) {
  if (d.ctx?.phase !== 'talking') return;
  await act(() => api('/api/desktop/hangup', { method: 'POST', body: { linkedid: d.ctx.linkedid } }));
}

// Pause recording while the caller reads out a card number; the button shows what the PBX says.
function recordingButton(d, call) {
  const muted = Boolean(call?.muted);
  return button(muted ? t('ui.desk.resume_recording') : t('ui.desk.pause_recording'),
    () => act(() => api('/api/desktop/recording', { method: 'POST', body: { muted: !muted, linkedid: d.ctx.linkedid } })),
    { id: 'btn-recording', class: 'secondary outline', 'aria-pressed': String(muted), 'data-muted': String(muted) });
}

function transferForm(d, ctx) {
  const kind = el('select', { name: 'kind', id: 'transfer-kind', 'aria-label': t('ui.desk.transfer_kind') },
    TRANSFER_KINDS.map((k) => el('option', { value: k }, t(`ui.desk.transfer_${k}`))));
  const target = el('span', { class: 'target' });
  const targetControl = () => {
    const k = kind.value;
    const options = k === 'queue' ? d.session.queues || [] : k === 'department' ? d.session.transfer_departments || [] : null;
    target.replaceChildren(options
      ? el('select', { name: 'target', id: 'transfer-target', 'aria-label': t('ui.desk.transfer_target') }, options.map((o) => el('option', { value: o }, o)))
      : el('input', { name: 'target', id: 'transfer-target', inputmode: 'numeric', placeholder: t('ui.desk.extension'), 'aria-label': t('ui.desk.transfer_target') }));
  };
  kind.addEventListener('change', targetControl);
  targetControl();
  const form = el('form', { class: 'toolbar', id: 'transfer-form' }, el('strong', {}, t('ui.desk.transfer')), kind, target,
    el('button', { type: 'submit', class: 'outline' }, t('ui.desk.transfer_go')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { kind: kind.value, target: form.querySelector('[name=target]').value.trim(), linkedid: ctx.linkedid };
    if (!body.target) return;
    const done = await act(() => api('/api/desktop/transfer', { method: 'POST', body }));
    if (done) {
      ctx.transfer = done;
      toast(t('ui.desk.transferred', { target: body.target }));
      // The record tracks where the call went.
      setRecordValue(ctx, 'outcome', 'transferred');
      setRecordValue(ctx, 'transferred_to_department', body.target);
    }
  });
  return form;
}

function escalateForm(d, ctx) {
  const reason = el('input', { name: 'reason', id: 'escalate-reason', placeholder: t('ui.desk.escalate_reason'), 'aria-label': t('ui.desk.escalate_reason'), maxlength: 500 });
  const form = el('form', { class: 'toolbar', id: 'escalate-form' }, el('strong', {}, t('ui.desk.escalate')), reason,
    el('button', { type: 'submit', class: 'outline' }, t('ui.desk.escalate_go')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!reason.value.trim()) { reason.focus(); return; }
    const body = { linkedid: ctx.linkedid, customer_id: ctx.customer?.id ?? null, reason: reason.value.trim(),
      caller_number: ctx.callerNumber && !ctx.callerNumber.includes('*') ? ctx.callerNumber : null };
    if (await act(() => api('/api/escalations', { method: 'POST', body }))) {
      toast(t('ui.desk.escalated'));
      reason.value = '';
      setRecordValue(ctx, 'outcome', 'escalated');
    }
  });
  return form;
}

// --- the call's records -------------------------------------------------------------------------------
// One article per answered call, kept until its record is saved, so a second call never loses the first's.
async function openRecord(d, ctx) {
  if (ctx.article) return;
  ctx.article = el('article', { class: 'call-record', 'data-linkedid': ctx.linkedid });
  d.recordsBox.prepend(ctx.article);
  const c = ctx.customer;
  const unmasked = ctx.callerNumber && !ctx.callerNumber.includes('*') ? ctx.callerNumber : null;
  ctx.article.append(el('header', {}, el('strong', {}, t('ui.desk.call_record')), ' ',
    el('span', { class: 'muted' }, `${t('ui.agent')}: ${d.me.full_name}${d.me.agent_number ? ` (${d.me.agent_number})` : ''} · ${t('ui.desk.call_id')}: `),
    el('code', { class: 'linkedid' }, ctx.linkedid),
    ctx.callerNumber ? el('span', { class: 'muted' }, ` · ${t('ui.caller')}: ${ctx.callerNumber}`) : ''));
  ctx.recordForm = await renderForm(ctx.article, 'InboundCreate', {
    exclude: ['agent_id'],
    initial: {
      started_at: epochIso(ctx.answeredAt) || new Date().toISOString(),
      customer_id: c?.id, caller_name: c ? c.contact_person || c.name : null,
      caller_organisation: c?.kind === 'corporate' ? c.name : null,
      caller_number: unmasked, pbx_linkedid: ctx.linkedid, pbx_uniqueid: ctx.uniqueid, queue_name: ctx.queue,
      ivr_path: ctx.pop?.ivr_path || null,
    },
    submitLabel: t('ui.desk.save_record'),
    onSubmit: async (values) => {
      const saved = await api('/api/records/inbound', { method: 'POST', body: values });
      ctx.recordId = saved.id;
      toast(t('ui.saved'));
      ctx.article.replaceChildren(el('p', { class: 'saved', 'data-record-id': saved.id },
        t('ui.desk.record_saved'), ' ', el('a', { href: `#/records/inbound/${saved.id}` }, `#${saved.id}`)));
      loadMyDay(d);
    },
  });
  // The PBX gave the call id and the queue: not for typing over.
  for (const name of ['pbx_linkedid', 'pbx_uniqueid', 'queue_name']) ctx.recordForm.querySelector(`[data-path=${name}]`)?.setAttribute('readonly', '');
  ctx.recordForm.addEventListener('input', () => { ctx.recordTouched = true; });
  ctx.article.append(followUps(d, ctx));
}

function setRecordValue(ctx, name, value) {
  const node = ctx.recordForm?.querySelector(`[data-path=${name}]`);
  if (node) node.value = value;
}

function fillRecordCustomer(ctx, c) {
  setRecordValue(ctx, 'customer_id', c.id);
  const name = ctx.recordForm?.querySelector('[data-path=caller_name]');
  if (name && !name.value) name.value = c.contact_person || c.name;
}

// Complaint and call-back from the call, folded until needed.
function followUps(d, ctx) {
  const box = el('div', { class: 'follow-ups' });
  if (can('complaints.create')) {
    const details = el('details', { id: 'complaint-from-call' }, el('summary', {}, t('ui.desk.new_complaint')));
    details.addEventListener('toggle', () => {
      if (!details.open || details.querySelector('form')) return;
      const c = ctx.customer;
      renderForm(details, 'ComplaintCreate', {
        initial: { channel: 'phone', customer_id: c?.id, customer_name: c ? c.contact_person || c.name : '', pbx_call_linkedid: ctx.linkedid,
          received_at: epochIso(ctx.answeredAt), customer_phone: ctx.callerNumber?.includes('*') ? null : ctx.callerNumber },
        onSubmit: async (values) => {
          const saved = await api('/api/complaints', { method: 'POST', body: values });
          details.replaceChildren(el('p', { class: 'saved' }, t('ui.desk.complaint_saved'), ' ', el('a', { href: `#/complaints/${saved.id}` }, saved.case_number)));
        },
      });
    }, { once: false });
    box.append(details);
  }
  const callback = el('details', { id: 'callback-from-call' }, el('summary', {}, t('ui.desk.schedule_callback')));
  callback.addEventListener('toggle', () => {
    if (!callback.open || callback.querySelector('form')) return;
    if (!ctx.customer) { callback.append(el('p', { class: 'muted' }, t('ui.desk.callback_needs_customer'))); return; }
    const c = ctx.customer;
    renderForm(callback, 'OutboundCreate', {
      exclude: ['agent_id', 'pbx_linkedid', 'pbx_uniqueid'],
      initial: { customer_id: c.id, customer_name: c.contact_person || c.name, started_at: new Date().toISOString(), purpose: 'callback',
        called_organisation: c.kind === 'corporate' ? c.name : null },
      onSubmit: async (values) => {
        const saved = await api('/api/records/outbound', { method: 'POST', body: values });
        callback.replaceChildren(el('p', { class: 'saved' }, t('ui.desk.callback_saved'), ' ', el('a', { href: `#/records/outbound/${saved.id}` }, `#${saved.id}`)));
        loadFollowUps(d);  // a call-back due today joins the work list
      },
    });
  });
  box.append(callback);
  return box;
}

// --- click-to-dial ------------------------------------------------------------------------------------
function renderDial(d) {
  if (!can('customers.read')) return;
  const results = el('ul', { class: 'dial-results', id: 'dial-results' });
  const input = el('input', { type: 'search', name: 'q', placeholder: t('ui.search_customers'), 'aria-label': t('ui.desk.find_customer') });
  const form = el('form', { class: 'toolbar', role: 'search' }, input, el('button', { type: 'submit', class: 'outline' }, t('ui.search')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const page = await act(() => api(`/api/customers?q=${encodeURIComponent(input.value.trim())}&limit=8`));
    if (!page) return;
    results.replaceChildren(...(page.items.length ? page.items.map((c) => el('li', {},
      el('a', { href: `#/customers/${c.id}` }, `${c.code} ${c.name}`), ' ',
      button(t('ui.desk.dial'), () => dialAndRecord(d, { customer: c }), { class: 'outline small', 'data-dial': c.id })))
      : [el('li', { class: 'muted' }, t('ui.no_results'))]));
  });
  d.dialBox.replaceChildren(el('h4', {}, t('ui.desk.click_to_dial')), form, results);
}

// --- call-backs and follow-ups ------------------------------------------------------------------------
const FOLLOW_UPS_REFRESH_S = 60;
const followKey = (item) => `${item.source}-${item.source_id}`;
// The outbound record's purpose, from what the call follows up.
const PURPOSE_OF = { follow_up: 'follow_up', callback_requested: 'callback', complaint_callback: 'callback' };

async function loadFollowUps(d) {
  d.followLoadedAt = now();
  let items;
  try { items = await api('/api/desktop/follow-ups'); } catch (error) {
    d.followBox.replaceChildren(el('h4', {}, t('ui.desk.follow_ups')), el('p', { class: 'muted' }, error.message));
    return;
  }
  const endOfNow = Date.now();
  d.followBox.replaceChildren(el('h4', {}, t('ui.desk.follow_ups'), ' ', el('span', { class: 'badge', id: 'follow-up-count' }, String(items.length))),
    items.length
      ? el('ul', { class: 'follow-up-list', id: 'follow-up-list' }, items.map((item) => followUpItem(d, item, endOfNow)))
      : el('p', { class: 'muted', id: 'no-follow-ups' }, t('ui.desk.no_follow_ups')));
}

function followUpItem(d, item, nowMs) {
  const overdue = item.due_at && new Date(item.due_at).getTime() < nowMs;
  const source = item.source === 'complaint'
    ? el('a', { href: `#/complaints/${item.source_id}` }, item.case_number || `#${item.source_id}`)
    : el('a', { href: `#/records/outbound/${item.source_id}` }, `${t('ui.desk.outbound_record')} #${item.source_id}`);
  const dial = item.customer_id
    ? button(t('ui.desk.dial'), () => dialAndRecord(d, { customer: { id: item.customer_id, name: item.customer_name, code: item.customer_code }, item }),
      { class: 'outline small', 'data-dial-follow-up': followKey(item) })
    : el('span', { class: 'muted small' }, t('ui.desk.no_customer_file'));
  return el('li', { 'data-follow-up': followKey(item), 'data-kind': item.kind, class: overdue ? 'overdue' : null },
    el('div', { class: 'follow-up-head' },
      el('span', { class: `badge kind-${item.kind}` }, enumLabel('FollowUpKind', item.kind)), ' ',
      item.customer_id ? el('a', { href: `#/customers/${item.customer_id}` }, [item.customer_code, item.customer_name].filter(Boolean).join(' '))
        : el('span', {}, item.customer_name),
      el('span', { class: 'spacer' }), dial),
    el('div', { class: 'muted small' },
      item.due_at ? el('span', { class: overdue ? 'warn' : null }, `${overdue ? t('ui.desk.overdue') : t('ui.desk.due')} ${formatDateTime(item.due_at)} · `) : '',
      source, item.note ? ` · ${item.note}` : ''));
}

// Dial (quiet hours confirmed when needed); once the agent's phone picked up, the outbound record of the call.
async function dialAndRecord(d, { customer, item = null }) {
  const answer = await dialCustomer(customer.id);
  if (answer?.outcome === 'answered') openOutbound(d, { customer, item, answer });
}

async function openOutbound(d, { customer: c, item, answer }) {
  const article = el('article', { class: 'outbound-record', 'data-uniqueid': answer.uniqueid || '', 'data-customer-id': c.id,
    'data-follow-up': item ? followKey(item) : null });
  d.recordsBox.prepend(article);
  const dismiss = button('×', () => article.remove(), { class: 'secondary outline small close', title: t('ui.desk.discard'), 'aria-label': t('ui.desk.discard') });
  article.append(el('header', {}, el('strong', {}, t('ui.desk.outbound_record')), ' ',
    el('span', { class: 'muted' }, [c.code, c.name].filter(Boolean).join(' ')),
    item ? el('span', { class: 'muted' }, ` · ${enumLabel('FollowUpKind', item.kind)}`) : '',
    answer.uniqueid ? el('span', { class: 'muted' }, ` · ${t('ui.desk.call_id')}: `) : '', answer.uniqueid ? el('code', {}, answer.uniqueid) : '', dismiss));
  const shown = answer.number_display && !answer.number_display.includes('*') ? answer.number_display : null;
  const form = await renderForm(article, 'OutboundCreate', {
    exclude: ['agent_id'],
    initial: {
      customer_id: c.id, customer_name: c.contact_person || c.name || null, started_at: new Date().toISOString(),
      called_organisation: c.kind === 'corporate' ? c.name : null, called_number: shown,
      pbx_uniqueid: answer.uniqueid, pbx_linkedid: answer.uniqueid,
      purpose: item ? PURPOSE_OF[item.kind] : null,
    },
    submitLabel: t('ui.desk.save_outbound'),
    onSubmit: async (values) => {
      const saved = await api('/api/records/outbound', { method: 'POST', body: values });
      toast(t('ui.saved'));
      article.replaceChildren(el('p', { class: 'saved', 'data-outbound-id': saved.id },
        t('ui.desk.outbound_saved'), ' ', el('a', { href: `#/records/outbound/${saved.id}` }, `#${saved.id}`)), linkBack(d, item));
      loadFollowUps(d);
      loadMyDay(d);
    },
  });
  // The PBX gave the call id: not for typing over.
  for (const name of ['pbx_linkedid', 'pbx_uniqueid']) form.querySelector(`[data-path=${name}]`)?.setAttribute('readonly', '');
  form.querySelector('[data-path=content]')?.focus();
}

// After the record: back to what the call followed up. A complaint's 回访 is the complaint's own step:
// its form for those who handle complaints, a link for the others.
function linkBack(d, item) {
  if (!item) return '';
  if (item.source === 'outbound') {
    return el('p', { class: 'muted' }, t('ui.desk.follows_record'), ' ', el('a', { href: `#/records/outbound/${item.source_id}` }, `#${item.source_id}`));
  }
  const link = el('a', { href: `#/complaints/${item.source_id}`, id: 'complaint-callback-link' }, t('ui.desk.open_complaint', { case: item.case_number || `#${item.source_id}` }));
  if (!can('complaints.handle')) return el('p', {}, link);
  const details = el('details', { id: 'complaint-callback', open: true }, el('summary', {}, t('ui.desk.record_complaint_callback'), ' ', link));
  renderForm(details, 'CallbackIn', {
    onSubmit: async (values) => {
      await api(`/api/complaints/${item.source_id}/callback`, { method: 'POST', body: values });
      details.replaceChildren(el('p', { class: 'saved' }, t('ui.desk.complaint_callback_saved'), ' ', link));
      loadFollowUps(d);
    },
  });
  return details;
}

// --- my day -------------------------------------------------------------------------------------------
const FIGURES = ['answered', 'avg_talk_s', 'avg_wait_s', 'within_three_rings_pct', 'transferred', 'missed_rings', 'records_written', 'complaints_created', 'escalations'];

function figure(key, value) {
  if (value === null || value === undefined) return '—';
  if (key.endsWith('_pct')) return `${Math.round(value)}%`;
  if (key.endsWith('_s')) return clock(value);
  return String(value);
}

async function loadMyDay(d) {
  let day;
  try { day = await api('/api/desktop/my-day'); } catch (error) {
    d.myDayBox.replaceChildren(el('h4', {}, t('ui.desk.my_day')), el('p', { class: 'muted' }, error.message));
    return;
  }
  d.myDayBox.replaceChildren(el('h4', {}, t('ui.desk.my_day')),
    el('div', { class: 'figures' }, FIGURES.map((k) => el('div', {}, el('span', { class: 'muted' }, t(`ui.desk.figure.${k}`)),
      el('b', { 'data-figure': k }, figure(k, day.figures?.[k]))))),
    el('table', { class: 'list', id: 'my-calls' },
      el('thead', {}, el('tr', {}, ['ui.desk.time', 'ui.queue', 'ui.caller', 'ui.desk.talk', 'ui.desk.outcome', 'ui.desk.record'].map((k) => el('th', {}, t(k))))),
      el('tbody', {}, (day.calls || []).map((c) => el('tr', { 'data-linkedid': c.linkedid },
        el('td', {}, formatDateTime(c.joined_at)), el('td', {}, c.queue || ''), el('td', {}, c.caller || ''),
        el('td', {}, clock(c.talk_s)), el('td', {}, outcomeLabel(c)),
        el('td', {}, c.inbound_record_id
          ? el('a', { href: `#/records/inbound/${c.inbound_record_id}` }, `#${c.inbound_record_id}`)
          : el('span', { class: 'muted', 'data-unrecorded': c.linkedid }, t('ui.desk.not_recorded'))))))));
}

// What became of the call, and of the transfer when there was one (tracked by the server).
function outcomeLabel(c) {
  const parts = [enumLabel('CallOutcome', c.outcome)];
  if (c.transfer_target) parts.push(`→ ${c.transfer_target}`);
  if (c.transfer_result) parts.push(`(${enumLabel('TransferResult', c.transfer_result)})`);
  return parts.filter(Boolean).join(' ');
}

// --- every second: countdowns and times ---------------------------------------------------------------
function tick(d) {
  const n = now();
  if (d.followLoadedAt && n - d.followLoadedAt > FOLLOW_UPS_REFRESH_S) loadFollowUps(d);  // follow-ups fall due
  const since = d.stateBar.querySelector('#time-in-state');
  if (since?.dataset.since) since.textContent = clock(n - Number(since.dataset.since));
  const wrap = d.stateBar.querySelector('#wrapup-left');
  if (wrap) {
    const left = Number(wrap.dataset.until) - n;
    if (left <= 0) renderStateBar(d); else wrap.textContent = clock(left);
  }
  const pop = d.ctx?.pop;
  const bar = d.popBox.querySelector('#ring-countdown');
  if (pop && bar) {
    const elapsed = n - pop.ring_started_at;
    bar.value = Math.min(elapsed, pop.three_rings_s);
    bar.classList.toggle('late', elapsed > pop.three_rings_s);
    d.popBox.querySelector('#ring-left').textContent = elapsed <= pop.three_rings_s
      ? t('ui.desk.seconds_left', { s: Math.ceil(pop.three_rings_s - elapsed) })
      : t('ui.desk.seconds_over', { s: Math.floor(elapsed - pop.three_rings_s) });
  }
}

// --- keyboard shortcuts and notifications -------------------------------------------------------------
function shortcutLegend() {
  return el('span', { class: 'shortcuts muted', id: 'shortcuts', 'aria-label': t('ui.desk.shortcuts') },
    SHORTCUTS.map(([key, action]) => el('span', {}, el('kbd', {}, key.toUpperCase()), ` ${t(`ui.desk.${action}`)}`)));
}

function onKey(d, event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  const target = event.target;
  if (target.closest?.('input, textarea, select, [contenteditable], dialog')) return;  // typing, not commanding
  const action = Object.fromEntries(SHORTCUTS)[event.key.toLowerCase()];
  if (!action) return;
  event.preventDefault();
  if (action === 'answer') answer(d);
  else if (action === 'hangup') hangup(d);
  else if (action === 'pause') pause(d);
  else if (action === 'ready') ready(d);
}

// Permission is asked on a click, never on load.
function notificationButton() {
  if (!('Notification' in window) || Notification.permission !== 'default') return '';
  const b = button(t('ui.desk.enable_notifications'), async () => { await Notification.requestPermission(); b.remove(); },
    { class: 'secondary outline small', id: 'btn-notifications' });
  return b;
}

function notify(pop) {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  const c = pop.customers[0];
  const n = new Notification(t('ui.desk.incoming_call'), {
    body: [pop.caller_number, c ? `${c.name} (${c.grade})` : t('ui.desk.unknown_caller'), pop.queue].filter(Boolean).join(' · '),
    tag: pop.linkedid,
  });
  n.onclick = () => { window.focus(); n.close(); };
}

export const desktopRoutes = [[/^#\/desktop$/, desktopPage]];
