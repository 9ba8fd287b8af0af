// jdl.js: #/ and #/jdl — the job descriptions the caller may run: name,
// description, version, contact, documentation link; a search box; each one
// leads to its job form (#/new/{name}) and its jobs (#/jobs?jobdef={name});
// for who may submit descriptions (an admin, or a role with submit), "New
// description" (#/edit) and each one's "Edit" (#/edit/{name}).

import {errorText, request} from '../api.js';
import {clear, h} from '../dom.js';

let aborter = null;

export function dispose() {
  if (aborter) aborter.abort();
  aborter = null;
}

// Only http(s) links are shown as links (a description could hold javascript:).
function safeUrl(u) {
  try {
    const url = new URL(u, location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function card(item, editable) {
  const {name, enabled} = item;
  const desc = h('p', {class: 'jdl-desc'}, '…');
  const meta = h('dl', {class: 'jdl-meta'});
  const el = h('li', {class: `jdl-card${enabled ? '' : ' jdl-disabled'}`, 'data-name': name},
    h('div', {class: 'jdl-head'},
      h('h2', null, h('a', {href: `#/new/${encodeURIComponent(name)}`}, name)),
      enabled ? null : h('span', {class: 'badge badge-warn'}, 'disabled for maintenance')),
    desc,
    meta,
    h('div', {class: 'actions'},
      enabled ? h('a', {class: 'button primary', href: `#/new/${encodeURIComponent(name)}`,
        'aria-label': `New ${name} job`}, 'New job') : null,
      h('a', {class: 'button secondary', href: `#/jobs?jobdef=${encodeURIComponent(name)}`,
        'aria-label': `${name} jobs`}, 'Jobs'),
      editable && item.loaded !== false ? h('a', {class: 'button secondary jdl-edit',
        href: `#/edit/${encodeURIComponent(name)}`, 'aria-label': `Edit ${name}`}, 'Edit') : null));
  item.el = el;
  item.fill = (doc) => {
    item.text = `${name} ${doc.description || ''}`.toLowerCase();
    desc.textContent = doc.description || '(no description)';
    clear(meta);
    const row = (k, v) => (v ? [h('dt', null, k), h('dd', null, v)] : null);
    const contact = [doc.contact_name, doc.contact_email].filter(Boolean).join(' ');
    const link = doc.doculink && safeUrl(doc.doculink);
    meta.append(...[row('Version', doc.version), row('Contact', contact),
      row('Documentation', link ? h('a', {href: link, rel: 'noopener noreferrer'}, doc.doculink)
        : doc.doculink)].flat().filter(Boolean));
  };
  item.text = name.toLowerCase();
  return el;
}

export async function render(root, params, ctx) {
  ctx.setTitle('Job descriptions');
  aborter = new AbortController();
  const {signal} = aborter;
  const search = h('input', {id: 'jdl-search', type: 'search', name: 'q', autocomplete: 'off',
    placeholder: 'name or words of the description', value: params.query.get('q') || ''});
  const count = h('p', {class: 'muted', id: 'jdl-count', 'aria-live': 'polite'});
  const list = h('ul', {class: 'jdl-list', id: 'jdl-list'});
  const status = h('p', {class: 'muted'}, 'Loading…');
  const editable = Boolean(ctx.me && ctx.me.grants &&
    (ctx.me.grants.admin || (ctx.me.grants.submit && !ctx.me.app)));
  root.appendChild(h('section', {class: 'page jdl'},
    h('div', {class: 'page-head'}, h('h1', null, 'Job descriptions'),
      editable ? h('a', {class: 'button', id: 'jdl-new', href: '#/edit'}, 'New description') : null),
    h('p', {class: 'muted'}, ctx.me ? `Signed in as ${ctx.me.name}. ` : 'Not signed in. ',
      'Pick a description to submit a job.'),
    h('div', {class: 'field search'}, h('label', {for: 'jdl-search'}, 'Search'), search),
    count, status, list));

  const r = await request('GET', '/jdl?detail=true', {signal});
  if (signal.aborted) return;
  if (!r.ok || !Array.isArray(r.data)) {
    status.textContent = `Cannot list the job descriptions: ${errorText(r)}`;
    status.className = 'error';
    return;
  }
  status.remove();
  const items = r.data.map((x) => (typeof x === 'string' ? {name: x, enabled: true} : x));
  if (!items.length) {
    list.replaceWith(h('p', {class: 'muted', id: 'jdl-empty'},
      'No job description you may run. An administrator adds them.'));
    return;
  }
  for (const it of items) list.appendChild(card(it, editable));

  const apply = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const it of items) {
      const ok = words.every((w) => it.text.includes(w));
      it.el.hidden = !ok;
      if (ok) shown++;
    }
    count.textContent = words.length ? `${shown} of ${items.length} descriptions`
      : `${items.length} description${items.length === 1 ? '' : 's'}`;
  };
  // ?detail=true carries what a card shows: one request for the whole page
  for (const it of items) it.fill(it);
  search.addEventListener('input', apply);
  apply();
}
