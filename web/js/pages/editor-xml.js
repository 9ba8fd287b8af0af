// editor-xml.js: job descriptions as OPUS VOTables, in the browser, for the
// editor (editor.js). Both sides work on the JSON shape of GET
// /jdl/{name}/json plus "script" (what POST /jdl takes back):
//   fromXml(text) -> {doc, dropped} | throws Error(reason)
//     reads the VOTable the way src/jdl/jdl_parse.c does (local names, so the
//     namespace may be absent; value="" is absent; a PARAM with a default is
//     optional; "file" = datatype file or xtype application/octet-stream;
//     nested OPTIONs flattened). No network: DOMParser on the text, a DOCTYPE
//     refused as the server refuses it. dropped: the PARAMs the JSON shape
//     has no place for (none since the JSON carries maxMemory and the other
//     limits; kept for the page's note should the shapes part again).
//   toXml(doc) -> text
//     writes the VOTable the way src/jdl/jdl_write.c does (same elements,
//     attributes, order, indentation and escapes), so that the server reads
//     it back to the same description.

const TYPES = ['boolean', 'short', 'int', 'long', 'char', 'float', 'double', 'anyURI', 'file'];
const META_TEXT = ['doculink', 'type', 'subtype', 'version', 'contact_name', 'contact_email',
  'script'];
const META_SECONDS = ['executionDuration', 'quote'];
// the resource limits: written only when set, as the server does (0: none)
const META_LIMITS = ['maxMemory', 'maxProcesses', 'maxOpenFiles', 'maxCpuTime'];
// what a batch backend (SLURM) asks for: written only when set (null / 0: the server's default)
const META_BATCH_TEXT = ['partition', 'account', 'gres'];
const META_BATCH_COUNTS = ['nodes', 'tasksPerNode', 'cpusPerTask'];
const META_DROPPED = [];
const ENTITY_FIELDS = ['role', 'multiplicity', 'default', 'content_type', 'url'];

export {TYPES};

const kids = (n, local) => [...n.children].filter((c) => c.localName === local);
const attr = (n, a) => (n.hasAttribute(a) ? n.getAttribute(a) : null);
const attrSet = (n, a) => {
  const v = attr(n, a);
  return v === '' ? null : v;
};

function description(n) {
  const d = kids(n, 'DESCRIPTION')[0];
  if (!d) return null;
  const t = d.textContent.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  return t || null;
}

function option(p, n) {
  const v = attr(n, 'value');
  if (v === null) throw new Error(`PARAM "${p.name}" in GROUP InputParams: OPTION without a value`);
  p.options.push(v);
  for (const c of kids(n, 'OPTION')) option(p, c);
}

function param(n) {
  const name = attr(n, 'name');
  if (name === null) throw new Error('PARAM in GROUP InputParams: missing name attribute');
  const datatype = attrSet(n, 'datatype');
  const xtype = attrSet(n, 'xtype');
  let type;
  if (datatype === 'file' || xtype === 'application/octet-stream') type = 'file';
  else if (!datatype) throw new Error(`PARAM "${name}" in GROUP InputParams: missing datatype`);
  else if (TYPES.includes(datatype)) type = datatype;
  else throw new Error(`PARAM "${name}" in GROUP InputParams: unknown datatype "${datatype}"`);
  const def = attrSet(n, 'value');
  const p = {name, datatype: type, required: !def && attr(n, 'type') !== 'no_query', default: def,
    description: description(n), unit: attrSet(n, 'unit'), ucd: attrSet(n, 'ucd'),
    utype: attrSet(n, 'utype'), arraysize: attrSet(n, 'arraysize'), min: null, max: null,
    options: []};
  for (const v of kids(n, 'VALUES')) {
    for (const c of v.children) {
      if (c.localName === 'MIN' || c.localName === 'MAX') {
        const k = c.localName.toLowerCase();
        const why = p[k] !== null ? `VALUES ${c.localName} given twice`
          : attr(c, 'inclusive') === 'no' ? `VALUES ${c.localName} inclusive="no" is not supported`
            : attrSet(c, 'value') === null ? `VALUES ${c.localName} without a value` : null;
        if (why) throw new Error(`PARAM "${name}" in GROUP InputParams: ${why}`);
        p[k] = attrSet(c, 'value');
      } else if (c.localName === 'OPTION') {
        option(p, c);
      }
    }
  }
  return p;
}

function entity(g, group) {
  const name = attr(g, 'name');
  if (name === null) throw new Error(`GROUP in GROUP ${group}: missing name attribute`);
  // the shape of /jdl/{name}/json, where a Generated one has "url": null too
  const e = {name, description: description(g), role: null, multiplicity: null, default: null,
    content_type: null, url: null};
  const seen = new Set();
  for (const p of kids(g, 'PARAM')) {
    const pn = (attr(p, 'name') || '').toLowerCase();
    const f = ENTITY_FIELDS.find((k) => k.toLowerCase() === pn);
    if (!f || (f === 'url' && group !== 'Used')) continue;
    if (seen.has(f)) throw new Error(`GROUP "${name}" in GROUP ${group}: PARAM "${f}" given twice`);
    seen.add(f);
    e[f] = attrSet(p, 'value');
  }
  return e;
}

export function fromXml(text) {
  if (/<!DOCTYPE/i.test(text)) {
    throw new Error('DOCTYPE: document type declarations are refused (they could declare entities)');
  }
  const xml = new DOMParser().parseFromString(text, 'application/xml');
  const bad = xml.getElementsByTagName('parsererror')[0];
  if (bad) throw new Error(`malformed XML: ${bad.textContent.trim().split('\n')[0]}`);
  const root = xml.documentElement;
  if (!root || root.localName !== 'VOTABLE') throw new Error('the root element must be VOTABLE');
  const resources = kids(root, 'RESOURCE');
  const res = resources.find((r) => attr(r, 'utype') === 'voprov:ActivityDescription') ||
    resources.find((r) => !r.hasAttribute('utype'));
  if (!res) throw new Error('VOTABLE: no RESOURCE with utype="voprov:ActivityDescription"');
  const doc = {name: attrSet(res, 'name'), description: description(res), doculink: null,
    type: null, subtype: null, version: null, contact_name: null, contact_email: null,
    executionDuration: 0, quote: 0, maxMemory: 0, maxProcesses: 0, maxOpenFiles: 0, maxCpuTime: 0,
    partition: null, account: null, gres: null, nodes: 0, tasksPerNode: 0, cpusPerTask: 0,
    script: null, parameters: [], used: [], generated: []};
  const dropped = [];
  const seen = new Set();
  for (const c of res.children) {
    if (c.localName === 'PARAM') {
      const pn = (attr(c, 'name') || '').toLowerCase();
      const all = [...META_TEXT, ...META_SECONDS, ...META_LIMITS, ...META_BATCH_TEXT,
        ...META_BATCH_COUNTS, ...META_DROPPED];
      const m = all.find((k) => k.toLowerCase() === pn);
      if (!m) continue;
      if (seen.has(m)) throw new Error(`PARAM "${m}": given twice`);
      seen.add(m);
      const v = attrSet(c, 'value');
      if (META_TEXT.includes(m) || META_BATCH_TEXT.includes(m)) {
        doc[m] = v;
      } else if (v !== null) {
        if (!/^[0-9]+$/.test(v)) throw new Error(`PARAM "${m}": value "${v}" must be a non-negative integer`);
        if (META_SECONDS.includes(m) || META_LIMITS.includes(m) || META_BATCH_COUNTS.includes(m)) {
          doc[m] = Number(v);
        }
        else if (Number(v) > 0) dropped.push(m);
      }
    } else if (c.localName === 'GROUP') {
      const gn = attr(c, 'name');
      if (gn === 'InputParams') {
        for (const p of kids(c, 'PARAM')) doc.parameters.push(param(p));
      } else if (gn === 'Used' || gn === 'Generated') {
        for (const g of kids(c, 'GROUP')) doc[gn.toLowerCase()].push(entity(g, gn));
      }
    }
  }
  return {doc, dropped};
}

// ---- writing, as libxml2's xmlTextWriter does in jdl_write.c -----------

const escAttr = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
const escText = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/\r/g, '&#13;');
// a DESCRIPTION as the server keeps it: blanks around it dropped, blank is none
const descText = (s) => (s ?? '').replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '') || null;

class Writer {
  constructor() {
    this.out = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
    this.stack = []; // [name, hasChildren]
    this.open = false; // the start tag of the top element is not closed yet
  }

  start(name, attrs = []) {
    if (this.open) this.out.push('>\n');
    if (this.stack.length) this.stack[this.stack.length - 1][1] = true;
    this.out.push(`${'  '.repeat(this.stack.length)}<${name}`);
    for (const [k, v] of attrs) if (v !== null && v !== undefined) this.out.push(` ${k}="${escAttr(v)}"`);
    this.stack.push([name, false]);
    this.open = true;
  }

  end() {
    const [name, children] = this.stack.pop();
    if (this.open) this.out.push('/>\n');
    else if (children) this.out.push(`${'  '.repeat(this.stack.length)}</${name}>\n`);
    this.open = false;
  }

  element(name, text) {
    this.start(name);
    this.out.push(`>${escText(text)}</${name}>\n`);
    this.stack.pop();
    this.open = false;
  }

  text() {
    return this.out.join('');
  }
}

function charParam(w, name, value, utype) {
  w.start('PARAM', [['name', name], ['value', value ?? ''], ['arraysize', '*'], ['datatype', 'char'],
    ['utype', utype]]);
  w.end();
}

function intParam(w, name, value, utype) {
  const v = Number(value) || 0;
  w.start('PARAM', [['name', name], ['value', String(v)],
    ['datatype', v > 2147483647 ? 'long' : 'int'], ['utype', utype]]);
  w.end();
}

function writeParam(w, p) {
  const file = p.datatype === 'file';
  const def = p.default === '' ? null : p.default;
  w.start('PARAM', [['ID', p.name], ['name', p.name], ['datatype', file ? 'char' : p.datatype],
    ['xtype', file ? 'application/octet-stream' : null], ['value', def], ['arraysize', p.arraysize],
    ['unit', p.unit], ['ucd', p.ucd], ['utype', p.utype],
    ['type', !p.required && !def ? 'no_query' : null]]);
  if (descText(p.description)) w.element('DESCRIPTION', descText(p.description));
  const opts = p.options || [];
  if (p.min || p.max || opts.length) {
    w.start('VALUES');
    for (const [el, v] of [['MIN', p.min], ['MAX', p.max], ...opts.map((o) => ['OPTION', o])]) {
      if (v === null || v === undefined || (el !== 'OPTION' && v === '')) continue;
      w.start(el, [['value', v]]);
      w.end();
    }
    w.end();
  }
  w.end();
}

function writeEntities(w, group, list) {
  const used = group === 'Used';
  const prefix = used ? 'voprov:UsedDescription' : 'voprov:WasGeneratedByDescription';
  w.start('GROUP', [['name', group]]);
  for (const e of list) {
    w.start('GROUP', [['name', e.name], ['utype', used ? 'voprov:UsedDescription' : 'voprov:WasGeneratedBy']]);
    if (descText(e.description)) w.element('DESCRIPTION', descText(e.description));
    charParam(w, 'role', e.role, `${prefix}.role`);
    charParam(w, 'multiplicity', e.multiplicity, `${prefix}.multiplicity`);
    charParam(w, 'default', e.default, 'voprov:Entity.id');
    charParam(w, 'content_type', e.content_type, 'voprov:EntityDescription.content_type');
    if (used) charParam(w, 'url', e.url, 'voprov:EntityDescription.url');
    w.end();
  }
  w.end();
}

export function toXml(doc) {
  const w = new Writer();
  w.start('VOTABLE', [['xmlns:xsi', 'http://www.w3.org/2001/XMLSchema-instance'],
    ['xmlns', 'http://www.ivoa.net/xml/VOTable/v1.3'], ['version', '1.3'],
    ['xsi:schemaLocation', 'http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/v1.3']]);
  w.start('RESOURCE', [['ID', doc.name], ['name', doc.name], ['type', 'meta'],
    ['utype', 'voprov:ActivityDescription']]);
  if (descText(doc.description)) w.element('DESCRIPTION', descText(doc.description));
  charParam(w, 'doculink', doc.doculink, 'voprov:ActivityDescription.doculink');
  charParam(w, 'type', doc.type, 'voprov:ActivityDescription.type');
  charParam(w, 'subtype', doc.subtype, 'voprov:ActivityDescription.subtype');
  charParam(w, 'version', doc.version, 'voprov:ActivityDescription.version');
  charParam(w, 'contact_name', doc.contact_name, 'voprov:Agent.name');
  charParam(w, 'contact_email', doc.contact_email, 'voprov:Agent.email');
  intParam(w, 'executionDuration', doc.executionDuration, 'uws:Job.executionDuration');
  intParam(w, 'quote', doc.quote, 'uws:Job.quote');
  for (const m of META_LIMITS) if (Number(doc[m]) > 0) intParam(w, m, doc[m], null);
  for (const m of META_BATCH_TEXT) if (doc[m]) charParam(w, m, doc[m], null);
  for (const m of META_BATCH_COUNTS) if (Number(doc[m]) > 0) intParam(w, m, doc[m], null);
  charParam(w, 'script', doc.script, null);
  w.start('GROUP', [['name', 'InputParams']]);
  for (const p of doc.parameters || []) writeParam(w, p);
  w.end();
  writeEntities(w, 'Used', doc.used || []);
  writeEntities(w, 'Generated', doc.generated || []);
  w.end();
  w.end();
  return w.text();
}
