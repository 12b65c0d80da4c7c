// The body ceiling per route (ISSUE13 items 8 and 17, proto/operation.md "Bodies"):
// one webhook's large maxBody raises the ceiling for that webhook only, a
// path that names no webhook is refused before its body is read, and a
// 413 answered from Content-Length is in the webhook's request log.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Hookd, raw } from '../lib/hookd.mjs';

// Sends only the head of a request that announces a big body, and
// resolves with what hookd answers before any body byte is sent (or ''
// after 3 s: hookd waited for the body).
const headOnly = (base, bytes) => raw(base, bytes);

const MB = 1024 * 1024;
const head = (path, extra = '') => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n`;

// Sends a whole request with a body of N bytes, written without waiting
// for an answer, as most clients do; resolves with what hookd answered.
const whole = (base, path, n) =>
  raw(base, Buffer.concat([Buffer.from(head(path, `Content-Length: ${n}\r\n`)), Buffer.alloc(n, 'a')]), { end: true, waitMs: 10000 });

describe('body ceiling per route', () => {
  let h, small;
  before(async () => {
    h = await new Hookd().start();
    await h.api('POST', '/api/webhooks', { name: 'big', auth: 'none', rateLimit: 0, maxBody: 200 * MB });
    small = (await h.api('POST', '/api/webhooks', { name: 'small', auth: 'none', rateLimit: 0 })).body;
  });
  after(async () => { await h.stop(); h.cleanup(); });

  it('a path that names no webhook is answered 404 before its body is sent', async () => {
    for (const path of ['/webhooks/does-not-exist', '/hooks/whtok_nosuchtoken', '/elsewhere']) {
      const got = await headOnly(h.pub, head(path, `Content-Length: ${150 * MB}\r\n`));
      assert.match(got, /^HTTP\/1\.1 404 /, `${path}: ${got}`);
      assert.match(got, /"not_found"/);
      assert.match(got, /\r\nConnection: close\r\n/i);
    }
  });

  it('with Expect: 100-continue, no 100 Continue for a body that is refused', async () => {
    const got = await headOnly(h.pub, head('/webhooks/does-not-exist', `Content-Length: ${150 * MB}\r\nExpect: 100-continue\r\n`));
    assert.doesNotMatch(got, /100 Continue/);
    assert.match(got, /^HTTP\/1\.1 404 /, got);
    const got2 = await headOnly(h.pub, head('/webhooks/small', `Content-Length: ${150 * MB}\r\nExpect: 100-continue\r\n`));
    assert.doesNotMatch(got2, /100 Continue/);
    assert.match(got2, /^HTTP\/1\.1 413 /, got2);
  });

  it('a chunked body to no webhook is refused at its first chunk', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const got = await headOnly(h.pub, head('/webhooks/does-not-exist', 'Transfer-Encoding: chunked\r\n') + `${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    assert.match(got, /^HTTP\/1\.1 404 /, got);
  });

  it("a webhook's own maxBody: 413 for small from Content-Length, big waits for its body", async () => {
    const got = await headOnly(h.pub, head('/webhooks/small', `Content-Length: ${2 * MB}\r\n`));
    assert.match(got, /^HTTP\/1\.1 413 /, got);
    assert.match(got, /"payload_too_large"/);
    // 150 MB is within big's maxBody: hookd waits for the body.
    assert.equal(await headOnly(h.pub, head('/webhooks/big', `Content-Length: ${150 * MB}\r\n`)), '');
    // A 2 MB body for big is read and accepted.
    const body = JSON.stringify({ pad: 'z'.repeat(2 * MB) });
    assert.equal((await h.post('/webhooks/big', body)).status, 202);
  });

  it('a client that sends its refused body anyway still reads the answer', async () => {
    const got = await whole(h.pub, '/webhooks/does-not-exist', 8 * MB);
    assert.match(got, /^HTTP\/1\.1 404 /, got);
    const got2 = await whole(h.pub, '/webhooks/small', 8 * MB);
    assert.match(got2, /^HTTP\/1\.1 413 /, got2);
  });

  it('a 413 answered from Content-Length is in the request log', async () => {
    await headOnly(h.pub, head(`/webhooks/${small.id}`, `Content-Length: ${3 * MB}\r\n`));
    const logs = (await h.api('GET', '/api/webhooks/small/logs')).body.data;
    const e = logs.find((l) => l.status === 413);
    assert.ok(e, JSON.stringify(logs));
    assert.equal(e.error, 'payload_too_large');
  });
});
