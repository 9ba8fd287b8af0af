// The administration pages, #/admin[/{users|apps|audit|status}], for admins only
// (anyone else sees the server's 403 text): accounts (paged list, create with the
// token shown once, rotate, roles, quota, deactivate/activate, delete), application
// tokens, the audit log, and the server's status and configuration. All of it
// through the JSON admin API of docs/admin.md; every value shown goes in as text.
import { h, clear, fmtTime, fmtBytes } from '../dom.js';
import { errorText, request } from '../api.js';

const TABS = [
  ['users', 'Users'],
  ['apps', 'Applications'],
  ['audit', 'Audit log'],
  ['status', 'Status and configuration'],
];
const PAGE = 50;
const NAME_RE = '[A-Za-z0-9._@\\-]{1,64}';

let abort = null;

export function dispose() {
  if (abort) abort.abort();
  abort = null;
}

export async function render(root, params, ctx) {
  dispose();
  abort = new AbortController();
  const sub = params.sub || 'users';
  const title = TABS.find((t) => t[0] === sub)[1];
  ctx.setTitle(`Administration: ${title}`);
  clear(root);
  const body = h('div', { class: 'admin-body', id: `admin-${sub}` });
  root.append(h('section', { class: 'admin' },
    h('h1', {}, 'Administration'),
    h('nav', { class: 'admin-tabs', 'aria-label': 'administration' },
      TABS.map(([key, text]) => h('a', {
        href: `#/admin/${key}`, class: 'admin-tab',
        'aria-current': key === sub ? 'page' : null,
      }, text))),
    body));
  if (!ctx.me || !ctx.me.grants || !ctx.me.grants.admin) {
    // ask the server all the same: its 403 (or 401) text is the answer to show
    const r = await get('/admin/status');
    if (!r.ok) {
      root.querySelector('.admin-tabs').remove(); // tabs that lead nowhere
      body.append(refusal(r));
      return;
    }
  }
  const pages = { users, apps, audit, status };
  await pages[sub](body, ctx);
}

function get(path) {
  return request('GET', path, { signal: abort ? abort.signal : undefined });
}

function send(method, path, json) {
  return request(method, path, json === undefined ? {} : { json });
}

function refusal(r) {
  const why = r.status === 403 ? 'Administration is for admins only.' : '';
  return h('div', { class: 'admin-refused', role: 'alert' },
    h('p', { class: 'error' }, `${r.status || 'error'}: ${errorText(r)}`),
    why && h('p', {}, why));
}

// A message line under a form: role=alert for errors so screen readers say it.
function messageBox() {
  const box = h('p', { class: 'admin-message', 'aria-live': 'polite' });
  box.show = (text, kind = 'info') => {
    box.textContent = text;
    box.className = `admin-message admin-message-${kind}`;
    if (kind === 'error') box.setAttribute('role', 'alert');
    else box.removeAttribute('role');
  };
  return box;
}

// The token of a create or rotation, shown once, with a copy button.
function tokenBox(name, token, what) {
  const code = h('code', { class: 'token', id: 'new-token' }, token);
  const copy = h('button', {
    type: 'button', class: 'button',
    on: {
      click: async () => {
        try {
          await navigator.clipboard.writeText(token);
          copy.textContent = 'Copied';
        } catch {
          // no clipboard (insecure origin, denied): select the text for Ctrl+C
          const range = document.createRange();
          range.selectNodeContents(code);
          const sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          copy.textContent = 'Selected: press Ctrl+C';
        }
      },
    },
  }, 'Copy');
  return h('div', { class: 'token-box', role: 'status' },
    h('p', {}, `${what} for `, h('strong', {}, name),
      ': copy it now, it is shown only once (only its hash is kept).'),
    h('p', {}, code, ' ', copy));
}

function field(id, label, input, hint) {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint && h('span', { class: 'hint' }, hint));
}

function roleChecks(prefix, roles, chosen) {
  return h('fieldset', { class: 'roles' }, h('legend', {}, 'Roles'),
    roles.map((r) => {
      const id = `${prefix}-role-${r.name}`;
      return h('span', { class: 'check' },
        h('input', { type: 'checkbox', id, name: 'roles', value: r.name, checked: chosen.includes(r.name) }),
        h('label', { for: id, title: roleSummary(r) }, r.name));
    }));
}

function roleSummary(r) {
  const bits = [];
  if (r.admin) bits.push('administers');
  if (r.submit) bits.push('submits descriptions');
  bits.push(`runs ${r.run.length ? r.run.join(' ') : 'nothing'}`);
  return bits.join(', ');
}

function checkedRoles(container) {
  return [...container.querySelectorAll('input[name=roles]:checked')].map((c) => c.value);
}

// Each cell gets its column's head as data-label: below 600 px the rows stack
// as cards and the CSS shows the label before the value.
function table(caption, heads, rows) {
  for (const tr of rows) {
    [...tr.children].forEach((cell, i) => {
      if (heads[i]) cell.setAttribute('data-label', heads[i]);
    });
  }
  return h('div', { class: 'table-wrap' }, h('table', { class: 'admin-table stack' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, heads.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows)));
}

// A button that asks once more before it acts (no modal dialog).
function confirmButton(text, ask, act) {
  const b = h('button', { type: 'button', class: 'button danger' }, text);
  let armed = false;
  b.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      b.textContent = ask;
      b.classList.add('armed');
      return;
    }
    b.disabled = true;
    await act();
  });
  b.addEventListener('blur', () => {
    if (armed && !b.disabled) {
      armed = false;
      b.textContent = text;
      b.classList.remove('armed');
    }
  });
  return b;
}

// ------------------------------------------------------------------ users

async function users(body, ctx) {
  const rolesR = await get('/admin/roles');
  if (!rolesR.ok) {
    body.append(refusal(rolesR));
    return;
  }
  const roles = rolesR.data.roles;
  const msg = messageBox();
  const tokenSlot = h('div', { class: 'token-slot' });
  const listSlot = h('div', { class: 'list-slot' });
  const starts = ['']; // the first name of each page seen, for "previous"
  let pageNo = 0;

  const name = h('input', { type: 'text', name: 'name', required: true, pattern: NAME_RE,
    maxlength: '64', autocomplete: 'off' });
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'off' });
  const display = h('input', { type: 'text', name: 'display_name', maxlength: '256', autocomplete: 'off' });
  const create = h('form', { class: 'admin-form', id: 'user-create', 'aria-labelledby': 'user-create-h' },
    h('h2', { id: 'user-create-h' }, 'New user'),
    field('user-name', 'Name', name, 'letters, digits and . _ @ -'),
    roleChecks('user-new', roles, ['user']),
    field('user-email', 'Email (optional)', email),
    field('user-display', 'Display name (optional)', display),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Create user')));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(tokenSlot);
    const doc = { name: name.value.trim(), roles: checkedRoles(create) };
    if (email.value.trim()) doc.email = email.value.trim();
    if (display.value.trim()) doc.display_name = display.value.trim();
    const r = await send('POST', '/users', doc);
    if (!r.ok) {
      msg.show(`Not created: ${errorText(r)}`, 'error');
      return;
    }
    msg.show(`User ${r.data.name} created.`);
    tokenSlot.append(tokenBox(r.data.name, r.data.token, 'The token'));
    create.reset();
    create.querySelector('#user-new-role-user') && (create.querySelector('#user-new-role-user').checked = true);
    await load();
  });

  body.append(create, msg, tokenSlot, listSlot);
  await load();

  async function load() {
    const r = await get(`/users?count=${PAGE}&start=${encodeURIComponent(starts[pageNo])}`);
    clear(listSlot);
    if (!r.ok) {
      listSlot.append(refusal(r));
      return;
    }
    const { users: list, total, next } = r.data;
    const rows = list.map((u) => userRow(u));
    listSlot.append(
      table(`Users ${pageNo * PAGE + 1}–${pageNo * PAGE + list.length} of ${total}`,
        ['Name', 'Display name', 'Email', 'Roles', 'State', 'Created', 'Actions'], rows),
      h('div', { class: 'pager' },
        h('button', { type: 'button', class: 'button', disabled: pageNo === 0,
          on: { click: async () => { pageNo--; await load(); } } }, 'Previous page'),
        h('button', { type: 'button', class: 'button', disabled: !next,
          on: { click: async () => { starts[pageNo + 1] = next; pageNo++; await load(); } } }, 'Next page')));
  }

  function userRow(u) {
    const self = ctx.me && ctx.me.name === u.name;
    const tr = h('tr', { 'data-user': u.name, class: u.active ? '' : 'inactive' },
      h('th', { scope: 'row' }, u.name),
      h('td', {}, u.display_name || ''),
      h('td', {}, u.email || ''),
      h('td', {}, u.roles.join(', ')),
      h('td', {}, u.active ? 'active' : 'deactivated'),
      h('td', {}, h('time', { datetime: u.created }, fmtTime(u.created))),
      h('td', { class: 'row-actions' },
        h('button', { type: 'button', class: 'button', on: { click: () => edit(u, tr) } }, 'Edit'),
        confirmButton('Rotate token', 'Really rotate?', async () => {
          const r = await send('POST', `/users/${encodeURIComponent(u.name)}/token`);
          clear(tokenSlot);
          if (!r.ok) {
            msg.show(`Not rotated: ${errorText(r)}`, 'error');
          } else {
            msg.show(`The token of ${u.name} was rotated: the old one no longer works.`);
            tokenSlot.append(tokenBox(u.name, r.data.token, 'The new token'));
          }
          await load();
        }),
        h('button', {
          type: 'button', class: 'button', disabled: self && u.active,
          title: self && u.active ? 'you cannot deactivate yourself here' : null,
          on: {
            click: async () => {
              const r = await send('PATCH', `/users/${encodeURIComponent(u.name)}`, { active: !u.active });
              clear(tokenSlot);
              msg.show(r.ok ? `${u.name} ${u.active ? 'deactivated' : 'activated'}.` : `Not changed: ${errorText(r)}`,
                r.ok ? 'info' : 'error');
              await load();
            },
          },
        }, u.active ? 'Deactivate' : 'Activate'),
        self ? null : confirmButton('Delete', 'Really delete?', async () => {
          const r = await send('DELETE', `/users/${encodeURIComponent(u.name)}`);
          clear(tokenSlot);
          msg.show(r.ok ? `User ${u.name} deleted (its jobs stay).` : `Not deleted: ${errorText(r)}`,
            r.ok ? 'info' : 'error');
          await load();
        })));
    return tr;
  }

  function edit(u, tr) {
    if (tr.nextElementSibling && tr.nextElementSibling.classList.contains('edit-row')) {
      tr.nextElementSibling.remove();
      return;
    }
    const p = `edit-${u.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const email = h('input', { type: 'email', value: u.email || '' });
    const display = h('input', { type: 'text', value: u.display_name || '', maxlength: '256' });
    const quota = {};
    const q = u.quota || {};
    for (const k of ['max_running', 'max_jobs', 'max_bytes']) {
      quota[k] = h('input', { type: 'number', min: '0', step: '1', value: q[k] === null || q[k] === undefined ? '' : q[k] });
    }
    const formMsg = messageBox();
    const form = h('form', { class: 'admin-form edit-form', 'aria-label': `edit ${u.name}` },
      roleChecks(p, roles, u.roles),
      field(`${p}-email`, 'Email', email),
      field(`${p}-display`, 'Display name', display),
      h('fieldset', { class: 'quota' }, h('legend', {}, 'Own quota (empty: the roles\' apply; 0: none)'),
        field(`${p}-max_running`, 'Jobs running at once', quota.max_running),
        field(`${p}-max_jobs`, 'Jobs stored', quota.max_jobs),
        field(`${p}-max_bytes`, 'Bytes of results', quota.max_bytes)),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'button primary' }, 'Save'),
        h('button', { type: 'button', class: 'button', on: { click: () => row.remove() } }, 'Cancel')),
      formMsg);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      // only what changed: each kind of change is one audit row
      const doc = {};
      const picked = checkedRoles(form);
      if (picked.slice().sort().join(',') !== u.roles.slice().sort().join(',')) doc.roles = picked;
      if ((email.value.trim() || null) !== (u.email || null)) doc.email = email.value.trim() || null;
      if ((display.value.trim() || null) !== (u.display_name || null)) doc.display_name = display.value.trim() || null;
      const qd = {};
      for (const [k, i] of Object.entries(quota)) {
        const v = i.value === '' ? null : Number(i.value);
        if (v !== (q[k] === undefined ? null : q[k])) qd[k] = v;
      }
      if (Object.keys(qd).length) doc.quota = qd;
      if (!Object.keys(doc).length) {
        formMsg.show('Nothing changed.');
        return;
      }
      const r = await send('PATCH', `/users/${encodeURIComponent(u.name)}`, doc);
      if (!r.ok) {
        formMsg.show(`Not saved: ${errorText(r)}`, 'error');
        return;
      }
      clear(tokenSlot);
      msg.show(`${u.name} saved.`);
      await load();
    });
    const row = h('tr', { class: 'edit-row' }, h('td', { colspan: '7' }, form));
    tr.after(row);
    form.querySelector('input').focus();
  }
}

// ------------------------------------------------------------ applications

async function apps(body) {
  const msg = messageBox();
  const tokenSlot = h('div', { class: 'token-slot' });
  const listSlot = h('div', { class: 'list-slot' });
  const name = h('input', { type: 'text', name: 'name', required: true, pattern: NAME_RE, maxlength: '64',
    autocomplete: 'off' });
  const run = h('input', { type: 'text', name: 'run', required: true, autocomplete: 'off' });
  const create = h('form', { class: 'admin-form', id: 'app-create', 'aria-labelledby': 'app-create-h' },
    h('h2', { id: 'app-create-h' }, 'New application'),
    h('p', { class: 'hint' }, 'An application (a trusted front-end) sends its token as Bearer and names the ' +
      'user it acts for in X-Opus-On-Behalf-Of; it may run only the descriptions its globs match.'),
    field('app-name', 'Name', name, 'letters, digits and . _ @ -'),
    field('app-run', 'Descriptions it may run', run, 'globs separated by spaces, e.g. echo spectra* (or *)'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Create application')));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(tokenSlot);
    const r = await send('POST', '/admin/apps', { name: name.value.trim(), run: run.value.trim().split(/\s+/).filter(Boolean) });
    if (!r.ok) {
      msg.show(`Not created: ${errorText(r)}`, 'error');
      return;
    }
    msg.show(`Application ${r.data.name} created.`);
    tokenSlot.append(tokenBox(r.data.name, r.data.token, 'The application token'));
    create.reset();
    await load();
  });
  body.append(create, msg, tokenSlot, listSlot);
  await load();

  async function load() {
    const r = await get('/admin/apps');
    clear(listSlot);
    if (!r.ok) {
      listSlot.append(refusal(r));
      return;
    }
    const rows = r.data.apps.map((a) => {
      const p = `app-${a.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      const globs = h('input', { type: 'text', id: `${p}-run`, value: a.run.join(' '), class: 'globs' });
      const save = h('button', {
        type: 'button', class: 'button',
        on: {
          click: async () => {
            const x = await send('PATCH', `/admin/apps/${encodeURIComponent(a.name)}`,
              { run: globs.value.trim().split(/\s+/).filter(Boolean) });
            msg.show(x.ok ? `${a.name} may now run ${globs.value.trim() || 'nothing'}.` : `Not saved: ${errorText(x)}`,
              x.ok ? 'info' : 'error');
            await load();
          },
        },
      }, 'Save globs');
      return h('tr', { 'data-app': a.name, class: a.active ? '' : 'inactive' },
        h('th', { scope: 'row' }, a.name),
        h('td', {}, h('label', { for: `${p}-run`, class: 'visually-hidden' }, `globs of ${a.name}`), globs, ' ', save),
        h('td', {}, a.active ? 'active' : 'deactivated'),
        h('td', {}, h('time', { datetime: a.created }, fmtTime(a.created))),
        h('td', { class: 'row-actions' },
          confirmButton('Rotate token', 'Really rotate?', async () => {
            const x = await send('POST', `/admin/apps/${encodeURIComponent(a.name)}/token`);
            clear(tokenSlot);
            if (x.ok) tokenSlot.append(tokenBox(a.name, x.data.token, 'The new application token'));
            msg.show(x.ok ? `The token of ${a.name} was rotated.` : `Not rotated: ${errorText(x)}`, x.ok ? 'info' : 'error');
            await load();
          }),
          h('button', {
            type: 'button', class: 'button',
            on: {
              click: async () => {
                const x = await send('PATCH', `/admin/apps/${encodeURIComponent(a.name)}`, { active: !a.active });
                msg.show(x.ok ? `${a.name} ${a.active ? 'deactivated' : 'activated'}.` : `Not changed: ${errorText(x)}`,
                  x.ok ? 'info' : 'error');
                await load();
              },
            },
          }, a.active ? 'Deactivate' : 'Activate'),
          confirmButton('Delete', 'Really delete?', async () => {
            const x = await send('DELETE', `/admin/apps/${encodeURIComponent(a.name)}`);
            msg.show(x.ok ? `Application ${a.name} deleted.` : `Not deleted: ${errorText(x)}`, x.ok ? 'info' : 'error');
            await load();
          })));
    });
    listSlot.append(rows.length
      ? table(`${rows.length} application${rows.length === 1 ? '' : 's'}`,
        ['Name', 'May run', 'State', 'Created', 'Actions'], rows)
      : h('p', {}, 'No application tokens yet.'));
  }
}

// --------------------------------------------------------------- audit log

async function audit(body) {
  const listSlot = h('div', { class: 'list-slot' });
  const afters = [0]; // the "after" of each page seen
  let pageNo = 0;
  body.append(h('p', { class: 'hint' }, 'Every change to accounts, roles, applications, descriptions and ' +
    'aborts by an admin, oldest first. Tokens are never logged.'), listSlot);
  await load();

  async function load() {
    const r = await get(`/admin/audit?after=${afters[pageNo]}&count=${PAGE}`);
    clear(listSlot);
    if (!r.ok) {
      listSlot.append(refusal(r));
      return;
    }
    const { entries, next } = r.data;
    const rows = entries.map((e) => h('tr', { 'data-audit': e.id },
      h('td', {}, e.id),
      h('td', {}, h('time', { datetime: e.time }, fmtTime(e.time))),
      h('td', {}, e.actor || ''),
      h('td', {}, e.app || ''),
      h('td', {}, e.address || ''),
      h('td', {}, h('code', {}, e.action)),
      h('td', {}, e.target || ''),
      h('td', { class: 'detail' }, e.detail ? JSON.stringify(e.detail) : '')));
    listSlot.append(
      rows.length ? table(`Audit entries ${entries[0].id}–${entries[entries.length - 1].id}`,
        ['#', 'Time', 'Who', 'Application', 'Address', 'Action', 'Target', 'Detail'], rows)
        : h('p', {}, 'No entries.'),
      h('div', { class: 'pager' },
        h('button', { type: 'button', class: 'button', disabled: pageNo === 0,
          on: { click: async () => { pageNo--; await load(); } } }, 'Previous page'),
        h('button', { type: 'button', class: 'button', disabled: !next,
          on: { click: async () => { afters[pageNo + 1] = next; pageNo++; await load(); } } }, 'Next page')));
  }
}

// ------------------------------------------------------- status and config

function kvTable(caption, obj) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'admin-table kv' },
    h('caption', {}, caption),
    h('tbody', {}, Object.entries(obj).map(([k, v]) => h('tr', {},
      h('th', { scope: 'row' }, k), h('td', {}, v === null || v === undefined ? '' : String(v)))))));
}

function uptime(s) {
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return `${d ? `${d} d ` : ''}${hh} h ${mm} min ${s % 60} s`;
}

async function status(body) {
  const [st, conf, jobs] = await Promise.all([get('/admin/status'), get('/admin/config'), get('/admin/jobs')]);
  if (!st.ok) {
    body.append(refusal(st));
    return;
  }
  const s = st.data;
  const dd = s.data_dir || {};
  body.append(h('div', { class: 'status-grid' },
    kvTable('Server', {
      version: s.version, uptime: uptime(s.uptime_s), executor: s.executor, store: s.store,
      'jobs queued': s.queued, 'jobs running': s.running, 'clients waiting (WAIT)': s.waiters,
      'job ends not recorded yet': s.ends_unrecorded, 'jobs stored': s.jobs_stored, users: s.users,
    }),
    kvTable('Data directory', {
      path: dd.path, size: fmtBytes(dd.size_bytes), free: fmtBytes(dd.free_bytes),
      'results stored': fmtBytes(dd.results_bytes),
    })));
  if (s.ends_unrecorded > 0) {
    body.append(h('p', { class: 'error', role: 'alert' },
      `The store is failing: ${s.ends_unrecorded} job end(s) not recorded yet.`));
  }
  if (jobs.ok) {
    const list = jobs.data.jobs;
    body.append(list.length
      ? table(`Jobs executing and queued, every user${jobs.data.truncated ? ' (cut)' : ''}`,
        ['Job', 'Owner', 'Phase', 'Run id', 'Started'], list.map((j) => h('tr', {},
          h('td', {}, h('a', { href: `#/job/${encodeURIComponent(j.jobdef)}/${j.id}` }, `${j.jobdef} ${j.id.slice(0, 8)}`)),
          h('td', {}, j.owner), h('td', {}, j.phase), h('td', {}, j.run_id || ''),
          h('td', {}, fmtTime(j.start_time)))))
      : h('p', {}, 'No job is executing or queued.'));
  }
  if (conf.ok) {
    body.append(h('h2', {}, 'Configuration'),
      h('p', { class: 'hint' }, 'The effective configuration: the file, then the flags, then the defaults; secrets are hidden.'),
      h('div', { class: 'config-grid' },
        Object.entries(conf.data).map(([sec, kv]) => kvTable(`[${sec}]`, kv))));
  }
}
