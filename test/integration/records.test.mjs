// Records under concurrent change (ISSUE13 items 3, 10, 12, 19, 20):
// admin calls racing each other and the engine's own saves, a stored
// target that a restart no longer allows, retry-now of a pending
// delivery, sealed custom header values, and bounded rates.
//
// Concurrent admin calls go on separate connections (node:http with
// agent:false), started together with Promise.all.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Hookd, dataRoot, lmdbOnly } from '../lib/hookd.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

const ROUNDS = 20;
const ALLOW = ['--allow-targets', '127.0.0.0/8'];

// One request on its own connection; resolves {status, body, text}.
function call(base, method, path, { token, body } = {}) {
  const u = new URL(base + path);
  const data = body === undefined ? undefined : JSON.stringify(body);
  const headers = { connection: 'close' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (data !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(data);
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, body: parsed, text });
      });
    });
    req.setTimeout(10000, () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end(data);
  });
}

function admin(h, method, path, body) {
  return call(h.admin, method, path, { token: h.token, body }).then((r) => { h.note(r.text); return r; });
}

function ingest(h, token, body = { n: 1 }, name = null) {
  h.note(token);
  if (name) return call(h.pub, 'POST', `/webhooks/${name}`, { token, body });
  return call(h.pub, 'POST', `/hooks/${token}`, { body });
}

async function delivery(h, evt) {
  const e = await admin(h, 'GET', `/api/events/${evt}`);
  return e.body.deliveries && e.body.deliveries[0];
}

async function deliveryOf(h, evt) {
  const d = await poll(() => delivery(h, evt), 10000, 'the delivery record');
  return (await admin(h, 'GET', `/api/deliveries/${d.id}`)).body;
}

describe('records under concurrent change', () => {
  let h, rx;
  before(async () => {
    rx = await new Receiver().start();
    h = await new Hookd({ args: ALLOW }).start();
  });
  after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });

  it('regenerate and PATCH at once: the new token works, the old one is refused, the PATCH holds', async () => {
    const c = await admin(h, 'POST', '/api/webhooks', { name: 'race-regen' });
    assert.equal(c.status, 201, c.text);
    let token = c.body.token;
    for (let i = 0; i < ROUNDS; i++) {
      const [g, p] = await Promise.all([
        admin(h, 'POST', `/api/webhooks/${c.body.id}/regenerate`),
        admin(h, 'PATCH', `/api/webhooks/${c.body.id}`, { description: `round ${i}` }),
      ]);
      assert.equal(g.status, 200, g.text);
      assert.equal(p.status, 200, p.text);
      assert.equal((await ingest(h, g.body.token, {}, 'race-regen')).status, 202, `round ${i}: the new token`);
      assert.equal((await ingest(h, token, {}, 'race-regen')).status, 401, `round ${i}: the old token`);
      const show = await admin(h, 'GET', `/api/webhooks/${c.body.id}`);
      assert.equal(show.body.description, `round ${i}`, `round ${i}: the PATCH`);
      token = g.body.token;
    }
  });

  it('two PATCHes of different fields at once: both hold', async () => {
    const c = await admin(h, 'POST', '/api/webhooks', { name: 'race-patch' });
    for (let i = 0; i < ROUNDS; i++) {
      const [a, b] = await Promise.all([
        admin(h, 'PATCH', `/api/webhooks/${c.body.id}`, { description: `d${i}` }),
        admin(h, 'PATCH', `/api/webhooks/${c.body.id}`, { eventPrefix: `p${i}.` }),
      ]);
      assert.equal(a.status, 200, a.text);
      assert.equal(b.status, 200, b.text);
      const show = (await admin(h, 'GET', `/api/webhooks/${c.body.id}`)).body;
      assert.deepEqual([show.description, show.eventPrefix], [`d${i}`, `p${i}.`], `round ${i}`);
    }
  });

  it('rotate-secret and PATCH at once: the rotated secret signs the deliveries', async () => {
    const s = await admin(h, 'POST', '/api/subscriptions', { url: `${rx.url}/rot`, events: ['rot.*'] });
    assert.equal(s.status, 201, s.text);
    for (let i = 0; i < ROUNDS; i++) {
      const [r, p] = await Promise.all([
        admin(h, 'POST', `/api/subscriptions/${s.body.id}/rotate-secret`),
        admin(h, 'PATCH', `/api/subscriptions/${s.body.id}`, { description: `round ${i}` }),
      ]);
      assert.equal(r.status, 200, r.text);
      assert.equal(p.status, 200, p.text);
      const sec = await admin(h, 'GET', `/api/subscriptions/${s.body.id}/secret`);
      assert.equal(sec.body.secret, r.body.secret, `round ${i}: the stored secret`);
      const ev = await admin(h, 'POST', '/api/events', { event: 'rot.x', payload: { i } });
      assert.equal(ev.status, 202, ev.text);
      await rx.until(() => rx.to('/rot').length === i + 1, 10000, `round ${i}: the delivery`);
      const got = rx.to('/rot')[i];
      assert.equal(got.headers['x-webhook-signature'], createHmac('sha256', r.body.secret).update(got.body).digest('hex'),
        `round ${i}: signed with the rotated secret`);
      assert.equal((await admin(h, 'GET', `/api/subscriptions/${s.body.id}`)).body.description, `round ${i}`);
    }
  });

  // On PostgreSQL a new subscription's lease is claimed as it commits:
  // what the claim reads of it must never undo a change made just after.
  it('a subscription changed as it is made: the changes stay, in the answers and in what signs', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const s = await admin(h, 'POST', '/api/subscriptions', { url: `${rx.url}/fresh${i}`, events: [`fresh${i}.*`] });
      assert.equal(s.status, 201, s.text);
      const [r, p] = await Promise.all([
        admin(h, 'POST', `/api/subscriptions/${s.body.id}/rotate-secret`),
        admin(h, 'PATCH', `/api/subscriptions/${s.body.id}`, { description: `fresh ${i}` }),
      ]);
      assert.equal(r.status, 200, r.text);
      assert.equal(p.status, 200, p.text);
      // Given the claim's time to land: a stale read would show by now.
      await new Promise((ok) => setTimeout(ok, 150));
      const show = (await admin(h, 'GET', `/api/subscriptions/${s.body.id}`)).body;
      assert.equal(show.description, `fresh ${i}`, `round ${i}: the PATCH`);
      const sec = await admin(h, 'GET', `/api/subscriptions/${s.body.id}/secret`);
      assert.equal(sec.body.secret, r.body.secret, `round ${i}: the rotated secret`);
    }
  });

  it('PATCH while the engine disables on 410: neither undoes the other, and the store agrees', async () => {
    const s = await admin(h, 'POST', '/api/subscriptions', { url: `${rx.url}/gone`, events: ['gone.*'], retry: { maxAttempts: 1, initialMs: 100, maxMs: 100 } });
    assert.equal(s.status, 201, s.text);
    let patch = null;
    const prev = rx.handle.bind(rx);
    // The PATCH leaves as the receiver answers 410: the engine's save
    // of the disable and the PATCH's commit overlap.
    rx.handle = (req, res) => {
      if (req.url === '/gone') patch = admin(h, 'PATCH', `/api/subscriptions/${s.body.id}`, { description: `d${rx.to('/gone').length}` });
      prev(req, res);
    };
    try {
      for (let i = 0; i < ROUNDS; i++) {
        rx.script('/gone', { status: 410 });
        const ev = await admin(h, 'POST', '/api/events', { event: 'gone.x', payload: { i } });
        assert.equal(ev.status, 202, ev.text);
        await rx.until(() => rx.to('/gone').length === i + 1, 10000, `round ${i}: the attempt`);
        const p = await patch;
        assert.equal(p.status, 200, p.text);
        const d = await poll(async () => { const x = await delivery(h, ev.body.eventId); return x && x.status === 'failed' && x; }, 10000, 'failed');
        assert.equal(d.attemptCount, 1);
        const show = (await poll(async () => {
          const x = await admin(h, 'GET', `/api/subscriptions/${s.body.id}`);
          return x.body.disabledReason === 'gone' && x;
        }, 10000, `round ${i}: disabled`)).body;
        assert.equal(show.active, false, `round ${i}: the PATCH resurrected it`);
        assert.equal(show.description, `d${i}`, `round ${i}: the engine's save undid the PATCH`);
        // Turned on again by hand for the next round.
        const on = await admin(h, 'PATCH', `/api/subscriptions/${s.body.id}`, { active: true });
        assert.equal(on.body.active, true);
        assert.equal(on.body.disabledReason, undefined);
      }
      const before = (await admin(h, 'GET', `/api/subscriptions/${s.body.id}`)).body;
      await h.stop();
      await h.restart();
      const again = (await admin(h, 'GET', `/api/subscriptions/${s.body.id}`)).body;
      assert.deepEqual(again, before, 'the cache and the store differ');
    } finally {
      rx.handle = prev;
    }
  });

  it('PATCH while the engine saves failingSince (set on a failure, cleared on a success): the PATCH holds', async () => {
    const s = await admin(h, 'POST', '/api/subscriptions', { url: `${rx.url}/fs`, events: ['fs.*'], retry: { maxAttempts: 1, initialMs: 100, maxMs: 100 } });
    assert.equal(s.status, 201, s.text);
    let patch = null;
    const prev = rx.handle.bind(rx);
    // The PATCH leaves 0-14 ms after the answer (the engine saves once
    // the outcome commits, after --outcome-delay): some round overlaps.
    rx.handle = (req, res) => {
      if (req.url === '/fs') {
        const n = rx.to('/fs').length;
        patch = new Promise((r) => setTimeout(r, (n % 8) * 2)).then(() =>
          admin(h, 'PATCH', `/api/subscriptions/${s.body.id}`, { description: `f${n}` }));
      }
      prev(req, res);
    };
    try {
      for (let i = 0; i < ROUNDS; i++) {
        rx.script('/fs', { status: i % 2 ? 200 : 500 });
        const ev = await admin(h, 'POST', '/api/events', { event: 'fs.x', payload: { i } });
        await rx.until(() => rx.to('/fs').length === i + 1, 10000, `round ${i}: the attempt`);
        assert.equal((await patch).status, 200);
        const want = i % 2 ? 'succeeded' : 'failed';
        await poll(async () => { const x = await delivery(h, ev.body.eventId); return x && x.status === want; }, 10000, want);
        const show = (await admin(h, 'GET', `/api/subscriptions/${s.body.id}`)).body;
        assert.equal(show.description, `f${i}`, `round ${i}: the engine's save undid the PATCH`);
        assert.equal(show.active, true, `round ${i}`);
      }
    } finally {
      rx.handle = prev;
    }
  });

  it('a PATCH does not resurrect a subscription the engine disabled meanwhile', async () => {
    const s = await admin(h, 'POST', '/api/subscriptions', { url: `${rx.url}/gone2`, events: ['gone2.*'], retry: { maxAttempts: 1, initialMs: 100, maxMs: 100 } });
    rx.script('/gone2', { status: 410 });
    await admin(h, 'POST', '/api/events', { event: 'gone2.x', payload: {} });
    await rx.until(() => rx.to('/gone2').length === 1, 10000, 'the attempt');
    await poll(async () => (await admin(h, 'GET', `/api/subscriptions/${s.body.id}`)).body.active === false, 10000, 'disabled');
    const p = await admin(h, 'PATCH', `/api/subscriptions/${s.body.id}`, { description: 'later' });
    assert.equal(p.body.active, false);
    assert.equal(p.body.disabledReason, 'gone');
    assert.equal(p.body.description, 'later');
  });
});

describe('a stored target that a restart no longer allows', () => {
  it('starts, fails its attempts with target_not_allowed, and delivers once allowed again', async (t) => {
    const rx = await new Receiver().start();
    const h = await new Hookd({ args: ALLOW }).start();
    t.after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });
    const wh = (await admin(h, 'POST', '/api/webhooks', { name: 'kept' })).body;
    const s = await admin(h, 'POST', '/api/subscriptions', { url: `${rx.url}/kept`, events: ['*'], retry: { maxAttempts: 100, initialMs: 200, maxMs: 400 } });
    assert.equal(s.status, 201, s.text);
    await h.stop();
    await h.restart([]);
    const r = await ingest(h, wh.token, { kept: 1 });
    assert.equal(r.status, 202, r.text);
    const d = await poll(async () => {
      const x = await deliveryOf(h, r.body.eventId);
      return x.attempts && x.attempts.length >= 2 && x;
    }, 15000, 'two refused attempts');
    for (const a of d.attempts) assert.equal(a.reason, 'target_not_allowed', JSON.stringify(a));
    assert.equal(d.status, 'pending');
    assert.equal(rx.to('/kept').length, 0);
    const show = await admin(h, 'GET', `/api/subscriptions/${s.body.id}`);
    assert.equal(show.status, 200);
    assert.equal(show.body.url, `${rx.url}/kept`);
    // A change that does not touch the URL is still accepted.
    const p = await admin(h, 'PATCH', `/api/subscriptions/${s.body.id}`, { description: 'kept' });
    assert.equal(p.status, 200, p.text);
    await h.stop();
    await h.restart(ALLOW);
    await rx.until(() => rx.to('/kept').length === 1, 15000, 'the delivery once allowed');
    await poll(async () => (await deliveryOf(h, r.body.eventId)).status === 'succeeded', 10000, 'succeeded');
  });
});

describe('retry-now of a pending delivery', () => {
  it('brings the next attempt forward without using up the attempts', async (t) => {
    const rx = await new Receiver().start();
    const h = await new Hookd({ args: ALLOW }).start();
    t.after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });
    rx.fallback = { status: 500, body: 'no' };
    const s = await admin(h, 'POST', '/api/subscriptions', { url: `${rx.url}/r`, events: ['r.*'], retry: { maxAttempts: 15, initialMs: 60000, maxMs: 60000 } });
    const ev = await admin(h, 'POST', '/api/events', { event: 'r.x', payload: {} });
    await rx.until(() => rx.to('/r').length === 1, 10000, 'attempt 1');
    const d1 = await poll(async () => { const x = await deliveryOf(h, ev.body.eventId); return x.attemptCount === 1 && x.status === 'pending' && x; }, 10000, 'attempt 1 recorded');
    assert.ok(d1.nextAttemptAt);
    const r = await admin(h, 'POST', `/api/deliveries/${d1.id}/retry`);
    assert.equal(r.status, 200, r.text);
    await rx.until(() => rx.to('/r').length === 2, 10000, 'attempt 2, brought forward');
    const d2 = await poll(async () => { const x = await deliveryOf(h, ev.body.eventId); return x.attemptCount === 2 && x; }, 10000, 'attempt 2 recorded');
    assert.equal(d2.status, 'pending', `after 2 of 15 attempts: ${JSON.stringify(d2)}`);
    assert.ok(d2.nextAttemptAt);
    assert.ok(Date.parse(d2.nextAttemptAt) > Date.now() + 30000, 'the backoff continues');
    assert.equal(s.status, 201);
  });

  it('a failed delivery still gets one more attempt', async (t) => {
    const rx = await new Receiver().start();
    const h = await new Hookd({ args: ALLOW }).start();
    t.after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });
    rx.fallback = { status: 500, body: 'no' };
    await admin(h, 'POST', '/api/subscriptions', { url: `${rx.url}/f`, events: ['f.*'], retry: { maxAttempts: 1, initialMs: 100, maxMs: 100 } });
    const ev = await admin(h, 'POST', '/api/events', { event: 'f.x', payload: {} });
    const d = await poll(async () => { const x = await deliveryOf(h, ev.body.eventId); return x.status === 'failed' && x; }, 10000, 'failed');
    assert.equal((await admin(h, 'POST', `/api/deliveries/${d.id}/retry`)).status, 200);
    const d2 = await poll(async () => { const x = await deliveryOf(h, ev.body.eventId); return x.status === 'failed' && x.attemptCount === 2 && x; }, 10000, 'failed again');
    assert.equal(d2.attempts.length, 2);
  });
});

describe('custom header values are sealed', () => {
  it('hides values in answers and at rest, sends them, and keeps them across a PATCH', async (t) => {
    const rx = await new Receiver().start();
    const h = await new Hookd({ args: ALLOW }).start();
    t.after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });
    const value = 'Bearer rcv-' + 'q7Zx'.repeat(8);
    const c = await admin(h, 'POST', '/api/subscriptions', { url: `${rx.url}/h`, events: ['h.*'], headers: { Authorization: value, 'X-Team': 'blue-team-value' } });
    assert.equal(c.status, 201, c.text);
    const shown = [c, await admin(h, 'GET', `/api/subscriptions/${c.body.id}`), await admin(h, 'GET', '/api/subscriptions')];
    for (const r of shown) {
      assert.ok(!r.text.includes(value) && !r.text.includes('blue-team-value'), `a header value shown: ${r.text}`);
    }
    const one = shown[1].body;
    assert.deepEqual(Object.keys(one.headers).sort(), ['Authorization', 'X-Team']);
    const p = await admin(h, 'PATCH', `/api/subscriptions/${c.body.id}`, { description: 'no header change' });
    assert.equal(p.status, 200, p.text);
    assert.ok(!p.text.includes(value));
    await admin(h, 'POST', '/api/events', { event: 'h.x', payload: {} });
    await rx.until(() => rx.to('/h').length === 1, 10000, 'the delivery');
    assert.equal(rx.to('/h')[0].headers.authorization, value);
    assert.equal(rx.to('/h')[0].headers['x-team'], 'blue-team-value');
    // At rest: not in the data files.
    await h.stop();
    for (const f of readdirSync(h.dir)) {
      if (!f.endsWith('.mdb')) continue;
      const bytes = readFileSync(join(h.dir, f));
      assert.equal(bytes.indexOf(value.slice(7)), -1, `${f} holds the header value`);
      assert.equal(bytes.indexOf('blue-team-value'), -1, `${f} holds the header value`);
    }
    // And back after a restart, still sent.
    await h.restart();
    const again = await admin(h, 'GET', `/api/subscriptions/${c.body.id}`);
    assert.deepEqual(again.body.headers, one.headers);
    await admin(h, 'POST', '/api/events', { event: 'h.y', payload: {} });
    await rx.until(() => rx.to('/h').length === 2, 10000, 'the delivery after restart');
    assert.equal(rx.to('/h')[1].headers.authorization, value);
    // Setting headers replaces them; the redacted form sent back keeps a value.
    const q = await admin(h, 'PATCH', `/api/subscriptions/${c.body.id}`, { headers: { ...one.headers, 'X-New': 'n1' } });
    assert.equal(q.status, 200, q.text);
    await admin(h, 'POST', '/api/events', { event: 'h.z', payload: {} });
    await rx.until(() => rx.to('/h').length === 3, 10000, 'the delivery after the header change');
    assert.equal(rx.to('/h')[2].headers.authorization, value);
    assert.equal(rx.to('/h')[2].headers['x-new'], 'n1');
    // PUT replaces the subscription; headers sent back redacted keep theirs,
    // one left out is gone, and a mask with nothing behind it is refused.
    const put = await admin(h, 'PUT', `/api/subscriptions/${c.body.id}`, { url: `${rx.url}/h`, events: ['h.*'], headers: { Authorization: q.body.headers.Authorization } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(Object.keys(put.body.headers), ['Authorization']);
    await admin(h, 'POST', '/api/events', { event: 'h.w', payload: {} });
    await rx.until(() => rx.to('/h').length === 4, 10000, 'the delivery after the PUT');
    assert.equal(rx.to('/h')[3].headers.authorization, value);
    assert.equal(rx.to('/h')[3].headers['x-team'], undefined);
    const bad = await admin(h, 'PATCH', `/api/subscriptions/${c.body.id}`, { headers: { 'X-Other': q.body.headers.Authorization } });
    assert.equal(bad.status, 400, bad.text);
  });
});

describe('a data directory written before header values were sealed', lmdbOnly('its fixture is a data.mdb of hookd 0.1.0, which had only LMDB'), () => {
  it('opens: values redacted in answers, still sent, and sealed from then on', async (t) => {
    const src = 'test/fixtures/legacy-0.1.0';
    const dir = mkdtempSync(join(dataRoot(), 'hookd-legacy-'));
    for (const f of ['data.mdb', 'master.key', 'admin.token']) copyFileSync(join(src, f), join(dir, f));
    chmodSync(join(dir, 'master.key'), 0o600);
    chmodSync(join(dir, 'admin.token'), 0o600);
    const rx = await new Receiver().start();
    const h = await new Hookd({ dir, args: ALLOW }).start();
    t.after(async () => { await h.stop(); rmSync(dir, { recursive: true, force: true }); await rx.stop(); });
    const id = 'sub_01M8VKNVZ9BNM02V8F5D07EPMB';
    const show = await admin(h, 'GET', `/api/subscriptions/${id}`);
    assert.equal(show.status, 200, show.text);
    assert.equal(show.body.description, 'from 0.1.0');
    assert.deepEqual(show.body.headers, { Authorization: '[redacted]' });
    const p = await admin(h, 'PATCH', `/api/subscriptions/${id}`, { url: `${rx.url}/legacy` });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.body.headers, { Authorization: '[redacted]' });
    await admin(h, 'POST', '/api/events', { event: 'legacy.x', payload: {} });
    await rx.until(() => rx.to('/legacy').length === 1, 10000, 'the delivery');
    assert.equal(rx.to('/legacy')[0].headers.authorization, 'Bearer legacy-receiver-credential');
    await h.stop();
    // The record was written anew, sealed (a freed page may still hold
    // the old text until LMDB reuses it).
    assert.notEqual(readFileSync(join(dir, 'data.mdb')).indexOf('"sealedHeaders"'), -1);
    await h.restart();
    assert.deepEqual((await admin(h, 'GET', `/api/subscriptions/${id}`)).body.headers, { Authorization: '[redacted]' });
    await admin(h, 'POST', '/api/events', { event: 'legacy.y', payload: {} });
    await rx.until(() => rx.to('/legacy').length === 2, 10000, 'the delivery after a restart');
    assert.equal(rx.to('/legacy')[1].headers.authorization, 'Bearer legacy-receiver-credential');
  });
});

describe('rates are bounded', () => {
  let h;
  before(async () => { h = await new Hookd().start(); });
  after(async () => { await h.stop(); h.cleanup(); });

  it('refuses a webhook rateLimit outside its range with 400', async () => {
    for (const rateLimit of [1e-300, 0.0001, -1, 1e7, '5', true]) {
      const r = await admin(h, 'POST', '/api/webhooks', { name: `rate-${String(rateLimit).replace(/[^a-z0-9]/g, '')}x`, rateLimit });
      assert.equal(r.status, 400, `${rateLimit}: ${r.text}`);
      assert.equal(r.body.error.code, 'bad_request');
    }
    for (const rateLimit of [0, 0.001, 0.5, 1000000, null]) {
      const r = await admin(h, 'POST', '/api/webhooks', { name: `ok-${String(rateLimit).replace(/[^a-z0-9]/g, '')}x`, rateLimit });
      assert.equal(r.status, 201, `${rateLimit}: ${r.text}`);
    }
    const w = (await admin(h, 'POST', '/api/webhooks', { name: 'rate-patch' })).body;
    assert.equal((await admin(h, 'PATCH', `/api/webhooks/${w.id}`, { rateLimit: 1e-300 })).status, 400);
  });

  it('refuses a subscription rateLimit outside its range with 400', async () => {
    for (const rateLimit of [1e-300, 0.0001, -1, 1e6]) {
      const r = await admin(h, 'POST', '/api/subscriptions', { url: 'https://example.com/', events: ['*'], rateLimit });
      assert.equal(r.status, 400, `${rateLimit}: ${r.text}`);
      assert.equal(r.body.error.code, 'bad_request');
    }
    for (const rateLimit of [0, 0.001, 100000]) {
      const r = await admin(h, 'POST', '/api/subscriptions', { url: 'https://example.com/', events: ['*'], rateLimit });
      assert.equal(r.status, 201, `${rateLimit}: ${r.text}`);
    }
  });

  it('refuses --rate outside its range at start', async () => {
    for (const rate of ['1e-300', '0.0001', '2000000']) {
      const x = new Hookd({ args: ['--rate', rate] });
      await assert.rejects(x.start(), /exited \(2\)[^]*--rate: '[^']*' must be 0 \(unlimited\) or from 0\.001 to 1000000/, `--rate ${rate}`);
      x.cleanup();
    }
    const ok = new Hookd({ args: ['--rate', '0.001'] });
    await ok.start();
    await ok.stop();
    ok.cleanup();
  });
});

describe("the engine's saved state and an admin change", () => {
  // The engine saves an ordered subscription's head by patching only its
  // fields of the stored record (issue 14 item 4): a PATCH after the save
  // keeps the head, and a restart finds it, so the head's retry still
  // goes before a later event's first attempt.
  it('an ordered head saved by the engine survives a PATCH and a restart', async (t) => {
    const rx = await new Receiver().start();
    const h = await new Hookd({ args: ALLOW }).start();
    t.after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });
    const s = await admin(h, 'POST', '/api/subscriptions', { url: `${rx.url}/oh`, events: ['oh.*'], ordered: true, retry: { maxAttempts: 5, initialMs: 3000, maxMs: 3000 } });
    assert.equal(s.status, 201, s.text);
    rx.script('/oh', { status: 500 });
    const e1 = await admin(h, 'POST', '/api/events', { event: 'oh.x', payload: { i: 1 } });
    assert.equal(e1.status, 202, e1.text);
    await rx.until(() => rx.to('/oh').length === 1, 10000, 'the first attempt');
    await poll(async () => { const d = await delivery(h, e1.body.eventId); return d && d.attemptCount === 1 && d.status === 'pending'; }, 10000, 'a retry pending');
    const p = await admin(h, 'PATCH', `/api/subscriptions/${s.body.id}`, { description: 'kept' });
    assert.equal(p.status, 200, p.text);
    const e2 = await admin(h, 'POST', '/api/events', { event: 'oh.x', payload: { i: 2 } });
    assert.equal(e2.status, 202, e2.text);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(rx.to('/oh').length, 1, 'the second event waits for the head');
    await h.stop();
    await h.restart();
    await rx.until(() => rx.to('/oh').length === 3, 15000, 'both delivered after the restart');
    assert.deepEqual(rx.to('/oh').map((r) => JSON.parse(r.body).payload.i), [1, 1, 2], 'the head went first');
    const show = (await admin(h, 'GET', `/api/subscriptions/${s.body.id}`)).body;
    assert.equal(show.description, 'kept');
    assert.equal(show.active, true);
  });
});
