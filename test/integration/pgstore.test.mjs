// The PostgreSQL engine's own promises (issue 15, SPEC §9), against a
// server this file starts itself (test/lib/pg.mjs): bad input refused at
// start with exit 1 (unreachable, another program's database, a schema
// newer than the binary), and a restart of the database under a running
// hookd: writes answer 503 meanwhile, hookd comes back by itself, and
// every event answered 202 is there afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, Hookd, PG, dataRoot } from '../lib/hookd.mjs';
import { PGBIN, start } from '../lib/pg.mjs';

// Once per `make test`: in the LMDB pass (it starts its own server).
const SKIP = !existsSync(join(PGBIN, 'initdb')) ? `no PostgreSQL in ${PGBIN}`
  : PG ? 'runs in the LMDB pass, on a server of its own' : false;

const poll = async (fn, ms, what) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('store: PostgreSQL', { skip: SKIP }, () => {
  let pg;
  const dirs = [];
  before(async () => { pg = await start(); });
  after(() => {
    pg?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  // Starts hookd on STORE in a fresh directory and waits for its exit.
  const run = (store) => {
    const dir = mkdtempSync(join(dataRoot(), 'hookd-pg-'));
    dirs.push(dir);
    return spawnSync(BIN, ['--data', dir, '--store', store, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
      { encoding: 'utf8', timeout: 20000, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
  };

  it('an unreachable server, or a role that does not exist: a clear error and exit 1', () => {
    let r = run(`postgresql:///x?host=${encodeURIComponent(join(pg.dir, 'nowhere'))}&port=${pg.port}`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /level=error event=store .*PostgreSQL: cannot connect/);
    r = run(`host=${pg.dir} port=${pg.port} user=nobody_here dbname=postgres`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /PostgreSQL: cannot connect.*nobody_here/);
  });

  it('a wrong password: a clear error and exit 1', () => {
    pg.psql("CREATE ROLE hookd_pw LOGIN PASSWORD 'right-one'");
    let r = run(`host=${pg.dir} port=${pg.port} user=hookd_pw password=wrong-one dbname=postgres`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /PostgreSQL: cannot connect.*password authentication failed/);
    assert.doesNotMatch(r.stderr, /wrong-one/);
  });

  it('one batch: a refusal undoes only its own operation', async () => {
    const h = await new Hookd({ args: ['--store', pg.createdb('batch')] }).start();
    try {
      // Sent at once, these share the writer's transactions.
      const rs = await Promise.all(['x', 'y', 'x', 'z', 'y'].map((name) => h.api('POST', '/api/webhooks', { name })));
      assert.deepEqual(rs.map((r) => r.status).sort(), [201, 201, 201, 409, 409]);
      const names = (await h.api('GET', '/api/webhooks')).body.data.map((w) => w.name).sort();
      assert.deepEqual(names, ['x', 'y', 'z']);
      // One idempotency key twice in one batch makes one event.
      const wh = (await h.api('POST', '/api/webhooks', { name: 'idem', auth: 'none', rateLimit: 0 })).body;
      const evs = await Promise.all([1, 2, 3].map((n) => h.post(`/webhooks/${wh.name}`, { n }, { 'idempotency-key': 'k1' })));
      assert.ok(evs.every((r) => r.status === 202 || r.status === 200), evs.map((r) => r.status).join());
      assert.equal(new Set(evs.map((r) => r.body.eventId)).size, 1);
      await h.stop();
      await h.restart();
      assert.deepEqual((await h.api('GET', '/api/webhooks')).body.data.map((w) => w.name).sort(), ['idem', 'x', 'y', 'z']);
    } finally {
      await h.stop();
      h.cleanup();
    }
  });

  it('events sent at once share statements: each is stored once, with each of its deliveries', async () => {
    const store = pg.createdb('bulk');
    const h = await new Hookd({ args: ['--store', store, '--allow-targets', '127.0.0.0/8'] }).start();
    try {
      const wh = (await h.api('POST', '/api/webhooks', { name: 'bulk', auth: 'none', rateLimit: 0 })).body;
      for (const p of ['a', 'b']) await h.api('POST', '/api/subscriptions', { url: 'http://127.0.0.1:9/x', events: ['bulk.*'], name: p });
      // Without keys (one statement for a run), and with (each alone).
      const rs = await Promise.all(Array.from({ length: 120 }, (_, i) =>
        h.post(`/webhooks/${wh.name}`, { event: 'bulk.e', i }, i % 10 === 0 ? { 'idempotency-key': `k${i}` } : {})));
      assert.ok(rs.every((r) => r.status === 202), rs.map((r) => r.status).join());
      const ids = new Set(rs.map((r) => r.body.eventId));
      assert.equal(ids.size, 120);
      const rows = pg.psql("SELECT e.id || ' ' || count(d.id) FROM hookd_events e LEFT JOIN hookd_deliveries d ON d.event = e.id GROUP BY e.id", 'bulk')
        .split('\n').map((l) => l.trim()).filter((l) => l.startsWith('evt_'));
      assert.equal(rows.length, 120);
      for (const l of rows) {
        const [id, n] = l.split(' ');
        assert.ok(ids.has(id), id);
        assert.equal(n, '2', `${id}: its two deliveries`);
      }
      // The counts the bulk statement added, as the stats show them.
      const st = (await h.api('GET', '/api/stats')).body;
      assert.equal(st.store.events, 120, JSON.stringify(st.store));
      assert.equal(st.store.deliveries, 240, JSON.stringify(st.store));
      await h.stop();
      await h.restart();
      assert.equal((await h.api('GET', '/api/events?limit=200')).body.data.length, 120);
    } finally {
      await h.stop();
      h.cleanup();
    }
  });

  it('a database of schema 2 is migrated at start: the subscriptions\' names become unique in it', async () => {
    const store = pg.createdb('schema_two');
    const h = await new Hookd({ args: ['--store', store, '--allow-targets', '127.0.0.0/8'] }).start();
    try {
      const s = await h.api('POST', '/api/subscriptions', { name: 'kept', url: 'http://127.0.0.1:9/x', events: ['a.*'] });
      assert.equal(s.status, 201, s.text);
      await h.stop();
      // What hookd of schema 2 left: no name column.
      pg.psql("DROP INDEX hookd_subs_name; ALTER TABLE hookd_subs DROP COLUMN name; UPDATE hookd_meta SET value = '2' WHERE key = 'schema'", 'schema_two');
      await h.restart();
      assert.match(pg.psql("SELECT value FROM hookd_meta WHERE key = 'schema'", 'schema_two'), /\b3\b/);
      assert.match(pg.psql('SELECT name FROM hookd_subs', 'schema_two'), /kept/);
      assert.throws(() => pg.psql(`INSERT INTO hookd_subs (id, body, name) VALUES ('sub_x', '\\x7b7d', 'kept')`, 'schema_two'), /duplicate key/);
      assert.equal((await h.api('GET', `/api/subscriptions/${s.body.id}`)).body.name, 'kept');
    } finally {
      await h.stop();
      h.cleanup();
    }
  });

  it('a database whose only other objects are an extension\'s (pg_stat_statements): taken', async () => {
    const store = pg.createdb('with_extension');
    pg.psql('CREATE EXTENSION pg_stat_statements', 'with_extension');
    const h = await new Hookd({ args: ['--store', store] }).start();
    try {
      assert.equal((await h.api('POST', '/api/webhooks', { name: 'ext' })).status, 201);
    } finally {
      await h.stop();
      h.cleanup();
    }
  });

  it('a database of schema 2 whose subscriptions share a name: refused at start, naming it', async () => {
    const store = pg.createdb('schema_two_dup');
    const h = await new Hookd({ args: ['--store', store, '--allow-targets', '127.0.0.0/8'] }).start();
    try {
      for (const name of ['dup-a', 'dup-b'])
        assert.equal((await h.api('POST', '/api/subscriptions', { name, url: 'http://127.0.0.1:9/x', events: ['a.*'] })).status, 201);
      await h.stop();
      // Two nodes of schema 2 gave one name twice.
      pg.psql(`DROP INDEX hookd_subs_name; ALTER TABLE hookd_subs DROP COLUMN name; UPDATE hookd_meta SET value = '2' WHERE key = 'schema';
        UPDATE hookd_subs SET body = convert_to(replace(convert_from(body, 'UTF8'), '"dup-b"', '"dup-a"'), 'UTF8')`, 'schema_two_dup');
      const r = spawnSync(BIN, ['--data', h.dir, '--store', store, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
        { encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /subscriptions share a name.*dup-a/);
    } finally {
      h.cleanup();
    }
  });

  it("a database of another program, or a schema newer than the binary: refused, exit 1", () => {
    const other = pg.createdb('other_program');
    pg.psql('CREATE TABLE customers (id int)', 'other_program');
    let r = run(other);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /another program's tables.*customers/);
    const mine = pg.createdb('newer_schema');
    const h = new Hookd({ args: ['--store', mine] });
    return h.start().then(async () => {
      await h.stop();
      h.cleanup();
      pg.psql("UPDATE hookd_meta SET value = '99' WHERE key = 'schema'", 'newer_schema');
      r = run(mine);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /schema is newer than this hookd.*schema 99/);
    });
  });

  it('a restart of the database: 503 meanwhile, back by itself, every 202 kept', async () => {
    const h = await new Hookd({ args: ['--store', pg.createdb('restarted')] }).start();
    try {
      const wh = (await h.api('POST', '/api/webhooks', { name: 'r', auth: 'none', rateLimit: 0 })).body;
      const accepted = [];
      const send = async (n) => {
        const r = await h.post(`/webhooks/${wh.name}`, { n });
        if (r.status === 202) accepted.push(r.body.eventId);
        return r;
      };
      for (let i = 0; i < 5; i++) assert.equal((await send(i)).status, 202);
      pg.down();
      // The writer finds its connection gone: 503, never a 202; from
      // then on new data is refused at once, with Retry-After.
      assert.equal((await send(100)).status, 503);
      const r = await send(101);
      assert.equal(r.status, 503, r.text);
      assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After');
      assert.equal((await h.api('GET', '/readyz', undefined, { token: null })).status, 503);
      pg.up();
      await poll(async () => (await send(200)).status === 202, 20000, 'a 202 after the restart');
      await poll(async () => (await h.api('GET', '/readyz', undefined, { token: null })).status === 200, 10000, 'ready again');
      for (let i = 0; i < 5; i++) assert.equal((await send(300 + i)).status, 202);
      const list = await h.api('GET', '/api/events?limit=100');
      assert.equal(list.status, 200, list.text);
      const ev = list.body.data.map((e) => e.id);
      for (const id of accepted) assert.ok(ev.includes(id), `${id} answered 202 and is kept`);
      assert.equal(ev.length, accepted.length);
    } finally {
      await h.stop();
      h.cleanup();
    }
  });
});
