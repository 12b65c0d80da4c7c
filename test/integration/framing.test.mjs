// Message framing that proto/api.md refuses (ISSUE13 item 15): each is
// answered 400 bad_request with Connection: close, the connection is
// closed, and nothing is stored. Raw bytes over node:net, as a hostile
// or broken client would send them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Hookd, raw } from '../lib/hookd.mjs';

// Sends BYTES; resolves with {got, closed}: closed is false when hookd
// kept the connection open for 3 s after its answer.
const send = (base, bytes) => raw(base, bytes, { detail: true });

const body = '{"framing":1}'; // 13 bytes: 0xd
const head = 'POST /webhooks/n HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n';

const cases = {
  'a chunk size with 0x': `${head}Transfer-Encoding: chunked\r\n\r\n0xd\r\n${body}\r\n0\r\n\r\n`,
  'a signed Content-Length': `${head}Content-Length: +13\r\n\r\n${body}`,
  'a negative Content-Length': `${head}Content-Length: -1\r\n\r\n${body}`,
  'a space before the colon of Transfer-Encoding': `${head}Transfer-Encoding : chunked\r\nContent-Length: 23\r\n\r\nd\r\n${body}\r\n0\r\n\r\n`,
  'a tab before the colon of a header': `${head}Content-Length\t: 13\r\n\r\n${body}`,
  'chunked in HTTP/1.0': `POST /webhooks/n HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n${body}\r\n0\r\n\r\n`,
  'HTTP/1.1 without Host': `POST /webhooks/n HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n${body}`,
  'HTTP/1.1 with two Host headers': `${head}Host: y\r\nContent-Length: 13\r\n\r\n${body}`,
};

describe('framing refused', () => {
  let h;
  before(async () => {
    h = await new Hookd().start();
    await h.api('POST', '/api/webhooks', { name: 'n', auth: 'none', rateLimit: 0 });
  });
  after(async () => { await h.stop(); h.cleanup(); });

  for (const [name, bytes] of Object.entries(cases)) {
    it(`${name}: 400 bad_request, and the connection is closed`, async () => {
      const { got, closed } = await send(h.pub, bytes);
      assert.match(got, /^HTTP\/1\.[01] 400 /, got);
      assert.match(got, /"bad_request"/);
      assert.match(got, /\r\nConnection: close\r\n/i);
      assert.equal((got.match(/HTTP\/1\.[01] \d+/g) ?? []).length, 1, got);
      assert.ok(closed, 'hookd kept the connection open');
    });
  }

  it('stored none of them, and well-framed requests still pass', async () => {
    assert.equal((await h.api('GET', '/api/stats')).body.ingest.accepted, 0);
    const ok = [
      `${head}Content-Length: 13\r\n\r\n${body}`,
      `${head}Transfer-Encoding: chunked\r\n\r\nD\r\n${body}\r\n0\r\n\r\n`,
      `${head}Transfer-Encoding: chunked\r\n\r\nd;ext=1\r\n${body}\r\n0\r\n\r\n`,
      `POST /webhooks/n HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n${body}`,
      `${head}Content-Length:\t13\r\n\r\n${body}`,
    ];
    for (const bytes of ok) {
      const { got } = await send(h.pub, bytes + 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(got, /^HTTP\/1\.[01] 202 /, got);
    }
  });
});
