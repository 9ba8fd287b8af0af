// samp.test.mjs: "Send to…" a VO desktop tool over SAMP from the job page, to
// a real hub — Debian's jsamp, headless, its lockfile and home in a temp dir —
// and a real SAMP client on the Standard Profile that records what it gets and
// fetches the URL it is sent, as TOPCAT would (tests/web/fixtures/samp_peer.py).
// Also: the page's words when no hub runs and when the hub refuses.
//
// The Web Profile's port, 21012, is fixed by the standard, so one hub at a
// time: each test starts its own and stops it (the helper waits for the port
// to be free first and the hub dies with the helper, whatever happens).
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {after, before, test} from 'node:test';
import * as lib from './lib.mjs';

const FIXTURES = path.join(lib.REPO, 'tests', 'web', 'fixtures');
const JOBDEF = 'samp_results';
const LISTENER = 'opusd-test-listener';

let d;
let b;
const peers = new Set();

// The hub (and, with listen, the recording client): {events, ready, waitFor(pred), stop()}.
async function startPeer({auth = 'true', listen = null} = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opusd-samp-'));
  const args = [path.join(FIXTURES, 'samp_peer.py'), dir, '--auth', auth, ...(listen ? ['--listen', listen] : [])];
  const proc = spawn('/usr/bin/python3', args, {stdio: ['pipe', 'pipe', 'pipe']});
  let stderr = '';
  proc.stderr.on('data', (c) => { stderr += c; });
  let exited = false;
  const exitP = new Promise((res) => proc.on('exit', () => { exited = true; res(); }));
  const events = [];
  const waiters = new Set();
  const wake = () => { for (const w of waiters) w(); };
  readline.createInterface({input: proc.stdout}).on('line', (line) => {
    events.push(JSON.parse(line));
    wake();
  });
  exitP.then(wake);
  const waitFor = (pred, what, ms = 60000) => new Promise((resolve, reject) => {
    const check = () => {
      const hit = events.find(pred);
      const err = events.find((e) => e.event === 'error');
      if (hit || err || exited) {
        waiters.delete(check);
        clearTimeout(timer);
        if (hit) resolve(hit);
        else reject(new Error(`SAMP peer: ${err ? err.message : `exited before ${what}`}\n${stderr}`));
      }
    };
    const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`SAMP peer: no ${what} in ${ms} ms`)); }, ms);
    waiters.add(check);
    check();
  });
  const peer = {
    events, waitFor,
    async stop() {
      peers.delete(peer);
      proc.stdin.end();
      const t = setTimeout(() => proc.kill('SIGKILL'), 20000);
      await exitP;
      clearTimeout(t);
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
  peers.add(peer);
  peer.ready = await waitFor((e) => e.event === 'ready', 'ready');
  return peer;
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({host: '127.0.0.1', port});
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

async function completedJob(user = null) {
  const r = await lib.api(d, 'POST', `/rest/${JOBDEF}`, {user, form: {PHASE: 'RUN'}});
  assert.equal(r.status, 303, r.text);
  const id = r.headers.get('location').split('/').pop();
  for (let i = 0; i < 30; i++) {
    const j = await lib.api(d, 'GET', `/rest/${JOBDEF}/${id}?WAIT=5`, {user});
    if (j.data.phase === 'COMPLETED') return j.data;
    assert.ok(['PENDING', 'QUEUED', 'EXECUTING'].includes(j.data.phase), j.text);
  }
  throw new Error(`job ${id} never completed`);
}

// The failures of the page's own requests to an absent hub (the browser logs
// every refused connection; the page shows its own message for them).
function dropRefusedHub(p) {
  p.problems = p.problems.filter((x) => !(/localhost:21012/.test(x) && /ERR_CONNECTION_REFUSED/.test(x)));
}

async function openSend(p, rid) {
  const sel = `li[data-result="${rid}"]`;
  await p.waitForSelector(`${sel} .samp-open`);
  await p.focus(`${sel} .samp-open`);
  await p.keyboard.press('Enter');
  await p.waitForSelector(`${sel} .samp-panel:not([hidden])`);
  assert.equal(await p.getAttribute(`${sel} .samp-open`, 'aria-expanded'), 'true');
  return sel;
}

async function optionLabels(p, sel) {
  return p.$$eval(`${sel} select.samp-target option`, (os) => os.map((o) => o.textContent));
}

before(async () => {
  d = await lib.startDaemon({users: {alice: false},
    jdlFiles: {[`${JOBDEF}.xml`]: fs.readFileSync(path.join(FIXTURES, `${JOBDEF}.xml`), 'utf8')}});
  b = await lib.browser();
});

after(async () => {
  for (const peer of [...peers]) await peer.stop();
  await b?.close();
  await d?.stop();
});

test('the job page says clearly when no SAMP hub runs', async () => {
  assert.equal(await portOpen(21012), false, 'something listens on 21012 (a SAMP hub?): the test needs the port');
  const job = await completedJob();
  const p = await lib.page(b, d.base, {path: `#/job/${JOBDEF}/${job.jobId}`});
  await p.waitForSelector('li[data-result="notes"]');
  // a text file has no SAMP MType: no control
  assert.equal(await p.$('li[data-result="notes"] .samp-open'), null);
  const sel = await openSend(p, 'table');
  await p.waitForSelector(`${sel} .samp-status.error`);
  assert.match(await p.textContent(`${sel} .samp-status`), /No SAMP hub: start TOPCAT or Aladin/);
  assert.equal(await p.isDisabled(`${sel} .samp-send`), true);
  assert.equal(await p.getAttribute(`${sel} label`, 'for'), await p.getAttribute(`${sel} select`, 'id'));
  await lib.shot(p, 'samp-no-hub');
  dropRefusedHub(p);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('a hub that refuses the registration: the page says so', async () => {
  const peer = await startPeer({auth: 'false'});
  try {
    const job = await completedJob();
    const p = await lib.page(b, d.base, {path: `#/job/${JOBDEF}/${job.jobId}`});
    const sel = await openSend(p, 'table');
    await p.waitForSelector(`${sel} .samp-status.error`);
    assert.match(await p.textContent(`${sel} .samp-status`), /SAMP hub refused to register this page/);
    await lib.shot(p, 'samp-refused');
    lib.expectNoConsoleErrors(p);
    await p.context().close();
  } finally {
    await peer.stop();
  }
});

test('send a VOTable and a FITS image to a SAMP client through a real hub', async () => {
  const peer = await startPeer({listen: 'table.load.votable,image.load.fits'});
  try {
    assert.equal(peer.ready.listener.name, LISTENER);
    const job = await completedJob();
    const href = (rid) => job.results.find((r) => r.id === rid).href;
    const p = await lib.page(b, d.base, {path: `#/job/${JOBDEF}/${job.jobId}`});

    // the VOTable: the one listening tool is offered (and chosen), sent with the keyboard
    const sel = await openSend(p, 'table');
    await p.waitForSelector(`${sel} select.samp-target:not([disabled])`);
    assert.deepEqual(await optionLabels(p, sel), ['All tools that take a VOTable (1)', LISTENER]);
    assert.equal(await p.evaluate((s) => document.activeElement === document.querySelector(`${s} select`), sel), true);
    await p.selectOption(`${sel} select.samp-target`, {label: LISTENER});
    await p.focus(`${sel} .samp-send`);
    await p.keyboard.press('Enter');
    await p.waitForSelector(`${sel} .samp-status.ok`);
    assert.equal(await p.textContent(`${sel} .samp-status`), `Sent to ${LISTENER}.`);
    const got = await peer.waitFor((e) => e.event === 'received' && e.mtype === 'table.load.votable', 'table.load.votable');
    assert.equal(got.params.url, href('table'));
    assert.match(got.params.url, /^http:\/\/127\.0\.0\.1:\d+\/rest\/samp_results\/[0-9a-f]+\/results\/table$/);
    assert.equal(got.params['table-id'], `opusd-${job.jobId}-table`);
    assert.match(got.params.name, /^table \(samp_results job [0-9a-f]{8}\)$/);
    assert.equal(got.sender_name, 'opusd');
    // the URL the tool was given serves the VOTable, without credentials
    assert.equal(got.fetch.status, 200, got.fetch.body);
    assert.match(got.fetch.body, /<VOTABLE[^>]*version="1\.3"/);
    assert.match(got.fetch.body, /<TD>M31<\/TD>/);
    await lib.shot(p, 'samp-sent-votable');

    // the FITS image, to "all": notifyAll
    const isel = await openSend(p, 'image');
    await p.waitForSelector(`${isel} select.samp-target:not([disabled])`);
    // image/fits: an image only (application/fits would offer the table MType too)
    assert.deepEqual(await optionLabels(p, isel), ['All tools that take a FITS image (1)', LISTENER]);
    await p.selectOption(`${isel} select.samp-target`, {label: 'All tools that take a FITS image (1)'});
    await p.click(`${isel} .samp-send`);
    await p.waitForSelector(`${isel} .samp-status.ok`);
    assert.equal(await p.textContent(`${isel} .samp-status`), 'Sent to 1 tool.');
    const img = await peer.waitFor((e) => e.event === 'received' && e.mtype === 'image.load.fits', 'image.load.fits');
    assert.equal(img.params.url, href('image'));
    assert.equal(img.params['image-id'], `opusd-${job.jobId}-image`);
    assert.equal(img.fetch.status, 200);
    assert.match(img.fetch.body, /^SIMPLE  =\s+T/);
    assert.equal(peer.events.filter((e) => e.event === 'received').length, 2);
    await lib.shot(p, 'samp-sent-image');
    lib.expectNoConsoleErrors(p);
    await p.context().close();
  } finally {
    await peer.stop();
  }
});

test('a private job: the page warns, and the tool is refused without credentials (400 px wide)', async () => {
  const peer = await startPeer({listen: 'table.load.votable'});
  try {
    const job = await completedJob('alice');
    const p = await lib.page(b, d.base, {width: 400, height: 900});
    await lib.signIn(p, 'alice', d.tokens.alice);
    await lib.goto(p, `#/job/${JOBDEF}/${job.jobId}`);
    const sel = await openSend(p, 'table');
    assert.match(await p.textContent(`${sel} .samp-private`), /This job is private/);
    await p.waitForSelector(`${sel} select.samp-target:not([disabled])`);
    await p.click(`${sel} .samp-send`); // the one tool is chosen already
    await p.waitForSelector(`${sel} .samp-status.ok`);
    const got = await peer.waitFor((e) => e.event === 'received', 'table.load.votable');
    assert.equal(got.params.url, job.results.find((r) => r.id === 'table').href);
    // anonymous access is on (the default): the tool's request is anonymous,
    // and another's job is not its own
    assert.equal(got.fetch.status, 403, got.fetch.body);
    // a result of the 'image' row offers no tool: the listener takes VOTables only
    const isel = await openSend(p, 'image');
    await p.waitForSelector(`${isel} .samp-status.warning`);
    assert.match(await p.textContent(`${isel} .samp-status`), /No tool on the hub takes a FITS image: start TOPCAT or Aladin/);
    await lib.shot(p, 'samp-private-400px');
    lib.expectNoConsoleErrors(p);
    await p.context().close();
  } finally {
    await peer.stop();
  }
});
