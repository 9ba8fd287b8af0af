// shell.test.mjs: the web client's shell — the description list (search,
// hostile description text shown as text), sign in and out with the keyboard,
// a wrong token, the navigation, narrow and wide screens.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';
import * as lib from './lib.mjs';

let d;
let b;

// echo.xml with hostile text in every field the description list shows
const HOSTILE = '<img src=x onerror=alert(1)>';
function hostileJdl() {
  const xml = fs.readFileSync(path.join(lib.REPO, 'tests/integration/jobdefs/echo.xml'), 'utf8');
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
  return xml.replace(/ID="echo" name="echo"/, 'ID="hostile" name="hostile"')
    .replace(/<DESCRIPTION>Copies[^<]*<\/DESCRIPTION>/, `<DESCRIPTION>${esc(HOSTILE)} &amp;amp; more</DESCRIPTION>`)
    .replace(/name="doculink" value=""/, 'name="doculink" value="javascript:alert(2)"')
    .replace(/name="contact_name" value="opus-admin"/,
      `name="contact_name" value="${esc('<script>alert(3)</script>')}"`);
}

before(async () => {
  d = await lib.startDaemon({users: {alice: false, root: true},
    jdlFiles: {'hostile.xml': hostileJdl()}});
  b = await lib.browser();
});

after(async () => {
  await b?.close();
  await d?.stop();
});

test('the description list loads at / without signing in, with a search', async () => {
  const p = await lib.page(b, d.base);
  await p.waitForSelector('#jdl-list li[data-name="echo"] .jdl-desc');
  const desc = await p.textContent('#jdl-list li[data-name="echo"] .jdl-desc');
  assert.equal(desc, 'Copies the text parameter byte for byte into output.txt');
  assert.equal(await p.textContent('#nav-name'), 'anonymous');
  assert.equal(await p.isVisible('#nav-signin'), true);
  assert.equal(await p.isVisible('#nav-admin'), false);
  assert.equal(await p.getAttribute('#nav a[data-nav="jdl"]', 'aria-current'), 'page');
  assert.equal(await p.getAttribute('#jdl-list li[data-name="echo"] h2 a', 'href'), '#/new/echo');
  await p.fill('#jdl-search', 'byte for byte');
  assert.deepEqual(await p.locator('#jdl-list li:not([hidden])').evaluateAll(
    (els) => els.map((e) => e.dataset.name)), ['echo']);
  assert.match(await p.textContent('#jdl-count'), /^1 of 10 descriptions$/);
  await p.fill('#jdl-search', 'SLEEPS seconds');
  assert.deepEqual(await p.locator('#jdl-list li:not([hidden])').evaluateAll(
    (els) => els.map((e) => e.dataset.name)), ['sleeper', 'stubborn']);
  await p.fill('#jdl-search', '');
  await lib.shot(p, 'shell-jdl');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('a description\'s hostile text shows as text', async () => {
  const p = await lib.page(b, d.base);
  const card = p.locator('#jdl-list li[data-name="hostile"]');
  await card.locator('.jdl-desc').waitFor();
  assert.equal(await card.locator('.jdl-desc').textContent(), `${HOSTILE} &amp; more`);
  assert.equal(await card.locator('img, script').count(), 0);
  const meta = await card.locator('.jdl-meta').textContent();
  assert.ok(meta.includes('<script>alert(3)</script>'), meta);
  assert.ok(meta.includes('javascript:alert(2)'), meta);
  assert.equal(await card.locator('.jdl-meta a').count(), 0); // a javascript: link is no link
  await p.fill('#jdl-search', 'hostile');
  await lib.shot(p, 'shell-jdl-hostile');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('sign in with the keyboard as an admin, see the admin entry, sign out', async () => {
  const p = await lib.page(b, d.base);
  await p.focus('#nav-signin');
  await p.keyboard.press('Enter');
  await lib.waitReady(p, 'signin');
  // the name field has the focus; Tab reaches the token, Enter submits
  assert.equal(await p.evaluate(() => document.activeElement.id), 'signin-name');
  await p.keyboard.type('root');
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'signin-token');
  await p.keyboard.type(d.tokens.root);
  await p.keyboard.press('Enter');
  await lib.waitReady(p, 'jdl');
  assert.equal(await p.textContent('#nav-name'), 'root');
  assert.equal(await p.isVisible('#nav-admin'), true);
  assert.equal(await p.isVisible('#nav-signin'), false);
  assert.equal(await p.isVisible('#nav-signout'), true);
  assert.match(await p.textContent('.toast'), /Signed in as root/);
  assert.equal(await p.evaluate(() => JSON.parse(sessionStorage.getItem('opusd.session')).name),
    'root');
  await lib.shot(p, 'shell-signed-in');
  await p.focus('#nav-signout');
  await p.keyboard.press('Enter');
  await lib.waitReady(p, 'signin');
  assert.equal(await p.isVisible('#nav-admin'), false);
  assert.equal(await p.textContent('#nav-name'), 'anonymous');
  assert.equal(await p.evaluate(() => sessionStorage.getItem('opusd.session')), null);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('a plain user has no admin entry; the session survives a reload', async () => {
  const p = await lib.page(b, d.base);
  await lib.signIn(p, 'alice', d.tokens.alice);
  assert.equal(await p.textContent('#nav-name'), 'alice');
  assert.equal(await p.isVisible('#nav-admin'), false);
  await p.reload();
  await lib.waitReady(p, 'jdl');
  assert.equal(await p.textContent('#nav-name'), 'alice');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('a wrong token is refused with the server\'s reason', async () => {
  const p = await lib.page(b, d.base, {allowHttp: [401]});
  await lib.goto(p, '#/signin');
  await p.fill('#signin-name', 'alice');
  await p.fill('#signin-token', 'not-the-token');
  await p.click('#signin-form button[type=submit]');
  await p.waitForSelector('#signin-message:not([hidden])');
  assert.equal(await p.textContent('#signin-message'), 'Not signed in: wrong credentials');
  assert.equal(await p.evaluate(() => sessionStorage.getItem('opusd.session')), null);
  assert.equal(await p.isVisible('#signin-anonymous'), true); // this server lets anonymous in
  await lib.shot(p, 'shell-signin-refused');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('a token without a name signs in as Bearer', async () => {
  const p = await lib.page(b, d.base);
  const seen = [];
  p.on('request', (req) => {
    if (new URL(req.url()).pathname === '/users/me') seen.push(req.headers().authorization || '');
  });
  await lib.signIn(p, '', d.tokens.alice);
  assert.equal(await p.textContent('#nav-name'), 'alice');
  assert.ok(seen.length && seen.every((a) => a === `Bearer ${d.tokens.alice}`), seen.join());
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('an unknown page says so; 400 px wide stays usable', async () => {
  const p = await lib.page(b, d.base, {width: 400, height: 800});
  await lib.goto(p, '#/no/such/page');
  assert.equal(await p.textContent('main h1'), 'No such page');
  await lib.goto(p, '#/jdl');
  await p.waitForSelector('#jdl-list li[data-name="echo"] .jdl-meta dt');
  // nothing wider than the screen
  const over = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(over <= 400, `page is ${over} px wide`);
  await lib.shot(p, 'shell-jdl-400px');
  await lib.goto(p, '#/signin');
  await lib.shot(p, 'shell-signin-400px');
  assert.ok(await p.evaluate(() => document.documentElement.scrollWidth) <= 400);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});
