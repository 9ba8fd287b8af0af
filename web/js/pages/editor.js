// editor.js: the job description editor — #/edit (a new description),
// #/edit/{name} (an installed one: /jdl/{name}/json and /jdl/{name}/script)
// and #/edit/tmp/{name} (a staged one: the VOTable of /jdl/tmp/{name}).
// Metadata, parameters, Used and Generated entities as editable tables, the
// script in CodeMirror (shell highlighting); import an OPUS XML file and
// export the description as one (editor-xml.js: read and written as the
// server does); submit → POST /jdl (JSON) → staged as tmp/{name}, the
// server's 400 reason shown at the field it names; for an admin validate
// (install), disable/enable and archive. What the caller may do follows
// /users/me: a role with submit stages, only an admin validates; a 403 that
// happens anyway is shown with the server's reason.

import {EditorState, EditorView, StreamLanguage, basicSetup, shell}
  from '/vendor/codemirror-6.0.2/codemirror.js';
import {errorText, request} from '../api.js';
import {clear, h} from '../dom.js';
import {TYPES, fromXml, toXml} from './editor-xml.js';

const enc = encodeURIComponent;

// The editor's box, inside its shadow root (see build()): editor.css cannot reach there.
const SCRIPT_THEME = EditorView.theme({
  '&': {border: '1px solid #d0d7de', borderRadius: '6px', background: '#fff', fontSize: '14.5px'},
  '&.cm-focused': {outline: '3px solid #0969da', outlineOffset: '2px'},
  '.cm-scroller': {minHeight: '8rem', maxHeight: '32rem',
    fontFamily: '"DejaVu Sans Mono", ui-monospace, monospace'},
});
let state = null; // the page shown: {view, alive}
let flash = null; // a message for the next render (after a navigation)

export function dispose() {
  if (state) {
    state.alive = false;
    if (state.view) state.view.destroy();
  }
  state = null;
}

export function canSubmit(me) {
  const g = me && me.grants;
  return Boolean(g && (g.admin || (g.submit && !me.app)));
}

const META = [
  // [key, label, kind, hint]
  ['name', 'Name', 'name', 'The URL name: 1 to 64 of A-Z a-z 0-9 _ -.'],
  ['description', 'Description', 'textarea', 'What a job of this description does.'],
  ['version', 'Version', 'text', null],
  ['type', 'Type', 'text', null],
  ['subtype', 'Subtype', 'text', null],
  ['contact_name', 'Contact name', 'text', null],
  ['contact_email', 'Contact e-mail', 'email', null],
  ['doculink', 'Documentation link', 'url', null],
  ['executionDuration', 'Execution duration (s)', 'count', 'Default time limit of a job; 0: the server\'s.'],
  ['quote', 'Quote (s)', 'count', 'How long a job is expected to run; 0: unknown.'],
  // a job's resource limits (the server may cap them lower); 0: none
  ['maxMemory', 'Memory limit (bytes)', 'count', 'Address space of the job\'s processes; 0: none.'],
  ['maxProcesses', 'Process limit', 'count', 'Processes the job may run at once; 0: none.'],
  ['maxOpenFiles', 'Open file limit', 'count', 'Files each process may hold open; 0: none.'],
  ['maxCpuTime', 'CPU time limit (s)', 'count', 'CPU seconds per process; 0: none.'],
  // what a batch backend (SLURM) asks its scheduler for; empty / 0: the server's default
  ['partition', 'SLURM partition', 'text', 'Letters, digits and _.:,=- only; empty: the server\'s.'],
  ['account', 'SLURM account', 'text', 'Letters, digits and _.:,=- only; empty: the server\'s.'],
  ['gres', 'SLURM generic resources', 'text', 'Such as gpu:1; empty: none.'],
  ['nodes', 'Nodes', 'count', 'Nodes a SLURM job asks for; 0: SLURM\'s default.'],
  ['tasksPerNode', 'Tasks per node', 'count', '0: SLURM\'s default.'],
  ['cpusPerTask', 'CPUs per task', 'count', '0: SLURM\'s default.'],
];

const PARAM_COLS = [
  ['name', 'Name'], ['datatype', 'Type'], ['default', 'Default'], ['required', 'Required'],
  ['description', 'Description'], ['unit', 'Unit'], ['min', 'Min'], ['max', 'Max'],
  ['options', 'Options (one per line)'],
];
const USED_COLS = [
  ['name', 'Name'], ['description', 'Description'], ['content_type', 'Content type'],
  ['multiplicity', 'Multiplicity'], ['default', 'Default'], ['url', 'URL template ($ID)'],
];
const GEN_COLS = [
  ['name', 'Name'], ['description', 'Description'], ['content_type', 'Content type'],
  ['multiplicity', 'Multiplicity'], ['default', 'Default (file name or glob)'],
];
// kept from what was loaded though the tables do not show them
const PARAM_KEPT = ['ucd', 'utype', 'arraysize'];
const ENTITY_KEPT = ['role'];

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

function emptyDoc() {
  return {name: '', description: null, doculink: null, type: null, subtype: null, version: null,
    contact_name: null, contact_email: null, executionDuration: 0, quote: 0,
    maxMemory: 0, maxProcesses: 0, maxOpenFiles: 0, maxCpuTime: 0,
    partition: null, account: null, gres: null, nodes: 0, tasksPerNode: 0, cpusPerTask: 0,
    script: '#!/bin/bash\n', parameters: [], used: [], generated: []};
}

// ---- the metadata ----------------------------------------------------

function metaFields(doc) {
  const fields = new Map();
  const els = [];
  for (const [key, label, kind, hint] of META) {
    const id = `ed-${key}`;
    let control;
    if (kind === 'textarea') {
      control = h('textarea', {id, name: key, rows: 3});
      control.value = doc[key] ?? '';
    } else {
      const type = kind === 'count' ? 'number' : kind === 'name' ? 'text' : kind;
      control = h('input', {id, name: key, type, spellcheck: kind === 'text' ? null : 'false',
        min: kind === 'count' ? '0' : null, step: kind === 'count' ? '1' : null,
        pattern: kind === 'name' ? '[A-Za-z0-9_\\-]{1,64}' : null,
        required: kind === 'name', autocomplete: 'off'});
      control.value = doc[key] ?? '';
    }
    const err = h('p', {class: 'field-error', id: `${id}-error`, hidden: true});
    const hintEl = hint ? h('p', {class: 'hint', id: `${id}-hint`}, hint) : null;
    control.setAttribute('aria-describedby', [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' '));
    els.push(h('div', {class: `field ed-${kind}`}, h('label', {for: id}, label), control, hintEl, err));
    fields.set(key, {control, err});
  }
  return {fields, el: h('fieldset', {class: 'ed-meta'}, h('legend', null, 'Description'), ...els)};
}

function readMeta(fields, doc) {
  for (const [key, , kind] of META) {
    const v = fields.get(key).control.value;
    if (kind === 'count') doc[key] = v.trim() === '' ? null : Number(v);
    else if (kind === 'name') doc[key] = v.trim();
    else doc[key] = v.trim() === '' ? null : v;
  }
}

// ---- the tables (parameters, used, generated) ------------------------
//
// Each row is a <tbody> of two rows, the cells and an error line, so that
// moving a row moves its error with it. Every cell has its own label: hidden
// on a wide screen (the column header says it), shown on a narrow one where
// the rows become cards.

function table({kind, title, what, cols, rows, kept}) {
  const list = [];
  const tableEl = h('table', {class: 'ed-table', id: `ed-${kind}-table`},
    h('thead', null, h('tr', null, ...cols.map(([, l]) => h('th', {scope: 'col'}, l)),
      h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'Order and removal')))));
  const empty = h('p', {class: 'empty', id: `ed-${kind}-empty`}, `No ${what}s.`);
  const add = h('button', {type: 'button', id: `ed-${kind}-add`, class: 'small'},
    `Add ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`);
  const section = h('fieldset', {class: `ed-list ed-${kind}`, id: `ed-${kind}`},
    h('legend', null, title), empty, h('div', {class: 'table-wrap'}, tableEl), add);

  function relabel() {
    list.forEach((r, i) => {
      r.tbody.dataset.index = String(i);
      for (const [key, lab] of r.labels) lab.textContent = `${what[0].toUpperCase()}${what.slice(1)} ${i + 1}: ${key}`;
      r.up.disabled = i === 0;
      r.down.disabled = i === list.length - 1;
      for (const b of [r.up, r.down, r.remove]) {
        const name = r.cells.get('name').value.trim() || `${i + 1}`;
        b.setAttribute('aria-label', `${b.dataset.verb} ${what} ${name}`);
      }
    });
    empty.hidden = list.length > 0;
    tableEl.hidden = list.length === 0;
  }

  function addRow(item, focus) {
    const r = {item, cells: new Map(), labels: []};
    const tr = h('tr');
    for (const [key, label] of cols) {
      const id = nextId(`ed-${kind}-${key}`);
      let c;
      if (key === 'datatype') {
        c = h('select', {id}, ...TYPES.map((t) => h('option', {value: t}, t)));
        c.value = item.datatype || 'char';
      } else if (key === 'required') {
        c = h('input', {type: 'checkbox', id});
        c.checked = Boolean(item.required);
      } else if (key === 'options' || key === 'description') {
        c = h('textarea', {id, rows: 2});
        c.value = key === 'options' ? (item.options || []).join('\n') : (item[key] ?? '');
      } else {
        c = h('input', {type: 'text', id, spellcheck: key === 'name' ? 'false' : null, autocomplete: 'off'});
        c.value = item[key] ?? '';
      }
      const lab = h('label', {for: id, class: 'cell-label'}, label);
      r.labels.push([label.replace(/ \(.*$/, '').toLowerCase(), lab]);
      r.cells.set(key, c);
      tr.appendChild(h('td', {'data-col': key}, lab, c));
    }
    const btn = (verb, text, fn) => h('button', {type: 'button', class: 'small', 'data-verb': verb,
      on: {click: fn}}, text);
    r.up = btn('Move up', '↑', () => move(r, -1, r.up));
    r.down = btn('Move down', '↓', () => move(r, 1, r.down));
    r.remove = btn('Remove', 'Remove', () => {
      const i = list.indexOf(r);
      list.splice(i, 1);
      r.tbody.remove();
      relabel();
      const next = list[Math.min(i, list.length - 1)];
      (next ? next.remove : add).focus();
    });
    tr.appendChild(h('td', {class: 'ed-row-actions'}, r.up, r.down, r.remove));
    r.err = h('p', {class: 'field-error', hidden: true});
    r.tbody = h('tbody', {class: 'ed-row', 'data-kind': kind}, tr,
      h('tr', {class: 'ed-row-error'}, h('td', {colspan: String(cols.length + 1)}, r.err)));
    r.cells.get('name').addEventListener('input', relabel);
    if (r.cells.has('required')) {
      // a parameter with a default may always be left out (the server says so too)
      const def = r.cells.get('default');
      const req = r.cells.get('required');
      const sync = () => {
        req.disabled = def.value !== '';
        if (req.disabled) req.checked = false;
      };
      def.addEventListener('input', sync);
      sync();
    }
    list.push(r);
    tableEl.appendChild(r.tbody);
    relabel();
    if (focus) r.cells.get('name').focus();
    return r;
  }

  function move(r, by, keep) {
    const i = list.indexOf(r);
    const j = i + by;
    if (j < 0 || j >= list.length) return;
    list.splice(i, 1);
    list.splice(j, 0, r);
    if (by < 0) tableEl.insertBefore(r.tbody, list[j + 1].tbody);
    else tableEl.insertBefore(r.tbody, list[j - 1].tbody.nextSibling);
    relabel();
    (keep.disabled ? r.cells.get('name') : keep).focus();
  }

  add.addEventListener('click', () => addRow(kind === 'params'
    ? {datatype: 'char', required: true, options: []} : {}, true));
  for (const it of rows) addRow(it, false);
  relabel();

  return {
    el: section, rows: list,
    read() {
      return list.map((r) => {
        const o = {};
        for (const [key] of cols) {
          const c = r.cells.get(key);
          if (key === 'required') o.required = c.disabled ? false : c.checked;
          else if (key === 'options') o.options = c.value.split('\n').map((s) => s.trim()).filter(Boolean);
          else if (key === 'name' || key === 'datatype') o[key] = c.value.trim();
          else o[key] = c.value.trim() === '' ? null : c.value;
        }
        for (const k of kept) o[k] = r.item[k] ?? null;
        return o;
      });
    },
  };
}

// ---- the page --------------------------------------------------------

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], {type: 'text/xml'}));
  const a = h('a', {href: url, download: name, hidden: true});
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function load(params) {
  const name = params.jobdef;
  if (!name) return {doc: emptyDoc(), where: 'new'};
  if (params.sub === 'tmp') {
    const r = await request('GET', `/jdl/tmp/${enc(name)}`, {accept: 'text/xml'});
    if (!r.ok) return {error: r};
    const {doc, dropped} = fromXml(r.text);
    doc.name = doc.name || name;
    return {doc, dropped, where: 'tmp'};
  }
  const [j, s] = await Promise.all([request('GET', `/jdl/${enc(name)}/json`),
    request('GET', `/jdl/${enc(name)}/script`, {accept: 'text/plain'})]);
  if (!j.ok || !j.data) return {error: j};
  if (!s.ok) return {error: s};
  return {doc: {...j.data, script: s.text}, where: 'installed'};
}

export async function render(root, params, ctx) {
  const my = {alive: true, view: null};
  state = my;
  const name = params.jobdef;
  const title = !name ? 'New job description' : params.sub === 'tmp' ? `Staged description ${name}`
    : `Edit ${name}`;
  ctx.setTitle(title);
  const section = h('section', {class: 'page editor'});
  root.appendChild(section);
  if (!canSubmit(ctx.me)) {
    section.append(h('h1', null, title), h('p', {class: 'error', id: 'ed-refused'},
      ctx.me ? 'Your account may not submit job descriptions: an administrator gives that right (a role with submit).'
        : 'Sign in to write job descriptions.'));
    if (!ctx.me) section.append(h('p', null, h('a', {href: '#/signin'}, 'Sign in')));
    return;
  }
  const admin = Boolean(ctx.me.grants.admin);
  section.append(h('p', {class: 'loading'}, 'Loading…'));
  let loaded;
  try {
    loaded = await load(params);
  } catch (e) {
    loaded = {error: {status: 0, text: e.message}};
  }
  if (!my.alive) return;
  clear(section);
  if (loaded.error) {
    section.append(h('h1', null, title), h('p', {class: 'error', role: 'alert', id: 'ed-load-error'},
      `Cannot read ${name}: ${errorText(loaded.error)}`),
    h('p', null, h('a', {href: '#/edit'}, 'Start a new description')));
    return;
  }
  build(section, my, loaded, params, ctx, admin, title);
}

function build(section, my, loaded, params, ctx, admin, title) {
  const {doc} = loaded;
  const status = h('div', {class: 'ed-status', id: 'ed-status', role: 'status', 'aria-live': 'polite'});
  const say = (text, kind = null) => clear(status).append(h('p', {class: kind}, text));
  const topError = h('div', {class: 'form-error', id: 'ed-error', role: 'alert', tabindex: '-1', hidden: true});
  const form = h('form', {class: 'ed-form', id: 'ed-form', novalidate: true});
  let meta;
  let tables;
  let scriptErr;
  // CodeMirror lives in a shadow root: its styles (style-mod) then go into a
  // constructed stylesheet (adoptedStyleSheets), which the CSP's style-src
  // 'self' allows; in the document itself style-mod adds a <style> element,
  // which that CSP refuses (and should: no inline style anywhere).
  const scriptHolder = h('div', {class: 'ed-script', id: 'ed-script'});
  const scriptRoot = scriptHolder.attachShadow({mode: 'open'});

  function fill(d) {
    clear(form);
    meta = metaFields(d);
    tables = {
      parameters: table({kind: 'params', title: 'Parameters', what: 'parameter', cols: PARAM_COLS,
        rows: d.parameters || [], kept: PARAM_KEPT}),
      used: table({kind: 'used', title: 'Used (input entities)', what: 'input', cols: USED_COLS,
        rows: d.used || [], kept: ENTITY_KEPT}),
      generated: table({kind: 'generated', title: 'Generated (results)', what: 'result', cols: GEN_COLS,
        rows: d.generated || [], kept: ENTITY_KEPT}),
    };
    scriptErr = h('p', {class: 'field-error', id: 'ed-script-error', hidden: true});
    if (my.view) my.view.destroy();
    clear(scriptRoot);
    my.view = new EditorView({
      root: scriptRoot,
      parent: scriptRoot,
      state: EditorState.create({
        doc: d.script || '',
        extensions: [basicSetup, StreamLanguage.define(shell), SCRIPT_THEME,
          EditorView.contentAttributes.of({'aria-label': 'Script (bash)', 'aria-multiline': 'true'})],
      }),
    });
    form.append(meta.el, tables.parameters.el, tables.used.el, tables.generated.el,
      h('fieldset', {class: 'ed-script-set'}, h('legend', {id: 'ed-script-label'}, 'Script (bash)'),
        h('p', {class: 'hint', id: 'ed-script-hint'},
          'What a job runs; its parameters and inputs arrive as environment variables and files, never as shell text. Tab moves on to the next control; Ctrl-] and Ctrl-[ indent.'),
        scriptHolder, scriptErr));
  }

  function read() {
    const d = {};
    readMeta(meta.fields, d);
    d.parameters = tables.parameters.read();
    d.used = tables.used.read();
    d.generated = tables.generated.read();
    d.script = my.view.state.doc.toString();
    return d;
  }

  const errorSlots = [];
  function clearErrors() {
    topError.hidden = true;
    clear(topError);
    for (const [el, controls] of errorSlots.splice(0)) {
      el.hidden = true;
      el.textContent = '';
      for (const c of controls) c.removeAttribute('aria-invalid');
    }
  }
  function showAt(el, controls, text) {
    el.textContent = text;
    el.hidden = false;
    for (const c of controls) c.setAttribute('aria-invalid', 'true');
    errorSlots.push([el, controls]);
    controls[0]?.focus();
  }
  function showTop(text) {
    clear(topError).append(h('p', null, text));
    topError.hidden = false;
    topError.focus();
  }

  // The server names the place of a problem: "parameters[1].default: ...",
  // "PARAM \"PATH\" in GROUP InputParams: ...", "name: ...", "script: ...".
  function showServerError(r) {
    const text = errorText(r).replace(/^invalid job description:\s*/, '');
    let m = /^(parameters|used|generated)\[(\d+)\](?:\.(\w+))?/.exec(text);
    let row = null;
    let col = null;
    if (m) {
      row = tables[m[1]].rows[Number(m[2])];
      col = m[3];
    } else if ((m = /^(?:PARAM|GROUP) "([^"]*)" in GROUP (InputParams|Used|Generated)/.exec(text))) {
      const t = tables[{InputParams: 'parameters', Used: 'used', Generated: 'generated'}[m[2]]];
      row = t.rows.find((x) => x.cells.get('name').value.trim() === m[1]) ||
        t.rows.find((x) => x.cells.get('name').value.trim().toLowerCase() === m[1].toLowerCase());
      const rest = text.slice(m[0].length);
      col = /VALUES MIN/.test(rest) ? 'min' : /VALUES MAX/.test(rest) ? 'max' : /OPTION/.test(rest)
        ? 'options' : /default value/.test(rest) ? 'default' : /datatype/.test(rest) ? 'datatype' : 'name';
    }
    if (row) {
      const c = row.cells.get(col) || row.cells.get('name');
      showAt(row.err, [c], text);
      return;
    }
    if (/^(?:script:|PARAM "script")/.test(text)) {
      showAt(scriptErr, [my.view.contentDOM], text);
      return;
    }
    m = /^(\w+):/.exec(text) || (/^(?:RESOURCE name|bad name)/.test(text) ? [null, 'name'] : null);
    const f = m && meta.fields.get(m[1]);
    if (f) {
      showAt(f.err, [f.control], text);
      return;
    }
    showTop(`The server refused the description (${r.status || 'network error'}): ${text}`);
  }

  // the browser's own checks first: the name and the numbers
  function browserCheck() {
    for (const [key] of META) {
      const f = meta.fields.get(key);
      if (!f.control.checkValidity()) {
        showAt(f.err, [f.control], f.control.validationMessage);
        return false;
      }
    }
    if (!my.view.state.doc.toString().trim()) {
      showAt(scriptErr, [my.view.contentDOM], 'The script is empty: write what a job runs.');
      return false;
    }
    return true;
  }

  // one request at a time: the buttons are off while one runs
  const busy = [];
  let working = false;
  async function act(fn) {
    if (working) return;
    working = true;
    const was = busy.map((b) => b.disabled);
    for (const b of busy) b.disabled = true;
    try {
      await fn();
    } finally {
      working = false;
      busy.forEach((b, i) => { b.disabled = was[i]; });
    }
  }

  function refused(r, what) {
    showTop(`${what} refused (${r.status || 'network error'}): ${errorText(r)}`);
  }

  async function submit() {
    clearErrors();
    if (!browserCheck()) return;
    const d = read();
    const r = await request('POST', '/jdl', {json: d});
    if (!my.alive) return;
    if (r.ok && /\/jdl\/tmp\/[^/]+$/.test(r.url || '')) {
      flash = {kind: 'ok', text: `Submitted: staged as tmp/${d.name}.${admin
        ? ' Validate it to install it.' : ' An administrator validates it to install it.'}`};
      ctx.toast(`Staged as tmp/${d.name}`, 'ok');
      ctx.navigate(`#/edit/tmp/${enc(d.name)}`);
      return;
    }
    if (r.status === 400) showServerError(r);
    else refused(r, 'Submitting');
  }

  const submitBtn = h('button', {type: 'submit', class: 'primary', id: 'ed-submit'}, 'Submit');
  const exportBtn = h('button', {type: 'button', id: 'ed-export'}, 'Export XML');
  const importInput = h('input', {type: 'file', id: 'ed-import', accept: '.xml,text/xml,application/xml'});
  busy.push(submitBtn);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(submit);
  });
  form.addEventListener('input', (ev) => {
    for (const [el, controls] of errorSlots) {
      if (controls.includes(ev.target)) {
        el.hidden = true;
        ev.target.removeAttribute('aria-invalid');
      }
    }
  });
  exportBtn.addEventListener('click', () => {
    const d = read();
    download(`${d.name || 'description'}.xml`, toXml(d));
    say(`Exported ${d.name || 'description'}.xml.`);
  });
  importInput.addEventListener('change', async () => {
    const file = importInput.files[0];
    if (!file) return;
    clearErrors();
    let got;
    try {
      got = fromXml(await file.text());
    } catch (e) {
      showTop(`Cannot import ${file.name}: ${e.message}`);
      return;
    }
    if (!my.alive) return;
    if (!got.doc.name) got.doc.name = file.name.replace(/(_vot)?\.xml$/i, '');
    fill(got.doc);
    importInput.value = '';
    say(`Imported ${file.name}.${dropNote(got.dropped)}`);
  });

  // the admin's actions on what is shown
  const adminBox = h('div', {class: 'ed-admin', id: 'ed-admin'});
  const name = params.jobdef;
  if (admin && loaded.where === 'tmp') {
    const validate = h('button', {type: 'button', class: 'primary', id: 'ed-validate'}, 'Validate (install)');
    busy.push(validate);
    validate.addEventListener('click', () => act(async () => {
      clearErrors();
      const r = await request('POST', `/jdl/tmp/${enc(name)}/validate`);
      if (!my.alive) return;
      if (!r.ok) {
        if (r.status === 400) showServerError(r);
        else refused(r, 'Validating');
        return;
      }
      flash = {kind: 'ok', text: `Validated: ${name} is installed; new jobs run this version.`};
      ctx.toast(`${name} installed`, 'ok');
      ctx.navigate(`#/edit/${enc(name)}`);
    }));
    adminBox.append(h('h2', null, 'Administration'),
      h('p', {class: 'hint'}, `Validating installs tmp/${name} as ${name} (replacing the installed one, if any).`),
      h('div', {class: 'actions'}, validate));
  } else if (admin && loaded.where === 'installed') {
    const stateEl = h('span', {class: 'badge', id: 'ed-enabled'}, '…');
    const toggle = h('button', {type: 'button', id: 'ed-toggle', disabled: true}, '…');
    const archive = h('button', {type: 'button', class: 'danger', id: 'ed-archive'}, 'Archive');
    busy.push(toggle, archive);
    let enabled = true;
    const show = (en) => {
      enabled = en;
      stateEl.textContent = en ? 'enabled' : 'disabled for maintenance';
      stateEl.className = `badge ${en ? 'badge-ok' : 'badge-warn'}`;
      toggle.textContent = en ? 'Disable for maintenance' : 'Enable';
      toggle.disabled = false;
    };
    request('GET', `/admin/jdl/${enc(name)}`).then((r) => {
      if (!my.alive) return;
      if (r.ok && r.data) show(r.data.enabled !== false);
      else stateEl.textContent = `unknown (${errorText(r)})`;
    });
    toggle.addEventListener('click', () => act(async () => {
      clearErrors();
      const r = await request('POST', `/admin/jdl/${enc(name)}/${enabled ? 'disable' : 'enable'}`);
      if (!my.alive) return;
      if (!r.ok || !r.data) {
        refused(r, enabled ? 'Disabling' : 'Enabling');
        return;
      }
      show(r.data.enabled !== false);
      say(r.data.enabled === false
        ? `${name} is disabled: no new jobs until it is enabled again.` : `${name} is enabled.`);
    }));
    let armed = null;
    archive.addEventListener('click', () => {
      if (!armed) {
        archive.textContent = `Really archive ${name}?`;
        archive.classList.add('confirm');
        armed = setTimeout(() => {
          armed = null;
          archive.textContent = 'Archive';
          archive.classList.remove('confirm');
        }, 8000);
        return;
      }
      clearTimeout(armed);
      armed = null;
      act(async () => {
        clearErrors();
        const r = await request('DELETE', `/jdl/${enc(name)}`);
        if (!my.alive) return;
        if (!r.ok) {
          archive.textContent = 'Archive';
          archive.classList.remove('confirm');
          refused(r, 'Archiving');
          return;
        }
        ctx.toast(`${name} archived: no longer served (its jobs and provenance stay).`, 'ok');
        ctx.navigate('#/jdl');
      });
    });
    adminBox.append(h('h2', null, 'Administration'),
      h('p', null, 'State: ', stateEl),
      h('p', {class: 'hint'}, 'Archiving moves the description out of the served directory; its jobs and their provenance stay.'),
      h('div', {class: 'actions'}, toggle, archive));
  } else {
    adminBox.hidden = true;
  }

  const head = h('div', {class: 'page-head'}, h('h1', null, title));
  const intro = h('p', {class: 'hint'}, loaded.where === 'tmp'
    ? `Staged for review as tmp/${name}${admin ? '' : ': an administrator validates it'}. Submitting again replaces it.`
    : loaded.where === 'installed'
      ? `Submitting stages your changes as tmp/${name}${admin ? ', to validate' : ' for an administrator to validate'}; the installed version runs until then.`
      : `Submitting stages the description as tmp/{name}${admin ? ', to validate' : ' for an administrator to validate'}.`);
  if (flash) {
    say(flash.text, flash.kind === 'ok' ? 'ok' : null);
    flash = null;
  }
  if (loaded.dropped && loaded.dropped.length) status.append(h('p', {class: 'warning'}, dropNote(loaded.dropped)));
  const tools = h('div', {class: 'ed-tools'},
    h('div', {class: 'field ed-import'}, h('label', {for: 'ed-import'}, 'Import an XML file'), importInput),
    h('div', {class: 'actions'}, exportBtn,
      loaded.where === 'installed' ? h('a', {href: `#/new/${enc(name)}`, class: 'button'}, 'Job form') : null));
  section.append(head, intro, status, topError, tools, adminBox, form,
    h('div', {class: 'form-actions'}, submitBtn, h('a', {href: '#/jdl'}, 'Back to the descriptions')));
  fill(doc); // in the document, so that CodeMirror measures its lines right
  submitBtn.setAttribute('form', 'ed-form');
  meta.fields.get('name').control.focus();
}

function dropNote(dropped) {
  return dropped && dropped.length
    ? ` ${dropped.join(', ')}: not carried by the JSON the editor submits; set them in the XML file and upload it with the API to keep them.`
    : '';
}
