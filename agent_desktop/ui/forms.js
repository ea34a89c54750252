// Forms rendered from the API's own OpenAPI schemas: one validation source (the server), every paper
// form gets a screen, and field errors come back localized and land beside their inputs.
import { api, ApiError } from './api.js';
import { t, enumLabel, toLocalInput, fieldLabel, scopeOf } from './i18n.js';

let components = null;
export async function schemas() {
  if (!components) components = (await api('/openapi.json')).components?.schemas || {};
  return components;
}

const refName = (ref) => ref.split('/').pop();

// One property → what input it needs.
export function describe(name, prop, required) {
  let nullable = false;
  let p = prop;
  if (p.anyOf) {
    const real = p.anyOf.filter((s) => s.type !== 'null');
    nullable = real.length < p.anyOf.length;
    p = { ...real[0], title: prop.title, default: prop.default, description: prop.description };
  }
  const spec = { name, required, nullable, default: p.default, maxLength: p.maxLength, min: p.minimum ?? p.exclusiveMinimum, max: p.maximum ?? p.exclusiveMaximum };
  if (p.$ref) {
    const target = components[refName(p.$ref)];
    if (target?.enum) return { ...spec, kind: 'enum', enumName: refName(p.$ref), options: target.enum };
    return { ...spec, kind: 'object', schemaName: refName(p.$ref) };
  }
  if (p.enum) return { ...spec, kind: 'enum', enumName: name, options: p.enum };
  if (p.type === 'array') {
    if (p.items?.$ref && !components[refName(p.items.$ref)]?.enum) return { ...spec, kind: 'array', schemaName: refName(p.items.$ref) };
    return { ...spec, kind: 'list' };
  }
  if (p.type === 'boolean') return { ...spec, kind: 'boolean' };
  if (p.type === 'integer') return { ...spec, kind: 'integer' };
  if (p.type === 'number') return { ...spec, kind: 'number' };
  if (p.format === 'date') return { ...spec, kind: 'date' };
  if (p.format === 'date-time') return { ...spec, kind: 'datetime' };
  if (p.format === 'time') return { ...spec, kind: 'time' };
  if (p.type === 'object') return { ...spec, kind: 'json' };
  const long = spec.maxLength === undefined || spec.maxLength > 255;
  return { ...spec, kind: long ? 'text' : 'string' };
}

export function fieldsOf(schemaName, { exclude = [], only = null } = {}) {
  const schema = components[schemaName];
  if (!schema) throw new Error(`no schema ${schemaName}`);
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {})
    .filter(([name]) => !exclude.includes(name) && (!only || only.includes(name)))
    .map(([name, prop]) => describe(name, prop, required.has(name)));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}
export { el };

function input(spec, path, value) {
  const common = { name: path, 'data-path': path, id: `f-${path}`, required: spec.required && spec.kind !== 'boolean' ? true : null };
  switch (spec.kind) {
    case 'enum': {
      const select = el('select', common, spec.required ? null : el('option', { value: '' }, '—'));
      for (const o of spec.options) select.append(el('option', { value: o, selected: String(o) === String(value ?? spec.default ?? '') }, enumLabel(spec.enumName, o)));
      return select;
    }
    case 'boolean':
      return el('input', { ...common, type: 'checkbox', role: 'switch', checked: Boolean(value ?? spec.default) });
    case 'integer': case 'number':
      return el('input', { ...common, type: 'number', step: spec.kind === 'integer' ? '1' : 'any', min: spec.min, max: spec.max, value: value ?? spec.default ?? '' });
    case 'date': return el('input', { ...common, type: 'date', value: value ?? '' });
    case 'time': return el('input', { ...common, type: 'time', value: value ? String(value).slice(0, 5) : '' });
    case 'datetime': return el('input', { ...common, type: 'datetime-local', value: toLocalInput(value) });
    case 'text': { const ta = el('textarea', { ...common, rows: 3, maxlength: spec.maxLength }); ta.value = value ?? spec.default ?? ''; return ta; }
    case 'list': return el('input', { ...common, type: 'text', value: (value || []).join('; ') });
    case 'json': return el('input', { ...common, type: 'text', value: value ? JSON.stringify(value) : '' });
    default: return el('input', { ...common, type: 'text', maxlength: spec.maxLength, value: value ?? spec.default ?? '' });
  }
}

function fieldBlock(spec, path, value, scope) {
  if (spec.kind === 'object') {
    const fs = el('fieldset', { 'data-object': path }, el('legend', {}, fieldLabel(spec.name, scope)));
    const inner = el('div', { class: 'rows' }, el('div', {}, fieldsOf(spec.schemaName).map((s) => fieldBlock(s, `${path}.${s.name}`, value?.[s.name], scopeOf(spec.schemaName)))));
    fs.append(inner);
    return fs;
  }
  if (spec.kind === 'array') {
    const rows = el('div', { class: 'rows' });
    const fs = el('fieldset', { 'data-array': path }, el('legend', {}, fieldLabel(spec.name, scope)), rows);
    const addRow = (item) => {
      const index = rows.children.length;
      const row = el('div', { 'data-row': index }, fieldsOf(spec.schemaName).map((s) => fieldBlock(s, `${path}.${index}.${s.name}`, item?.[s.name], scopeOf(spec.schemaName))));
      row.append(el('button', { type: 'button', class: 'secondary outline', onclick: () => { row.remove(); renumber(rows, path); } }, t('ui.remove')));
      rows.append(row);
    };
    for (const item of value || []) addRow(item);
    if (!value?.length && spec.required) addRow(null);
    fs.append(el('button', { type: 'button', class: 'outline', onclick: () => addRow(null) }, `+ ${t('ui.add')}`));
    return fs;
  }
  const control = input(spec, path, value);
  const label = el('label', { for: control.id, class: spec.kind === 'text' ? 'wide' : null },
    fieldLabel(spec.name, scope), spec.required ? ' *' : '', control);
  if (spec.kind === 'boolean') { label.textContent = ''; label.append(control, ' ', fieldLabel(spec.name, scope)); }
  return label;
}

function renumber(rows, path) {
  [...rows.children].forEach((row, index) => {
    row.dataset.row = index;
    row.querySelectorAll('[data-path]').forEach((node) => {
      const rest = node.dataset.path.slice(path.length + 1).split('.').slice(1).join('.');
      node.dataset.path = node.name = `${path}.${index}.${rest}`;
    });
  });
}

function readValue(spec, node) {
  const v = node.type === 'checkbox' ? node.checked : node.value.trim();
  if (spec.kind === 'boolean') return v;
  // An empty required field is left out, so the server answers "required" rather than "too short".
  if (v === '') return spec.required ? undefined : null;
  if (spec.kind === 'integer') return Number.isNaN(Number(v)) ? v : Number(v);
  if (spec.kind === 'number') return Number.isNaN(Number(v)) ? v : Number(v);
  if (spec.kind === 'list') return v.split(/[;；,，]/).map((s) => s.trim()).filter(Boolean);
  if (spec.kind === 'json') { try { return JSON.parse(v); } catch { return v; } }
  return v;
}

function collect(root, schemaName, prefix, options) {
  const out = {};
  for (const spec of fieldsOf(schemaName, options)) {
    const path = prefix ? `${prefix}.${spec.name}` : spec.name;
    if (spec.kind === 'object') {
      const fs = root.querySelector(`[data-object="${CSS.escape(path)}"]`);
      if (fs) out[spec.name] = collect(fs, spec.schemaName, path, {});
    } else if (spec.kind === 'array') {
      const fs = root.querySelector(`[data-array="${CSS.escape(path)}"]`);
      if (!fs) continue;
      out[spec.name] = [...fs.querySelector('.rows').children].map((row) => collect(row, spec.schemaName, `${path}.${row.dataset.row}`, {}));
    } else {
      const node = root.querySelector(`[data-path="${CSS.escape(path)}"]`);
      if (!node) continue;
      const value = readValue(spec, node);
      if (value === undefined || (value === null && options.partial)) continue;
      out[spec.name] = value;
    }
  }
  return out;
}

export function showErrors(form, error) {
  const scope = scopeOf(form.dataset.schema);
  form.querySelectorAll('.field-error').forEach((n) => n.remove());
  form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
  const top = form.querySelector('.form-error');
  top.textContent = '';
  if (!(error instanceof ApiError)) { top.textContent = String(error.message || error); return; }
  top.textContent = error.body.message || error.message;
  for (const f of error.body.fields || []) {
    const node = form.querySelector(`[data-path="${CSS.escape(f.field)}"]`);
    if (node) {
      node.setAttribute('aria-invalid', 'true');
      node.closest('label')?.after(el('small', { class: 'field-error', 'data-error-for': f.field }, f.message));
    } else {
      top.append(el('div', { class: 'field-error', 'data-error-for': f.field }, `${fieldLabel(String(f.field).split('.').pop(), scope)}: ${f.message}`));
    }
  }
  form.querySelector('[aria-invalid=true]')?.focus();
}

// Renders a form for `schemaName`; `onSubmit(values)` may throw an ApiError whose fields are shown.
export async function renderForm(container, schemaName, { initial = {}, exclude = [], only = null, partial = false, submitLabel, onSubmit, extra } = {}) {
  await schemas();
  const options = { exclude, only, partial };
  const form = el('form', { class: 'generic', novalidate: true, 'data-schema': schemaName });
  form.append(el('div', { class: 'form-error', role: 'alert' }));
  // The paper form's own fields first; references to other records (ids) after them.
  const specs = fieldsOf(schemaName, options);
  const isReference = (spec) => spec.name.endsWith('_id');
  for (const spec of [...specs.filter((x) => !isReference(x)), ...specs.filter(isReference)]) {
    form.append(fieldBlock(spec, spec.name, initial[spec.name], scopeOf(schemaName)));
  }
  if (extra) form.append(extra);
  const button = el('button', { type: 'submit' }, submitLabel || t('ui.save'));
  form.append(el('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.setAttribute('aria-busy', 'true');
    try {
      await onSubmit(collect(form, schemaName, '', options), form);
      showErrors(form, { message: '' });
    } catch (error) {
      showErrors(form, error);
    } finally {
      button.removeAttribute('aria-busy');
    }
  });
  container.append(form);
  return form;
}
