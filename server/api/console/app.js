// hookd console (proto/console.md): plain JavaScript over the admin API of proto/admin.md.
// Every action here is one API call a script could make; the page only
// shows and sends. The admin token lives in sessionStorage, never in a
// cookie; a /#token=... link signs in and the token leaves the address
// bar before anything else runs.
'use strict';

const KEY = 'hookd.token';
if (location.hash.startsWith('#token=')) {
  const t = decodeURIComponent(location.hash.slice(7));
  history.replaceState(null, '', location.pathname + location.search + '#/');
  if (t) sessionStorage.setItem(KEY, t);
}

const $ = (sel, root = document) => root.querySelector(sel);
const main = $('#main');
let timer = null; // the current page's refresh, cleared on every route
let gen = 0; // route generation: answers for an older page are dropped

// Builds an element: h('a', {href: '#/'}, 'text', child...). Text is
// always text (never parsed as HTML), so API data cannot inject markup.
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of kids.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// An API error in words: "404 not_found: no webhook x".
class ApiError extends Error {
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

// A number JSON.parse cannot hold (a 64-bit id, 1e400) keeps the digits
// hookd sent, so a payload is shown as received (JSON.rawJSON).
function keepDigits(k, v, ctx) {
  if (typeof v === 'number' && ctx && typeof ctx.source === 'string' &&
      typeof JSON.rawJSON === 'function' &&
      (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v))))
    return JSON.rawJSON(ctx.source);
  return v;
}

// One admin API call with the Bearer token; the parsed JSON answer.
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ''}` };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', `hookd did not answer (${e.message})`);
  }
  const text = await r.text();
  let j = null;
  try { j = text ? JSON.parse(text, keepDigits) : null; } catch { j = null; }
  if (!r.ok) {
    if (r.status === 401 && path !== '/api/stats') signOut('The admin token was refused: sign in again.');
    const e = j && j.error;
    throw new ApiError(r.status, e ? e.code : 'error', e ? e.message : (text.slice(0, 200) || r.statusText));
  }
  return j;
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

const fmtTime = (s) => (s ? new Date(s).toLocaleString() : '—');
const fmtMs = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 10) / 10} ms`);
const fmtPct = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 1000) / 10} %`);
const fmtRate = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 100) / 100}/s`);
function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${Math.round(n * 10) / 10} ${u[i]}`;
}
const STATE = { succeeded: 's-ok', enabled: 's-ok', active: 's-ok', ready: 's-ok', ok: 's-ok',
  failed: 's-bad', disabled: 's-off', cancelled: 's-off', pending: 's-warn', in_flight: 's-warn' };
const badge = (s) => h('span', { class: `state ${STATE[s] || ''}`, 'data-state': s }, s.replace('_', ' '));

function alertBox(e) {
  return h('div', { class: 'alert', role: 'alert' }, e instanceof Error ? e.message : String(e));
}
function noteBox(text) {
  return h('div', { class: 'note', role: 'status' }, text);
}
// Shows a message in the page's status slot (created on demand).
function say(node) {
  const slot = $('#msg');
  if (slot) slot.replaceChildren(node);
}

function table(cols, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h('div', { class: 'table' }, h('table', null,
    h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col', class: c.cls }, c.t)))),
    h('tbody', null, rows.map((r) => h('tr', null, cols.map((c) => h('td', { class: c.cls }, c.f(r))))))));
}

// A list paged by the API's cursors: "Older" follows next, "Newest"
// goes back to the start; never the whole list at once.
function pager(load, path, params, render) {
  const box = h('div');
  const stack = [];
  async function go(after) {
    try {
      const j = await api('GET', path + qs({ ...params, limit: 25, after }));
      const older = h('button', { type: 'button', disabled: !j.next, onclick: () => { stack.push(after); go(j.next); } }, 'Older');
      const newer = h('button', { type: 'button', disabled: stack.length === 0, onclick: () => go(stack.pop()) }, 'Newer');
      box.replaceChildren(render(j.data), h('div', { class: 'actions' }, newer, older));
    } catch (e) {
      box.replaceChildren(alertBox(e));
    }
  }
  load.push(go());
  return box;
}

// A modal with a title, a body and buttons; resolves with the value of
// the button pressed (Escape is "cancel").
function modal(title, body, buttons) {
  const d = $('#dialog');
  $('#dialog-title').textContent = title;
  $('#dialog-body').replaceChildren(...[body].flat());
  return new Promise((resolve) => {
    // No stale close event of this dialog may answer the next one.
    const done = (v) => { d.onclose = null; d.close(); resolve(v); };
    $('#dialog-actions').replaceChildren(...buttons.map((b) =>
      h('button', { type: 'button', class: b.cls, 'data-action': b.v, onclick: () => done(b.v) }, b.t)));
    d.onclose = () => resolve('cancel');
    d.showModal();
    const first = d.querySelector('input, button');
    if (first) first.focus();
  });
}
const confirmBox = (title, text, verb) => modal(title, h('p', null, text),
  [{ t: 'Cancel', v: 'cancel' }, { t: verb, v: 'ok', cls: 'danger' }]).then((v) => v === 'ok');

// A read-only credential with a copy button.
function cred(label, id, value) {
  const input = h('input', { id, readonly: true, value, 'aria-label': label });
  const msg = h('span', { class: 'muted', 'aria-live': 'polite' });
  const copy = async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(value);
      msg.textContent = 'copied';
    } catch {
      msg.textContent = 'select and copy it (the browser refused the clipboard)';
    }
  };
  return h('div', null, h('label', { for: id }, label),
    h('div', { class: 'cred' }, input, h('button', { type: 'button', onclick: copy }, 'Copy'), msg));
}

// The credentials of a webhook, shown once (create, regenerate).
function showCredentials(w, title) {
  const curl = `curl -X POST -H 'Content-Type: application/json' -H 'X-Webhook-Token: ${w.token}' ` +
    `-d '{"type":"test.ping"}' ${w.url}`;
  const body = [h('p', null, 'Copy them now: hookd shows the token and the secret only this once.')];
  if (w.token) body.push(cred('Token', 'cred-token', w.token));
  if (w.secret) body.push(cred('Signing secret', 'cred-secret', w.secret));
  if (w.hookUrl) body.push(cred('URL with the token in it', 'cred-hookurl', w.hookUrl));
  if (w.token) body.push(cred('Try it with curl', 'cred-curl', curl));
  return modal(title, body, [{ t: 'Done', v: 'ok', cls: 'primary' }]);
}

// Runs a button's API action: disables it, reports the outcome in words.
function act(label, fn, cls, aria) {
  const b = h('button', { type: 'button', class: cls, 'aria-label': aria, onclick: async () => {
    b.disabled = true;
    try {
      await fn();
    } catch (e) {
      say(alertBox(e));
    } finally {
      b.disabled = false;
    }
  } }, label);
  return b;
}

function field(label, input) {
  return h('label', null, label, input);
}

/* ---------- pages ---------- */

const samples = []; // [{t, in, out}] per refresh, the last hour at most

// A line chart of two rates over time: points are {t (ms), in, out} per second.
function chart(points, label) {
  const NS = 'http://www.w3.org/2000/svg';
  const W = 800, H = 160, P = 24;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const el = (n, a) => { const e = document.createElementNS(NS, n); for (const k in a) e.setAttribute(k, a[k]); svg.append(e); return e; };
  const max = Math.max(1, ...points.map((p) => Math.max(p.in, p.out)));
  const t0 = points.length ? points[0].t : 0, t1 = points.length ? points[points.length - 1].t : 1;
  const x = (t) => P + ((t - t0) / Math.max(1, t1 - t0)) * (W - 2 * P);
  const y = (v) => H - P - (v / max) * (H - 2 * P);
  el('line', { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: '#d0d7de' });
  el('text', { x: 2, y: P, 'font-size': 11, fill: '#57606a' }).textContent = `${Math.round(max * 100) / 100}/s`;
  el('text', { x: 2, y: H - P + 4, 'font-size': 11, fill: '#57606a' }).textContent = '0';
  for (const [k, color] of [['in', '#1f5fa8'], ['out', '#1a7f37']]) {
    if (points.length < 2) break;
    el('polyline', { fill: 'none', stroke: color, 'stroke-width': 2,
      points: points.map((p) => `${x(p.t).toFixed(1)},${y(p[k]).toFixed(1)}`).join(' ') });
  }
  return svg;
}

// The slots of /api/stats/history as chart points.
function slots(w) {
  return w.slots.map((x) => ({ t: Date.parse(x.start), in: x.accepted / w.slotSeconds, out: x.attempts / w.slotSeconds }));
}

function card(k, v, state) {
  return h('div', { class: 'card' }, h('div', { class: `v ${state || ''}` }, v), h('div', { class: 'k' }, k));
}

async function pageOverview(g) {
  const box = h('div', { 'aria-live': 'polite' });
  main.replaceChildren(h('h1', null, 'Overview'), h('div', { id: 'msg' }), box);
  const probe = async (p) => { try { const r = await fetch(p, { cache: 'no-store' }); return r.ok ? 'ok' : `${r.status}`; } catch { return 'down'; } };
  async function refresh() {
    try {
      const [s, hist, health, ready] = await Promise.all([api('GET', '/api/stats'), api('GET', '/api/stats/history'),
        probe('/healthz'), probe('/readyz')]);
      if (g !== gen) return;
      const L = s.latency, d = s.delivery, at = L.deliveryAttempt;
      samples.push({ t: Date.now(), in: L.ingest['1m'].perSecond, out: at['1m'].perSecond });
      while (samples.length > 720) samples.shift();
      const win = (w) => h('tr', null, h('th', { scope: 'row' }, w),
        h('td', { class: 'num' }, fmtRate(L.ingest[w].perSecond)), h('td', { class: 'num' }, fmtRate(at[w].perSecond)),
        h('td', { class: 'num' }, fmtPct(at[w].successRate)), h('td', { class: 'num' }, fmtMs(at[w].latencyMs.p50)),
        h('td', { class: 'num' }, fmtMs(at[w].latencyMs.p99)), h('td', { class: 'num' }, fmtMs(L.eventToFirstSuccess[w].latencyMs.p50)));
      box.replaceChildren(
        h('div', { class: 'cards' },
          card('health', health, health === 'ok' ? 's-ok' : 's-bad'),
          card('readiness', ready === 'ok' ? 'ready' : ready, ready === 'ok' ? 's-ok' : 's-bad'),
          card('events in (1 min)', fmtRate(L.ingest['1m'].perSecond)),
          card('attempts (1 min)', fmtRate(at['1m'].perSecond)),
          card('success rate (1 h)', fmtPct(at['1h'].successRate)),
          card('pending', d.pending), card('in flight', d.inFlight),
          card('failed (since start)', d.failed, d.failed ? 's-bad' : ''),
          card('circuits open', d.circuitsOpen, d.circuitsOpen ? 's-bad' : ''),
          card('store used', `${fmtBytes(s.store.bytesUsed)} of ${fmtBytes(s.store.mapSize)}`),
          card('events stored', s.store.events), card('deliveries stored', s.store.deliveries)),
        h('h2', null, 'The last hour (5-minute slots)'),
        h('div', { class: 'legend' }, h('span', { class: 'sw-in' }, '— events in'), h('span', { class: 'sw-out' }, '— delivery attempts')),
        chart(slots(hist.hour), 'events accepted and delivery attempts per second over the last hour, in 5-minute slots'),
        h('h2', null, 'The last day (hourly slots)'),
        chart(slots(hist.day), 'events accepted and delivery attempts per second over the last day, in hourly slots'),
        h('h2', null, 'Since this page opened'),
        chart(samples, 'events received and delivery attempts per second, as sampled by this page'),
        h('h2', null, 'Windows'),
        h('div', { class: 'table' }, h('table', null,
          h('thead', null, h('tr', null, ['window', 'events in', 'attempts', 'success', 'attempt p50', 'attempt p99', 'to first success p50']
            .map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, ['1m', '1h', '24h'].map(win)))),
        h('p', { class: 'muted' }, `hookd ${s.version}, up ${s.uptimeSeconds} s; webhooks ${s.webhooks.enabled} enabled, ` +
          `${s.webhooks.disabled} disabled; subscriptions ${s.subscriptions.active} active, ${s.subscriptions.disabled} disabled. ` +
          `Refreshed ${new Date().toLocaleTimeString()}.`));
    } catch (e) {
      if (g === gen) say(alertBox(e));
    }
  }
  await refresh();
  if (g === gen) timer = setInterval(refresh, 5000);
}

async function pageWebhooks(g) {
  const load = [];
  const msg = h('div', { id: 'msg' });
  const form = h('form', { class: 'create', 'aria-label': 'Create a webhook' },
    field('Name (a slug)', h('input', { name: 'name', required: true, autocomplete: 'off' })),
    field('Description', h('input', { name: 'description' })),
    field('Authentication', h('select', { name: 'auth' },
      ['token', 'signature', 'token+signature', 'none'].map((a) => h('option', { value: a }, a)))),
    field('Event type (optional)', h('input', { name: 'eventType', placeholder: 'from the body' })),
    field('Signature scheme', h('select', { name: 'scheme' },
      ['hex', 'github', 'standard', 'stripe', 'slack'].map((a) => h('option', { value: a }, a)))),
    field('Provider\'s secret (optional)', h('input', { name: 'secret', type: 'password', autocomplete: 'off', placeholder: 'generated' })),
    field('Events/s (0: unlimited)', h('input', { name: 'rateLimit', type: 'number', min: 0, placeholder: '100' })),
    h('button', { type: 'submit', class: 'primary' }, 'Create webhook'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { name: f.get('name'), auth: f.get('auth') };
    if (f.get('description')) body.description = f.get('description');
    if (f.get('eventType')) body.eventType = f.get('eventType');
    if (f.get('scheme') !== 'hex' || f.get('secret')) {
      body.signature = { scheme: f.get('scheme') };
      if (f.get('secret')) body.signature.secret = f.get('secret');
    }
    if (f.get('rateLimit') !== '') body.rateLimit = Number(f.get('rateLimit'));
    try {
      const w = await api('POST', '/api/webhooks', body);
      form.reset();
      await showCredentials(w, `Webhook ${w.name} created`);
      route();
    } catch (e) {
      say(alertBox(e));
    }
  });
  const list = pager(load, '/api/webhooks', {}, (rows) => table([
    { t: 'Name', f: (w) => h('a', { href: `#/webhooks/${w.id}` }, w.name) },
    { t: 'State', f: (w) => badge(w.enabled ? 'enabled' : 'disabled') },
    { t: 'Auth', f: (w) => w.auth },
    { t: 'URL', cls: 'hide-narrow', f: (w) => h('span', { class: 'id' }, w.url) },
    { t: 'Last request', f: (w) => lastActivity(w.id) },
  ], rows, 'No webhooks yet: create one above.'));
  main.replaceChildren(h('h1', null, 'Webhooks'), msg, form, list);
  await Promise.all(load);
}

// The time and status of a webhook's newest logged request, filled in
// when its one-entry page of the request log arrives.
function lastActivity(id) {
  const span = h('span', { class: 'muted' }, '…');
  api('GET', `/api/webhooks/${encodeURIComponent(id)}/logs?limit=1`).then((j) => {
    const e = j.data[0];
    span.textContent = e ? `${fmtTime(e.at)} (${e.status})` : 'none';
  }, () => { span.textContent = '—'; });
  return span;
}

async function pageWebhook(g, id) {
  const load = [];
  let w;
  try {
    w = await api('GET', `/api/webhooks/${encodeURIComponent(id)}`);
  } catch (e) {
    main.replaceChildren(h('h1', null, 'Webhook'), alertBox(e), h('a', { href: '#/webhooks' }, 'All webhooks'));
    return;
  }
  if (g !== gen) return;
  const path = `/api/webhooks/${encodeURIComponent(w.id)}`;
  const logs = pager(load, `${path}/logs`, {}, (rows) => table([
    { t: 'Time', f: (r) => fmtTime(r.at) },
    { t: 'Status', f: (r) => h('span', { class: r.status < 300 ? 's-ok' : 's-bad' }, r.status) },
    { t: 'Error', f: (r) => r.error || '' },
    { t: 'Remote', cls: 'hide-narrow', f: (r) => r.remoteAddr },
    { t: 'Latency', cls: 'num', f: (r) => fmtMs(r.latencyMs) },
    { t: 'Event', f: (r) => (r.eventId ? h('a', { class: 'id', href: `#/events/${r.eventId}` }, r.eventId) : '') },
  ], rows, 'No requests yet.'));
  main.replaceChildren(
    h('p', null, h('a', { href: '#/webhooks' }, '← Webhooks')),
    h('h1', null, `Webhook ${w.name} `, badge(w.enabled ? 'enabled' : 'disabled')),
    h('div', { id: 'msg' }),
    h('dl', { class: 'kv' },
      h('dt', null, 'ID'), h('dd', { class: 'id' }, w.id),
      h('dt', null, 'URL'), h('dd', { class: 'id' }, w.url),
      h('dt', null, 'Description'), h('dd', null, w.description || '—'),
      h('dt', null, 'Authentication'), h('dd', null, w.auth),
      h('dt', null, 'Signature'), h('dd', null, `${w.signature.scheme}, tolerance ${w.signature.toleranceSeconds} s`),
      h('dt', null, 'Event type'), h('dd', null, w.eventType || w.eventPrefix || 'from the body'),
      h('dt', null, 'Rate limit'), h('dd', null, `${w.rateLimit}/s, body up to ${fmtBytes(w.maxBody)}`),
      h('dt', null, 'Created'), h('dd', null, fmtTime(w.createdAt))),
    h('div', { class: 'actions' },
      act(w.enabled ? 'Disable' : 'Enable', async () => {
        await api('PATCH', path, { enabled: !w.enabled });
        route();
      }),
      act('Send test event', async () => {
        const r = await api('POST', `${path}/test`, {});
        say(h('div', { class: 'note', role: 'status' }, 'Test event ', h('a', { href: `#/events/${r.eventId}` }, r.eventId), ' accepted.'));
      }),
      act('Regenerate credentials', async () => {
        if (!await confirmBox('Regenerate credentials', `The token and secret of ${w.name} stop working at once.`, 'Regenerate')) return;
        const r = await api('POST', `${path}/regenerate`);
        await showCredentials({ ...w, ...r }, `New credentials for ${w.name}`);
      }),
      act('Delete', async () => {
        if (!await confirmBox('Delete webhook', `Delete ${w.name}? Its URL stops accepting events.`, 'Delete')) return;
        await api('DELETE', path);
        location.hash = '#/webhooks';
      }, 'danger')),
    h('h2', null, 'Request log'), logs);
  await Promise.all(load);
}

function filterForm(fields, values, base) {
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filters' },
    fields.map((f) => field(f.label, f.options
      ? h('select', { name: f.name }, f.options.map((o) => h('option', { value: o, selected: values[f.name] === o }, o || 'any')))
      : h('input', { name: f.name, value: values[f.name] || '', placeholder: f.ph || '' }))),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = {};
    for (const [k, v] of new FormData(form)) p[k] = v.trim();
    location.hash = base + qs(p);
  });
  return form;
}

async function pageEvents(g, q) {
  const load = [];
  const params = { type: q.get('type'), source: q.get('source'), since: q.get('since'), until: q.get('until') };
  const list = pager(load, '/api/events', params, (rows) => table([
    { t: 'Event', f: (e) => h('a', { class: 'id', href: `#/events/${e.id}` }, e.id) },
    { t: 'Type', f: (e) => e.event },
    { t: 'Source', f: (e) => (e.source && e.source.name) || (e.source && e.source.webhook) || 'api' },
    { t: 'Time', f: (e) => fmtTime(e.timestamp) },
  ], rows, 'No events match.'));
  main.replaceChildren(h('h1', null, 'Events'), h('div', { id: 'msg' }),
    filterForm([{ name: 'type', label: 'Type', ph: 'order.created' }, { name: 'source', label: 'Source', ph: 'webhook name or api' },
      { name: 'since', label: 'Since', ph: '2026-01-01T00:00:00Z' }, { name: 'until', label: 'Until', ph: '2026-01-02T00:00:00Z' }], params, '#/events'), list);
  await Promise.all(load);
}

function attemptsTable(atts) {
  return table([
    { t: '#', cls: 'num', f: (a) => a.attempt },
    { t: 'Time', f: (a) => fmtTime(a.at) },
    { t: 'Status', f: (a) => h('span', { class: a.statusCode >= 200 && a.statusCode < 300 ? 's-ok' : 's-bad' }, a.statusCode ?? 'none') },
    { t: 'Latency', cls: 'num', f: (a) => fmtMs(a.latencyMs) },
    { t: 'Reason', f: (a) => [a.reason || '', a.error ? h('div', { class: 'muted' }, a.error) : ''] },
    { t: 'Response (first 1 KiB)', f: (a) => (a.response ? h('pre', { class: 'response' }, a.response) : h('span', { class: 'muted' }, 'empty')) },
    { t: 'As sent and answered', f: exchange },
  ], atts, 'No attempt yet.');
}

// An attempt's request as hookd sent it (header lines, the body when a
// template made it) and the response's header lines.
function exchange(a) {
  const req = a.request;
  if (!req && !a.responseHeaders) return h('span', { class: 'muted' }, 'not recorded');
  return h('details', { class: 'exchange' }, h('summary', null, 'Headers'),
    h('h4', null, 'Request'),
    h('pre', { class: 'response', 'data-testid': 'request-headers' }, ((req && req.headers) || []).join('\n')),
    req ? h('p', { class: 'muted' }, req.body == null ? `Body: the event's envelope (${req.bodySize} bytes)` : `Body (${req.bodySize} bytes):`) : '',
    req && req.body != null ? h('pre', { class: 'response' }, req.body) : '',
    h('h4', null, 'Response'),
    h('pre', { class: 'response', 'data-testid': 'response-headers' }, (a.responseHeaders || []).join('\n') || 'no answer'));
}

// A subscription's target: its URL, or the command it runs (SPEC §11).
function target(s) {
  return s.url || (s.command ? `command: ${s.command.argv.join(' ')}` : '');
}

async function pageEvent(g, id) {
  let e;
  try {
    e = await api('GET', `/api/events/${encodeURIComponent(id)}`);
  } catch (err) {
    main.replaceChildren(h('h1', null, 'Event'), alertBox(err), h('a', { href: '#/events' }, 'All events'));
    return;
  }
  if (g !== gen) return;
  const path = `/api/events/${encodeURIComponent(e.id)}`;
  const dl = e.deliveries || [];
  main.replaceChildren(
    h('p', null, h('a', { href: '#/events' }, '← Events')),
    h('h1', null, `Event ${e.event}`),
    h('div', { id: 'msg' }),
    h('dl', { class: 'kv' },
      h('dt', null, 'ID'), h('dd', { class: 'id' }, e.id),
      h('dt', null, 'Source'), h('dd', null, e.source && e.source.webhook
        ? h('a', { href: `#/webhooks/${e.source.webhook}` }, e.source.name || e.source.webhook) : 'api'),
      h('dt', null, 'Time'), h('dd', null, fmtTime(e.timestamp))),
    h('div', { class: 'actions' },
      act('Refresh', async () => route()),
      act('Replay to all subscriptions', async () => {
        const r = await api('POST', `${path}/replay`, {});
        say(noteBox(`Replayed: ${r.deliveries.length} new deliveries.`));
      }),
      replayPicker(path)),
    h('h2', null, 'Payload'), h('pre', { class: 'payload' }, JSON.stringify(e.payload, null, 2)),
    h('h2', null, `Deliveries (${dl.length})`),
    ...(dl.length ? dl.map((d) => h('section', { class: 'delivery', 'data-delivery': d.id, 'aria-label': `Delivery ${d.id}` },
      h('h3', null, badge(d.status), ' to ', h('a', { href: `#/subscriptions/${d.subscription}` }, d.subscription)),
      h('p', { class: 'muted' }, h('span', { class: 'id' }, d.id), ` · ${d.attemptCount} attempts`,
        d.nextAttemptAt ? ` · next ${fmtTime(d.nextAttemptAt)}` : ''),
      h('div', { class: 'actions' },
        d.status === 'failed' || d.status === 'pending' ? act('Retry now', async () => {
          await api('POST', `/api/deliveries/${d.id}/retry`);
          await route();
          say(noteBox(`Delivery ${d.id} retried.`));
        }) : null,
        act('Replay to this subscription', async () => {
          const r = await api('POST', `${path}/replay`, { subscription: d.subscription });
          say(noteBox(`Replayed: ${r.deliveries.length} new delivery.`));
        })),
      attemptsTable(d.attempts || []))) : [h('p', { class: 'muted' }, 'No subscription matched this event.')]));
}

// Replays an event to one subscription picked from the list (any of them,
// not only those it matched).
function replayPicker(path) {
  const sel = h('select', { name: 'subscription', 'aria-label': 'Subscription to replay to' },
    h('option', { value: '' }, 'Pick a subscription…'));
  api('GET', '/api/subscriptions?limit=100').then((r) => {
    for (const s of r.data) sel.append(h('option', { value: s.id }, `${target(s)} (${s.id})`));
  }).catch((e) => say(alertBox(e)));
  return h('span', { class: 'picker' }, sel, act('Replay to it', async () => {
    if (!sel.value) return say(noteBox('Pick a subscription first.'));
    const r = await api('POST', `${path}/replay`, { subscription: sel.value });
    say(noteBox(`Replayed to ${sel.value}: ${r.deliveries.length} new delivery.`));
  }));
}

const STATUSES = ['', 'pending', 'in_flight', 'succeeded', 'failed', 'cancelled'];

async function pageDeliveries(g, q) {
  const load = [];
  const params = { status: q.get('status'), subscription: q.get('subscription'), event: q.get('event'), since: q.get('since'), until: q.get('until') };
  const list = pager(load, '/api/deliveries', params, (rows) => table([
    { t: 'Delivery', cls: 'hide-narrow', f: (d) => h('span', { class: 'id' }, d.id) },
    { t: 'Status', f: (d) => badge(d.status) },
    { t: 'Event', f: (d) => h('a', { class: 'id', href: `#/events/${d.event}` }, d.event) },
    { t: 'Subscription', f: (d) => h('a', { class: 'id', href: `#/subscriptions/${d.subscription}` }, d.subscription) },
    { t: 'Attempts', cls: 'num', f: (d) => d.attemptCount },
    { t: 'Updated', f: (d) => fmtTime(d.updatedAt) },
    { t: 'Action', f: (d) => (d.status === 'failed' || d.status === 'pending' ? act('Retry', async () => {
      await api('POST', `/api/deliveries/${d.id}/retry`);
      await route();
      say(noteBox(`Delivery ${d.id} retried.`));
    }, null, `Retry delivery ${d.id}`) : '') },
  ], rows, 'No deliveries match.'));
  main.replaceChildren(h('h1', null, 'Deliveries'), h('div', { id: 'msg' }),
    filterForm([{ name: 'status', label: 'Status', options: STATUSES }, { name: 'subscription', label: 'Subscription', ph: 'sub_…' },
      { name: 'event', label: 'Event', ph: 'evt_…' }, { name: 'since', label: 'Created since', ph: '2026-01-01T00:00:00Z' },
      { name: 'until', label: 'Created until', ph: '2026-01-02T00:00:00Z' }], params, '#/deliveries'), list);
  await Promise.all(load);
}

async function pageSubscriptions(g) {
  const load = [];
  const form = h('form', { class: 'create', 'aria-label': 'Create a subscription' },
    field('Target URL', h('input', { name: 'url', type: 'url', required: true, size: 36 })),
    field('Event patterns (comma-separated)', h('input', { name: 'events', value: '*' })),
    field('Description', h('input', { name: 'description' })),
    field('Max attempts', h('input', { name: 'maxAttempts', type: 'number', min: 1, max: 100, placeholder: '15' })),
    h('details', null, h('summary', null, 'More options'),
      h('div', { class: 'actions' },
        field('Sources (webhook names, comma-separated)', h('input', { name: 'sources', placeholder: 'all' })),
        field('First retry after (ms)', h('input', { name: 'initialMs', type: 'number', min: 100, placeholder: '5000' })),
        field('Timeout (ms)', h('input', { name: 'timeoutMs', type: 'number', min: 100, max: 120000, placeholder: '10000' })),
        field('Max in flight', h('input', { name: 'maxInFlight', type: 'number', min: 1, max: 1000, placeholder: '8' })),
        field('Requests/s (0: unlimited)', h('input', { name: 'rateLimit', type: 'number', min: 0, placeholder: '0' })),
        h('label', { class: 'check' }, h('input', { name: 'ordered', type: 'checkbox' }), 'Ordered (one at a time, in order)'),
        headersField(null),
        ...templateField(''))),
    h('button', { type: 'submit', class: 'primary' }, 'Create subscription'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { url: f.get('url'), events: f.get('events').split(',').map((s) => s.trim()).filter(Boolean) };
    if (f.get('description')) body.description = f.get('description');
    const list = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);
    if (f.get('maxAttempts') || f.get('initialMs')) body.retry = {};
    if (f.get('maxAttempts')) body.retry.maxAttempts = Number(f.get('maxAttempts'));
    if (f.get('initialMs')) body.retry.initialMs = Number(f.get('initialMs'));
    if (f.get('sources')) body.sources = list(f.get('sources'));
    for (const k of ['timeoutMs', 'maxInFlight', 'rateLimit']) if (f.get(k)) body[k] = Number(f.get(k));
    if (f.get('ordered')) body.ordered = true;
    if (f.get('template')) body.template = f.get('template');
    if (f.get('headers')) body.headers = parseHeaders(f.get('headers'));
    try {
      const s = await api('POST', '/api/subscriptions', body);
      form.reset();
      await modal('Subscription created', [h('p', null, 'hookd signs each request with this secret; it is shown here and on the subscription\'s page on request.'),
        cred('Signing secret', 'cred-sub-secret', s.secret)], [{ t: 'Done', v: 'ok', cls: 'primary' }]);
      location.hash = `#/subscriptions/${s.id}`;
    } catch (e) {
      say(alertBox(e));
    }
  });
  const list = pager(load, '/api/subscriptions', {}, (rows) => table([
    { t: 'Target', f: (s) => h('a', { href: `#/subscriptions/${s.id}`, class: 'id' }, target(s)) },
    { t: 'Events', f: (s) => s.events.join(', ') },
    { t: 'State', f: (s) => [badge(s.active ? 'active' : 'disabled'), s.disabledReason ? ` (${s.disabledReason})` : ''] },
    { t: 'Success (1 h)', f: (s) => health(s.id) },
    { t: 'Created', cls: 'hide-narrow', f: (s) => fmtTime(s.createdAt) },
  ], rows, 'No subscriptions yet: create one above.'));
  main.replaceChildren(h('h1', null, 'Subscriptions'), h('div', { id: 'msg' }), form, list);
  await Promise.all(load);
}

// A subscription's own headers, one "Name: value" per line. Stored values
// come back as [redacted]; sent back so, hookd keeps them (proto/api.md).
function headerLines(hs) {
  return Object.entries(hs || {}).map(([k, v]) => `${k}: ${v}`).join('\n');
}

function parseHeaders(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const i = line.indexOf(':');
    // hookd judges names and values; a line without a colon is a name
    // with an empty value, which it refuses in words.
    if (i < 0) out[line.trim()] = '';
    else out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function headersField(hs) {
  const area = h('textarea', { name: 'headers', rows: 3, cols: 50, spellcheck: 'false', placeholder: 'Authorization: Bearer …' });
  area.value = headerLines(hs);
  return field('Headers (one "Name: value" per line; values stay [redacted] once saved)', area);
}

// A template field with a live preview: the server judges and renders it
// (POST /api/templates/preview) against the newest event, or its sample.
function templateField(value) {
  const area = h('textarea', { name: 'template', rows: 4, cols: 50, spellcheck: 'false' });
  area.value = value || '';
  const out = h('pre', { class: 'preview', 'aria-live': 'polite', 'data-testid': 'template-preview' });
  let timer = null, newest;
  async function render() {
    if (!area.value) { out.textContent = 'No template: the envelope is sent.'; return; }
    try {
      if (newest === undefined) newest = ((await api('GET', '/api/events?limit=1')).data[0] || {}).id || null;
      const r = await api('POST', '/api/templates/preview', newest ? { template: area.value, eventId: newest } : { template: area.value });
      out.textContent = `${newest ? `Against ${newest}` : 'Against the sample event'}${r.json ? '' : ' (not JSON for this event)'}:\n${r.body}`;
    } catch (e) {
      out.textContent = e.message;
    }
  }
  area.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(render, 300); });
  render();
  return [field('Template (${…} variables; empty: the envelope)', area), out];
}

// A subscription's success rate and attempts over the last hour, filled
// in when its stats arrive.
function health(id) {
  const span = h('span', { class: 'muted' }, '…');
  api('GET', `/api/subscriptions/${encodeURIComponent(id)}/stats`).then((j) => {
    const w = (j.windows || j)['1h'];
    span.textContent = w && w.count ? `${fmtPct(w.successRate)} of ${w.count}` : 'no attempts';
    if (w && w.count) span.className = w.successRate >= 0.99 ? 's-ok' : w.successRate >= 0.5 ? 's-warn' : 's-bad';
  }, () => { span.textContent = '—'; });
  return span;
}

async function pageSubscription(g, id) {
  let s, st = null;
  const path = `/api/subscriptions/${encodeURIComponent(id)}`;
  try {
    [s, st] = await Promise.all([api('GET', path), api('GET', `${path}/stats`).catch(() => null)]);
  } catch (e) {
    main.replaceChildren(h('h1', null, 'Subscription'), alertBox(e), h('a', { href: '#/subscriptions' }, 'All subscriptions'));
    return;
  }
  if (g !== gen) return;
  const win = st && (st['1h'] || (st.windows && st.windows['1h']));
  main.replaceChildren(
    h('p', null, h('a', { href: '#/subscriptions' }, '← Subscriptions')),
    h('h1', null, 'Subscription ', badge(s.active ? 'active' : 'disabled')),
    h('div', { id: 'msg' }),
    h('dl', { class: 'kv' },
      h('dt', null, 'ID'), h('dd', { class: 'id' }, s.id),
      h('dt', null, 'Target'), h('dd', { class: 'id' }, target(s)),
      h('dt', null, 'Events'), h('dd', null, s.events.join(', ')),
      h('dt', null, 'Sources'), h('dd', null, s.sources.length ? s.sources.join(', ') : 'all'),
      h('dt', null, 'Description'), h('dd', null, s.description || '—'),
      h('dt', null, 'Retry'), h('dd', null, `${s.retry.maxAttempts} attempts, from ${s.retry.initialMs} ms to ${s.retry.maxMs} ms`),
      h('dt', null, 'Delivery'), h('dd', null, `timeout ${s.timeoutMs} ms, ${s.maxInFlight} in flight, ` +
        `${s.rateLimit ? `${s.rateLimit}/s` : 'no rate limit'}${s.ordered ? ', ordered' : ''}`),
      win ? [h('dt', null, 'Last hour'), h('dd', null, `${win.count} attempts, success ${fmtPct(win.successRate)}, ` +
        `p50 ${fmtMs(win.latencyMs.p50)}, p99 ${fmtMs(win.latencyMs.p99)}`)] : null,
      s.disabledReason ? [h('dt', null, 'Disabled by hookd'), h('dd', { class: 's-bad' },
        s.disabledReason === 'gone' ? 'the endpoint answered 410 Gone' : 'no success for too long')] : null,
      h('dt', null, 'Created'), h('dd', null, fmtTime(s.createdAt))),
    h('div', { class: 'actions' },
      act('Reveal secret', async () => {
        const r = await api('GET', `${path}/secret`);
        await modal('Signing secret', [cred('Secret', 'cred-sub-secret', r.secret),
          r.previousSecret ? cred(`Previous secret, signs until ${fmtTime(r.previousExpiresAt)}`, 'cred-sub-prev', r.previousSecret) : null],
        [{ t: 'Done', v: 'ok', cls: 'primary' }]);
      }),
      act('Rotate secret', async () => {
        if (!await confirmBox('Rotate secret', 'A new secret signs from now on; the old one still signs for 24 hours.', 'Rotate')) return;
        const r = await api('POST', `${path}/rotate-secret`);
        await modal('New signing secret', cred('Secret', 'cred-sub-secret', r.secret), [{ t: 'Done', v: 'ok', cls: 'primary' }]);
      }),
      act('Send test', async () => {
        const r = await api('POST', `${path}/test`);
        say(h('div', { class: r.success ? 'note' : 'alert', role: 'status' },
          `${r.success ? 'Delivered' : 'Failed'}: status ${r.statusCode ?? 'none'}, ${fmtMs(r.latencyMs)}${r.message ? ` — ${r.message}` : ''}`));
      }),
      act(s.active ? 'Disable' : 'Enable', async () => { await api('PATCH', path, { active: !s.active }); route(); }),
      h('a', { href: `#/deliveries?subscription=${s.id}` }, 'Its deliveries'),
      h('a', { href: `#/deliveries?subscription=${s.id}&status=failed` }, 'Its failed deliveries'),
      act('Delete', async () => {
        if (!await confirmBox('Delete subscription', 'Its pending deliveries are cancelled.', 'Delete')) return;
        await api('DELETE', path);
        location.hash = '#/subscriptions';
      }, 'danger')),
    ...editForm(path, s),
    ...recoverForm(path));
}

// Changes a subscription: the fields that differ go in one PATCH, and
// the server's own checks answer (a bad pattern or URL, in words).
function editForm(path, s) {
  const form = h('form', { class: 'create', 'aria-label': 'Edit the subscription' },
    field('Target URL', h('input', { name: 'url', type: 'url', required: true, size: 36, value: s.url })),
    field('Event patterns (comma-separated)', h('input', { name: 'events', required: true, value: s.events.join(', ') })),
    field('Description', h('input', { name: 'description', value: s.description || '' })),
    field('Sources (webhook names, comma-separated; empty: all)', h('input', { name: 'sources', value: s.sources.join(', ') })),
    field('Max attempts', h('input', { name: 'maxAttempts', type: 'number', min: 1, max: 100, value: s.retry.maxAttempts })),
    field('First retry after (ms)', h('input', { name: 'initialMs', type: 'number', min: 100, value: s.retry.initialMs })),
    field('Longest wait (ms)', h('input', { name: 'maxMs', type: 'number', min: 100, value: s.retry.maxMs })),
    field('Timeout (ms)', h('input', { name: 'timeoutMs', type: 'number', min: 100, max: 120000, value: s.timeoutMs })),
    field('Max in flight', h('input', { name: 'maxInFlight', type: 'number', min: 1, max: 1000, value: s.maxInFlight })),
    field('Requests/s (0: unlimited)', h('input', { name: 'rateLimit', type: 'number', min: 0, value: s.rateLimit })),
    h('label', { class: 'check' }, h('input', { name: 'ordered', type: 'checkbox', checked: s.ordered }), 'Ordered (one at a time, in order)'),
    headersField(s.headers),
    ...templateField(s.template),
    h('button', { type: 'submit', class: 'primary' }, 'Save changes'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = {};
    const events = f.get('events').split(',').map((x) => x.trim()).filter(Boolean);
    if (f.get('url') !== s.url) body.url = f.get('url');
    if (events.join(',') !== s.events.join(',')) body.events = events;
    if (f.get('description') !== (s.description || '')) body.description = f.get('description') || null;
    const retry = { maxAttempts: Number(f.get('maxAttempts')), initialMs: Number(f.get('initialMs')), maxMs: Number(f.get('maxMs')) };
    if (Object.keys(retry).some((k) => retry[k] !== s.retry[k])) body.retry = retry;
    const sources = f.get('sources').split(',').map((x) => x.trim()).filter(Boolean);
    if (sources.join(',') !== s.sources.join(',')) body.sources = sources;
    if (Boolean(f.get('ordered')) !== s.ordered) body.ordered = Boolean(f.get('ordered'));
    for (const k of ['timeoutMs', 'maxInFlight', 'rateLimit']) if (Number(f.get(k)) !== s[k]) body[k] = Number(f.get(k));
    if ((f.get('template') || null) !== (s.template || null)) body.template = f.get('template') || null;
    if (f.get('headers') !== headerLines(s.headers)) body.headers = parseHeaders(f.get('headers'));
    if (Object.keys(body).length === 0) return say(noteBox('Nothing changed.'));
    try {
      await api('PATCH', path, body);
      await route();
      say(noteBox('Saved.'));
    } catch (e) {
      say(alertBox(e));
    }
  });
  return [h('h2', null, 'Edit'), form];
}

// Retries every failed delivery of a subscription created in a window.
function recoverForm(path) {
  const since = h('input', { id: 'recover-since', name: 'since', type: 'datetime-local', required: true, step: 1 });
  const until = h('input', { id: 'recover-until', name: 'until', type: 'datetime-local', step: 1 });
  const form = h('form', { class: 'filters', 'aria-label': 'Recover failed deliveries' },
    h('label', { for: 'recover-since' }, 'Failed deliveries created from', since),
    h('label', { for: 'recover-until' }, 'until (optional)', until),
    h('button', { type: 'submit' }, 'Retry them all'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { since: new Date(since.value).toISOString() };
    if (until.value) body.until = new Date(until.value).toISOString();
    try {
      const r = await api('POST', `${path}/recover`, body);
      say(noteBox(`${r.recovered} failed deliveries are pending again.`));
    } catch (e) {
      say(alertBox(e));
    }
  });
  return [h('h2', null, 'Recover a window'), form];
}

let live = null; // the live view's AbortController, while it is shown

// One line of the live view, for an "event" or a "delivery" message.
function liveLine(type, d) {
  const now = new Date().toLocaleTimeString();
  if (type === 'event')
    return h('li', { 'data-kind': 'event', 'data-event': d.id }, `${now} event `,
      h('a', { href: `#/events/${d.id}` }, d.event), ` from ${(d.source && d.source.name) || 'api'}`);
  const a = d.attempt || {};
  return h('li', { 'data-kind': 'delivery', 'data-event': d.event }, `${now} `, badge(d.status), ' ',
    h('a', { href: `#/events/${d.event}` }, d.event), ' to ', h('a', { href: `#/subscriptions/${d.subscription}` }, d.subscription),
    `: attempt ${a.attempt ?? '?'}, status ${a.statusCode ?? 'none'}, ${fmtMs(a.latencyMs)}${a.reason ? `, ${a.reason}` : ''}`);
}

// Reads the Server-Sent Events of GET /api/stream with fetch (EventSource
// cannot send the Bearer header), and reconnects after the server's
// retry delay whenever the stream ends or fails, with the id of the last
// message seen (Last-Event-ID), so that nothing is missed.
async function follow(ctl, status, list) {
  let delay = 3000, lastId = null;
  const set = (state, text) => { status.dataset.state = state; status.textContent = text; };
  while (!ctl.signal.aborted) {
    try {
      const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ''}` };
      // Back after a drop: hookd sends what was missed, or a gap.
      if (lastId) headers['Last-Event-ID'] = lastId;
      const r = await fetch('/api/stream', { headers, signal: ctl.signal, cache: 'no-store' });
      if (!r.ok) {
        if (r.status === 401) return signOut('The admin token was refused: sign in again.');
        const j = await r.json().catch(() => null);
        throw new ApiError(r.status, j ? j.error.code : 'error', j ? j.error.message : r.statusText);
      }
      set('open', 'Connected: new events and delivery outcomes appear here as they happen.');
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        for (let i; (i = buf.indexOf('\n\n')) >= 0;) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let type = 'message', data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('id:')) lastId = line.slice(3).trim();
            else if (line.startsWith('event:')) type = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trimStart();
            else if (line.startsWith('retry:')) delay = Number(line.slice(6)) || delay;
          }
          if (!data) continue;
          if (type === 'gap') {
            list.prepend(h('li', { 'data-kind': 'gap' }, `${new Date().toLocaleTimeString()} disconnected too long: `,
              'some events and outcomes are not shown here (see ', h('a', { href: '#/events' }, 'Events'), ')'));
            continue;
          }
          list.prepend(liveLine(type, JSON.parse(data)));
          while (list.childElementCount > 200) list.lastElementChild.remove();
        }
      }
      throw new Error('the stream ended');
    } catch (e) {
      if (ctl.signal.aborted) return;
      set('closed', `Disconnected (${e.message}); reconnecting in ${delay / 1000} s.`);
      await new Promise((res) => setTimeout(res, delay));
    }
  }
}

async function pageLive() {
  const status = h('p', { id: 'live-status', role: 'status', 'data-state': 'connecting' }, 'Connecting…');
  const list = h('ol', { id: 'live', class: 'live', reversed: true, 'aria-label': 'Events and outcomes, newest first' });
  main.replaceChildren(h('h1', null, 'Live'), status, list);
  live = new AbortController();
  follow(live, status, list);
}

function signOut(why) {
  sessionStorage.removeItem(KEY);
  route(why);
}

function pageSignIn(why) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', required: true, autocomplete: 'off' });
  const msg = h('div', { id: 'msg' }, why ? alertBox(why) : null);
  const form = h('form', { 'aria-label': 'Sign in' },
    h('label', { for: 'token' }, 'Admin token'), input,
    h('p', { class: 'muted' }, 'It is in <data>/admin.token on the hookd machine. It stays in this tab only.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    try {
      await api('GET', '/api/stats');
      route();
    } catch (e) {
      sessionStorage.removeItem(KEY);
      msg.replaceChildren(alertBox(e.status === 401 ? 'That token was refused (401).' : e));
    }
  });
  main.replaceChildren(h('section', { class: 'signin' }, h('h1', null, 'Sign in to hookd'), msg, form));
  input.focus();
}

const PAGES = {
  '': pageOverview, overview: pageOverview, webhooks: pageWebhooks, events: pageEvents,
  deliveries: pageDeliveries, subscriptions: pageSubscriptions, live: pageLive,
};
const DETAIL = { webhooks: pageWebhook, events: pageEvent, subscriptions: pageSubscription };

// Draws the page the address names: #/section[/id][?filters].
async function route(why) {
  clearInterval(timer);
  timer = null;
  if (live) live.abort();
  live = null;
  const g = ++gen;
  delete main.dataset.page;
  delete main.dataset.view;
  const signedIn = !!sessionStorage.getItem(KEY);
  $('#nav').hidden = !signedIn;
  $('#signout').hidden = !signedIn;
  if (!signedIn) {
    pageSignIn(typeof why === 'string' ? why : null);
    main.dataset.page = main.dataset.view = 'signin';
    return;
  }
  const raw = location.hash.replace(/^#\/?/, '');
  const [p, query = ''] = raw.split('?');
  const [section = '', id] = p.split('/').map(decodeURIComponent);
  const q = new URLSearchParams(query);
  for (const a of document.querySelectorAll('#nav a')) {
    const s = a.getAttribute('href').slice(2);
    if (s === section || (s === '' && section === 'overview')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const fn = id ? DETAIL[section] : PAGES[section];
  document.title = `${section || 'overview'} · hookd`;
  if (!fn) {
    main.replaceChildren(h('h1', null, 'Not found'), h('p', null, `The console has no page #/${raw}.`), h('a', { href: '#/' }, 'Overview'));
    return;
  }
  try {
    await fn(g, id || q, q);
  } catch (e) {
    if (g === gen) main.replaceChildren(alertBox(e));
  }
  // Marks the page drawn (the browser test waits for it).
  if (g === gen) {
    main.dataset.page = section || 'overview';
    main.dataset.view = p || 'overview';
  }
}

// On navigation the new page's heading takes the focus, so keyboard and
// screen reader users start at the top of what changed.
window.addEventListener('hashchange', async () => {
  if (location.hash.startsWith('#token=')) return location.reload();
  await route();
  const h1 = $('main h1');
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: true });
  }
});
$('#signout').addEventListener('click', () => signOut());
route();
