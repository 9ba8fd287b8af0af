// shell-private.test.mjs: a server without anonymous access — the client
// itself still loads, the first refused request leads to the sign-in page
// with the server's reason, and signing in leads back.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';
import * as lib from './lib.mjs';

let d;
let b;

before(async () => {
  d = await lib.startDaemon({users: {alice: false}, conf: {server: {allow_anonymous: 'false'}}});
  b = await lib.browser();
});

after(async () => {
  await b?.close();
  await d?.stop();
});

test('a 401 leads to the sign-in page with the reason, then back', async () => {
  const p = await lib.page(b, d.base, {path: null, allowHttp: [401]});
  await p.goto('/#/jdl?q=echo');
  await lib.waitReady(p, 'signin');
  assert.equal(await p.textContent('#signin-message'), 'credentials required');
  assert.equal(await p.isVisible('#signin-anonymous'), false);
  await lib.shot(p, 'shell-private-signin');
  await p.fill('#signin-name', 'alice');
  await p.fill('#signin-token', d.tokens.alice);
  await p.press('#signin-token', 'Enter');
  await p.waitForFunction(() => location.hash === '#/jdl?q=echo');
  await lib.waitReady(p, 'jdl');
  assert.equal(await p.inputValue('#jdl-search'), 'echo');
  assert.deepEqual(await p.locator('#jdl-list li:not([hidden])').evaluateAll(
    (els) => els.map((e) => e.dataset.name)), ['echo']);
  assert.equal(await p.textContent('#nav-name'), 'alice');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});

test('a token that stopped working leads to the sign-in page', async () => {
  const p = await lib.page(b, d.base, {path: null, allowHttp: [401]});
  await p.goto('/');
  await lib.waitReady(p, 'signin');
  await p.evaluate(() => sessionStorage.setItem('opusd.session',
    JSON.stringify({name: 'alice', token: 'rotated-long-ago'})));
  await lib.goto(p, '#/jdl');
  await lib.waitReady(p, 'signin');
  assert.equal(await p.textContent('#signin-message'), 'wrong credentials');
  assert.equal(await p.inputValue('#signin-name'), 'alice');
  lib.expectNoConsoleErrors(p);
  await p.context().close();
});
