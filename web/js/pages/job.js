// The job page (#/job/{jobdef}/{id}): every UWS property, the parameters
// (inputs linked), results with a preview and a download, stdout and stderr,
// the error summary, the phase changing live (blocking WAIT) with the elapsed
// time, start / abort / delete, run again, and the way to the provenance page.
import { h, clear, append, phaseBadge, fmtTime, fmtBytes } from '../dom.js';
import { request } from '../api.js';
import { ACTIVE, enc, jobPath, jobAction, errorText, authFetch, download, fmtDuration } from './jobkit.js';
import { SampClient } from '../samp.js';

const WAITING = new Set(['PENDING', 'QUEUED', 'EXECUTING']); // where WAIT blocks
const FINAL = new Set(['COMPLETED', 'ERROR', 'ABORTED']);
const LOGS = ['stdout', 'stderr'];
const PROV_RESULTS = new Set(['provjson', 'provxml', 'provsvg']);
const TEXT_CAP = 256 * 1024; // bytes of a text preview
const LOG_CAP = 64 * 1024;
const IMAGE_CAP = 20 * 1024 * 1024;
const CSV_ROWS = 200;

let cur = null;

export function dispose() {
  if (cur) cur.stop();
  cur = null;
}

export async function render(root, params, ctx) {
  dispose();
  const p = new JobPage(root, params.jobdef, params.id, ctx);
  cur = p;
  await p.start();
}

class JobPage {
  constructor(root, jobdef, id, ctx) {
    Object.assign(this, { root, jobdef, id, ctx });
    this.path = jobPath(jobdef, id);
    this.abort = new AbortController();
    this.stopped = false;
    this.job = null;
    this.tick = null;
    this.resultsSig = null;
    this.logsSig = null;
    this.blobUrls = [];
  }

  stop() {
    this.stopped = true;
    this.abort.abort();
    clearInterval(this.tick);
    clearTimeout(this.retry);
    for (const u of this.blobUrls) URL.revokeObjectURL(u);
    sampStop(this);
  }

  async start() {
    this.ctx.setTitle(`Job ${this.id}`);
    clear(this.root);
    this.root.append(h('p', { class: 'loading' }, 'Loading the job…'));
    const r = await request('GET', this.path, { signal: this.abort.signal });
    if (this.stopped) return;
    clear(this.root);
    if (!r.ok || !r.data) {
      this.root.append(h('h1', {}, `Job ${this.id}`),
        h('p', { class: 'error', role: 'alert' }, r.status === 404 ? 'No such job (deleted, or never made).' : errorText(r)),
        h('p', {}, h('a', { href: `#/jobs?jobdef=${enc(this.jobdef)}` }, `Jobs of ${this.jobdef}`)));
      return;
    }
    this.build();
    this.update(r.data);
    this.tick = setInterval(() => this.drawElapsed(), 1000);
    this.live();
  }

  build() {
    this.badge = h('span', { class: 'job-phase', id: 'job-phase', 'aria-live': 'polite' });
    this.elapsed = h('span', { class: 'elapsed', id: 'job-elapsed' });
    this.actions = h('div', { class: 'job-actions' });
    this.error = h('div', { class: 'error-summary', id: 'error-summary', role: 'alert', hidden: true });
    this.props = h('dl', { class: 'props', id: 'job-props' });
    this.params = h('div', { id: 'job-params' });
    this.results = h('div', { id: 'job-results' });
    this.logs = h('div', { id: 'job-logs', class: 'logs' });
    this.root.append(h('section', { class: 'job-page' },
      h('p', { class: 'crumbs' }, h('a', { href: `#/jobs?jobdef=${enc(this.jobdef)}` }, `Jobs of ${this.jobdef}`)),
      h('div', { class: 'page-head' }, h('h1', {}, 'Job ', h('code', { class: 'job-id' }, this.id)), this.badge, this.elapsed),
      this.actions, this.error,
      h('section', { class: 'card' }, h('h2', {}, 'Properties'), this.props),
      h('section', { class: 'card' }, h('h2', {}, 'Parameters'), this.params),
      h('section', { class: 'card' }, h('h2', {}, 'Results'), this.results),
      h('section', { class: 'card' }, h('h2', {}, 'Output and errors of the run'), this.logs)));
  }

  // --- live: a blocking WAIT at a time; HELD/SUSPENDED (WAIT does not block
  // there) and failures are polled with back-off
  async live() {
    if (this.looping) return;
    this.looping = true;
    try {
      await this.liveLoop();
    } finally {
      this.looping = false;
    }
  }

  async liveLoop() {
    let backoff = 1000;
    while (!this.stopped && this.job && ACTIVE.has(this.job.phase)) {
      const blocking = WAITING.has(this.job.phase);
      if (!blocking) await this.sleep(backoff);
      if (this.stopped) return;
      const r = await request('GET', blocking ? `${this.path}?WAIT=30` : this.path, { signal: this.abort.signal });
      if (this.stopped) return;
      if (r.ok && r.data) {
        const moved = r.data.phase !== this.job.phase;
        this.update(r.data);
        backoff = moved ? 1000 : Math.min(backoff * 2, 15000);
      } else if (r.status === 404) {
        this.gone();
        return;
      } else {
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 15000);
      }
    }
  }

  sleep(ms) {
    return new Promise((res) => { this.retry = setTimeout(res, ms); });
  }

  gone() {
    clearInterval(this.tick);
    clear(this.root).append(h('h1', {}, `Job ${this.id}`),
      h('p', { role: 'status' }, 'This job was deleted.'),
      h('p', {}, h('a', { href: `#/jobs?jobdef=${enc(this.jobdef)}` }, `Jobs of ${this.jobdef}`)));
  }

  update(job) {
    const wasActive = this.job && ACTIVE.has(this.job.phase);
    this.job = job;
    clear(this.badge).append(phaseBadge(job.phase));
    this.drawElapsed();
    this.drawActions();
    this.drawError();
    this.drawProps();
    this.drawParams();
    this.drawResults();
    this.drawLogs();
    if (wasActive === false && ACTIVE.has(job.phase)) this.live(); // started again from here
  }

  drawElapsed() {
    const j = this.job;
    if (!j) return;
    let text = '';
    if (j.startTime) {
      const end = j.endTime ? Date.parse(j.endTime) : Date.now();
      text = `${j.endTime ? 'ran' : 'running for'} ${fmtDuration(end - Date.parse(j.startTime))}`;
    } else if (ACTIVE.has(j.phase) && j.creationTime) {
      text = `${j.phase === 'QUEUED' ? 'queued' : 'created'} ${fmtDuration(Date.now() - Date.parse(j.creationTime))} ago`;
    }
    if (this.elapsed.textContent !== text) this.elapsed.textContent = text;
  }

  drawActions() {
    const j = this.job;
    const a = clear(this.actions);
    const busy = (btns, on) => btns.forEach((b) => { b.disabled = on; });
    const act = async (action, btn) => {
      busy([...a.querySelectorAll('button')], true);
      const r = await jobAction(this.jobdef, this.id, action);
      if (this.stopped) return;
      busy([...a.querySelectorAll('button')], false);
      if (!r.ok) { this.ctx.toast(`${action.toLowerCase()}: ${r.message}`, 'error'); return; }
      if (action === 'DELETE') {
        this.ctx.toast('Job deleted', 'ok');
        this.ctx.navigate(`#/jobs?jobdef=${enc(this.jobdef)}`);
        return;
      }
      // while the WAIT loop runs it brings the change (with the results of an abort)
      if (!this.looping && r.job && r.job.jobId) this.update(r.job);
      if (btn && btn.isConnected) btn.focus();
    };
    if (j.phase === 'PENDING') a.append(h('button', { type: 'button', class: 'primary', id: 'job-run', on: { click: (e) => act('RUN', e.currentTarget) } }, 'Start'));
    if (ACTIVE.has(j.phase)) a.append(h('button', { type: 'button', id: 'job-abort', on: { click: (e) => act('ABORT', e.currentTarget) } }, 'Abort'));
    const del = h('button', { type: 'button', class: 'danger', id: 'job-delete' }, 'Delete');
    del.addEventListener('click', () => {
      if (del.dataset.confirm !== 'yes') { del.dataset.confirm = 'yes'; del.textContent = 'Really delete?'; return; }
      act('DELETE', del);
    });
    del.addEventListener('blur', () => { if (del.dataset.confirm) { delete del.dataset.confirm; del.textContent = 'Delete'; } });
    a.append(del,
      h('a', { class: 'button', id: 'job-again', href: `#/new/${enc(this.jobdef)}?from=${enc(this.id)}` }, 'Run again'));
    if (FINAL.has(j.phase) || j.phase === 'ARCHIVED') {
      a.append(h('a', { class: 'button', id: 'job-prov', href: `#/prov/${enc(this.jobdef)}/${enc(this.id)}` }, 'Provenance'));
    }
  }

  drawError() {
    const e = this.job.errorSummary;
    clear(this.error);
    this.error.hidden = !e;
    if (e) {
      this.error.append(h('h2', {}, `Error (${e.type || 'fatal'})`),
        h('pre', { class: 'error-message' }, e.message || ''));
    }
  }

  drawProps() {
    const j = this.job;
    const rows = [
      ['Job id', j.jobId],
      ['Run id', j.runId || '—'],
      ['Description', h('a', { href: `#/jobs?jobdef=${enc(this.jobdef)}` }, this.jobdef)],
      ['Owner', j.ownerId || 'anonymous'],
      ['Phase', phaseBadge(j.phase)],
      ['Created', timeEl(j.creationTime)],
      ['Started', timeEl(j.startTime)],
      ['Ended', timeEl(j.endTime)],
      ['Quote (expected end)', timeEl(j.quote)],
      ['Execution duration', j.executionDuration ? `${j.executionDuration} s` : 'unlimited'],
      ['Destruction', timeEl(j.destruction)],
    ];
    const m = j.metrics;
    if (m) {
      rows.push(['Wall time', `${(m.wall_time_ms / 1000).toFixed(3)} s`],
        ['CPU time', `${(m.cpu_time_ms / 1000).toFixed(3)} s`],
        ['Peak memory', fmtBytes(m.peak_memory_kb * 1024)],
        ['Exit code', String(m.exit_code)]);
    }
    clear(this.props);
    for (const [k, v] of rows) this.props.append(h('dt', {}, k), h('dd', {}, v));
  }

  drawParams() {
    const ps = Object.entries(this.job.parameters || {});
    const sig = JSON.stringify([ps, FINAL.has(this.job.phase)]);
    if (sig === this.paramsSig) return;
    this.paramsSig = sig;
    clear(this.params);
    if (!ps.length) { this.params.append(h('p', { class: 'empty' }, 'No parameters.')); return; }
    const tb = h('tbody', {});
    for (const [name, v] of ps) {
      let cell;
      if (typeof v === 'string') cell = valueEl(v, FINAL.has(this.job.phase) ? this : null);
      else if (v && v.href) {
        cell = h('span', {}, h('span', { class: 'by-ref' }, 'file '),
          h('a', { href: v.href, class: 'download', on: { click: (e) => { e.preventDefault(); download(v.href, name, this.ctx.toast); } } }, 'download'));
      } else cell = '';
      tb.append(h('tr', {}, h('th', { scope: 'row' }, name), h('td', { class: 'param-value' }, cell)));
    }
    this.params.append(h('table', { class: 'params-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value'))), tb));
  }

  drawResults() {
    const all = (this.job.results || []).filter((r) => !LOGS.includes(r.id));
    const sig = JSON.stringify(all.map((r) => [r.id, r.size, r.sha256]));
    if (sig === this.resultsSig) return;
    this.resultsSig = sig;
    clear(this.results);
    if (!all.length) {
      this.results.append(h('p', { class: 'empty' },
        ACTIVE.has(this.job.phase) ? 'Results appear when the job ends.' : 'No results.'));
      return;
    }
    const list = h('ul', { class: 'results' });
    for (const r of all) list.append(this.resultItem(r));
    this.results.append(list);
  }

  resultItem(r) {
    const name = r.id;
    const kind = previewKind(r);
    const meta = [r['mime-type'], r.size != null ? fmtBytes(r.size) : null].filter(Boolean).join(', ');
    const dl = h('a', { href: r.href, class: 'button small', 'data-result': name,
      on: { click: (e) => { e.preventDefault(); download(r.href, name, this.ctx.toast); } } }, 'Download');
    const body = h('div', { class: 'preview', 'data-preview': name });
    let loaded = false;
    const det = kind ? h('details', { class: 'result-preview' }, h('summary', {}, `Preview ${name}`), body) : null;
    if (det) {
      det.addEventListener('toggle', () => {
        if (det.open && !loaded) { loaded = true; this.loadPreview(r, kind, body); }
      });
    }
    const extra = [];
    if (r.entity_id) {
      extra.push(h('span', { class: 'entity' }, 'entity ', h('code', { title: r.sha256 ? `sha256 ${r.sha256}` : null }, r.entity_id)));
    }
    const samp = sampControl(this, r);
    return h('li', { class: 'result', 'data-result': name },
      h('div', { class: 'result-head' }, h('span', { class: 'result-name' }, name),
        meta ? h('span', { class: 'result-meta' }, meta) : null, ...extra, samp && samp.button, dl),
      samp && samp.panel, det);
  }

  async loadPreview(r, kind, box) {
    clear(box).append(h('p', { class: 'loading' }, 'Loading…'));
    if (kind === 'image') {
      if (r.size != null && r.size > IMAGE_CAP) { clear(box).append(h('p', {}, 'Too large to preview; download it.')); return; }
      const res = await request('GET', r.href, { accept: '*/*', as: 'blob', signal: this.abort.signal });
      if (this.stopped) return;
      if (!res.ok || !res.blob) { clear(box).append(h('p', { class: 'error' }, errorText(res))); return; }
      // an SVG in an <img> runs no script and loads nothing
      const url = URL.createObjectURL(res.blob);
      this.blobUrls.push(url);
      clear(box).append(h('img', { src: url, alt: `preview of ${r.id}`, class: 'preview-img' }));
      return;
    }
    const cap = kind === 'fits' ? 2880 * 40 : TEXT_CAP;
    const got = await fetchHead(r.href, cap, this.abort.signal);
    if (this.stopped) return;
    if (!got.ok) { clear(box).append(h('p', { class: 'error' }, got.error)); return; }
    clear(box);
    const more = got.truncated ? h('p', { class: 'hint' }, `First ${fmtBytes(got.bytes.length)} shown; download for the whole file.`) : null;
    if (kind === 'fits') {
      box.append(h('pre', { class: 'fits-header' }, fitsHeader(got.bytes)));
      return;
    }
    const text = new TextDecoder('utf-8', { fatal: false }).decode(got.bytes);
    if (kind === 'json' && !got.truncated) {
      let pretty = text;
      try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* shown as it is */ }
      box.append(h('pre', { class: 'text-preview' }, pretty));
    } else if (kind === 'csv') {
      append(box, csvTable(text, /\.tsv$/i.test(r.id) || /tab-separated/.test(r['mime-type'] || '') ? '\t' : ','), more);
    } else {
      append(box, h('pre', { class: 'text-preview' }, text), more);
    }
  }

  drawLogs() {
    const logs = (this.job.results || []).filter((r) => LOGS.includes(r.id));
    const sig = JSON.stringify(logs.map((r) => [r.id, r.size, r.sha256]));
    if (sig === this.logsSig) return;
    this.logsSig = sig;
    clear(this.logs);
    if (!logs.length) {
      this.logs.append(h('p', { class: 'empty' }, ACTIVE.has(this.job.phase) ? 'Shown when the job ends.' : 'None.'));
      return;
    }
    for (const r of logs) {
      const pre = h('pre', { class: `log log-${r.id}`, id: `log-${r.id}`, tabindex: '0', 'aria-label': r.id }, '…');
      const dl = h('a', { href: r.href, class: 'button small', on: { click: (e) => { e.preventDefault(); download(r.href, r.id, this.ctx.toast); } } }, 'Download');
      this.logs.append(h('div', { class: 'log-box' }, h('h3', {}, r.id, ' ', h('span', { class: 'result-meta' }, fmtBytes(r.size || 0)), ' ', dl), pre));
      if (!r.size) { pre.textContent = '(empty)'; continue; }
      fetchHead(r.href, LOG_CAP, this.abort.signal).then((got) => {
        if (this.stopped) return;
        if (!got.ok) { pre.textContent = got.error; return; }
        pre.textContent = new TextDecoder().decode(got.bytes) + (got.truncated ? '\n… (truncated; download for the rest)' : '');
      });
    }
  }
}

function timeEl(iso) {
  return iso ? h('time', { datetime: iso, title: iso }, fmtTime(iso)) : '—';
}

// A parameter's value: an http(s) URL is a link (never another scheme: no
// javascript: URLs), anything else is text.
function valueEl(v, page) {
  if (/^https?:\/\/\S+$/i.test(v)) {
    return h('a', { href: v, rel: 'noopener noreferrer', target: '_blank' }, v);
  }
  if (/^[0-9a-f]{32}\/[A-Za-z0-9._-]+$/.test(v)) {
    const code = h('code', {}, v);
    const el = h('span', { class: 'earlier' }, code, h('span', { class: 'hint' }, ' (an earlier result)'));
    if (page) linkEarlier(page, v, code);
    return el;
  }
  return h('span', { class: 'value' }, v);
}

// "{job id}/{result id}" names no description: the job's provenance (once it
// is recorded, at its end) names the activity that made the input,
// opus_job:{jobdef}.{id}; the value then links to that job's page.
async function linkEarlier(page, v, code) {
  const id = v.split('/')[0];
  if (!page.provText) {
    page.provText = request('GET', `${page.path}/provjson?DEPTH=2`, { signal: page.abort.signal })
      .then((r) => (r.ok ? r.text : ''));
  }
  const text = await page.provText;
  const m = new RegExp(`opus_job:([A-Za-z0-9_.-]+)\\.${id}\\b`).exec(text);
  if (!m || !code.isConnected) return;
  const a = h('a', { href: `#/job/${enc(m[1])}/${enc(id)}`, class: 'earlier-link', title: `made by ${m[1]} job ${id}` }, v);
  code.replaceWith(h('code', {}, a));
}

function previewKind(r) {
  const t = (r['mime-type'] || '').toLowerCase().split(';')[0].trim();
  const n = r.id.toLowerCase();
  if (t.startsWith('image/') && t !== 'image/fits') return 'image';
  if (t === 'application/fits' || t === 'image/fits' || /\.(fits|fit|fts)(\.gz)?$/.test(n)) return /\.gz$/.test(n) ? null : 'fits';
  if (t === 'text/csv' || t === 'text/tab-separated-values' || /\.(csv|tsv)$/.test(n)) return 'csv';
  if (t === 'application/json' || t.endsWith('+json') || /\.json$/.test(n)) return 'json';
  if (t.startsWith('text/') || t === 'application/xml' || t.endsWith('+xml') || /\.(txt|log|xml|vot)$/.test(n)) return 'text';
  if (!t && r.size != null && r.size < TEXT_CAP) return 'text';
  return null;
}

// The first `cap` bytes of a download (a big result is not read whole).
async function fetchHead(url, cap, signal) {
  const r = await authFetch(url, { signal });
  if (!r) return { ok: false, error: 'cannot reach opusd' };
  if (!r.ok) {
    let msg = `HTTP ${r.status}`;
    try { msg = (await r.text()).trim() || msg; } catch (e) { /* keep the status */ }
    return { ok: false, error: msg };
  }
  const reader = r.body.getReader();
  const parts = [];
  let n = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      n += value.length;
      if (n >= cap) { truncated = true; break; }
    }
  } catch (e) {
    return { ok: false, error: 'reading failed' };
  }
  if (truncated) reader.cancel().catch(() => {});
  const bytes = new Uint8Array(Math.min(n, cap));
  let off = 0;
  for (const p of parts) {
    const take = Math.min(p.length, bytes.length - off);
    bytes.set(p.subarray(0, take), off);
    off += take;
    if (off >= bytes.length) break;
  }
  return { ok: true, bytes, truncated };
}

// A FITS header: 80-character cards up to END, in 2880-byte blocks (the
// primary header; further HDUs are not read).
function fitsHeader(bytes) {
  const cards = [];
  for (let off = 0; off + 80 <= bytes.length; off += 80) {
    let card = '';
    for (let i = off; i < off + 80; i++) {
      const c = bytes[i];
      card += c >= 32 && c < 127 ? String.fromCharCode(c) : '?';
    }
    cards.push(card.trimEnd());
    if (/^END\s*$/.test(card)) return cards.join('\n');
  }
  if (!cards.length || !/^SIMPLE  =/.test(cards[0])) return 'Not a FITS file (no SIMPLE card).';
  return `${cards.join('\n')}\n… (no END card in the bytes read)`;
}

// A CSV preview as a table: quoted fields, the first row as the head.
function csvTable(text, sep) {
  const rows = [];
  let row = [];
  let f = '';
  let q = false;
  let i = 0;
  for (; i < text.length && rows.length <= CSV_ROWS; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { f += '"'; i++; } else if (c === '"') q = false; else f += c;
    } else if (c === '"') q = true;
    else if (c === sep) { row.push(f); f = ''; } else if (c === '\n') { row.push(f.replace(/\r$/, '')); rows.push(row); row = []; f = ''; } else f += c;
  }
  if ((f || row.length) && rows.length <= CSV_ROWS) { row.push(f); rows.push(row); }
  if (!rows.length) return h('p', { class: 'empty' }, '(empty)');
  const [head, ...body] = rows;
  return h('div', { class: 'table-wrap' }, h('table', { class: 'csv-preview' },
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...body.slice(0, CSV_ROWS).map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c)))))),
  rows.length > CSV_ROWS || i < text.length ? h('p', { class: 'hint' }, `First ${CSV_ROWS} rows shown.`) : null);
}

// --- SAMP: "Send to…" a VO desktop tool (TOPCAT, Aladin) through the SAMP
// Web Profile hub on the user's machine (../samp.js). The page registers with
// the hub only when the user opens a Send control, once per page, and
// unregisters when it goes.

const SAMP_KINDS = {
  'table.load.votable': { what: 'a VOTable', idKey: 'table-id' },
  'table.load.fits': { what: 'a FITS table', idKey: 'table-id' },
  'image.load.fits': { what: 'a FITS image', idKey: 'image-id' },
};
let sampSeq = 0;

// The MTypes a result can go out as, from its content type or file name
// (a FITS file may hold an image or a table: both are offered).
function sampMtypes(r) {
  const full = (r['mime-type'] || '').toLowerCase();
  const t = full.split(';')[0].trim();
  const n = `${r.id} ${String(r.href || '').split('/').pop()}`.toLowerCase();
  if (/votable/.test(t) || (t === 'text/xml' && /content=["']?x-votable/.test(full)) ||
      /\.(vot|votable)(\.xml)?\b/.test(n)) return ['table.load.votable'];
  if (t === 'image/fits') return ['image.load.fits'];
  if (t === 'application/fits' || /\.(fits|fit|fts)(\.gz)?\b/.test(n)) return ['image.load.fits', 'table.load.fits'];
  return [];
}

function sampClientOf(page) {
  if (!page.samp) {
    page.samp = new SampClient({ name: 'opusd', metadata: {
      'samp.description.text': `opusd job manager, web client at ${location.origin}`,
      'samp.documentation.url': `${location.origin}/`,
    } });
    page.sampUnload = () => { if (page.samp) page.samp.disconnectOnUnload(); };
    window.addEventListener('pagehide', page.sampUnload);
  }
  return page.samp;
}

function sampStop(page) {
  if (!page.samp) return;
  window.removeEventListener('pagehide', page.sampUnload);
  page.samp.disconnect();
  page.samp = null;
}

// {button, panel} for a result that SAMP can carry, else null.
function sampControl(page, r) {
  const mtypes = sampMtypes(r);
  if (!mtypes.length) return null;
  const n = ++sampSeq;
  const select = h('select', { id: `samp-target-${n}`, class: 'samp-target', disabled: true });
  const send = h('button', { type: 'button', class: 'primary small samp-send', disabled: true }, 'Send');
  const refresh = h('button', { type: 'button', class: 'small samp-refresh' }, 'Refresh list');
  const status = h('p', { class: 'samp-status', role: 'status', 'aria-live': 'polite' });
  const isPrivate = Boolean(page.job && page.job.ownerId);
  const panel = h('div', { class: 'samp-panel', id: `samp-panel-${n}`, role: 'group', 'aria-label': `Send ${r.id} over SAMP`, hidden: true },
    h('div', { class: 'samp-row' }, h('label', { for: select.id }, 'Send to'), select, send, refresh),
    status,
    isPrivate ? h('p', { class: 'hint samp-private' }, 'This job is private: a desktop tool fetches the file ' +
      'without your token, so opusd refuses it unless the tool asks you for a name and password. ' +
      'Results of anonymous jobs need none.') : null);
  const button = h('button', { type: 'button', class: 'small samp-open', 'aria-expanded': 'false', 'aria-controls': panel.id,
    title: 'Send to a VO desktop tool (TOPCAT, Aladin) over SAMP' }, 'Send to…');
  let targets = [];
  const say = (text, kind = '') => { status.textContent = text; status.className = `samp-status ${kind}`.trim(); };

  const load = async () => {
    select.disabled = true;
    send.disabled = true;
    refresh.disabled = true;
    say('Asking the SAMP hub…');
    try {
      const client = sampClientOf(page);
      const lists = [];
      for (const m of mtypes) lists.push({ mtype: m, clients: await client.subscribed(m) });
      if (page.stopped) return;
      targets = [];
      clear(select);
      for (const { mtype, clients } of lists) {
        if (!clients.length) continue;
        const group = mtypes.length > 1 ? h('optgroup', { label: `As ${SAMP_KINDS[mtype].what}` }) : select;
        targets.push({ mtype, id: null, name: 'all' });
        group.append(h('option', { value: String(targets.length - 1) }, `All tools that take ${SAMP_KINDS[mtype].what} (${clients.length})`));
        for (const c of clients) {
          targets.push({ mtype, id: c.id, name: c.name });
          group.append(h('option', { value: String(targets.length - 1) }, c.name));
        }
        if (group !== select) select.append(group);
      }
      if (!targets.length) {
        select.append(h('option', { value: '' }, '(no tool)'));
        say(`No tool on the hub takes ${mtypes.map((m) => SAMP_KINDS[m].what).join(' or ')}: start TOPCAT or Aladin, then refresh the list.`, 'warning');
        return;
      }
      // one tool: chosen by default; several: "all" comes first
      if (targets.length === 2) select.value = '1';
      select.disabled = false;
      send.disabled = false;
      say('Choose a tool and send.');
    } catch (e) {
      if (page.stopped) return;
      clear(select).append(h('option', { value: '' }, '(no hub)'));
      say(e.message || String(e), 'error');
    } finally {
      refresh.disabled = false;
    }
  };

  send.addEventListener('click', async () => {
    const t = targets[Number(select.value)];
    if (!t) return;
    const url = new URL(r.href, location.href).href;
    const params = { url, [SAMP_KINDS[t.mtype].idKey]: `opusd-${page.id}-${r.id}`, name: `${r.id} (${page.jobdef} job ${page.id.slice(0, 8)})` };
    send.disabled = true;
    say('Sending…');
    try {
      const client = sampClientOf(page);
      if (t.id) {
        await client.notify(t.id, t.mtype, params);
        if (!page.stopped) say(`Sent to ${t.name}.`, 'ok');
      } else {
        const got = await client.notifyAll(t.mtype, params);
        if (!page.stopped) say(got.length ? `Sent to ${got.length} tool${got.length > 1 ? 's' : ''}.` : 'No tool took it.', got.length ? 'ok' : 'warning');
      }
    } catch (e) {
      if (!page.stopped) say(e.message || String(e), 'error');
    } finally {
      send.disabled = false;
    }
  });
  refresh.addEventListener('click', load);
  button.addEventListener('click', () => {
    const open = panel.hidden;
    panel.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open) load().then(() => { if (!select.disabled) select.focus(); });
  });
  return { button, panel };
}
