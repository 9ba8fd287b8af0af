// app.js: the shell of the web client — the hash router, the navigation bar,
// the toasts, and the sign-in redirect on 401.
//
// A page is a module under /js/pages/ that exports
//   async function render(root, params, ctx)   and optionally   dispose()
// params: {jobdef, id, sub, query: URLSearchParams}
// ctx:    {navigate(hash), me (the /users/me document or null; only for the pages
//          of NEEDS_ME, null for the others), toast(text, kind),
//          setTitle(text)}
// dispose() is called before the next page renders: stop timers, abort fetches.

import {me, onUnauthorized, session} from './api.js';
import {clear, h} from './dom.js';

// [pattern on the path after '#', module, nav entry]; the first match wins.
const ROUTES = [
  [/^\/signin$/, 'signin', 'signin'],
  [/^\/(?:jdl)?$/, 'jdl', 'jdl'],
  [/^\/new\/(?<jobdef>[^/]+)$/, 'new', 'jdl'],
  [/^\/jobs$/, 'jobs', 'jobs'],
  [/^\/job\/(?<jobdef>[^/]+)\/(?<id>[^/]+)$/, 'job', 'jobs'],
  [/^\/prov\/(?<jobdef>[^/]+)\/(?<id>[^/]+)$/, 'prov', 'jobs'],
  [/^\/edit(?:\/(?<sub>tmp)(?=\/))?(?:\/(?<jobdef>[^/]+))?$/, 'editor', 'edit'],
  [/^\/admin(?:\/(?<sub>users|apps|audit|status))?$/, 'admin', 'admin'],
];

// The pages that read ctx.me (the others get null and must not need it).
const NEEDS_ME = new Set(['admin', 'editor', 'jdl']);

const root = document.getElementById('app');
let current = null; // the page module shown
let generation = 0; // bumped on every navigation: a slow render that lost the race stops
let signinMessage = '';

function navigate(hash) {
  const target = hash.startsWith('#') ? hash : `#${hash}`;
  if (location.hash === target) route();
  else location.hash = target;
}

function setTitle(text) {
  document.title = text ? `${text} — opusd` : 'opusd';
}

function toast(text, kind = 'info') {
  const box = document.getElementById('toasts');
  const el = h('div', {class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : null},
    h('span', null, text),
    h('button', {type: 'button', class: 'link', 'aria-label': 'Dismiss',
      on: {click: () => el.remove()}}, '×'));
  box.appendChild(el);
  if (kind !== 'error') setTimeout(() => el.remove(), 6000);
}

// The route of a hash: {module, nav, params} or null.
export function parseHash(hash) {
  const raw = (hash || '').replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  for (const [re, module, nav] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    const g = m.groups || {};
    let params;
    try {
      params = {
        jobdef: g.jobdef ? decodeURIComponent(g.jobdef) : undefined,
        id: g.id ? decodeURIComponent(g.id) : undefined,
        sub: g.sub, query,
      };
    } catch {
      return null; // a malformed %-escape
    }
    return {module, nav, params};
  }
  return null;
}

function updateNav(who) {
  const name = document.getElementById('nav-name');
  const signin = document.getElementById('nav-signin');
  const signout = document.getElementById('nav-signout');
  const admin = document.getElementById('nav-admin');
  const s = session.get();
  name.textContent = who ? (who.display_name || who.name) : (s ? '' : 'anonymous');
  if (who && who.display_name && who.display_name !== who.name) name.title = who.name;
  else name.removeAttribute('title');
  signin.hidden = Boolean(s);
  signout.hidden = !s;
  admin.hidden = !(who && who.grants && who.grants.admin);
  // the editor's entry: who may stage a description (an admin, or a role with submit)
  document.getElementById('nav-edit').hidden =
    !(who && who.grants && (who.grants.admin || (who.grants.submit && !who.app)));
}

function markNav(nav) {
  for (const a of document.querySelectorAll('#nav [data-nav]')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function notAvailable(name) {
  clear(root).appendChild(h('section', {class: 'page'},
    h('h1', null, 'Not available yet'),
    h('p', null, `This part of the client (${name}) is not available yet.`),
    h('p', null, h('a', {href: '#/jdl'}, 'Back to the job descriptions'))));
}

// Tells tests (and anyone watching) that the page for this hash is rendered:
// main#app[data-ready={module}][data-hash={the hash rendered}].
function ready(module, hash) {
  root.dataset.hash = hash;
  root.dataset.ready = module;
}

async function route() {
  const gen = ++generation;
  const hash = location.hash;
  if (current && typeof current.dispose === 'function') {
    try {
      current.dispose();
    } catch (e) {
      console.error('dispose failed', e);
    }
  }
  current = null;
  const r = parseHash(location.hash);
  if (!r) {
    markNav(null);
    setTitle('Not found');
    clear(root).appendChild(h('section', {class: 'page'}, h('h1', null, 'No such page'),
      h('p', null, h('a', {href: '#/jdl'}, 'Go to the job descriptions'))));
    ready('notfound', hash);
    return;
  }
  // who is signed in and the page's module, asked for at the same time; only
  // the pages that show or check the account wait for /users/me, the others
  // render at once and the bar follows when the answer comes
  const whoP = me();
  const mod = await import(`./pages/${r.module}.js`).catch(() => null);
  const who = NEEDS_ME.has(r.module) ? await whoP : null;
  if (gen !== generation) return;
  if (NEEDS_ME.has(r.module)) updateNav(who);
  else whoP.then((w) => { if (gen === generation) updateNav(w); }, () => {});
  markNav(r.nav);
  if (r.module === 'signin') {
    r.params.message = signinMessage;
    signinMessage = '';
  }
  if (!mod) {
    notAvailable(r.module);
    ready('missing', hash);
    return;
  }
  current = mod;
  clear(root);
  root.dataset.page = r.module;
  const ctx = {navigate, me: who, toast, setTitle};
  try {
    await mod.render(root, r.params, ctx);
  } catch (e) {
    if (gen !== generation) return;
    console.error(e);
    clear(root).appendChild(h('section', {class: 'page'}, h('h1', null, 'Something went wrong'),
      h('p', {class: 'error'}, String(e && e.message ? e.message : e))));
  }
  if (gen !== generation) return;
  // After a navigation the keyboard goes on in the page, not in the bar
  // (unless the page put the focus somewhere itself).
  if (!root.contains(document.activeElement)) root.focus({preventScroll: true});
  ready(r.module, hash);
}

// A 401 anywhere: back to the sign-in page with the server's reason, and
// back to where the user was once signed in.
onUnauthorized((message) => {
  const here = location.hash;
  signinMessage = message || 'Please sign in.';
  if (parseHash(here)?.module === 'signin') return;
  sessionStorage.setItem('opusd.after-signin', here || '#/');
  navigate('#/signin');
});

document.getElementById('nav-signout').addEventListener('click', () => {
  session.clear();
  toast('Signed out.');
  navigate('#/signin');
});

window.addEventListener('hashchange', () => {
  delete root.dataset.ready;
  delete root.dataset.hash;
  route();
});
route();
