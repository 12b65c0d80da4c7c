// A database that refuses (issue 15 item 4, SPEC §9): a full disk, too
// many connections, a serialization failure. Writes answer 503
// `unavailable` with Retry-After and /readyz 503 while it lasts; nothing
// is half committed (an event without its deliveries); hookd comes back
// by itself once the database does, and every event answered 202 is
// there. The refusals are the database's own errors with their real
// SQLSTATEs, raised by a trigger (a disk cannot be filled safely here)
// or by a role's connection limit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Hookd, PG } from '../lib/hookd.mjs';
import { PGBIN, start } from '../lib/pg.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

// Once per `make test`: in the LMDB pass (it starts its own server).
const SKIP = !existsSync(join(PGBIN, 'initdb')) ? `no PostgreSQL in ${PGBIN}`
  : PG ? 'runs in the LMDB pass, on a server of its own' : false;

describe('store: PostgreSQL refusing', { skip: SKIP }, () => {
  let pg, rx;
  before(async () => {
    pg = await start();
    rx = await new Receiver().start();
  });
  after(async () => {
    pg?.stop();
    await rx?.stop();
  });

  // A hookd on a database of its own, owned by ROLE (a plain role: a
  // superuser's connections are never limited), with a webhook and a
  // subscription that every event matches.
  const boot = async (db, role) => {
    pg.psql(`CREATE ROLE ${role} LOGIN`);
    pg.psql(`CREATE DATABASE ${db} OWNER ${role}`);
    const store = `${pg.url(db).replace('user=postgres', `user=${role}`)}`;
    const h = await new Hookd({ args: ['--store', store, '--allow-targets', '127.0.0.0/8'] }).start();
    const wh = (await h.api('POST', '/api/webhooks', { name: 'in', auth: 'none', rateLimit: 0 })).body;
    const s = await h.api('POST', '/api/subscriptions', { url: `${rx.url}/${db}`, events: ['*'] });
    assert.equal(s.status, 201, s.text);
    const accepted = [];
    const send = async (n) => {
      const r = await h.post(`/webhooks/${wh.name}`, { n });
      if (r.status === 202) accepted.push(r.body.eventId);
      return r;
    };
    return { h, send, accepted };
  };
  const ready = async (h) => (await h.api('GET', '/readyz', undefined, { token: null })).status;
  const count = (db, sql) => Number(pg.psql(`SELECT count(*) FROM ${sql}`, db).match(/\d+/)[0]);

  // Every 202 is stored, with one delivery, and delivered.
  const intact = async (db, h, accepted) => {
    const rows = pg.psql('SELECT id FROM hookd_events', db);
    for (const id of accepted) assert.ok(rows.includes(id), `${id} answered 202 and is kept`);
    assert.equal(count(db, 'hookd_events'), accepted.length, 'no event but those answered 202');
    assert.equal(count(db, 'hookd_deliveries'), accepted.length, 'each event with its delivery');
    await rx.until(() => rx.to(`/${db}`).length >= accepted.length, 10000, 'all delivered');
  };

  for (const [what, state, table] of [
    ['a full disk', 'disk_full', 'hookd_events'],
    ['a serialization failure', 'serialization_failure', 'hookd_deliveries'],
  ]) {
    it(`${what} (${state}): 503 with Retry-After, /readyz 503, nothing half stored, back by itself`, async () => {
      const db = `refuse_${state}`;
      const { h, send, accepted } = await boot(db, `r_${state}`);
      try {
        for (let i = 0; i < 3; i++) assert.equal((await send(i)).status, 202);
        // The deliveries' insert failing after the event's: the event
        // must go with them.
        pg.psql(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          RAISE EXCEPTION 'refused by the test' USING ERRCODE = '${state}'; END $$;
          CREATE TRIGGER refuse BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION refuse()`, db);
        for (let i = 0; i < 3; i++) {
          const r = await send(100 + i);
          assert.equal(r.status, 503, r.text);
          assert.equal(r.body.error.code, 'unavailable', r.text);
          assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After');
        }
        const api = await h.api('POST', '/api/events', { event: 'x.y', payload: {} });
        assert.equal(api.status, 503, api.text);
        assert.equal(await ready(h), 503, '/readyz while refused');
        pg.psql('DROP TRIGGER refuse ON ' + table, db);
        await poll(async () => (await send(200)).status === 202, 10000, 'a 202 once it takes writes again');
        await poll(async () => (await ready(h)) === 200, 10000, 'ready again');
        await intact(db, h, accepted);
      } finally {
        await h.stop();
        h.cleanup();
      }
    });
  }

  // Events sent at once share one INSERT: one the database refuses must
  // not take the others of its statement down with it.
  it('one event of many sent at once refused by the database: it alone is 503', async () => {
    const db = 'refuse_one';
    const { h, send, accepted } = await boot(db, 'r_one');
    try {
      pg.psql(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        IF convert_from(NEW.body, 'UTF8') LIKE '%poison%' THEN
          RAISE EXCEPTION 'refused by the test' USING ERRCODE = 'disk_full'; END IF;
        RETURN NEW; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON hookd_events FOR EACH ROW EXECUTE FUNCTION refuse()`, db);
      const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => send(i === 30 ? 'poison' : i)));
      const by = rs.map((r) => r.status);
      assert.equal(by.filter((s) => s === 503).length, 1, by.join());
      assert.equal(rs[30].status, 503, rs[30].text);
      assert.equal(by.filter((s) => s === 202).length, 59, by.join());
      pg.psql('DROP TRIGGER refuse ON hookd_events', db);
      await intact(db, h, accepted);
    } finally {
      await h.stop();
      h.cleanup();
    }
  });

  it('too many connections: 503 with Retry-After, /readyz 503, back by itself', async () => {
    const db = 'refuse_conns';
    const role = 'r_conns';
    const { h, send, accepted } = await boot(db, role);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await send(i)).status, 202);
      // No connection more for hookd's role, and its sessions ended: it
      // reconnects into "too many connections for role" (53300).
      pg.psql(`ALTER ROLE ${role} CONNECTION LIMIT 0`);
      pg.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${role}'`);
      await poll(async () => (await send(100)).status === 503, 10000, 'a 503 once the sessions are gone');
      const r = await send(101);
      assert.equal(r.status, 503, r.text);
      assert.equal(r.body.error.code, 'unavailable', r.text);
      assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After');
      assert.equal(await ready(h), 503, '/readyz while refused');
      assert.match(r.body.error.message, /cannot be reached/, 'not "the store is full"');
      // An admin change is refused the same way.
      const w = await h.api('POST', '/api/webhooks', { name: 'during' });
      assert.equal(w.status, 503, w.text);
      assert.ok(Number(w.headers.get('retry-after')) >= 1, `Retry-After on ${w.text}`);
      await poll(() => /too many connections/.test(h.log), 10000, 'the cause, logged');
      pg.psql(`ALTER ROLE ${role} CONNECTION LIMIT -1`);
      await poll(async () => (await send(200)).status === 202, 20000, 'a 202 once it may connect again');
      await poll(async () => (await ready(h)) === 200, 10000, 'ready again');
      await intact(db, h, accepted);
    } finally {
      await h.stop();
      h.cleanup();
    }
  });
});
