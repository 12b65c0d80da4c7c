// Delivery (proto/delivery.md and the subscription and delivery parts of proto/admin.md),
// against a scripted loopback receiver.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Hookd, startHookd } from '../lib/hookd.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

function assertError(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
  assert.equal(res.body.error.code, code, res.text);
}

const fast = { maxAttempts: 3, initialMs: 200, maxMs: 1000 };

describe('subscriptions API', () => {
  let h;
  before(async () => { h = await new Hookd().start(); });
  after(async () => { await h.stop(); h.cleanup(); });

  it('creates with a generated secret, shown at creation and by /secret', async () => {
    const r = await h.api('POST', '/api/subscriptions', { url: 'https://example.com/hook', events: ['task.*'] });
    assert.equal(r.status, 201, r.text);
    assert.match(r.body.id, /^sub_[0-9A-Z]{26}$/);
    assert.match(r.body.secret, /^whsec_/);
    assert.deepEqual(r.body.events, ['task.*']);
    assert.equal(r.body.active, true);
    assert.equal(r.body.timeoutMs, 10000);
    assert.equal(r.body.maxInFlight, 8);
    assert.deepEqual(r.body.retry, { maxAttempts: 15, initialMs: 5000, maxMs: 21600000 });
    const show = await h.api('GET', `/api/subscriptions/${r.body.id}`);
    assert.equal(show.body.secret, undefined);
    const sec = await h.api('GET', `/api/subscriptions/${r.body.id}/secret`);
    assert.equal(sec.body.secret, r.body.secret);
    const list = await h.api('GET', '/api/subscriptions');
    assert.ok(list.body.data.some((s) => s.id === r.body.id && s.secret === undefined));
  });

  it('refuses bad subscriptions with 400', async () => {
    const bad = [
      {}, { url: 'https://example.com' }, { url: 'ftp://example.com/', events: ['*'] },
      { url: 'not a url', events: ['*'] }, { url: 'https://example.com/', events: [] },
      { url: 'https://example.com/', events: ['*'], bogus: 1 },
      { url: 'https://example.com/', events: ['*'], retry: { maxAttempts: -1 } },
      { url: 'https://example.com/', events: ['*'], retry: { initialMs: 5000, maxMs: 1000 } },
      { url: 'https://example.com/', events: ['*'], retry: { tries: 3 } },
      { url: 'https://example.com/', events: ['*'], timeoutMs: 0 },
      { url: 'https://example.com/', events: ['*'], headers: { 'X-Webhook-Signature': 'x' } },
      { url: 'https://example.com/', events: ['*'], headers: { 'X-Ok': 'a\r\nInjected: 1' } },
      { url: 'https://example.com/', events: ['*'], template: '{"a":${nope}}' },
      { url: 'https://example.com/', events: ['*'], template: '{"a":' },
      { url: 'https://example.com/', events: ['*'], sources: ['no-such-webhook'] },
      { url: 'https://example.com/', events: ['*'], secret: 'whsec_%%%' },
    ];
    for (const b of bad) assertError(await h.api('POST', '/api/subscriptions', b), 400, 'bad_request');
    assert.equal((await h.api('POST', '/api/subscriptions', { url: 'https://example.com/', events: ['*'], template: '{"text":"Deploy ${payload.ref}","n":${payload.n}}' })).status, 201);
  });

  it('refuses internal targets in every spelling (SSRF), and names that resolve inside', async () => {
    for (const host of ['127.0.0.1', '2130706433', '0x7f000001', '0177.0.0.1', '127.1', '0', '0.0.0.0',
      '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::1]', '10.0.0.1', '169.254.169.254', '192.168.0.1', '[fe80::1]', 'localhost']) {
      assertError(await h.api('POST', '/api/subscriptions', { url: `http://${host}:9/x`, events: ['*'] }), 400, 'target_not_allowed');
    }
  });

  it('patches, puts, rotates and deletes', async () => {
    const c = (await h.api('POST', '/api/subscriptions', { url: 'https://example.com/a', events: ['a'], description: 'd' })).body;
    const p = await h.api('PATCH', `/api/subscriptions/${c.id}`, { events: ['b', 'c.*'], active: false });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.body.events, ['b', 'c.*']);
    assert.equal(p.body.active, false);
    assert.equal(p.body.description, 'd');
    const put = await h.api('PUT', `/api/subscriptions/${c.id}`, { url: 'https://example.com/b', events: ['z'] });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.description, null);
    assert.equal(put.body.active, true);
    assertError(await h.api('PUT', `/api/subscriptions/${c.id}`, { events: ['z'] }), 400, 'bad_request');
    const rot = await h.api('POST', `/api/subscriptions/${c.id}/rotate-secret`);
    assert.equal(rot.status, 200);
    assert.notEqual(rot.body.secret, c.secret);
    const sec = await h.api('GET', `/api/subscriptions/${c.id}/secret`);
    assert.equal(sec.body.secret, rot.body.secret);
    assert.equal(sec.body.previousSecret, c.secret);
    assert.equal((await h.api('DELETE', `/api/subscriptions/${c.id}`)).status, 204);
    assertError(await h.api('GET', `/api/subscriptions/${c.id}`), 404, 'not_found');
    assertError(await h.api('DELETE', `/api/subscriptions/${c.id}`), 404, 'not_found');
  });
});

describe('delivery', () => {
  let h, rx;
  before(async () => {
    rx = await new Receiver().start();
    h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
  });
  after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });

  async function sub(path, extra = {}) {
    const r = await h.api('POST', '/api/subscriptions', { url: rx.url + path, events: ['*'], retry: fast, ...extra });
    assert.equal(r.status, 201, r.text);
    return r.body;
  }
  async function publish(event, payload = {}) {
    const r = await h.api('POST', '/api/events', { event, payload });
    assert.equal(r.status, 202, r.text);
    return r.body.eventId;
  }
  async function delivery(evt, subId) {
    const e = await h.api('GET', `/api/events/${evt}`);
    return e.body.deliveries.find((d) => d.subscription === subId);
  }

  it('delivers the envelope with every header of proto/delivery.md, signed', async () => {
    const s = await sub('/ok', { events: ['order.*'], headers: { Authorization: 'Bearer abc' } });
    const evt = await publish('order.created', { id: 7, name: 'x' });
    await rx.until(() => rx.to('/ok').length === 1, 10000, 'the delivery');
    const r = rx.to('/ok')[0];
    assert.equal(r.method, 'POST');
    const env = JSON.parse(r.body);
    assert.equal(env.id, evt);
    assert.equal(env.event, 'order.created');
    assert.deepEqual(env.payload, { id: 7, name: 'x' });
    assert.deepEqual(env.source, { webhook: null, name: 'api' });
    const hd = r.headers;
    assert.equal(hd['content-type'], 'application/json');
    assert.match(hd['user-agent'], /^hookd\/\d/);
    assert.equal(hd['x-webhook-event'], 'order.created');
    assert.match(hd['x-webhook-delivery'], /^dlv_/);
    assert.equal(hd['x-webhook-attempt'], '1');
    assert.equal(hd['webhook-id'], evt);
    assert.equal(hd.authorization, 'Bearer abc');
    assert.ok(Math.abs(Number(hd['x-webhook-timestamp']) - Date.now()) < 60000);
    assert.equal(String(Math.floor(Number(hd['x-webhook-timestamp']) / 1000)), hd['webhook-timestamp']);
    assert.equal(hd['x-webhook-signature'], createHmac('sha256', s.secret).update(r.body).digest('hex'));
    const key = Buffer.from(s.secret.slice(6), 'base64');
    const v1 = createHmac('sha256', key).update(`${evt}.${hd['webhook-timestamp']}.${r.body}`).digest('base64');
    assert.equal(hd['webhook-signature'], `v1,${v1}`);
    const d = await poll(async () => { const x = await delivery(evt, s.id); return x && x.status === 'succeeded' && x; }, 5000, 'succeeded');
    assert.equal(d.attemptCount, 1);
    assert.equal(d.attempts[0].statusCode, 200);
    assert.equal(d.attempts[0].reason, 'status');
    assert.equal(d.attempts[0].response, 'ok');
    // The attempt as sent: hookd's header lines, the signatures the
    // receiver got; the body is the envelope (null: the event's own).
    const sent = d.attempts[0].request;
    assert.ok(sent.headers.includes(`webhook-signature: ${hd['webhook-signature']}`), JSON.stringify(sent.headers));
    // A subscription's own header values are redacted, as in every answer.
    assert.ok(sent.headers.some((l) => /^authorization: \[redacted\]$/i.test(l)), JSON.stringify(sent.headers));
    assert.ok(!JSON.stringify(d).includes('Bearer abc'));
    assert.ok(!sent.headers.some((l) => /:$/.test(l)), 'a line curl is told to omit is not shown as sent');
    assert.equal(sent.body, null);
    assert.equal(sent.bodySize, Buffer.byteLength(r.body));
    assert.match(d.attempts[0].responseHeaders[0], /^HTTP\/1\.1 200/);
    assert.ok(d.attempts[0].responseHeaders.some((l) => /^date: /i.test(l)), JSON.stringify(d.attempts[0].responseHeaders));
    assert.equal(d.nextAttemptAt, null);
  });

  it('sends all 32 custom headers a subscription may have, and refuses a 33rd', async () => {
    const many = {};
    for (let i = 0; i < 32; i++) many[`X-Custom-${i}`] = `value-${i}`;
    const s = await sub('/many', { events: ['many.*'], headers: many });
    const evt = await publish('many.headers');
    await rx.until(() => rx.to('/many').length === 1, 10000, 'the delivery');
    const hd = rx.to('/many')[0].headers;
    for (let i = 0; i < 32; i++) assert.equal(hd[`x-custom-${i}`], `value-${i}`);
    assert.equal(hd['webhook-id'], evt);
    assert.equal(hd['x-webhook-signature'], createHmac('sha256', s.secret).update(rx.to('/many')[0].body).digest('hex'));
    assertError(await h.api('POST', '/api/subscriptions',
      { url: 'https://example.com/', events: ['*'], headers: { ...many, 'X-Custom-32': 'x' } }), 400, 'bad_request');
  });

  it('matches event patterns and sources', async () => {
    const wh = (await h.api('POST', '/api/webhooks', { name: 'src', auth: 'none' })).body;
    const onlySrc = await sub('/only-src', { events: ['*'], sources: ['src'] });
    assert.deepEqual(onlySrc.sources, [wh.id]);
    const exact = await sub('/exact', { events: ['deploy.done'] });
    await publish('deploy.done');
    const viaWh = (await h.post('/webhooks/src', { event: 'deploy.started' })).body.eventId;
    await rx.until(() => rx.to('/only-src').length === 1 && rx.to('/exact').length === 1, 10000, 'matching deliveries');
    assert.equal(JSON.parse(rx.to('/only-src')[0].body).id, viaWh);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.to('/only-src').length, 1);
    assert.equal(rx.to('/exact').length, 1);
    assert.ok(exact.id);
  });

  it('retries 500, 503 and a timeout with backoff, then succeeds', async () => {
    rx.script('/flaky', { status: 500 }, { status: 503 }, { hang: true });
    const s = await sub('/flaky', { timeoutMs: 300, retry: { maxAttempts: 6, initialMs: 100, maxMs: 400 } });
    const evt = await publish('flaky.event');
    await rx.until(() => rx.to('/flaky').length === 4, 15000, 'four attempts');
    const times = rx.to('/flaky').map((r) => r.at);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 70, `attempt ${i + 1} came ${times[i] - times[i - 1]} ms after the last`);
    assert.deepEqual(rx.to('/flaky').map((r) => r.headers['x-webhook-attempt']), ['1', '2', '3', '4']);
    assert.equal(new Set(rx.to('/flaky').map((r) => r.headers['webhook-id'])).size, 1);
    const d = await poll(async () => { const x = await delivery(evt, s.id); return x && x.status === 'succeeded' && x; }, 5000, 'succeeded');
    assert.deepEqual(d.attempts.map((a) => a.reason), ['status', 'status', 'timeout', 'status']);
    assert.deepEqual(d.attempts.map((a) => a.statusCode), [500, 503, null, 200]);
  });

  it('records a connection reset as a failed attempt', async () => {
    // curl itself retries once on a reused connection that dies, so the
    // receiver may see two resets for one attempt.
    rx.script('/reset', { reset: true }, { reset: true });
    const s = await sub('/reset', { retry: { maxAttempts: 5, initialMs: 100, maxMs: 200 } });
    const evt = await publish('reset.event');
    const d = await poll(async () => { const x = await delivery(evt, s.id); return x && x.status === 'succeeded' && x; }, 10000, 'succeeded');
    assert.equal(d.attempts[0].reason, 'connect');
    assert.equal(d.attempts[0].statusCode, null);
    assert.match(d.attempts[0].error, /./);
  });

  it('gives up after maxAttempts; a retry by hand delivers it', async () => {
    rx.script('/dead', { status: 500 }, { status: 500 }, { status: 500 });
    const s = await sub('/dead');
    const evt = await publish('dead.event');
    const d = await poll(async () => { const x = await delivery(evt, s.id); return x && x.status === 'failed' && x; }, 10000, 'failed');
    assert.equal(d.attemptCount, 3);
    const r = await h.api('POST', `/api/deliveries/${d.id}/retry`);
    assert.equal(r.status, 200, r.text);
    await poll(async () => { const x = await delivery(evt, s.id); return x && x.status === 'succeeded'; }, 10000, 'succeeded');
    assert.equal(rx.to('/dead').length, 4);
    assertError(await h.api('POST', `/api/deliveries/${d.id}/retry`), 409, 'conflict');
    assertError(await h.api('POST', '/api/deliveries/dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV/retry'), 404, 'not_found');
  });

  it('honours Retry-After on 429', async () => {
    rx.script('/slow-down', { status: 429, headers: { 'Retry-After': '1' } });
    await sub('/slow-down', { retry: { maxAttempts: 3, initialMs: 100, maxMs: 5000 } });
    await publish('rate.event');
    await rx.until(() => rx.to('/slow-down').length === 2, 10000, 'the second attempt');
    const [a, b] = rx.to('/slow-down');
    assert.ok(b.at - a.at >= 900, `second attempt after ${b.at - a.at} ms`);
  });

  it('never follows redirects', async () => {
    rx.script('/moved', { status: 302, headers: { Location: `${rx.url}/ok-target` } });
    const s = await sub('/moved', { retry: { maxAttempts: 1, initialMs: 100, maxMs: 100 } });
    const evt = await publish('moved.event');
    const d = await poll(async () => { const x = await delivery(evt, s.id); return x && x.status === 'failed' && x; }, 10000, 'failed');
    assert.equal(d.attempts[0].statusCode, 302);
    assert.equal(rx.to('/ok-target').length, 0);
  });

  it('410 Gone disables the subscription', async () => {
    rx.script('/gone', { status: 410 });
    const s = await sub('/gone');
    await publish('gone.event');
    await poll(async () => (await h.api('GET', `/api/subscriptions/${s.id}`)).body.active === false, 10000, 'disabled');
    const got = await h.api('GET', `/api/subscriptions/${s.id}`);
    assert.equal(got.body.disabledReason, 'gone');
    await publish('gone.event2');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.to('/gone').length, 1);
  });

  it('renders templates', async () => {
    const ts = await sub('/tmpl', { events: ['tmpl.*'], template: '{"text":"Deploy ${payload.ref} by ${payload.user.name}","n":${payload.n},"type":"${event_type}","all":${payload}}' });
    await publish('tmpl.go', { ref: 'main "x"', user: { name: 'ann' }, n: 3 });
    await rx.until(() => rx.to('/tmpl').length === 1, 10000, 'the templated delivery');
    const body = JSON.parse(rx.to('/tmpl')[0].body);
    assert.deepEqual(body, { text: 'Deploy main "x" by ann', n: 3, type: 'tmpl.go', all: { ref: 'main "x"', user: { name: 'ann' }, n: 3 } });
    const evt = rx.to('/tmpl')[0].headers['webhook-id'];
    const d = await poll(async () => { const e = await h.api('GET', `/api/events/${evt}`); const x = (e.body.deliveries || []).find((y) => y.subscription === ts.id); return x && x.attempts.length === 1 && x; }, 5000, 'the attempt recorded');
    assert.equal(d.attempts[0].request.body, rx.to('/tmpl')[0].body);
  });

  it('ordered: one at a time, in accept order, a failing head blocks the rest', async () => {
    rx.script('/ordered', { status: 500 }, { status: 500 });
    const s = await sub('/ordered', { ordered: true, events: ['ord.*'], retry: { maxAttempts: 5, initialMs: 150, maxMs: 300 } });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await publish('ord.e', { i }));
    await rx.until(() => rx.to('/ordered').filter((r) => r.headers['x-webhook-attempt']).length >= 6, 15000, 'ordered deliveries');
    await poll(async () => (await Promise.all(ids.map((e) => delivery(e, s.id)))).every((d) => d.status === 'succeeded'), 10000, 'all succeeded');
    const seq = rx.to('/ordered').map((r) => JSON.parse(r.body).payload.i);
    assert.deepEqual(seq, [0, 0, 0, 1, 2, 3]);
  });

  it('opens the circuit after 5 failures: one probe at a time', async () => {
    rx.fallbackFor = rx.fallbackFor || {};
    const answers = Array.from({ length: 40 }, () => ({ status: 500, delayMs: 50 }));
    rx.script('/circuit', ...answers);
    const s = await sub('/circuit', { events: ['circ.*'], maxInFlight: 8, retry: { maxAttempts: 2, initialMs: 100, maxMs: 200 } });
    for (let i = 0; i < 12; i++) await publish('circ.e', { i });
    await new Promise((r) => setTimeout(r, 2500));
    // Count the highest number of requests in flight at once after the
    // first five failures: at most one.
    const reqs = rx.to('/circuit');
    assert.ok(reqs.length >= 6);
    // The first 12 may overlap (the circuit opens after 5 outcomes);
    // after that each probe waits for the one before (50 ms each).
    const after = reqs.slice(12);
    assert.ok(after.length >= 3, `only ${after.length} probes`);
    for (let i = 1; i < after.length; i++) assert.ok(after[i].at - after[i - 1].at >= 40, 'probes overlap');
    assert.ok(s.id);
  });

  it('test endpoints: a subscription test and a one-off test delivery', async () => {
    const s = await sub('/t');
    const r = await h.api('POST', `/api/subscriptions/${s.id}/test`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.success, true);
    assert.equal(r.body.statusCode, 200);
    assert.equal(typeof r.body.latencyMs, 'number');
    assert.equal(JSON.parse(rx.to('/t')[0].body).event, 'webhook.test');
    rx.script('/t2', { status: 500 });
    const t = await h.api('POST', '/api/test-delivery', { url: `${rx.url}/t2`, event: 'x.y', payload: { a: 1 }, secret: 'raw-secret' });
    assert.equal(t.status, 200);
    assert.equal(t.body.success, false);
    assert.equal(t.body.statusCode, 500);
    const got = rx.to('/t2')[0];
    assert.equal(got.headers['x-webhook-signature'], createHmac('sha256', 'raw-secret').update(got.body).digest('hex'));
    const refused = await h.api('POST', '/api/test-delivery', { url: 'http://10.1.2.3/x', event: 'x' });
    assert.equal(refused.status, 200);
    assert.equal(refused.body.success, false);
    assert.match(refused.body.message, /not a public address/);
    assertError(await h.api('POST', '/api/test-delivery', { url: 'ftp://x/' }), 400, 'bad_request');
  });

  it('lists deliveries with filters, replays an event', async () => {
    const s = await sub('/list', { events: ['list.*'] });
    const evt = await publish('list.one');
    await poll(async () => { const x = await delivery(evt, s.id); return x && x.status === 'succeeded'; }, 10000, 'delivered');
    const l = await h.api('GET', `/api/deliveries?subscription=${s.id}`);
    assert.equal(l.status, 200);
    assert.equal(l.body.data.length, 1);
    assert.equal(l.body.data[0].event, evt);
    assert.equal(l.body.data[0].attempts, undefined);
    const byEvt = await h.api('GET', `/api/deliveries?event=${evt}&status=succeeded`);
    assert.ok(byEvt.body.data.every((d) => d.event === evt && d.status === 'succeeded'));
    const one = await h.api('GET', `/api/deliveries/${l.body.data[0].id}`);
    assert.equal(one.body.attempts.length, 1);
    assertError(await h.api('GET', '/api/deliveries?status=weird'), 400, 'bad_request');
    assertError(await h.api('GET', '/api/deliveries/dlv_nope'), 404, 'not_found');
    const rp = await h.api('POST', `/api/events/${evt}/replay`, { subscription: s.id });
    assert.equal(rp.status, 202, rp.text);
    assert.equal(rp.body.deliveries.length, 1);
    // A time window over when deliveries were created: [since, until).
    const created = Date.parse(l.body.data[0].createdAt);
    const iso = (ms) => encodeURIComponent(new Date(ms).toISOString());
    const win = async (q) => (await h.api('GET', `/api/deliveries?subscription=${s.id}&${q}`)).body.data.map((d) => d.id);
    assert.deepEqual(await win(`since=${iso(created)}&until=${iso(created + 1)}`), [l.body.data[0].id]);
    assert.deepEqual(await win(`until=${iso(created)}`), []);
    assert.deepEqual(await win(`since=${iso(created + 1)}`), [rp.body.deliveries[0]]);
    assert.equal((await win(`since=${Math.floor(created / 1000)}`)).length, 2);
    assertError(await h.api('GET', '/api/deliveries?until=yesterday'), 400, 'bad_request');
    await rx.until(() => rx.to('/list').length === 2, 10000, 'the replay');
    assert.equal(rx.to('/list')[1].headers['webhook-id'], evt);
    assertError(await h.api('POST', '/api/events/evt_01ARZ3NDEKTSV4RRFFQ69G5FAV/replay'), 404, 'not_found');
  });

  it('connect-time guard: a name that resolves inside is refused when it is not allowed', async () => {
    const h2 = await new Hookd().start();
    try {
      const r = await h2.api('POST', '/api/test-delivery', { url: `http://localhost:${rx.port}/never`, event: 'x' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.success, false);
      assert.ok(['target_not_allowed'].includes(r.body.reason), r.text);
      assert.equal(rx.to('/never').length, 0);
    } finally {
      await h2.stop();
      h2.cleanup();
    }
  });

  it('deleting a subscription cancels its pending deliveries; recover retries a window', async () => {
    rx.script('/cancel', { hang: true });
    const s = await sub('/cancel', { timeoutMs: 5000, retry: { maxAttempts: 5, initialMs: 10000, maxMs: 10000 } });
    const e2 = await publish('c.two');
    await rx.until(() => rx.to('/cancel').length >= 1, 10000, 'first attempt');
    const d = await delivery(e2, s.id);
    assert.ok(['pending', 'in_flight'].includes(d.status));
    assert.equal((await h.api('DELETE', `/api/subscriptions/${s.id}`)).status, 204);
    await poll(async () => (await h.api('GET', `/api/deliveries/${d.id}`)).body.status === 'cancelled', 10000, 'cancelled');

    rx.script('/recover', { status: 500 });
    const s2 = await sub('/recover', { retry: { maxAttempts: 1, initialMs: 100, maxMs: 100 } });
    const since = new Date(Date.now() - 1000).toISOString();
    const e3 = await publish('r.one');
    await poll(async () => { const x = await delivery(e3, s2.id); return x && x.status === 'failed'; }, 10000, 'failed');
    const rec = await h.api('POST', `/api/subscriptions/${s2.id}/recover`, { since });
    assert.equal(rec.status, 200, rec.text);
    assert.equal(rec.body.recovered, 1);
    await poll(async () => { const x = await delivery(e3, s2.id); return x && x.status === 'succeeded'; }, 10000, 'recovered');
    assertError(await h.api('POST', `/api/subscriptions/${s2.id}/recover`, {}), 400, 'bad_request');
  });
});

describe('a retry while the outcome commits', () => {
  it('is taken, applied after the outcome (it answered 409 "in flight")', async () => {
    const rx = await new Receiver().start();
    // Outcomes wait a whole second to share a commit: the window is wide.
    const h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8', '--outcome-delay', '1s'] }).start();
    try {
      rx.script('/late', { status: 500 });
      rx.fallback = { status: 200 };
      const s = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/late`, events: ['*'], retry: { maxAttempts: 1 } })).body;
      const evt = (await h.api('POST', '/api/events', { event: 'late.e', payload: {} })).body.eventId;
      await rx.until(() => rx.to('/late').length === 1, 10000, 'the first attempt');
      await new Promise((r) => setTimeout(r, 150)); // its answer is in, its outcome not committed
      const d = (await h.api('GET', `/api/deliveries?event=${evt}`)).body.data[0];
      const r = await h.api('POST', `/api/deliveries/${d.id}/retry`);
      assert.equal(r.status, 200, r.text);
      await poll(async () => (await h.api('GET', `/api/deliveries/${d.id}`)).body.status === 'succeeded', 10000, 'succeeded');
      const one = (await h.api('GET', `/api/deliveries/${d.id}`)).body;
      assert.deepEqual(one.attempts.map((a) => a.statusCode), [500, 200]);
      assert.equal(rx.to('/late').length, 2);
      assert.ok(s.id);
    } finally {
      await h.stop();
      h.cleanup();
      await rx.stop();
    }
  });
});

describe('delivery across restarts', () => {
  it('resumes pending deliveries after SIGKILL and after SIGTERM', async () => {
    const rx = await new Receiver().start();
    const h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
    try {
      rx.fallback = { status: 503 };
      const s = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/r`, events: ['*'], retry: { maxAttempts: 50, initialMs: 100, maxMs: 300 } })).body;
      const ids = [];
      for (let i = 0; i < 20; i++) ids.push((await h.api('POST', '/api/events', { event: 'r.e', payload: { i } })).body.eventId);
      await rx.until(() => rx.requests.length >= 20, 10000, 'first attempts');
      await h.kill();
      rx.fallback = { status: 200 };
      await h.restart();
      await poll(async () => {
        const got = new Set(rx.to('/r').filter((r) => true).map((r) => JSON.parse(r.body).id));
        return ids.every((id) => got.has(id));
      }, 20000, 'every event delivered after the restart');
      await poll(async () => (await h.api('GET', `/api/deliveries?subscription=${s.id}&status=succeeded&limit=100`)).body.data.length === 20, 10000, 'all succeeded');
    } finally {
      await h.stop();
      h.cleanup();
      await rx.stop();
    }
  });
});

describe('delivery: limits and operational events', () => {
  let h, rx;
  before(async () => {
    rx = await new Receiver().start();
    h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8', '--max-in-flight', '3', '--disable-after', '1s'] }).start();
  });
  after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });

  it('keeps to --max-in-flight and maxInFlight', async () => {
    let now = 0;
    let peak = 0;
    const answers = Array.from({ length: 10 }, () => ({ status: 200, delayMs: 150 }));
    rx.script('/busy', ...answers);
    const orig = rx.handle.bind(rx);
    rx.handle = (req, res) => {
      if (req.url === '/busy') {
        now++;
        peak = Math.max(peak, now);
        res.on('finish', () => { now--; });
      }
      orig(req, res);
    };
    await h.api('POST', '/api/subscriptions', { url: `${rx.url}/busy`, events: ['busy.*'], maxInFlight: 8 });
    for (let i = 0; i < 10; i++) await h.api('POST', '/api/events', { event: 'busy.e', payload: { i } });
    await rx.until(() => rx.to('/busy').length === 10, 15000, 'ten deliveries');
    assert.ok(peak <= 3, `peak ${peak} in flight`);
    assert.ok(peak >= 2);
    rx.handle = orig;
  });

  it('publishes failing, exhausted and recovered events, and disables after --disable-after', async () => {
    const ops = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/ops`, events: ['hookd.*'] })).body;
    rx.script('/bad', ...Array.from({ length: 4 }, () => ({ status: 500 })));
    const bad = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/bad`, events: ['bad.*'], retry: { maxAttempts: 5, initialMs: 100, maxMs: 150 } })).body;
    await h.api('POST', '/api/events', { event: 'bad.e', payload: {} });
    await rx.until(() => rx.to('/ops').some((r) => JSON.parse(r.body).event === 'hookd.delivery.recovered'), 15000, 'recovered');
    const types = rx.to('/ops').map((r) => JSON.parse(r.body).event);
    assert.ok(types.includes('hookd.delivery.failing'), types.join());
    const failing = JSON.parse(rx.to('/ops').find((r) => JSON.parse(r.body).event === 'hookd.delivery.failing').body);
    assert.equal(failing.payload.subscription, bad.id);
    assert.equal(failing.payload.attempts, 4);
    assert.equal(failing.source.name, 'hookd');

    rx.script('/dying', ...Array.from({ length: 60 }, () => ({ status: 500 })));
    const dying = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/dying`, events: ['dying.*'], retry: { maxAttempts: 2, initialMs: 600, maxMs: 600 } })).body;
    await h.api('POST', '/api/events', { event: 'dying.e', payload: {} });
    await rx.until(() => rx.to('/ops').some((r) => JSON.parse(r.body).event === 'hookd.delivery.exhausted'), 15000, 'exhausted');
    // The first failed attempt more than 1 s after the first failure
    // disables it. The retries' jitter (±20 %) can put both attempts of
    // one more event inside that second: send another until it happens.
    const disabled = () => rx.to('/ops').some((r) => JSON.parse(r.body).event === 'hookd.subscription.disabled');
    let n = 2;
    await poll(async () => {
      if (disabled()) return true;
      if ((await h.api('GET', `/api/subscriptions/${dying.id}`)).body.active)
        await h.api('POST', '/api/events', { event: `dying.e${n++}`, payload: {} });
      await new Promise((r) => setTimeout(r, 700));
      return disabled();
    }, 15000, 'disabled');
    const s = (await h.api('GET', `/api/subscriptions/${dying.id}`)).body;
    assert.equal(s.active, false);
    assert.equal(s.disabledReason, 'failing');
    // Turning it on again clears the reason.
    const on = (await h.api('PATCH', `/api/subscriptions/${dying.id}`, { active: true })).body;
    assert.equal(on.active, true);
    assert.equal(on.disabledReason, undefined);
    assert.ok(ops.id);
  });

  it('records a response over 1 MiB as too_large, keeps 1 KiB of a body', async () => {
    rx.script('/huge', { status: 200, body: 'x'.repeat(3 * 1024 * 1024) }, { status: 500, body: 'e'.repeat(5000) });
    const s = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/huge`, events: ['huge.*'], retry: { maxAttempts: 3, initialMs: 100, maxMs: 100 } })).body;
    const evt = (await h.api('POST', '/api/events', { event: 'huge.e', payload: {} })).body.eventId;
    const d = await poll(async () => {
      const e = await h.api('GET', `/api/events/${evt}`);
      const x = e.body.deliveries.find((y) => y.subscription === s.id);
      return x && x.status === 'succeeded' && x;
    }, 15000, 'succeeded');
    assert.equal(d.attempts[0].reason, 'too_large');
    assert.equal(d.attempts[1].statusCode, 500);
    assert.equal(d.attempts[1].response.length, 1024);
  });
});

describe('delivery: connections, handles and gathered outcomes', () => {
  it('keeps its connections between bursts (up to --max-in-flight idle)', async (t) => {
    const h = await startHookd(t, { args: ['--allow-targets', '127.0.0.0/8', '--max-in-flight', '16'] });
    const rx = await new Receiver().start();
    t.after(() => rx.stop());
    let conns = 0;
    rx.server.on('connection', () => { conns++; });
    const s = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/c`, events: ['c.*'], maxInFlight: 16 })).body;
    let sent = 0;
    const burst = async () => {
      // Slow answers: sixteen requests in flight at once, on sixteen connections.
      rx.script('/c', ...Array.from({ length: 16 }, () => ({ status: 200, delayMs: 150 })));
      for (let i = 0; i < 16; i++) await h.api('POST', '/api/events', { event: 'c.e', payload: { i } });
      sent += 16;
      await rx.until(() => rx.to('/c').length === sent, 15000, 'a burst');
    };
    await burst();
    // Then one at a time: a single transfer running.
    for (let i = 0; i < 12; i++) {
      await h.api('POST', '/api/events', { event: 'c.e', payload: { i } });
      sent++;
      await rx.until(() => rx.to('/c').length === sent, 10000, 'a single delivery');
    }
    await burst();
    await poll(async () => (await h.api('GET', `/api/deliveries?subscription=${s.id}&status=succeeded&limit=100`)).body.data.length === sent, 10000, 'outcomes');
    // curl's default pool keeps 4 idle per running transfer: one at a
    // time, it shrinks to 4, and the next burst connects anew.
    assert.ok(conns >= 2 && conns <= 18, `${conns} connections for ${sent} deliveries, 16 at most at once`);
  });

  it('carries nothing of one attempt into the next on a reused handle', async (t) => {
    const h = await startHookd(t, { args: ['--allow-targets', '127.0.0.0/8'] });
    const rx = await new Receiver().start();
    t.after(() => rx.stop());
    await h.api('POST', '/api/subscriptions', { url: `${rx.url}/a`, events: ['a.*'], headers: { 'X-Only-A': 'yes' } });
    await h.api('POST', '/api/subscriptions', { url: `${rx.url}/b`, events: ['b.*'], template: '{"t":"${event_type}"}' });
    for (let i = 0; i < 10; i++) {
      await h.api('POST', '/api/events', { event: 'a.e', payload: { i } });
      await h.api('POST', '/api/events', { event: 'b.e', payload: { i } });
    }
    await rx.until(() => rx.to('/a').length === 10 && rx.to('/b').length === 10, 15000, 'twenty deliveries');
    for (const r of rx.to('/b')) {
      assert.equal(r.headers['x-only-a'], undefined);
      assert.deepEqual(JSON.parse(r.body), { t: 'b.e' });
    }
    for (const r of rx.to('/a')) {
      assert.equal(r.headers['x-only-a'], 'yes');
      assert.equal(JSON.parse(r.body).event, 'a.e');
    }
  });

  it('gathers outcomes for --outcome-delay, but not an ordered subscription\'s, and commits them at SIGTERM', async (t) => {
    const h = await startHookd(t, { args: ['--allow-targets', '127.0.0.0/8', '--outcome-delay', '1s'] });
    const rx = await new Receiver().start();
    t.after(() => rx.stop());
    const s = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/g`, events: ['g.*'] })).body;
    const evt = (await h.api('POST', '/api/events', { event: 'g.e', payload: {} })).body.eventId;
    await rx.until(() => rx.to('/g').length === 1, 10000, 'the delivery');
    // Answered, not yet committed: still in flight (not sent again).
    const d = (await h.api('GET', `/api/events/${evt}`)).body.deliveries.find((x) => x.subscription === s.id);
    assert.equal(d.status, 'in_flight');
    await poll(async () => (await h.api('GET', `/api/events/${evt}`)).body.deliveries[0].status === 'succeeded', 5000, 'committed after the delay');

    // Ordered: each next attempt waits for the outcome; no delay there.
    const o = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/o`, events: ['o.*'], ordered: true })).body;
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) await h.api('POST', '/api/events', { event: 'o.e', payload: { i } });
    await rx.until(() => rx.to('/o').length === 3, 10000, 'three ordered deliveries');
    assert.ok(Date.now() - t0 < 1500, `ordered deliveries took ${Date.now() - t0} ms`);
    assert.deepEqual(rx.to('/o').map((r) => JSON.parse(r.body).payload.i), [0, 1, 2]);
    assert.ok(o.id);

    // Outcomes still gathering at SIGTERM are committed, not redone.
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await h.api('POST', '/api/events', { event: 'g.e', payload: { i } })).body.eventId);
    await rx.until(() => rx.to('/g').length === 4, 10000, 'three more');
    await h.stop();
    await h.restart();
    for (const id of ids) {
      const x = (await h.api('GET', `/api/events/${id}`)).body.deliveries[0];
      assert.equal(x.status, 'succeeded', JSON.stringify(x));
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(rx.to('/g').length, 4, 'nothing delivered twice');
  });
});
