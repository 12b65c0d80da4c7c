// The admin API for webhooks and events (proto/admin.md), and hookd's start and
// stop (§7).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, statfsSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { BIN, Hookd, dataRoot, request } from '../lib/hookd.mjs';

function assertError(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
  assert.equal(res.body.error.code, code, res.text);
}

describe('admin: webhooks', () => {
  let h;
  before(async () => { h = await new Hookd({ args: ['--public-url', 'https://hooks.example.com/'] }).start(); });
  after(async () => { await h.stop(); h.cleanup(); });

  it('needs the admin token', async () => {
    assertError(await h.api('GET', '/api/webhooks', undefined, { token: null }), 401, 'missing_token');
    assertError(await h.api('GET', '/api/webhooks', undefined, { token: 'hkadm_wrong_wrong_wrong' }), 401, 'invalid_token');
    assertError(await h.api('GET', '/api/nothing'), 404, 'not_found');
    const st = statSync(join(h.dir, 'admin.token'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(statSync(join(h.dir, 'master.key')).mode & 0o777, 0o600);
  });

  it('creates: 201 with id, url, token and secret, shown only there', async () => {
    const r = await h.api('POST', '/api/webhooks', { name: 'deploy-notify', description: 'CI' });
    assert.equal(r.status, 201, r.text);
    const w = r.body;
    assert.match(w.id, /^wh_[0-9A-Z]{26}$/);
    assert.equal(w.url, 'https://hooks.example.com/webhooks/deploy-notify');
    assert.match(w.token, /^whtok_[A-Za-z0-9_-]{43}$/);
    assert.match(w.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(w.secret.slice(6), 'base64').length, 32);
    assert.equal(w.auth, 'token');
    assert.equal(w.signature.scheme, 'hex');
    assert.equal(w.signature.toleranceSeconds, 300);
    assert.equal(w.enabled, true);
    assert.equal(w.rateLimit, 100);
    assert.equal(w.maxBody, 1048576);
    const show = await h.api('GET', `/api/webhooks/${w.id}`);
    assert.equal(show.status, 200);
    assert.equal(show.body.token, undefined);
    assert.equal(show.body.secret, undefined);
    assert.ok(!show.text.includes(w.token) && !show.text.includes(w.secret));
    const byName = await h.api('GET', '/api/webhooks/deploy-notify');
    assert.deepEqual(byName.body, show.body);
  });

  it('refuses bad input with 400, duplicate names with 409', async () => {
    assertError(await h.api('POST', '/api/webhooks', '{"name":'), 400, 'invalid_json');
    assertError(await h.api('POST', '/api/webhooks', '[1]'), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', {}), 400, 'bad_request');
    for (const name of ['Upper', '-x', 'wh_abc', 'a'.repeat(65), 'sp ace', 'sl/ash', '']) {
      assertError(await h.api('POST', '/api/webhooks', { name }), 400, 'bad_request');
    }
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', enabeld: true }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', auth: 'magic' }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', signature: { scheme: 'md5' } }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', signature: { scheme: 'hex', extra: 1 } }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', signature: { scheme: 'standard', secret: 'whsec_!!!' } }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', signature: { toleranceSeconds: -1 } }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', eventType: { json: 'no-slash' } }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', eventType: { regex: 'x' } }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', rateLimit: -5 }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', maxBody: 0 }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/webhooks', { name: 'x1', enabled: 'yes' }), 400, 'bad_request');
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'dup' })).status, 201);
    assertError(await h.api('POST', '/api/webhooks', { name: 'dup' }), 409, 'conflict');
    assertError(await h.api('PUT', '/api/webhooks'), 405, 'method_not_allowed');
    assertError(await h.api('GET', '/api/webhooks/nope'), 404, 'not_found');
  });

  it('lists newest first with cursor pagination', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) assert.equal((await h.api('POST', '/api/webhooks', { name: n })).status, 201);
    const all = await h.api('GET', '/api/webhooks?limit=1000');
    assert.equal(all.body.next, null);
    const ids = all.body.data.map((w) => w.id);
    assert.deepEqual(ids, [...ids].sort().reverse());
    assert.ok(all.body.data.every((w) => w.token === undefined && w.secret === undefined));
    const seen = [];
    let next = '';
    for (let i = 0; i < 20; i++) {
      const p = await h.api('GET', `/api/webhooks?limit=2${next ? `&after=${next}` : ''}`);
      assert.equal(p.status, 200);
      seen.push(...p.body.data.map((w) => w.id));
      if (!p.body.next) break;
      next = p.body.next;
    }
    assert.deepEqual(seen, ids);
    assertError(await h.api('GET', '/api/webhooks?limit=0'), 400, 'bad_request');
    assertError(await h.api('GET', '/api/webhooks?limit=1001'), 400, 'bad_request');
    assertError(await h.api('GET', '/api/webhooks?limit=abc'), 400, 'bad_request');
  });

  it('patches, renames and disables; answers the whole object', async () => {
    const c = (await h.api('POST', '/api/webhooks', { name: 'patch-me' })).body;
    const p = await h.api('PATCH', '/api/webhooks/patch-me', { name: 'patched', enabled: false, rateLimit: 5, eventPrefix: 'x.' });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.id, c.id);
    assert.equal(p.body.name, 'patched');
    assert.equal(p.body.enabled, false);
    assert.equal(p.body.rateLimit, 5);
    assert.equal(p.body.eventPrefix, 'x.');
    assert.equal(p.body.description, null);
    assertError(await h.api('GET', '/api/webhooks/patch-me'), 404, 'not_found');
    assertError(await h.post('/webhooks/patched', {}, { 'x-webhook-token': c.token }), 403, 'webhook_disabled');
    assertError(await h.post('/webhooks/patch-me', {}, { 'x-webhook-token': c.token }), 404, 'not_found');
    const back = await h.api('PATCH', `/api/webhooks/${c.id}`, { enabled: true, rateLimit: null });
    assert.equal(back.body.rateLimit, 100);
    assert.equal((await h.post('/webhooks/patched', {}, { 'x-webhook-token': c.token })).status, 202);
    assertError(await h.api('PATCH', '/api/webhooks/patched', { name: 'dup' }), 409, 'conflict');
    assertError(await h.api('PATCH', '/api/webhooks/patched', { bogus: 1 }), 400, 'bad_request');
    assertError(await h.api('PATCH', '/api/webhooks/patched', 'nope'), 400, 'invalid_json');
    assertError(await h.api('PATCH', '/api/webhooks/nope', {}), 404, 'not_found');
  });

  it('regenerate: new token and secret, the old ones fail at once', async () => {
    const c = (await h.api('POST', '/api/webhooks', { name: 'regen' })).body;
    assert.equal((await h.post('/webhooks/regen', {}, { 'x-webhook-token': c.token })).status, 202);
    const r = await h.api('POST', '/api/webhooks/regen/regenerate');
    assert.equal(r.status, 200, r.text);
    assert.notEqual(r.body.token, c.token);
    assert.notEqual(r.body.secret, c.secret);
    assertError(await h.post('/webhooks/regen', {}, { 'x-webhook-token': c.token }), 401, 'invalid_token');
    assertError(await h.post(`/hooks/${c.token}`, {}), 404, 'not_found');
    assert.equal((await h.post('/webhooks/regen', {}, { 'x-webhook-token': r.body.token })).status, 202);
    assert.equal((await h.post(`/hooks/${r.body.token}`, {})).status, 202);
    assertError(await h.api('GET', '/api/webhooks/regen/regenerate'), 405, 'method_not_allowed');
  });

  it('test: runs an event through the same pipeline', async () => {
    const r = await h.api('POST', '/api/webhooks/deploy-notify/test', { payload: { ping: 1 } });
    assert.equal(r.status, 202, r.text);
    const e = await h.api('GET', `/api/events/${r.body.eventId}`);
    assert.equal(e.body.event, 'webhook.test');
    assert.deepEqual(e.body.payload, { ping: 1 });
    assert.equal(e.body.source.name, 'deploy-notify');
    assertError(await h.api('POST', '/api/webhooks/deploy-notify/test', { nope: 1 }), 400, 'bad_request');
  });

  it('delete: 204, then gone for the API and for ingest; logs go with it', async () => {
    const c = (await h.api('POST', '/api/webhooks', { name: 'doomed' })).body;
    assert.equal((await h.post('/webhooks/doomed', {}, { 'x-webhook-token': c.token })).status, 202);
    // Log entries are written just after the answer.
    let logged = 0;
    for (let i = 0; i < 100 && logged === 0; i++) {
      logged = (await h.api('GET', '/api/webhooks/doomed/logs')).body.data.length;
      if (!logged) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(logged, 1);
    const d = await h.api('DELETE', '/api/webhooks/doomed');
    assert.equal(d.status, 204);
    assertError(await h.api('GET', `/api/webhooks/${c.id}`), 404, 'not_found');
    assertError(await h.api('DELETE', `/api/webhooks/${c.id}`), 404, 'not_found');
    assertError(await h.post('/webhooks/doomed', {}, { 'x-webhook-token': c.token }), 404, 'not_found');
    // The name is free again.
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'doomed' })).status, 201);
    assert.equal((await h.api('GET', '/api/webhooks/doomed/logs')).body.data.length, 0);
  });

  it('keeps webhooks, tokens and secrets across a restart', async () => {
    const c = (await h.api('POST', '/api/webhooks', { name: 'durable', auth: 'token+signature' })).body;
    await h.stop();
    await h.restart();
    const s = await h.api('GET', '/api/webhooks/durable');
    assert.equal(s.body.id, c.id);
    const body = '{"after":"restart"}';
    const { createHmac } = await import('node:crypto');
    const sig = createHmac('sha256', c.secret).update(body).digest('hex');
    assert.equal((await h.post('/webhooks/durable', body, { 'x-webhook-token': c.token, 'x-webhook-signature': sig })).status, 202);
    // The secret is ciphertext on disk.
    const db = await h.storeBytes();
    assert.equal(db.includes(Buffer.from(c.secret)), false);
    assert.equal(db.includes(Buffer.from(c.token)), false);
  });
});

describe('admin: events', () => {
  let h, wh;
  before(async () => {
    h = await new Hookd().start();
    wh = (await h.api('POST', '/api/webhooks', { name: 'src', auth: 'none', rateLimit: 0 })).body;
  });
  after(async () => { await h.stop(); h.cleanup(); });

  it('publishes: 202 like ingest; idempotencyKey dedupes', async () => {
    const r = await h.api('POST', '/api/events', { event: 'task.done', payload: { n: 1 } });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.body.status, 'accepted');
    const e = await h.api('GET', `/api/events/${r.body.eventId}`);
    assert.deepEqual(e.body.source, { webhook: null, name: 'api' });
    assert.equal(e.body.event, 'task.done');
    const a = await h.api('POST', '/api/events', { event: 'task.done', payload: {}, idempotencyKey: 'k1' });
    const b = await h.api('POST', '/api/events', { event: 'task.done', payload: {}, idempotencyKey: 'k1' });
    assert.equal(a.status, 202);
    assert.equal(b.status, 200);
    assert.equal(b.body.status, 'duplicate');
    assert.equal(b.body.eventId, a.body.eventId);
  });

  it('refuses bad publishes with 400', async () => {
    assertError(await h.api('POST', '/api/events', {}), 400, 'bad_request');
    assertError(await h.api('POST', '/api/events', { event: '' }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/events', { event: 5 }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/events', { event: 'x'.repeat(201) }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/events', { event: 'a', extra: 1 }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/events', { event: 'a', idempotencyKey: 7 }), 400, 'bad_request');
    assertError(await h.api('POST', '/api/events', '{"event":'), 400, 'invalid_json');
    assertError(await h.api('DELETE', '/api/events'), 405, 'method_not_allowed');
  });

  it('lists newest first with type, source and since filters and a cursor', async () => {
    const t0 = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const mine = [];
    for (let i = 0; i < 5; i++) {
      mine.push((await h.api('POST', '/api/events', { event: i % 2 ? 'order.paid' : 'order.new', payload: { i } })).body.eventId);
    }
    const fromWh = (await h.post('/webhooks/src', { event: 'order.new' })).body.eventId;
    const all = await h.api('GET', `/api/events?since=${encodeURIComponent(t0)}&limit=1000`);
    assert.deepEqual(all.body.data.map((e) => e.id), [fromWh, ...mine.reverse()]);
    assert.equal(all.body.next, null);
    const paid = await h.api('GET', `/api/events?type=order.paid&since=${encodeURIComponent(t0)}`);
    assert.equal(paid.body.data.length, 2);
    assert.ok(paid.body.data.every((e) => e.event === 'order.paid'));
    const prefix = await h.api('GET', `/api/events?type=${encodeURIComponent('order.*')}&since=${encodeURIComponent(t0)}`);
    assert.equal(prefix.body.data.length, 6);
    const src = await h.api('GET', `/api/events?source=${wh.id}`);
    assert.deepEqual(src.body.data.map((e) => e.id), [fromWh]);
    const srcName = await h.api('GET', '/api/events?source=src');
    assert.deepEqual(srcName.body.data.map((e) => e.id), [fromWh]);
    const api = await h.api('GET', `/api/events?source=api&since=${encodeURIComponent(t0)}`);
    assert.equal(api.body.data.length, 5);
    const p1 = await h.api('GET', `/api/events?limit=2&since=${encodeURIComponent(t0)}`);
    assert.equal(p1.body.data.length, 2);
    assert.equal(p1.body.next, p1.body.data[1].id);
    const p2 = await h.api('GET', `/api/events?limit=2&since=${encodeURIComponent(t0)}&after=${p1.body.next}`);
    assert.deepEqual(p2.body.data.map((e) => e.id), all.body.data.slice(2, 4).map((e) => e.id));
    assertError(await h.api('GET', '/api/events?since=yesterday'), 400, 'bad_request');
  });

  it('shows one event; 404 for unknown ids', async () => {
    assertError(await h.api('GET', '/api/events/evt_01ARZ3NDEKTSV4RRFFQ69G5FAV'), 404, 'not_found');
    assertError(await h.api('GET', '/api/events/nope'), 404, 'not_found');
    assertError(await h.api('POST', '/api/events/evt_01ARZ3NDEKTSV4RRFFQ69G5FAV'), 405, 'method_not_allowed');
  });
});

describe('operation', () => {
  it('--help lists every flag of proto/operation.md; a bad flag exits non-zero', () => {
    const r = spawnSync(BIN, ['--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    for (const f of ['listen', 'admin', 'data', 'admin-token-file', 'master-key-file', 'public-url', 'map-size',
      'max-body', 'rate', 'max-connections', 'max-in-flight', 'allow-targets', 'retention', 'disable-after', 'log-level']) {
      assert.match(r.stdout + r.stderr, new RegExp(`--${f}\\b`), f);
      assert.match(r.stdout + r.stderr, new RegExp(`HOOKD_${f.toUpperCase().replaceAll('-', '_')}\\b`), f);
    }
    const bad = spawnSync(BIN, ['--no-such-flag'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /no-such-flag/);
    const badv = spawnSync(BIN, ['--max-body', 'lots'], { encoding: 'utf8' });
    assert.notEqual(badv.status, 0);
  });

  it('takes flags from HOOKD_* variables, an admin token file, a Unix socket', async () => {
    const dir = mkdtempSync(join(dataRoot(), 'hookd-op-'));
    const tokfile = join(dir, 'tok');
    writeFileSync(tokfile, 'my-admin-token-0123456789\n', { mode: 0o600 });
    const sock = join(dir, 'admin.sock');
    // Run it directly: only the variables.
    const data = join(dir, 'data');
    const { spawn } = await import('node:child_process');
    const p = spawn(BIN, ['--listen', '127.0.0.1:0', '--data', data], {
      env: { ...process.env, HOOKD_ADMIN_TOKEN_FILE: tokfile, HOOKD_ADMIN: `unix:${sock}`, HOOKD_RATE: '7' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    p.stderr.on('data', (d) => { log += d; });
    const exited = new Promise((r) => p.on('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 150 && !/event=listening/.test(log); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(log, /event=listening/);
      assert.equal(statSync(sock).mode & 0o777, 0o600);
      const res = await new Promise((resolve, reject) => {
        const req = http.request({ socketPath: sock, path: '/api/webhooks', method: 'POST',
          headers: { authorization: 'Bearer my-admin-token-0123456789', 'content-type': 'application/json' } }, (r) => {
          let b = '';
          r.on('data', (d) => { b += d; });
          r.on('end', () => resolve({ status: r.statusCode, body: JSON.parse(b) }));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ name: 'via-unix' }));
      });
      assert.equal(res.status, 201);
      assert.equal(res.body.rateLimit, 7);
    } finally {
      p.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.doesNotMatch(log, /Sanitizer|runtime error/);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SIGTERM exits 0 and logs key=value lines; a wrong master key refuses to start', async () => {
    const h = await new Hookd().start();
    assert.equal((await h.api('POST', '/api/webhooks', { name: 'k' })).status, 201);
    const st = await h.stop();
    assert.equal(st.code, 0);
    for (const line of h.log.trim().split('\n')) assert.match(line, /^ts=\S+ level=(debug|info|warn|error) event=\w+/);
    writeFileSync(join(h.dir, 'master.key'), Buffer.alloc(32, 7), { mode: 0o600 });
    const other = spawnSync(BIN, ['--data', h.dir, ...h.storeArgs(), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { encoding: 'utf8', timeout: 10000 });
    h.cleanup();
    assert.equal(other.status, 1, other.stderr);
    assert.match(other.stderr, /master key/);
  });

  it('refuses a data directory in memory (tmpfs): its fsync keeps nothing', async (t) => {
    if (!existsSync('/dev/shm') || statfsSync('/dev/shm').type !== 0x01021994) {
      t.skip('no tmpfs at /dev/shm on this machine');
      return;
    }
    const dir = mkdtempSync('/dev/shm/hookd-test-');
    try {
      const r = spawnSync(BIN, ['--data', dir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { encoding: 'utf8', timeout: 10000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /level=error event=data_dir .*in memory \(tmpfs\)/);
      assert.equal(existsSync(join(dir, 'data.mdb')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
