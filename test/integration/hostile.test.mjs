// Hostile bytes flowing to the outgoing side (ISSUE13 items 1, 11, 13):
// request splitting through the event type from every source, header
// values a subscription may carry, numbers that do not fit a double, and
// svix-id as an idempotency key. Receivers are real: Node's own HTTP
// server (whose parser would obey a forged request) and a raw socket
// that keeps every byte hookd sent.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Hookd, raw } from '../lib/hookd.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

function assertError(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
  assert.equal(res.body.error.code, code, res.text);
}

// A request-splitting payload: a header, a body end, a second request.
const SPLIT = 'x\r\nX-Injected: yes\r\nContent-Length: 0\r\n\r\nPOST /admin HTTP/1.1\r\nHost: evil\r\nX-Injected: yes\r\n\r\n';
// Types that are not 1-200 visible ASCII characters (proto/http.md).
const BAD_TYPES = [SPLIT, 'a\nb', 'a\rb', 'a b', 'a\tb', 'a\u0001b', 'a\u007fb', 'a\u0085b', 'caf\u00e9', 'a\u0000b', 'x'.repeat(201)];

// A receiver that keeps the raw bytes of every request it is sent, and
// answers each (by its Content-Length) with 200.
class RawReceiver {
  constructor() { this.requests = []; this.bytes = []; this.sockets = new Set(); }

  async start() {
    this.server = net.createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        this.bytes.push(d);
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.subarray(0, end).toString('latin1');
          const m = /\r\ncontent-length: *(\d+)/i.exec(head);
          const len = m ? Number(m[1]) : 0;
          if (buf.length < end + 4 + len) return;
          this.requests.push({ head, body: buf.subarray(end + 4, end + 4 + len).toString('latin1') });
          buf = buf.subarray(end + 4 + len);
          s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        }
      });
      s.on('error', () => {});
    });
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  all() { return Buffer.concat(this.bytes).toString('latin1'); }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

// RFC 9110 field-name token, then ": ", then visible ASCII, space, tab.
const LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [\x20-\x7e\t]*$/;

// Checks the head of one raw request: a request line, then header lines
// that each keep to LINE, with no CR or LF inside a value.
function assertCleanHead(head) {
  const lines = head.split('\r\n');
  assert.match(lines[0], /^POST \/[!-~]* HTTP\/1\.1$/, `request line: ${JSON.stringify(lines[0])}`);
  for (const l of lines.slice(1)) {
    assert.match(l, LINE, `header line: ${JSON.stringify(l)}`);
    assert.ok(!/[\r\n]/.test(l), `CR or LF inside ${JSON.stringify(l)}`);
  }
  assert.ok(!/x-injected/i.test(head), `an injected header: ${head}`);
}

describe('request splitting through the event type (every source)', () => {
  let h, rx, rr, wh;
  const hostile = [];

  before(async () => {
    rx = await new Receiver().start();
    rr = await new RawReceiver().start();
    h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
    wh = (await h.api('POST', '/api/webhooks', { name: 'open', auth: 'none', rateLimit: 0 })).body;
    assert.ok(wh.id);
    for (const url of [`${rx.url}/in`, `${rr.url}/in`])
      assert.equal((await h.api('POST', '/api/subscriptions', { url, events: ['*'], headers: { 'X-Custom': 'a b\tc' } })).status, 201);
  });
  after(async () => { await h.stop(); h.cleanup(); await rx.stop(); await rr.stop(); });

  it('refuses a body event or type that is not visible ASCII with 400', async () => {
    for (const t of BAD_TYPES) {
      assertError(await h.post('/webhooks/open', { event: t }), 400, 'bad_request');
      assertError(await h.post('/webhooks/open', { type: t }), 400, 'bad_request');
    }
    // A type hidden behind a NUL escape is refused, not cut short.
    assertError(await h.post('/webhooks/open', '{"event":"ok\\u0000\\r\\nX-Injected: yes"}'), 400, 'bad_request');
  });

  it('refuses a header event type that is not visible ASCII with 400 (raw socket)', async () => {
    // fetch refuses to send most of these bytes: a raw request does.
    for (const name of ['X-Webhook-Event', 'X-GitHub-Event', 'X-Event-Type']) {
      for (const v of ['a\x01b', 'a\x7fb', 'a\x85b', 'caf\xc3\xa9', 'a b', 'a\tb']) {
        const body = '{"ok":1}';
        const req = `POST /webhooks/open HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${name}: ${v}\r\n` +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
        const got = await raw(h.pub, Buffer.from(req, 'latin1'));
        assert.match(got, /^HTTP\/1\.1 400 /, `${name}: ${JSON.stringify(v)} got ${got.slice(0, 200)}`);
        assert.match(got, /"bad_request"/);
      }
    }
  });

  it('refuses an eventType.header, eventType.json, eventType.fixed or eventPrefix that makes a bad type', async () => {
    const mk = async (name, extra) => {
      const r = await h.api('POST', '/api/webhooks', { name, auth: 'none', rateLimit: 0, ...extra });
      // Refused when saved, or else when a request uses it: never sent.
      if (r.status === 400) { assertError(r, 400, 'bad_request'); return null; }
      assert.equal(r.status, 201, r.text);
      return r.body;
    };
    const fixed = await mk('fixed', { eventType: { fixed: SPLIT } });
    if (fixed) assertError(await h.post('/webhooks/fixed', { a: 1 }), 400, 'bad_request');
    const prefix = await mk('prefix', { eventPrefix: 'p\r\nX-Injected: yes\r\n.' });
    if (prefix) assertError(await h.post('/webhooks/prefix', { event: 'ok' }), 400, 'bad_request');
    const del = await mk('prefix-del', { eventPrefix: 'p\u007f.' });
    if (del) assertError(await h.post('/webhooks/prefix-del', { event: 'ok' }), 400, 'bad_request');
    assert.ok(await mk('ptr', { eventType: { json: '/meta/kind' } }));
    assertError(await h.post('/webhooks/ptr', { meta: { kind: SPLIT } }), 400, 'bad_request');
    assertError(await h.post('/webhooks/ptr', { meta: { kind: 'a\u0085b' } }), 400, 'bad_request');
    assert.ok(await mk('hdr', { eventType: { header: 'X-Kind' } }));
    const body = '{"ok":1}';
    const req = `POST /webhooks/hdr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Kind: a\x01b\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    assert.match(await raw(h.pub, Buffer.from(req, 'latin1')), /^HTTP\/1\.1 400 /);
  });

  it('refuses a webhook whose eventType.fixed or eventPrefix is outside visible ASCII when it is saved (create and PATCH)', async () => {
    const bad = [{ eventType: { fixed: SPLIT } }, { eventType: { fixed: 'a b' } }, { eventType: { fixed: 'a\u0085b' } },
      { eventPrefix: 'p\r\nX-Injected: yes\r\n.' }, { eventPrefix: 'p\u007f.' }, { eventPrefix: 'caf\u00e9.' }];
    let i = 0;
    for (const extra of bad) {
      assertError(await h.api('POST', '/api/webhooks', { name: `save-${i++}`, auth: 'none', ...extra }), 400, 'bad_request');
      assertError(await h.api('PATCH', '/api/webhooks/open', extra), 400, 'bad_request');
    }
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'save-ok', auth: 'none', eventPrefix: 'ci.', eventType: { fixed: 'build.done' } })).status, 201);
  });

  it('refuses such a type from POST /api/events, a webhook test and test-delivery', async () => {
    for (const t of BAD_TYPES) {
      assertError(await h.api('POST', '/api/events', { event: t, payload: { a: 1 } }), 400, 'bad_request');
      assertError(await h.api('POST', `/api/webhooks/${wh.id}/test`, { event: t }), 400, 'bad_request');
      assertError(await h.api('POST', '/api/test-delivery', { url: `${rx.url}/direct`, event: t }), 400, 'bad_request');
      assertError(await h.api('POST', '/api/test-delivery', { url: `${rr.url}/direct`, event: t }), 400, 'bad_request');
    }
  });

  it('refuses a subscription header name or value outside visible ASCII, space and tab (create and PATCH)', async () => {
    const url = `${rx.url}/h`;
    const bad = [{ 'X-A': 'a\u007fb' }, { 'X-A': 'a\u0001b' }, { 'X-A': 'a\u0085b' }, { 'X-A': 'caf\u00e9' },
      { 'X-A': 'a\r\nX-Injected: yes' }, { 'X-A': 'a\nb' }, { 'X-\u00e9': 'v' },
      { 'X A': 'v' }, { 'X-A:': 'v' }, { '': 'v' }, { 'X-A\r\nX-Injected': 'v' }];
    for (const headers of bad)
      assertError(await h.api('POST', '/api/subscriptions', { url, events: ['never'], headers }), 400, 'bad_request');
    const s = (await h.api('POST', '/api/subscriptions', { url, events: ['never'], headers: { 'X-Ok': 'printable: ~!' } })).body;
    assert.ok(s.id);
    for (const headers of bad) {
      assertError(await h.api('PATCH', `/api/subscriptions/${s.id}`, { headers }), 400, 'bad_request');
      assertError(await h.api('PUT', `/api/subscriptions/${s.id}`, { url, events: ['never'], headers }), 400, 'bad_request');
    }
    assert.equal((await h.api('DELETE', `/api/subscriptions/${s.id}`)).status, 204);
  });

  it('refuses a subscription URL with a byte outside visible ASCII (create and PATCH)', async () => {
    const sub = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/other`, events: ['none.such'] })).body;
    assert.ok(sub.id);
    for (const url of [`${rx.url}/a\u0085b`, `${rx.url}/caf\u00e9`, `${rx.url}/a\u007fb`, `${rx.url}/a\tb`]) {
      assertError(await h.api('POST', '/api/subscriptions', { url, events: ['*'] }), 400, 'bad_request');
      assertError(await h.api('PATCH', `/api/subscriptions/${sub.id}`, { url }), 400, 'bad_request');
    }
    assert.equal((await h.api('DELETE', `/api/subscriptions/${sub.id}`)).status, 204);
  });

  it('delivers nothing forged: no injected header or request reached either receiver', async () => {
    // A good event after the hostile ones: once it is there, anything
    // the hostile ones had made would be too.
    const ok = await h.post('/webhooks/open', { event: 'after.hostile' });
    assert.equal(ok.status, 202, ok.text);
    const d = await h.api('POST', '/api/test-delivery', { url: `${rr.url}/direct`, event: 'direct.ok' });
    assert.equal(d.body.success, true, d.text);
    await rx.until(() => rx.to('/in').length >= 1, 10000, 'the good event (node receiver)');
    await poll(() => rr.requests.filter((r) => r.head.startsWith('POST /in ')).length >= 1, 10000, 'the good event (raw receiver)');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(rx.requests.map((r) => r.path).filter((p) => p !== '/in'), []);
    assert.equal(rx.to('/in').length, 1, JSON.stringify(rx.requests.map((r) => r.headers['x-webhook-event'])));
    for (const r of rx.requests) {
      assert.equal(r.headers['x-injected'], undefined);
      assert.equal(r.headers['x-webhook-event'], 'after.hostile');
      assert.equal(r.headers['x-custom'], 'a b\tc');
    }
    assert.equal(rr.requests.length, 2, rr.all());
    for (const r of rr.requests) assertCleanHead(r.head);
    assert.ok(!rr.all().includes('X-Injected'), rr.all());
    assert.ok(!rr.all().includes('/admin'), rr.all());
  });
});

// A payload with numbers a double cannot hold, sent as text (JS cannot
// hold them either).
const NUMS = '{"id":1096473593264894053,"neg":-0,"big":1e400,"f":0.1,"d30":123456789012345678901234567890,"list":[18446744073709551615,-9007199254740993]}';
const TMPL = '{"id":${payload.id},"neg":${payload.neg},"big":${payload.big},"f":${payload.f},"d30":${payload.d30},"l1":${payload.list.1}}';
const RENDERED = '{"id":1096473593264894053,"neg":-0,"big":1e400,"f":0.1,"d30":123456789012345678901234567890,"l1":-9007199254740993}';

describe('numbers keep their digits exactly (item 11)', () => {
  let h, rx, wh;

  before(async () => {
    rx = await new Receiver().start();
    h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
    wh = (await h.api('POST', '/api/webhooks', { name: 'nums', auth: 'none', rateLimit: 0 })).body;
    assert.equal((await h.api('POST', '/api/subscriptions', { url: `${rx.url}/plain`, events: ['num.*', 'webhook.test'] })).status, 201);
    const t = await h.api('POST', '/api/subscriptions', { url: `${rx.url}/tmpl`, events: ['num.*'], template: TMPL });
    assert.equal(t.status, 201, t.text);
  });
  after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });

  const envelopeOf = (evt) => rx.to('/plain').find((r) => JSON.parse(r.body.replace(/"payload":.*$/s, '"payload":null}')).id === evt);

  it('POST /api/events: stored, shown, delivered and templated with the digits as sent', async () => {
    const r = await h.api('POST', '/api/events', `{"event":"num.published","payload":${NUMS}}`);
    assert.equal(r.status, 202, r.text);
    const evt = r.body.eventId;
    const show = await h.api('GET', `/api/events/${evt}`);
    assert.ok(show.text.includes(`"payload":${NUMS}`), show.text);
    await rx.until(() => envelopeOf(evt) && rx.to('/tmpl').length >= 1, 10000, 'both deliveries');
    assert.ok(envelopeOf(evt).body.endsWith(`"payload":${NUMS}}`), envelopeOf(evt).body);
    assert.equal(rx.to('/tmpl')[0].body, RENDERED);
  });

  it('an ingested event: the template gets the digits as received', async () => {
    const r = await h.post('/webhooks/nums', NUMS.replace('{', '{"event":"num.ingested",'));
    assert.equal(r.status, 202, r.text);
    await rx.until(() => envelopeOf(r.body.eventId) && rx.to('/tmpl').length >= 2, 10000, 'both deliveries');
    assert.equal(rx.to('/tmpl')[1].body, RENDERED);
  });

  it('a replay delivers the same digits', async () => {
    const r = await h.api('POST', '/api/events', `{"event":"num.replayed","payload":${NUMS}}`);
    const evt = r.body.eventId;
    await rx.until(() => rx.to('/tmpl').length >= 3, 10000, 'the first deliveries');
    const rp = await h.api('POST', `/api/events/${evt}/replay`);
    assert.equal(rp.status, 202, rp.text);
    await rx.until(() => rx.to('/tmpl').length >= 4 && rx.to('/plain').filter((x) => x.body.includes(evt)).length >= 2, 10000, 'the replay');
    for (const x of rx.to('/plain').filter((y) => y.body.includes(evt))) assert.ok(x.body.endsWith(`"payload":${NUMS}}`), x.body);
    assert.equal(rx.to('/tmpl')[3].body, RENDERED);
  });

  it('a webhook test and test-delivery send the payload digits as given', async () => {
    const t = await h.api('POST', `/api/webhooks/${wh.id}/test`, `{"payload":${NUMS}}`);
    assert.equal(t.status, 202, t.text);
    await rx.until(() => envelopeOf(t.body.eventId), 10000, 'the webhook test');
    assert.ok(envelopeOf(t.body.eventId).body.endsWith(`"payload":${NUMS}}`), envelopeOf(t.body.eventId).body);
    const d = await h.api('POST', '/api/test-delivery', `{"url":"${rx.url}/direct","event":"num.direct","payload":${NUMS}}`);
    assert.equal(d.body.success, true, d.text);
    assert.ok(rx.to('/direct')[0].body.endsWith(`"payload":${NUMS}}`), rx.to('/direct')[0].body);
  });
});

describe('svix-id is an idempotency key (item 13)', () => {
  let h;
  before(async () => {
    h = await new Hookd().start();
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'svix', auth: 'none', rateLimit: 0 })).status, 201);
  });
  after(async () => { await h.stop(); h.cleanup(); });

  it('a repeat with the same svix-id is a duplicate of the first event', async () => {
    const first = await h.post('/webhooks/svix', { type: 'invoice.paid' }, { 'svix-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W' });
    assert.equal(first.status, 202, first.text);
    const again = await h.post('/webhooks/svix', { type: 'invoice.paid' }, { 'svix-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W' });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.status, 'duplicate');
    assert.equal(again.body.eventId, first.body.eventId);
    const other = await h.post('/webhooks/svix', { type: 'invoice.paid' }, { 'svix-id': 'msg_other' });
    assert.equal(other.status, 202, other.text);
    const list = await h.api('GET', '/api/events?source=svix');
    assert.equal(list.body.data.length, 2);
  });

  it('webhook-id comes before svix-id when both are sent', async () => {
    const a = await h.post('/webhooks/svix', { type: 't' }, { 'webhook-id': 'wid_1', 'svix-id': 'sid_1' });
    assert.equal(a.status, 202, a.text);
    const b = await h.post('/webhooks/svix', { type: 't' }, { 'webhook-id': 'wid_1', 'svix-id': 'sid_2' });
    assert.equal(b.status, 200, b.text);
    assert.equal(b.body.eventId, a.body.eventId);
  });
});
