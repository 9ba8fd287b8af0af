// The job list (#/jobs[?jobdef=X]): every description's jobs, or one's;
// filtered by phase and creation time with the UWS filters (PHASE, AFTER),
// paged newest first with LAST and opusd's positions (BEFORE: the page older
// than a job, SINCE: the page just newer), sorted, with start / abort / delete
// per row and for a selection. One list request per page, at any depth:
// /rest/{jobdef}, or /rest across every description (opusd's extension; the
// JSON list carries each job's description and the times a row shows),
// made at the same time as the one for the descriptions' names. Updated live by
// polling with back-off: rows change in place, the page never reloads.
import { h, clear, phaseBadge, fmtTime } from '../dom.js';
import { request } from '../api.js';
import { ACTIVE, PHASES, enc, jobAction, errorText, pool, shortId } from './jobkit.js';

const SIZES = [20, 50, 100];
const COLUMNS = [
  // key, title, value for sorting
  ['job', 'Job', (j) => j.jobId],
  ['jobdef', 'Description', (j) => j.jobdef],
  ['runId', 'Run id', (j) => j.runId || ''],
  ['phase', 'Phase', (j) => j.phase],
  ['creationTime', 'Created', (j) => j.creationTime || ''],
  ['startTime', 'Started', (j) => j.startTime || ''],
  ['endTime', 'Ended', (j) => j.endTime || ''],
  ['destruction', 'Destruction', (j) => j.destruction || ''],
];
// A list position: "creationTime,jobId" (what BEFORE and SINCE take).
const POSITION_RE = /^[0-9T:.+-]+Z?,[0-9a-f]{32}$/;
const POLL_MIN = 1000;
const POLL_MAX = 15000;
const POLL_IDLE_MAX = 30000;

let cur = null; // the page instance shown

export function dispose() {
  if (cur) cur.stop();
  cur = null;
}

export async function render(root, params, ctx) {
  dispose();
  const q = params.query || new URLSearchParams();
  const st = {
    jobdef: q.get('jobdef') || '',
    phases: new Set(q.getAll('phase').map((p) => p.toUpperCase()).filter((p) => PHASES.includes(p))),
    after: q.get('after') || '',
    size: SIZES.includes(+q.get('size')) ? +q.get('size') : SIZES[0],
    // the page: the newest (before '') or the one older than a position;
    // its number only when it is known (reached by paging from the first)
    before: POSITION_RE.test(q.get('before') || '') ? q.get('before') : '',
    page: 0,
    sort: q.get('sort') || 'creationTime',
    desc: q.get('dir') !== 'asc',
  };
  if (st.before) st.page = parseInt(q.get('page') || '', 10) > 0 ? parseInt(q.get('page'), 10) : null;
  const page = new JobList(root, st, ctx);
  cur = page;
  await page.start();
}

class JobList {
  constructor(root, st, ctx) {
    this.root = root;
    this.st = st;
    this.ctx = ctx;
    this.rows = new Map(); // key -> {tr, cells, job}
    this.selected = new Set();
    this.shown = []; // the jobs of this page, in display order
    this.hasMore = false;
    this.timer = null;
    this.delay = POLL_MIN;
    this.abort = new AbortController();
    this.stopped = false;
    this.loading = null;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
  }

  async start() {
    this.ctx.setTitle(this.st.jobdef ? `Jobs: ${this.st.jobdef}` : 'Jobs');
    clear(this.root);
    this.root.append(h('p', { class: 'loading' }, 'Loading jobs…'));
    // the first page and the names of the filter's select, in parallel
    const first = this.fetchLists(this.st.before ? { BEFORE: this.st.before } : {});
    first.catch(() => {}); // awaited below; a page left meanwhile drops it
    const r = await request('GET', '/jdl', { signal: this.abort.signal });
    if (this.stopped) return;
    this.jobdefs = r.ok && Array.isArray(r.data) ? r.data.map((d) => (typeof d === 'string' ? d : d.name)) : [];
    if (this.st.jobdef && !this.jobdefs.includes(this.st.jobdef)) this.jobdefs.push(this.st.jobdef);
    this.build();
    await this.refresh(true, first);
  }

  // --- the static part: filters, toolbar, table head, pager
  build() {
    const st = this.st;
    clear(this.root);
    const jd = h('select', { id: 'flt-jobdef', name: 'jobdef' },
      h('option', { value: '' }, 'all descriptions'),
      ...this.jobdefs.map((n) => h('option', { value: n }, n)));
    jd.value = st.jobdef;
    jd.addEventListener('change', () => { st.jobdef = jd.value; this.firstPage(); this.changed(true); });

    const phaseBoxes = PHASES.map((p) => {
      const id = `flt-phase-${p.toLowerCase()}`;
      const cb = h('input', { type: 'checkbox', id, name: 'phase', value: p, checked: st.phases.has(p) });
      cb.addEventListener('change', () => {
        if (cb.checked) st.phases.add(p); else st.phases.delete(p);
        this.firstPage();
        this.changed();
      });
      return h('span', { class: 'check' }, cb, h('label', { for: id }, phaseBadge(p)));
    });

    const after = h('input', { type: 'datetime-local', id: 'flt-after', name: 'after', step: '1' });
    if (st.after) after.value = isoToLocal(st.after);
    after.addEventListener('change', () => {
      const t = after.value ? new Date(after.value) : null;
      st.after = t && !isNaN(t) ? t.toISOString() : '';
      this.firstPage();
      this.changed();
    });
    const size = h('select', { id: 'flt-size', name: 'size' }, ...SIZES.map((n) => h('option', { value: String(n) }, String(n))));
    size.value = String(st.size);
    size.addEventListener('change', () => { st.size = +size.value; this.firstPage(); this.changed(); });

    const filters = h('form', { class: 'job-filters', role: 'search', 'aria-label': 'Filter jobs' },
      h('div', { class: 'field' }, h('label', { for: 'flt-jobdef' }, 'Description'), jd),
      h('fieldset', { class: 'phases' }, h('legend', {}, 'Phase (none ticked: all but ARCHIVED)'), ...phaseBoxes),
      h('div', { class: 'field' }, h('label', { for: 'flt-after' }, 'Created after'), after),
      h('div', { class: 'field' }, h('label', { for: 'flt-size' }, 'Per page'), size));
    filters.addEventListener('submit', (e) => { e.preventDefault(); this.changed(); });

    this.selCount = h('span', { class: 'sel-count', id: 'sel-count', 'aria-live': 'polite' }, '');
    this.bulk = {
      RUN: h('button', { type: 'button', id: 'bulk-run', on: { click: () => this.bulkAction('RUN') } }, 'Start selected'),
      ABORT: h('button', { type: 'button', id: 'bulk-abort', on: { click: () => this.bulkAction('ABORT') } }, 'Abort selected'),
      DELETE: h('button', { type: 'button', id: 'bulk-delete', class: 'danger', on: { click: (e) => this.bulkDelete(e.currentTarget) } }, 'Delete selected'),
    };
    this.bulk.DELETE.addEventListener('blur', () => resetConfirm(this.bulk.DELETE, 'Delete selected'));
    this.status = h('span', { class: 'list-status', id: 'list-status' }, '');
    const newLink = st.jobdef ? h('a', { href: `#/new/${enc(st.jobdef)}`, class: 'button primary', id: 'new-job' }, `New ${st.jobdef} job`) : null;
    const toolbar = h('div', { class: 'job-toolbar' }, this.selCount, this.bulk.RUN, this.bulk.ABORT, this.bulk.DELETE, this.status);

    this.selAll = h('input', { type: 'checkbox', id: 'sel-all' });
    this.selAll.addEventListener('change', () => {
      for (const j of this.shown) {
        if (this.selAll.checked) this.selected.add(j.key); else this.selected.delete(j.key);
      }
      this.syncSelection();
    });
    const ths = [h('th', { scope: 'col', class: 'col-sel' }, h('label', { for: 'sel-all', class: 'sr-only' }, 'select every job of this page'), this.selAll)];
    this.sortBtns = new Map();
    for (const [key, title] of COLUMNS) {
      if (key === 'jobdef' && st.jobdef) continue;
      const b = h('button', { type: 'button', class: 'sort', 'data-sort': key, title: `sort this page by ${title.toLowerCase()}` }, title);
      b.addEventListener('click', () => {
        if (st.sort === key) st.desc = !st.desc; else { st.sort = key; st.desc = key.endsWith('Time') || key === 'destruction'; }
        this.saveUrl();
        this.layout();
      });
      const th = h('th', { scope: 'col', class: `col-${key}` }, b);
      this.sortBtns.set(key, th);
      ths.push(th);
    }
    ths.push(h('th', { scope: 'col', class: 'col-actions' }, 'Actions'));
    this.tbody = h('tbody', {});
    this.empty = h('p', { class: 'empty', hidden: true }, 'No jobs.');
    const table = h('table', { class: 'jobs', id: 'jobs-table' }, h('thead', {}, h('tr', {}, ...ths)), this.tbody);

    this.first = h('button', { type: 'button', id: 'page-first', on: { click: () => { this.firstPage(); this.changed(); } } }, '⇤ Newest');
    this.prev = h('button', { type: 'button', id: 'page-newer', on: { click: () => this.newer() } }, '← Newer');
    this.next = h('button', { type: 'button', id: 'page-older', on: { click: () => this.older() } }, 'Older →');
    this.pageNo = h('span', { class: 'page-no', id: 'page-no', 'aria-live': 'polite' }, '');
    const pager = h('nav', { class: 'pager', 'aria-label': 'pages' }, this.first, this.prev, this.pageNo, this.next);

    this.root.append(h('section', { class: 'job-list' },
      h('div', { class: 'page-head' }, h('h1', {}, st.jobdef ? `Jobs of ${st.jobdef}` : 'Jobs'), newLink),
      filters, toolbar, h('div', { class: 'table-wrap' }, table), this.empty, pager));
    this.syncSelection();
  }

  saveUrl() {
    const st = this.st;
    const q = new URLSearchParams();
    if (st.jobdef) q.set('jobdef', st.jobdef);
    for (const p of st.phases) q.append('phase', p);
    if (st.after) q.set('after', st.after);
    if (st.size !== SIZES[0]) q.set('size', String(st.size));
    if (st.before) q.set('before', st.before);
    if (st.before && st.page) q.set('page', String(st.page));
    if (st.sort !== 'creationTime') q.set('sort', st.sort);
    if (!st.desc) q.set('dir', 'asc');
    const s = q.toString();
    // replaceState: no hashchange, so the router does not render the page again
    history.replaceState(null, '', `#/jobs${s ? `?${s}` : ''}`);
    // the shell marks which hash it rendered (main#app[data-hash]): still this page
    if (this.root.dataset.hash !== undefined) this.root.dataset.hash = location.hash;
  }

  changed(rebuild = false) {
    this.saveUrl();
    if (rebuild) {
      this.rows.clear();
      this.selected.clear();
      this.ctx.setTitle(this.st.jobdef ? `Jobs: ${this.st.jobdef}` : 'Jobs');
      this.build();
    }
    this.refresh(true);
  }

  schedule() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.refresh(false), this.delay);
  }

  // --- paging: positions, never offsets, so a deep page costs what the first does
  firstPage() {
    this.st.before = '';
    this.st.page = 0;
  }

  older() {
    const last = this.shown[this.shown.length - 1];
    if (!last) return;
    this.st.before = position(last);
    this.st.page = this.st.page === null ? null : this.st.page + 1;
    this.changed();
  }

  // The page just newer than this one's top row: SINCE gives the size + 1
  // jobs nearest above it; the farthest of them is the new page's BEFORE.
  // Fewer than that above: the newest page.
  async newer() {
    const st = this.st;
    const top = this.shown[0];
    if (!st.before || !top) { this.firstPage(); this.changed(); return; }
    this.prev.disabled = true;
    const { all, errors } = await this.fetchLists({ SINCE: position(top) });
    if (this.stopped) return;
    if (errors.length) { this.prev.disabled = false; this.showStatus(errors); return; }
    const near = all.slice(-(st.size + 1));
    if (near.length <= st.size) {
      this.firstPage();
    } else {
      st.before = position(near[0]);
      st.page = st.page ? st.page - 1 : null;
      if (st.page === 0) st.page = null; // jobs came in above: its number is not known
    }
    this.changed();
  }

  // One list request: one description's or every one's (the UWS filters,
  // LAST = a page and one more, and a position), newest first.
  async fetchLists(pos) {
    const st = this.st;
    const q = new URLSearchParams();
    q.set('LAST', String(st.size + 1));
    for (const p of st.phases) q.append('PHASE', p);
    if (st.after) q.set('AFTER', st.after);
    for (const [k, v] of Object.entries(pos)) q.set(k, v);
    const path = st.jobdef ? `/rest/${enc(st.jobdef)}` : '/rest';
    const r = await request('GET', `${path}?${q}`, { signal: this.abort.signal });
    if (!r.ok || !r.data || !Array.isArray(r.data.jobs)) {
      return { all: [], errors: [`${st.jobdef || 'jobs'}: ${errorText(r)}`] };
    }
    const all = r.data.jobs.map((j) => {
      const jd = j.jobdef || st.jobdef;
      return { ...j, jobdef: jd, key: `${jd}/${j.jobId}` };
    });
    all.sort(newestFirst);
    return { all, errors: [] };
  }

  // --- fetching: this page's list; rows change in place
  async refresh(reset, pending) {
    if (this.stopped) return;
    if (this.loading) { this.again = this.again || reset; return; }
    if (reset) this.delay = POLL_MIN;
    this.loading = this.fetchPage(pending).catch((e) => { this.status.textContent = `update failed: ${e.message || e}`; return false; });
    const changed = await this.loading;
    this.loading = null;
    if (this.stopped) return;
    if (this.again) { this.again = false; this.delay = POLL_MIN; this.schedule(); return; }
    const anyActive = this.shown.some((j) => ACTIVE.has(j.phase));
    const max = anyActive ? POLL_MAX : POLL_IDLE_MAX;
    this.delay = changed ? POLL_MIN : Math.min(this.delay * 2, max);
    this.schedule();
  }

  // pending: the list already asked for (the first page, made with /jdl)
  async fetchPage(pending) {
    const st = this.st;
    const { all, errors } = await (pending || this.fetchLists(st.before ? { BEFORE: st.before } : {}));
    if (this.stopped) return false;
    this.hasMore = all.length > st.size;
    const shown = all.slice(0, st.size);
    const sig = (j) => [j.key, j.phase, j.runId, j.startTime, j.endTime, j.destruction].join('|');
    const changed = shown.length !== this.shown.length || shown.some((j, i) => sig(j) !== sig(this.shown[i]));
    const keys = new Set(shown.map((j) => j.key));
    for (const k of [...this.selected]) if (!keys.has(k)) this.selected.delete(k);
    this.shown = shown;
    this.layout();
    this.showStatus(errors);
    return changed;
  }

  showStatus(errors) {
    this.status.textContent = errors.length ? errors.join('; ') : `updated ${fmtTime(new Date().toISOString()).slice(11)}`;
    this.status.classList.toggle('error', errors.length > 0);
  }

  // --- drawing: rows keyed by job, changed in place
  layout() {
    const st = this.st;
    const col = COLUMNS.find((c) => c[0] === st.sort) || COLUMNS[4];
    const sorted = [...this.shown].sort((a, b) => {
      const x = col[2](a);
      const y = col[2](b);
      const c = x < y ? -1 : x > y ? 1 : 0;
      return st.desc ? -c : c;
    });
    for (const [key, th] of this.sortBtns) {
      th.setAttribute('aria-sort', key === st.sort ? (st.desc ? 'descending' : 'ascending') : 'none');
    }
    const keep = new Set(sorted.map((j) => j.key));
    for (const [k, row] of this.rows) {
      if (!keep.has(k)) { row.tr.remove(); this.rows.delete(k); }
    }
    let prev = null;
    for (const j of sorted) {
      let row = this.rows.get(j.key);
      if (!row) { row = this.makeRow(j); this.rows.set(j.key, row); }
      this.fillRow(row, j);
      const want = prev ? prev.nextSibling : this.tbody.firstChild;
      if (want !== row.tr) this.tbody.insertBefore(row.tr, want);
      prev = row.tr;
    }
    this.empty.hidden = sorted.length > 0;
    this.first.disabled = !st.before;
    this.prev.disabled = !st.before;
    this.next.disabled = !this.hasMore;
    this.pageNo.textContent = !st.before ? 'newest jobs, page 1'
      : st.page ? `page ${st.page + 1}` : `jobs before ${shortTime(st.before.split(',')[0])}`;
    this.syncSelection();
  }

  makeRow(j) {
    const cid = `sel-${j.jobdef}-${j.jobId}`;
    const cb = h('input', { type: 'checkbox', id: cid, 'data-key': j.key });
    cb.addEventListener('change', () => {
      if (cb.checked) this.selected.add(j.key); else this.selected.delete(j.key);
      this.syncSelection();
    });
    const cells = {};
    const tds = [h('td', { class: 'col-sel' }, h('label', { for: cid, class: 'sr-only' }, `select job ${j.jobId}`), cb)];
    for (const [key] of COLUMNS) {
      if (key === 'jobdef' && this.st.jobdef) continue;
      cells[key] = h('td', { class: `col-${key}` });
      tds.push(cells[key]);
    }
    const link = h('a', { href: `#/job/${enc(j.jobdef)}/${enc(j.jobId)}`, class: 'job-link', title: j.jobId }, shortId(j.jobId));
    cells.job.append(link);
    if (cells.jobdef) cells.jobdef.append(h('a', { href: `#/jobs?jobdef=${enc(j.jobdef)}` }, j.jobdef));
    const act = {
      RUN: h('button', { type: 'button', class: 'small', 'data-action': 'run', title: `start job ${j.jobId}` }, 'Start'),
      ABORT: h('button', { type: 'button', class: 'small', 'data-action': 'abort', title: `abort job ${j.jobId}` }, 'Abort'),
      DELETE: h('button', { type: 'button', class: 'small danger', 'data-action': 'delete', title: `delete job ${j.jobId}` }, 'Delete'),
    };
    act.RUN.addEventListener('click', () => this.rowAction(j.key, 'RUN'));
    act.ABORT.addEventListener('click', () => this.rowAction(j.key, 'ABORT'));
    act.DELETE.addEventListener('click', () => {
      if (act.DELETE.dataset.confirm !== 'yes') { askConfirm(act.DELETE, 'Really delete?'); return; }
      this.rowAction(j.key, 'DELETE');
    });
    act.DELETE.addEventListener('blur', () => resetConfirm(act.DELETE, 'Delete'));
    tds.push(h('td', { class: 'col-actions' }, act.RUN, act.ABORT, act.DELETE));
    const tr = h('tr', { 'data-job': j.jobId }, ...tds);
    return { tr, cb, cells, act, job: j, sig: '' };
  }

  fillRow(row, j) {
    row.job = j;
    const sig = [j.phase, j.runId, j.startTime, j.endTime, j.destruction].join('|');
    row.cb.checked = this.selected.has(j.key);
    row.tr.dataset.phase = j.phase;
    if (sig === row.sig) return;
    row.sig = sig;
    const c = row.cells;
    setText(c.runId, j.runId || '');
    clear(c.phase).append(phaseBadge(j.phase));
    setTime(c.creationTime, j.creationTime);
    setTime(c.startTime, j.startTime);
    setTime(c.endTime, j.endTime);
    setTime(c.destruction, j.destruction);
    row.act.RUN.hidden = j.phase !== 'PENDING';
    row.act.ABORT.hidden = !ACTIVE.has(j.phase);
    row.act.DELETE.hidden = false;
  }

  syncSelection() {
    const n = this.selected.size;
    this.selCount.textContent = n ? `${n} selected` : 'none selected';
    for (const b of Object.values(this.bulk)) b.disabled = n === 0;
    const onPage = this.shown.filter((j) => this.selected.has(j.key)).length;
    this.selAll.checked = onPage > 0 && onPage === this.shown.length;
    this.selAll.indeterminate = onPage > 0 && onPage < this.shown.length;
    for (const row of this.rows.values()) row.cb.checked = this.selected.has(row.job.key);
  }

  async rowAction(key, action) {
    const row = this.rows.get(key);
    if (!row) return;
    const j = row.job;
    for (const b of Object.values(row.act)) b.disabled = true;
    const r = await jobAction(j.jobdef, j.jobId, action);
    if (this.stopped) return;
    for (const b of Object.values(row.act)) b.disabled = false;
    if (!r.ok) this.ctx.toast(`${verb(action)} ${shortId(j.jobId)}: ${r.message}`, 'error');
    else if (action === 'DELETE') this.selected.delete(key);
    this.refresh(true);
  }

  async bulkAction(action) {
    const jobs = this.shown.filter((j) => this.selected.has(j.key))
      .filter((j) => (action === 'RUN' ? j.phase === 'PENDING' : action === 'ABORT' ? ACTIVE.has(j.phase) : true));
    if (!jobs.length) {
      this.ctx.toast(`no selected job can be ${action === 'RUN' ? 'started' : action === 'ABORT' ? 'aborted' : 'deleted'}`, 'info');
      return;
    }
    for (const b of Object.values(this.bulk)) b.disabled = true;
    const res = await pool(jobs, 4, (j) => jobAction(j.jobdef, j.jobId, action));
    if (this.stopped) return;
    const bad = res.filter((r) => !r.ok);
    if (action === 'DELETE') jobs.forEach((j, i) => { if (res[i].ok) this.selected.delete(j.key); });
    this.ctx.toast(bad.length ? `${verb(action)}: ${bad.length} of ${jobs.length} failed (${bad[0].message})`
      : `${verb(action)}: ${jobs.length} job${jobs.length > 1 ? 's' : ''}`, bad.length ? 'error' : 'ok');
    this.syncSelection();
    this.refresh(true);
  }

  bulkDelete(btn) {
    if (btn.dataset.confirm !== 'yes') {
      askConfirm(btn, `Really delete ${this.selected.size}?`);
      return;
    }
    resetConfirm(btn, 'Delete selected');
    this.bulkAction('DELETE');
  }
}

function position(j) {
  return `${j.creationTime},${j.jobId}`;
}

// The order of the server's lists: creation time, then id, newest first.
function newestFirst(a, b) {
  if (a.creationTime !== b.creationTime) return a.creationTime < b.creationTime ? 1 : -1;
  return a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0;
}

function verb(action) {
  return action === 'RUN' ? 'start' : action === 'ABORT' ? 'abort' : 'delete';
}

// A destructive button asks once more: the second press does it.
function askConfirm(btn, text) {
  btn.dataset.confirm = 'yes';
  btn.textContent = text;
  btn.classList.add('confirm');
}

function resetConfirm(btn, text) {
  if (btn.dataset.confirm !== 'yes') return;
  delete btn.dataset.confirm;
  btn.textContent = text;
  btn.classList.remove('confirm');
}

function setText(el, t) {
  if (el && el.textContent !== t) el.textContent = t;
}

// Compact in a table: the time alone for today, no year for this year.
function shortTime(iso) {
  const full = fmtTime(iso);
  const d = new Date(iso);
  const now = new Date();
  if (isNaN(d) || full.length < 19) return full;
  if (d.toDateString() === now.toDateString()) return full.slice(11);
  if (d.getFullYear() === now.getFullYear()) return full.slice(5, 16);
  return full.slice(0, 10);
}

function setTime(el, iso) {
  if (!el) return;
  clear(el);
  if (iso) el.append(h('time', { datetime: iso, title: fmtTime(iso) }, shortTime(iso)));
}

function isoToLocal(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
