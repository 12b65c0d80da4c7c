// The data directory (proto/operation.md): one hookd per directory, data files that
// are empty, truncated or corrupt refused at start, secret files that
// group or others can read refused like the master key.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Hookd, dataRoot, lmdbOnly } from '../lib/hookd.mjs';

// Starts a hookd on DIR that is expected to refuse to start: returns its
// exit status and log.
async function refusedStart(dir, args = []) {
  const h = new Hookd({ dir, args });
  let started = null;
  try {
    await h.start();
    started = 'hookd started';
  } catch (e) {
    if (!/exited \(\S+\) before listening/.test(e.message)) started = e.message;
  }
  if (started !== null) {
    // It runs (or ran on): stop it by its PID, and fail.
    if (h.proc.exitCode === null && !h.proc.signalCode) h.proc.kill('SIGKILL');
    await h.exited;
    assert.fail(`${started}:\n${h.log}`);
  }
  const st = await h.exited;
  return { ...st, log: h.log };
}

// A data dir holding a webhook and some events, stopped cleanly.
async function populated() {
  const h = await new Hookd().start();
  assert.equal((await h.api('POST', '/api/webhooks', { name: 'd', auth: 'none', rateLimit: 0 })).status, 201);
  for (let i = 0; i < 200; i++)
    assert.equal((await h.post('/webhooks/d', { event: 'd.e', i, pad: 'p'.repeat(2000) })).status, 202);
  assert.equal((await h.stop()).code, 0);
  return h;
}

function assertRefused(st, what) {
  assert.equal(st.signal, null, `hookd died of a signal:\n${st.log}`);
  assert.equal(st.code, 1, st.log);
  assert.match(st.log, /level=error event=store .*data\.mdb/, st.log);
  assert.match(st.log, what, st.log);
}

it('a second hookd on the same data directory exits 1 naming the first one\'s pid', async () => {
  const h = await new Hookd().start();
  try {
    const st = await refusedStart(h.dir);
    assert.match(st.log, new RegExp(`data directory in use by pid ${h.proc.pid}\\b`), st.log);
    // The first one still works and owns its data.
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'one', auth: 'none' })).status, 201);
    // A crash leaves no lock behind: after SIGKILL the next start works.
    await h.kill();
    await h.restart();
    assert.equal((await h.api('GET', '/api/webhooks/one')).status, 200);
  } finally {
    await h.stop();
    h.cleanup();
  }
});

it('an empty data.mdb is refused, not a silently fresh store', lmdbOnly("the LMDB environment's files (data.mdb) are damaged on purpose"), async () => {
  const h = await populated();
  try {
    truncateSync(join(h.dir, 'data.mdb'), 0);
    assertRefused(await refusedStart(h.dir), /empty/);
    assert.equal(statSync(join(h.dir, 'data.mdb')).size, 0, 'the file was rewritten');
  } finally {
    h.cleanup();
  }
});

it('data.mdb truncated to 5000 bytes is refused without a crash', lmdbOnly("the LMDB environment's files (data.mdb) are damaged on purpose"), async () => {
  const h = await populated();
  try {
    truncateSync(join(h.dir, 'data.mdb'), 5000);
    assertRefused(await refusedStart(h.dir), /truncated/);
  } finally {
    h.cleanup();
  }
});

it('data.mdb truncated in the middle of its data is refused without a crash', lmdbOnly("the LMDB environment's files (data.mdb) are damaged on purpose"), async () => {
  const h = await populated();
  try {
    const f = join(h.dir, 'data.mdb');
    const size = statSync(f).size;
    assert.ok(size > 64 * 4096, `only ${size} bytes`);
    truncateSync(f, Math.floor(size / 2 / 4096) * 4096);
    assertRefused(await refusedStart(h.dir), /truncated/);
  } finally {
    h.cleanup();
  }
});

it('random garbage in the meta pages is refused', lmdbOnly("the LMDB environment's files (data.mdb) are damaged on purpose"), async () => {
  const h = await populated();
  try {
    const fd = openSync(join(h.dir, 'data.mdb'), 'r+');
    writeSync(fd, randomBytes(8192), 0, 8192, 0);
    closeSync(fd);
    assertRefused(await refusedStart(h.dir), /corrupt/);
  } finally {
    h.cleanup();
  }
});

it('meta pages that point outside the file are refused without a crash', lmdbOnly("the LMDB environment's files (data.mdb) are damaged on purpose"), async () => {
  const h = await populated();
  try {
    // Both meta pages keep their magic, but the main database's root
    // page (MDB_meta.mm_dbs[1].md_root, at 128 after the page header)
    // is far past the end of the file.
    const fd = openSync(join(h.dir, 'data.mdb'), 'r+');
    const pg = Buffer.alloc(8);
    pg.writeBigUInt64LE(0x7ffffffn);
    for (const meta of [0, 4096]) writeSync(fd, pg, 0, 8, meta + 128);
    closeSync(fd);
    assertRefused(await refusedStart(h.dir), /corrupt/);
  } finally {
    h.cleanup();
  }
});

it('an --admin-token-file group or others can read is refused like the master key', async () => {
  const dir = mkdtempSync(join(dataRoot(), 'hookd-tok-'));
  try {
    const tok = join(dir, 'tok');
    writeFileSync(tok, 'hkadm_0123456789abcdef0123456789\n');
    chmodSync(tok, 0o666);
    let st = await refusedStart(join(dir, 'data'), ['--admin-token-file', tok]);
    assert.match(st.log, /level=error event=admin_token .*mode 666, must not be readable by group or others/, st.log);
    chmodSync(tok, 0o640);
    st = await refusedStart(join(dir, 'data'), ['--admin-token-file', tok]);
    assert.match(st.log, /mode 640, must not be readable by group or others/, st.log);
    chmodSync(tok, 0o600);
    // The test helper reads <data>/admin.token: give it the same token.
    mkdirSync(join(dir, 'data'), { mode: 0o700, recursive: true });
    writeFileSync(join(dir, 'data', 'admin.token'), readFileSync(tok), { mode: 0o600 });
    const h = await new Hookd({ dir: join(dir, 'data'), args: ['--admin-token-file', tok] }).start();
    assert.equal((await h.api('GET', '/api/webhooks')).status, 200);
    assert.equal((await h.stop()).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a <data>/admin.token of mode 0644 is refused', async () => {
  const h = await new Hookd().start();
  try {
    assert.equal((await h.stop()).code, 0);
    chmodSync(join(h.dir, 'admin.token'), 0o644);
    const st = await refusedStart(h.dir);
    assert.match(st.log, /level=error event=admin_token .*admin\.token: mode 644, must not be readable by group or others/, st.log);
    chmodSync(join(h.dir, 'admin.token'), 0o600);
    await h.restart();
  } finally {
    await h.stop();
    h.cleanup();
  }
});
