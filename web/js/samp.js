// samp.js: a small client of the SAMP 1.3 Web Profile, so that the job page
// can hand a result to a VO desktop tool (TOPCAT, Aladin, DS9...) through the
// hub that runs beside them on the user's machine.
//
// The hub listens on http://localhost:21012/ (fixed by the standard) and
// speaks XML-RPC over HTTP POST with CORS. Every method is
// samp.webhub.{name}; after register() each call carries the private key the
// hub gave. Requests are built as DOM documents and serialised with
// XMLSerializer, answers read with DOMParser: no markup strings, no eval.
// SAMP values are strings, lists and maps only.
//
//   const c = new SampClient({name: 'opusd', metadata: {...}});
//   await c.connect();                       // register + declareMetadata
//   await c.subscribed('table.load.votable') // -> [{id, name}] (sorted)
//   await c.notify(id, mtype, params)        // one client
//   await c.notifyAll(mtype, params)         // -> ids of the recipients
//   await c.disconnect();                    // unregister
// Errors are SampError with kind:
//   'no-hub'   nothing answers at the hub's address
//   'refused'  the hub (or its user) refused the registration
//   'fault'    the hub answered a call with an XML-RPC fault
//   'protocol' an answer that is not XML-RPC (or an HTTP error status)
// and a message meant for the user.

export const HUB_URL = 'http://localhost:21012/';
const CALL_TIMEOUT_MS = 15000; // a call; register waits for the user's answer
// What jsamp and other hubs answer when a private key is not (or no longer)
// registered: the hub restarted since this page registered.
const LOST_KEY_RE = /unknown (client|private) key|private.?key.*(unknown|not (known|registered))/i;

export class SampError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'SampError';
    this.kind = kind;
  }
}

export const NO_HUB_MESSAGE = 'No SAMP hub: start TOPCAT or Aladin (they run one), then try again.';

// SAMP strings hold ASCII 0x09, 0x0a, 0x0d and 0x20-0x7f only (SAMP 1.3,
// 3.3); anything else would be refused or garbled by a hub.
export function sampString(s) {
  return String(s).replace(/[^\t\n\r\x20-\x7e]/g, '?');
}

// --- XML-RPC

function valueEl(doc, v) {
  const value = doc.createElement('value');
  if (Array.isArray(v)) {
    const data = doc.createElement('data');
    for (const x of v) data.appendChild(valueEl(doc, x));
    value.appendChild(doc.createElement('array')).appendChild(data);
  } else if (v !== null && typeof v === 'object') {
    const st = value.appendChild(doc.createElement('struct'));
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined || x === null) continue;
      const m = st.appendChild(doc.createElement('member'));
      m.appendChild(doc.createElement('name')).appendChild(doc.createTextNode(sampString(k)));
      m.appendChild(valueEl(doc, x));
    }
  } else {
    // numbers and booleans travel as SAMP strings (SAMP 1.3, 3.3)
    const text = typeof v === 'boolean' ? (v ? '1' : '0') : sampString(v ?? '');
    value.appendChild(doc.createElement('string')).appendChild(doc.createTextNode(text));
  }
  return value;
}

// The body of an XML-RPC call (exported for tests and for the curious).
export function encodeCall(method, params) {
  const doc = document.implementation.createDocument(null, 'methodCall', null);
  const root = doc.documentElement;
  root.appendChild(doc.createElement('methodName')).appendChild(doc.createTextNode(method));
  const ps = root.appendChild(doc.createElement('params'));
  for (const p of params) ps.appendChild(doc.createElement('param')).appendChild(valueEl(doc, p));
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc)}`;
}

const kids = (el) => Array.from(el.children);

function decodeValue(value) {
  const typed = value.firstElementChild;
  if (!typed) return value.textContent; // <value>text</value> is a string
  switch (typed.localName) {
    case 'string': case 'i4': case 'int': case 'i8': case 'double': case 'dateTime.iso8601':
    case 'base64':
      return typed.textContent;
    case 'boolean':
      return typed.textContent.trim() === '1';
    case 'nil':
      return null;
    case 'array': {
      const data = kids(typed).find((e) => e.localName === 'data');
      return data ? kids(data).filter((e) => e.localName === 'value').map(decodeValue) : [];
    }
    case 'struct': {
      const out = {};
      for (const m of kids(typed).filter((e) => e.localName === 'member')) {
        const n = kids(m).find((e) => e.localName === 'name');
        const v = kids(m).find((e) => e.localName === 'value');
        if (n && v) out[n.textContent] = decodeValue(v);
      }
      return out;
    }
    default:
      throw new SampError('protocol', `the SAMP hub sent an unknown XML-RPC type <${typed.localName}>`);
  }
}

// {value} or {fault: {faultCode, faultString}} from a methodResponse.
export function decodeResponse(text) {
  const doc = new DOMParser().parseFromString(text, 'text/xml');
  const root = doc.documentElement;
  if (!root || root.localName !== 'methodResponse' || doc.getElementsByTagName('parsererror').length) {
    throw new SampError('protocol', 'the SAMP hub sent an answer that is not XML-RPC');
  }
  const fault = kids(root).find((e) => e.localName === 'fault');
  if (fault) {
    const v = kids(fault).find((e) => e.localName === 'value');
    const f = v ? decodeValue(v) : {};
    return {fault: {faultCode: f.faultCode, faultString: String(f.faultString || 'fault')}};
  }
  const params = kids(root).find((e) => e.localName === 'params');
  const param = params && kids(params).find((e) => e.localName === 'param');
  const v = param && kids(param).find((e) => e.localName === 'value');
  return {value: v ? decodeValue(v) : ''};
}

// --- the client

export class SampClient {
  // name: samp.name; metadata: more samp.* / opusd.* keys for declareMetadata.
  constructor({name = 'opusd', metadata = {}, hubUrl = HUB_URL} = {}) {
    this.name = name;
    this.metadata = metadata;
    this.hubUrl = hubUrl;
    this.key = null;
    this.selfId = null;
    this.pending = null; // the connect() under way
  }

  get connected() {
    return this.key !== null;
  }

  async rpc(method, params, timeoutMs = CALL_TIMEOUT_MS) {
    const ctl = new AbortController();
    const timer = timeoutMs ? setTimeout(() => ctl.abort(), timeoutMs) : null;
    let resp;
    let text;
    try {
      resp = await fetch(this.hubUrl, {method: 'POST', body: encodeCall(`samp.webhub.${method}`, params),
        headers: {'Content-Type': 'text/xml'}, mode: 'cors', credentials: 'omit', cache: 'no-store',
        signal: ctl.signal});
      text = await resp.text();
    } catch (e) {
      if (ctl.signal.aborted) throw new SampError('no-hub', 'The SAMP hub did not answer in time.');
      throw new SampError('no-hub', NO_HUB_MESSAGE);
    } finally {
      clearTimeout(timer);
    }
    if (!resp.ok) throw new SampError('protocol', `The SAMP hub answered HTTP ${resp.status}.`);
    return decodeResponse(text);
  }

  // A call with the private key; a lost key (the hub restarted) registers
  // again once.
  async call(method, ...params) {
    for (let attempt = 0; ; attempt++) {
      await this.connect();
      let r;
      try {
        r = await this.rpc(method, [this.key, ...params]);
      } catch (e) {
        if (e.kind === 'no-hub') this.forget();
        throw e;
      }
      if (!r.fault) return r.value;
      if (attempt === 0 && LOST_KEY_RE.test(r.fault.faultString)) {
        this.forget();
        continue;
      }
      throw new SampError('fault', `The SAMP hub refused ${method}: ${r.fault.faultString}`);
    }
  }

  forget() {
    this.key = null;
    this.selfId = null;
  }

  // Registers (the hub may ask its user first) and declares the metadata.
  connect() {
    if (this.key) return Promise.resolve();
    if (!this.pending) {
      this.pending = this.register().finally(() => { this.pending = null; });
    }
    return this.pending;
  }

  async register() {
    const r = await this.rpc('register', [{'samp.name': this.name}], 0);
    if (r.fault) {
      throw new SampError('refused', `The SAMP hub refused to register this page (${r.fault.faultString}). ` +
        'Accept it in the hub\'s dialog, or allow this site in the hub\'s settings.');
    }
    const info = r.value || {};
    if (typeof info['samp.private-key'] !== 'string') {
      throw new SampError('protocol', 'The SAMP hub registered this page without a private key.');
    }
    this.key = info['samp.private-key'];
    this.selfId = info['samp.self-id'] || null;
    const meta = await this.rpc('declareMetadata', [this.key, {'samp.name': this.name, ...this.metadata}]);
    if (meta.fault) throw new SampError('fault', `The SAMP hub refused the metadata: ${meta.fault.faultString}`);
  }

  // The clients (other than this one) subscribed to mtype, with their names.
  async subscribed(mtype) {
    const subs = await this.call('getSubscribedClients', mtype);
    const ids = Object.keys(subs || {}).filter((id) => id !== this.selfId);
    const out = [];
    for (const id of ids) {
      let meta = {};
      try {
        meta = await this.call('getMetadata', id);
      } catch (e) {
        if (e.kind !== 'fault') throw e; // a client that left in between
        continue;
      }
      out.push({id, name: String((meta && meta['samp.name']) || id)});
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  async notify(recipientId, mtype, params) {
    await this.call('notify', recipientId, {'samp.mtype': mtype, 'samp.params': params});
  }

  // The ids of the clients the hub sent the message to.
  async notifyAll(mtype, params) {
    const r = await this.call('notifyAll', {'samp.mtype': mtype, 'samp.params': params});
    return Array.isArray(r) ? r : [];
  }

  async disconnect() {
    const key = this.key;
    this.forget();
    if (!key) return;
    try {
      await this.rpc('unregister', [key]);
    } catch (e) {
      // the hub went away first: nothing left to undo
    }
  }

  // Unregisters as the page goes away (pagehide): a keepalive request that
  // outlives the page. text/plain keeps it a simple CORS request, as a
  // keepalive request may not be preflighted.
  disconnectOnUnload() {
    const key = this.key;
    this.forget();
    if (!key) return;
    fetch(this.hubUrl, {method: 'POST', body: encodeCall('samp.webhub.unregister', [key]),
      headers: {'Content-Type': 'text/plain'}, mode: 'cors', credentials: 'omit', keepalive: true})
      .catch(() => {});
  }
}
