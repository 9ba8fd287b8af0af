// The provenance page, #/prov/{jobdef}/{id}: the server's own drawing of a job's
// provenance (its PROV-SVG, laid out by Graphviz in opusd) shown inline so that it
// pans and zooms (vendored svg-pan-zoom) and its nodes are links inside the client:
// a job node opens #/job/{jobdef}/{id}, a file node downloads the entity from /store
// with the session's credentials. ProvSAP's switches (DEPTH, DIRECTION,
// DESCRIPTIONS, ...) live in the hash's query so that a view can be linked; the
// PROV-JSON / PROV-XML / PROV-N / SVG downloads take the same switches.
//
// The SVG is the server's output, but it is still treated as data: parsed with
// DOMParser as image/svg+xml (no script runs in a parsed document), stripped of
// <script>, <foreignObject>, <style>, on* attributes and non-http(s) links, then
// imported into the page.
import { h, clear } from '../dom.js';
import { errorText, request } from '../api.js';

const SPZ_SRC = '/vendor/svg-pan-zoom-3.6.2/svg-pan-zoom.min.js';
const SVG_NS = 'http://www.w3.org/2000/svg';
const XLINK_NS = 'http://www.w3.org/1999/xlink';
const JOB_ID = /^[0-9a-f]{32}$/;
const ENTITY_ID = /^e[0-9a-f]{32}$/;

// The switches: query key -> ProvSAP parameter, its choices, the client's default.
// DEPTH defaults to 2 (OPUS: 1) so that a job's page shows the jobs that made its
// inputs, which is what one opens it for.
const SWITCHES = [
  { key: 'depth', param: 'DEPTH', label: 'Depth', def: '2',
    options: ['0', '1', '2', '3', '4', '5', '6', '8', '10', 'ALL'],
    help: 'steps of the job/file graph (two per job)' },
  { key: 'direction', param: 'DIRECTION', label: 'Direction', def: 'BACK',
    options: [['BACK', 'back: where it came from'], ['FORTH', 'forth: what came of it']] },
  { key: 'descriptions', param: 'DESCRIPTIONS', label: 'Descriptions', def: '0',
    options: [['0', 'none'], ['1', 'job description'], ['2', 'with every detail']] },
  { key: 'agents', param: 'AGENTS', label: 'Agents', def: '1',
    options: [['1', 'shown'], ['0', 'hidden']] },
  { key: 'configuration', param: 'CONFIGURATION', label: 'Parameters', def: '1',
    options: [['1', 'shown'], ['0', 'hidden']] },
  { key: 'attributes', param: 'ATTRIBUTES', label: 'Attributes', def: '1',
    options: [['1', 'all'], ['0', 'essential only']] },
  { key: 'gd', param: 'GD', label: 'Layout', def: 'LR',
    options: [['LR', 'left to right'], ['TB', 'top to bottom'], ['RL', 'right to left'],
      ['BT', 'bottom to top']] },
];

const DOWNLOADS = [
  { kind: 'provjson', label: 'PROV-JSON', ext: 'json' },
  { kind: 'provxml', label: 'PROV-XML', ext: 'xml' },
  { kind: 'provn', label: 'PROV-N', ext: 'provn' },
  { kind: 'provsvg', label: 'SVG', ext: 'svg' },
];

let state = null; // {abort, spz, urls, root}

export function dispose() {
  if (!state) return;
  state.abort.abort();
  window.removeEventListener('resize', onResize);
  destroyPanZoom();
  for (const u of state.urls) URL.revokeObjectURL(u);
  state = null;
}

export async function render(root, params, ctx) {
  dispose();
  const { jobdef, id } = params;
  state = { abort: new AbortController(), spz: null, urls: [], root };
  ctx.setTitle(`Provenance of ${jobdef} ${id}`);
  clear(root);
  if (!jobdef || !JOB_ID.test(id || '')) {
    root.append(h('section', { class: 'prov' },
      h('h1', {}, 'Provenance'),
      h('p', { role: 'alert', class: 'error' }, 'This address does not name a job.')));
    return;
  }
  const values = readSwitches(params.query);
  const status = h('p', { class: 'prov-status', role: 'status', 'aria-live': 'polite' });
  const graph = h('div', {
    class: 'prov-graph', id: 'prov-graph', tabindex: '0',
    'aria-label': 'provenance graph: arrow keys pan, + and - zoom, 0 fits',
  });
  const form = switchesForm(values, () => {
    const q = new URLSearchParams();
    for (const s of SWITCHES) if (values[s.key] !== s.def) q.set(s.key, values[s.key]);
    const qs = q.toString();
    // replaceState: no hashchange, so the router keeps this page and its pan/zoom lib
    history.replaceState(null, '', `#/prov/${encodeURIComponent(jobdef)}/${id}${qs ? '?' + qs : ''}`);
    load();
  });
  const downloads = h('div', { class: 'prov-downloads', role: 'group', 'aria-label': 'downloads' },
    h('span', { class: 'prov-downloads-label' }, 'Download:'),
    DOWNLOADS.map((d) => h('button', {
      type: 'button', class: 'button', 'data-format': d.kind,
      on: { click: () => download(d, jobdef, id, values, ctx) },
    }, d.label)));
  const zoom = h('div', { class: 'prov-zoom', role: 'group', 'aria-label': 'zoom' },
    h('button', { type: 'button', class: 'button', title: 'zoom in (+)', on: { click: () => zoomBy(1.25) } }, 'Zoom in'),
    h('button', { type: 'button', class: 'button', title: 'zoom out (-)', on: { click: () => zoomBy(0.8) } }, 'Zoom out'),
    h('button', { type: 'button', class: 'button', title: 'fit (0)', on: { click: () => fit() } }, 'Fit'));

  root.append(h('section', { class: 'prov' },
    h('h1', {}, 'Provenance of ', h('a', { href: `#/job/${encodeURIComponent(jobdef)}/${id}` },
      `${jobdef} job ${id}`)),
    h('p', { class: 'prov-help' },
      'Jobs are blue boxes, files yellow ellipses, parameters green, people and opusd orange, ' +
      'descriptions lilac. Select a job to open it, a file to download it. ' +
      'Drag to pan, use the wheel or the buttons to zoom.'),
    form, h('div', { class: 'prov-bar' }, zoom, downloads), status, graph));

  graph.addEventListener('keydown', onGraphKey);
  window.addEventListener('resize', onResize);

  async function load() {
    destroyPanZoom();
    clear(graph);
    status.textContent = 'Loading the provenance graph…';
    status.classList.remove('error');
    const path = `/rest/${encodeURIComponent(jobdef)}/${id}/provsvg?${provQuery(values)}`;
    const [r, lib] = await Promise.all([
      request('GET', path, { accept: 'image/svg+xml', signal: state.abort.signal }),
      panZoomLib(),
    ]);
    if (!state || state.root !== root) return; // left the page meanwhile
    if (!r.ok) {
      status.classList.add('error');
      status.textContent = failure(r);
      return;
    }
    const svg = importSvg(r.text);
    if (!svg) {
      status.classList.add('error');
      status.textContent = 'The server sent a drawing this browser cannot read.';
      return;
    }
    wireLinks(svg, ctx);
    graph.append(svg);
    const count = svg.querySelectorAll('g.node').length;
    status.textContent = count ? `${count} nodes.` : 'Drawing loaded.';
    state.spz = lib(svg, {
      controlIcons: false, // they add a <style> element, which the CSP refuses
      zoomScaleSensitivity: 0.25, minZoom: 0.05, maxZoom: 40, fit: true, center: true,
      dblClickZoomEnabled: false,
    });
  }
  await load();
}

function readSwitches(query) {
  const v = {};
  for (const s of SWITCHES) {
    const got = query ? query.get(s.key) : null;
    const allowed = s.options.map((o) => (Array.isArray(o) ? o[0] : o));
    v[s.key] = got !== null && allowed.includes(got.toUpperCase()) ? got.toUpperCase()
      : got !== null && allowed.includes(got) ? got : s.def;
  }
  return v;
}

function provQuery(values) {
  const q = new URLSearchParams();
  for (const s of SWITCHES) q.set(s.param, values[s.key]);
  return q.toString();
}

function switchesForm(values, changed) {
  const fields = SWITCHES.map((s) => {
    const id = `prov-${s.key}`;
    const select = h('select', { id, name: s.key, on: { change: () => { values[s.key] = select.value; changed(); } } },
      s.options.map((o) => {
        const [value, text] = Array.isArray(o) ? o : [o, o];
        const opt = h('option', { value }, text);
        if (value === values[s.key]) opt.selected = true;
        return opt;
      }));
    return h('div', { class: 'field' }, h('label', { for: id, title: s.help || '' }, s.label), select);
  });
  return h('form', { class: 'prov-switches', 'aria-label': 'what the graph shows',
    on: { submit: (e) => e.preventDefault() } }, fields);
}

function failure(r) {
  const msg = errorText(r);
  if (r.status === 0) return `The server cannot be reached: ${msg}`;
  if (r.status === 404) {
    return 'No provenance for this job: it is recorded when a job ends (COMPLETED, ERROR or ' +
      'ABORTED), and only its owner or an admin sees it.';
  }
  if (r.status === 413) return `${msg} Choose a smaller depth, or download PROV-JSON.`;
  return `${r.status}: ${msg || 'the server refused the request'}`;
}

// Parses the server's SVG and returns an <svg> node of this document, cleaned.
function importSvg(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const top = doc.documentElement;
  if (!top || top.namespaceURI !== SVG_NS || top.localName !== 'svg' ||
      doc.getElementsByTagName('parsererror').length) return null;
  for (const bad of [...top.querySelectorAll('script, foreignObject, style, iframe, object, embed')]) {
    bad.remove();
  }
  for (const el of [top, ...top.querySelectorAll('*')]) {
    for (const attr of [...el.attributes]) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on') || name === 'style') el.removeAttributeNode(attr);
      else if ((attr.localName === 'href') && !/^(https?:|#|\/)/i.test(attr.value.trim())) {
        el.removeAttributeNode(attr);
      }
    }
  }
  // the container gives the size; the viewBox keeps the drawing's proportions
  top.removeAttribute('width');
  top.removeAttribute('height');
  top.setAttribute('preserveAspectRatio', 'xMidYMid meet');
  top.setAttribute('role', 'img');
  top.setAttribute('aria-label', 'provenance graph');
  const svg = document.importNode(top, true);
  // svg-pan-zoom writes style="overflow: hidden" with setAttribute unless the style
  // already names overflow; through the CSSOM it is no inline-style CSP violation.
  svg.style.overflow = 'hidden';
  return svg;
}

// Job nodes become client routes; file nodes download with the session's credentials.
function wireLinks(svg, ctx) {
  for (const a of svg.querySelectorAll('a')) {
    const href = a.getAttributeNS(XLINK_NS, 'href') || a.getAttribute('href');
    a.removeAttributeNS(XLINK_NS, 'href');
    a.removeAttribute('href');
    if (!href) continue;
    let url;
    try { url = new URL(href, location.origin); } catch { continue; }
    const job = url.pathname.match(/\/rest\/([^/]+)\/([0-9a-f]{32})\/?$/);
    const store = url.pathname.match(/\/store\/?(e[0-9a-f]{32})?/);
    if (job) {
      a.setAttribute('href', `#/job/${job[1]}/${job[2]}`);
      a.setAttribute('data-job', job[2]);
      a.setAttribute('class', 'prov-link prov-job');
    } else if (store) {
      const eid = store[1] || url.searchParams.get('ID') || '';
      if (!ENTITY_ID.test(eid)) continue;
      a.setAttribute('href', `/store?ID=${eid}`);
      a.setAttribute('data-entity', eid);
      a.setAttribute('class', 'prov-link prov-entity');
      a.addEventListener('click', (e) => {
        e.preventDefault();
        downloadEntity(eid, a, ctx);
      });
    }
  }
}

// as a blob: api.request's text would spoil binary files
async function fetchBlob(path) {
  const r = await request('GET', path, { accept: '*/*', as: 'blob',
    signal: state ? state.abort.signal : undefined });
  return r;
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  if (state) state.urls.push(url);
  const a = h('a', { href: url, hidden: true });
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
}

async function download(d, jobdef, id, values, ctx) {
  const r = await fetchBlob(`/rest/${encodeURIComponent(jobdef)}/${id}/${d.kind}?${provQuery(values)}`);
  if (!r.ok) {
    if (r.status !== 0 || state) ctx.toast(`${d.label}: ${errorText(r)}`, 'error');
    return;
  }
  saveBlob(r.blob, `prov-${jobdef}-${id}.${d.ext}`);
}

async function downloadEntity(eid, a, ctx) {
  const r = await fetchBlob(`/store?ID=${eid}`);
  if (!r.ok) {
    const gone = r.status === 410 ? 'the file is gone (its jobs were deleted); its provenance stays' : errorText(r);
    ctx.toast(`File ${eid}: ${gone}`, 'error');
    return;
  }
  const cd = r.headers.get('Content-Disposition') || '';
  const m = cd.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i);
  let name = m ? decodeURIComponent(m[1]) : '';
  if (!name) {
    const label = a.querySelector('text');
    name = label && label.textContent.trim() ? label.textContent.trim() : eid;
  }
  saveBlob(r.blob, name.replace(/[/\\]/g, '_'));
}

function panZoomLib() {
  if (window.svgPanZoom) return Promise.resolve(window.svgPanZoom);
  if (!panZoomLib.loading) {
    panZoomLib.loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = SPZ_SRC;
      s.addEventListener('load', () => resolve(window.svgPanZoom));
      s.addEventListener('error', () => { panZoomLib.loading = null; reject(new Error(`cannot load ${SPZ_SRC}`)); });
      document.head.append(s);
    });
  }
  return panZoomLib.loading;
}

function destroyPanZoom() {
  if (state && state.spz) {
    try { state.spz.destroy(); } catch { /* the svg is gone already */ }
    state.spz = null;
  }
}

function zoomBy(f) {
  if (state && state.spz) state.spz.zoomBy(f);
}

function fit() {
  if (state && state.spz) {
    state.spz.resize();
    state.spz.fit();
    state.spz.center();
  }
}

// the drawing keeps its zoom; svg-pan-zoom needs to hear of the new size
function onResize() {
  if (state && state.spz) state.spz.resize();
}

function onGraphKey(e) {
  if (!state || !state.spz || e.target !== e.currentTarget) return;
  const step = 60;
  const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
  if (moves[e.key]) state.spz.panBy({ x: moves[e.key][0], y: moves[e.key][1] });
  else if (e.key === '+' || e.key === '=') zoomBy(1.25);
  else if (e.key === '-') zoomBy(0.8);
  else if (e.key === '0') fit();
  else return;
  e.preventDefault();
}
