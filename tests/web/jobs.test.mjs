// jobs.test.mjs: the job form, the job list and the job page in the browser —
// submit from the form and see COMPLETED without a reload, a 400 reason at its
// field, abort a running job, previews of results, run again, actions from the
// list with live updates, XSS attempts through a parameter value and a runId.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import * as lib from './lib.mjs';

let d;
let b;

const xmlEsc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/\n/g, '&#10;');

// A 1x1 red PNG.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const PREVIEW_SCRIPT = [
  "printf 'name,flux\\nM31,3.4\\n\"a, b\",5\\n' > table.csv",
  "printf '{\"ra\":10.68,\"dec\":41.27}' > data.json",
  "printf '<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"20\"><rect width=\"40\" height=\"20\" fill=\"teal\"/></svg>' > pic.svg",
  `echo ${PNG} | base64 -d > pic.png`,
  "printf '%-80s' 'SIMPLE  =                    T' 'BITPIX  =                    8' 'NAXIS   =                    0' \"OBJECT  = 'M31     '\" 'END' > head.fits",
  'truncate -s 2880 head.fits',
].join('\n');

function generated(name, file, type) {
  return `<GROUP name="${name}" utype="voprov:WasGeneratedBy">
  <PARAM name="default" value="${file}" arraysize="*" datatype="char"/>
  <PARAM name="content_type" value="${type}" arraysize="*" datatype="char"/>
</GROUP>`;
}

const PREVIEWS_XML = `<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
<RESOURCE ID="previews" name="previews" type="meta" utype="voprov:ActivityDescription">
<DESCRIPTION>Writes a CSV table, a JSON document, an SVG and a PNG image and a FITS header</DESCRIPTION>
<PARAM name="executionDuration" value="20" datatype="int" utype="uws:Job.executionDuration"/>
<PARAM name="script" value="${xmlEsc(PREVIEW_SCRIPT)}" arraysize="*" datatype="char"/>
<GROUP name="InputParams"/>
<GROUP name="Used"/>
<GROUP name="Generated">
${generated('table', 'table.csv', 'text/csv')}
${generated('data', 'data.json', 'application/json')}
${generated('picture', 'pic.svg', 'image/svg+xml')}
${generated('photo', 'pic.png', 'image/png')}
${generated('image', 'head.fits', 'application/fits')}
</GROUP>
</RESOURCE>
</VOTABLE>
`;

before(async () => {
  d = await lib.startDaemon({users: {alice: false, bob: false, carol: false}, jdlFiles: {'previews.xml': PREVIEWS_XML}});
  b = await lib.browser();
});

after(async () => {
  await b?.close();
  await d?.stop();
});

async function signedIn(user = 'alice', opts = {}) {
  const p = await lib.page(b, d.base, opts);
  await lib.signIn(p, user, d.tokens[user]);
  return p;
}

// Creates a job over the API; returns its id.
async function createJob(jobdef, form, user = 'alice') {
  const r = await lib.api(d, 'POST', `/rest/${jobdef}`, {user, form});
  assert.equal(r.status, 303, r.text);
  return r.headers.get('location').split('/').pop();
}

async function waitPhase(jobdef, id, phase, user = 'alice') {
  for (let i = 0; i < 60; i++) {
    const r = await lib.api(d, 'GET', `/rest/${jobdef}/${id}?WAIT=5`, {user});
    if (r.data.phase === phase) return r.data;
  }
  throw new Error(`job ${id} never reached ${phase}`);
}

test('submit from the generated form and see the job reach COMPLETED without a reload', async () => {
  const p = await signedIn();
  await lib.goto(p, '#/new/choices');
  // the form follows the description: min/max, options, unit, required, Used input
  assert.equal(await p.getAttribute('#f-count', 'min'), '1');
  assert.equal(await p.getAttribute('#f-count', 'max'), '9');
  assert.equal(await p.inputValue('#f-count'), '5');
  assert.equal(await p.inputValue('#f-colour'), 'red');
  assert.deepEqual(await p.$$eval('#f-colour option', (os) => os.map((o) => o.value).filter(Boolean)),
    ['red', 'green', 'blue']);
  assert.match(await p.textContent('label[for="f-ra"]'), /ra \(deg\) \*/);
  assert.equal(await p.getAttribute('#f-ra', 'required'), '');
  assert.match(await p.textContent('#in-input'), /A text file/);
  assert.equal(await p.inputValue('#f-executionduration'), '30');
  await p.evaluate(() => { window.__sameDocument = true; });

  // a browser check first: ra is required
  await p.fill('#in-input-0-text', '');
  await p.click('#create-run');
  await p.waitForSelector('#f-ra-error:not([hidden])');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'f-ra');
  assert.match(await p.textContent('#in-input-error'), /input is required/);

  // a text file uploaded as the input
  await p.fill('#f-ra', '10.5');
  await p.fill('#f-count', '3');
  await p.selectOption('#f-colour', 'blue');
  await p.fill('#f-runid', 'from the form');
  await p.selectOption('#in-input-0-mode', 'upload');
  await p.setInputFiles('#in-input-0-file', {name: 'in.txt', mimeType: 'text/plain', buffer: Buffer.from('uploaded line\n')});
  await lib.shot(p, 'jobs-form-filled');
  await p.click('#create-run');
  await lib.waitReady(p, 'job');
  await p.waitForSelector('#job-phase .phase-completed', {timeout: 30000});
  assert.equal(await p.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
  await p.waitForSelector('#job-results li[data-result="output"]');
  await p.waitForSelector('#job-props dd:text("from the form")');
  const id = (await p.textContent('.job-id')).trim();
  const job = (await lib.api(d, 'GET', `/rest/choices/${id}`, {user: 'alice'})).data;
  assert.equal(job.phase, 'COMPLETED');
  assert.equal(job.parameters.count, '3');
  assert.equal(job.parameters.colour, 'blue');
  assert.equal(job.runId, 'from the form');
  const out = await lib.api(d, 'GET', `/rest/choices/${id}/results/output`, {user: 'alice', accept: '*/*'});
  assert.equal(out.text, '3 blue 10.5\nuploaded line\n');
  await lib.shot(p, 'jobs-completed');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('an earlier result as the input: picked from the list of recent results, the jobs chain', async () => {
  const first = await createJob('echo', {text: 'chained text\n', RUNID: 'source', PHASE: 'RUN'});
  await waitPhase('echo', first, 'COMPLETED');
  const p = await signedIn();
  await lib.goto(p, '#/new/choices');
  await p.fill('#f-ra', '2');
  await p.selectOption('#in-input-0-mode', 'result');
  await p.waitForSelector(`#in-input-0-results option[value="${first}/output"]`, {state: 'attached'});
  assert.match(await p.textContent(`#in-input-0-results option[value="${first}/output"]`), /output of echo source/);
  await p.fill('#in-input-0-text', `${first}/output`);
  await p.click('#create-run');
  await lib.waitReady(p, 'job');
  await p.waitForSelector('#job-phase .phase-completed');
  const id = (await p.textContent('.job-id')).trim();
  const out = await lib.api(d, 'GET', `/rest/choices/${id}/results/output`, {user: 'alice', accept: '*/*'});
  assert.equal(out.text, '5 red 2\nchained text\n');
  // the input links to the job that made it
  await p.click(`#job-params a.earlier-link`);
  await lib.waitReady(p, 'job');
  assert.equal(await p.evaluate(() => location.hash), `#/job/echo/${first}`);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('the server\'s 400 reason is shown at its field', async () => {
  const p = await signedIn('alice', {allowHttp: [400]});
  await lib.goto(p, '#/new/choices');
  await p.fill('#f-ra', '1');
  await p.selectOption('#in-input-0-mode', 'url');
  await p.fill('#in-input-0-text', 'ftp://example.org/in.txt'); // only the server knows the schemes
  const resp = p.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/rest/choices'));
  await p.click('#create');
  assert.equal((await resp).status(), 400);
  await p.waitForSelector('#in-input-error:not([hidden])');
  assert.equal(await p.textContent('#in-input-error'), 'scheme ftp is not allowed (http, https, file)');
  assert.equal(await p.getAttribute('#in-input-0-text', 'aria-invalid'), 'true');
  assert.equal(await p.evaluate(() => location.hash), '#/new/choices');
  // a control parameter's reason lands at the control
  await p.fill('#in-input-0-text', 'https://example.org/in.txt');
  await p.fill('#f-executionduration', '-5');
  await p.evaluate(() => document.getElementById('f-executionduration').removeAttribute('min'));
  const resp2 = p.waitForResponse((r) => r.request().method() === 'POST');
  await p.click('#create');
  assert.equal((await resp2).status(), 400);
  await p.waitForSelector('#f-executionduration-error:not([hidden])');
  assert.match(await p.textContent('#f-executionduration-error'), /non-negative integer/);
  assert.equal(await p.isHidden('#in-input-error'), true);
  await lib.shot(p, 'jobs-form-400');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('a failed job\'s page shows its error summary, stdout and stderr', async () => {
  const id = await createJob('failer', {text: '<b>not bold</b>', PHASE: 'RUN'});
  const job = await waitPhase('failer', id, 'ERROR');
  const p = await signedIn();
  await lib.goto(p, `#/job/failer/${id}`);
  await p.waitForSelector('#job-phase .phase-error');
  await p.waitForSelector('#error-summary:not([hidden]) .error-message');
  const shown = await p.textContent('#error-summary .error-message');
  assert.equal(shown, job.errorSummary.message);
  assert.match(shown, /boom: <b>not bold<\/b>/); // the script's stderr, as text
  await p.waitForSelector('#log-stdout:text("some output")');
  await p.waitForSelector('#log-stderr:text("first stderr line")');
  assert.equal(await p.locator('#error-summary b, #log-stderr b').count(), 0);
  await lib.shot(p, 'jobs-error');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('abort a running job from its page: the phase and elapsed time change live', async () => {
  const id = await createJob('sleeper', {secs: '60', PHASE: 'RUN'});
  await waitPhase('sleeper', id, 'EXECUTING');
  const p = await signedIn();
  await lib.goto(p, `#/job/sleeper/${id}`);
  await p.waitForSelector('#job-phase .phase-executing');
  await p.waitForSelector('#job-elapsed:text("running for")');
  assert.equal(await p.isHidden('#job-run'), true);
  await p.click('#job-abort');
  await p.waitForSelector('#job-phase .phase-aborted');
  await p.waitForSelector('#job-elapsed:text("ran")');
  await p.waitForSelector('#log-stdout, #job-logs .empty');
  await p.waitForSelector('#job-prov');
  assert.equal(await p.isVisible('#job-abort'), false);
  assert.equal((await lib.api(d, 'GET', `/rest/sleeper/${id}`, {user: 'alice'})).data.phase, 'ABORTED');
  await lib.shot(p, 'jobs-aborted');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('preview results: CSV as a table, JSON, SVG and PNG as images, a FITS header as text', async () => {
  const id = await createJob('previews', {PHASE: 'RUN'});
  await waitPhase('previews', id, 'COMPLETED');
  const p = await signedIn();
  await lib.goto(p, `#/job/previews/${id}`);
  // results are named after their Generated entity
  for (const name of ['table', 'data', 'picture', 'photo', 'image']) {
    await p.click(`li[data-result="${name}"] summary`);
  }
  await p.waitForSelector('[data-preview="table"] table.csv-preview');
  assert.deepEqual(await p.$$eval('[data-preview="table"] tbody tr', (rs) =>
    rs.map((r) => [...r.cells].map((c) => c.textContent))), [['M31', '3.4'], ['a, b', '5']]);
  await p.waitForSelector('[data-preview="data"] pre');
  assert.equal(await p.textContent('[data-preview="data"] pre'), '{\n  "ra": 10.68,\n  "dec": 41.27\n}');
  for (const name of ['picture', 'photo']) {
    await p.waitForFunction((n) => {
      const img = document.querySelector(`[data-preview="${n}"] img`);
      return img && img.complete && img.naturalWidth > 0;
    }, name);
  }
  assert.equal(await p.$eval('[data-preview="picture"] img', (i) => i.naturalWidth), 40);
  assert.match(await p.getAttribute('[data-preview="picture"] img', 'src'), /^blob:/);
  await p.waitForSelector('[data-preview="image"] pre');
  const fits = await p.textContent('[data-preview="image"] pre');
  assert.match(fits, /^SIMPLE  =\s+T\nBITPIX  =\s+8\nNAXIS   =\s+0\nOBJECT  = 'M31     '\nEND$/);
  // stdout and stderr have their own section
  await p.waitForSelector('#log-stdout');
  // a download goes through the credentials (a blob), named after the result
  const dl = p.waitForEvent('download');
  await p.click('li[data-result="table"] a.button');
  assert.equal((await dl).suggestedFilename(), 'table.csv'); // an extension from its type
  await lib.shot(p, 'jobs-previews');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('run again opens the form pre-filled from the job, and makes a new job', async () => {
  const id = await createJob('echo', {text: 'first words', n: '7', RUNID: 'one', PHASE: 'RUN'});
  await waitPhase('echo', id, 'COMPLETED');
  const p = await signedIn();
  await lib.goto(p, `#/job/echo/${id}`);
  await p.click('#job-again');
  await lib.waitReady(p, 'new');
  assert.equal(await p.evaluate(() => location.hash), `#/new/echo?from=${id}`);
  assert.equal(await p.inputValue('#f-text'), 'first words');
  assert.equal(await p.inputValue('#f-n'), '7');
  assert.equal(await p.inputValue('#f-runid'), 'one');
  await p.fill('#f-n', '8');
  await lib.shot(p, 'jobs-run-again');
  await p.press('#f-n', 'Enter'); // the keyboard: Enter submits with the first button, create and run
  await lib.waitReady(p, 'job');
  await p.waitForSelector('#job-phase .phase-completed');
  const id2 = (await p.textContent('.job-id')).trim();
  assert.notEqual(id2, id);
  const job = (await lib.api(d, 'GET', `/rest/echo/${id2}`, {user: 'alice'})).data;
  assert.deepEqual([job.parameters.text, job.parameters.n, job.runId], ['first words', '8', 'one']);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('the job list: filter, live updates, start, abort and delete per row and for a selection', async () => {
  // bob's own list, so the other tests' jobs do not count
  const pending = await createJob('sleeper', {secs: '1'}, 'bob');
  const running = await createJob('sleeper', {secs: '60', PHASE: 'RUN'}, 'bob');
  const done = [];
  for (let i = 0; i < 3; i++) done.push(await createJob('echo', {text: `t${i}`, RUNID: `r${i}`, PHASE: 'RUN'}, 'bob'));
  for (const id of done) await waitPhase('echo', id, 'COMPLETED', 'bob');
  await waitPhase('sleeper', running, 'EXECUTING', 'bob');
  const p = await signedIn('bob');
  await lib.goto(p, '#/jobs');
  await p.evaluate(() => { window.__sameDocument = true; });
  await p.waitForSelector(`tr[data-job="${running}"] .phase-executing`);
  assert.equal(await p.locator('#jobs-table tbody tr').count(), 5);
  await lib.shot(p, 'jobs-list');

  // the phase filter is the UWS PHASE filter
  await p.check('#flt-phase-completed');
  await p.waitForFunction(() => document.querySelectorAll('#jobs-table tbody tr').length === 3);
  assert.match(await p.evaluate(() => location.hash), /phase=COMPLETED/);
  await lib.waitReady(p, 'jobs'); // the shell's ready mark follows the filter's hash
  await p.uncheck('#flt-phase-completed');
  await p.waitForFunction(() => document.querySelectorAll('#jobs-table tbody tr').length === 5);

  // a job made elsewhere shows up without a reload
  const fresh = await createJob('echo', {text: 'late', RUNID: 'late one', PHASE: 'RUN'}, 'bob');
  await p.waitForSelector(`tr[data-job="${fresh}"] .phase-completed`, {timeout: 20000});

  // start the pending one from its row: it runs and completes, live
  await p.click(`tr[data-job="${pending}"] button[data-action="run"]`);
  await p.waitForSelector(`tr[data-job="${pending}"] .phase-completed`, {timeout: 20000});
  // abort the running one from its row
  await p.click(`tr[data-job="${running}"] button[data-action="abort"]`);
  await p.waitForSelector(`tr[data-job="${running}"] .phase-aborted`);
  // delete one from its row (asks once more)
  await p.click(`tr[data-job="${fresh}"] button[data-action="delete"]`);
  await p.waitForSelector(`tr[data-job="${fresh}"] button[data-action="delete"]:text("Really delete?")`);
  await p.click(`tr[data-job="${fresh}"] button[data-action="delete"]`);
  await p.waitForSelector(`tr[data-job="${fresh}"]`, {state: 'detached'});
  assert.equal((await lib.api(d, 'GET', `/rest/echo/${fresh}`, {user: 'bob'})).status, 404);

  // a selection: the three echo jobs, deleted together
  for (const id of done) await p.check(`#sel-echo-${id}`);
  assert.equal(await p.textContent('#sel-count'), '3 selected');
  await p.click('#bulk-delete');
  await p.waitForSelector('#bulk-delete:text("Really delete 3?")');
  await p.click('#bulk-delete');
  for (const id of done) await p.waitForSelector(`tr[data-job="${id}"]`, {state: 'detached'});
  assert.equal(await p.locator('#jobs-table tbody tr').count(), 2);
  assert.equal(await p.textContent('#sel-count'), 'none selected');
  // one description's list, sorted by phase
  await p.selectOption('#flt-jobdef', 'sleeper');
  await p.waitForSelector('#new-job');
  assert.equal(await p.evaluate(() => location.hash), '#/jobs?jobdef=sleeper');
  await p.waitForFunction(() => document.querySelectorAll('#jobs-table tbody tr').length === 2);
  await p.click('th.col-phase button.sort');
  assert.deepEqual(await p.$$eval('#jobs-table tbody tr', (rs) => rs.map((r) => r.dataset.phase)), ['ABORTED', 'COMPLETED']);
  assert.equal(await p.getAttribute('th.col-phase', 'aria-sort'), 'ascending');
  await p.click('th.col-phase button.sort');
  assert.deepEqual(await p.$$eval('#jobs-table tbody tr', (rs) => rs.map((r) => r.dataset.phase)), ['COMPLETED', 'ABORTED']);
  assert.equal(await p.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
  await lib.shot(p, 'jobs-list-after');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('paging with positions: older, newer and a deep page, one list request a page', async () => {
  const user = 'bob';
  for (let i = 0; i < 45; i++) await createJob('failer', {RUNID: `page ${i}`}, user);
  // the server's order (creation time, then id, newest first): jobs made in
  // the same millisecond are ordered by id, not by their runId
  const order = (await lib.api(d, 'GET', '/rest/failer?LAST=100', {user})).data.jobs;
  assert.equal(order.length, 45);
  const runIds = (from, to) => order.slice(from, to).map((j) => j.runId);
  const pos = (k) => `${order[k].creationTime},${order[k].jobId}`;
  const p = await signedIn(user);
  const shownRunIds = () => p.$$eval('#jobs-table tbody td.col-runId', (tds) => tds.map((td) => td.textContent));
  const rowsAre = async (want) => {
    await p.waitForFunction((w) => [...document.querySelectorAll('#jobs-table tbody td.col-runId')]
      .map((td) => td.textContent).join('\n') === w, want.join('\n'), {timeout: 5000})
      .catch(() => {});
    assert.deepEqual(await shownRunIds(), want);
  };
  // no GET per row: only list requests (and /jdl) while the page is shown
  const gets = [];
  p.on('request', (r) => { if (r.url().includes('/rest/')) gets.push(new URL(r.url()).pathname); });
  await lib.goto(p, '#/jobs?jobdef=failer');
  await rowsAre(runIds(0, 20));
  assert.equal(await p.isDisabled('#page-newer'), true);
  assert.equal(await p.textContent('#page-no'), 'newest jobs, page 1');
  await p.click('#page-older');
  await rowsAre(runIds(20, 40));
  assert.match(await p.evaluate(() => location.hash), new RegExp(`before=${encodeURIComponent(pos(19))}&page=1`));
  assert.equal(await p.textContent('#page-no'), 'page 2');
  await p.click('#page-older');
  await rowsAre(runIds(40, 45));
  assert.equal(await p.isDisabled('#page-older'), true);
  assert.equal(await p.textContent('#page-no'), 'page 3');
  await p.click('#page-newer'); // SINCE: the 20 just newer
  await rowsAre(runIds(20, 40));
  assert.equal(await p.textContent('#page-no'), 'page 2');
  await p.click('#page-newer');
  await rowsAre(runIds(0, 20));
  assert.equal(await p.isDisabled('#page-newer'), true);
  assert.equal(await p.evaluate(() => location.hash), '#/jobs?jobdef=failer');
  assert.deepEqual(gets.filter((g) => g !== '/rest/failer'), [], 'a request per row');

  // a deep page from its link: no page number, newer pages from there
  await lib.goto(p, `#/jobs?jobdef=failer&before=${encodeURIComponent(pos(34))}`);
  await rowsAre(runIds(35, 45));
  assert.match(await p.textContent('#page-no'), /^jobs before /);
  await p.click('#page-newer');
  await rowsAre(runIds(15, 35));
  await p.keyboard.press('Tab'); // the pager works from the keyboard too
  await p.focus('#page-newer');
  await p.keyboard.press('Enter');
  await rowsAre(runIds(0, 20));
  // filters go back to the first page
  await p.click('#page-older');
  await rowsAre(runIds(20, 40));
  await p.check('#flt-phase-pending');
  await rowsAre(runIds(0, 20));
  await lib.shot(p, 'jobs-paging');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('every description in one list request, asked for before the names of /jdl', async () => {
  const user = 'carol';
  const made = [];
  for (let i = 0; i < 3; i++) {
    made.push(['echo', await createJob('echo', {RUNID: `across echo ${i}`}, user)]);
    made.push(['failer', await createJob('failer', {RUNID: `across failer ${i}`}, user)]);
  }
  const p = await signedIn(user);
  const asked = [];
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/jdl' || u.pathname.startsWith('/rest')) asked.push(u.pathname);
  });
  await lib.goto(p, '#/jobs');
  await p.waitForFunction((n) => document.querySelectorAll('#jobs-table tbody tr').length === n,
    made.length, {timeout: 5000});
  const rows = await p.$$eval('#jobs-table tbody tr', (rs) => rs.map((r) => r.querySelector('td.col-jobdef').textContent));
  assert.deepEqual([...rows].sort(), made.map(([jd]) => jd).sort());
  // the list of every description and the names, in flight together, the list first
  assert.deepEqual(asked.slice(0, 2), ['/rest', '/jdl']);
  assert.deepEqual(asked.filter((a) => a !== '/rest' && a !== '/jdl'), [], 'a request per description or row');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('XSS attempts through a parameter value and a runId render as text', async () => {
  const evil = '<img src=x onerror="window.__xss=1">';
  const evilRun = '<script>window.__xss=2</script><b>bold</b>';
  const id = await createJob('echo', {text: evil, RUNID: evilRun, PHASE: 'RUN'});
  await waitPhase('echo', id, 'COMPLETED');
  const p = await signedIn('alice', {width: 400, height: 900});
  await lib.goto(p, `#/job/echo/${id}`);
  await p.waitForSelector('#job-params td.param-value');
  assert.equal(await p.textContent('#job-params td.param-value >> nth=0'), evil);
  assert.equal(await p.locator('#job-params img, #job-props b, #job-props script').count(), 0);
  assert.ok((await p.textContent('#job-props')).includes(evilRun));
  await p.click('li[data-result="output"] summary');
  await p.waitForSelector('[data-preview="output"] pre');
  assert.equal(await p.textContent('[data-preview="output"] pre'), evil);
  await lib.shot(p, 'jobs-xss-job-400px');
  await lib.goto(p, '#/jobs?jobdef=echo');
  await p.waitForSelector(`tr[data-job="${id}"] td.col-runId`);
  assert.equal(await p.textContent(`tr[data-job="${id}"] td.col-runId`), evilRun);
  await lib.shot(p, 'jobs-xss-list-400px');
  await lib.goto(p, `#/new/echo?from=${id}`);
  assert.equal(await p.inputValue('#f-text'), evil);
  assert.equal(await p.inputValue('#f-runid'), evilRun);
  await lib.shot(p, 'jobs-xss-form-400px');
  assert.equal(await p.evaluate(() => window.__xss), undefined);
  assert.equal(await p.locator('main img, main script, main b').count(), 0);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});
