// admin.test.mjs: the administration pages — create a user (its token shown once)
// and sign in with that token in a fresh context; rotate, roles, deactivate,
// delete; application tokens; the audit log; status and configuration; a
// non-admin sees the server's 403 text.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import * as lib from './lib.mjs';

let d;
let b;

before(async () => {
  d = await lib.startDaemon({users: {root: true, alice: false}});
  b = await lib.browser();
});

after(async () => {
  await b?.close();
  await d?.stop();
});

async function admin(opts = {}) {
  const p = await lib.page(b, d.base, opts);
  await lib.signIn(p, 'root', d.tokens.root);
  return p;
}

const row = (p, name) => p.locator(`tr[data-user="${name}"]`);

test('create a user in the admin page and sign in with its token in a fresh context', async () => {
  const p = await admin();
  await p.click('#nav-admin a');
  await lib.waitReady(p, 'admin');
  await p.waitForSelector('#user-create');
  await p.fill('#user-name', 'carol');
  await p.fill('#user-email', 'carol@example.org');
  await p.fill('#user-display', '<i>Carol</i> & co');
  await p.click('#user-create button[type=submit]');
  const token = (await p.locator('#new-token').textContent()).trim();
  assert.match(token, /^[0-9a-f]{64}$/);
  await row(p, 'carol').waitFor();
  assert.equal(await row(p, 'carol').locator('td').nth(0).textContent(), '<i>Carol</i> & co');
  assert.equal(await row(p, 'carol').locator('i').count(), 0);
  await lib.shot(p, 'admin-user-created');
  lib.expectNoConsoleErrors(p);

  // (the admin page's refusal is a 403: its console line is expected)
  const q = await lib.page(b, d.base, {allowHttp: [403]});
  await lib.signIn(q, 'carol', token);
  await q.waitForSelector('#nav-name:text("<i>Carol</i> & co")');
  assert.equal(await q.isVisible('#nav-admin'), false);
  // a non-admin who opens the admin page gets the server's refusal
  await lib.goto(q, '#/admin');
  await q.waitForSelector('.admin-refused');
  assert.match(await q.textContent('.admin-refused'), /403/);
  assert.equal(await q.locator('.admin-tabs').count(), 0);
  await lib.shot(q, 'admin-refused');
  lib.expectNoConsoleErrors(q);
  await q.context().close();
  await p.context().close();
});

test('rotate, change roles, deactivate and delete a user', async () => {
  const made = await lib.api(d, 'POST', '/users', {user: 'root', json: {name: 'dave'}});
  assert.equal(made.status, 201, made.text);
  const old = made.data.token;
  const p = await admin();
  await lib.goto(p, '#/admin/users');
  await row(p, 'dave').waitFor();
  // rotation asks once more, then shows the new token once
  const rotate = row(p, 'dave').locator('button:text("Rotate token")');
  await rotate.click();
  await row(p, 'dave').locator('button:text("Really rotate?")').click();
  await p.waitForSelector('.token-box strong:text("dave")');
  const fresh = (await p.locator('#new-token').textContent()).trim();
  assert.notEqual(fresh, old);
  const withOld = await fetch(`${d.base}/users/me`, {headers:
    {Authorization: `Basic ${Buffer.from(`dave:${old}`).toString('base64')}`}});
  assert.equal(withOld.status, 401);
  const withNew = await fetch(`${d.base}/users/me`, {headers:
    {Authorization: `Basic ${Buffer.from(`dave:${fresh}`).toString('base64')}`}});
  assert.equal(withNew.status, 200);
  // roles: make dave an admin too, with a quota of his own
  await row(p, 'dave').locator('button:text("Edit")').click();
  await p.check('#edit-dave-role-admin');
  await p.fill('#edit-dave-max_jobs', '7');
  await p.click('tr.edit-row button[type=submit]');
  await p.waitForSelector('tr[data-user="dave"] td:text("admin, user")');
  const u = (await lib.api(d, 'GET', '/users/dave', {user: 'root'})).data;
  assert.deepEqual(u.roles.sort(), ['admin', 'user']);
  assert.equal(u.quota.max_jobs, 7);
  // only what changed was sent: one user.roles row, one user.update naming the quota only
  const log = (await lib.api(d, 'GET', '/admin/audit?count=1000', {user: 'root'})).data.entries
    .filter((e) => e.target === 'dave');
  assert.deepEqual(log.map((e) => e.action).sort(), ['user.create', 'user.roles', 'user.rotate', 'user.update']);
  assert.deepEqual(Object.keys(log.find((e) => e.action === 'user.update').detail), ['quota']);
  // deactivate, then activate
  await row(p, 'dave').locator('button:text("Deactivate")').click();
  await p.waitForSelector('tr[data-user="dave"].inactive');
  assert.equal((await lib.api(d, 'GET', '/users/dave', {user: 'root'})).data.active, false);
  await row(p, 'dave').locator('button:text("Activate")').click();
  await p.waitForSelector('tr[data-user="dave"]:not(.inactive)');
  // a refused change shows the server's reason
  await row(p, 'dave').locator('button:text("Edit")').click();
  await p.fill('#edit-dave-email', 'no-at-sign');
  await p.evaluate(() => { document.querySelector('#edit-dave-email').type = 'text'; });
  p.allowHttp.add(400);
  await p.click('tr.edit-row button[type=submit]');
  await p.waitForSelector('.admin-message-error');
  assert.match(await p.textContent('.admin-message-error'), /email/);
  await lib.shot(p, 'admin-users');
  // delete asks once more
  await row(p, 'dave').locator('button:text("Delete")').click();
  await row(p, 'dave').locator('button:text("Really delete?")').click();
  await row(p, 'dave').waitFor({state: 'detached'});
  assert.equal((await lib.api(d, 'GET', '/users/dave', {user: 'root'})).status, 404);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('users are listed in pages', async () => {
  for (let i = 0; i < 55; i++) {
    const r = await lib.api(d, 'POST', '/users', {user: 'root', json: {name: `bulk${String(i).padStart(2, '0')}`, token: `bulk-token-${i}-0123456789`}});
    assert.equal(r.status, 201, r.text);
  }
  const p = await admin({width: 400, height: 900});
  await lib.goto(p, '#/admin/users');
  await row(p, 'alice').waitFor();
  assert.equal(await p.locator('tr[data-user]').count(), 50);
  await p.click('button:text("Next page")');
  await row(p, 'root').waitFor();
  assert.ok(await p.locator('tr[data-user]').count() < 50);
  assert.match(await p.textContent('.admin-table caption'), /^Users 51–\d+ of \d+$/);
  await p.click('button:text("Previous page")');
  await row(p, 'alice').waitFor();
  await lib.shot(p, 'admin-users-narrow');
  await p.screenshot({path: `${lib.ARTEFACTS}/admin-users-narrow-top.png`});
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('application tokens: create (token once), change globs, deactivate, delete', async () => {
  const p = await admin();
  await lib.goto(p, '#/admin/apps');
  await p.fill('#app-name', 'portal');
  await p.fill('#app-run', 'echo chain*');
  await p.click('#app-create button[type=submit]');
  const token = (await p.locator('#new-token').textContent()).trim();
  assert.match(token, /^[0-9a-f]{64}$/);
  const app = p.locator('tr[data-app="portal"]');
  await app.waitFor();
  // the token acts for alice on echo
  const job = await fetch(`${d.base}/rest/echo`, {method: 'POST', redirect: 'manual',
    headers: {Authorization: `Bearer ${token}`, 'X-Opus-On-Behalf-Of': 'alice'}, body: new URLSearchParams({text: 'x'})});
  assert.equal(job.status, 303);
  await p.fill('#app-portal-run', 'echo');
  await app.locator('button:text("Save globs")').click();
  await p.waitForSelector('.admin-message-info:text("portal may now run echo.")');
  assert.deepEqual((await lib.api(d, 'GET', '/admin/apps/portal', {user: 'root'})).data.run, ['echo']);
  await app.locator('button:text("Deactivate")').click();
  await p.waitForSelector('tr[data-app="portal"].inactive');
  await lib.shot(p, 'admin-apps');
  await p.locator('tr[data-app="portal"] button:text("Delete")').click();
  await p.locator('tr[data-app="portal"] button:text("Really delete?")').click();
  await p.waitForSelector('text=No application tokens yet.');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('the audit log and the server status and configuration', async () => {
  const p = await admin();
  await lib.goto(p, '#/admin/audit');
  await p.waitForSelector('#admin-audit tr[data-audit]');
  const actions = await p.locator('#admin-audit tr[data-audit] code').allTextContents();
  assert.ok(actions.includes('user.create'), actions.join(' '));
  const tokens = Object.values(d.tokens);
  const text = await p.textContent('#admin-audit');
  for (const t of tokens) assert.ok(!text.includes(t));
  await lib.shot(p, 'admin-audit');
  await p.click('a.admin-tab:text("Status and configuration")');
  await lib.waitReady(p, 'admin');
  await p.waitForSelector('#admin-status caption:text("Server")');
  const status = (await lib.api(d, 'GET', '/admin/status', {user: 'root'})).data;
  assert.ok((await p.textContent('#admin-status')).includes(status.version));
  await p.waitForSelector('#admin-status caption:text("[server]")');
  assert.ok((await p.textContent('#admin-status')).includes(d.dataDir));
  await lib.shot(p, 'admin-status');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});
