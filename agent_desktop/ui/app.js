// The single-page UI: login, a menu that follows the user's permissions, and pages for every form.
import { api, ApiError, setUnauthenticatedHandler } from './api.js';
import { t, loadLanguage, switchLanguage, currentLanguage, enumLabel, formatDateTime } from './i18n.js';
import { el, renderForm, schemas, fieldsOf, showErrors } from './forms.js';
import { renderList, cell } from './lists.js';
import { pages as domainPages } from './pages.js';
import { desktopRoutes } from './desktop.js';
import { wallboardRoutes } from './wallboard.js';
import { ivrRoutes } from './ivr.js';
import { recordingsRoutes } from './recordings.js';
import { qaRoutes } from './qa.js';
import { reportsRoutes } from './reports.js';
import { pauseReasonsRoutes } from './pause_reasons.js';

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
let me = null;
let config = null;

export const can = (permission) => Boolean(me?.permissions.includes(permission));
export const currentUser = () => me;

export function toast(message, kind = 'info') {
  const box = el('div', { class: kind }, message);
  document.getElementById('toast').append(box);
  setTimeout(() => box.remove(), 4000);
}

export function go(hash) { if (location.hash === hash) route(); else location.hash = hash; }

// Menu entries: [hash, message key, permission or null (any logged-in user)].
const MENU = [
  ['#/', 'menu.home', null],
  ['#/desktop', 'menu.desktop', 'desktop.use'],
  ['#/wallboard', 'menu.wallboard', 'acd.monitor'],
  ['#/live', 'menu.live', 'acd.monitor'],
  ['#/customers', 'menu.customers', 'customers.read'],
  ['#/records/inbound', 'menu.inbound', 'records.read'],
  ['#/records/outbound', 'menu.outbound', 'records.read'],
  ['#/records/phone-log', 'menu.phone_log', 'records.read'],
  ['#/records/interviews', 'menu.interviews', 'records.read'],
  ['#/complaints', 'menu.complaints', 'complaints.read'],
  ['#/change-requests', 'menu.change_requests', 'change_requests.create'],
  ['#/access', 'menu.access', 'access.read'],
  ['#/equipment', 'menu.equipment', 'equipment.read'],
  ['#/ivr', 'menu.ivr', 'ivr.manage'],
  ['#/recordings', 'menu.recordings', 'recordings.listen'],
  ['#/qa', 'menu.qa', 'qa.evaluate'],
  ['#/qa/mine', 'menu.qa_mine', 'qa.own'],
  ['#/qa/results', 'menu.qa_results', 'qa.results'],
  ['#/reports', 'menu.reports', 'reports.read'],
  ['#/users', 'menu.users', 'users.read'],
  ['#/pause-reasons', 'menu.pause_reasons', 'acd.configure'],
  ['#/audit', 'menu.audit', 'audit.read'],
];

function renderTopbar() {
  if (!me) { topbar.hidden = true; return; }
  topbar.hidden = false;
  const langSelect = el('select', { 'aria-label': t('ui.language'), id: 'language-switch', onchange: async (e) => { await switchLanguage(e.target.value); renderTopbar(); route(); } },
    el('option', { value: 'zh-CN', selected: currentLanguage() === 'zh-CN' }, '中文'),
    el('option', { value: 'en', selected: currentLanguage() === 'en' }, 'English'));
  const menu = el('nav', { class: 'menu', 'aria-label': t('ui.menu') },
    MENU.filter(([, , p]) => !p || can(p)).map(([hash, key]) => el('a', { href: hash, 'data-menu': hash.slice(2) || 'home' }, t(key))));
  topbar.replaceChildren(
    el('span', { class: 'brand' }, t('app.title')), menu,
    el('span', { class: 'who' }, langSelect,
      el('span', { 'data-user': me.username }, `${me.full_name}${me.agent_number ? ` (${me.agent_number})` : ''} · ${enumLabel('Role', me.role)}`),
      el('button', { class: 'secondary outline', id: 'logout', onclick: logout }, t('ui.logout'))));
  highlightMenu();
}

function highlightMenu() {
  const links = [...topbar.querySelectorAll('nav.menu a')];
  // the longest entry the address starts with: #/qa/mine is "my evaluations", not also "QA workbench"
  const matches = (h) => (h === '#/' ? location.hash === '#/' || location.hash === '' : location.hash === h || location.hash.startsWith(`${h}/`));
  const best = links.map((a) => a.getAttribute('href')).filter(matches).sort((x, y) => y.length - x.length)[0];
  for (const a of links) a.classList.toggle('active', a.getAttribute('href') === best);
}

async function logout() {
  try { await api('/api/auth/logout', { method: 'POST' }); } catch { /* already out */ }
  me = null;
  renderTopbar();
  go('#/login');
}

function loginPage() {
  const article = el('article', { class: 'login' });
  const form = el('form', { novalidate: true, id: 'login-form' },
    el('h2', {}, t('app.title')),
    el('div', { class: 'form-error', role: 'alert' }),
    el('label', {}, t('ui.username_or_agent_number'), el('input', { name: 'username', 'data-path': 'username', autocomplete: 'username', required: true, autofocus: true })),
    el('label', {}, t('field.password'), el('input', { name: 'password', 'data-path': 'password', type: 'password', autocomplete: 'current-password', required: true })),
    el('button', { type: 'submit' }, t('ui.login')),
    el('p', {}, el('a', { href: '#', onclick: async (e) => { e.preventDefault(); await switchLanguage(currentLanguage() === 'en' ? 'zh-CN' : 'en'); loginPage(); } },
      currentLanguage() === 'en' ? '中文' : 'English')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      me = await api('/api/auth/login', { method: 'POST', body: data });
      await loadLanguage(me.language || currentLanguage());
      renderTopbar();
      go('#/');
    } catch (error) { showErrors(form, error); }
  });
  article.append(form);
  main.replaceChildren(article);
}

async function homePage() {
  const section = el('section', {}, el('h2', {}, t('ui.welcome', { name: me.full_name })));
  main.replaceChildren(section);
  if (can('records.read')) {
    try {
      const today = await api('/api/records/mine/today');
      section.append(el('h4', {}, t('ui.my_today')), el('div', { class: 'cards' },
        Object.entries(today.counts).map(([k, v]) => el('article', {}, el('div', { class: 'muted' }, t(`ui.count.${k}`)), el('div', { class: 'num', 'data-count': k }, v)))));
    } catch { /* the figure is a convenience */ }
  }
  section.append(el('h4', {}, t('ui.quick_lookup')));
  const lookup = el('form', { class: 'toolbar', id: 'quick-lookup' },
    el('input', { type: 'search', name: 'phone', placeholder: t('ui.lookup_by_phone') }), el('button', { type: 'submit' }, t('ui.search')));
  const results = el('div');
  lookup.addEventListener('submit', async (e) => {
    e.preventDefault();
    const phone = new FormData(lookup).get('phone');
    try {
      const found = await api(`/api/customers/lookup?phone=${encodeURIComponent(phone)}`);
      results.replaceChildren(found.length ? el('ul', {}, found.map((c) => el('li', {}, el('a', { href: `#/customers/${c.id}` }, `${c.code} ${c.name}`)))) : el('p', { class: 'muted' }, t('ui.no_results')));
    } catch (error) { results.replaceChildren(el('p', { class: 'form-error' }, error.message)); }
  });
  if (can('customers.read')) section.append(lookup, results);
}

const routes = [
  [/^#\/login$/, () => loginPage()],
  [/^#?\/?$/, () => homePage()],
  ...domainPages,
  ...desktopRoutes,
  ...wallboardRoutes,
  ...ivrRoutes,
  ...recordingsRoutes,
  ...qaRoutes,
  ...reportsRoutes,
  ...pauseReasonsRoutes,
];

export async function route() {
  if (!me && location.hash !== '#/login') { go('#/login'); return; }
  highlightMenu();
  const hash = location.hash || '#/';
  for (const [pattern, handler] of routes) {
    const m = hash.match(pattern);
    if (m) {
      main.replaceChildren(el('p', { 'aria-busy': 'true' }));
      try { await handler(main, ...m.slice(1)); } catch (error) {
        main.replaceChildren(el('article', { class: 'form-error' }, error instanceof ApiError ? error.message : String(error)));
      }
      return;
    }
  }
  main.replaceChildren(el('p', {}, t('error.not_found')));
}

async function boot() {
  config = await api('/api/ui/config');
  try { me = await api('/api/auth/me'); } catch { me = null; }
  await loadLanguage(me?.language || null, config);
  setUnauthenticatedHandler(() => { me = null; renderTopbar(); go('#/login'); });
  await schemas().catch(() => null);
  renderTopbar();
  window.addEventListener('hashchange', route);
  await route();
  document.body.dataset.ready = 'true';
}

boot();
export { renderForm, renderList, fieldsOf, cell, formatDateTime };
