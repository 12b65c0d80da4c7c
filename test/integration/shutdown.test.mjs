// SIGTERM with requests still arriving (ISSUE13 item 14, proto/operation.md): hookd
// stops accepting, finishes receiving and answers what is under way
// within --shutdown-grace, closes idle connections, exits 0 as soon as
// nothing is under way, and what it answered 202 is stored.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Hookd } from '../lib/hookd.mjs';

function connect(base) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => resolve(s));
    s.on('error', reject);
  });
}

// Collects what S receives; .ended resolves when it closes (or after MS).
function reader(s, ms = 15000) {
  const r = { got: '' };
  s.setEncoding('latin1');
  s.on('data', (d) => { r.got += d; });
  r.ended = new Promise((resolve) => {
    const t = setTimeout(() => resolve('timeout'), ms);
    s.on('close', () => { clearTimeout(t); resolve('closed'); });
    s.on('error', () => {});
  });
  return r;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const head = (len) => `POST /webhooks/n HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${len}\r\n\r\n`;

describe('SIGTERM', () => {
  it('takes a publish and logs an ingest completed during the grace, like ingest itself', async () => {
    const h = await new Hookd({ args: ['--shutdown-grace', '30s'] }).start();
    try {
      await h.api('POST', '/api/webhooks', { name: 'n', auth: 'none', rateLimit: 0 });
      const pub = JSON.stringify({ event: 'late.publish', payload: { marker: 'late-publish' } });
      const adm = await connect(h.admin);
      const ar = reader(adm);
      adm.write(`POST /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${pub.length}\r\n\r\n` + pub.slice(0, 10));
      const body = JSON.stringify({ event: 'late.ingest' });
      const half = await connect(h.pub);
      const hr = reader(half);
      half.write(head(body.length) + body.slice(0, 5));
      await sleep(200);
      h.proc.kill('SIGTERM');
      await sleep(500);
      adm.write(pub.slice(10));
      half.write(body.slice(5));
      assert.equal(await ar.ended, 'closed');
      assert.match(ar.got, /^HTTP\/1\.1 202 /, ar.got);
      assert.equal(await hr.ended, 'closed');
      assert.match(hr.got, /^HTTP\/1\.1 202 /, hr.got);
      const st = await Promise.race([h.exited, sleep(15000).then(() => 'still running')]);
      assert.deepEqual(st, { code: 0, signal: null });
      h.check(st);
      await h.restart();
      const types = (await h.api('GET', '/api/events?limit=10')).body.data.map((e) => e.event ?? e.type);
      assert.ok(types.includes('late.publish'), JSON.stringify(types));
      assert.ok(types.includes('late.ingest'), JSON.stringify(types));
      const log = (await h.api('GET', '/api/webhooks/n/logs')).body.data;
      assert.ok(log.some((e) => e.status === 202), JSON.stringify(log));
    } finally {
      await h.stop();
      h.cleanup();
    }
  });

  it('answers a body completed 1 s later, closes idle connections, refuses new ones, stores it', async () => {
    const h = await new Hookd({ args: ['--shutdown-grace', '30s'] }).start();
    try {
      await h.api('POST', '/api/webhooks', { name: 'n', auth: 'none', rateLimit: 0 });
      // An idle keep-alive connection, after one answered request.
      const idle = await connect(h.pub);
      const ir = reader(idle);
      idle.write(head(2) + '{}');
      while (!/\r\n\r\n[^]*\n$/.test(ir.got)) await sleep(20);
      assert.match(ir.got, /^HTTP\/1\.1 202 /);
      // A request whose body is half sent.
      const body = JSON.stringify({ marker: 'late-body', pad: 'p'.repeat(2000) });
      const half = await connect(h.pub);
      const hr = reader(half);
      half.write(head(body.length) + body.slice(0, 1000));
      await sleep(200);
      const t0 = Date.now();
      h.proc.kill('SIGTERM');
      // The idle connection is closed; new connections are refused.
      assert.equal(await ir.ended, 'closed');
      await sleep(300);
      const refused = await new Promise((resolve) => {
        const u = new URL(h.pub);
        const s = net.connect(Number(u.port), u.hostname);
        s.on('error', (e) => resolve(e.code));
        s.on('connect', () => { s.destroy(); resolve('accepted'); });
      });
      assert.equal(refused, 'ECONNREFUSED');
      // One second after the signal the rest of the body comes: answered.
      await sleep(Math.max(0, 1000 - (Date.now() - t0)));
      half.write(body.slice(1000));
      assert.equal(await hr.ended, 'closed');
      assert.match(hr.got, /^HTTP\/1\.1 202 /, hr.got);
      assert.match(hr.got, /\r\nConnection: close\r\n/i);
      // Nothing else under way: hookd exits long before the 30 s grace.
      const st = await Promise.race([h.exited, sleep(15000).then(() => 'still running')]);
      assert.deepEqual(st, { code: 0, signal: null });
      h.check(st);
      await h.restart();
      const ev = (await h.api('GET', '/api/events?limit=10')).body.data;
      const ids = ev.map((e) => e.id);
      const full = await Promise.all(ids.map(async (id) => (await h.api('GET', `/api/events/${id}`)).text));
      assert.ok(full.some((t) => t.includes('late-body')), 'the late body was not stored');
    } finally {
      await h.stop();
      h.cleanup();
    }
  });

  it('exits 0 at the end of the grace when a body never completes', async () => {
    const h = await new Hookd({ args: ['--shutdown-grace', '1s'] }).start();
    try {
      await h.api('POST', '/api/webhooks', { name: 'n', auth: 'none', rateLimit: 0 });
      const half = await connect(h.pub);
      const hr = reader(half);
      half.write(head(100) + '{"a":');
      await sleep(200);
      h.proc.kill('SIGTERM');
      const st = await Promise.race([h.exited, sleep(15000).then(() => 'still running')]);
      assert.deepEqual(st, { code: 0, signal: null });
      assert.equal(await hr.ended, 'closed');
    } finally {
      await h.stop();
      h.cleanup();
    }
  });
});
