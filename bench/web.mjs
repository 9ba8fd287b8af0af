// bench/web.mjs: how fast each page of the web client is interactive, in
// Debian's headless chromium driven by tests/web's playwright-core, against a
// running opusd (bench/bench.sh starts it and fills its store).
//
//   node bench/web.mjs BASE USER TOKEN SPEC.json [RUNS]
//
// SPEC.json: {"jobdef": "copy", "job": ID (a COMPLETED job with results and
// provenance), "deep": "creationTime,jobId" (a list position deep in the
// store), "stored": N (jobs stored, for the labels)}.
//
// Each run opens a new tab (signed in as USER through the session storage the
// client reads), loads BASE/#/page and measures, in the page's own clock,
// navigation start (performance.timeOrigin) → interactive: the router has
// rendered the page (main#app[data-ready] for this hash), its content is there
// (the rows of a list, the form's fields, the graph's SVG...) and one of its
// controls responds (a sort button that re-sorts the rows, a search field
// that filters, a preview that opens, or an enabled control that takes the
// focus). As in any navigation after the first, index.html is revalidated
// (ETag, 304) and the versioned files it names come from the browser's cache
// (src/http/http_static.c); the first run of each page is a warm-up and not
// counted. Prints
// one markdown row per page: median, min and max of RUNS runs, the 300 ms
// target and whether the median meets it. Exit status 1 when a page never
// becomes interactive (20 s) or logs a console error.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'web', 'package.json'));
const { chromium } = require('playwright-core');

const [base, user, token, specFile, runsArg] = process.argv.slice(2);
if (!base || !user || !token || !specFile) {
  console.error('usage: node bench/web.mjs BASE USER TOKEN SPEC.json [RUNS]');
  process.exit(2);
}
const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
const RUNS = Number(runsArg) || 9;
const TARGET = 300;
const jd = encodeURIComponent(spec.jobdef);
const stored = Number(spec.stored || 0).toLocaleString('en');

// name, hash, content selector, control selector, how the control is tried:
// 'sort' (click; its column header's aria-sort changes), 'search' (type; the
// count line changes), 'open' (click a summary; its details open), 'focus'.
const PAGES = [
  ['descriptions list', '#/jdl', '#jdl-list li', '#jdl-search', 'search'],
  [`new job form (${spec.jobdef})`, `#/new/${jd}`, '#job-form input', '#create', 'focus'],
  [`job list, newest page, all descriptions (${stored} jobs)`, '#/jobs', '#jobs-table tbody tr', 'th.col-runId button.sort', 'sort'],
  ['job list, a deep page (BEFORE the middle of the store)', `#/jobs?before=${encodeURIComponent(spec.deep)}&page=1`, '#jobs-table tbody tr', 'th.col-runId button.sort', 'sort'],
  ['job list, filtered by phase (COMPLETED)', '#/jobs?phase=COMPLETED', '#jobs-table tbody tr', 'th.col-runId button.sort', 'sort'],
  [`job list of one description (${spec.jobdef}), PENDING`, `#/jobs?jobdef=${jd}&phase=PENDING`, '#jobs-table tbody tr', 'th.col-runId button.sort', 'sort'],
  ['job page (results, preview)', `#/job/${jd}/${spec.job}`, '#job-results li', '#job-results summary', 'open'],
  ['provenance page (SVG graph)', `#/prov/${jd}/${spec.job}`, '#prov-graph svg', '#prov-graph', 'focus'],
  ['admin: users', '#/admin/users', '#admin-users table tbody tr', '#user-create input[name=name]', 'focus'],
  ['admin: applications', '#/admin/apps', '#app-create', '#app-create input[name=name]', 'focus'],
  ['admin: audit log', '#/admin/audit', '#admin-audit table tbody tr', '.admin-tab[aria-current=page]', 'focus'],
  ['admin: status', '#/admin/status', '#admin-status table', '.admin-tab[aria-current=page]', 'focus'],
];

// Runs in the page before its scripts: polls (2 ms) until the page is
// interactive, then sets window.__benchMs. Polling runs on the page's main
// thread, so a busy page delays it as it would delay a user's click.
function watcher([content, control, how, session]) {
  sessionStorage.setItem('opusd.session', session);
  let tried = null;
  const tick = () => {
    const app = document.getElementById('app');
    if (!app || !app.dataset.ready || app.dataset.hash !== location.hash) return false;
    if (!document.querySelector(content)) return false;
    const c = document.querySelector(control);
    if (!c || c.disabled || !c.getClientRects().length) return false;
    if (!tried) {
      tried = { c, before: null };
      if (how === 'sort') {
        tried.th = c.closest('th');
        tried.before = tried.th.getAttribute('aria-sort');
        c.click();
      } else if (how === 'search') {
        tried.count = document.getElementById('jdl-count');
        tried.before = tried.count.textContent;
        c.value = 'zzz-no-such-description';
        c.dispatchEvent(new Event('input', { bubbles: true }));
      } else if (how === 'open') {
        c.click();
      } else {
        c.focus();
      }
    }
    if (how === 'sort') return tried.th.getAttribute('aria-sort') !== tried.before;
    if (how === 'search') return tried.count.textContent !== tried.before;
    if (how === 'open') return c.parentElement.open === true;
    return document.activeElement === c;
  };
  const t = setInterval(() => {
    if (tick()) {
      window.__benchMs = performance.now();
      clearInterval(t);
    }
  }, 2);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync'],
});
const session = JSON.stringify({ name: user, token });
let failed = false;
const rows = [];
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: base });
  for (const [name, hash, content, control, how] of PAGES) {
    const times = [];
    const problems = [];
    for (let i = 0; i <= RUNS; i++) {
      const p = await ctx.newPage();
      p.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
      p.on('pageerror', (e) => problems.push(String(e)));
      await p.addInitScript(watcher, [content, control, how, session]);
      await p.goto(`/${hash}`);
      try {
        await p.waitForFunction(() => window.__benchMs !== undefined, null, { timeout: 20000, polling: 50 });
        const ms = await p.evaluate(() => window.__benchMs);
        if (i > 0) times.push(ms); // the first run warms the caches
      } catch (e) {
        problems.push(`not interactive within 20 s (${content} / ${control})`);
      }
      await p.close();
      if (problems.length) break;
    }
    if (problems.length) {
      failed = true;
      rows.push(`| web | ${name} | **failed**: ${problems[0].slice(0, 160)} | ≤ ${TARGET} ms | **no** |`);
      continue;
    }
    const med = median(times);
    rows.push(`| web | ${name} | median ${med.toFixed(0)} ms (${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)}, ${times.length} runs) | ≤ ${TARGET} ms | ${med <= TARGET ? 'yes' : '**no**'} |`);
    console.error(`bench: web: ${name}: ${med.toFixed(0)} ms`);
  }
  await ctx.close();
} finally {
  await browser.close();
}
console.log(rows.join('\n'));
process.exit(failed ? 1 : 0);
