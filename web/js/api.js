// api.js: the one way the client talks to opusd (its public REST API, JSON).
//
// request(method, path, {json, form, body, headers, accept, signal, as, quiet401})
//   -> Promise<{status, ok, headers, data, text, url, blob}>
// Never throws on an HTTP error; a network error (or an abort) gives status 0
// with the reason in text. data is the parsed JSON when the answer is JSON,
// else null. url is the URL of the final answer: the API answers a create or
// a phase change with 303 and fetch follows it, so after POST /rest/{jobdef}
// the job's id is the last segment of url.
//   json:   an object sent as application/json
//   form:   a FormData (multipart: uploads) or a plain object (urlencoded;
//           an array value sends the field once per element)
//   body:   sent as it is (with headers['Content-Type'] if you need one)
//   accept: the Accept header (default application/json)
//   as:     'blob' also reads the body as a Blob (images, downloads)
//   quiet401: a 401 is returned without sending the user to the sign-in page
// Every request carries the session's credentials: Basic base64(name:token),
// or Bearer token when no name was given.

const KEY = 'opusd.session';
let meCache; // undefined: not asked yet; null: anonymous; else the document
let on401 = null;

export const session = {
  get() {
    try {
      const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
      return s && typeof s.token === 'string' && s.token ? {name: s.name || '', token: s.token} : null;
    } catch {
      return null;
    }
  },
  set(name, token) {
    sessionStorage.setItem(KEY, JSON.stringify({name: name || '', token}));
    meCache = undefined;
  },
  clear() {
    sessionStorage.removeItem(KEY);
    meCache = undefined;
  },
};

// The app's handler for a 401 (it shows the sign-in page with the message).
export function onUnauthorized(fn) {
  on401 = fn;
}

// base64 of the UTF-8 bytes (btoa alone takes Latin-1 only).
function b64utf8(s) {
  let bin = '';
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function authHeader(s = session.get()) {
  if (!s) return null;
  return s.name ? `Basic ${b64utf8(`${s.name}:${s.token}`)}` : `Bearer ${s.token}`;
}

function urlencoded(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? v : [v]) p.append(k, String(one));
  }
  return p;
}

// The message of an error answer: the JSON error's "message", else the text.
export function errorText(r) {
  if (r.data && typeof r.data.message === 'string') return r.data.message.trim();
  if (r.data && typeof r.data.detail === 'string') return r.data.detail.trim(); // SCIM
  return (r.text || `HTTP ${r.status}`).trim();
}

export async function request(method, path, opts = {}) {
  const headers = new Headers(opts.headers || {});
  if (!headers.has('Accept')) headers.set('Accept', opts.accept || 'application/json');
  // tells opusd not to send a Basic challenge, which would make the browser
  // pop up its own password dialog over the page
  headers.set('X-Requested-With', 'opusd-web');
  const auth = authHeader();
  if (auth && !headers.has('Authorization')) headers.set('Authorization', auth);
  let body = opts.body;
  if (opts.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(opts.json);
  } else if (opts.form !== undefined) {
    body = opts.form instanceof FormData ? opts.form : urlencoded(opts.form);
  }
  let resp;
  try {
    resp = await fetch(path, {method, headers, body, signal: opts.signal, credentials: 'omit',
      cache: 'no-store'});
  } catch (e) {
    const aborted = e && e.name === 'AbortError';
    return {status: 0, ok: false, headers: new Headers(), data: null, url: '',
      text: aborted ? 'aborted' : `cannot reach opusd: ${e && e.message ? e.message : e}`, aborted};
  }
  const out = {status: resp.status, ok: resp.ok, headers: resp.headers, data: null, text: '',
    url: resp.url};
  try {
    if (opts.as === 'blob') {
      out.blob = await resp.blob();
      if (/^(text\/|application\/(json|xml))/.test(out.blob.type)) out.text = await out.blob.text();
    } else {
      out.text = await resp.text();
    }
  } catch (e) {
    return {...out, status: 0, ok: false, text: `reading the answer failed: ${e.message || e}`};
  }
  if ((resp.headers.get('Content-Type') || '').includes('json') && out.text) {
    try {
      out.data = JSON.parse(out.text);
    } catch {
      out.data = null;
    }
  }
  if (resp.status === 401 && !opts.quiet401 && on401) on401(errorText(out));
  return out;
}

// GET /users/me, once per session: the caller's account with its grants, or
// null when anonymous (or the credentials are refused).
export async function me({refresh = false} = {}) {
  if (meCache !== undefined && !refresh) return meCache;
  if (!session.get()) {
    meCache = null;
    return null;
  }
  const r = await request('GET', '/users/me', {quiet401: true});
  if (r.status === 0) return null; // opusd unreachable: ask again next time
  meCache = r.ok && r.data ? r.data : null;
  return meCache;
}

// Shorthands for JSON reads.
export const get = (path, opts) => request('GET', path, opts);
