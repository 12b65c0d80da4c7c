// The delivery lifecycle across versions and the engine's own state
// (ISSUE14 items 3 and 4): deliveries a data directory of the previous
// hookd holds read, list, filter, retry and go out as they did; the
// engine's per-subscription state survives an update and goes with a
// delete.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Hookd, dataRoot, lmdbOnly } from '../lib/hookd.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

const ALLOW = ['--allow-targets', '127.0.0.0/8'];

async function fixture(t, name) {
  const src = `test/fixtures/${name}`;
  const dir = mkdtempSync(join(dataRoot(), 'hookd-lifecycle-'));
  for (const f of ['data.mdb', 'master.key', 'admin.token']) copyFileSync(join(src, f), join(dir, f));
  chmodSync(join(dir, 'master.key'), 0o600);
  chmodSync(join(dir, 'admin.token'), 0o600);
  const h = await new Hookd({ dir, args: ALLOW }).start();
  t.after(async () => { await h.stop(); rmSync(dir, { recursive: true, force: true }); });
  return h;
}

async function api(h, method, path, body) {
  const r = await h.api(method, path, body);
  if (r.status >= 500) assert.fail(`${method} ${path}: ${r.text}`);
  return r;
}

describe('deliveries written by hookd 0.1.0', lmdbOnly('its fixtures are data.mdb files of hookd 0.1.0, which had only LMDB'), () => {
  it('read back in every state, list and filter as before', async (t) => {
    const h = await fixture(t, 'deliveries-0.1.0');
    const subs = (await api(h, 'GET', '/api/subscriptions')).body.data;
    const byName = Object.fromEntries(subs.map((s) => [s.description, s]));
    assert.deepEqual(Object.keys(byName).sort(), ['fail', 'later', 'ok', 'paused']);
    const all = (await api(h, 'GET', '/api/deliveries?limit=100')).body.data;
    assert.equal(all.length, 5, JSON.stringify(all));
    const of = (name) => all.find((d) => d.subscription === byName[name].id);
    const want = { ok: 'succeeded', fail: 'failed', later: 'pending', paused: 'pending' };
    for (const [name, status] of Object.entries(want)) {
      const d = of(name);
      assert.equal(d.status, status, `${name}: ${JSON.stringify(d)}`);
      assert.equal(d.attemptCount, 1, name);
      assert.equal(d.nextAttemptAt === null, status !== 'pending', name);
      assert.match(d.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(d.updatedAt >= d.createdAt, name);
      for (const internal of ['limit', 'cls', 'due']) assert.equal(d[internal], undefined, `${name}.${internal}`);
    }
    const cancelled = all.filter((d) => d.status === 'cancelled');
    assert.equal(cancelled.length, 1);
    assert.equal(cancelled[0].nextAttemptAt, null);
    assert.ok(!subs.some((s) => s.id === cancelled[0].subscription));
    // A retry an hour away keeps its time; a retry by hand is due now.
    assert.ok(Date.parse(of('later').nextAttemptAt) - Date.parse(of('later').updatedAt) > 3500000);
    assert.equal(of('paused').nextAttemptAt, of('paused').updatedAt);
    // Each shows its attempt, as stored beside it.
    const shown = (await api(h, 'GET', `/api/deliveries/${of('fail').id}`)).body;
    assert.equal(shown.attempts.length, 1);
    assert.equal(shown.attempts[0].statusCode, 500);
    assert.equal(shown.attempts[0].reason, 'status');
    for (const status of ['pending', 'succeeded', 'failed', 'cancelled', 'in_flight']) {
      const got = (await api(h, 'GET', `/api/deliveries?status=${status}`)).body.data;
      assert.equal(got.length, all.filter((d) => d.status === status).length, status);
    }
    const bySub = (await api(h, 'GET', `/api/deliveries?subscription=${byName.fail.id}`)).body.data;
    assert.deepEqual(bySub.map((d) => d.id), [of('fail').id]);
    const byEvt = (await api(h, 'GET', `/api/deliveries?event=${of('ok').event}`)).body.data;
    assert.deepEqual(byEvt.map((d) => d.id), [of('ok').id]);
    const evt = (await api(h, 'GET', `/api/events/${of('later').event}`)).body;
    assert.equal(evt.deliveries[0].status, 'pending');
  });

  it('retry, and pending ones go out once their subscription is active', async (t) => {
    const h = await fixture(t, 'deliveries-0.1.0');
    const rx = await new Receiver().start();
    t.after(() => rx.stop());
    const subs = (await api(h, 'GET', '/api/subscriptions')).body.data;
    const byName = Object.fromEntries(subs.map((s) => [s.description, s]));
    const all = (await api(h, 'GET', '/api/deliveries?limit=100')).body.data;
    const of = (name) => all.find((d) => d.subscription === byName[name].id);
    assert.equal((await api(h, 'POST', `/api/deliveries/${of('ok').id}/retry`)).status, 409);
    const cancelled = all.find((d) => d.status === 'cancelled');
    assert.equal((await api(h, 'POST', `/api/deliveries/${cancelled.id}/retry`)).status, 409);
    // "later" was stored an hour away: retry brings it forward. Asked
    // while its subscription is off, so that the answer does not depend
    // on how long ago the fixture was written (once its hour is past it
    // would go out, and be in flight, as soon as it is on).
    const l = await api(h, 'POST', `/api/deliveries/${of('later').id}/retry`);
    assert.equal(l.status, 200, l.text);
    for (const name of ['fail', 'later', 'paused']) {
      const p = await api(h, 'PATCH', `/api/subscriptions/${byName[name].id}`, { url: `${rx.url}/${name}`, active: true });
      assert.equal(p.status, 200, p.text);
    }
    const r = await api(h, 'POST', `/api/deliveries/${of('fail').id}/retry`);
    assert.equal(r.status, 200, r.text);
    const show = async (name) => (await api(h, 'GET', `/api/deliveries/${of(name).id}`)).body;
    await poll(async () => {
      const ds = await Promise.all(['fail', 'later', 'paused'].map(show));
      return ds.every((d) => d.status === 'succeeded' && d.attemptCount === 2);
    }, 15000, 'the three delivered');
    for (const name of ['fail', 'later', 'paused']) {
      assert.equal(rx.to(`/${name}`).length, 1, name);
      assert.equal(rx.to(`/${name}`)[0].headers['webhook-id'], of(name).event);
      assert.equal(rx.to(`/${name}`)[0].headers['x-webhook-attempt'], '2');
      const d = await show(name);
      assert.equal(d.nextAttemptAt, null);
      assert.deepEqual(d.attempts.map((a) => a.attempt), [1, 2]);
    }
    assert.equal((await show('ok')).status, 'succeeded');
    assert.equal((await api(h, 'GET', `/api/deliveries/${cancelled.id}`)).body.status, 'cancelled');
  });
});

describe('the engine keeps its own state of a subscription', () => {
  it('an open circuit survives an update and goes with a delete', async (t) => {
    const rx = await new Receiver().start();
    const h = await new Hookd({ args: ALLOW }).start();
    t.after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });
    for (let i = 0; i < 40; i++) rx.script('/down', { status: 500 });
    const s = (await api(h, 'POST', '/api/subscriptions', {
      url: `${rx.url}/down`, events: ['down.*'], retry: { maxAttempts: 1, initialMs: 100, maxMs: 100 },
    })).body;
    for (let i = 0; i < 6; i++) assert.equal((await api(h, 'POST', '/api/events', { event: 'down.x', payload: { i } })).status, 202);
    const open = async () => (await api(h, 'GET', '/api/stats')).body.delivery.circuitsOpen;
    await poll(async () => (await open()) === 1, 10000, 'the circuit open');
    const p = await api(h, 'PATCH', `/api/subscriptions/${s.id}`, { description: 'still down', timeoutMs: 5000 });
    assert.equal(p.status, 200, p.text);
    assert.equal(await open(), 1);
    assert.equal((await api(h, 'DELETE', `/api/subscriptions/${s.id}`)).status, 204);
    assert.equal(await open(), 0);
  });
});

describe('transitions and fates are traced', () => {
  it('each transition at debug level, each attempt once with its fate', async (t) => {
    const rx = await new Receiver().start();
    const h = await new Hookd({ args: [...ALLOW, '--log-level', 'debug'] }).start();
    t.after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });
    rx.script('/no', { status: 500 }, { status: 500 });
    const ok = (await api(h, 'POST', '/api/subscriptions', { url: `${rx.url}/yes`, events: ['yes.*'] })).body;
    const no = (await api(h, 'POST', '/api/subscriptions', {
      url: `${rx.url}/no`, events: ['no.*'], retry: { maxAttempts: 2, initialMs: 100, maxMs: 100 },
    })).body;
    const e1 = (await api(h, 'POST', '/api/events', { event: 'yes.a', payload: {} })).body.eventId;
    const e2 = (await api(h, 'POST', '/api/events', { event: 'no.a', payload: {} })).body.eventId;
    const dlv = async (e) => (await api(h, 'GET', `/api/events/${e}`)).body.deliveries[0];
    await poll(async () => (await dlv(e1)).status === 'succeeded' && (await dlv(e2)).status === 'failed', 10000, 'both final');
    const [d1, d2] = [await dlv(e1), await dlv(e2)];
    const lines = (event, id) => h.log.split('\n').filter((l) => l.includes(`event=${event} `) && l.includes(`delivery=${id} `));
    const moves = (id) => lines('delivery_state', id).map((l) => /transition=(\S+)/.exec(l)[1]);
    assert.deepEqual(moves(d1.id), ['pending->succeeded']);
    assert.deepEqual(moves(d2.id), ['pending->pending', 'pending->failed']);
    for (const l of lines('delivery_state', d1.id)) assert.match(l, /level=debug .*func=hk_delivery_move /);
    const fates = (id) => lines('attempt', id).map((l) => /fate=(\S+)/.exec(l)[1]);
    assert.deepEqual(fates(d1.id), ['succeeded']);
    assert.deepEqual(fates(d2.id), ['retry', 'failed']);
    assert.match(lines('attempt', d2.id)[1], /error="HTTP 500" cause="its last attempt failed"/);
    // A retry by hand, then a cancel with the subscription.
    rx.script('/no', { status: 500 });
    assert.equal((await api(h, 'PATCH', `/api/subscriptions/${no.id}`, { active: false })).status, 200);
    assert.equal((await api(h, 'POST', `/api/deliveries/${d2.id}/retry`)).status, 200);
    assert.equal((await api(h, 'DELETE', `/api/subscriptions/${no.id}`)).status, 204);
    assert.equal((await dlv(e2)).status, 'cancelled');
    assert.deepEqual(moves(d2.id), ['pending->pending', 'pending->failed', 'failed->pending', 'pending->cancelled']);
    assert.ok(ok.id);
  });
});
