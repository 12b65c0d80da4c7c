// Exhaustion by the request log (proto/http.md): refusals before
// authentication are counted always but logged at most --log-refusals
// per second per webhook, the rest summed into the next entry as
// "suppressed":N; the log as a whole stays within --log-budget percent
// of the map, oldest entries dropped first. A wrong-token flood must not
// push legitimate events into 503.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Hookd } from '../lib/hookd.mjs';
import { poll } from '../lib/receiver.mjs';

// N keep-alive POSTs over CONNS connections; returns the count by status.
async function flood(base, path, n, conns, headers, body) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const u = new URL(base);
  const counts = {};
  const ids = [];
  let next = 0;
  const one = () => new Promise((resolve) => {
    const req = http.request({ agent, host: u.hostname, port: u.port, path, method: 'POST', timeout: 10000,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { b += d; });
      res.on('end', () => {
        counts[res.statusCode] = (counts[res.statusCode] || 0) + 1;
        if (res.statusCode === 202) ids.push(JSON.parse(b).eventId);
        resolve();
      });
      res.on('error', () => { counts.error = (counts.error || 0) + 1; resolve(); });
    });
    req.on('error', () => { counts.error = (counts.error || 0) + 1; resolve(); });
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
  const worker = async () => {
    while (next < n) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: conns }, worker));
  agent.destroy();
  return { counts, ids };
}

// Every request log entry of webhook ID, newest first.
async function logOf(h, id) {
  const all = [];
  let after = '';
  for (let i = 0; i < 1000; i++) {
    const r = await h.api('GET', `/api/webhooks/${id}/logs?limit=1000${after ? `&after=${after}` : ''}`);
    assert.equal(r.status, 200, r.text);
    all.push(...r.body.data);
    if (!r.body.next) break;
    after = r.body.next;
  }
  return all;
}

it('a wrong-token flood: every refusal counted, a few logged, the rest summed; a legitimate event still 202', async (t) => {
  const N = 20000;
  const h = await new Hookd({ args: ['--map-size', '4MiB'] }).start();
  try {
    const wh = (await h.api('POST', '/api/webhooks', { name: 'fl', rateLimit: 0 })).body;
    assert.ok(wh.token);
    const t0 = Date.now();
    const { counts } = await flood(h.pub, '/webhooks/fl', N, 16, { 'x-webhook-token': 'whtok_wrongwrongwrongwrong' }, '{}');
    const seconds = (Date.now() - t0) / 1000;
    assert.deepEqual(counts, { 401: N });
    // The store has room: a legitimate event is accepted.
    const ok = await h.post('/webhooks/fl', { event: 'fl.ok' }, { 'x-webhook-token': wh.token });
    assert.equal(ok.status, 202, ok.text);
    // Every refusal is counted.
    const stats = (await h.api('GET', '/api/stats')).body;
    assert.equal(stats.ingest.rejectedByCode.invalid_token, N);
    // The log: at most 10 refusals a second, the others summed into the
    // next entry, the accepted event's at the latest.
    let log;
    await poll(async () => {
      log = await logOf(h, wh.id);
      return log.some((e) => e.status === 202);
    }, 10000, 'the 202 in the request log');
    const refusals = log.filter((e) => e.status === 401);
    const suppressed = log.reduce((n, e) => n + (e.suppressed || 0), 0);
    assert.equal(refusals.length + suppressed, N, `${refusals.length} logged + ${suppressed} suppressed`);
    assert.ok(refusals.length <= 10 * (Math.ceil(seconds) + 1), `${refusals.length} refusals logged in ${seconds} s`);
    assert.ok(suppressed > 0);
    t.diagnostic(`${N} refusals in ${seconds} s: ${refusals.length} logged, ${suppressed} suppressed`);
    assert.equal(stats.ingest.requestLogSuppressed, suppressed);
    for (const e of log) assert.ok(e.suppressed === undefined || (Number.isInteger(e.suppressed) && e.suppressed > 0), JSON.stringify(e));
  } finally {
    await h.stop();
    h.cleanup();
  }
});

it('--log-refusals sets how many refusals a second are logged per webhook', async () => {
  const h = await new Hookd({ args: ['--log-refusals', '2'] }).start();
  try {
    const a = (await h.api('POST', '/api/webhooks', { name: 'ra' })).body;
    const b = (await h.api('POST', '/api/webhooks', { name: 'rb' })).body;
    for (const w of [a, b])
      for (let i = 0; i < 30; i++) assert.equal((await h.post('/webhooks/' + w.name, {}, { 'x-webhook-token': 'whtok_wrongwrongwrongwrong' })).status, 401);
    // The limit is per webhook: each has its own entries.
    await poll(async () => (await logOf(h, b.id)).length > 0, 5000, 'b\'s log');
    for (const w of [a, b]) {
      const ok = await h.post('/webhooks/' + w.name, { event: 'x' }, { 'x-webhook-token': w.token });
      assert.equal(ok.status, 202);
      let log;
      await poll(async () => { log = await logOf(h, w.id); return log.some((e) => e.status === 202); }, 5000, 'the 202');
      const refusals = log.filter((e) => e.status === 401);
      assert.ok(refusals.length >= 2 && refusals.length < 30, `${refusals.length}`);
      assert.equal(refusals.length + log.reduce((n, e) => n + (e.suppressed || 0), 0), 30);
      // Authenticated requests are logged each.
      assert.equal(log.filter((e) => e.status === 202).length, 1);
    }
  } finally {
    await h.stop();
    h.cleanup();
  }
});

it('--log-budget: the request log keeps within its share of the map, oldest entries dropped first', async (t) => {
  const N = 1500;
  const h = await new Hookd({ args: ['--map-size', '8MiB', '--log-budget', '1'] }).start();
  try {
    const wh = (await h.api('POST', '/api/webhooks', { name: 'bu', auth: 'none', rateLimit: 0 })).body;
    const { counts, ids } = await flood(h.pub, '/webhooks/bu', N, 4, {}, '{"event":"bu.e"}');
    assert.deepEqual(counts, { 202: N });
    ids.sort();
    let log;
    await poll(async () => {
      log = await logOf(h, wh.id);
      return log.some((e) => e.eventId === ids[N - 1]);
    }, 10000, 'the newest entry');
    const logged = new Set(log.map((e) => e.eventId));
    t.diagnostic(`${log.length} of ${N} entries kept in 1 % of 8 MiB`);
    // 1 % of 8 MiB holds a few hundred entries, not all of them.
    assert.ok(log.length < N / 2, `${log.length} entries kept`);
    assert.ok(log.length >= 100, `only ${log.length} entries kept`);
    for (const id of ids.slice(-50)) assert.ok(logged.has(id), `a new entry (${id}) is missing`);
    for (const id of ids.slice(0, 50)) assert.ok(!logged.has(id), `an old entry (${id}) is kept`);
    const stats = (await h.api('GET', '/api/stats')).body;
    assert.ok(stats.ingest.requestLogTrimmed >= N - log.length, JSON.stringify(stats.ingest));
    // Events themselves are never dropped for the log.
    assert.equal(stats.store.events, N);
  } finally {
    await h.stop();
    h.cleanup();
  }
});

it('--log-budget drops the oldest entries of all webhooks first, not a share of each', async () => {
  const h = await new Hookd({ args: ['--map-size', '8MiB', '--log-budget', '1'] }).start();
  try {
    const a = (await h.api('POST', '/api/webhooks', { name: 'old', auth: 'none', rateLimit: 0 })).body;
    const b = (await h.api('POST', '/api/webhooks', { name: 'new', auth: 'none', rateLimit: 0 })).body;
    assert.deepEqual((await flood(h.pub, '/webhooks/old', 100, 2, {}, '{}')).counts, { 202: 100 });
    await poll(async () => (await logOf(h, a.id)).length === 100, 10000, 'old\'s entries');
    const { ids } = await flood(h.pub, '/webhooks/new', 1200, 4, {}, '{}');
    ids.sort();
    let log;
    await poll(async () => {
      log = await logOf(h, b.id);
      return log.some((e) => e.eventId === ids[ids.length - 1]);
    }, 10000, 'new\'s newest entry');
    // Every entry of the older webhook is older than any of the newer's.
    assert.equal((await logOf(h, a.id)).length, 0);
    assert.ok(log.length >= 100 && log.length < 1200, `${log.length} entries kept`);
  } finally {
    await h.stop();
    h.cleanup();
  }
});

it('anonymous status polls of an auth:none webhook are logged like refusals: a few, the rest summed', async () => {
  const h = await new Hookd({ args: ['--log-refusals', '5'] }).start();
  try {
    const wh = (await h.api('POST', '/api/webhooks', { name: 'open', auth: 'none', rateLimit: 0 })).body;
    const evt = (await h.post('/webhooks/open', { event: 'a.b' })).body.eventId;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const u = new URL(h.pub);
    const get = () => new Promise((resolve) => {
      http.get({ agent, host: u.hostname, port: u.port, path: `/webhooks/open/events/${evt}` }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      }).on('error', () => resolve(0));
    });
    const codes = [];
    for (let i = 0; i < 50; i++) codes.push(...await Promise.all([get(), get(), get(), get()]));
    agent.destroy();
    assert.ok(codes.every((c) => c === 200), JSON.stringify(codes));
    await h.post('/webhooks/open', { event: 'a.c' });
    const log = await poll(async () => {
      const l = await logOf(h, wh.id);
      return l.filter((e) => e.status === 202).length === 2 && l;
    }, 10000, 'the second event logged');
    const polls = log.filter((e) => e.error === 'status');
    const summed = log.reduce((n, e) => n + (e.suppressed || 0), 0);
    assert.ok(polls.length < 200 && polls.length >= 1, `${polls.length} status entries logged for 200 polls`);
    assert.equal(polls.length + summed, 200, `${polls.length} logged + ${summed} suppressed`);
  } finally {
    await h.stop();
    h.cleanup();
  }
});
