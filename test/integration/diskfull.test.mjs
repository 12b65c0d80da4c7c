// A full disk (proto/operation.md): answered 503 while it lasts and recovering by
// itself once space is free, also when the write that hits the end is
// short (LMDB reports a short write as EIO); only a real I/O error stops
// writes until restart (faults.test.mjs). Once with the fault library's
// filling disk, once on a real small ext4 filesystem, loop-mounted where
// the machine allows it.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Hookd, armFault, dataRoot, request, lmdbOnly } from '../lib/hookd.mjs';

const SHIM = resolve('build/fault/diskfail.so');

async function accept(h, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const r = await h.post('/webhooks/f', { event: 'f.e', i });
    assert.equal(r.status, 202, r.text);
    ids.push(r.body.eventId);
  }
  return ids;
}

// Posts large events until one is refused; returns [accepted ids, refusal].
async function fill(h, max) {
  const ids = [];
  for (let i = 0; i < max; i++) {
    const r = await h.post('/webhooks/f', { event: 'f.e', i, pad: 'p'.repeat(30000) });
    if (r.status !== 202) return [ids, r];
    ids.push(r.body.eventId);
  }
  return [ids, null];
}

function assertFullAnswer(full) {
  assert.ok(full, 'the disk never filled');
  assert.equal(full.status, 503, full.text);
  assert.equal(full.body.error.code, 'unavailable');
  assert.ok(Number(full.headers.get('retry-after')) >= 1);
}

// Once space is free, a retry is accepted within a few tries (the first
// may still meet the state the full disk left, e.g. the usage figures).
async function acceptedAgain(h) {
  for (let i = 0; i < 50; i++) {
    const r = await h.post('/webhooks/f', { event: 'f.e', again: i });
    if (r.status === 202) return r.body.eventId;
    assert.equal(r.status, 503, r.text);
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.fail('not accepting again after the disk was freed');
}

// Space is free again: hookd accepts without a restart, is ready, was
// never broken, and after a restart every event it answered 202 is there.
async function recovered(h, ids) {
  ids.push(await acceptedAgain(h));
  ids.push(...(await accept(h, 3)));
  assert.equal((await request(`${h.pub}/readyz`)).status, 200);
  assert.doesNotMatch(h.log, /event=store_broken/);
  await h.stop();
  await h.restart();
  for (const id of ids) assert.equal((await h.api('GET', `/api/events/${id}`)).status, 200);
}

it('a short write on a filling disk: 503 while full, accepting again without a restart', lmdbOnly("the disk under data.mdb fills; PostgreSQL's own faults are test/integration/pgstore.test.mjs"), async () => {
  assert.ok(existsSync(SHIM), `${SHIM} is missing: make build/fault/diskfail.so`);
  const h = new Hookd();
  const fault = join(h.dir, 'fault');
  h.env = { LD_PRELOAD: SHIM, HOOKD_FAULT: fault, ASAN_OPTIONS: 'detect_leaks=1:verify_asan_link_order=0' };
  await h.start();
  try {
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'f', auth: 'none', rateLimit: 0 })).status, 201);
    const ids = await accept(h, 3);
    armFault(fault, 'SHORT');
    const [more, full] = await fill(h, 300);
    ids.push(...more);
    assertFullAnswer(full);
    // Still full: still 503, never a broken store.
    assert.equal((await h.post('/webhooks/f', { event: 'f.e', pad: 'p'.repeat(30000) })).status, 503);
    assert.doesNotMatch(h.log, /event=store_broken/);
    rmSync(fault);
    await recovered(h, ids);
  } finally {
    await h.stop();
    h.cleanup();
  }
});

// A small ext4 filesystem on a loop device under a temp dir, or a reason
// why not.
function mountSmallFs(dir) {
  const img = join(dir, 'fs.img');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const run = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 30000 });
  let r = run('truncate', ['-s', '24M', img]);
  if (r.status !== 0) return `truncate: ${r.stderr}`;
  r = run('mkfs.ext4', ['-q', '-F', '-m', '0', img]);
  if (r.status !== 0) return `mkfs.ext4 is not available: ${r.error?.message || r.stderr}`;
  r = run('mount', ['-o', 'loop', img, mnt]);
  if (r.status !== 0) return `mounting a loop filesystem is not permitted here: ${r.error?.message || r.stderr.trim()}`;
  return mnt;
}

it('a real full ext4 filesystem: 503 while full, accepting again once space is freed', lmdbOnly("the disk under data.mdb fills; PostgreSQL's own faults are test/integration/pgstore.test.mjs"), async (t) => {
  const dir = mkdtempSync(join(dataRoot(), 'hookd-fs-'));
  const mnt = mountSmallFs(dir);
  t.after(() => {
    if (mnt.startsWith('/')) spawnSync('umount', [mnt], { timeout: 30000 });
    rmSync(dir, { recursive: true, force: true });
  });
  if (!mnt.startsWith('/')) {
    t.skip(mnt);
    return;
  }
  const data = join(mnt, 'data');
  const h = new Hookd({ dir: data, args: ['--map-size', '64MiB'] });
  await h.start();
  try {
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'f', auth: 'none', rateLimit: 0 })).status, 201);
    const ids = await accept(h, 3);
    // Fill the filesystem with a file, to the last block.
    const filler = join(mnt, 'filler');
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(1 << 20, 1);
    try {
      for (let i = 0; i < 64; i++) writeSync(fd, chunk);
      assert.fail('the filesystem never filled');
    } catch (e) {
      if (e.code !== 'ENOSPC') throw e;
    }
    try {
      for (let i = 0; i < 4096; i++) writeSync(fd, chunk, 0, 4096);
    } catch (e) {
      if (e.code !== 'ENOSPC') throw e;
    }
    closeSync(fd);
    const [more, full] = await fill(h, 2000);
    ids.push(...more);
    assertFullAnswer(full);
    assert.doesNotMatch(h.log, /event=store_broken/);
    rmSync(filler);
    await recovered(h, ids);
  } finally {
    await h.stop();
  }
});
