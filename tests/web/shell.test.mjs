// shell.test.mjs: the web client's shell — served by opusd with its caching
// and security headers, the description list, sign in and out, the 401 path.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import * as lib from './lib.mjs';

let d;
let b;

before(async () => {
  d = await lib.startDaemon({users: {alice: false, root: true}});
  b = await lib.browser();
});

after(async () => {
  await b?.close();
  await d?.stop();
});

test('the description list loads at / without signing in', async () => {
  const p = await lib.page(b, d.base);
  await p.waitForSelector('#jdl-list li[data-name="echo"] .jdl-desc');
  const desc = await p.textContent('#jdl-list li[data-name="echo"] .jdl-desc');
  assert.equal(desc, 'Copies the text parameter byte for byte into output.txt');
  assert.match(await p.textContent('#nav-name'), /anonymous/);
  assert.equal(await p.isVisible('#nav-signin'), true);
  await p.fill('#jdl-search', 'byte for byte');
  assert.equal(await p.locator('#jdl-list li:not([hidden])').count(), 1);
  await p.fill('#jdl-search', '');
  await lib.shot(p, 'shell-jdl');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('sign in as an admin, see the admin entry, sign out', async () => {
  const p = await lib.page(b, d.base);
  await lib.signIn(p, 'root', d.tokens.root);
  await p.waitForSelector('#nav-name:text("root")');
  assert.equal(await p.isVisible('#nav-admin'), true);
  assert.equal(await p.isVisible('#nav-signout'), true);
  await lib.shot(p, 'shell-signed-in');
  await p.click('#nav-signout');
  await lib.waitReady(p, 'signin');
  assert.equal(await p.isVisible('#nav-admin'), false);
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});
