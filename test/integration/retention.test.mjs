// Retention (proto/operation.md): events and logs older than --retention whose
// deliveries are final are purged, in batches; the count shows in stats.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Hookd } from '../lib/hookd.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

// The 31 posts and their deliveries must be counted before the first is
// purged: 5 s leaves room on a loaded machine (2 s did not, on
// PostgreSQL with the suite running beside), valgrind gets five times it.
const SLOW = process.env.HOOKD_VALGRIND ? 5 : 1;

it('purges old events, their deliveries and logs; keeps events with pending deliveries', async () => {
  const rx = await new Receiver().start();
  const h = await new Hookd({ args: ['--retention', `${5 * SLOW}s`, '--allow-targets', '127.0.0.0/8'] }).start();
  try {
    const wh = (await h.api('POST', '/api/webhooks', { name: 'r', auth: 'none', rateLimit: 0 })).body;
    const ok = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/ok`, events: ['done.*'] })).body;
    rx.fallback = { status: 200 };
    // A subscription that never succeeds and retries far in the future.
    await h.api('POST', '/api/subscriptions', { url: 'http://127.0.0.1:1/dead', events: ['stuck.*'], retry: { maxAttempts: 10, initialMs: 3600000, maxMs: 3600000 } });
    const done = [];
    for (let i = 0; i < 30; i++) done.push((await h.post('/webhooks/r', { event: 'done.e', i }, { 'idempotency-key': `k${i}` })).body.eventId);
    const stuck = (await h.post('/webhooks/r', { event: 'stuck.e' })).body.eventId;
    await poll(async () => (await h.api('GET', '/api/webhooks/r/logs?limit=100')).body.data.length === 31, 5000, 'the logs');
    await poll(async () => (await h.api('GET', `/api/deliveries?subscription=${ok.id}&status=succeeded&limit=100`)).body.data.length === 30, 10000 * SLOW, 'deliveries');
    // After the retention and a purge pass, the finished ones are gone.
    await poll(async () => (await h.api('GET', `/api/events/${done[29]}`)).status === 404, 15000 * SLOW, 'purge');
    for (const id of done) assert.equal((await h.api('GET', `/api/events/${id}`)).status, 404);
    assert.equal((await h.api('GET', `/api/events/${stuck}`)).status, 200);
    assert.equal((await h.api('GET', `/api/deliveries?subscription=${ok.id}&limit=100`)).body.data.length, 0);
    await poll(async () => (await h.api('GET', '/api/webhooks/r/logs?limit=100')).body.data.length === 0, 15000 * SLOW, 'logs purged');
    // A commit is visible at once; its done callback (which counts) runs
    // once the next fsync has made it durable: the stats may lag a moment.
    const s = await poll(async () => {
      const b = (await h.api('GET', '/api/stats')).body;
      return b.retention.purgedEvents === 30 && b.retention.purgedLogs === 31 && b;
    }, 5000 * SLOW, 'purge counted');
    assert.equal(s.retention.purgedEvents, 30);
    assert.equal(s.retention.purgedDeliveries, 30);
    assert.equal(s.retention.purgedLogs, 31);
    // An idempotency key older than the retention no longer dedupes.
    const again = await h.post('/webhooks/r', { event: 'done.e' }, { 'idempotency-key': 'k0' });
    assert.equal(again.status, 202);
    assert.ok(wh.id);
  } finally {
    await h.stop();
    h.cleanup();
    await rx.stop();
  }
});
