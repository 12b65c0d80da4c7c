// Command targets (SPEC §11, proto/delivery.md "Command targets"): real
// shell scripts this test writes in its temp dir, run by hookd started
// with --config and --allow-commands. The payload on stdin and in the
// arguments, the environment (only what is configured, HOOKD_* and PATH),
// retries of a non-zero exit, a timeout that kills the whole process
// group, maxInFlight, a flood of output, a crash while commands run,
// links.status with exposeResult, the API's 403, the refusal of a file
// with a command when hookd lacks --allow-commands, and seed 004 walked
// from the configuration file (a GitHub push that runs a command, hookctl
// webhooks list and webhooks test).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHmac } from 'node:crypto';
import { BIN, Hookd } from '../lib/hookd.mjs';
import { poll } from '../lib/receiver.mjs';

const CTL = join(dirname(BIN), 'hookctl');
const ENV = { ASAN_OPTIONS: 'detect_leaks=1', LEAKED_VAR: 'must-not-reach-commands' };

function script(dir, name, body) {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

// Whether PID is gone (or a zombie nobody reaped yet: it runs no more).
function gone(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(.*\) Z/.test(st);
  } catch {
    return true;
  }
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

const lines = (f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);

describe('command targets', () => {
  let h, dir, file;
  const applied = (n) => poll(async () => (h.log.match(/event=config_done/g) || []).length >= n, 10000, `config applied ${n} times`);
  const publish = async (event, payload) => {
    const r = await h.api('POST', '/api/events', { event, payload });
    assert.equal(r.status, 202, r.text);
    return r.body.eventId || r.body.id;
  };
  const deliveryOf = async (evt) => {
    const e = (await h.api('GET', `/api/events/${evt}`)).body;
    return e.deliveries[0];
  };
  const settled = (evt, want, ms = 15000) => poll(async () => {
    const d = await deliveryOf(evt);
    return d && want.includes(d.status) ? d : null;
  }, ms, `${evt} ${want}`);

  before(async () => {
    h = new Hookd({ env: ENV });
    dir = h.dir;
    file = join(dir, 'hookd.yaml');
    const rec = script(dir, 'rec.sh', `out="${dir}/rec-$HOOKD_EVENT_ID"
{ printf 'args:'; for a in "$@"; do printf '[%s]' "$a"; done; echo
  printf 'stdin:'; cat; echo
  echo "cwd:$(pwd)"
  echo '--env'; env | grep -v '^PWD=\\|^SHLVL=\\|^_=' | sort; } > "$out.tmp"
mv "$out.tmp" "$out"
echo "ran $HOOKD_EVENT_ID"; echo "to stderr" >&2`);
    const fail = script(dir, 'fail.sh', `date +%s%3N >> "${dir}/fail.log"; echo "nope" >&2; exit 3`);
    const slow = script(dir, 'slow.sh', `sleep 300 &
echo $! > "${dir}/grandchild.pid"; echo $$ > "${dir}/child.pid"; wait`);
    const par = script(dir, 'par.sh', `echo "start $(date +%s%N) $1" >> "${dir}/par.log"; sleep 0.05
echo "end $(date +%s%N) $1" >> "${dir}/par.log"`);
    // The first event fails its first attempt: the others wait for it.
    const ordered = script(dir, 'ordered.sh', `echo "$1 $HOOKD_ATTEMPT" >> "${dir}/ordered.log"
[ "$1" = 1 ] && [ "$HOOKD_ATTEMPT" = 1 ] && exit 1
exit 0`);
    const flood = script(dir, 'flood.sh', `yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 100000000`);
    writeFileSync(file, `subscriptions:
  - name: rec
    events: ["cmd.rec"]
    exposeResult: true
    command:
      argv: ["${rec}", "\${payload.ref}", "$HOME", "", "\${payload.missing}x"]
      cwd: "${dir}"
      env: {REPO: "\${payload.repo}", STATIC: "plain value"}
      stdin: body
  - name: fail
    events: ["cmd.fail"]
    retry: {maxAttempts: 3, initialMs: 300, maxMs: 600}
    command: {argv: ["${fail}"]}
  - name: slow
    events: ["cmd.slow"]
    retry: {maxAttempts: 1}
    command: {argv: ["${slow}"], timeoutMs: 700}
  - name: par
    events: ["cmd.par"]
    maxInFlight: 2
    command: {argv: ["${par}", "\${event_id}"]}
  - name: flood
    events: ["cmd.flood"]
    command: {argv: ["${flood}"], timeoutMs: 60000}
  - name: ordered
    events: ["cmd.ordered"]
    ordered: true
    maxInFlight: 4
    retry: {maxAttempts: 5, initialMs: 200, maxMs: 200}
    command: {argv: ["${ordered}", "\${payload.n}"]}
  - name: missing
    events: ["cmd.missing"]
    retry: {maxAttempts: 1}
    command: {argv: ["${dir}/no-such-program"]}
`);
    h.args = ['--config', file, '--allow-commands', '--outcome-delay', '0'];
    await h.start();
    await applied(1);
  });
  after(async () => {
    await h.stop();
    h.cleanup();
  });

  it('is shown with its command; maxInFlight is 1 unless set', async () => {
    const s = (await h.api('GET', '/api/subscriptions/rec')).body;
    assert.equal(s.managedBy, 'config');
    assert.equal(s.url, undefined);
    assert.equal(s.maxInFlight, 1);
    assert.equal(s.exposeResult, true);
    assert.equal(s.command.stdin, 'body');
    assert.equal(s.command.timeoutMs, 60000);
    assert.equal((await h.api('GET', '/api/subscriptions/par')).body.maxInFlight, 2);
  });

  it('runs with the payload on stdin and in its arguments, and only its environment', async () => {
    const evt = await publish('cmd.rec', { ref: 'refs/heads/main', repo: 'acme/app' });
    const d = await settled(evt, ['succeeded']);
    const out = readFileSync(join(dir, `rec-${evt}`), 'utf8');
    // No shell: "$HOME" is passed as written, a missing field is empty.
    assert.match(out, /^args:\[refs\/heads\/main\]\[\$HOME\]\[\]\[x\]$/m);
    const stdin = /^stdin:(.*)$/m.exec(out)[1];
    const env = JSON.parse(stdin);
    assert.equal(env.id, evt);
    assert.deepEqual(env.payload, { ref: 'refs/heads/main', repo: 'acme/app' });
    assert.match(out, new RegExp(`^cwd:${dir}$`, 'm'));
    const vars = out.split('--env\n')[1].trim().split('\n').map((l) => l.split('=')[0]);
    assert.deepEqual(vars.sort(), ['HOOKD_ATTEMPT', 'HOOKD_DELIVERY_ID', 'HOOKD_EVENT_ID', 'HOOKD_EVENT_TYPE', 'PATH', 'REPO', 'STATIC']);
    assert.match(out, /^REPO=acme\/app$/m);
    assert.match(out, /^STATIC=plain value$/m);
    assert.match(out, /^HOOKD_EVENT_TYPE=cmd\.rec$/m);
    assert.match(out, /^HOOKD_ATTEMPT=1$/m);
    assert.match(out, new RegExp(`^HOOKD_DELIVERY_ID=${d.id}$`, 'm'));
    assert.match(out, /^PATH=/m);
    assert.ok(!out.includes('must-not-reach-commands'));
    const a = d.attempts[0];
    assert.equal(a.exitCode, 0);
    assert.equal(a.reason, null);
    assert.equal(a.response, `ran ${evt}\n`);
    assert.equal(a.stderr, 'to stderr\n');
    assert.equal(typeof a.latencyMs, 'number');
  });

  it('retries a non-zero exit with backoff, then fails', async () => {
    const evt = await publish('cmd.fail', {});
    const d = await settled(evt, ['failed'], 20000);
    assert.equal(d.attempts.length, 3);
    for (const a of d.attempts) {
      assert.equal(a.exitCode, 3);
      assert.equal(a.reason, 'exit');
      assert.equal(a.stderr, 'nope\n');
    }
    const t = lines(join(dir, 'fail.log')).map(Number);
    assert.equal(t.length, 3);
    // initialMs 300 then 600, ±20 %.
    assert.ok(t[1] - t[0] >= 230, `first wait ${t[1] - t[0]} ms`);
    assert.ok(t[2] - t[1] >= 470, `second wait ${t[2] - t[1]} ms`);
  });

  it('kills the whole process group at its timeout', async () => {
    const evt = await publish('cmd.slow', {});
    const d = await settled(evt, ['failed'], 15000);
    const a = d.attempts[0];
    assert.equal(a.reason, 'timeout');
    assert.equal(a.exitCode, null);
    assert.ok(a.latencyMs >= 650 && a.latencyMs < 5000, `${a.latencyMs} ms`);
    const child = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    const grand = Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8'));
    await poll(async () => gone(child) && gone(grand), 5000, 'child and grandchild gone');
  });

  it('runs at most maxInFlight at once (50 events at 2)', async () => {
    const ids = [];
    for (let i = 0; i < 50; i++) ids.push(await publish('cmd.par', { i }));
    const log = join(dir, 'par.log');
    await poll(async () => lines(log).filter((l) => l.startsWith('end')).length >= 50, 60000, '50 runs');
    const ev = lines(log).map((l) => l.split(' ')).map(([k, t, id]) => ({ k, t: BigInt(t), id }));
    ev.sort((x, y) => (x.t < y.t ? -1 : x.t > y.t ? 1 : x.k === 'end' ? -1 : 1));
    let now = 0, most = 0;
    for (const e of ev) {
      now += e.k === 'start' ? 1 : -1;
      most = Math.max(most, now);
    }
    assert.ok(most <= 2, `${most} at once`);
    assert.equal(most, 2, 'two did run at once');
    assert.deepEqual([...new Set(ev.map((e) => e.id))].sort(), [...ids].sort());
  });

  it('ordered: one at a time, in order, a failing head holding the rest', async () => {
    const ids = [];
    for (let n = 1; n <= 4; n++) ids.push(await publish('cmd.ordered', { n }));
    for (const id of ids) await settled(id, ['succeeded'], 15000);
    assert.deepEqual(lines(join(dir, 'ordered.log')), ['1 1', '1 2', '2 1', '3 1', '4 1']);
  });

  it('keeps 1 KiB of a 100 MB output, in bounded memory', async () => {
    const before = rssKiB(h.proc.pid);
    const evt = await publish('cmd.flood', {});
    let most = before;
    const d = await poll(async () => {
      most = Math.max(most, rssKiB(h.proc.pid));
      const x = await deliveryOf(evt);
      return x && x.status === 'succeeded' ? x : null;
    }, 60000, 'flood done');
    const a = d.attempts[0];
    assert.equal(a.exitCode, 0);
    assert.equal(a.response.length, 1024);
    assert.ok(a.response.startsWith('0123456789abcdefghijklmnopqrstuvwxyz\n'));
    assert.equal(a.stdoutBytes, 100000000);
    assert.ok(most - before < 40 * 1024, `RSS grew ${most - before} KiB`);
  });

  it('a command that cannot start is a failed attempt, reason spawn', async () => {
    const evt = await publish('cmd.missing', {});
    const d = await settled(evt, ['failed']);
    assert.equal(d.attempts[0].reason, 'spawn');
    assert.match(d.attempts[0].error, /no-such-program: No such file/);
  });

  it('the admin API refuses commands: 403 commands_from_config_only', async () => {
    let r = await h.api('POST', '/api/subscriptions', { events: ['x'], command: { argv: ['/bin/true'] } });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'commands_from_config_only');
    r = await h.api('POST', '/api/subscriptions', { url: 'https://example.com/x', events: ['x'] });
    assert.equal(r.status, 201, r.text);
    const id = r.body.id;
    h.note(r.text);
    for (const m of ['PATCH', 'PUT']) {
      r = await h.api(m, `/api/subscriptions/${id}`, { events: ['x'], command: { argv: ['/bin/true'] } });
      assert.equal(r.status, 403, m);
      assert.equal(r.body.error.code, 'commands_from_config_only');
    }
    // The operational calls still go to a config-managed command.
    r = await h.api('PATCH', '/api/subscriptions/fail', { active: false });
    assert.equal(r.status, 200, r.text);
    r = await h.api('PATCH', '/api/subscriptions/fail', { active: true });
    assert.equal(r.status, 200, r.text);
    assert.equal((await h.api('DELETE', `/api/subscriptions/${id}`)).status, 204);
  });

  it('links.status shows each attempt of an exposeResult command', async () => {
    const wh = await h.api('POST', '/api/webhooks', { name: 'ci', auth: 'token' });
    assert.equal(wh.status, 201, wh.text);
    h.note(wh.text);
    const token = wh.body.token;
    const r = await h.post('/webhooks/ci', { event: 'cmd.rec', payload: { ref: 'v1' } }, { 'x-webhook-token': token });
    assert.equal(r.status, 202, r.text);
    const evt = r.body.eventId;
    await settled(evt, ['succeeded']);
    const st = await fetch(`${h.pub}/webhooks/ci/events/${evt}`, { headers: { 'x-webhook-token': token } });
    const body = await st.json();
    assert.equal(body.state, 'delivered');
    assert.equal(body.runs.length, 1);
    assert.equal(body.runs[0].subscription, 'rec');
    assert.equal(body.runs[0].attempts[0].exitCode, 0);
    assert.equal(body.runs[0].attempts[0].stdout, `ran ${evt}\n`);
    assert.equal(body.runs[0].attempts[0].stderr, 'to stderr\n');
    // A command without exposeResult shows only the counts.
    const r2 = await h.post('/webhooks/ci', { event: 'cmd.missing' }, { 'x-webhook-token': token });
    await settled(r2.body.eventId, ['failed']);
    const b2 = await (await fetch(`${h.pub}/webhooks/ci/events/${r2.body.eventId}`, { headers: { 'x-webhook-token': token } })).json();
    assert.equal(b2.runs, undefined);
    assert.equal(b2.state, 'failed');
  });

  it('a file with a command is refused without --allow-commands, at start and on SIGHUP', async () => {
    const other = join(dir, 'other');
    const r = spawnSync(BIN, ['--data', other, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--config', file], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /event=config .*hookd\.yaml:\d+: subscription rec: command needs hookd to run with --allow-commands/);
    const c = spawnSync(BIN, ['--data', other, '--config', file, '--check'], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
    assert.equal(c.status, 1);
    const ok = spawnSync(BIN, ['--data', other, '--config', file, '--check', '--allow-commands'], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^7 to create/m);
    const env = spawnSync(BIN, ['--data', other, '--config', file, '--check'], { env: { ...process.env, ...ENV, HOOKD_ALLOW_COMMANDS: '1' }, encoding: 'utf8', timeout: 15000 });
    assert.equal(env.status, 0, env.stderr);
    // On SIGHUP: refused, and what runs is kept.
    const g = new Hookd({ env: ENV });
    const gfile = join(g.dir, 'hookd.yaml');
    writeFileSync(gfile, 'subscriptions:\n  - name: plain\n    url: https://example.com/x\n    events: ["a.b"]\n');
    g.args = ['--config', gfile];
    try {
      await g.start();
      await poll(async () => /event=config_done/.test(g.log), 10000, 'config applied');
      writeFileSync(gfile, readFileSync(file, 'utf8'));
      g.proc.kill('SIGHUP');
      await poll(async () => /event=config_refused .*subscription rec: command needs hookd to run with --allow-commands/.test(g.log), 10000, 'config_refused');
      const subs = (await g.api('GET', '/api/subscriptions')).body.data.map((x) => x.name);
      assert.deepEqual(subs, ['plain']);
    } finally {
      await g.stop();
      g.cleanup();
    }
  });

  it('judges a command as the API judges a subscription: a line and a message', async () => {
    const cases = [
      ['command: {argv: ["bin/relative"]}', /command\.argv\[0\] must be an absolute path/],
      ['command: {argv: ["/bin/${payload.x}"]}', /command\.argv\[0\] must be an absolute path, without a template/],
      ['command: {argv: []}', /command\.argv must be 1-64 strings/],
      ['command: {argv: ["/bin/true", "${nope}"]}', /command\.argv: /],
      ['command: {stdin: body}', /command\.argv is required/],
      ['command: {argv: ["/bin/true"], stdin: maybe}', /command\.stdin must be "body" or "none"/],
      ['command: {argv: ["/bin/true"], env: {HOOKD_X: "1"}}', /command\.env: HOOKD_X is not a variable name/],
      ['command: {argv: ["/bin/true"], env: {A: 1}}', /command\.env: A must be a string/],
      ['command: {argv: ["/bin/true"], cwd: "relative"}', /command\.cwd must be an absolute path/],
      ['command: {argv: ["/bin/true"], timeoutMs: 5}', /command\.timeoutMs must be an integer from 100/],
      ['command: {argv: ["/bin/true"], shell: true}', /shell/],
      ['url: https://example.com/x\n    command: {argv: ["/bin/true"]}', /url and command cannot both be set/],
      ['exposeResult: 1\n    command: {argv: ["/bin/true"]}', /exposeResult must be true or false/],
    ];
    const f = join(dir, 'bad.yaml');
    for (const [member, want] of cases) {
      writeFileSync(f, `subscriptions:\n  - name: bad\n    events: ["a.b"]\n    ${member}\n`);
      const r = spawnSync(BIN, ['--data', join(dir, 'none'), '--config', f, '--check', '--allow-commands'], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
      assert.equal(r.status, 1, `${member}: ${r.stdout}`);
      assert.match(r.stderr, /bad\.yaml:2: subscription bad: /, member);
      assert.match(r.stderr, want, member);
    }
    // Without url or command: url is required, as before.
    writeFileSync(f, 'subscriptions:\n  - name: bad\n    events: ["a.b"]\n');
    const r = spawnSync(BIN, ['--data', join(dir, 'none'), '--config', f, '--check', '--allow-commands'], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
    assert.match(r.stderr, /subscription bad: url is required/);
  });

  it('hookctl export of commands, applied again, changes nothing', async () => {
    const ex = spawnSync(CTL, ['-a', h.adminAddr, '-T', join(dir, 'admin.token'), 'export'], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
    assert.equal(ex.status, 0, ex.stderr);
    const copy = join(dir, 'exported.json');
    writeFileSync(copy, ex.stdout);
    const r = spawnSync(BIN, ['--data', dir, ...h.storeArgs(), '--config', copy, '--check', '--allow-commands'], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
    assert.equal(r.status, 0, r.stderr);
    // Every subscription unchanged (the API's webhook becomes the file's).
    assert.doesNotMatch(r.stdout, /^(create|update|delete)\s+subscription/m, r.stdout);
    assert.match(r.stdout, /^unchanged subscription rec /m, r.stdout);
  });
});

describe('command targets across a crash', () => {
  it('every accepted event\'s command runs at least once after SIGKILL and restart', async () => {
    const h = new Hookd({ env: ENV });
    const dir = h.dir;
    const log = join(dir, 'ran.log');
    const run = script(dir, 'run.sh', `sleep 0.2; echo "$HOOKD_EVENT_ID" >> "${log}"`);
    const file = join(dir, 'hookd.yaml');
    writeFileSync(file, `subscriptions:
  - name: run
    events: ["job.*"]
    maxInFlight: 3
    command: {argv: ["${run}"], timeoutMs: 10000}
`);
    h.args = ['--config', file, '--allow-commands'];
    try {
      await h.start();
      // The listeners open while the file is still being applied.
      await poll(async () => /event=config_done/.test(h.log), 10000, 'config applied');
      const ids = [];
      for (let i = 0; i < 30; i++) {
        const r = await h.api('POST', '/api/events', { event: 'job.run', payload: { i } });
        assert.equal(r.status, 202);
        ids.push(r.body.eventId);
      }
      // Some ran, some are running, most wait: now the crash.
      await poll(async () => lines(log).length >= 3, 10000, 'a few ran');
      await h.kill();
      assert.ok(lines(log).length < 30, 'the crash came before the end');
      await h.restart();
      await poll(async () => new Set(lines(log)).size >= 30, 30000, 'every command ran').catch(async (e) => {
        const ran = new Set(lines(log));
        const missing = [];
        for (const id of ids.filter((x) => !ran.has(x)))
          missing.push(JSON.stringify((await h.api('GET', `/api/events/${id}`)).body.deliveries));
        throw new Error(`${e.message}: ${ran.size} ran\n${missing.join('\n')}\n${h.logs.join('')}\n${h.log}`);
      });
      assert.deepEqual([...new Set(lines(log))].sort(), [...ids].sort());
    } finally {
      await h.stop();
      h.cleanup();
    }
  });
});

describe('command targets at a stop', () => {
  it('SIGTERM while a command runs: hookd exits 0, the group is killed, the delivery stays pending (and waits without --allow-commands)', async () => {
    const h = new Hookd({ env: ENV });
    const dir = h.dir;
    const run = script(dir, 'long.sh', `echo $$ > "${dir}/long.pid"; sleep 60`);
    const file = join(dir, 'hookd.yaml');
    writeFileSync(file, `subscriptions:\n  - name: long\n    events: ["job.*"]\n    command: {argv: ["${run}"], timeoutMs: 120000}\n`);
    h.args = ['--config', file, '--allow-commands'];
    try {
      await h.start();
      await poll(async () => /event=config_done/.test(h.log), 10000, 'config applied');
      const r = await h.api('POST', '/api/events', { event: 'job.long', payload: {} });
      assert.equal(r.status, 202);
      await poll(async () => existsSync(join(dir, 'long.pid')), 10000, 'the command started');
      const pid = Number(readFileSync(join(dir, 'long.pid'), 'utf8'));
      const t0 = Date.now();
      const st = await h.stop();
      assert.equal(st.code, 0, h.log);
      assert.ok(Date.now() - t0 < 10000, 'stopped without waiting for the command');
      await poll(async () => gone(pid), 5000, 'the command killed');
      // Stored, it does not run without --allow-commands: it waits.
      writeFileSync(join(dir, 'long.pid'), '');
      await h.restart([]);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(readFileSync(join(dir, 'long.pid'), 'utf8'), '');
      await h.stop();
      // It runs again after a restart that allows it: still pending.
      await h.restart(['--allow-commands']);
      await poll(async () => readFileSync(join(dir, 'long.pid'), 'utf8').trim() !== '', 10000, 'the command ran again');
    } finally {
      await h.stop();
      h.cleanup();
    }
  });
});

describe('seed 004 from the configuration file', () => {
  it('a GitHub push to deploy-notify runs the command; hookctl lists and tests it', async () => {
    const h = new Hookd({ env: ENV });
    const dir = h.dir;
    const pushes = join(dir, 'pushes.log');
    const deploy = script(dir, 'deploy.sh', `echo "deploying $1 ($2) for $REPO"
echo "$HOOKD_EVENT_TYPE $1 $2" >> "${pushes}"`);
    writeFileSync(join(dir, 'github.secret'), 'gh-seed-secret\n');
    const file = join(dir, 'hookd.yaml');
    writeFileSync(file, `webhooks:
  - name: deploy-notify
    provider: github
    signature: {secretFile: ${join(dir, 'github.secret')}}
subscriptions:
  - name: deploy
    events: ["github.push", "webhook.test"]
    sources: ["deploy-notify"]
    exposeResult: true
    command:
      argv: ["${deploy}", "\${payload.ref}", "\${payload.after}"]
      env: {REPO: "\${payload.repository.full_name}"}
      stdin: none
      timeoutMs: 10000
`);
    h.note('gh-seed-secret');
    h.args = ['--config', file, '--allow-commands'];
    const ctl = (...args) => spawnSync(CTL, ['-a', h.adminAddr, '-T', join(dir, 'admin.token'), ...args], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
    try {
      await h.start();
      await poll(async () => /event=config_done/.test(h.log), 10000, 'config applied');
      const list = ctl('webhooks', 'list');
      assert.equal(list.status, 0, list.stderr);
      assert.match(list.stdout, /POST \/webhooks\/deploy-notify\s+\[enabled\]/);
      const subs = ctl('subs', 'list');
      assert.equal(subs.status, 0, subs.stderr);
      assert.match(subs.stdout, /sub_\S+\s+command:\S+deploy\.sh\s+\[active\]\s+github\.push,webhook\.test/);
      const body = JSON.stringify({ ref: 'refs/heads/main', after: 'abc123', repository: { full_name: 'acme/app' } });
      const sig = `sha256=${createHmac('sha256', 'gh-seed-secret').update(body).digest('hex')}`;
      const r = await h.post('/webhooks/deploy-notify', body, { 'x-hub-signature-256': sig, 'x-github-event': 'push', 'x-github-delivery': 'seed-004-1' });
      assert.equal(r.status, 202, r.text);
      await poll(async () => lines(pushes).length >= 1, 15000, 'the push ran');
      assert.equal(lines(pushes)[0], 'github.push refs/heads/main abc123');
      // What it printed is in the delivery's attempt (hookctl deliveries).
      const evt = (await h.api('GET', `/api/events/${r.body.eventId}`)).body;
      const d = await poll(async () => {
        const x = (await h.api('GET', `/api/events/${evt.id}`)).body.deliveries[0];
        return x && x.status === 'succeeded' ? x : null;
      }, 15000, 'the push delivered');
      assert.equal(d.attempts[0].response, 'deploying refs/heads/main (abc123) for acme/app\n');
      const t = ctl('webhooks', 'test', 'deploy-notify');
      assert.equal(t.status, 0, t.stderr);
      await poll(async () => lines(pushes).length >= 2, 15000, 'the test ran');
      assert.match(lines(pushes)[1], /^webhook\.test /);
    } finally {
      await h.stop();
      h.cleanup();
    }
  });
});
