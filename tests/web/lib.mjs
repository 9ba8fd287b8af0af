// lib.mjs: what the browser tests share — a real opusd (the ASan build) on
// loopback with its own temp data dir, Debian's chromium driven by
// playwright-core, a console watch that fails a test on any error or warning,
// sign-in and screenshots.
//
// Start the daemon and the browser ONCE per test file:
//   import {after, before, test} from 'node:test';
//   import * as lib from './lib.mjs';
//   let d, b;
//   before(async () => { d = await lib.startDaemon({users: {alice: false, root: true}});
//                        b = await lib.browser(); });
//   after(async () => { await b?.close(); await d?.stop(); });
//   test('x', async () => { const p = await lib.page(b, d.base); ...;
//                           await lib.shot(p, 'x'); lib.expectNoConsoleErrors(p); });
//
// Environment: OPUSD_BIN (default build/asan/opusd), CHROMIUM (default
// /usr/bin/chromium), OPUSD_WEB_KEEP=1 keeps the temp dirs.

import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTEFACTS = path.join(REPO, 'build', 'test-artefacts', 'web');
const SANITIZER_RE = /^(WARNING: ThreadSanitizer|==\d+==ERROR: \w+Sanitizer|\S+:\d+:\d+: runtime error: )/m;

export function opusdBin() {
  const p = process.env.OPUSD_BIN || 'build/asan/opusd';
  return path.isAbsolute(p) ? p : path.join(REPO, p);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}

function iniText(config) {
  return Object.entries(config).map(([sec, kv]) =>
    `[${sec}]\n${Object.entries(kv).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`).join('\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts opusd. users: {name: admin?} (tokens in .tokens, made by `opusd user
// add`); conf: {section: {key: value}} over the test defaults (as
// tests/integration/conftest.py); jdlFiles: {"name.xml": text} added to the
// copy of tests/integration/jobdefs (jdlDir: another directory to copy).
// Returns {base, port, tokens, root, dataDir, jdlDir, configPath, log(), stop()};
// stop() sends SIGTERM and throws unless opusd exits 0 without a sanitizer report.
export async function startDaemon({users = {}, conf = {}, jdlDir = null, jdlFiles = {}} = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opusd-web-'));
  const dataDir = path.join(root, 'data');
  const jdl = path.join(root, 'jobdefs');
  fs.cpSync(jdlDir || path.join(REPO, 'tests', 'integration', 'jobdefs'), jdl, {recursive: true});
  for (const [name, text] of Object.entries(jdlFiles)) fs.writeFileSync(path.join(jdl, name), text);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = {
    server: {listen: `127.0.0.1:${port}`, log_level: 'info'},
    paths: {data_dir: dataDir, jdl_dir: jdl, web_dir: path.join(REPO, 'web')},
    jobs: {kill_grace_ms: '500', max_destruction: '0', run_as: os.userInfo().username},
    auth: {backoff_failures: '100000'},
  };
  for (const [sec, kv] of Object.entries(conf)) config[sec] = {...(config[sec] || {}), ...kv};
  const configPath = path.join(root, 'opusd.ini');
  fs.writeFileSync(configPath, iniText(config));
  const tokens = {};
  for (const [name, admin] of Object.entries(users)) {
    const args = ['user', 'add', name, ...(admin ? ['--admin'] : []), '--config', configPath,
      '--data-dir', dataDir];
    const r = spawnSync(opusdBin(), args, {cwd: root, encoding: 'utf8', timeout: 30000});
    if (r.status !== 0) throw new Error(`opusd ${args.join(' ')} -> ${r.status}: ${r.stderr}`);
    const lines = r.stdout.split('\n').filter((l) => l.trim());
    if (lines.length !== 1) throw new Error(`user add printed ${JSON.stringify(r.stdout)}`);
    tokens[name] = lines[0].trim();
  }
  const logPath = path.join(root, 'opusd.log');
  const logFd = fs.openSync(logPath, 'a');
  const proc = spawn(opusdBin(), ['--config', configPath], {cwd: root, stdio: ['ignore', logFd, logFd]});
  fs.closeSync(logFd);
  let exited = null;
  const exitP = new Promise((resolve) => proc.on('exit', (code, sig) => {
    exited = {code, sig};
    resolve(exited);
  }));
  const log = () => fs.readFileSync(logPath, 'utf8');
  const deadline = Date.now() + 20000;
  for (;;) {
    if (exited) throw new Error(`opusd exited (${JSON.stringify(exited)}) at start:\n${log().slice(-4000)}`);
    try {
      const r = await fetch(`${base}/availability`);
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`opusd not ready in 20 s:\n${log().slice(-4000)}`);
    }
    await sleep(50);
  }
  async function stop() {
    if (!exited) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
      await exitP;
      clearTimeout(t);
    }
    const text = log();
    const m = SANITIZER_RE.exec(text);
    if (m) throw new Error(`sanitizer report in ${logPath}:\n${text.slice(m.index, m.index + 8000)}`);
    if (exited.code !== 0) throw new Error(`opusd exited ${JSON.stringify(exited)} after SIGTERM:\n${text.slice(-4000)}`);
    if (!process.env.OPUSD_WEB_KEEP) fs.rmSync(root, {recursive: true, force: true});
  }
  return {base, port, tokens, root, dataDir, jdlDir: jdl, configPath, log, stop,
    signal: (sig) => proc.kill(sig)};
}

// Headless Debian chromium (never a downloaded browser).
export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
      '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync'],
  });
}

// A page in a fresh context (its own sessionStorage) at base, recording every
// console error and warning, page error and failed request in page.problems.
// opts: {width, height} of the viewport, path (default '/').
// allowHttp: statuses whose "Failed to load resource" console errors a test
// expects (say 400 for a refused form, 401 for a wrong token); nothing else
// is let through.
export async function page(b, base, {width = 1280, height = 900, path: p = '/',
  allowHttp = []} = {}) {
  const context = await b.newContext({viewport: {width, height}, baseURL: base});
  const pg = await context.newPage();
  pg.problems = [];
  pg.allowHttp = new Set(allowHttp);
  pg.on('console', (msg) => {
    const type = msg.type();
    if (type !== 'error' && type !== 'warning') return;
    const text = msg.text();
    const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
    if (m && pg.allowHttp.has(Number(m[1]))) return;
    const loc = msg.location();
    pg.problems.push(`console ${type}: ${text}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
  });
  pg.on('pageerror', (e) => pg.problems.push(`page error: ${e.stack || e.message || e}`));
  // an alert() that ran is an XSS that worked
  pg.on('dialog', async (dlg) => {
    pg.problems.push(`dialog ${dlg.type()}: ${dlg.message()}`);
    await dlg.dismiss().catch(() => {});
  });
  pg.on('requestfailed', (r) => {
    const f = r.failure();
    if (f && /ERR_ABORTED/.test(f.errorText)) return; // a navigation or an AbortController
    pg.problems.push(`request failed: ${r.method()} ${r.url()} ${f ? f.errorText : ''}`);
  });
  if (p !== null) await goto(pg, p);
  return pg;
}

// Loads a hash route (or path) and waits until the page module has rendered
// (main#app[data-ready]).
export async function goto(pg, where) {
  const url = where.startsWith('#') ? `/${where}` : where;
  await pg.goto(url);
  await waitReady(pg);
}

// Waits until the router has rendered the page of the current hash
// (main#app[data-ready][data-hash] matches location.hash), optionally a given
// page module ('jdl', 'signin', ...; 'missing' for a module not written yet).
export async function waitReady(pg, module = null) {
  await pg.waitForFunction((m) => {
    const app = document.getElementById('app');
    return app && app.dataset.ready && app.dataset.hash === location.hash &&
      (!m || app.dataset.ready === m);
  }, module);
}

// Lets "Failed to load resource: ... status of N" through for the rest of the
// test (a page that shows a refused request: 400, 401, 403, 404, 409 ...).
export function allowHttp(pg, ...statuses) {
  for (const st of statuses) pg.allowHttp.add(st);
}

export function expectNoConsoleErrors(pg) {
  if (pg.problems.length) throw new Error(`browser problems:\n${pg.problems.join('\n')}`);
}

// Signs in through the sign-in page; waits for the page it leads to.
export async function signIn(pg, name, token) {
  await goto(pg, '#/signin');
  await pg.fill('#signin-name', name || '');
  await pg.fill('#signin-token', token);
  await pg.click('#signin-form button[type=submit]');
  await pg.waitForFunction(() => !location.hash.startsWith('#/signin'));
  await waitReady(pg);
}

// build/test-artefacts/web/{name}.png (full page); returns its path.
export async function shot(pg, name) {
  fs.mkdirSync(ARTEFACTS, {recursive: true});
  const file = path.join(ARTEFACTS, `${name}.png`);
  await pg.screenshot({path: file, fullPage: true});
  return file;
}

// A JSON request to the daemon outside the browser (setting up a test).
export async function api(d, method, p, {user = null, json, form, accept = 'application/json'} = {}) {
  const headers = {Accept: accept};
  if (user) headers.Authorization = `Basic ${Buffer.from(`${user}:${d.tokens[user]}`).toString('base64')}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  const r = await fetch(d.base + p, {method, headers, body, redirect: 'manual'});
  const text = await r.text();
  let data = null;
  try { data = JSON.parse(text); } catch { /* not JSON */ }
  return {status: r.status, headers: r.headers, text, data};
}
