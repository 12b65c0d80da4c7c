// links.status (proto/http.md, Responses): the sender's poll URL on the public
// listener. GET /webhooks/{idOrName}/events/{id} with the same
// authentication as the POST, or /hooks/{token}/events/{id}, answers
// {eventId, type, receivedAt, state, deliveries:{total, pending,
// succeeded, failed}} and reveals no target; absolute with --public-url.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Hookd, request } from '../lib/hookd.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

describe('links.status', () => {
  let h, rx, w, sig;
  const get = (path, headers = {}) => request(h.pub + path, { method: 'GET', headers });
  before(async () => {
    rx = await new Receiver().start();
    h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
    w = (await h.api('POST', '/api/webhooks', { name: 'ci' })).body;
    sig = (await h.api('POST', '/api/webhooks', { name: 'signed', auth: 'signature', signature: { scheme: 'hex', secret: 'status-secret' } })).body;
    let r = await h.api('POST', '/api/subscriptions', { url: `${rx.url}/ok`, events: ['build.*'] });
    assert.equal(r.status, 201, r.text);
    r = await h.api('POST', '/api/subscriptions', { url: `${rx.url}/bad`, events: ['build.bad'], retry: { maxAttempts: 1 } });
    assert.equal(r.status, 201, r.text);
    rx.script('/bad', { status: 500 }, { status: 500 });
  });
  after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });

  it('the 202 links to it; it answers the event\'s state as its deliveries go', async () => {
    const r = await h.post('/webhooks/ci', { event: 'build.done' }, { 'x-webhook-token': w.token });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.body.links.status, `/webhooks/ci/events/${r.body.eventId}`);
    assert.equal(r.body.links.event, `/api/events/${r.body.eventId}`);
    const s = await poll(async () => {
      const x = await get(r.body.links.status, { 'x-webhook-token': w.token });
      assert.equal(x.status, 200, x.text);
      return x.body.state === 'delivered' && x.body;
    }, 10000, 'delivered');
    assert.deepEqual(Object.keys(s).sort(), ['deliveries', 'eventId', 'receivedAt', 'state', 'type']);
    assert.deepEqual(s.deliveries, { total: 1, pending: 0, succeeded: 1, failed: 0 });
    assert.equal(s.eventId, r.body.eventId);
    assert.equal(s.type, 'build.done');
    assert.match(s.receivedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // No target URL, no subscription, nothing but the counts.
    const raw = (await get(r.body.links.status, { 'x-webhook-token': w.token })).text;
    assert.ok(!raw.includes(rx.url) && !raw.includes('127.0.0.1') && !raw.includes('sub_'), raw);
    // By id too, and under the token URL.
    assert.equal((await get(`/webhooks/${w.id}/events/${r.body.eventId}`, { authorization: `Bearer ${w.token}` })).body.state, 'delivered');
    assert.equal((await get(`/hooks/${w.token}/events/${r.body.eventId}`)).body.state, 'delivered');
  });

  it('failed when a delivery failed for good; accepted when it has none', async () => {
    const r = await h.post('/webhooks/ci', { event: 'build.bad' }, { 'x-webhook-token': w.token });
    const s = await poll(async () => {
      const x = (await get(r.body.links.status, { 'x-webhook-token': w.token })).body;
      return x.state === 'failed' && x;
    }, 10000, 'failed');
    assert.deepEqual(s.deliveries, { total: 2, pending: 0, succeeded: 1, failed: 1 });
    const none = await h.post('/webhooks/ci', { event: 'other.thing' }, { 'x-webhook-token': w.token });
    const n = (await get(none.body.links.status, { 'x-webhook-token': w.token })).body;
    assert.deepEqual([n.state, n.deliveries], ['accepted', { total: 0, pending: 0, succeeded: 0, failed: 0 }]);
  });

  it('the same authentication as the POST; another webhook\'s event or an unknown id is 404', async () => {
    const r = await h.post('/webhooks/ci', { event: 'x.y' }, { 'x-webhook-token': w.token });
    const p = r.body.links.status;
    const code = async (res, status, c) => { assert.equal(res.status, status, res.text); assert.equal(res.body.error.code, c); };
    await code(await get(p), 401, 'missing_token');
    await code(await get(p, { 'x-webhook-token': 'whtok_wrong' }), 401, 'invalid_token');
    await code(await get(`/hooks/whtok_nosuchtoken00000000000000000000/events/${r.body.eventId}`), 404, 'not_found');
    await code(await get(`/webhooks/ci/events/evt_nosuch`, { 'x-webhook-token': w.token }), 404, 'not_found');
    await code(await get(`/webhooks/ci/events/${r.body.eventId}/more`, { 'x-webhook-token': w.token }), 404, 'not_found');
    // An event of another webhook is not this webhook's to show.
    const body = JSON.stringify({ event: 'z.z' });
    const s = await h.post('/webhooks/signed', body, { 'x-webhook-signature': createHmac('sha256', 'status-secret').update(body).digest('hex') });
    assert.equal(s.status, 202, s.text);
    await code(await get(`/webhooks/ci/events/${s.body.eventId}`, { 'x-webhook-token': w.token }), 404, 'not_found');
    // A signature webhook: the signature of the empty body.
    await code(await get(s.body.links.status), 401, 'missing_signature');
    const empty = createHmac('sha256', 'status-secret').update('').digest('hex');
    const ok = await get(s.body.links.status, { 'x-webhook-signature': empty });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.type, 'z.z');
    // Only GET.
    const del = await request(h.pub + p, { method: 'DELETE', headers: { 'x-webhook-token': w.token } });
    await code(del, 405, 'method_not_allowed');
  });

  it('absolute with --public-url', async () => {
    const abs = await new Hookd({ args: ['--public-url', 'https://hooks.example.com/'] }).start();
    try {
      const wh = (await abs.api('POST', '/api/webhooks', { name: 'ci' })).body;
      const r = await abs.post('/webhooks/ci', { event: 'a.b' }, { 'x-webhook-token': wh.token });
      assert.equal(r.body.links.status, `https://hooks.example.com/webhooks/ci/events/${r.body.eventId}`);
      const again = await abs.post('/webhooks/ci', { event: 'a.b' }, { 'x-webhook-token': wh.token, 'idempotency-key': 'k1' });
      const dup = await abs.post('/webhooks/ci', { event: 'a.b' }, { 'x-webhook-token': wh.token, 'idempotency-key': 'k1' });
      assert.equal(dup.body.links.status, again.body.links.status);
    } finally {
      await abs.stop();
      abs.cleanup();
    }
  });
});
