// scripts/screenshots.mjs: the README's screenshots of the web client, made
// again from a real opusd with real jobs: docs/img/job-list.png,
// job-page.png (results and a preview), provenance.png (the job's graph, its
// input made by an earlier job) and new-job.png (a generated form).
//
//   OPUSD_BIN=build/asan/opusd node scripts/screenshots.mjs   (needs tests/web's npm ci)
//
// Starts its daemon through tests/web/lib.mjs (temp data dir, the
// repository's ./jobdefs plus one description of its own), Debian's chromium.
import fs from 'node:fs';
import path from 'node:path';
import * as lib from '../tests/web/lib.mjs';

const OUT = path.join(lib.REPO, 'docs', 'img');

// Reads a catalogue (the earlier job's result) and writes a CSV table and an
// SVG plot: a job whose page has previews and whose provenance has an input.
const PHOTOMETRY = `<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="photometry" name="photometry" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>Aperture photometry of the sources of a catalogue: a flux table and a plot</DESCRIPTION>
    <PARAM name="version" value="2.1" arraysize="*" datatype="char" utype="voprov:ActivityDescription.version"/>
    <PARAM name="contact_name" value="Data centre" arraysize="*" datatype="char" utype="voprov:Agent.name"/>
    <PARAM name="executionDuration" value="60" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="{ echo 'source,ra,dec,flux_mJy'; n=0; while read -r src; do n=$((n+1)); echo &quot;$src,$((10+n)).68,41.$((20+n)),$((n*3)).$((n*7%10))&quot;; done &lt; $catalog; } &gt; fluxes.csv&#10;printf '&lt;svg xmlns=&quot;http://www.w3.org/2000/svg&quot; width=&quot;240&quot; height=&quot;120&quot;&gt;&lt;rect width=&quot;240&quot; height=&quot;120&quot; fill=&quot;#f4f7fb&quot;/&gt;&lt;polyline fill=&quot;none&quot; stroke=&quot;#1f5f99&quot; stroke-width=&quot;3&quot; points=&quot;10,100 60,70 110,80 160,40 230,20&quot;/&gt;&lt;/svg&gt;' &gt; plot.svg&#10;" arraysize="*" datatype="char"/>
    <GROUP name="InputParams">
      <PARAM ID="aperture" name="aperture" datatype="double" value="2.5" unit="arcsec">
        <DESCRIPTION>Aperture radius</DESCRIPTION>
        <VALUES><MIN value="0.5"/><MAX value="30"/></VALUES>
      </PARAM>
      <PARAM ID="band" name="band" datatype="char" value="r" arraysize="*">
        <DESCRIPTION>Photometric band</DESCRIPTION>
        <VALUES><OPTION value="g"/><OPTION value="r"/><OPTION value="i"/></VALUES>
      </PARAM>
      <PARAM ID="background" name="background" datatype="boolean" value="true">
        <DESCRIPTION>Subtract the sky background</DESCRIPTION>
      </PARAM>
    </GROUP>
    <GROUP name="Used">
      <GROUP name="catalog" utype="voprov:UsedDescription">
        <DESCRIPTION>The source list, one name a line</DESCRIPTION>
        <PARAM name="multiplicity" value="1" arraysize="*" datatype="char"/>
        <PARAM name="content_type" value="text/plain" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
    <GROUP name="Generated">
      <GROUP name="fluxes" utype="voprov:WasGeneratedBy">
        <DESCRIPTION>Fluxes of the sources</DESCRIPTION>
        <PARAM name="default" value="fluxes.csv" arraysize="*" datatype="char"/>
        <PARAM name="content_type" value="text/csv" arraysize="*" datatype="char"/>
      </GROUP>
      <GROUP name="plot" utype="voprov:WasGeneratedBy">
        <DESCRIPTION>Light curve</DESCRIPTION>
        <PARAM name="default" value="plot.svg" arraysize="*" datatype="char"/>
        <PARAM name="content_type" value="image/svg+xml" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
  </RESOURCE>
</VOTABLE>
`;

const user = 'alice';
let d;
let b;

async function create(jobdef, form, run = true) {
  const r = await lib.api(d, 'POST', `/rest/${jobdef}`, {user, form: {...form, ...(run ? {PHASE: 'RUN'} : {})}});
  if (r.status !== 303) throw new Error(`create ${jobdef}: ${r.status} ${r.text}`);
  return r.headers.get('location').replace(/\/$/, '').split('/').pop();
}

async function settle(jobdef, id) {
  for (let i = 0; i < 30; i++) {
    const j = (await lib.api(d, 'GET', `/rest/${jobdef}/${id}?WAIT=10`, {user})).data;
    if (!['PENDING', 'QUEUED', 'EXECUTING'].includes(j.phase)) return j;
  }
  throw new Error(`${jobdef} ${id} did not end`);
}

async function shot(p, name, full = false) {
  fs.mkdirSync(OUT, {recursive: true});
  await p.evaluate(() => document.querySelectorAll('#toasts .toast').forEach((t) => t.remove()));
  const file = path.join(OUT, `${name}.png`);
  await p.screenshot({path: file, fullPage: full});
  console.log(`screenshots: ${path.relative(lib.REPO, file)}`);
}

try {
  const jdl = fs.mkdtempSync(path.join(lib.REPO, 'build', 'shots-jdl-'));
  fs.cpSync(path.join(lib.REPO, 'jobdefs'), jdl, {recursive: true});
  fs.writeFileSync(path.join(jdl, 'photometry.xml'), PHOTOMETRY);
  d = await lib.startDaemon({users: {alice: false}, jdlDir: jdl});
  fs.rmSync(jdl, {recursive: true, force: true});
  b = await lib.browser();

  // a few days' worth of work: finished, failed, aborted, waiting and running jobs
  const cat = await create('copy', {text: 'M31\nM33\nNGC 253\nM81\nM82', RUNID: 'catalogue 2026-11'});
  await settle('copy', cat);
  await settle('fail', await create('fail', {message: 'calibration file missing', RUNID: 'night 12'}));
  for (const r of ['night 13', 'night 14']) await settle('typed', await create('typed', {n: '7', mode: 'fast', RUNID: r}));
  await create('copy', {text: 'draft', RUNID: 'draft notes'}, false);
  const ab = await create('sleep', {duration: '30', RUNID: 'long run'});
  await lib.api(d, 'POST', `/rest/sleep/${ab}/phase`, {user, form: {PHASE: 'ABORT'}});
  await settle('sleep', ab);
  const phot = await create('photometry', {catalog: `${cat}/output`, band: 'r', aperture: '3', RUNID: 'M31 field, r band'});
  await settle('photometry', phot);
  await create('sleep', {duration: '600', RUNID: 'survey tile 42'});
  await create('photometry', {catalog: `${cat}/output`, band: 'g', RUNID: 'M31 field, g band'}, false);

  const p = await lib.page(b, d.base, {width: 1280, height: 760});
  await lib.signIn(p, user, d.tokens[user]);

  await lib.goto(p, '#/jobs');
  await p.waitForFunction(() => document.querySelectorAll('#jobs-table tbody tr').length >= 9);
  await p.waitForSelector('#jobs-table tr[data-phase="EXECUTING"]');
  await shot(p, 'job-list');

  await p.setViewportSize({width: 1280, height: 1200});
  await lib.goto(p, `#/job/photometry/${phot}`);
  await p.waitForSelector('#job-results li');
  for (const r of ['fluxes', 'plot']) await p.click(`li[data-result="${r}"] summary`);
  await p.waitForSelector('#job-results table');
  await p.waitForSelector('#job-results img');
  await shot(p, 'job-page', true);

  await p.setViewportSize({width: 1280, height: 1000});
  await lib.goto(p, `#/prov/photometry/${phot}`);
  await p.waitForSelector('#prov-graph svg g.node');
  await shot(p, 'provenance');

  await lib.goto(p, '#/new/photometry');
  await p.waitForSelector('#job-form input');
  await shot(p, 'new-job', true);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
} finally {
  await b?.close();
  await d?.stop();
}
