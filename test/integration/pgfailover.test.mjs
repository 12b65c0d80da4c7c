// Database failover under hookd (SPEC §9, issue 15 item 4): a primary
// with a synchronous streaming standby, both started here
// (test/lib/pg.mjs pair()), and hookd nodes on the multi-host conninfo
// (target_session_attrs=read-write) with events streaming in.
//
// - The primary killed (-9, with its backends) and the standby promoted:
//   meanwhile writes answer 503 with Retry-After, never anything else
//   and never late; the nodes reconnect to the new primary by
//   themselves; every event answered 202 is in the new primary's
//   database and is delivered at least once.
// - The standby stopped and started again, the primary staying: a
//   COMMIT waits for the standby, so hookd answers 503 (within
//   --commit-timeout, never hanging) and /readyz 503 until it is back,
//   then 202 by itself; nothing answered 202 is lost on either server.
//
// It starts its own servers, so it runs in both passes of the suite;
// skipped only where PostgreSQL is not installed.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, Hookd, dataRoot } from '../lib/hookd.mjs';
import { PGBIN, pair } from '../lib/pg.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

const SKIP = !existsSync(join(PGBIN, 'initdb')) || !existsSync(join(PGBIN, 'pg_basebackup'))
  ? `no PostgreSQL (initdb, pg_basebackup) in ${PGBIN}` : false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL failover: a primary and a synchronous standby', { skip: SKIP }, () => {
  let rx, ha;
  const started = [];
  before(async () => { rx = await new Receiver().start(); });
  after(async () => { await rx?.stop(); });
  afterEach(async () => {
    for (const h of started.splice(0)) {
      try {
        if (h.proc.exitCode === null && !h.proc.signalCode) await h.stop();
      } finally { h.cleanup(); }
    }
    ha?.stop();
    ha = undefined;
  });

  // N nodes on STORE, sharing the first one's key and token.
  async function nodes(n, store, extra = []) {
    const list = [];
    for (let i = 0; i < n; i++) {
      const h = new Hookd({ args: ['--store', store, '--node-id', `node${i}`, '--lease', '2s',
        '--allow-targets', '127.0.0.0/8', ...extra] });
      if (i > 0) {
        copyFileSync(join(list[0].dir, 'master.key'), join(h.dir, 'master.key'));
        copyFileSync(join(list[0].dir, 'admin.token'), join(h.dir, 'admin.token'));
      }
      started.push(h);
      list.push(await h.start());
    }
    return list;
  }

  // Posts event I to node H; what came back, and how long it took.
  async function send(h, i, type) {
    const t0 = Date.now();
    let r;
    try {
      r = await h.api('POST', '/api/events', { event: type, payload: { i } });
    } catch (e) {
      return { i, status: 0, text: String(e), ms: Date.now() - t0, at: Date.now(), node: h };
    }
    return { i, status: r.status, id: r.body?.eventId, retryAfter: r.headers.get('retry-after'),
      text: r.text, ms: Date.now() - t0, at: Date.now(), node: h };
  }

  // Every answer is a 202 or a 503 with Retry-After, and none took long.
  function checkAnswers(results, maxMs) {
    for (const r of results) {
      assert.ok(r.status === 202 || r.status === 503, `event ${r.i}: ${r.status} ${r.text}`);
      if (r.status === 503) assert.ok(Number(r.retryAfter) >= 1, `event ${r.i}: 503 without Retry-After`);
      assert.ok(r.ms <= maxMs, `event ${r.i} answered after ${r.ms} ms`);
    }
  }

  const ids = (srv, db) => new Set(srv.psql('SELECT id FROM hookd_events', db, ['-At']).split('\n').filter(Boolean));

  // Every accepted event reaches PATH at least once.
  async function delivered(path, accepted, ms) {
    const want = new Set(accepted.map((r) => r.i));
    await rx.until(() => {
      const got = new Set(rx.to(path).map((q) => JSON.parse(q.body).payload.i));
      return [...want].every((i) => got.has(i));
    }, ms, `every accepted event delivered to ${path}`);
  }

  it('the primary killed, the standby promoted: 503 meanwhile, back by itself, every 202 on the new primary', async (t) => {
    ha = await pair();
    const store = ha.createdb('failover');
    const ns = await nodes(2, store);
    const s = await ns[0].api('POST', '/api/subscriptions', { url: `${rx.url}/fo`, events: ['fo.*'],
      retry: { maxAttempts: 100, initialMs: 100, maxMs: 500 } });
    assert.equal(s.status, 201, s.text);
    await poll(async () => (await ns[1].api('GET', '/api/cluster')).body.data?.length === 2, 10000, 'two nodes');

    const results = [];
    let n = 0, stop = false;
    const end = Date.now() + 60000;
    const sender = async () => {
      while (!stop && Date.now() < end) {
        const i = n++;
        const r = await send(ns[i % 2], i, 'fo.e');
        results.push(r);
        if (r.status !== 202) await sleep(50);
      }
    };
    const senders = [sender(), sender(), sender(), sender()];
    await poll(() => results.filter((r) => r.status === 202).length >= 40, 15000, '40 events before the failover');

    ha.killPrimary();
    const killedAt = Date.now();
    await sleep(1000);
    await ha.promote();
    const promotedAt = Date.now();
    // Each node takes writes on the new primary again, by itself.
    await poll(() => ns.every((h) => results.some((r) => r.node === h && r.at > promotedAt && r.status === 202)),
      30000, 'both nodes answer 202 on the new primary');
    const backAt = Math.max(...ns.map((h) => results.find((r) => r.node === h && r.at > promotedAt && r.status === 202).at));
    await sleep(1000);
    stop = true;
    await Promise.all(senders);

    checkAnswers(results, 10000);
    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status === 503);
    t.diagnostic(`failover: kill to promote ${promotedAt - killedAt} ms, promote to 202 on both nodes ${backAt - promotedAt} ms; ` +
      `${accepted.length} answered 202, ${refused.length} 503, slowest answer ${Math.max(...results.map((r) => r.ms))} ms`);
    assert.ok(refused.length > 0, 'writes were refused while there was no primary');
    for (const h of ns)
      await poll(async () => (await h.api('GET', '/readyz', undefined, { token: null })).status === 200, 10000, 'ready again');
    // What was answered 202 is on the new primary.
    const have = ids(ha.standby, 'failover');
    for (const r of accepted) assert.ok(have.has(r.id), `event ${r.i} (${r.id}) answered 202 and is on the new primary`);
    await delivered('/fo', accepted, 30000);
    // The nodes' other connections came back too: their beats and reads.
    await poll(async () => {
      const c = await ns[0].api('GET', '/api/cluster');
      return c.status === 200 && c.body.data.length === 2;
    }, 15000, 'both nodes beating on the new primary');
    const list = await ns[1].api('GET', '/api/events?limit=5');
    assert.equal(list.status, 200, list.text);
  });

  it('a node started while the synchronous standby is away: exit 1 within --commit-timeout, saying why', async () => {
    ha = await pair();
    const store = ha.createdb('nostandby');
    ha.standby.down('fast');
    const dir = mkdtempSync(join(dataRoot(), 'hookd-nostandby-'));
    try {
      const t0 = Date.now();
      const r = spawnSync(BIN, ['--data', dir, '--store', store, '--commit-timeout', '1s',
        '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /synchronous standby gone/);
      assert.ok(Date.now() - t0 < 15000, `${Date.now() - t0} ms`);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('the standby stopped and started, the primary staying: 503 within --commit-timeout meanwhile, nothing lost', async (t) => {
    ha = await pair();
    const store = ha.createdb('standby');
    const [h] = await nodes(1, store, ['--commit-timeout', '1s']);
    const s = await h.api('POST', '/api/subscriptions', { url: `${rx.url}/sb`, events: ['sb.*'],
      retry: { maxAttempts: 100, initialMs: 100, maxMs: 500 } });
    assert.equal(s.status, 201, s.text);
    const results = [];
    let i = 0;
    for (; i < 10; i++) {
      const r = await send(h, i, 'sb.e');
      assert.equal(r.status, 202, r.text);
      results.push(r);
    }
    ha.standby.down('fast');
    const downAt = Date.now();
    // A change whose COMMIT stalls first: refused, though the primary
    // keeps it; the node's cache must end up as the database has it.
    const patch = h.api('PATCH', `/api/subscriptions/${s.body.id}`, { description: 'during the stall' });
    // A COMMIT now waits for a standby that is not there: hookd answers
    // anyway, 503 within the bound, and says it is not ready.
    let notReady = false;
    const senders = [0, 1, 2].map(async () => {
      while (Date.now() - downAt < 4000) {
        results.push(await send(h, i++, 'sb.e'));
        if (!notReady) notReady = (await h.api('GET', '/readyz', undefined, { token: null })).status === 503;
      }
    });
    await Promise.all(senders);
    assert.equal((await patch).status, 503, (await patch).text);
    const during = results.filter((r) => r.at > downAt);
    assert.ok(during.some((r) => r.status === 503), 'writes refused while the standby was away');
    assert.ok(notReady, '/readyz 503 while commits stall');
    ha.standby.up();
    const upAt = Date.now();
    await poll(async () => {
      const r = await send(h, i++, 'sb.e');
      results.push(r);
      return r.status === 202;
    }, 20000, 'a 202 once the standby is back');
    const backMs = Date.now() - upAt;
    await poll(async () => (await h.api('GET', '/readyz', undefined, { token: null })).status === 200, 10000, 'ready again');
    for (let k = 0; k < 10; k++) {
      const r = await send(h, i++, 'sb.e');
      assert.equal(r.status, 202, r.text);
      results.push(r);
    }
    // 2 x the bound (the wait, then the cancel's) and some slack.
    checkAnswers(results, 3500);
    const accepted = results.filter((r) => r.status === 202);
    t.diagnostic(`standby away 4 s: ${during.length} answers while away (${during.filter((r) => r.status === 503).length} 503), ` +
      `slowest ${Math.max(...during.map((r) => r.ms))} ms; 202 again ${backMs} ms after its start`);
    assert.ok(/event=store_stalled /.test(h.log), 'the stall logged');
    const onPrimary = ids(ha.primary, 'standby');
    for (const r of accepted) assert.ok(onPrimary.has(r.id), `event ${r.i} answered 202 and is on the primary`);
    // The standby has them too, once it has replayed what it streamed.
    await poll(() => {
      const have = ids(ha.standby, 'standby');
      return accepted.every((r) => have.has(r.id));
    }, 15000, 'every 202 on the standby');
    await delivered('/sb', accepted, 30000);
    const stored = ha.primary.psql(`SELECT convert_from(body, 'UTF8')::jsonb ->> 'description' FROM hookd_subs`, 'standby', ['-At']).trim();
    await poll(async () => ((await h.api('GET', `/api/subscriptions/${s.body.id}`)).body.description ?? '') === stored,
      10000, `the node's cache as the database has it (${JSON.stringify(stored)})`);
    t.diagnostic(`the stalled change, stored: ${JSON.stringify(stored)}`);
  });
});
