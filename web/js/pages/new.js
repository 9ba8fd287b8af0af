// The new job form (#/new/{jobdef}[?from={id}]), generated from
// /jdl/{jobdef}/json: one field per parameter, the Used inputs (upload, URL,
// ID or an earlier result, with their multiplicity), the UWS control
// parameters; browser checks first, then the server's 400 reasons shown at
// their fields. ?from= pre-fills from an earlier job ("run again").
import { h, clear } from '../dom.js';
import { request } from '../api.js';
import { enc, jobPath, errorText, pool, shortId } from './jobkit.js';

const INT_TYPES = { short: [-32768, 32767], int: [-2147483648, 2147483647], long: [null, null] };
const FLOAT_TYPES = new Set(['float', 'double']);
const MODES = [
  ['upload', 'Upload a file'],
  ['url', 'URL'],
  ['id', 'Identifier'],
  ['result', 'Earlier result'],
];

let state = null;

export function dispose() {
  state = null;
  recent = null;
}

export async function render(root, params, ctx) {
  const jobdef = params.jobdef;
  const from = params.query ? params.query.get('from') : null;
  ctx.setTitle(`New ${jobdef} job`);
  clear(root);
  root.append(h('p', { class: 'loading' }, 'Loading the job description…'));

  const [jr, fr] = await Promise.all([
    request('GET', `/jdl/${enc(jobdef)}/json`),
    from ? request('GET', jobPath(jobdef, from)) : Promise.resolve(null),
  ]);
  clear(root);
  if (!jr.ok || !jr.data) {
    root.append(h('h1', {}, `New ${jobdef} job`),
      h('p', { class: 'error', role: 'alert' }, errorText(jr)));
    return;
  }
  const jdl = jr.data;
  const prev = fr && fr.ok && fr.data ? fr.data : null;
  const my = { fields: new Map(), busy: false };
  state = my;

  const formError = h('div', { class: 'form-error', id: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const form = h('form', { class: 'job-form', id: 'job-form', novalidate: true });
  form.append(formError);

  if (from && !prev) {
    form.append(h('p', { class: 'warning', role: 'status' },
      `Could not read job ${from} to run it again: ${fr ? errorText(fr) : ''}`));
  }
  const prevParams = prev ? lowerKeys(prev.parameters || {}) : {};

  const usedNames = new Set((jdl.used || []).map((u) => u.name.toLowerCase()));
  const plain = (jdl.parameters || []).filter((p) => !usedNames.has(p.name.toLowerCase()));
  if (plain.length) {
    const fs = h('fieldset', { class: 'params' }, h('legend', {}, 'Parameters'));
    for (const p of plain) {
      const w = p.datatype === 'file'
        ? inputWidget({ name: p.name, description: p.description, multiplicity: '1',
          content_type: null, url: null, default: p.default }, p.required, prevParams)
        : paramField(p, prevParams);
      my.fields.set(p.name.toLowerCase(), w);
      fs.append(w.el);
    }
    form.append(fs);
  }
  if ((jdl.used || []).length) {
    const fs = h('fieldset', { class: 'inputs' }, h('legend', {}, 'Input data'));
    for (const u of jdl.used) {
      const w = inputWidget(u, true, prevParams);
      my.fields.set(u.name.toLowerCase(), w);
      fs.append(w.el);
    }
    form.append(fs);
  }
  const ctl = controlFields(jdl, prev);
  for (const [k, w] of ctl) my.fields.set(k, w);
  form.append(h('fieldset', { class: 'controls' }, h('legend', {}, 'Job control'),
    ...[...ctl.values()].map((w) => w.el)));

  const runBtn = h('button', { type: 'submit', class: 'primary', id: 'create-run', value: 'run' },
    'Create and run');
  const createBtn = h('button', { type: 'submit', id: 'create', value: 'create' }, 'Create');
  form.append(h('div', { class: 'form-actions' }, runBtn, createBtn,
    h('a', { href: `#/jobs?jobdef=${enc(jobdef)}` }, 'Jobs of this description')));

  // a field's error goes as soon as the user changes it
  const clearAt = (ev) => {
    for (const w of my.fields.values()) {
      if (w.el.contains(ev.target) && !w.err.hidden) showError(w, '');
    }
  };
  form.addEventListener('input', clearAt);
  form.addEventListener('change', clearAt);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const run = !ev.submitter || ev.submitter.value !== 'create';
    submit(jobdef, my, form, formError, run, ctx, [runBtn, createBtn]);
  });

  const head = [h('h1', {}, from && prev ? `Run ${jobdef} again` : `New ${jobdef} job`)];
  if (jdl.description) head.push(h('p', { class: 'jdl-description' }, jdl.description));
  const meta = [];
  if (jdl.version) meta.push(`version ${jdl.version}`);
  if (jdl.contact_name) meta.push(`contact ${jdl.contact_name}`);
  if (meta.length) head.push(h('p', { class: 'jdl-meta' }, meta.join(' · ')));
  if (from && prev) {
    head.push(h('p', { class: 'hint' }, 'Pre-filled from job ',
      h('a', { href: `#/job/${enc(jobdef)}/${enc(from)}` }, from), '.'));
  }
  root.append(h('section', { class: 'new-job' }, ...head, form));
  const first = form.querySelector('input, select, textarea');
  if (first) first.focus();
}

function lowerKeys(o) {
  const out = {};
  for (const [k, v] of Object.entries(o)) out[k.toLowerCase()] = v;
  return out;
}

// A label (name, unit, required mark), the hint and the error slot of one field.
function fieldShell(id, name, unit, required, description, control) {
  const hintId = `${id}-hint`;
  const errId = `${id}-error`;
  const label = h('label', { for: id }, name,
    unit ? h('span', { class: 'unit' }, ` (${unit})`) : null,
    required ? h('abbr', { class: 'req', title: 'required' }, ' *') : null);
  const hint = description ? h('p', { class: 'hint', id: hintId }, description) : null;
  const err = h('p', { class: 'field-error', id: errId, hidden: true });
  const describedBy = [description ? hintId : null, errId].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', describedBy);
  return { label, hint, err };
}

function paramField(p, prevParams) {
  const id = `f-${p.name}`;
  const prevVal = prevParams[p.name.toLowerCase()];
  const initial = typeof prevVal === 'string' ? prevVal : p.default;
  let control;
  let kind = 'text';
  if (p.datatype === 'boolean') {
    kind = 'bool';
    control = h('input', { type: 'checkbox', id, name: p.name });
    control.checked = /^(true|1|yes)$/i.test(initial || '');
  } else if (p.options && p.options.length) {
    kind = 'select';
    const opts = p.options.map((o) => h('option', { value: o }, o));
    if (!p.required || initial == null) opts.unshift(h('option', { value: '' }, p.required ? '— choose —' : '(default)'));
    control = h('select', { id, name: p.name }, ...opts);
    if (initial != null) control.value = initial;
    if (p.required) control.required = true;
  } else if (p.datatype in INT_TYPES || FLOAT_TYPES.has(p.datatype)) {
    kind = 'number';
    control = h('input', { type: 'number', id, name: p.name, inputmode: p.datatype in INT_TYPES ? 'numeric' : 'decimal' });
    const [tmin, tmax] = INT_TYPES[p.datatype] || [null, null];
    control.step = p.datatype in INT_TYPES ? '1' : 'any';
    const min = p.min != null ? p.min : tmin;
    const max = p.max != null ? p.max : tmax;
    if (min != null) control.min = String(min);
    if (max != null) control.max = String(max);
    if (initial != null) control.value = initial;
  } else if (p.datatype === 'anyURI') {
    control = h('input', { type: 'text', id, name: p.name, inputmode: 'url', spellcheck: 'false' });
    if (initial != null) control.value = initial;
  } else {
    control = h('input', { type: 'text', id, name: p.name });
    if (initial != null) control.value = initial;
  }
  if (p.required && kind !== 'bool') control.required = true;
  const s = fieldShell(id, p.name, p.unit, p.required, p.description, control);
  const range = [];
  if (kind === 'number' && (p.min != null || p.max != null)) {
    range.push(h('span', { class: 'range' },
      p.min != null && p.max != null ? `${p.min} to ${p.max}` : p.min != null ? `≥ ${p.min}` : `≤ ${p.max}`));
  }
  const el = kind === 'bool'
    ? h('div', { class: 'field field-bool' }, control, s.label, s.hint, s.err)
    : h('div', { class: 'field' }, s.label, h('div', { class: 'control' }, control, ...range), s.hint, s.err);
  return {
    el, err: s.err, focusEl: control,
    controls: () => [control],
    append(fd) {
      if (kind === 'bool') { fd.append(p.name, control.checked ? 'true' : 'false'); return; }
      const v = control.value.trim();
      if (v !== '') fd.append(p.name, v);
    },
  };
}

// multiplicity: "1"/null exactly one, "n" at least one, "*" any, k exactly k.
function countRule(m) {
  if (m == null || m === '' || m === '1') return { min: 1, max: 1 };
  if (m === 'n' || m === '+') return { min: 1, max: Infinity };
  if (m === '*') return { min: 0, max: Infinity };
  const k = parseInt(m, 10);
  return Number.isFinite(k) && k > 0 ? { min: k, max: k } : { min: 0, max: Infinity };
}

function inputWidget(u, required, prevParams) {
  const base = `in-${u.name}`;
  const rule = countRule(u.multiplicity);
  if (!required) rule.min = 0;
  const rows = [];
  const list = h('div', { class: 'input-rows' });
  const err = h('p', { class: 'field-error', id: `${base}-error`, hidden: true });
  const legendBits = [u.name];
  const bits = [];
  if (u.content_type) bits.push(u.content_type);
  if (rule.max === Infinity) bits.push(rule.min ? 'one or more' : 'any number');
  else if (rule.max > 1) bits.push(`exactly ${rule.max}`);
  const addBtn = h('button', { type: 'button', class: 'small', id: `${base}-add` }, `Add another ${u.name}`);

  function addRow(mode, value) {
    const i = rows.length;
    const rid = `${base}-${i}`;
    const sel = h('select', { id: `${rid}-mode`, name: `${u.name}-mode` },
      ...MODES.filter(([m]) => m !== 'id' || u.url).map(([m, t]) => h('option', { value: m }, t)));
    const file = h('input', { type: 'file', id: `${rid}-file` });
    if (u.content_type) file.accept = u.content_type;
    const text = h('input', { type: 'text', id: `${rid}-text`, spellcheck: 'false' });
    const choices = h('datalist', { id: `${rid}-results` });
    const fileLabel = h('label', { for: `${rid}-file`, class: 'sr-only' }, `${u.name} ${i + 1}: file`);
    const textLabel = h('label', { for: `${rid}-text`, class: 'sr-only' }, `${u.name} ${i + 1}: value`);
    const row = { mode: sel, file, text };
    function show() {
      const m = sel.value;
      const up = m === 'upload';
      file.hidden = fileLabel.hidden = !up;
      text.hidden = textLabel.hidden = up;
      text.placeholder = m === 'url' ? 'https://… or file:///…'
        : m === 'id' ? `an identifier for ${u.url}` : 'job id/result id, or the result URL';
      text.inputMode = m === 'url' ? 'url' : 'text';
      if (m === 'result') {
        text.setAttribute('list', choices.id);
        earlierResults(u.content_type).then((opts) => {
          if (choices.childNodes.length) return;
          for (const o of opts) choices.append(h('option', { value: o.value }, o.label));
        });
      } else {
        text.removeAttribute('list');
      }
    }
    sel.addEventListener('change', show);
    sel.value = mode;
    if (value != null) text.value = value;
    show();
    const remove = rule.max > 1 && rule.max === Infinity && i > 0
      ? h('button', { type: 'button', class: 'small', title: `remove ${u.name} ${i + 1}`,
        on: { click: () => { rows.splice(rows.indexOf(row), 1); rowEl.remove(); sync(); } } }, 'Remove')
      : null;
    const rowEl = h('div', { class: 'input-row' },
      h('label', { for: `${rid}-mode`, class: 'sr-only' }, `${u.name} ${i + 1}: kind`),
      sel, fileLabel, file, textLabel, text, choices, remove);
    rows.push(row);
    list.append(rowEl);
    sync();
    return row;
  }
  function sync() {
    addBtn.hidden = rows.length >= rule.max;
  }
  addBtn.addEventListener('click', () => {
    const r = addRow(u.url ? 'id' : 'url', null);
    r.mode.focus();
  });

  // pre-fill: an earlier job's references (name, name_1, name_2, …), else the default
  const prevVals = [];
  const key = u.name.toLowerCase();
  if (key in prevParams) prevVals.push(prevParams[key]);
  for (let k = 1; `${key}_${k}` in prevParams; k++) prevVals.push(prevParams[`${key}_${k}`]);
  let note = null;
  if (prevVals.length) {
    for (const v of prevVals) {
      if (typeof v === 'string') addRow(guessMode(v, u), v);
      else { addRow('upload', null); note = 'The earlier job had an uploaded file here: choose it again.'; }
    }
  } else if (u.default) {
    addRow(guessMode(u.default, u), u.default);
  }
  const want = Math.max(rule.min, rule.max === Infinity ? 1 : rule.max);
  while (rows.length < want) addRow(u.url ? 'id' : 'upload', null);

  const hintId = `${base}-hint`;
  const hintParts = [u.description, bits.length ? `(${bits.join(', ')})` : null].filter(Boolean);
  const el = h('fieldset', { class: 'field input-field', id: base, 'aria-describedby': `${hintId} ${base}-error` },
    h('legend', {}, ...legendBits, required && rule.min > 0 ? h('abbr', { class: 'req', title: 'required' }, ' *') : null),
    hintParts.length ? h('p', { class: 'hint', id: hintId }, hintParts.join(' ')) : null,
    note ? h('p', { class: 'warning' }, note) : null,
    list, addBtn, err);
  return {
    el, err,
    get focusEl() { return rows.length ? (rows[0].mode.value === 'upload' ? rows[0].file : rows[0].text) : addBtn; },
    controls: () => rows.flatMap((r) => [r.file, r.text]),
    check() {
      let n = 0;
      for (const r of rows) {
        if (r.mode.value === 'upload' ? r.file.files.length : r.text.value.trim()) n++;
      }
      if (rows.filter((r) => r.mode.value === 'upload' && r.file.files.length).length > 1) {
        return `${u.name}: one upload only (or references)`;
      }
      if (n < rule.min) return rule.min === 1 ? `${u.name}: an input is required` : `${u.name}: needs ${rule.min} inputs, ${n} given`;
      if (n > rule.max) return `${u.name}: at most ${rule.max} inputs`;
      return '';
    },
    append(fd) {
      for (const r of rows) {
        if (r.mode.value === 'upload') {
          if (r.file.files.length) fd.append(u.name, r.file.files[0], r.file.files[0].name);
        } else {
          const v = r.text.value.trim();
          if (v) fd.append(u.name, v);
        }
      }
    },
  };
}

// The caller's recent results, offered as inputs ("{job id}/{result id}"),
// those of the entity's content type first; asked once per form.
let recent = null;
const SKIP_RESULTS = new Set(['stdout', 'stderr', 'provjson', 'provxml', 'provsvg']);

function earlierResults(contentType) {
  if (!recent) {
    recent = (async () => {
      const jr = await request('GET', '/jdl');
      const names = jr.ok && Array.isArray(jr.data) ? jr.data.map((d) => (typeof d === 'string' ? d : d.name)) : [];
      const lists = await pool(names, 4, (jd) => request('GET', `/rest/${enc(jd)}?PHASE=COMPLETED&LAST=5`)
        .then((r) => (r.ok && r.data && Array.isArray(r.data.jobs) ? r.data.jobs.map((j) => ({ ...j, jobdef: jd })) : [])));
      const jobs = lists.flat().sort((a, b) => (a.creationTime < b.creationTime ? 1 : -1)).slice(0, 12);
      const docs = await pool(jobs, 6, (j) => request('GET', jobPath(j.jobdef, j.jobId)));
      const out = [];
      docs.forEach((r, i) => {
        if (!r.ok || !r.data) return;
        const j = jobs[i];
        for (const res of r.data.results || []) {
          if (SKIP_RESULTS.has(res.id)) continue;
          out.push({ value: `${j.jobId}/${res.id}`, type: res['mime-type'],
            label: `${res.id} of ${j.jobdef} ${j.runId || shortId(j.jobId)}${res['mime-type'] ? ` (${res['mime-type']})` : ''}` });
        }
      });
      return out;
    })();
    recent.catch(() => { recent = null; });
  }
  return recent.then((all) => [...all.filter((o) => contentType && o.type === contentType),
    ...all.filter((o) => !contentType || o.type !== contentType)], () => []);
}

function guessMode(v, u) {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return /\/rest\/[^/]+\/[^/]+\/results\//.test(v) ? 'result' : 'url';
  if (/^[0-9a-f]{32}\/[^/]+$/.test(v)) return 'result';
  return u.url ? 'id' : 'url';
}

function controlFields(jdl, prev) {
  const m = new Map();
  const runId = h('input', { type: 'text', id: 'f-runid', name: 'RUNID' });
  if (prev && prev.runId) runId.value = prev.runId;
  const rs = fieldShell('f-runid', 'Run id', null, false, 'A label of your own for this job.', runId);
  m.set('runid', simple(h('div', { class: 'field' }, rs.label, runId, rs.hint, rs.err), rs.err, runId, 'RUNID'));

  const dur = h('input', { type: 'number', id: 'f-executionduration', name: 'EXECUTIONDURATION', min: '0', step: '1' });
  const d0 = prev ? prev.executionDuration : jdl.executionDuration;
  if (d0 != null) dur.value = String(d0);
  const ds = fieldShell('f-executionduration', 'Execution duration', 's', false,
    'Longest run in seconds (0: as long as the server allows); past it the job is stopped.', dur);
  m.set('executionduration', simple(h('div', { class: 'field' }, ds.label, dur, ds.hint, ds.err), ds.err, dur,
    'EXECUTIONDURATION'));

  const des = h('input', { type: 'datetime-local', id: 'f-destruction', name: 'DESTRUCTION', step: '1' });
  const ss = fieldShell('f-destruction', 'Destruction', null, false,
    'When the job and its files are removed (your local time); empty: the server\'s default.', des);
  const w = simple(h('div', { class: 'field' }, ss.label, des, ss.hint, ss.err), ss.err, des, 'DESTRUCTION');
  w.append = (fd) => {
    if (!des.value) return;
    const t = new Date(des.value);
    fd.append('DESTRUCTION', isNaN(t) ? des.value : t.toISOString());
  };
  m.set('destruction', w);
  return m;
}

function simple(el, err, control, name) {
  return {
    el, err, focusEl: control,
    controls: () => [control],
    append(fd) {
      const v = control.value.trim();
      if (v !== '') fd.append(name, v);
    },
  };
}

function showError(w, text) {
  w.err.textContent = text;
  w.err.hidden = !text;
  for (const c of w.controls()) {
    if (text) c.setAttribute('aria-invalid', 'true');
    else c.removeAttribute('aria-invalid');
  }
}

// The browser's own checks (constraint validation) and the input counts.
function browserCheck(my) {
  let first = null;
  for (const w of my.fields.values()) {
    let msg = '';
    if (w.check) msg = w.check();
    for (const c of w.controls()) {
      if (!msg && !c.hidden && !c.checkValidity()) msg = c.validationMessage;
    }
    showError(w, msg);
    if (msg && !first) first = w;
  }
  return first;
}

async function submit(jobdef, my, form, formError, run, ctx, buttons) {
  if (my.busy) return;
  formError.hidden = true;
  clear(formError);
  const bad = browserCheck(my);
  if (bad) {
    bad.focusEl.focus();
    return;
  }
  const fd = new FormData();
  for (const w of my.fields.values()) w.append(fd);
  if (run) fd.append('PHASE', 'RUN');
  my.busy = true;
  for (const b of buttons) b.disabled = true;
  let r;
  try {
    r = await request('POST', `/rest/${enc(jobdef)}`, { form: fd });
  } finally {
    my.busy = false;
    for (const b of buttons) b.disabled = false;
  }
  if (state !== my) return; // left the page meanwhile
  if (r.ok) {
    const id = (r.data && r.data.jobId) || jobIdFromUrl(r.url);
    if (id) {
      ctx.toast(run ? 'Job created and started' : 'Job created', 'ok');
      ctx.navigate(`#/job/${enc(jobdef)}/${enc(id)}`);
      return;
    }
  }
  serverErrors(my, r, formError);
}

function jobIdFromUrl(url) {
  const m = /\/rest\/[^/]+\/([^/?#]+)/.exec(url || '');
  return m ? decodeURIComponent(m[1]) : null;
}

// A 400 names each bad field ("name: reason"): shown at that field; what
// matches no field goes to the top of the form.
function serverErrors(my, r, formError) {
  const fields = (r.data && Array.isArray(r.data.fields)) ? r.data.fields : [];
  const rest = [];
  let first = null;
  const seen = new Set();
  for (const f of fields) {
    const k = String(f.name).toLowerCase();
    const w = my.fields.get(k) || my.fields.get(k.replace(/_\d+$/, ''));
    if (w) {
      const prev = seen.has(w) ? `${w.err.textContent}; ` : '';
      seen.add(w);
      showError(w, `${prev}${f.reason}`);
      if (!first) first = w;
    } else {
      rest.push(`${f.name}: ${f.reason}`);
    }
  }
  if (!fields.length) rest.push(errorText(r));
  if (rest.length) {
    formError.append(h('p', {}, `The server refused the job (${r.status || 'network error'}):`),
      h('ul', {}, ...rest.map((t) => h('li', {}, t))));
    formError.hidden = false;
  }
  if (first) first.focusEl.focus();
  else if (rest.length) formError.focus();
}
