// jobkit: what the job pages (new, jobs, job) share: phases, authenticated raw
// fetches (downloads, DELETE without following its redirect to the whole list),
// phase actions, small formatters. Owned by the job pages (W2).
import { request, authHeader, errorText } from '../api.js';

export { errorText };

export const ACTIVE = new Set(['PENDING', 'QUEUED', 'EXECUTING', 'HELD', 'SUSPENDED']);
export const RUNNING = new Set(['QUEUED', 'EXECUTING', 'HELD', 'SUSPENDED']);
export const PHASES = ['PENDING', 'QUEUED', 'EXECUTING', 'COMPLETED', 'ERROR', 'ABORTED',
  'HELD', 'SUSPENDED', 'UNKNOWN', 'ARCHIVED'];

export const enc = encodeURIComponent;

export function jobPath(jobdef, id) {
  return `/rest/${enc(jobdef)}/${enc(id)}`;
}

// fetch with the session's credentials, for what request() cannot do (a
// DELETE whose 303 must not be followed); never throws (null on a network
// error or an abort).
export async function authFetch(url, opts = {}) {
  const headers = { 'X-Requested-With': 'opusd-web', ...(opts.headers || {}) };
  const auth = authHeader();
  if (auth) headers.Authorization = auth;
  try {
    return await fetch(url, { ...opts, credentials: 'omit', cache: 'no-store', headers });
  } catch (e) {
    return null;
  }
}

// A result or an uploaded input: fetched with the credentials (a plain link
// would not carry them), then saved through a blob URL.
const EXT = {
  'text/plain': 'txt', 'text/csv': 'csv', 'application/json': 'json', 'application/xml': 'xml',
  'text/xml': 'xml', 'image/svg+xml': 'svg', 'image/png': 'png', 'image/jpeg': 'jpg',
  'image/gif': 'gif', 'application/fits': 'fits', 'image/fits': 'fits',
  'application/x-votable+xml': 'vot', 'text/html': 'html', 'application/pdf': 'pdf',
};

// A result named after its entity ("table") gets the extension of its type.
export function fileName(name, mime) {
  const ext = EXT[String(mime || '').split(';')[0].trim().toLowerCase()];
  return ext && !/\.[A-Za-z0-9]{1,5}$/.test(name) ? `${name}.${ext}` : name;
}

export async function download(url, filename, toast) {
  const r = await request('GET', url, { accept: '*/*', as: 'blob' });
  if (!r.ok || !r.blob) {
    if (toast) toast(`download failed: ${errorText(r)}`, 'error');
    return;
  }
  const blob = r.blob;
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = fileName(filename || 'download', blob.type);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60000);
}

// RUN / ABORT / DELETE on one job. Returns {ok, status, message}.
export async function jobAction(jobdef, id, action) {
  if (action === 'DELETE') {
    // DELETE answers 303 to the whole job list: do not follow it.
    const r = await authFetch(jobPath(jobdef, id), {
      method: 'DELETE', redirect: 'manual', headers: { Accept: 'application/json' },
    });
    if (!r) return { ok: false, status: 0, message: 'network error' };
    if (r.type === 'opaqueredirect' || r.ok) return { ok: true, status: 303 };
    let message = `HTTP ${r.status}`;
    try { message = (await r.json()).message || message; } catch (e) { /* not JSON */ }
    return { ok: false, status: r.status, message };
  }
  const r = await request('POST', `${jobPath(jobdef, id)}/phase`, { form: { PHASE: action } });
  return { ok: r.ok, status: r.status, message: errorText(r), job: r.data };
}

export function fmtDuration(ms) {
  if (ms == null || !isFinite(ms) || ms < 0) return '';
  let s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const pad = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

export function shortId(id) {
  return id && id.length > 10 ? `${id.slice(0, 8)}…` : id;
}

// Runs fn over items with at most n at once; results in item order.
export async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
