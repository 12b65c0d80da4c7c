// Cluster mode (SPEC §9, issue 15): several hookd nodes on one real
// PostgreSQL that this file starts itself (test/lib/pg.mjs). Config made
// on one node is in force on the others within a second; subscriptions
// are split among the live nodes by leases; a node killed under load
// loses its share within --lease and every event answered 202 is still
// delivered, ordered ones in order; a node paused past its lease records
// nothing when it wakes; a node with another master key is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, Hookd, PG, dataRoot } from '../lib/hookd.mjs';
import { PGBIN, start } from '../lib/pg.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

const SKIP = !existsSync(join(PGBIN, 'initdb')) ? `no PostgreSQL in ${PGBIN}`
  : PG ? 'runs in the LMDB pass, on a server of its own' : false;
const LEASE = ['--lease', '2s'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('cluster: nodes on one PostgreSQL', { skip: SKIP }, () => {
  let pg, rx, db = 0;
  before(async () => {
    pg = await start();
    rx = await new Receiver().start();
  });
  after(async () => {
    await rx?.stop();
    pg?.stop();
  });

  // N nodes on a new database, sharing the first one's key and token.
  async function cluster(n, extra = []) {
    const store = pg.createdb(`cluster_${++db}`);
    const nodes = [];
    for (let i = 0; i < n; i++) {
      const h = new Hookd({ args: ['--store', store, '--node-id', `node${i}`, ...LEASE,
        '--allow-targets', '127.0.0.0/8', ...extra] });
      if (i > 0) {
        copyFileSync(join(nodes[0].dir, 'master.key'), join(h.dir, 'master.key'));
        copyFileSync(join(nodes[0].dir, 'admin.token'), join(h.dir, 'admin.token'));
      }
      nodes.push(await h.start());
    }
    return { store, nodes };
  }
  async function down(nodes) {
    for (const h of nodes) {
      if (h.proc.exitCode === null && !h.proc.signalCode) await h.stop();
      h.cleanup();
    }
  }
  const leases = (store) => Object.fromEntries(pg.psql(
    'SELECT sub || \'=\' || node FROM hookd_leases WHERE expires_at > now()', store.match(/\/\/\/(\w+)/)[1])
    .split('\n').map((l) => l.trim()).filter((l) => l.includes('=') && l.startsWith('sub_')).map((l) => l.split('=')));

  it('lists its live nodes, splits the subscriptions, and counts in total', async () => {
    const { nodes } = await cluster(3);
    try {
      for (let i = 0; i < 6; i++)
        assert.equal((await nodes[i % 3].api('POST', '/api/subscriptions', { url: `${rx.url}/split${i}`, events: ['split.*'] })).status, 201);
      const c = await poll(async () => {
        const r = await nodes[1].api('GET', '/api/cluster');
        // Where each listens, port 0 bound: reachable addresses.
        return r.body.data.length === 3 && r.body.data.every((n, i) => n.subscriptions === 2 &&
          `http://${n.publicAddr}` === nodes[i].pub && n.adminAddr === nodes[i].adminAddr) && r.body;
      }, 10000, 'three nodes with two subscriptions each, at their bound addresses');
      assert.deepEqual(c.data.map((n) => n.nodeId), ['node0', 'node1', 'node2']);
      assert.deepEqual(c.data.map((n) => n.self), [false, true, false]);
      assert.match(c.data[0].heartbeatAt, /^\d{4}-\d\d-\d\dT/);
      assert.match(c.data[0].publicAddr, /^127\.0\.0\.1:[1-9]\d*$/);
      // Every node delivers what any node accepted.
      for (let i = 0; i < 9; i++)
        assert.equal((await nodes[i % 3].api('POST', '/api/events', { event: 'split.e', payload: { i } })).status, 202);
      await rx.until(() => [0, 1, 2, 3, 4, 5].every((k) => rx.to(`/split${k}`).length >= 9), 15000, 'every delivery');
      const st = await poll(async () => {
        const r = (await nodes[0].api('GET', '/api/stats')).body;
        return r.cluster?.total?.accepted === 9 && r.cluster.total.succeeded === 54 && r;
      }, 10000, 'the cluster total');
      assert.equal(st.node, 'node0');
      const m = await (await fetch(`${nodes[1].admin}/metrics`, { headers: { authorization: `Bearer ${nodes[1].token}` } })).text();
      assert.match(m, /\nhookd_cluster_nodes 3\n/);
      assert.match(m, /\nhookd_cluster_leases 2\n/);
      const ctl = spawnSync(BIN.replace(/hookd$/, 'hookctl'), ['-a', nodes[2].adminAddr, '-T', join(nodes[2].dir, 'admin.token'), 'cluster'],
        { encoding: 'utf8', timeout: 10000 });
      assert.equal(ctl.status, 0, ctl.stderr);
      assert.match(ctl.stdout, /^NODE +PUBLIC +ADMIN +HEARTBEAT +SUBSCRIPTIONS\n/);
      assert.match(ctl.stdout, /\nnode0 .* 2\nnode1 .* 2\nnode2 .* 2  \(this\)\n$/);
      assert.equal(st.cluster.nodes.length, 3);
      assert.equal(st.cluster.nodes.reduce((a, n) => a + n.counters.accepted, 0), 9);
    } finally { await down(nodes); }
  });

  it('a change on one node is in force on the others within a second', async () => {
    const { nodes } = await cluster(2);
    try {
      const [a, b] = nodes;
      const wh = await a.api('POST', '/api/webhooks', { name: 'shared', auth: 'none' });
      assert.equal(wh.status, 201, wh.text);
      let t0 = Date.now();
      await poll(async () => (await b.post('/webhooks/shared', { event: 'x.y' })).status === 202, 1000, 'the webhook on the other node');
      const seen = Date.now() - t0;
      assert.ok(seen <= 1000, `${seen} ms`);
      const s = (await b.api('POST', '/api/subscriptions', { url: `${rx.url}/chg`, events: ['a.*'] })).body;
      assert.equal((await b.api('PATCH', `/api/subscriptions/${s.id}`, { events: ['b.*'] })).status, 200);
      await poll(async () => JSON.stringify((await a.api('GET', `/api/subscriptions/${s.id}`)).body.events) === '["b.*"]', 1000, 'the change on the first node');
      assert.equal((await a.api('DELETE', `/api/webhooks/${wh.body.id}`)).status, 204);
      t0 = Date.now();
      await poll(async () => (await b.post('/webhooks/shared', { event: 'x.y' })).status === 404, 1000, 'the delete on the other node');
      assert.equal((await a.api('DELETE', `/api/subscriptions/${s.id}`)).status, 204);
      await poll(async () => (await b.api('GET', `/api/subscriptions/${s.id}`)).status === 404, 1000, 'the subscription gone');
    } finally { await down(nodes); }
  });

  it('a change whose NOTIFY is lost is in force within a second all the same (the version poll)', async () => {
    // A long lease: its beats (a fifth of it) come too seldom to carry it.
    const { store, nodes } = await cluster(1, ['--lease', '30s']);
    const dbname = store.match(/\/\/\/(\w+)/)[1];
    try {
      const [h] = nodes;
      const s = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/lost`, events: ['l.*'] })).body;
      await sleep(300);
      // What another node's writer commits, without its hint.
      pg.psql(`BEGIN;
        UPDATE hookd_subs SET body = convert_to(jsonb_set(convert_from(body, 'UTF8')::jsonb, '{description}', '"from elsewhere"')::text, 'UTF8') WHERE id = '${s.id}';
        WITH v AS (UPDATE hookd_meta SET value = (value::bigint + 1)::text WHERE key = 'config_version' RETURNING value::bigint AS ver)
          INSERT INTO hookd_changes (ver, list, id, node) SELECT ver, 1, '${s.id}', 'elsewhere' FROM v;
        COMMIT`, dbname);
      const t0 = Date.now();
      await poll(async () => (await h.api('GET', `/api/subscriptions/${s.id}`)).body.description === 'from elsewhere', 1000, 'the change, without its NOTIFY');
      assert.ok(Date.now() - t0 <= 1000, `${Date.now() - t0} ms`);
    } finally { await down(nodes); }
  });

  it('two nodes started with one --node-id (a warning) still see each other\'s changes', async () => {
    const { nodes } = await cluster(2, ['--node-id', 'twin']);
    try {
      const [a, b] = nodes;
      assert.match(b.log, /event=cluster_node node=twin/);
      assert.equal((await a.api('POST', '/api/webhooks', { name: 'twin-hook', auth: 'none' })).status, 201);
      await poll(async () => (await b.post('/webhooks/twin-hook', { event: 'x.y' })).status === 202, 1000, 'the webhook on the twin');
    } finally { await down(nodes); }
  });

  it('a name taken on two nodes at once: one 201, one 409, for webhooks and subscriptions alike', async () => {
    const { nodes } = await cluster(2);
    try {
      const [a, b] = nodes;
      for (let i = 0; i < 10; i++) {
        const made = await Promise.all([a, b].map((h) => h.api('POST', '/api/subscriptions',
          { name: `same-${i}`, url: `${rx.url}/same`, events: ['s.*'] })));
        assert.deepEqual(made.map((r) => r.status).sort(), [201, 409], made.map((r) => r.text).join('\n'));
        assert.match(made.find((r) => r.status === 409).body.error.message, new RegExp(`same-${i}`));
        const hooks = await Promise.all([a, b].map((h) => h.api('POST', '/api/webhooks', { name: `same-${i}`, auth: 'none' })));
        assert.deepEqual(hooks.map((r) => r.status).sort(), [201, 409], hooks.map((r) => r.text).join('\n'));
      }
      // A rename onto a name the other node just gave: refused as well.
      const x = (await a.api('POST', '/api/subscriptions', { name: 'x', url: `${rx.url}/same`, events: ['s.*'] })).body;
      const y = (await b.api('POST', '/api/subscriptions', { name: 'y', url: `${rx.url}/same`, events: ['s.*'] })).body;
      const [p, q] = await Promise.all([
        a.api('PATCH', `/api/subscriptions/${x.id}`, { name: 'z' }),
        b.api('PATCH', `/api/subscriptions/${y.id}`, { name: 'z' }),
      ]);
      assert.deepEqual([p.status, q.status].sort(), [200, 409], `${p.text}\n${q.text}`);
    } finally { await down(nodes); }
  });

  it('a node that joins under load gets its share, handed over without a delivery sent twice', async () => {
    const c = await cluster(2);
    const { store, nodes } = c;
    try {
      for (let i = 0; i < 6; i++)
        assert.equal((await nodes[0].api('POST', '/api/subscriptions', { url: `${rx.url}/j${i}`, events: ['j.*'], ordered: i === 0 })).status, 201);
      await poll(async () => (await nodes[0].api('GET', '/api/cluster')).body.data.every((n) => n.subscriptions === 3), 10000, 'three each');
      let stop = false, n = 0;
      const load = (async () => {
        while (!stop) {
          const r = await nodes[n % 2].api('POST', '/api/events', { event: 'j.e', payload: { i: n } });
          assert.equal(r.status, 202, r.text);
          n++;
          await sleep(5);
        }
      })();
      await sleep(500);
      const third = new Hookd({ args: ['--store', store, '--node-id', 'node2', ...LEASE, '--allow-targets', '127.0.0.0/8'] });
      copyFileSync(join(nodes[0].dir, 'master.key'), join(third.dir, 'master.key'));
      copyFileSync(join(nodes[0].dir, 'admin.token'), join(third.dir, 'admin.token'));
      nodes.push(await third.start());
      await poll(async () => {
        const d = (await nodes[2].api('GET', '/api/cluster')).body.data;
        return d.length === 3 && d.every((x) => x.subscriptions === 2);
      }, 10000, 'two each');
      await sleep(500);
      stop = true;
      await load;
      for (let k = 0; k < 6; k++)
        await rx.until(() => rx.to(`/j${k}`).length >= n, 15000, `every event at /j${k}`);
      await sleep(300);
      for (let k = 0; k < 6; k++) {
        const seq = rx.to(`/j${k}`).map((r) => JSON.parse(r.body).payload.i);
        assert.equal(seq.length, n, `/j${k}: ${seq.length} requests for ${n} events (one sent twice?)`);
        assert.equal(new Set(seq).size, n);
        if (k === 0) assert.deepEqual(seq, [...seq].sort((a, b) => a - b), 'the ordered one in order');
      }
      assert.ok(Object.values(leases(store)).includes('node2'));
    } finally { await down(nodes); }
  });

  it('kill -9 of one of three under load: every 202 delivered, ordered ones in order', async () => {
    const { store, nodes } = await cluster(3);
    try {
      const subs = [];
      for (let i = 0; i < 6; i++)
        subs.push((await nodes[0].api('POST', '/api/subscriptions', { url: `${rx.url}/k${i}`, events: ['k.*'], ordered: i < 2,
          retry: { maxAttempts: 20, initialMs: 100, maxMs: 500 } })).body);
      await poll(async () => (await nodes[0].api('GET', '/api/cluster')).body.data.every((n) => n.subscriptions === 2), 10000, 'the split');
      const victim = nodes[1];
      const mine = Object.entries(leases(store)).filter(([, n]) => n === 'node1').map(([s]) => s);
      assert.equal(mine.length, 2);
      const accepted = [];
      let killed = false;
      for (let i = 0; i < 150; i++) {
        const h = nodes[i % 3];
        if (i === 60) { await victim.kill(); killed = true; }
        if (killed && h === victim) continue;
        const r = await h.api('POST', '/api/events', { event: 'k.e', payload: { i } });
        assert.equal(r.status, 202, r.text);
        accepted.push(i);
      }
      // The victim's share moves within the lease and a beat.
      await poll(() => Object.values(leases(store)).every((n) => n !== 'node1') && Object.keys(leases(store)).length === 6,
        8000, 'the dead node\'s leases taken over');
      for (let k = 0; k < 6; k++)
        await rx.until(() => new Set(rx.to(`/k${k}`).map((r) => JSON.parse(r.body).payload.i)).size === accepted.length,
          20000, `every event at /k${k}`);
      for (let k = 0; k < 2; k++) {
        const seq = rx.to(`/k${k}`).map((r) => JSON.parse(r.body).payload.i);
        // At least once: a repeat is the head sent again, never an older one.
        for (let j = 1; j < seq.length; j++) assert.ok(seq[j] >= seq[j - 1], `ordered /k${k}: ${seq[j - 1]} then ${seq[j]}`);
      }
    } finally { await down(nodes); }
  });

  it('a node paused past its lease records nothing when it wakes', async () => {
    const { store, nodes } = await cluster(2);
    try {
      const s = (await nodes[0].api('POST', '/api/subscriptions', { url: `${rx.url}/paused`, events: ['p.*'],
        retry: { maxAttempts: 30, initialMs: 300, maxMs: 300 } })).body;
      await poll(() => leases(store)[s.id], 5000, 'a lease');
      const owner = nodes.find((h) => h.args.includes(leases(store)[s.id]));
      const other = nodes.find((h) => h !== owner);
      // The paused node's attempt succeeds; the new owner's all fail, so
      // the delivery is still pending when the paused node wakes.
      rx.script('/paused', { status: 200, delayMs: 1500 }, ...Array.from({ length: 40 }, () => ({ status: 500 })));
      const e = (await other.api('POST', '/api/events', { event: 'p.e', payload: {} })).body.eventId;
      await rx.until(() => rx.to('/paused').length === 1, 5000, 'the first attempt');
      owner.proc.kill('SIGSTOP');
      try {
        await rx.until(() => rx.to('/paused').length >= 3, 10000, 'the other node sending it');
      } finally { owner.proc.kill('SIGCONT'); }
      await poll(() => /event=delivery_fenced /.test(owner.log), 5000, 'the woken node fenced');
      await sleep(500);
      const d = (await other.api('GET', `/api/deliveries?event=${e}`)).body.data[0];
      const at = await other.api('GET', `/api/deliveries/${d.id}`);
      assert.equal(at.status, 200, at.text);
      assert.equal(at.body.status, 'pending', at.text);
      assert.ok(at.body.attempts.length >= 2, at.text);
      // Every attempt recorded is the new owner's (500), none the woken one's.
      assert.ok(at.body.attempts.every((a) => a.statusCode === 500), at.text);
      await poll(() => leases(store)[s.id], 5000, 'a lease again');
    } finally { await down(nodes); }
  });

  it('a node paused past its lease that wakes to a 410: the subscription stays active, on that node too', async () => {
    const { store, nodes } = await cluster(2);
    try {
      const s = (await nodes[0].api('POST', '/api/subscriptions', { url: `${rx.url}/gone410`, events: ['g.*'],
        retry: { maxAttempts: 30, initialMs: 300, maxMs: 300 } })).body;
      await poll(() => leases(store)[s.id], 5000, 'a lease');
      const owner = nodes.find((h) => h.args.includes(leases(store)[s.id]));
      const other = nodes.find((h) => h !== owner);
      // The paused node's attempt is answered 410 (a disable) once its
      // lease is gone; the new owner's get 500s.
      rx.script('/gone410', { status: 410, delayMs: 1500 }, ...Array.from({ length: 40 }, () => ({ status: 500 })));
      await other.api('POST', '/api/events', { event: 'g.e', payload: {} });
      await rx.until(() => rx.to('/gone410').length === 1, 5000, 'the first attempt');
      owner.proc.kill('SIGSTOP');
      try {
        await rx.until(() => rx.to('/gone410').length >= 3, 10000, 'the other node sending it');
      } finally { owner.proc.kill('SIGCONT'); }
      await poll(() => /event=delivery_fenced /.test(owner.log), 5000, 'the woken node fenced');
      await sleep(500);
      for (const h of nodes) {
        const show = (await h.api('GET', `/api/subscriptions/${s.id}`)).body;
        assert.equal(show.active, true, `${h.args.join(' ')}: ${JSON.stringify(show)}`);
      }
      // An event the woken node takes still reaches the subscription.
      const e = (await owner.api('POST', '/api/events', { event: 'g.f', payload: {} })).body.eventId;
      const got = await poll(async () => {
        const d = (await owner.api('GET', `/api/deliveries?event=${e}`)).body.data;
        return d.length > 0 && d;
      }, 5000, 'a delivery of the woken node\'s event');
      assert.equal(got[0].subscriptionId ?? s.id, s.id);
    } finally { await down(nodes); }
  });

  it('an ordered head whose saving a crash cut off is found again: it still goes first', async () => {
    const { store, nodes } = await cluster(1);
    const [h] = nodes;
    const dbname = store.match(/\/\/\/(\w+)/)[1];
    try {
      rx.script('/head', { status: 500 });
      const s = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/head`, events: ['h.*'], ordered: true,
        retry: { maxAttempts: 5, initialMs: 1500, maxMs: 1500 } })).body;
      await h.api('POST', '/api/events', { event: 'h.e', payload: { i: 0 } });
      await rx.until(() => rx.to('/head').length === 1, 5000, 'the head\'s first attempt');
      await poll(() => pg.psql(`SELECT convert_from(body, 'UTF8') FROM hookd_subs WHERE id = '${s.id}'`, dbname).includes('orderedHead'),
        5000, 'the head saved');
      await h.kill();
      // As if the crash came between the outcome's commit and the head's.
      pg.psql(`UPDATE hookd_subs SET body = convert_to((convert_from(body, 'UTF8')::jsonb - 'orderedHead')::text, 'UTF8') WHERE id = '${s.id}'`, dbname);
      await h.restart();
      for (let i = 1; i < 4; i++) await h.api('POST', '/api/events', { event: 'h.e', payload: { i } });
      await rx.until(() => rx.to('/head').length === 5, 10000, 'all sent');
      assert.deepEqual(rx.to('/head').map((r) => JSON.parse(r.body).payload.i), [0, 0, 1, 2, 3]);
    } finally { await down(nodes); }
  });

  it('a node whose master key is not the cluster\'s is refused at start', async () => {
    const { store, nodes } = await cluster(1);
    const dir = mkdtempSync(join(dataRoot(), 'hookd-key-'));
    try {
      const r = spawnSync(BIN, ['--data', dir, '--store', store, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
        { encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /the master key is not the one this database was made with/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await down(nodes);
    }
  });
});
