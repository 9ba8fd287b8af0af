// dom.js: building elements without markup strings. Every text goes in as a
// text node and every attribute through setAttribute, so nothing a user or a
// job description wrote is ever parsed as HTML.

const BOOL_ATTRS = new Set(['disabled', 'checked', 'hidden', 'required', 'multiple',
  'readonly', 'selected', 'open']);

// h('a', {href: '#/jobs', class: 'x', on: {click: fn}}, 'text', child, [more], null)
// attrs: class, id, for, type, name, value, href, title, role, aria-*, data-*,
// disabled/checked/... (booleans: set when truthy), on: {event: handler};
// any other attribute by its name. Children: nodes, strings and numbers (text
// nodes), arrays (flattened); null, undefined and false are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'value' && 'value' in el && tag !== 'button' && tag !== 'option') {
      el.value = String(v);
      el.setAttribute('value', String(v));
    } else if (k === 'checked' && tag === 'input') {
      el.checked = Boolean(v);
      if (v) el.setAttribute('checked', '');
    } else if (BOOL_ATTRS.has(k)) {
      if (v) el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

// Appends children as h() takes them; returns el.
export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// span.phase.phase-{lowercase}: the colour of a UWS phase comes from app.css.
export function phaseBadge(phase) {
  const p = String(phase || 'UNKNOWN');
  return h('span', {class: `phase phase-${p.toLowerCase().replace(/[^a-z]/g, '')}`}, p);
}

const pad = (n) => String(n).padStart(2, '0');

// '2026-12-02T10:00:00.123Z' -> '2026-12-02 11:00:00' in the browser's time zone;
// '' for nothing, the text itself when it is not a time.
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// 1536 -> '1.5 KiB'; '' for null/undefined.
export function fmtBytes(n) {
  if (n === null || n === undefined || n === '') return '';
  let v = Number(n);
  if (!Number.isFinite(v)) return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
