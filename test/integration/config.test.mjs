// The configuration file (--config, proto/config.md): applied at start and
// on SIGHUP by name, managedBy: config and the API's 409, credentials from
// files and the environment, a bad file changing nothing and saying where,
// --check's plan, hookctl export applied again changing nothing; and the
// subscription names it stands on (unique, even for two calls at once).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHmac } from 'node:crypto';
import { BIN, Hookd } from '../lib/hookd.mjs';
import { poll } from '../lib/receiver.mjs';

const CTL = join(dirname(BIN), 'hookctl');
const ENV = { ASAN_OPTIONS: 'detect_leaks=1', DEPLOY_TOKEN: 'tok-from-env' };

const FILE1 = `# hookd's configuration
webhooks:
  - name: deploy-notify
    provider: github
    signature: {secretFile: SECRET_FILE}
  - name: plain
    auth: token
    tokenFile: TOKEN_FILE
subscriptions:
  - name: deploy
    url: https://example.com/deploy
    events: ["github.push"]
    sources: ["deploy-notify"]
    headers: {Authorization: "Bearer \${env:DEPLOY_TOKEN}"}
  - name: audit
    url: https://example.com/audit
    events: ["*"]
`;

describe('configuration file', () => {
  let h, file, secretFile, tokenFile;
  const write = (text) => writeFileSync(file, text.replaceAll('SECRET_FILE', secretFile).replaceAll('TOKEN_FILE', tokenFile));
  const check = (f = file) => spawnSync(BIN, ['--data', h.dir, ...h.storeArgs(), '--config', f, '--check'], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
  const applied = (n) => poll(async () => (h.log.match(/event=config_done/g) || []).length >= n, 10000, `config applied ${n} times`);

  before(async () => {
    h = new Hookd({ env: ENV });
    file = join(h.dir, 'hookd.yaml');
    secretFile = join(h.dir, 'gh.secret');
    tokenFile = join(h.dir, 'plain.token');
    writeFileSync(secretFile, 'gh-secret-from-file\n');
    writeFileSync(tokenFile, 'whtok_from_a_file_0123456789\n');
    h.note('gh-secret-from-file');
    h.note('whtok_from_a_file_0123456789');
    h.note('tok-from-env');
    write(FILE1);
    h.args = ['--config', file];
    await h.start();
    await applied(1);
  });
  after(async () => {
    await h.stop();
    h.cleanup();
  });

  it('creates what the file declares, managedBy config, with its credentials', async () => {
    // Nothing is answered before the file is in place: an event that came
    // first would have matched none of its subscriptions.
    assert.ok(h.log.indexOf('event=config_done') >= 0 && h.log.indexOf('event=config_done') < h.log.indexOf('event=listening'), h.log);
    const wh = (await h.api('GET', '/api/webhooks/deploy-notify')).body;
    assert.equal(wh.managedBy, 'config');
    assert.equal(wh.provider, 'github');
    // The secret from its file signs: GitHub's way, accepted.
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const sig = `sha256=${createHmac('sha256', 'gh-secret-from-file').update(body).digest('hex')}`;
    const r = await h.post('/webhooks/deploy-notify', body, { 'x-hub-signature-256': sig, 'x-github-event': 'push', 'x-github-delivery': 'd-1' });
    assert.equal(r.status, 202, r.text);
    // The token from its file authenticates.
    assert.equal((await h.post('/webhooks/plain', { event: 'x.y' }, { 'x-webhook-token': 'whtok_from_a_file_0123456789' })).status, 202);
    assert.equal((await h.post('/webhooks/plain', { event: 'x.y' }, { 'x-webhook-token': 'whtok_wrong_0123456789012' })).status, 401);
    const sub = (await h.api('GET', '/api/subscriptions/deploy')).body;
    assert.equal(sub.managedBy, 'config');
    assert.equal(sub.name, 'deploy');
    assert.deepEqual(sub.sources, [wh.id]);
    assert.deepEqual(sub.headers, { Authorization: '[redacted]' });
  });

  it('keeps the API to operational calls on what the file made', async () => {
    const e = (r, status, code) => { assert.equal(r.status, status, r.text); assert.equal(r.body.error.code, code); };
    e(await h.api('PATCH', '/api/subscriptions/deploy', { url: 'https://example.com/other' }), 409, 'managed_by_config');
    e(await h.api('PUT', '/api/subscriptions/deploy', { url: 'https://example.com/other', events: ['*'] }), 409, 'managed_by_config');
    e(await h.api('DELETE', '/api/subscriptions/deploy'), 409, 'managed_by_config');
    e(await h.api('POST', '/api/subscriptions/deploy/rotate-secret', {}), 409, 'managed_by_config');
    e(await h.api('PATCH', '/api/webhooks/plain', { description: 'x' }), 409, 'managed_by_config');
    e(await h.api('DELETE', '/api/webhooks/plain'), 409, 'managed_by_config');
    e(await h.api('POST', '/api/webhooks/plain/regenerate'), 409, 'managed_by_config');
    // Disable and enable are the operator's.
    assert.equal((await h.api('PATCH', '/api/subscriptions/deploy', { active: false })).status, 200);
    assert.equal((await h.api('PATCH', '/api/subscriptions/deploy', { active: true })).status, 200);
    assert.equal((await h.api('PATCH', '/api/webhooks/plain', { enabled: false })).status, 200);
    assert.equal((await h.api('PATCH', '/api/webhooks/plain', { enabled: true })).status, 200);
    // Only the file sets managedBy or a token.
    e(await h.api('POST', '/api/webhooks', { name: 'sneaky', managedBy: 'config' }), 400, 'bad_request');
    e(await h.api('POST', '/api/webhooks', { name: 'sneaky', token: 'whtok_chosen_by_the_caller_0' }), 400, 'bad_request');
    e(await h.api('POST', '/api/subscriptions', { url: 'https://example.com/', events: ['*'], managedBy: 'config' }), 400, 'bad_request');
  });

  it('--check prints the plan against the running store, changing nothing', async () => {
    const r = check();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^unchanged +webhook +deploy-notify wh_/m);
    assert.match(r.stdout, /^unchanged +subscription +audit sub_/m);
    assert.match(r.stdout, /^0 to create, 0 to update, 0 to delete, 4 unchanged$/m);
  });

  it('applies a changed file on SIGHUP: created, updated and deleted by name', async () => {
    const before = (await h.api('GET', '/api/subscriptions/deploy')).body;
    write(FILE1.replace('events: ["github.push"]', 'events: ["github.push", "github.release"]')
      .replace(/  - name: audit\n.*\n.*\n/, '  - name: notify\n    url: https://example.com/notify\n    events: ["github.*"]\n'));
    const plan = check();
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, /^update +subscription +deploy sub_/m);
    assert.match(plan.stdout, /^create +subscription +notify$/m);
    assert.match(plan.stdout, /^delete +subscription +audit sub_/m);
    h.proc.kill('SIGHUP');
    await applied(2);
    const after = (await h.api('GET', '/api/subscriptions/deploy')).body;
    assert.equal(after.id, before.id, 'updated in place, by name');
    assert.deepEqual(after.events, ['github.push', 'github.release']);
    assert.deepEqual(after.headers, { Authorization: '[redacted]' }, 'the header kept');
    assert.equal((await h.api('GET', '/api/subscriptions/notify')).body.managedBy, 'config');
    assert.equal((await h.api('GET', '/api/subscriptions/audit')).status, 404);
  });

  it('a bad file on SIGHUP changes nothing and says where it is wrong', async () => {
    write(`webhooks:\n  - name: deploy-notify\n    provider: github\n    signature: {secretFile: ${secretFile}}\n  - name: plain\n    auth: sometimes\n`);
    const plan = check();
    assert.equal(plan.status, 1);
    assert.match(plan.stderr, /hookd\.yaml:5: webhook plain: auth must be/);
    const logged = h.log.length;
    h.proc.kill('SIGHUP');
    await poll(async () => /event=config_refused/.test(h.log.slice(logged)), 10000, 'the refusal logged');
    assert.match(h.log.slice(logged), /event=config_refused .*hookd\.yaml:5: webhook plain: auth must be/);
    // Still as before: the subscriptions the last good file made.
    assert.equal((await h.api('GET', '/api/subscriptions/notify')).status, 200);
    assert.equal((await h.api('GET', '/api/webhooks/plain')).body.auth, 'token');
    // A missing credential is refused the same way.
    write(FILE1.replace('${env:DEPLOY_TOKEN}', '${env:NOT_SET_ANYWHERE}'));
    const r = check();
    assert.equal(r.status, 1);
    assert.match(r.stderr, /:10: subscription deploy: .*no NOT_SET_ANYWHERE/);
  });

  it('hookctl export, applied again, changes nothing', async () => {
    write(FILE1);
    h.proc.kill('SIGHUP');
    await applied(3);
    const ex = spawnSync(CTL, ['-a', h.adminAddr, '-T', join(h.dir, 'admin.token'), 'export'], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
    assert.equal(ex.status, 0, ex.stderr);
    assert.ok(!ex.stdout.includes('gh-secret-from-file') && !ex.stdout.includes('tok-from-env'), 'no secret exported');
    const exported = JSON.parse(ex.stdout);
    assert.deepEqual(exported.subscriptions.find((s) => s.name === 'deploy').sources, ['deploy-notify']);
    const copy = join(h.dir, 'exported.json');
    writeFileSync(copy, ex.stdout);
    const r = check(copy);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^0 to create, 0 to update, 0 to delete, 4 unchanged$/m, r.stdout);
  });

  it('a member the file drops goes back to its default; the operator\'s disable stays', async () => {
    write(FILE1.replace('    events: ["*"]\n', '    events: ["*"]\n    maxInFlight: 3\n'));
    h.proc.kill('SIGHUP');
    await applied(4);
    assert.equal((await h.api('GET', '/api/subscriptions/audit')).body.maxInFlight, 3);
    assert.equal((await h.api('PATCH', '/api/subscriptions/audit', { active: false })).status, 200);
    write(FILE1);
    const plan = check();
    assert.match(plan.stdout, /^update +subscription +audit sub_/m, plan.stdout);
    assert.match(plan.stdout, /^unchanged +subscription +deploy sub_/m, plan.stdout);
    h.proc.kill('SIGHUP');
    await applied(5);
    const audit = (await h.api('GET', '/api/subscriptions/audit')).body;
    assert.equal(audit.maxInFlight, 8, 'the default again');
    assert.equal(audit.active, false, 'still disabled: that was the operator\'s');
  });

  it('a bad file at start: hookd exits 1 and says where', async () => {
    const bad = join(h.dir, 'bad.yaml');
    writeFileSync(bad, 'webhooks:\n  - name: a\n    auth: [\n');
    const r = spawnSync(BIN, ['--data', join(h.dir, 'other'), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--config', bad], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /event=config .*bad\.yaml: line \d+: /);
    // --check on a store that does not exist yet: every object a create.
    write(FILE1);
    const fresh = spawnSync(BIN, ['--data', join(h.dir, 'none'), '--config', file, '--check'], { env: { ...process.env, ...ENV }, encoding: 'utf8', timeout: 15000 });
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.match(fresh.stdout, /^4 to create, 0 to update, 0 to delete, 0 unchanged$/m);
  });
});

describe('subscription names', () => {
  let h;
  before(async () => { h = await new Hookd().start(); });
  after(async () => { await h.stop(); h.cleanup(); });

  it('are unique, found by name, and two creates at once cannot both take one', async () => {
    const body = { name: 'orders', url: 'https://example.com/o', events: ['order.*'] };
    const [a, b] = await Promise.all([h.api('POST', '/api/subscriptions', body), h.api('POST', '/api/subscriptions', body)]);
    assert.deepEqual([a.status, b.status].sort(), [201, 409], `${a.text} ${b.text}`);
    const won = a.status === 201 ? a.body : b.body;
    assert.equal((await h.api('GET', '/api/subscriptions/orders')).body.id, won.id);
    const other = await h.api('POST', '/api/subscriptions', { url: 'https://example.com/p', events: ['*'] });
    assert.equal(other.body.name, null);
    const clash = await h.api('PATCH', `/api/subscriptions/${other.body.id}`, { name: 'orders' });
    assert.equal(clash.status, 409, clash.text);
    assert.equal(clash.body.error.code, 'conflict');
    assert.equal((await h.api('PATCH', `/api/subscriptions/${other.body.id}`, { name: 'payments' })).status, 200);
    assert.equal((await h.api('POST', '/api/subscriptions', { ...body, name: 'sub_x' })).status, 400);
    assert.equal((await h.api('POST', '/api/subscriptions', { ...body, name: 'Has Spaces' })).status, 400);
    // Kept across a restart.
    await h.stop();
    await h.restart();
    assert.equal((await h.api('GET', '/api/subscriptions/payments')).body.id, other.body.id);
  });
});
