// Stats (proto/api.md, §5 stats endpoints) and /metrics: exact figures after a
// known sequence, and the exposition checked by promtool.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hookd, request } from '../lib/hookd.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

it('counts a known sequence exactly, per webhook, per subscription and in /metrics', async () => {
  const rx = await new Receiver().start();
  const h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
  try {
    const wh = (await h.api('POST', '/api/webhooks', { name: 'st', rateLimit: 1 })).body;
    const ok = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/ok`, events: ['s.*'] })).body;
    rx.script('/bad', { status: 500 });
    const bad = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/bad`, events: ['s.*'], retry: { maxAttempts: 1, initialMs: 100, maxMs: 100 } })).body;
    const tok = { 'x-webhook-token': wh.token };
    assert.equal((await h.post('/webhooks/st', { event: 's.one' }, { ...tok, 'idempotency-key': 'k1' })).status, 202);
    assert.equal((await h.post('/webhooks/st', { event: 's.one' }, { ...tok, 'idempotency-key': 'k1' })).status, 200);
    assert.equal((await h.post('/webhooks/st', { event: 's.two' }, tok)).status, 429);
    assert.equal((await h.post('/webhooks/st', {})).status, 401);
    assert.equal((await h.post('/webhooks/nope', {})).status, 404);
    // The failure's operational event (hookd.delivery.exhausted) commits after it is counted.
    await poll(async () => { const b = (await h.api('GET', '/api/stats')).body; return b.delivery.failed === 1 && b.store.events === 2; }, 10000, 'the failed delivery');
    await poll(async () => (await h.api('GET', '/api/stats')).body.delivery.succeeded === 1, 10000, 'the delivery');
    const s = (await h.api('GET', '/api/stats')).body;
    assert.equal(s.version, '0.1.0');
    assert.equal(typeof s.uptimeSeconds, 'number');
    assert.deepEqual({ r: s.ingest.received, a: s.ingest.accepted, d: s.ingest.duplicates, l: s.ingest.rateLimited, j: s.ingest.rejected },
      { r: 5, a: 1, d: 1, l: 1, j: 3 });
    assert.equal(s.ingest.rejectedByCode.rate_limited, 1);
    assert.equal(s.ingest.rejectedByCode.missing_token, 1);
    assert.equal(s.ingest.rejectedByCode.not_found, 1);
    assert.equal(s.ingest.rejectedByCode.invalid_json, 0);
    assert.deepEqual({ p: s.delivery.pending, f: s.delivery.inFlight, ok: s.delivery.succeeded, bad: s.delivery.failed, a: s.delivery.attempts, r: s.delivery.retries },
      { p: 0, f: 0, ok: 1, bad: 1, a: 2, r: 0 });
    assert.equal(s.latency.ingest['1m'].count, 1);
    assert.equal(s.latency.deliveryAttempt['1m'].count, 2);
    assert.equal(s.latency.deliveryAttempt['1m'].errorRate, 0.5);
    assert.equal(s.latency.eventToFirstSuccess['1m'].count, 1);
    assert.ok(s.latency.deliveryAttempt['1m'].latencyMs.p99 >= s.latency.deliveryAttempt['1m'].latencyMs.p50);
    assert.deepEqual(s.webhooks, { enabled: 1, disabled: 0 });
    assert.deepEqual(s.subscriptions, { active: 2, disabled: 0 });
    assert.equal(s.store.events, 2); // and hookd.delivery.exhausted
    assert.equal(s.store.deliveries, 2);
    assert.ok(s.store.mapSize === 1073741824 && s.store.bytesUsed > 0);

    // The history behind the console's charts: the same counts, in the
    // current slot of each window (1 accepted event; 2 attempts, 1 failed).
    const hist = await h.api('GET', '/api/stats/history');
    assert.equal(hist.status, 200);
    for (const [w, n, len] of [['hour', 12, 300], ['day', 24, 3600]]) {
      const win = hist.body[w];
      assert.equal(win.slotSeconds, len, w);
      assert.equal(win.slots.length, n, w);
      const starts = win.slots.map((x) => Date.parse(x.start));
      for (let i = 1; i < n; i++) assert.equal(starts[i] - starts[i - 1], len * 1000, w);
      assert.ok(starts[n - 1] <= Date.now() && Date.now() < starts[n - 1] + 2 * len * 1000, w);
      // The current slot is the last one, unless the test crossed a slot edge.
      const sum = (k) => win.slots.reduce((a, x) => a + x[k], 0);
      assert.deepEqual({ a: sum('accepted'), t: sum('attempts'), f: sum('failed') }, { a: 1, t: 2, f: 1 }, w);
      const last = win.slots.filter((x) => x.attempts > 0).pop();
      assert.ok(last.latencyMs.p99 >= last.latencyMs.p50, w);
      assert.deepEqual(win.slots[0].latencyMs, win.slots[0].attempts ? win.slots[0].latencyMs : { p50: null, p99: null }, w);
    }
    assert.equal((await h.api('POST', '/api/stats/history', {})).status, 405);
    assert.equal((await request(`${h.admin}/api/stats/history`)).status, 401);
    assert.equal((await h.api('GET', '/api/stats/nope')).status, 404);

    const ws = (await h.api('GET', '/api/webhooks/st/stats')).body;
    assert.equal(ws.id, wh.id);
    for (const w of ['1m', '1h', '24h']) {
      assert.equal(ws.windows[w].count, 4, w);
      assert.equal(ws.windows[w].errorRate, 0.5, w);
      assert.equal(ws.windows[w].successRate, 0.5, w);
      for (const p of ['p50', 'p90', 'p99']) assert.equal(typeof ws.windows[w].latencyMs[p], 'number');
    }
    const bs = (await h.api('GET', `/api/subscriptions/${bad.id}/stats`)).body;
    assert.equal(bs.windows['1m'].count, 1);
    assert.equal(bs.windows['1m'].errorRate, 1);
    const os = (await h.api('GET', `/api/subscriptions/${ok.id}/stats`)).body;
    assert.equal(os.windows['1h'].successRate, 1);
    assert.equal((await h.api('GET', '/api/webhooks/nope/stats')).status, 404);

    const m = await h.api('GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    assert.match(m.text, /^hookd_ingest_received_total 5$/m);
    assert.match(m.text, /^hookd_ingest_rejected_total\{code="rate_limited"\} 1$/m);
    assert.match(m.text, /^hookd_delivery_attempts_total 2$/m);
    assert.match(m.text, new RegExp(`^hookd_subscription_attempts_total\\{subscription="${bad.id}",result="failure"\\} 1$`, 'm'));
    assert.match(m.text, /^hookd_ingest_latency_seconds_bucket\{le="\+Inf"\} 1$/m);
    assert.match(m.text, /^hookd_ingest_latency_seconds_count 1$/m);
    assert.match(m.text, /^# TYPE hookd_delivery_attempt_latency_seconds histogram$/m);
    assert.equal((await request(`${h.admin}/metrics`)).status, 401);
    const dir = mkdtempSync(join(tmpdir(), 'hookd-prom-'));
    try {
      writeFileSync(join(dir, 'm.txt'), m.text);
      const r = spawnSync('sh', ['-c', `promtool check metrics < ${join(dir, 'm.txt')}`], { encoding: 'utf8' });
      assert.equal(r.error, undefined, 'promtool is not installed (scripts/deps test installs prometheus)');
      assert.equal(r.status, 0, r.stdout + r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await h.stop();
    h.cleanup();
    await rx.stop();
  }
});
