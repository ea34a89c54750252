// List pages: search, filters, paging, export; rows open the detail view.
import { api, query } from './api.js';
import { t, enumLabel, formatDateTime, fieldLabel } from './i18n.js';
import { el } from './forms.js';

export function cell(column, row) {
  const value = column.key.split('.').reduce((v, k) => (v == null ? v : v[k]), row);
  if (column.format) return column.format(value, row);
  if (column.enumName) return enumLabel(column.enumName, value);
  if (typeof value === 'boolean') return value ? t('ui.yes') : t('ui.no');
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) return formatDateTime(value);
  return value ?? '';
}

function filterControl(filter, state, scope) {
  const label = filter.label ? t(filter.label) : fieldLabel(filter.name, scope);
  if (filter.options) {
    const select = el('select', { name: filter.name, 'aria-label': label },
      el('option', { value: '' }, `${label}: ${t('ui.all')}`),
      filter.options.map((o) => el('option', { value: o, selected: state[filter.name] === o }, enumLabel(filter.enumName, o))));
    return select;
  }
  if (filter.kind === 'boolean') {
    return el('label', {}, el('input', { type: 'checkbox', name: filter.name, checked: state[filter.name] === 'true' }), ' ', label);
  }
  return el('input', { type: filter.kind || 'text', name: filter.name, placeholder: label, 'aria-label': label, value: state[filter.name] || '' });
}

export async function renderList(container, config) {
  const state = { q: '', offset: 0, limit: config.limit || 20, ...(config.initial || {}) };
  const search = el('input', { type: 'search', name: 'q', placeholder: t(config.searchHint || 'ui.search'), 'aria-label': t('ui.search'), value: state.q });
  const filters = (config.filters || []).map((f) => filterControl(f, state, config.labelScope));
  const toolbar = el('form', { class: 'toolbar', role: 'search' }, search, filters, el('button', { type: 'submit' }, t('ui.search')));
  const actions = el('div', { class: 'toolbar' }, config.actions || []);
  if (config.exportPath) {
    for (const fmt of ['csv', 'xlsx']) {
      actions.append(el('a', { role: 'button', class: 'secondary outline', href: '#', 'data-export': fmt, onclick: (e) => {
        e.preventDefault();
        const { offset, limit, ...params } = state;
        window.location.href = `${config.exportPath}${query({ ...params, format: fmt })}`;
      } }, `${t('ui.export')} ${fmt.toUpperCase()}`));
    }
  }
  const table = el('table', { class: 'list striped' });
  const pager = el('div', { class: 'pager' });
  container.append(toolbar, actions, el('div', { class: 'overflow-auto' }, table), pager);

  async function load() {
    table.setAttribute('aria-busy', 'true');
    let page;
    try {
      page = await api(`${config.endpoint}${query(state)}`);
    } catch (error) {
      table.replaceChildren(el('caption', { class: 'form-error' }, error.message));
      table.removeAttribute('aria-busy');
      return;
    }
    const items = Array.isArray(page) ? page : page.items;
    const head = el('thead', {}, el('tr', {}, config.columns.map((c) => el('th', {}, c.label ? t(c.label) : fieldLabel(c.key.split('.').pop(), config.labelScope)))));
    const body = el('tbody', {}, items.map((row) => el('tr', { 'data-id': row.id, onclick: () => config.onOpen?.(row) },
      config.columns.map((c) => el('td', {}, cell(c, row))))));
    if (!items.length) body.append(el('tr', {}, el('td', { colspan: config.columns.length, class: 'muted' }, t('ui.no_results'))));
    table.replaceChildren(head, body);
    table.removeAttribute('aria-busy');
    const total = Array.isArray(page) ? items.length : page.total;
    const from = total ? state.offset + 1 : 0;
    const to = Math.min(state.offset + state.limit, total);
    pager.replaceChildren(
      el('span', { class: 'muted', 'data-total': total }, t('ui.page_range', { from, to, total })),
      el('button', { class: 'outline', disabled: state.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - state.limit); load(); } }, t('ui.previous')),
      el('button', { class: 'outline', disabled: to >= total, onclick: () => { state.offset += state.limit; load(); } }, t('ui.next')),
    );
  }

  toolbar.addEventListener('submit', (event) => {
    event.preventDefault();
    state.q = search.value.trim();
    for (const node of toolbar.querySelectorAll('[name]')) {
      if (node.name === 'q') continue;
      state[node.name] = node.type === 'checkbox' ? (node.checked ? 'true' : '') : node.value;
    }
    state.offset = 0;
    load();
  });
  await load();
  return { reload: load, state };
}
