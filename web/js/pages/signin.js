// signin.js: #/signin — name and token, kept for this browser session
// (sessionStorage), sent as HTTP Basic (or Bearer without a name).

import {errorText, me, request, session} from '../api.js';
import {h} from '../dom.js';

export async function render(root, params, ctx) {
  ctx.setTitle('Sign in');
  const current = session.get();
  const msg = h('p', {id: 'signin-message', class: 'error', role: 'alert',
    hidden: !params.message}, params.message || '');
  const name = h('input', {id: 'signin-name', name: 'name', type: 'text', autocomplete: 'username',
    autocapitalize: 'none', spellcheck: 'false', value: current ? current.name : ''});
  const token = h('input', {id: 'signin-token', name: 'token', type: 'password', required: true,
    autocomplete: 'current-password', spellcheck: 'false'});
  const submit = h('button', {type: 'submit', class: 'primary'}, 'Sign in');
  const anon = h('p', {class: 'muted', id: 'signin-anonymous', hidden: true},
    'This server also lets you in without signing in: ',
    h('a', {href: '#/jdl', on: {click: () => session.clear()}}, 'continue anonymously'), '.');

  const form = h('form', {class: 'card narrow', id: 'signin-form', novalidate: true,
    on: {submit: async (ev) => {
      ev.preventDefault();
      const t = token.value.trim();
      if (!t) {
        showMessage('Enter your token.');
        token.focus();
        return;
      }
      submit.disabled = true;
      showMessage('');
      const n = name.value.trim();
      const auth = n ? `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${n}:${t}`)))}`
        : `Bearer ${t}`;
      const r = await request('GET', '/users/me', {quiet401: true, headers: {Authorization: auth}});
      submit.disabled = false;
      if (!r.ok) {
        showMessage(r.status === 401 || r.status === 403 ? `Not signed in: ${errorText(r)}`
          : `Cannot sign in: ${errorText(r)}`);
        token.select();
        return;
      }
      session.set(n, t);
      await me({refresh: true});
      const back = sessionStorage.getItem('opusd.after-signin');
      sessionStorage.removeItem('opusd.after-signin');
      ctx.toast(`Signed in as ${(r.data && r.data.name) || n || 'application'}.`);
      ctx.navigate(back && !back.startsWith('#/signin') ? back : '#/jdl');
    }}},
  h('h1', null, 'Sign in'),
  msg,
  h('div', {class: 'field'},
    h('label', {for: 'signin-name'}, 'Name'),
    name,
    h('p', {class: 'hint', id: 'signin-name-hint'},
      'Your user name; without one the token alone is sent (as Bearer).')),
  h('div', {class: 'field'},
    h('label', {for: 'signin-token'}, 'Token'),
    token,
    h('p', {class: 'hint'}, 'The token an administrator gave you (opusd user add prints it).')),
  h('div', {class: 'actions'}, submit,
    current ? h('button', {type: 'button', class: 'secondary', id: 'signin-out',
      on: {click: () => {
        session.clear();
        ctx.toast('Signed out.');
        ctx.navigate('#/signin');
      }}}, 'Sign out') : null),
  anon,
  h('p', {class: 'muted small'}, 'The token stays in this browser tab only, until you sign out ',
    'or close it.'));

  function showMessage(text) {
    msg.textContent = text;
    msg.hidden = !text;
  }
  name.setAttribute('aria-describedby', 'signin-name-hint');
  root.appendChild(h('section', {class: 'page signin'}, form));
  (current ? token : name).focus();

  // Is anonymous use allowed? An anonymous GET /jdl tells (401 when not).
  if (!current) {
    const r = await request('GET', '/jdl', {quiet401: true});
    anon.hidden = !r.ok;
  }
}
