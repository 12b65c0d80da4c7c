// Receiving (proto/http.md): every status and error code, each reached by a
// real request to a real hookd.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Hookd, raw, request, lmdbOnly } from '../lib/hookd.mjs';

const hex = (secret, body) => createHmac('sha256', secret).update(body).digest('hex');

function assertError(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(res.body.error.code, code, res.text);
  assert.equal(typeof res.body.error.message, 'string');
}

describe('ingest', () => {
  let h;
  const hooks = {};

  async function create(body) {
    const r = await h.api('POST', '/api/webhooks', body);
    assert.equal(r.status, 201, r.text);
    hooks[body.name] = r.body;
    return r.body;
  }

  before(async () => {
    h = await new Hookd({ args: ['--max-body', '64KiB'] }).start();
    await create({ name: 'tok' });
    await create({ name: 'sig', auth: 'signature', signature: { scheme: 'hex', secret: 'shh-secret' } });
    await create({ name: 'both', auth: 'token+signature', signature: { scheme: 'slack' } });
    await create({ name: 'open', auth: 'none' });
    await create({ name: 'small', maxBody: 100 });
    await create({ name: 'slow', rateLimit: 1 });
    await create({ name: 'off', enabled: false });
    await create({ name: 'byheader', auth: 'none', eventType: { header: 'X-Kind' } });
    await create({ name: 'byjson', auth: 'none', eventType: { json: '/meta/kind' }, eventPrefix: 'ci.' });
    await create({ name: 'fixed', auth: 'none', eventType: { fixed: 'deploy.done' } });
    await create({ name: 'gh', auth: 'signature', signature: { scheme: 'github', secret: 'gh-secret' }, eventPrefix: 'github.' });
    await create({ name: 'stripe', auth: 'signature', signature: { scheme: 'stripe', secret: 'whsec_stripe_like_secret' } });
  });
  after(async () => { await h.stop(); h.cleanup(); });

  const tok = (name) => ({ 'x-webhook-token': hooks[name].token });

  it('health endpoints answer on both listeners without a token', async () => {
    for (const base of [h.pub, h.admin]) {
      const a = await request(`${base}/healthz`);
      assert.equal(a.status, 200);
      assert.equal(a.body.status, 'ok');
      const b = await request(`${base}/readyz`);
      assert.equal(b.status, 200);
      assert.equal(b.body.status, 'ready');
    }
    assertError(await request(`${h.pub}/healthz`, { method: 'POST' }), 405, 'method_not_allowed');
  });

  it('accepts with the token in each accepted header, 202 after commit', async () => {
    const t = hooks.tok.token;
    for (const hdr of [{ 'x-webhook-token': t }, { 'x-api-key': t }, { authorization: `Bearer ${t}` }]) {
      const r = await h.post('/webhooks/tok', { hello: 'world' }, hdr);
      assert.equal(r.status, 202, r.text);
      assert.equal(r.body.status, 'accepted');
      assert.match(r.body.eventId, /^evt_[0-9A-Z]{26}$/);
      assert.equal(r.body.links.event, `/api/events/${r.body.eventId}`);
      const e = await h.api('GET', r.body.links.event);
      assert.equal(e.status, 200);
      assert.deepEqual(e.body.payload, { hello: 'world' });
      assert.equal(e.body.source.webhook, hooks.tok.id);
      assert.equal(e.body.source.name, 'tok');
      assert.equal(e.body.event, 'webhook.received');
      assert.match(e.body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });

  it('addresses a webhook by id as well as by name', async () => {
    const r = await h.post(`/webhooks/${hooks.tok.id}`, {}, tok('tok'));
    assert.equal(r.status, 202, r.text);
  });

  it('accepts /hooks/{token} without headers, and 404 for an unknown token', async () => {
    const r = await h.post(`/hooks/${hooks.tok.token}`, { via: 'url' });
    assert.equal(r.status, 202, r.text);
    assert.equal(hooks.tok.hookUrl, `${h.pub}/hooks/${hooks.tok.token}`);
    assertError(await h.post('/hooks/whtok_nope', {}), 404, 'not_found');
  });

  it('401 missing_token and invalid_token', async () => {
    assertError(await h.post('/webhooks/tok', {}), 401, 'missing_token');
    assertError(await h.post('/webhooks/tok', {}, { 'x-webhook-token': 'whtok_wrong' }), 401, 'invalid_token');
    assertError(await h.post('/webhooks/tok', {}, { 'x-webhook-token': hooks.sig.token }), 401, 'invalid_token');
  });

  it('with auth token, a present but wrong signature is refused', async () => {
    const body = '{"a":1}';
    assertError(await h.post('/webhooks/tok', body, { ...tok('tok'), 'x-webhook-signature': 'sha256=00' }), 403, 'invalid_signature');
    const good = hex(hooks.tok.secret, body);
    assert.equal((await h.post('/webhooks/tok', body, { ...tok('tok'), 'x-webhook-signature': good })).status, 202);
  });

  it('signature auth: hex with and without sha256=, the alias header, missing, wrong', async () => {
    const body = '{"n":1}';
    const sig = hex('shh-secret', body);
    assert.equal((await h.post('/webhooks/sig', body, { 'x-webhook-signature': sig })).status, 202);
    assert.equal((await h.post('/webhooks/sig', body, { 'x-webhook-signature': `sha256=${sig}` })).status, 202);
    assert.equal((await h.post('/webhooks/sig', body, { 'x-event-signature': sig })).status, 202);
    assertError(await h.post('/webhooks/sig', body), 401, 'missing_signature');
    assertError(await h.post('/webhooks/sig', '{"n":2}', { 'x-webhook-signature': sig }), 403, 'invalid_signature');
    assertError(await h.post('/webhooks/sig', body, { 'x-webhook-signature': sig.slice(0, 32) }), 403, 'invalid_signature');
  });

  it('token+signature needs both; stale timestamps are 403 timestamp_out_of_tolerance', async () => {
    const body = '{"slack":true}';
    const now = Math.floor(Date.now() / 1000);
    const slack = (ts) => ({
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': `v0=${hex(hooks.both.secret, `v0:${ts}:${body}`)}`,
    });
    assert.equal((await h.post('/webhooks/both', body, { ...tok('both'), ...slack(now) })).status, 202);
    assertError(await h.post('/webhooks/both', body, slack(now)), 401, 'missing_token');
    assertError(await h.post('/webhooks/both', body, tok('both')), 401, 'missing_signature');
    assertError(await h.post('/webhooks/both', body, { ...tok('both'), ...slack(now - 301) }), 403, 'timestamp_out_of_tolerance');
    assertError(await h.post('/webhooks/both', body, { ...tok('both'), ...slack(now + 400) }), 403, 'timestamp_out_of_tolerance');
  });

  it('auth none accepts anyone', async () => {
    assert.equal((await h.post('/webhooks/open', { x: 1 })).status, 202);
  });

  it('404 for unknown webhooks and paths, admin API never on the public listener', async () => {
    assertError(await h.post('/webhooks/nope', {}), 404, 'not_found');
    assertError(await h.post('/webhooks/', {}), 404, 'not_found');
    assertError(await h.post('/api/webhooks', {}), 404, 'not_found');
    assertError(await request(`${h.pub}/api/webhooks`, { headers: { authorization: `Bearer ${h.token}` } }), 404, 'not_found');
  });

  it('405 for other methods', async () => {
    const r = await request(`${h.pub}/webhooks/tok`, { method: 'GET', headers: tok('tok') });
    assertError(r, 405, 'method_not_allowed');
    assert.equal(r.headers.get('allow'), 'POST');
    assertError(await request(`${h.pub}/webhooks/tok`, { method: 'PUT', headers: tok('tok'), body: '{}' }), 405, 'method_not_allowed');
  });

  it('403 webhook_disabled', async () => {
    assertError(await h.post('/webhooks/off', {}, tok('off')), 403, 'webhook_disabled');
  });

  it('413 over the webhook maxBody and over --max-body', async () => {
    const big = JSON.stringify({ s: 'x'.repeat(200) });
    assertError(await h.post('/webhooks/small', big, tok('small')), 413, 'payload_too_large');
    assert.equal((await h.post('/webhooks/small', '{"s":1}', tok('small'))).status, 202);
    const huge = JSON.stringify({ s: 'x'.repeat(70 * 1024) });
    assertError(await h.post('/webhooks/tok', huge, tok('tok')), 413, 'payload_too_large');
  });

  it('413 from the Content-Length alone, before the body is sent', async () => {
    const got = await raw(h.pub, `POST /webhooks/tok HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Webhook-Token: ${hooks.tok.token}\r\nContent-Length: 10000000\r\n\r\n{`);
    assert.match(got, /^HTTP\/1\.1 413 /);
    assert.match(got, /"payload_too_large"/);
  });

  it('415 for other content types, 400 invalid_json for broken JSON', async () => {
    assertError(await h.post('/webhooks/tok', 'hello', { ...tok('tok'), 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    assertError(await h.post('/webhooks/tok', '{}', { ...tok('tok'), 'content-type': '' }), 415, 'unsupported_media_type');
    for (const bad of ['{', '', '{"a":1}x', '[1,2', 'nul', '{"a":1}{"b":2}']) {
      assertError(await h.post('/webhooks/tok', bad, tok('tok')), 400, 'invalid_json');
    }
    assert.equal((await h.post('/webhooks/tok', '{"a":1}', { ...tok('tok'), 'content-type': 'application/json; charset=utf-8' })).status, 202);
    assert.equal((await h.post('/webhooks/tok', '{"a":1}', { ...tok('tok'), 'content-type': 'application/cloudevents+json' })).status, 202);
    assert.equal((await h.post('/webhooks/tok', ' [1, 2] \n', tok('tok'))).status, 202);
  });

  it('GitHub form mode: payload= is used, the type comes from X-GitHub-Event', async () => {
    const payload = JSON.stringify({ ref: 'refs/heads/main', n: 'a b&c' });
    const body = `payload=${encodeURIComponent(payload)}`;
    const r = await h.post('/webhooks/gh', body, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-github-event': 'push',
      'x-hub-signature-256': `sha256=${hex('gh-secret', body)}`,
    });
    assert.equal(r.status, 202, r.text);
    const e = await h.api('GET', `/api/events/${r.body.eventId}`);
    assert.equal(e.body.event, 'github.push');
    assert.deepEqual(e.body.payload, JSON.parse(payload));
    const bad = 'other=1';
    assertError(await h.post('/webhooks/gh', bad, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-hub-signature-256': `sha256=${hex('gh-secret', bad)}`,
    }), 400, 'bad_request');
  });

  async function typeOf(path, body, headers = {}) {
    const r = await h.post(path, body, headers);
    assert.equal(r.status, 202, r.text);
    return (await h.api('GET', `/api/events/${r.body.eventId}`)).body.event;
  }

  it('event type: headers first, then body event and type, else webhook.received', async () => {
    assert.equal(await typeOf('/webhooks/open', { event: 'b.ev', type: 'b.ty' }, { 'x-webhook-event': 'h.one', 'x-github-event': 'h.two' }), 'h.one');
    assert.equal(await typeOf('/webhooks/open', { event: 'b.ev' }, { 'x-github-event': 'h.two', 'x-event-type': 'h.three' }), 'h.two');
    assert.equal(await typeOf('/webhooks/open', { event: 'b.ev' }, { 'x-event-type': 'h.three' }), 'h.three');
    assert.equal(await typeOf('/webhooks/open', { event: 'b.ev', type: 'b.ty' }), 'b.ev');
    assert.equal(await typeOf('/webhooks/open', { type: 'b.ty' }), 'b.ty');
    assert.equal(await typeOf('/webhooks/open', { event: 5 }), 'webhook.received');
    assert.equal(await typeOf('/webhooks/open', [1]), 'webhook.received');
  });

  it('event type rules: header, JSON pointer with prefix, fixed', async () => {
    assert.equal(await typeOf('/webhooks/byheader', { event: 'no' }, { 'x-kind': 'k.one', 'x-webhook-event': 'no' }), 'k.one');
    assert.equal(await typeOf('/webhooks/byheader', { event: 'no' }), 'webhook.received');
    assert.equal(await typeOf('/webhooks/byjson', { meta: { kind: 'build.ok' } }), 'ci.build.ok');
    assert.equal(await typeOf('/webhooks/byjson', { meta: {} }), 'ci.webhook.received');
    assert.equal(await typeOf('/webhooks/fixed', { event: 'no' }, { 'x-webhook-event': 'no' }), 'deploy.done');
    assertError(await h.post('/webhooks/open', { event: 'e'.repeat(201) }), 400, 'bad_request');
  });

  it('idempotency: a repeat answers 200 duplicate with the first event id', async () => {
    for (const hdr of ['idempotency-key', 'webhook-id', 'x-github-delivery']) {
      const key = `${hdr}-${Date.now()}`;
      const a = await h.post('/webhooks/open', { n: 1 }, { [hdr]: key });
      assert.equal(a.status, 202);
      const b = await h.post('/webhooks/open', { n: 2 }, { [hdr]: key });
      assert.equal(b.status, 200, b.text);
      assert.deepEqual(b.body, { status: 'duplicate', eventId: a.body.eventId, links: { event: `/api/events/${a.body.eventId}`, status: `/webhooks/open/events/${a.body.eventId}` } });
    }
    // Keys are per webhook.
    const k = { 'idempotency-key': `scoped-${Date.now()}` };
    assert.equal((await h.post('/webhooks/open', {}, k)).status, 202);
    assert.equal((await h.post('/webhooks/byheader', {}, k)).status, 202);
    // Concurrent repeats share one commit and still create one event.
    const c = { 'idempotency-key': `race-${Date.now()}` };
    const rs = await Promise.all([1, 2, 3, 4, 5].map(() => h.post('/webhooks/open', {}, c)));
    assert.equal(rs.filter((r) => r.status === 202).length, 1);
    assert.equal(new Set(rs.map((r) => r.body.eventId)).size, 1);
    assertError(await h.post('/webhooks/open', {}, { 'idempotency-key': 'k'.repeat(257) }), 400, 'bad_request');
  });

  it('idempotency under the stripe scheme uses the body id', async () => {
    const body = JSON.stringify({ id: `evt_stripe_${Date.now()}`, type: 'charge.succeeded' });
    const ts = Math.floor(Date.now() / 1000);
    const sign = () => ({ 'stripe-signature': `t=${ts},v1=${hex('whsec_stripe_like_secret', `${ts}.${body}`)}` });
    const a = await h.post('/webhooks/stripe', body, sign());
    assert.equal(a.status, 202, a.text);
    const b = await h.post('/webhooks/stripe', body, sign());
    assert.equal(b.status, 200);
    assert.equal(b.body.eventId, a.body.eventId);
    assert.equal((await h.api('GET', `/api/events/${a.body.eventId}`)).body.event, 'charge.succeeded');
    // Without an id (or with an empty one) nothing is deduplicated; an
    // escaped id is compared decoded, and one over 256 characters is 400.
    const post = async (b) => {
      const t = Math.floor(Date.now() / 1000);
      return h.post('/webhooks/stripe', b, { 'stripe-signature': `t=${t},v1=${hex('whsec_stripe_like_secret', `${t}.${b}`)}` });
    };
    for (const b of ['{"type":"x.y"}', '{"type":"x.y"}', '{"id":"","type":"x.y"}', '{"id":"","type":"x.y"}'])
      assert.equal((await post(b)).status, 202);
    const esc = await post(`{"id":"evt_\\u0041${ts}","type":"x.y"}`);
    assert.equal(esc.status, 202, esc.text);
    const plain = await post(`{"id":"evt_A${ts}","type":"x.y"}`);
    assert.equal(plain.status, 200, plain.text);
    assert.equal(plain.body.eventId, esc.body.eventId);
    assert.equal((await post(JSON.stringify({ id: 'i'.repeat(257), type: 'x.y' }))).status, 400);
  });

  it('429 rate_limited with Retry-After past the burst', async () => {
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await h.post('/webhooks/slow', {}, tok('slow')));
    assert.deepEqual(results.map((r) => r.status), [202, 202, 429, 429]);
    assertError(results[2], 429, 'rate_limited');
    assert.ok(Number(results[2].headers.get('retry-after')) >= 1);
  });

  it('writes every request to the request log', async () => {
    const r = await h.api('GET', '/api/webhooks/tok/logs?limit=1000');
    assert.equal(r.status, 200);
    const statuses = new Set(r.body.data.map((e) => e.status));
    for (const s of [202, 401, 403, 405, 415, 400]) assert.ok(statuses.has(s), `no ${s} in the log`);
    const small = await h.api('GET', '/api/webhooks/small/logs');
    assert.ok(small.body.data.some((x) => x.status === 413 && x.error === 'payload_too_large'));
    const e = r.body.data.find((x) => x.status === 401);
    assert.equal(e.error === 'missing_token' || e.error === 'invalid_token', true);
    assert.equal(e.remoteAddr, '127.0.0.1');
    assert.equal(e.eventId, null);
    const ok = r.body.data.find((x) => x.status === 202);
    assert.match(ok.eventId, /^evt_/);
    assert.equal(typeof ok.latencyMs, 'number');
    assert.ok(ok.bytes > 0);
    // Newest first, pageable.
    const p1 = await h.api('GET', '/api/webhooks/tok/logs?limit=2');
    assert.equal(p1.body.data.length, 2);
    assert.ok(p1.body.data[0].id > p1.body.data[1].id);
    const p2 = await h.api('GET', `/api/webhooks/tok/logs?limit=2&after=${p1.body.next}`);
    assert.ok(p2.body.data[0].id < p1.body.data[1].id);
  });

  it('malformed requests get a JSON 400, never a crash', async () => {
    const g = await raw(h.pub, 'GARBAGE\r\n\r\n');
    assert.match(g, /^HTTP\/1\.[01] 400 /);
    assert.match(g, /"bad_request"/);
    const big = await raw(h.pub, `POST /webhooks/tok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40000)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.[01] (400|431) /);
    const te = await raw(h.pub, 'POST /webhooks/open HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    // libevent 2.1 reports a corrupt chunk size as "too long": 413.
    assert.match(te, /^HTTP\/1\.[01] (400|413) /);
    assert.match(te, /"(bad_request|payload_too_large)"/);
    const foo = await raw(h.pub, 'FOO /webhooks/open HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(foo, /^HTTP\/1\.1 405 /);
    assert.match(foo, /"method_not_allowed"/);
    // Still serving.
    assert.equal((await h.post('/webhooks/open', {})).status, 202);
  });
});

describe('ingest: a full store', lmdbOnly('fills a 1 MiB LMDB map with 8 kB bodies; PostgreSQL compresses those (TOAST) and has no map'), () => {
  it('answers 503 unavailable with Retry-After and keeps what it accepted', async () => {
    const h = await new Hookd({ args: ['--map-size', '1MiB', '--high-water', '50'] }).start();
    try {
      const wh = (await h.api('POST', '/api/webhooks', { name: 'fill', auth: 'none', rateLimit: 0 })).body;
      assert.ok(wh.id);
      const body = JSON.stringify({ pad: 'p'.repeat(8000) });
      const ids = [];
      let full = null;
      for (let i = 0; i < 200 && !full; i++) {
        const r = await h.post('/webhooks/fill', body);
        if (r.status === 202) ids.push(r.body.eventId);
        else full = r;
      }
      assert.ok(full, 'the store never filled');
      assertError(full, 503, 'unavailable');
      assert.ok(Number(full.headers.get('retry-after')) >= 1);
      assert.ok(ids.length > 10);
      assertError(await request(`${h.pub}/readyz`), 503, 'unavailable');
      assert.equal((await request(`${h.pub}/healthz`)).status, 200);
      const pub = await h.api('POST', '/api/events', { event: 'x', payload: {} });
      assertError(pub, 503, 'unavailable');
      for (const id of ids) assert.equal((await h.api('GET', `/api/events/${id}`)).status, 200);
      await h.stop();
      // Raising the map size brings it back, with everything still there.
      await h.restart(['--map-size', '8MiB', '--high-water', '50']);
      assert.equal((await request(`${h.pub}/readyz`)).status, 200);
      assert.equal((await h.post('/webhooks/fill', body)).status, 202);
      for (const id of ids) assert.equal((await h.api('GET', `/api/events/${id}`)).status, 200);
    } finally {
      await h.stop();
      h.cleanup();
    }
  });
});
