// Connection churn as real senders make it (ISSUE13 items 2 and 16): a
// connection per request (Connection: close, HTTP/1.0, node's http with
// agent:false), descriptors reused at once by the next accept, across
// both listeners; pipelined requests followed by a half-close.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Hookd, raw } from '../lib/hookd.mjs';

// A POST over node's http with a connection of its own; resolves with
// the status, or 0 when no answer came within 5 s.
function agentless(base, path, body) {
  const u = new URL(base);
  return new Promise((resolve) => {
    const req = http.request({ host: u.hostname, port: Number(u.port), path, method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.setTimeout(5000, () => { req.destroy(); resolve(0); });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

// Writes BYTES on one connection, half-closes it (shutdown(SHUT_WR)) and
// resolves with everything read until the server closes (or 10 s).
const halfClose = (base, bytes) => raw(base, bytes, { end: true, waitMs: 10000 });

const status = (r) => Number(/^HTTP\/1\.[01] (\d+)/.exec(r)?.[1] ?? 0);

describe('connection churn', () => {
  let h;
  const big = (n) => JSON.stringify({ pad: 'x'.repeat(n) });
  before(async () => {
    h = await new Hookd({ args: ['--max-body', '1mb'] }).start();
    await h.api('POST', '/api/webhooks', { name: 'n', auth: 'none', rateLimit: 0 });
  });
  after(async () => { await h.stop(); h.cleanup(); });

  it('answers every Connection: close and HTTP/1.0 request of 8 KiB in a row', async () => {
    const body = big(8192);
    const got = [];
    for (let i = 0; i < 20; i++) {
      const v = i % 2 === 0 ? '1.1' : '1.0';
      const r = await raw(h.pub, `POST /webhooks/n HTTP/${v}\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      got.push(status(r));
    }
    assert.deepEqual(got, Array(20).fill(202));
  });

  it('answers node http with agent:false, a connection per request', async () => {
    const body = big(6144);
    const got = [];
    for (let i = 0; i < 40; i++) got.push(await agentless(h.pub, '/webhooks/n', body));
    assert.deepEqual(got, Array(40).fill(202));
  });

  it('answers public POSTs while the admin listener is probed with Connection: close', async () => {
    const body = big(6144);
    let probing = true;
    const probes = [];
    const probe = (async () => {
      while (probing) {
        probes.push(status(await raw(h.admin, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const got = [];
    try {
      for (let i = 0; i < 40; i++) got.push(await agentless(h.pub, '/webhooks/n', body));
    } finally {
      probing = false;
      await probe;
    }
    assert.deepEqual(got, Array(40).fill(202));
    assert.ok(probes.length > 0);
    assert.deepEqual(new Set(probes), new Set([200]));
    const st = (await h.api('GET', '/api/stats')).body;
    assert.equal(st.ingest.accepted, 100);
  });

  it('answers 20 pipelined POSTs sent before a half-close, and stores them', async () => {
    const before = (await h.api('GET', '/api/stats')).body.ingest.accepted;
    let bytes = '';
    for (let i = 0; i < 20; i++) {
      const body = JSON.stringify({ i, pad: 'y'.repeat(300) });
      bytes += `POST /webhooks/n HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    }
    const got = await halfClose(h.pub, bytes);
    const answers = got.match(/^HTTP\/1\.1 \d+/gm) ?? [];
    assert.deepEqual(answers, Array(20).fill('HTTP/1.1 202'));
    const st = (await h.api('GET', '/api/stats')).body;
    assert.equal(st.ingest.accepted - before, 20);
  });
});
