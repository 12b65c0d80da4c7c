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
// Types that are not 1-200 visible ASCII characters (SPEC §3).
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

  it('refuses a subscription header name or value outside visible ASCII, space and tab (create and PATCH)', async () => {
    const url = `${rx.url}/h`;
    const bad = [{ 'X-A': 'a\u007fb' }, { 'X-A': 'a\u0001b' }, { 'X-A': 'a\u0085b' }, { 'X-A': 'caf\u00e9' },
      { 'X-A': 'a\r\nX-Injected: yes' }, { 'X-A': 'a\nb' }, { 'X-\u00e9': 'v' },
      { 'X A': 'v' }, { 'X-A:': 'v' }, { '': 'v' }, { 'X-A\r\nX-Injected': 'v' }];
    for (const headers of bad)
      assertError(await h.api('POST', '/api/subscriptions', { url, events: ['never'], headers }), 400, 'bad_request');
    const s = (await h.api('POST', '/api/subscriptions', { url, events: ['never'], headers: { 'X-Ok': 'printable: ~!' } })).body;
    assert.ok(s.id);
    for (const headers of bad)
      assertError(await h.api('PATCH', `/api/subscriptions/${s.id}`, { headers }), 400, 'bad_request');
    assert.equal((await h.api('DELETE', `/api/subscriptions/${s.id}`)).status, 204);
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
