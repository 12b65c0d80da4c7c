// Faults (issue: hardening): the disk refusing writes. An LD_PRELOAD
// library (test/fault/diskfail.c) fails hookd's writes and syncs of
// data.mdb while a trigger file exists. Whatever was answered 202 stays;
// what could not be written is answered 503 unavailable with
// Retry-After. A full disk (ENOSPC) fails before anything is synced and
// hookd recovers by itself; after an I/O error hookd writes nothing more
// until restarted, since the kernel may have dropped pages it could not
// write while they still look written.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Hookd, armFault, request, lmdbOnly } from '../lib/hookd.mjs';

const SHIM = resolve('build/fault/diskfail.so');

function faulty() {
  assert.ok(existsSync(SHIM), `${SHIM} is missing: make build/fault/diskfail.so`);
  const h = new Hookd();
  h.fault = join(h.dir, 'fault');
  h.env = {
    LD_PRELOAD: SHIM,
    HOOKD_FAULT: h.fault,
    // The sanitizer runtime is loaded after the preloaded library.
    ASAN_OPTIONS: 'detect_leaks=1:verify_asan_link_order=0',
  };
  return h;
}

async function accept(h, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const r = await h.post('/webhooks/f', { event: 'f.e', i });
    assert.equal(r.status, 202, r.text);
    ids.push(r.body.eventId);
  }
  return ids;
}

async function refused(h) {
  const r = await h.post('/webhooks/f', { event: 'f.e' });
  assert.equal(r.status, 503, r.text);
  assert.equal(r.body.error.code, 'unavailable');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
}

it('after an I/O error: 503 for new events until restarted, the accepted ones survive', lmdbOnly("an LD_PRELOAD shim fails hookd's own writes of data.mdb; PostgreSQL's faults are test/integration/pgstore.test.mjs"), async () => {
  const h = faulty();
  await h.start();
  try {
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'f', auth: 'none', rateLimit: 0 })).status, 201);
    const ids = await accept(h, 5);
    armFault(h.fault, 'EIO');
    await refused(h);
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'g', auth: 'none' })).status, 503);
    assert.equal((await request(`${h.pub}/readyz`)).status, 503);
    // Reads go on, unless the failed write was LMDB's meta page: then
    // LMDB refuses every transaction (MDB_PANIC) until restarted.
    for (const id of ids) assert.ok([200, 503].includes((await h.api('GET', `/api/events/${id}`)).status));
    // The disk works again, but hookd does not trust it until restarted.
    rmSync(h.fault);
    await refused(h);
    assert.match(h.log, /level=error event=store_broken/);
    assert.equal((await h.stop()).code, 0);
    await h.restart();
    assert.equal((await request(`${h.pub}/readyz`)).status, 200);
    for (const id of ids) assert.equal((await h.api('GET', `/api/events/${id}`)).status, 200);
    await accept(h, 1);
  } finally {
    await h.stop();
    h.cleanup();
  }
});

it('a full disk: 503 while it lasts, then accepting again without a restart', lmdbOnly("an LD_PRELOAD shim fails hookd's own writes of data.mdb; PostgreSQL's faults are test/integration/pgstore.test.mjs"), async () => {
  const h = faulty();
  await h.start();
  try {
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'f', auth: 'none', rateLimit: 0 })).status, 201);
    const ids = await accept(h, 3);
    armFault(h.fault, 'ENOSPC');
    // Freed pages inside the file are reused without new space: events
    // go on being accepted until the file must grow.
    let full = null;
    for (let i = 0; i < 300 && !full; i++) {
      const r = await h.post('/webhooks/f', { event: 'f.e', pad: 'p'.repeat(8000) });
      if (r.status === 202) ids.push(r.body.eventId);
      else full = r;
    }
    assert.ok(full, 'the disk never filled');
    assert.equal(full.status, 503, full.text);
    assert.equal(full.body.error.code, 'unavailable');
    assert.ok(Number(full.headers.get('retry-after')) >= 1);
    rmSync(h.fault);
    ids.push(...(await accept(h, 3)));
    assert.equal((await request(`${h.pub}/readyz`)).status, 200);
    assert.doesNotMatch(h.log, /event=store_broken/);
    await h.stop();
    await h.restart();
    for (const id of ids) assert.equal((await h.api('GET', `/api/events/${id}`)).status, 200);
  } finally {
    await h.stop();
    h.cleanup();
  }
});
