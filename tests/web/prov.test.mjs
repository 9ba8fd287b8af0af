// prov.test.mjs: the provenance page — the server's SVG inline, pan/zoom, a node
// followed to the job that made the input, the ProvSAP switches, the PROV
// downloads — and a job description whose <description> is an XSS attempt,
// shown as text on the description list and in the provenance drawing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {after, before, test} from 'node:test';
import * as lib from './lib.mjs';

// The chain step of tests/integration/test_prov.py: reads an earlier job's result.
const CHAIN = `<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="chain" name="chain" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>Chain step: appends a line to its input</DESCRIPTION>
    <PARAM name="version" value="3" arraysize="*" datatype="char" utype="voprov:ActivityDescription.version"/>
    <PARAM name="contact_name" value="chain-admin" arraysize="*" datatype="char" utype="voprov:Agent.name"/>
    <PARAM name="contact_email" value="chain@example.org" arraysize="*" datatype="char" utype="voprov:Agent.email"/>
    <PARAM name="executionDuration" value="20" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="cat &quot;$data&quot; &gt; out.txt&#10;echo &quot;step $label&quot; &gt;&gt; out.txt&#10;" arraysize="*" datatype="char"/>
    <GROUP name="InputParams">
      <PARAM ID="label" name="label" datatype="char" value="default-label" arraysize="*">
        <DESCRIPTION>A label appended to the output</DESCRIPTION>
      </PARAM>
    </GROUP>
    <GROUP name="Used">
      <GROUP name="data" utype="voprov:UsedDescription">
        <DESCRIPTION>The file this step reads</DESCRIPTION>
        <PARAM name="multiplicity" value="1" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
    <GROUP name="Generated">
      <GROUP name="out" utype="voprov:WasGeneratedBy">
        <DESCRIPTION>The input and one line more</DESCRIPTION>
        <PARAM name="default" value="out.txt" arraysize="*" datatype="char"/>
        <PARAM name="content_type" value="text/plain" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
  </RESOURCE>
</VOTABLE>
`;

// Markup in a description's text, escaped in the XML: the client must show it as text.
const XSS_TEXT = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> & "quotes"';
const xmlEscape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;');
const HOSTILE = `<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="hostile" name="hostile" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>${xmlEscape(XSS_TEXT)}</DESCRIPTION>
    <PARAM name="version" value="1" arraysize="*" datatype="char" utype="voprov:ActivityDescription.version"/>
    <PARAM name="contact_name" value="${xmlEscape('<b onmouseover=alert(1)>x</b>')}" arraysize="*" datatype="char" utype="voprov:Agent.name"/>
    <PARAM name="executionDuration" value="20" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="echo done &gt; out.txt&#10;" arraysize="*" datatype="char"/>
    <GROUP name="InputParams">
      <PARAM ID="note" name="note" datatype="char" value="n" arraysize="*">
        <DESCRIPTION>${xmlEscape('<svg onload="window.__xss=3">')}</DESCRIPTION>
      </PARAM>
    </GROUP>
    <GROUP name="Used"/>
    <GROUP name="Generated">
      <GROUP name="out" utype="voprov:WasGeneratedBy">
        <PARAM name="default" value="out.txt" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
  </RESOURCE>
</VOTABLE>
`;

let d;
let b;
let a; // echo job: made the input
let c; // chain job: used a's result

const idOf = (url) => url.replace(/\/$/, '').split('/').pop();

async function runJob(jobdef, form) {
  const r = await lib.api(d, 'POST', `/rest/${jobdef}`, {user: 'alice', form: {...form, PHASE: 'RUN'}});
  assert.equal(r.status, 303, r.text);
  const id = idOf(r.headers.get('location'));
  const w = await lib.api(d, 'GET', `/rest/${jobdef}/${id}?WAIT=30&PHASE=EXECUTING`, {user: 'alice'});
  let job = w.data;
  for (let i = 0; i < 10 && !['COMPLETED', 'ERROR', 'ABORTED'].includes(job.phase); i++) {
    job = (await lib.api(d, 'GET', `/rest/${jobdef}/${id}?WAIT=30`, {user: 'alice'})).data;
  }
  assert.equal(job.phase, 'COMPLETED', JSON.stringify(job));
  return id;
}

before(async () => {
  d = await lib.startDaemon({users: {alice: false, root: true},
    jdlFiles: {'chain.xml': CHAIN, 'hostile.xml': HOSTILE}});
  b = await lib.browser();
  a = await runJob('echo', {text: 'alpha'});
  c = await runJob('chain', {data: `${a}/output`, label: 'bee'});
});

after(async () => {
  await b?.close();
  await d?.stop();
});

async function signedIn(opts = {}) {
  const p = await lib.page(b, d.base, opts);
  await lib.signIn(p, 'alice', d.tokens.alice);
  return p;
}

test('the provenance graph of a job links to the job that made its input', async () => {
  // on a branch without the job page (W2's), the router's import of it is a 404
  const noJobPage = !fs.existsSync(`${lib.REPO}/web/js/pages/job.js`);
  const p = await signedIn(noJobPage ? {allowHttp: [404]} : {});
  await lib.goto(p, `#/prov/chain/${c}`);
  const jobA = p.locator(`#prov-graph svg a[data-job="${a}"]`);
  await jobA.waitFor();
  // the drawing is the server's, imported inline: nodes for both jobs and the files
  assert.equal(await p.locator(`#prov-graph svg a[data-job="${c}"]`).count(), 1);
  assert.ok(await p.locator('#prov-graph svg a[data-entity]').count() >= 2);
  assert.equal(await p.locator('#prov-graph svg script').count(), 0);
  // pan and zoom are live: the library wrapped the drawing in its viewport
  const viewport = p.locator('#prov-graph svg g.svg-pan-zoom_viewport');
  await viewport.waitFor();
  const before1 = await viewport.getAttribute('transform');
  await p.click('button:text("Zoom in")');
  await p.waitForFunction((t) => document.querySelector('#prov-graph g.svg-pan-zoom_viewport')
    .getAttribute('transform') !== t, before1);
  await p.click('button:text("Fit")');
  await lib.shot(p, 'prov-graph');
  // follow the node of the job that made the input
  await jobA.click();
  await p.waitForFunction((id) => location.hash === `#/job/echo/${id}`, a);
  // the job page renders (or, on a branch without it, the router says so)
  await p.waitForFunction(() => document.querySelector('main#app').dataset.ready === 'job' ||
    /Not available yet/.test(document.querySelector('main#app').textContent));
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('DEPTH and DIRECTION change the graph; the address keeps them', async () => {
  const p = await signedIn({width: 400, height: 800});
  await lib.goto(p, `#/prov/chain/${c}`);
  await p.locator(`#prov-graph svg a[data-job="${a}"]`).waitFor();
  // the keyboard zooms the focused graph
  await p.locator('#prov-graph svg g.svg-pan-zoom_viewport').waitFor();
  const t0 = await p.getAttribute('#prov-graph g.svg-pan-zoom_viewport', 'transform');
  await p.focus('#prov-graph');
  await p.keyboard.press('+');
  await p.waitForFunction((t) => document.querySelector('#prov-graph g.svg-pan-zoom_viewport')
    .getAttribute('transform') !== t, t0);
  // depth 1: the job, its files and parameters, not the job that made its input
  await p.selectOption('#prov-depth', '1');
  await p.waitForFunction(() => /depth=1/.test(location.hash));
  await p.locator(`#prov-graph svg a[data-job="${c}"]`).waitFor();
  assert.equal(await p.locator(`#prov-graph svg a[data-job="${a}"]`).count(), 0);
  // forth from the echo job: the chain job that used its result
  await lib.goto(p, `#/prov/echo/${a}?direction=FORTH`);
  assert.equal(await p.inputValue('#prov-direction'), 'FORTH');
  await p.locator(`#prov-graph svg a[data-job="${c}"]`).waitFor();
  // descriptions: the job description's lilac note is drawn
  await p.selectOption('#prov-descriptions', '1');
  await p.waitForFunction(() => [...document.querySelectorAll('#prov-graph svg text')]
    .some((t) => t.textContent.includes('voprov:ActivityDescription')));
  await lib.shot(p, 'prov-narrow');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('PROV-JSON, PROV-XML and PROV-N download with the switches; a file node downloads the file', async () => {
  const p = await signedIn();
  await lib.goto(p, `#/prov/chain/${c}?depth=2`);
  await p.locator(`#prov-graph svg a[data-job="${a}"]`).waitFor();
  const got = {};
  for (const [fmt, ext] of [['provjson', 'json'], ['provxml', 'xml'], ['provn', 'provn']]) {
    const [dl] = await Promise.all([p.waitForEvent('download'), p.click(`button[data-format="${fmt}"]`)]);
    assert.equal(dl.suggestedFilename(), `prov-chain-${c}.${ext}`);
    got[fmt] = fs.readFileSync(await dl.path(), 'utf8');
  }
  const doc = JSON.parse(got.provjson);
  const acts = Object.keys(doc.activity);
  assert.ok(acts.some((k) => k.endsWith(a)) && acts.some((k) => k.endsWith(c)), acts.join(' '));
  assert.match(got.provxml, /<prov:document/);
  assert.match(got.provn, /^document/m);
  assert.ok(got.provn.includes(a));
  // the echo job's result, the input of the chain job: the bytes through /store
  const job = (await lib.api(d, 'GET', `/rest/echo/${a}`, {user: 'alice'})).data;
  const output = job.results.find((r) => r.id === 'output');
  const [dl] = await Promise.all([p.waitForEvent('download'),
    p.click(`#prov-graph svg a[data-entity="${output.entity_id}"]`)]);
  assert.equal(fs.readFileSync(await dl.path(), 'utf8'), 'alpha');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('a job that has not ended has no graph yet: the page says why', async () => {
  const r = await lib.api(d, 'POST', '/rest/chain', {user: 'alice', form: {label: 'pending'}});
  const id = idOf(r.headers.get('location'));
  const p = await lib.page(b, d.base, {allowHttp: [404]});
  await lib.signIn(p, 'alice', d.tokens.alice);
  await lib.goto(p, `#/prov/chain/${id}`);
  await p.waitForSelector('.prov-status.error');
  assert.match(await p.textContent('.prov-status'), /recorded when a job ends/);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('markup in a job description\'s text shows as text', async () => {
  const p = await signedIn();
  await lib.goto(p, '#/jdl');
  const card = p.locator('#jdl-list li[data-name="hostile"]');
  await card.waitFor();
  assert.equal(await card.locator('.jdl-desc').textContent(), XSS_TEXT);
  assert.equal(await card.locator('img, script, b').count(), 0);
  await lib.shot(p, 'prov-xss-jdl');
  // its provenance, descriptions drawn: the texts are in SVG <text>, nothing runs
  const id = await runJobAs('hostile');
  await lib.goto(p, `#/prov/hostile/${id}?descriptions=2`);
  await p.locator(`#prov-graph svg a[data-job="${id}"]`).waitFor();
  const texts = await p.locator('#prov-graph svg text').allTextContents();
  assert.ok(texts.some((t) => t.includes('<img src=x onerror=')), texts.join('\n'));
  assert.equal(await p.locator('#prov-graph svg img, #prov-graph svg script, #prov-graph svg foreignObject').count(), 0);
  assert.equal(await p.evaluate(() => window.__xss), undefined);
  await lib.shot(p, 'prov-xss-graph');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

async function runJobAs(jobdef) {
  return runJob(jobdef, {});
}
