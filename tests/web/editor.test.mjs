// editor.test.mjs: the job description editor (#/edit...) — write a
// description as an admin (metadata, parameters, a Used input, the script
// typed into CodeMirror), submit it (staged as tmp/{name}), validate it, and
// run a job from its generated form; import OPUS's own XML and export XML
// the server takes back; a 400 reason at its field; disable, enable and
// archive; markup shown as text; a submit role stages but does not validate,
// a plain user sees no editor; the page at 400 px.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';
import * as lib from './lib.mjs';

let d;
let b;

const OPUS_XML = path.join(lib.REPO, 'tests', 'data', 'opus-jdl', 'test_activity_1_vot.xml');
const echoXml = fs.readFileSync(path.join(lib.REPO, 'tests', 'integration', 'jobdefs', 'echo.xml'), 'utf8');
const renamed = (name) => echoXml.replace(/"echo"/g, `"${name}"`);
const XSS_DESC = '<img src=x onerror=alert(1)> & <b>not bold</b>';
const XSS_PARAM = '<script>alert(2)</script>';

before(async () => {
  d = await lib.startDaemon({
    users: {root: true, alice: false},
    jdlFiles: {
      // OPUS's file as the server reads it, to compare the editor's reading with
      'test_activity_1.xml': fs.readFileSync(OPUS_XML, 'utf8'),
      'victim.xml': renamed('victim'),
      'marked.xml': renamed('marked')
        .replace(/<DESCRIPTION>Copies[^<]*<\/DESCRIPTION>/, '<DESCRIPTION>&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;not bold&lt;/b&gt;</DESCRIPTION>')
        .replace(/<DESCRIPTION>Text copied[^<]*<\/DESCRIPTION>/, '<DESCRIPTION>&lt;script&gt;alert(2)&lt;/script&gt;</DESCRIPTION>'),
    },
  });
  b = await lib.browser();
});

after(async () => {
  await b?.close();
  await d?.stop();
});

async function signedIn(user, opts = {}) {
  const p = await lib.page(b, d.base, opts);
  await lib.signIn(p, user, d.tokens[user]);
  return p;
}

async function waitPhase(jobdef, id, phase, user = 'root') {
  for (let i = 0; i < 60; i++) {
    const r = await lib.api(d, 'GET', `/rest/${jobdef}/${id}?WAIT=5`, {user});
    if (r.data.phase === phase) return r.data;
    if (['ERROR', 'ABORTED'].includes(r.data.phase)) throw new Error(`job ${id}: ${r.data.phase}`);
  }
  throw new Error(`job ${id} never reached ${phase}`);
}

// the n-th (0-based) row of a table: ed-params / ed-used / ed-generated
const cell = (kind, i, col) => `#ed-${kind}-table tbody.ed-row[data-index="${i}"] td[data-col="${col}"] :is(input, select, textarea)`;

// Replaces the script in CodeMirror by typing it, key by key.
async function typeScript(p, lines) {
  await p.click('#ed-script .cm-content');
  await p.keyboard.press('Control+A');
  await p.keyboard.press('Delete');
  for (const [i, line] of lines.entries()) {
    if (i) await p.keyboard.press('Enter');
    await p.keyboard.type(line);
  }
}

// CodeMirror measures its lines only once it is on screen (an
// IntersectionObserver): scrolled to, so that a full-page shot shows it right.
async function shot(p, name) {
  if (await p.locator('#ed-script').count()) {
    await p.locator('#ed-script').scrollIntoViewIfNeeded();
    await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  }
  return lib.shot(p, name);
}

const scriptText = (p) => p.locator('#ed-script .cm-content').evaluate((el) =>
  [...el.querySelectorAll('.cm-line')].map((l) => l.textContent).join('\n'));

test('write a description as admin, submit it, validate it, and run a job from its form', async () => {
  const p = await signedIn('root');
  await p.click('#jdl-new');
  await lib.waitReady(p, 'editor');
  assert.equal(await p.inputValue('#ed-name'), '');
  await p.fill('#ed-name', 'greet');
  await p.fill('#ed-description', 'Greets someone a few times, then appends a file');
  await p.fill('#ed-version', '2');
  await p.fill('#ed-contact_name', 'Ed Itor');
  await p.fill('#ed-contact_email', 'ed@example.org');
  await p.fill('#ed-executionDuration', '30');
  // two parameters of different types; the second one first, then moved up and down
  await p.click('#ed-params-add');
  assert.equal(await p.evaluate(() => document.activeElement.closest('td')?.dataset.col), 'name');
  await p.keyboard.type('times');
  await p.selectOption(cell('params', 0, 'datatype'), 'int');
  await p.fill(cell('params', 0, 'default'), '2');
  await p.fill(cell('params', 0, 'min'), '1');
  await p.fill(cell('params', 0, 'max'), '5');
  await p.fill(cell('params', 0, 'description'), 'How many greetings');
  await p.click('#ed-params-add');
  await p.fill(cell('params', 1, 'name'), 'who');
  await p.fill(cell('params', 1, 'default'), 'world');
  await p.fill(cell('params', 1, 'unit'), 'name');
  await p.click('button[aria-label="Move up parameter who"]');
  assert.equal(await p.inputValue(cell('params', 0, 'name')), 'who');
  await p.click('button[aria-label="Move down parameter who"]');
  assert.equal(await p.inputValue(cell('params', 0, 'name')), 'times');
  // a parameter added and removed leaves nothing behind
  await p.click('#ed-params-add');
  await p.fill(cell('params', 2, 'name'), 'spare');
  await p.click('button[aria-label="Remove parameter spare"]');
  assert.equal(await p.locator('#ed-params-table tbody.ed-row').count(), 2);
  // one Used input, one result
  await p.click('#ed-used-add');
  await p.fill(cell('used', 0, 'name'), 'infile');
  await p.fill(cell('used', 0, 'content_type'), 'text/plain');
  await p.fill(cell('used', 0, 'multiplicity'), '1');
  await p.fill(cell('used', 0, 'description'), 'A text file appended to the greetings');
  await p.click('#ed-generated-add');
  await p.fill(cell('generated', 0, 'name'), 'output');
  await p.fill(cell('generated', 0, 'content_type'), 'text/plain');
  await p.fill(cell('generated', 0, 'default'), 'output.txt');
  const script = ['for i in $(seq "$times"); do echo "hello $who"; done > "$output"',
    'cat "$infile" >> "$output"'];
  await typeScript(p, script);
  assert.equal(await scriptText(p), script.join('\n'));
  // Tab does not trap the keyboard in the editor: it goes on to Submit
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'ed-submit');
  assert.equal(await scriptText(p), script.join('\n'));
  // shell highlighting: the strings and the variables are marked up by the shell mode
  assert.ok(await p.locator('#ed-script .cm-line span').count() > 3);
  await shot(p, 'editor-new-filled');

  await p.click('#ed-submit');
  await p.waitForFunction(() => location.hash === '#/edit/tmp/greet');
  await lib.waitReady(p, 'editor');
  assert.match(await p.textContent('#ed-status'), /staged as tmp\/greet/);
  const staged = await lib.api(d, 'GET', '/jdl/tmp/greet', {user: 'root', accept: 'text/xml'});
  assert.equal(staged.status, 200);
  // the staged one reads back into the form
  assert.equal(await p.inputValue(cell('params', 1, 'name')), 'who');
  assert.equal(await p.inputValue(cell('used', 0, 'name')), 'infile');
  assert.equal(await scriptText(p), script.join('\n'));
  assert.equal(await p.locator('#jdl-list').count(), 0);
  await shot(p, 'editor-staged');

  await p.click('#ed-validate');
  await p.waitForFunction(() => location.hash === '#/edit/greet');
  await lib.waitReady(p, 'editor');
  assert.match(await p.textContent('#ed-status'), /Validated: greet is installed/);
  const j = (await lib.api(d, 'GET', '/jdl/greet/json', {user: 'root'})).data;
  assert.equal(j.version, '2');
  assert.equal(j.contact_email, 'ed@example.org');
  assert.equal(j.executionDuration, 30);
  assert.deepEqual(j.parameters.map((x) => [x.name, x.datatype, x.default, x.min, x.max, x.required]),
    [['times', 'int', '2', '1', '5', false], ['who', 'char', 'world', null, null, false]]);
  assert.deepEqual(j.used.map((u) => [u.name, u.content_type, u.multiplicity]), [['infile', 'text/plain', '1']]);
  assert.equal((await lib.api(d, 'GET', '/jdl/greet/script', {user: 'root', accept: 'text/plain'})).text,
    script.join('\n'));

  // it is listed, and its generated form runs a job to COMPLETED
  await lib.goto(p, '#/jdl');
  await p.waitForSelector('li.jdl-card[data-name="greet"] .jdl-desc:text("Greets someone")');
  await p.click('a[aria-label="New greet job"]');
  await lib.waitReady(p, 'new');
  assert.equal(await p.inputValue('#f-times'), '2');
  await p.fill('#f-times', '3');
  await p.fill('#f-who', 'editor');
  await p.selectOption('#in-infile-0-mode', 'upload');
  await p.setInputFiles('#in-infile-0-file', {name: 'tail.txt', mimeType: 'text/plain', buffer: Buffer.from('the tail\n')});
  await p.click('#create-run');
  await lib.waitReady(p, 'job');
  await p.waitForSelector('#job-phase .phase-completed', {timeout: 30000});
  const id = (await p.textContent('.job-id')).trim();
  await waitPhase('greet', id, 'COMPLETED');
  const out = await lib.api(d, 'GET', `/rest/greet/${id}/results/output`, {user: 'root', accept: '*/*'});
  assert.equal(out.text, 'hello editor\nhello editor\nhello editor\nthe tail\n');
  await shot(p, 'editor-job-completed');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('import an OPUS XML file: the form holds what the server reads; export gives XML it takes back', async () => {
  const p = await signedIn('root');
  await lib.goto(p, '#/edit');
  await p.setInputFiles('#ed-import', OPUS_XML);
  await p.waitForSelector('#ed-status p:text("Imported test_activity_1_vot.xml")');
  assert.equal(await p.inputValue('#ed-name'), 'test_activity_1');
  assert.equal(await p.inputValue('#ed-description'), 'Job for tests, simply copies input text in a file');
  assert.equal(await p.inputValue('#ed-contact_email'), 'admin@opus');
  assert.equal(await p.inputValue('#ed-executionDuration'), '20');
  assert.equal(await p.inputValue(cell('params', 0, 'name')), 'text');
  assert.equal(await p.inputValue(cell('params', 0, 'default')), 'Hello World');
  assert.equal(await p.inputValue(cell('generated', 0, 'default')), 'output.txt');
  assert.equal(await p.locator('#ed-used-table tbody.ed-row').count(), 0);
  assert.equal(await scriptText(p), 'sleep 10\necho $text > $output\n');
  await shot(p, 'editor-imported');

  const [dl] = await Promise.all([p.waitForEvent('download'), p.click('#ed-export')]);
  assert.equal(dl.suggestedFilename(), 'test_activity_1.xml');
  const exported = fs.readFileSync(await dl.path(), 'utf8');
  assert.match(exported, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<VOTABLE /);

  // the server's own reading of OPUS's file, before the editor's version replaces it
  const original = (await lib.api(d, 'GET', '/jdl/test_activity_1/json', {user: 'root'})).data;
  await p.click('#ed-submit');
  await p.waitForFunction(() => location.hash === '#/edit/tmp/test_activity_1');
  await lib.waitReady(p, 'editor');
  // the export is what the server's own VOTable writer makes of the same description
  const staged = await lib.api(d, 'GET', '/jdl/tmp/test_activity_1', {user: 'root', accept: 'text/xml'});
  assert.equal(exported, staged.text);
  await p.click('#ed-validate');
  await p.waitForFunction(() => location.hash === '#/edit/test_activity_1');
  await lib.waitReady(p, 'editor');
  assert.deepEqual((await lib.api(d, 'GET', '/jdl/test_activity_1/json', {user: 'root'})).data, original);
  // and the exported file is accepted back as it is, as an XML upload
  const fd = new FormData();
  fd.append('name', 'test_activity_1');
  fd.append('file', new Blob([exported], {type: 'text/xml'}), 'test_activity_1.xml');
  const up = await fetch(`${d.base}/jdl`, {method: 'POST', body: fd, redirect: 'manual',
    headers: {Authorization: `Basic ${Buffer.from(`root:${d.tokens.root}`).toString('base64')}`}});
  assert.equal(up.status, 303, await up.text());
  assert.equal(up.headers.get('location'), `${d.base}/jdl/tmp/test_activity_1`);

  // a file that is not a description: the reason at the top, the form untouched
  await p.setInputFiles('#ed-import', {name: 'bad.xml', mimeType: 'text/xml',
    buffer: Buffer.from('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><VOTABLE/>')});
  await p.waitForSelector('#ed-error:not([hidden])');
  assert.match(await p.textContent('#ed-error'), /Cannot import bad.xml: DOCTYPE/);
  assert.equal(await p.inputValue('#ed-name'), 'test_activity_1');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('the server\'s 400 reason is shown at the field it names', async () => {
  const p = await signedIn('root', {allowHttp: [400]});
  await lib.goto(p, '#/edit');
  // the browser's own check first: a name the server would refuse
  await p.fill('#ed-name', 'bad name');
  await typeScript(p, ['echo hi']);
  await p.click('#ed-submit');
  await p.waitForSelector('#ed-name-error:not([hidden])');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'ed-name');
  await p.fill('#ed-name', 'badjob');
  assert.equal(await p.isHidden('#ed-name-error'), true);
  // a parameter named PATH would clobber the job's environment
  await p.click('#ed-params-add');
  await p.fill(cell('params', 0, 'name'), 'ok_one');
  await p.click('#ed-params-add');
  await p.fill(cell('params', 1, 'name'), 'PATH');
  await p.click('#ed-submit');
  const err1 = '#ed-params-table tbody.ed-row[data-index="1"] .field-error:not([hidden])';
  await p.waitForSelector(err1);
  assert.match(await p.textContent(err1), /PARAM "PATH" in GROUP InputParams: name would clobber the job's environment/);
  assert.equal(await p.getAttribute(cell('params', 1, 'name'), 'aria-invalid'), 'true');
  assert.equal(await p.evaluate(() => document.activeElement.closest('tbody')?.dataset.index), '1');
  assert.equal(await p.isHidden('#ed-error'), true);
  assert.equal(await p.locator('#ed-params-table .field-error:not([hidden])').count(), 1);
  await shot(p, 'editor-400-at-field');
  // a default that is not of the parameter's type: at the default cell
  await p.fill(cell('params', 1, 'name'), 'n');
  await p.selectOption(cell('params', 1, 'datatype'), 'int');
  await p.fill(cell('params', 1, 'default'), 'abc');
  await p.click('#ed-submit');
  await p.waitForSelector(err1);
  assert.match(await p.textContent(err1), /default value "abc" must be an integer/);
  assert.equal(await p.getAttribute(cell('params', 1, 'default'), 'aria-invalid'), 'true');
  assert.equal((await lib.api(d, 'GET', '/jdl/tmp/badjob', {user: 'root'})).status, 404);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('disable, enable and archive a description from the editor', async () => {
  const p = await signedIn('root');
  await lib.goto(p, '#/edit/victim');
  await p.waitForSelector('#ed-enabled:text("enabled")');
  await p.click('#ed-toggle');
  await p.waitForSelector('#ed-enabled:text("disabled for maintenance")');
  assert.equal((await lib.api(d, 'GET', '/admin/jdl/victim', {user: 'root'})).data.enabled, false);
  assert.match(await p.textContent('#ed-status'), /victim is disabled/);
  await shot(p, 'editor-disabled');
  await p.click('#ed-toggle');
  await p.waitForSelector('#ed-enabled:text-is("enabled")');
  assert.equal((await lib.api(d, 'GET', '/admin/jdl/victim', {user: 'root'})).data.enabled, true);
  // archiving asks once more
  await p.click('#ed-archive');
  await p.waitForSelector('#ed-archive:text("Really archive victim?")');
  assert.equal((await lib.api(d, 'GET', '/jdl/victim/json', {user: 'root'})).status, 200);
  await p.click('#ed-archive');
  await p.waitForFunction(() => location.hash === '#/jdl');
  await lib.waitReady(p, 'jdl');
  await p.waitForSelector('li.jdl-card[data-name="echo"]');
  assert.equal(await p.locator('li.jdl-card[data-name="victim"]').count(), 0);
  assert.equal((await lib.api(d, 'GET', '/jdl/victim/json', {user: 'root'})).status, 404);
  const archived = fs.readdirSync(path.join(d.dataDir, 'jdl-archive'));
  assert.ok(archived.some((f) => f.startsWith('victim-')), archived.join(' '));
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('markup in a description and a parameter description shows as text', async () => {
  const p = await signedIn('root');
  await lib.goto(p, '#/edit/marked');
  await p.waitForSelector('#ed-form');
  assert.equal(await p.inputValue('#ed-description'), XSS_DESC);
  assert.equal(await p.inputValue(cell('params', 0, 'description')), XSS_PARAM);
  assert.equal(await p.locator('main img, main b, main script').count(), 0);
  // the editor carries it through a submit unchanged
  await p.click('#ed-submit');
  await p.waitForFunction(() => location.hash === '#/edit/tmp/marked');
  await lib.waitReady(p, 'editor');
  assert.equal(await p.inputValue('#ed-description'), XSS_DESC);
  assert.equal(await p.inputValue(cell('params', 0, 'description')), XSS_PARAM);
  await lib.goto(p, '#/jdl');
  await p.waitForSelector(`li.jdl-card[data-name="marked"] .jdl-desc:text-is("${XSS_DESC}")`);
  assert.equal(await p.locator('main img, main b, main script').count(), 0);
  await shot(p, 'editor-markup-as-text');
  lib.expectNoConsoleErrors(p); // an alert() would be a problem (lib.mjs)
  await p.context().close();
});

test('a role with submit stages without validate; a plain user sees no editor', async () => {
  const role = await lib.api(d, 'PUT', '/admin/roles/authors', {user: 'root',
    json: {run: ['*'], submit: true, admin: false}});
  assert.ok([200, 201].includes(role.status), role.text);
  const made = await lib.api(d, 'POST', '/users', {user: 'root', json: {name: 'sam', roles: ['authors']}});
  assert.equal(made.status, 201, made.text);
  d.tokens.sam = made.data.token;

  const p = await signedIn('sam', {allowHttp: [403]});
  assert.equal(await p.isVisible('#nav-edit'), true);
  assert.equal(await p.isVisible('#nav-admin'), false);
  await p.waitForSelector('li.jdl-card[data-name="echo"] a.jdl-edit');
  await p.click('#nav-edit a');
  await lib.waitReady(p, 'editor');
  await p.fill('#ed-name', 'sams');
  await typeScript(p, ['echo "by sam" > out.txt']);
  await p.click('#ed-submit');
  await p.waitForFunction(() => location.hash === '#/edit/tmp/sams');
  await lib.waitReady(p, 'editor');
  assert.match(await p.textContent('#ed-status'), /staged as tmp\/sams\. An administrator validates it/);
  assert.equal(await p.locator('#ed-validate').count(), 0);
  assert.equal(await p.isHidden('#ed-admin'), true);
  assert.equal((await lib.api(d, 'GET', '/jdl/tmp/sams', {user: 'root'})).status, 200);
  assert.equal((await lib.api(d, 'GET', '/jdl/sams/json', {user: 'root'})).status, 404);
  await shot(p, 'editor-submit-role');
  // an installed one: no admin actions either
  await lib.goto(p, '#/edit/echo');
  await p.waitForSelector('#ed-form');
  assert.equal(await p.locator('#ed-toggle, #ed-archive, #ed-validate').count(), 0);
  // the right taken away while the page is open: the server's 403 reason at the top
  const ch = await lib.api(d, 'PATCH', '/users/sam', {user: 'root', json: {roles: ['user']}});
  assert.equal(ch.status, 200, ch.text);
  await p.click('#ed-submit');
  await p.waitForSelector('#ed-error:not([hidden])');
  assert.match(await p.textContent('#ed-error'), /Submitting refused \(403\): only an admin, or a role with submit, may submit job descriptions/);
  lib.expectNoConsoleErrors(p);
  await p.context().close();

  const q = await signedIn('alice');
  await q.waitForSelector('li.jdl-card[data-name="echo"]');
  assert.equal(await q.isVisible('#nav-edit'), false);
  assert.equal(await q.locator('#jdl-new, a.jdl-edit').count(), 0);
  await lib.goto(q, '#/edit');
  await q.waitForSelector('#ed-refused');
  assert.match(await q.textContent('#ed-refused'), /may not submit job descriptions/);
  assert.equal((await q.textContent('main')).trim(), `New job description${await q.textContent('#ed-refused')}`);
  assert.equal(await q.locator('#ed-form').count(), 0);
  await shot(q, 'editor-plain-user');
  lib.expectNoConsoleErrors(q);
  await q.context().close();
});

test('the editor at 400 px wide: rows become cards, nothing wider than the screen', async () => {
  const p = await signedIn('root', {width: 400, height: 800});
  await lib.goto(p, '#/edit/choices');
  await p.waitForSelector('#ed-form');
  assert.ok(await p.locator('#ed-params-table tbody.ed-row').count() >= 3);
  const wide = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 400, `page is ${wide} px wide`);
  assert.equal(await p.isVisible(`#ed-params-table tbody.ed-row[data-index="0"] .cell-label`), true);
  await shot(p, 'editor-400px');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('the editor writes and reads XML as the server does, for every example and awkward text', async () => {
  const p = await lib.page(b, d.base);
  const auth = `Basic ${Buffer.from(`root:${d.tokens.root}`).toString('base64')}`;
  const docs = [];
  for (const n of ['choices', 'echo', 'globber', 'upload', 'test_activity_1']) {
    const j = (await lib.api(d, 'GET', `/jdl/${n}/json`, {user: 'root'})).data;
    const s = (await lib.api(d, 'GET', `/jdl/${n}/script`, {user: 'root', accept: 'text/plain'})).text;
    docs.push({...j, script: s});
  }
  const none = {ucd: null, utype: null, arraysize: null, min: null, max: null, unit: null};
  docs.push({name: 'awkward', description: ' quote " amp & lt < gt > tab\there é ✓ \n', doculink: null,
    type: null, subtype: null, version: '1', contact_name: 'a "b" <c>', contact_email: null,
    executionDuration: 3000000000, quote: 0,
    maxMemory: 8589934592, maxProcesses: 50, maxOpenFiles: 0, maxCpuTime: 30,
    partition: 'long', account: null, gres: 'gpu:1', nodes: 2, tasksPerNode: 0, cpusPerTask: 4, script: 'echo "a\tb" > x\r\necho \'<&>\'\n',
    parameters: [{...none, name: 'p', datatype: 'double', required: false, default: '1.5',
      description: ' spaced\nlines ', unit: 'm"s', min: '0', max: '10', options: ['1.5', '2']},
    {...none, name: 'f', datatype: 'file', required: true, default: null, description: null, options: []},
    {...none, name: 'o', datatype: 'char', required: false, default: null, description: null,
      arraysize: '*', options: []}],
    used: [{name: 'u', description: '  ', role: 'r', multiplicity: 'n', default: null,
      content_type: 'text/plain', url: 'file://$ID'}],
    generated: [{name: 'g', description: '"x"', role: null, multiplicity: null, default: 'g.txt',
      content_type: null, url: null}]});
  for (const doc of docs) {
    const name = `rt_${doc.name}`;
    const st = await fetch(`${d.base}/jdl`, {method: 'POST', redirect: 'manual',
      headers: {'Content-Type': 'application/json', Authorization: auth}, body: JSON.stringify({...doc, name})});
    assert.equal(st.status, 303, `${name}: ${await st.text()}`);
    const server = (await lib.api(d, 'GET', `/jdl/tmp/${name}`, {user: 'root', accept: 'text/xml'})).text;
    const [mine, back] = await p.evaluate(async ([dd, x]) => {
      const m = await import('/js/pages/editor-xml.js');
      return [m.toXml(dd), m.fromXml(x).doc];
    }, [{...doc, name}, server]);
    assert.equal(mine, server, name);
    // read back: the same fields as the server's JSON of what it staged
    const sorted = (v) => (Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object'
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v);
    const fields = (x) => JSON.stringify(sorted([x.parameters, x.used, x.generated, x.version,
      x.executionDuration, x.maxMemory, x.maxProcesses, x.maxOpenFiles, x.maxCpuTime,
      x.partition, x.account, x.gres, x.nodes, x.tasksPerNode, x.cpusPerTask]));
    const trimmed = JSON.parse(JSON.stringify(doc), (k, v) => (k === 'description' && typeof v === 'string'
      ? v.trim() || null : v));
    assert.equal(fields(back), fields(trimmed), name);
  }
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});
