// hookctl (proto/hookctl.md) against a real hookd: tables, --json, exit codes and
// one-line errors.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as child from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import http from 'node:http';
import { BIN, Hookd } from '../lib/hookd.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

const CTL = join(dirname(BIN), 'hookctl');
const ASAN = { ASAN_OPTIONS: 'detect_leaks=1' };

describe('hookctl', () => {
  let h, rx;
  // Asynchronous: the receiver runs in this process and must answer.
  const run = (args, env = {}) => new Promise((resolve) => {
    const p = child.spawn(CTL, ['-a', h.adminAddr, '-T', join(h.dir, 'admin.token'), ...args],
      { env: { ...process.env, ...ASAN, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), 15000);
    p.on('close', (status) => {
      clearTimeout(t);
      assert.doesNotMatch(stderr, /Sanitizer|runtime error/);
      resolve({ status, stdout, stderr });
    });
  });
  const json = async (args) => {
    const r = await run(['--json', ...args]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  before(async () => {
    rx = await new Receiver().start();
    h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
  });
  after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });

  it('webhooks: create, list as a table and as JSON, disable, enable, show, regenerate, logs, test, delete', async () => {
    const c = (await json(['webhooks', 'create', 'deploy-notify', '--description', 'CI', '--rate', '5']));
    assert.equal(c.name, 'deploy-notify');
    assert.match(c.token, /^whtok_/);
    assert.equal(c.rateLimit, 5);
    let r = (await run(['webhooks', 'list']));
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^POST \/webhooks\/deploy-notify {2}\[enabled\]/m);
    r = (await run(['webhooks', 'disable', 'deploy-notify']));
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `webhook deploy-notify (${c.id}) disabled\n`);
    assert.match((await run(['webhooks', 'list'])).stdout, /^POST \/webhooks\/deploy-notify {2}\[disabled\]/m);
    assert.equal((await run(['webhooks', 'enable', c.id])).status, 0);
    assert.equal((await json(['webhooks', 'list'])).data[0].enabled, true);
    assert.equal((await json(['webhooks', 'show', 'deploy-notify'])).id, c.id);
    r = (await run(['webhooks', 'show', 'deploy-notify']));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^name +deploy-notify$/m);
    assert.match(r.stdout, new RegExp(`^id +${c.id}$`, 'm'));
    assert.match(r.stdout, /^enabled +yes$/m);
    assert.match(r.stdout, /^signature +scheme=hex toleranceSeconds=300$/m);
    assert.doesNotMatch(r.stdout, /[{}\t]|"name"/, 'a summary for people, not JSON');
    const g = (await json(['webhooks', 'regenerate', 'deploy-notify']));
    assert.notEqual(g.token, c.token);
    const t = (await json(['webhooks', 'test', 'deploy-notify']));
    assert.equal(t.status, 'accepted');
    assert.deepEqual((await json(['webhooks', 'logs', 'deploy-notify'])).data, []);
    r = (await run(['webhooks', 'delete', 'deploy-notify']));
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'webhook deploy-notify deleted\n');
    r = (await run(['webhooks', 'show', 'deploy-notify']));
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^hookctl: 404 not_found: no webhook deploy-notify$/m);
  });

  it('subs: create, list, disable, enable, test, rotate-secret, delete', async () => {
    const s = (await json(['subs', 'create', `${rx.url}/ctl`, 'a.*', 'b', '--description', 'ops', '--max-in-flight', '3']));
    assert.deepEqual(s.events, ['a.*', 'b']);
    assert.equal(s.maxInFlight, 3);
    assert.match(s.secret, /^whsec_/);
    assert.match((await run(['subs', 'list'])).stdout, new RegExp(`^${s.id}  ${rx.url}/ctl  \\[active\\]  a\\.\\*,b$`, 'm'));
    assert.equal((await run(['subs', 'disable', s.id])).status, 0);
    assert.match((await run(['subs', 'list'])).stdout, /\[disabled\]/);
    assert.equal((await run(['subs', 'enable', s.id])).status, 0);
    const t = (await json(['subs', 'test', s.id]));
    assert.equal(t.success, true);
    const rot = (await json(['subs', 'rotate-secret', s.id]));
    assert.notEqual(rot.secret, s.secret);
    assert.equal((await run(['subs', 'delete', s.id])).status, 0);
    const r = (await run(['subs', 'create', 'ftp://x/']));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^hookctl: 400 bad_request: url must be http or https$/m);
  });

  it('events and deliveries: publish, list, show, replay, retry', async () => {
    rx.script('/ev', { status: 500 });
    const s = (await json(['subs', 'create', `${rx.url}/ev`, 'ev.*', '--retry', '{"maxAttempts":1,"initialMs":100,"maxMs":100}']));
    const p = (await json(['events', 'publish', 'ev.one', '{"n":1}', '--idempotency-key', 'k']));
    assert.equal(p.status, 'accepted');
    assert.equal((await json(['events', 'publish', 'ev.one', '{"n":1}', '--idempotency-key', 'k'])).status, 'duplicate');
    assert.match((await run(['events', 'list', '--type', 'ev.*'])).stdout, new RegExp(`^${p.eventId}  \\S+  ev\\.one  from api$`, 'm'));
    await poll(async () => (await json(['deliveries', 'list', '--subscription', s.id])).data[0]?.status === 'failed', 10000, 'failed');
    const d = (await json(['deliveries', 'list', '--event', p.eventId])).data[0];
    assert.match((await run(['deliveries', 'list', '--status', 'failed'])).stdout, new RegExp(`^${d.id}  failed +attempts=1`, 'm'));
    assert.equal((await json(['deliveries', 'show', d.id])).attempts[0].statusCode, 500);
    assert.equal((await json(['deliveries', 'retry', d.id])).status, 'pending');
    await poll(async () => (await json(['deliveries', 'show', d.id])).status === 'succeeded', 10000, 'retried');
    assert.equal((await json(['events', 'show', p.eventId])).deliveries.length, 1);
    assert.equal((await json(['events', 'replay', p.eventId, '--subscription', s.id])).deliveries.length, 1);
  });

  it('stats, and stats --watch redraws in place', async () => {
    const r = (await run(['stats']));
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^hookd 0\.1\.0, up \d+ s$/m);
    assert.match(r.stdout, /^ingest {6}received \d+/m);
    assert.equal(typeof (await json(['stats'])).ingest.received, 'number');
    const w = spawnSync(CTL, ['-a', h.adminAddr, '-T', join(h.dir, 'admin.token'), 'stats', '--watch'],
      { encoding: 'utf8', timeout: 3000, env: { ...process.env, ...ASAN } });
    assert.match(w.stdout, /\x1b\[H\x1b\[2J/);
    assert.ok(w.stdout.split('\x1b[H').length >= 2);
  });

  it('errors: usage, unknown command, unreachable, wrong token, malformed answer', async () => {
    let r = (await run(['bogus']));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command bogus/);
    r = (await run(['--nope', 'stats']));
    assert.equal(r.status, 2);
    r = (await run(['webhooks', 'frob', 'x']));
    assert.equal(r.status, 2);
    r = (await run(['webhooks', 'list', '--color', 'red']));
    assert.equal(r.status, 2);
    r = spawnSync(CTL, ['-a', '127.0.0.1:1', '-t', 'x', 'stats'], { encoding: 'utf8', env: { ...process.env, ...ASAN } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^hookctl: cannot reach hookd at 127\.0\.0\.1:1: /);
    r = spawnSync(CTL, ['-a', h.adminAddr, '-t', 'wrong-token', 'stats'], { encoding: 'utf8', env: { ...process.env, ...ASAN } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^hookctl: 401 invalid_token: /);
    r = spawnSync(CTL, ['-a', h.adminAddr, 'stats'], { encoding: 'utf8', env: { ...process.env, ...ASAN, HOOKD_DATA: '/nonexistent' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot read the admin token from \/nonexistent\/admin.token/);
    const bad = http.createServer((q, s) => { s.writeHead(200); s.end('not json'); });
    await new Promise((ok) => bad.listen(0, '127.0.0.1', ok));
    try {
      const out = await new Promise((resolve) => {
        const p = child.spawn(CTL, ['-a', `127.0.0.1:${bad.address().port}`, '-t', 'x', 'webhooks', 'list'], { env: { ...process.env, ...ASAN } });
        let err = '';
        p.stderr.on('data', (d) => { err += d; });
        p.on('exit', (code) => resolve({ code, err }));
      });
      assert.equal(out.code, 1);
      assert.match(out.err, /^hookctl: malformed answer from hookd/);
    } finally {
      bad.close();
    }
    // HOOKD_ADMIN and the data dir's token are the defaults.
    r = spawnSync(CTL, ['stats'], { encoding: 'utf8', env: { ...process.env, ...ASAN, HOOKD_ADMIN: h.adminAddr, HOOKD_DATA: h.dir } });
    assert.equal(r.status, 0, r.stderr);
  });

  it('--help and --version print to stdout and exit 0; no command is a usage error on stderr', () => {
    const sync = (args) => spawnSync(CTL, args, { encoding: 'utf8', env: { ...process.env, ...ASAN } });
    for (const a of ['--help', '-h']) {
      const r = sync([a]);
      assert.equal(r.status, 0, a);
      assert.match(r.stdout, /^usage: hookctl /);
      assert.match(r.stdout, /^ {2}webhooks list\|create/m);
      assert.equal(r.stderr, '');
    }
    let r = sync(['--version']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'hookctl 0.1.0\n');
    assert.equal(r.stderr, '');
    r = sync([]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^usage: hookctl /);
  });

  it('an empty list says so; --json keeps the empty page', async () => {
    const e = await new Hookd().start();
    try {
      const runIn = (args) => spawnSync(CTL, ['-a', e.adminAddr, '-T', join(e.dir, 'admin.token'), ...args],
        { encoding: 'utf8', env: { ...process.env, ...ASAN } });
      for (const [args, text] of [[['webhooks', 'list'], 'no webhooks'], [['subs', 'list'], 'no subscriptions'],
        [['events', 'list'], 'no events'], [['deliveries', 'list'], 'no deliveries']]) {
        const r = runIn(args);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, `${text}\n`);
        const j = runIn(['--json', ...args]);
        assert.deepEqual(JSON.parse(j.stdout), { data: [], next: null });
      }
      assert.equal(runIn(['webhooks', 'create', 'quiet']).status, 0);
      const r = runIn(['webhooks', 'logs', 'quiet']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'no log entries\n');
    } finally {
      await e.stop();
      e.cleanup();
    }
  });

  it('show, enable, create, publish: summaries for people; --json prints the answer as hookd sent it', async () => {
    const s = await json(['subs', 'create', `${rx.url}/sum`, 'sum.*', '--description', 'summary']);
    let r = await run(['subs', 'show', s.id]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^url +${rx.url}/sum$`, 'm'));
    assert.match(r.stdout, /^events +sum\.\*$/m);
    assert.match(r.stdout, /^active +yes$/m);
    assert.match(r.stdout, /^retry +maxAttempts=15 initialMs=5000 maxMs=21600000$/m);
    assert.doesNotMatch(r.stdout, /[{}\t]/);
    r = await run(['subs', 'disable', s.id]);
    assert.equal(r.stdout, `subscription ${s.id} disabled\n`);
    r = await run(['subs', 'enable', s.id]);
    assert.equal(r.stdout, `subscription ${s.id} enabled\n`);
    // A terminal obeys control characters: a summary shows them as '?'.
    const esc = await json(['webhooks', 'create', 'esc', '--description', 'a\x1b[2Jb']);
    assert.equal(esc.description, 'a\x1b[2Jb');
    assert.match((await run(['webhooks', 'show', 'esc'])).stdout, /^description +a\?\[2Jb$/m);
    r = await run(['webhooks', 'create', 'summed']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^token +whtok_\S+$/m);
    assert.match(r.stdout, /^secret +whsec_\S+$/m);
    assert.doesNotMatch(r.stdout, /[{}\t]/);
    h.note(r.stdout);
    r = await run(['events', 'publish', 'sum.one', '{"n":1,"deep":{"a":[1,2]}}']);
    assert.equal(r.status, 0, r.stderr);
    const id = /^eventId +(evt_\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    r = await run(['events', 'show', id]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^event +sum\.one$/m);
    assert.match(r.stdout, /^payload +\{"n":1,"deep":\{"a":\[1,2\]\}\}$/m);
    // --json: the bytes of the admin API's answer.
    const api = await h.api('GET', `/api/events/${id}`);
    r = await run(['--json', 'events', 'show', id]);
    assert.equal(r.stdout.trim(), api.text.trim());
  });

  it('subs test to a dead endpoint exits 1 with the server\'s message', async () => {
    const s = await json(['subs', 'create', 'http://127.0.0.1:1/dead', 'x']);
    let r = await run(['subs', 'test', s.id]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^hookctl: test delivery failed \(connect\): \S.*$/m);
    r = await run(['--json', 'subs', 'test', s.id]);
    assert.equal(r.status, 1);
    assert.equal(JSON.parse(r.stdout).success, false);
    assert.match(r.stderr, /^hookctl: test delivery failed \(connect\): /);
    rx.script('/500', { status: 500 });
    const f = await json(['subs', 'create', `${rx.url}/500`, 'x']);
    r = await run(['subs', 'test', f.id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^hookctl: test delivery failed \(status 500\): /);
  });

  it('webhooks test on a disabled webhook is refused 403 webhook_disabled, as its URL is', async () => {
    const w = await json(['webhooks', 'create', 'off', '--disabled']);
    const pub = await h.post('/webhooks/off', { event: 'x' }, { 'x-webhook-token': w.token });
    assert.equal(pub.status, 403);
    assert.equal(pub.body.error.code, 'webhook_disabled');
    const api = await h.api('POST', '/api/webhooks/off/test', {});
    assert.equal(api.status, 403);
    assert.equal(api.body.error.code, 'webhook_disabled');
    const before = (await h.api('GET', '/api/events?source=off')).body.data.length;
    const r = await run(['webhooks', 'test', 'off']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^hookctl: 403 webhook_disabled: this webhook is disabled$/m);
    assert.equal((await h.api('GET', '/api/events?source=off')).body.data.length, before);
    assert.equal(before, 0);
    assert.equal((await run(['webhooks', 'enable', 'off'])).status, 0);
    assert.equal((await json(['webhooks', 'test', 'off'])).status, 'accepted');
  });
});
