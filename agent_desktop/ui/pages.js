// The pages of each domain. Generic list/detail/form pages cover the paper forms; customers and
// complaints get richer detail views (screen-pop material, the complaint workflow).
import { api, query } from './api.js';
import { t, enumLabel, formatDateTime, fieldLabel, scopeOf } from './i18n.js';
import { el, renderForm, schemas, fieldsOf } from './forms.js';
import { renderList, cell } from './lists.js';
import { can, go, toast } from './app.js';

const h2 = (key, ...rest) => el('h2', {}, t(key), ...rest);
const button = (label, onclick, cls = '') => el('button', { type: 'button', class: cls, onclick }, label);
const link = (href, label, cls = 'outline') => el('a', { role: 'button', class: cls, href }, label);

// A read-only view of an object, labelled and formatted from its output schema.
// Fields for the machine, not for people.
const HIDDEN_IN_DETAIL = ['allowed_transitions', 'phones_masked', 'masked'];

async function detailList(schemaName, obj, { exclude = [] } = {}) {
  await schemas();
  const dl = el('dl', { class: 'detail' });
  for (const spec of fieldsOf(schemaName, { exclude: [...exclude, ...HIDDEN_IN_DETAIL] })) {
    const v = obj[spec.name];
    if (spec.kind === 'array' || spec.kind === 'object') continue;
    if (spec.name.endsWith('_id') && spec.name !== 'id') continue;  // the name beside it is what people read
    let shown = v;
    if (spec.name === 'confidentiality') shown = enumLabel('Clearance', v);
    else if (spec.kind === 'enum') shown = enumLabel(spec.enumName, v);
    else if (typeof v === 'boolean') shown = v ? t('ui.yes') : t('ui.no');
    else if (spec.kind === 'datetime') shown = formatDateTime(v);
    else if (Array.isArray(v)) shown = v.join('; ');
    if (shown === null || shown === undefined || shown === '') continue;  // a paper form's blank boxes stay off screen
    dl.append(el('div', {}, el('dt', {}, fieldLabel(spec.name, scopeOf(schemaName))), el('dd', { 'data-field': spec.name }, shown)));
  }
  return dl;
}

function subTable(rows, columns, id = null, scope = 'summary') {
  return el('table', { class: 'list', id },
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', {}, c.label ? t(c.label) : fieldLabel(c.key, c.scoped ? scope : null))))),
    el('tbody', {}, rows.map((r) => el('tr', {}, columns.map((c) => el('td', {}, cell(c, r)))))));
}

// --- generic CRUD pages ------------------------------------------------------------------------------
function crud({ route, endpoint, title, columns, filters = [], createSchema, updateSchema, outSchema, createPerm, updatePerm, exportPerm, exclude = [], searchHint, defaults }) {
  const list = async (main) => {
    main.replaceChildren(h2(title));
    const actions = createPerm && can(createPerm) ? [link(`#/${route}/new`, `+ ${t('ui.new')}`, '')] : [];
    await renderList(main, {
      endpoint, columns, filters, actions, searchHint, labelScope: scopeOf(outSchema),
      exportPath: exportPerm && can(exportPerm) ? `${endpoint}/export` : null,
      onOpen: (row) => go(`#/${route}/${row.id}`),
    });
  };
  const create = async (main) => {
    main.replaceChildren(h2(title, ' · ', t('ui.new')));
    const params = new URLSearchParams(location.hash.split('?')[1] || '');
    const initial = defaults ? await defaults(params) : {};
    await renderForm(main, createSchema, { exclude, initial, onSubmit: async (values) => {
      const saved = await api(endpoint, { method: 'POST', body: values });
      toast(t('ui.saved'));
      go(`#/${route}/${saved.id}`);
    } });
  };
  const detail = async (main, id) => {
    const obj = await api(`${endpoint}/${id}`);
    main.replaceChildren(h2(title, ' · ', obj.code || obj.number || obj.case_number || `#${obj.id}`));
    main.append(await detailList(outSchema, obj));
    if (updateSchema && (!updatePerm || can(updatePerm))) {
      main.append(el('h4', {}, t('ui.edit')));
      await renderForm(main, updateSchema, { initial: obj, partial: true, exclude, onSubmit: async (values) => {
        await api(`${endpoint}/${id}`, { method: 'PATCH', body: values });
        toast(t('ui.saved'));
        go(`#/${route}/${id}`);
      } });
    }
  };
  return [
    [new RegExp(`^#/${route}$`), list],
    [new RegExp(`^#/${route}/new$`), create],
    [new RegExp(`^#/${route}/(\\d+)$`), detail],
  ];
}

const RECORD_KINDS = {
  inbound: { title: 'menu.inbound', create: 'InboundCreate', update: 'InboundUpdate', out: 'InboundOut',
    columns: [{ key: 'started_at' }, { key: 'caller_organisation' }, { key: 'caller_name' }, { key: 'caller_number' }, { key: 'agent_name' }, { key: 'content' }, { key: 'outcome', enumName: 'InboundOutcome' }] },
  outbound: { title: 'menu.outbound', create: 'OutboundCreate', update: 'OutboundUpdate', out: 'OutboundOut',
    columns: [{ key: 'started_at' }, { key: 'called_organisation' }, { key: 'customer_name' }, { key: 'agent_name' }, { key: 'result', enumName: 'OutboundResult' }, { key: 'content' }] },
  'phone-log': { title: 'menu.phone_log', create: 'PhoneLogCreate', update: 'PhoneLogUpdate', out: 'PhoneLogOut',
    columns: [{ key: 'called_at' }, { key: 'party_name' }, { key: 'phone_number' }, { key: 'duration_seconds' }, { key: 'purpose' }, { key: 'repeat_call_needed' }, { key: 'repeat_call_at' }] },
  interviews: { title: 'menu.interviews', create: 'InterviewPlanCreate', update: 'InterviewPlanUpdate', out: 'InterviewPlanOut',
    columns: [{ key: 'planned_at' }, { key: 'customer_name' }, { key: 'phone' }, { key: 'agent_name' }] },
};

// A record started from a customer's file (or the screen pop) comes pre-filled with that customer.
async function recordDefaults(kind, params) {
  const now = new Date().toISOString();
  const values = { started_at: now, called_at: now, planned_at: now };
  const id = params.get('customer');
  if (!id) return values;
  values.customer_id = Number(id);
  try {
    const c = await api(`/api/customers/${id}`);
    const phone = (c.phones || []).find((p) => p.is_primary) || (c.phones || [])[0];
    if (kind === 'inbound') Object.assign(values, { caller_name: c.contact_person || c.name, caller_organisation: c.kind === 'corporate' ? c.name : null });
    if (kind === 'outbound') Object.assign(values, { customer_name: c.contact_person || c.name, called_organisation: c.kind === 'corporate' ? c.name : null });
    if (kind === 'phone-log') Object.assign(values, { party_name: c.name, phone_number: phone && !phone.masked ? phone.number : null });
    if (kind === 'interviews') Object.assign(values, { customer_name: c.name, address: c.address });
  } catch { /* the customer id alone is enough */ }
  return values;
}

const recordPages = Object.entries(RECORD_KINDS).flatMap(([kind, k]) => crud({
  defaults: (params) => recordDefaults(kind, params),
  route: `records/${kind}`, endpoint: `/api/records/${kind}`, title: k.title, columns: k.columns,
  filters: [{ name: 'from', kind: 'date', label: 'ui.from' }, { name: 'to', kind: 'date', label: 'ui.to' }],
  createSchema: k.create, updateSchema: k.update, outSchema: k.out, createPerm: 'records.create', exportPerm: 'records.export',
  // The telephony core links the PBX call; the record's agent is whoever writes it.
  exclude: ['pbx_linkedid', 'pbx_uniqueid', 'agent_id'],
  searchHint: 'ui.search_records',
}));

// --- customers ----------------------------------------------------------------------------------------
const GRADES = ['AAA', 'AA', 'A', 'B'];

async function customersList(main) {
  main.replaceChildren(h2('menu.customers'));
  const actions = [];
  if (can('customers.create')) actions.push(link('#/customers/new', `+ ${t('ui.new')}`, ''));
  if (can('customers.import')) actions.push(link('#/customers/import', t('ui.import')));
  await renderList(main, {
    endpoint: '/api/customers', searchHint: 'ui.search_customers',
    columns: [{ key: 'code' }, { key: 'name' }, { key: 'kind', enumName: 'CustomerKind' },
      { key: 'grade', format: (v) => el('span', { class: `badge grade-${v}` }, v) }, { key: 'region' },
      { key: 'phones', label: 'field.phones', format: (v) => (v || []).map((p) => p.number ?? p).join(', ') }, { key: 'contact_person' }],
    filters: [{ name: 'grade', options: GRADES, enumName: 'CustomerGrade' }, { name: 'region' }],
    actions, exportPath: can('customers.export') ? '/api/customers/export' : null,
    onOpen: (row) => go(`#/customers/${row.id}`),
  });
}

async function customerNew(main) {
  main.replaceChildren(h2('menu.customers', ' · ', t('ui.new')));
  await renderForm(main, 'CustomerCreate', { onSubmit: async (values) => {
    const saved = await api('/api/customers', { method: 'POST', body: values });
    toast(t('ui.saved'));
    go(`#/customers/${saved.id}`);
  } });
}

async function customerDetail(main, id) {
  const c = await api(`/api/customers/${id}`);
  main.replaceChildren(el('h2', {}, `${c.code} · ${c.name} `, el('span', { class: `badge grade-${c.grade}`, 'data-grade': c.grade }, c.grade)));
  main.append(await detailList('CustomerOut', c));
  main.append(el('h4', {}, t('field.phones')), subTable(c.phones || [], [{ key: 'number' }, { key: 'label', enumName: 'PhoneLabel' }, { key: 'is_primary' }], 'customer-phones'));
  for (const [key, title] of [['corporate', 'ui.corporate_profile'], ['individual', 'ui.individual_profile']]) {
    if (c[key]) main.append(el('h4', {}, t(title)), await detailList(key === 'corporate' ? 'CorporateProfileOut' : 'IndividualProfileOut', c[key]).catch(() => el('pre', {}, JSON.stringify(c[key], null, 1))));
  }
  if (c.contact_windows?.length) main.append(el('h4', {}, t('field.contact_windows')), subTable(c.contact_windows, [{ key: 'weekday', enumName: 'Weekday' }, { key: 'start' }, { key: 'end' }, { key: 'note' }]));
  const tabs = el('div');
  main.append(tabs);
  if (can('records.create')) {
    tabs.append(el('div', { class: 'toolbar' },
      link(`#/records/inbound/new?customer=${c.id}`, `+ ${t('menu.inbound')}`, ''),
      link(`#/records/outbound/new?customer=${c.id}`, `+ ${t('menu.outbound')}`),
      can('complaints.create') ? link(`#/complaints/new?customer=${c.id}`, `+ ${t('menu.complaints')}`) : null));
  }
  try {
    const recent = await api(`/api/records/by-customer/${c.id}`);
    tabs.append(el('h4', {}, t('ui.recent_calls')), subTable(recent, [{ key: 'kind', label: 'ui.record_kind', format: (v) => t(`menu.${v}`) }, { key: 'started_at' }, { key: 'agent_name' }, { key: 'person_name' }, { key: 'content' }], 'customer-calls'));
  } catch { /* optional panel */ }
  try {
    const open = await api(`/api/complaints/by-customer/${c.id}`);
    tabs.append(el('h4', {}, t('ui.open_complaints')), subTable(open.items || open, [{ key: 'case_number' }, { key: 'status', enumName: 'ComplaintStatus' }, { key: 'urgency', enumName: 'Urgency' }, { key: 'promised_deadline' }], 'customer-complaints'));
  } catch { /* optional panel */ }
  if (can('customers.edit')) {
    main.append(el('h4', {}, t('ui.edit')));
    await renderForm(main, 'CustomerUpdate', { initial: c, partial: true, onSubmit: async (values) => {
      await api(`/api/customers/${id}`, { method: 'PATCH', body: values });
      toast(t('ui.saved'));
      go(`#/customers/${id}`);
    } });
    main.append(el('h4', {}, t('ui.rating_change')));
    await renderForm(main, 'RatingChangeIn', { submitLabel: t('ui.apply'), onSubmit: async (values) => {
      await api(`/api/customers/${id}/rating`, { method: 'POST', body: values });
      toast(t('ui.saved'));
      go(`#/customers/${id}`);
    } });
  } else if (can('change_requests.create')) {
    main.append(el('h4', {}, t('ui.request_change')));
    await renderForm(main, 'ChangeRequestCreate', { initial: { customer_id: c.id }, exclude: ['customer_id'], submitLabel: t('ui.submit'), onSubmit: async (values) => {
      await api('/api/change-requests', { method: 'POST', body: { ...values, customer_id: c.id } });
      toast(t('ui.submitted'));
    } });
  }
}

async function customerImport(main) {
  main.replaceChildren(h2('ui.import'));
  const file = el('input', { type: 'file', name: 'file', accept: '.csv,.xlsx', id: 'import-file' });
  const status = el('div', { id: 'import-status' });
  const form = el('form', {}, el('p', {}, t('ui.import_hint'), ' ',
    el('a', { href: '/api/customers/import/template?format=xlsx' }, t('ui.template') + ' XLSX'), ' · ',
    el('a', { href: '/api/customers/import/template?format=csv' }, 'CSV')),
  el('label', {}, t('ui.file'), file), el('button', { type: 'submit' }, t('ui.import')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!file.files.length) return;
    const data = new FormData();
    data.append('file', file.files[0]);
    status.replaceChildren(el('progress'));
    try {
      let job = await api('/api/customers/import', { method: 'POST', form: data });
      while (job.status === 'queued' || job.status === 'running') {
        status.replaceChildren(el('progress', { value: job.processed_rows, max: job.total_rows || 1 }), el('span', {}, `${job.processed_rows} / ${job.total_rows}`));
        await new Promise((r) => setTimeout(r, 500));
        job = await api(`/api/customers/import/${job.id}`);
      }
      status.replaceChildren(el('progress', { value: 1, max: 1 }),
        el('p', { 'data-import-result': job.status }, t('ui.import_done', { created: job.created_count, errors: job.error_count })),
        job.errors?.length ? subTable(job.errors, [{ key: 'row', label: 'ui.row' }, { key: 'field' }, { key: 'message', label: 'ui.reason' }]) : '');
    } catch (error) {
      status.replaceChildren(el('p', { class: 'form-error' }, error.message));
    }
  });
  main.append(form, status);
}

// --- complaints ---------------------------------------------------------------------------------------
async function complaintsList(main) {
  main.replaceChildren(h2('menu.complaints'));
  const actions = [];
  if (can('complaints.create')) actions.push(link('#/complaints/new', `+ ${t('ui.new')}`, ''));
  actions.push(link('#/complaints/summary', t('ui.summary')));
  await renderList(main, {
    endpoint: '/api/complaints', searchHint: 'ui.search_complaints', labelScope: 'complaint',
    columns: [{ key: 'case_number' }, { key: 'received_at' }, { key: 'customer_name' }, { key: 'category', enumName: 'ComplaintCategory' },
      { key: 'urgency', enumName: 'Urgency' }, { key: 'status', enumName: 'ComplaintStatus' }, { key: 'promised_deadline' }],
    filters: [{ name: 'status', options: ['registered', 'investigating', 'solution_proposed', 'negotiating', 'in_progress', 'closed', 'escalated', 'rejected'], enumName: 'ComplaintStatus' },
      { name: 'urgency', options: ['very_urgent', 'urgent', 'normal'], enumName: 'Urgency' }, { name: 'overdue', kind: 'boolean', label: 'ui.overdue' }],
    actions, exportPath: '/api/complaints/export',
    onOpen: (row) => go(`#/complaints/${row.id}`),
  });
}

async function complaintNew(main) {
  main.replaceChildren(h2('menu.complaints', ' · ', t('ui.new')));
  const customer = new URLSearchParams(location.hash.split('?')[1] || '').get('customer');
  await renderForm(main, 'ComplaintCreate', { initial: customer ? { customer_id: Number(customer) } : {}, onSubmit: async (values) => {
    const saved = await api('/api/complaints', { method: 'POST', body: values });
    toast(`${t('ui.saved')} ${saved.case_number}`);
    go(`#/complaints/${saved.id}`);
  } });
}

async function complaintDetail(main, id) {
  const c = await api(`/api/complaints/${id}`);
  main.replaceChildren(el('h2', {}, `${c.case_number} `, el('span', { class: 'badge', 'data-status': c.status }, enumLabel('ComplaintStatus', c.status))));
  main.append(await detailList('ComplaintOut', c));
  if (c.events?.length) main.append(el('h4', {}, t('ui.history')), subTable(c.events, [{ key: 'at' }, { key: 'by_name' }, { key: 'from_status', enumName: 'ComplaintStatus' }, { key: 'to_status', enumName: 'ComplaintStatus' }, { key: 'note' }]));
  if (can('complaints.handle')) {
    main.append(el('h4', {}, t('ui.transition')));
    const form = await renderForm(main, 'TransitionIn', { submitLabel: t('ui.apply'), onSubmit: async (values) => {
      await api(`/api/complaints/${id}/transition`, { method: 'POST', body: values });
      toast(t('ui.saved'));
      go(`#/complaints/${id}`);
    } });
    // Only the steps the workflow allows from here.
    for (const option of form.querySelectorAll('[data-path=to] option')) {
      if (option.value && !(c.allowed_transitions || []).includes(option.value)) option.remove();
    }
    if (!(c.allowed_transitions || []).length) form.remove();
    if (c.status === 'closed') {
      main.append(el('h4', {}, t('ui.callback')));
      await renderForm(main, 'CallbackIn', { submitLabel: t('ui.save'), onSubmit: async (values) => {
        await api(`/api/complaints/${id}/callback`, { method: 'POST', body: values });
        toast(t('ui.saved'));
        go(`#/complaints/${id}`);
      } });
    }
  }
}

async function complaintSummary(main) {
  main.replaceChildren(h2('ui.summary'));
  const today = new Date().toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() - 30 * 86400e3).toISOString().slice(0, 10);
  const form = el('form', { class: 'toolbar' }, el('input', { type: 'date', name: 'from', value: monthAgo }), el('input', { type: 'date', name: 'to', value: today }), el('button', { type: 'submit' }, t('ui.search')));
  const out = el('div');
  const load = async () => {
    const params = Object.fromEntries(new FormData(form));
    const s = await api(`/api/complaints/summary${query(params)}`);
    const figure = (k, v) => {
      if (v === null || v === undefined) return '—';
      if (k.endsWith('ratio') || k.endsWith('share')) return `${(v * 100).toFixed(1)}%`;
      return typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v;
    };
    out.replaceChildren(el('div', { class: 'cards' }, Object.entries(s.total).map(([k, v]) =>
      el('article', {}, el('div', { class: 'muted' }, fieldLabel(k, 'summary')), el('div', { class: 'num', 'data-figure': k }, figure(k, v))))));
    if (s.days?.length) {
      const keys = ['day', ...Object.keys(s.days[0]).filter((k) => k !== 'day')];
      out.append(el('h4', {}, t('ui.by_day')), subTable(s.days, keys.map((k) => ({ key: k, label: null, format: (v) => figure(k, v), scoped: true }))));
    }
    if (s.definitions) out.append(el('h4', {}, t('ui.definitions')), el('dl', { class: 'detail' }, Object.entries(s.definitions).map(([k, v]) => [el('dt', {}, t(`field.${k}`)), el('dd', {}, v)]).flat()));
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  main.append(form, out);
  await load();
}

// --- access, change requests, users, audit -----------------------------------------------------------
async function accessPage(main) {
  main.replaceChildren(h2('menu.access'));
  if (can('access.grant')) {
    main.append(el('h4', {}, t('ui.new_grant')));
    await renderForm(main, 'GrantCreate', { submitLabel: t('ui.grant'), onSubmit: async (values) => {
      await api('/api/access/grants', { method: 'POST', body: values });
      toast(t('ui.saved'));
      go('#/access');
    } });
  }
  await renderList(main, { endpoint: '/api/access/grants', columns: [{ key: 'user_name' }, { key: 'customer_id' }, { key: 'max_level' }, { key: 'reason' }, { key: 'valid_from' }, { key: 'valid_until' }, { key: 'revoked_at' }] });
}

async function changeRequestsPage(main) {
  main.replaceChildren(h2('menu.change_requests'));
  await renderList(main, {
    endpoint: '/api/change-requests',
    columns: [{ key: 'requested_at' }, { key: 'customer_id' }, { key: 'requested_by_name' }, { key: 'changes', format: (v) => JSON.stringify(v) }, { key: 'reason' }, { key: 'status', enumName: 'ChangeRequestStatus' }],
    filters: [{ name: 'status', options: ['pending', 'approved', 'rejected', 'withdrawn'], enumName: 'ChangeRequestStatus' }],
    onOpen: (row) => go(`#/change-requests/${row.id}`),
  });
}

async function changeRequestDetail(main, id) {
  const r = await api(`/api/change-requests/${id}`);
  main.replaceChildren(h2('menu.change_requests', ` #${r.id}`), await detailList('ChangeRequestOut', r),
    el('pre', {}, JSON.stringify({ old: r.old_values, new: r.changes }, null, 2)));
  if (r.status === 'pending' && can('change_requests.review')) {
    const note = el('input', { name: 'note', placeholder: t('field.review_note') });
    main.append(el('div', { class: 'toolbar' }, note,
      button(t('ui.approve'), async () => { try { await api(`/api/change-requests/${id}/approve`, { method: 'POST', body: { note: note.value || null } }); go(`#/change-requests/${id}`); } catch (e) { toast(e.message, 'error'); } }),
      button(t('ui.reject'), async () => { try { await api(`/api/change-requests/${id}/reject`, { method: 'POST', body: { note: note.value } }); go(`#/change-requests/${id}`); } catch (e) { toast(e.message, 'error'); } }, 'secondary')));
  }
}

async function auditPage(main) {
  main.replaceChildren(h2('menu.audit'));
  await renderList(main, {
    endpoint: '/api/audit', limit: 50,
    columns: [{ key: 'at' }, { key: 'username' }, { key: 'action' }, { key: 'object_type' }, { key: 'object_id' }, { key: 'allowed' }, { key: 'client_address' }],
    filters: [{ name: 'action', label: 'field.action' }, { name: 'object_type', label: 'field.object_type' }],
  });
}

// --- live queue view ----------------------------------------------------------------------------------
const AGENT_STATES = ['available', 'ringing', 'on_call', 'wrap_up', 'paused', 'unavailable', 'logged_out'];
const seconds = (s) => (s === null || s === undefined ? '' : s < 60 ? `${Math.round(s)}s` : `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`);

async function livePage(main) {
  main.replaceChildren(h2('menu.live'), el('p', { class: 'muted', id: 'pbx-status' }));
  const body = el('div', { id: 'live' });
  main.append(body);
  const render = (v) => {
    const status = main.querySelector('#pbx-status');
    status.textContent = !v.pbx.configured ? t('ui.pbx_not_configured') : v.pbx.connected ? t('ui.pbx_connected', { version: v.pbx.version || '' }) : t('ui.pbx_disconnected');
    status.dataset.connected = String(v.pbx.connected);
    body.replaceChildren(
      el('h4', {}, t('ui.queues')),
      subTable(v.queues.map((q) => ({ ...q, ...Object.fromEntries(AGENT_STATES.map((s) => [`agents_${s}`, q.agents[s] || 0])) })), [
        { key: 'name', label: 'ui.queue' }, { key: 'waiting', label: 'ui.waiting' },
        { key: 'longest_wait_s', label: 'ui.longest_wait', format: seconds },
        { key: 'offered', label: 'ui.offered' }, { key: 'answered', label: 'ui.answered' }, { key: 'abandoned', label: 'ui.abandoned' },
        ...AGENT_STATES.slice(0, 6).map((s) => ({ key: `agents_${s}`, label: `ui.agent_state.${s}` })),
      ], 'live-queues'),
      el('h4', {}, t('ui.agents')),
      subTable(v.agents, [
        { key: 'name', label: 'ui.agent' }, { key: 'state', label: 'ui.state', format: (s) => el('span', { class: `badge state-${s}` }, t(`ui.agent_state.${s}`)) },
        { key: 'in_state_s', label: 'ui.in_state', format: seconds }, { key: 'reason', label: 'ui.reason' },
        { key: 'queues', label: 'ui.queues', format: (q) => q.join(', ') },
      ], 'live-agents'),
      el('h4', {}, t('ui.calls')),
      subTable(v.calls, [
        { key: 'caller', label: 'ui.caller' }, { key: 'queue', label: 'ui.queue' },
        { key: 'state', label: 'ui.state', format: (s) => t(`ui.call_state.${s}`) }, { key: 'agent', label: 'ui.agent' },
        { key: 'for_s', label: 'ui.for', format: seconds },
      ], 'live-calls'),
    );
  };
  const tick = async () => {
    if (!document.body.contains(body)) return;  // left the page
    try { render(await api('/api/acd/live')); } catch (error) { body.replaceChildren(el('p', { class: 'form-error' }, error.message)); }
    setTimeout(tick, 2000);
  };
  await tick();
}

const ROLES = ['agent', 'team_lead', 'supervisor', 'qa_inspector', 'qa_lead', 'complaints_officer', 'info_officer', 'admin'];

export const pages = [
  [/^#\/live$/, livePage],
  [/^#\/customers$/, customersList],
  [/^#\/customers\/new$/, customerNew],
  [/^#\/customers\/import$/, customerImport],
  [/^#\/customers\/(\d+)$/, customerDetail],
  [/^#\/complaints$/, complaintsList],
  [/^#\/complaints\/new(?:\?.*)?$/, complaintNew],
  [/^#\/complaints\/summary$/, complaintSummary],
  [/^#\/complaints\/(\d+)$/, complaintDetail],
  [/^#\/access$/, accessPage],
  [/^#\/change-requests$/, changeRequestsPage],
  [/^#\/change-requests\/(\d+)$/, changeRequestDetail],
  [/^#\/audit$/, auditPage],
  ...recordPages.map(([re, fn]) => [new RegExp(re.source.replace('/new$', '/new(?:\\?.*)?$')), fn]),
  ...crud({ route: 'equipment', endpoint: '/api/equipment', title: 'menu.equipment', createSchema: 'EquipmentCreate', updateSchema: 'EquipmentUpdate', outSchema: 'EquipmentOut',
    columns: [{ key: 'number' }, { key: 'name' }, { key: 'category', enumName: 'EquipmentCategory' }, { key: 'phone_extension' }, { key: 'user_full_name' }, { key: 'quantity' }, { key: 'purchase_date' }, { key: 'status', enumName: 'EquipmentStatus' }],
    createPerm: 'equipment.write', updatePerm: 'equipment.write', exportPerm: 'equipment.read' }),
  ...crud({ route: 'users', endpoint: '/api/users', title: 'menu.users', createSchema: 'UserCreate', updateSchema: 'UserUpdate', outSchema: 'UserOut',
    columns: [{ key: 'agent_number' }, { key: 'username' }, { key: 'full_name' }, { key: 'role', enumName: 'Role' }, { key: 'team_name' }, { key: 'extension' }, { key: 'active' }],
    filters: [{ name: 'role', options: ROLES, enumName: 'Role' }], createPerm: 'users.write', updatePerm: 'users.write' }),
];
