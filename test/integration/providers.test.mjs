// Provider presets through the admin API and hookctl (proto/http.md,
// Providers; proto/http.md): the one-step create with --provider and
// --secret or --secret-file, explicit fields over a preset, the checks of
// provider and verifyToken, a preset kept across a restart and a PATCH,
// forms with acceptForms (fields as JSON, repeated fields as arrays).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { BIN, Hookd, request } from '../lib/hookd.mjs';

const CTL = join(dirname(BIN), 'hookctl');

describe('provider presets', () => {
  let h;
  const ctl = (args) => {
    const r = spawnSync(CTL, ['-a', h.adminAddr, '-T', join(h.dir, 'admin.token'), ...args],
      { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' }, timeout: 15000 });
    assert.doesNotMatch(r.stderr, /Sanitizer|runtime error/);
    h.note(r.stdout);
    return r;
  };
  const eventOf = async (id) => (await h.api('GET', `/api/events/${id}`)).body;
  before(async () => { h = await new Hookd().start(); });
  after(async () => { await h.stop(); h.cleanup(); });

  it('hookctl webhooks create NAME --provider P --secret S: one step, then GitHub\'s signed push is github.push', async () => {
    const r = ctl(['--json', 'webhooks', 'create', 'gh', '--provider', 'github', '--secret', 'gh-ctl-secret']);
    assert.equal(r.status, 0, r.stderr);
    const w = JSON.parse(r.stdout);
    assert.deepEqual([w.provider, w.auth, w.signature.scheme, w.eventPrefix], ['github', 'signature', 'github', 'github.']);
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const p = await h.post('/webhooks/gh', body, { 'x-hub-signature-256': await octokitSign('gh-ctl-secret', body), 'x-github-event': 'push', 'x-github-delivery': 'ctl-1' });
    assert.equal(p.status, 202, p.text);
    assert.equal((await eventOf(p.body.eventId)).event, 'github.push');
    // The summary names the provider.
    assert.match(ctl(['webhooks', 'show', 'gh']).stdout, /^provider +github$/m);
  });

  it('--secret-file reads the secret from a file (trailing newline dropped)', async () => {
    const f = join(h.dir, 'stripe.secret');
    writeFileSync(f, 'whsec_fromAFile123\n', { mode: 0o600 });
    const r = ctl(['--json', 'webhooks', 'create', 'st', '--provider', 'stripe', '--secret-file', f]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).secret, 'whsec_fromAFile123');
    const missing = ctl(['webhooks', 'create', 'st2', '--provider', 'stripe', '--secret-file', join(h.dir, 'nope')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^hookctl: .*nope/);
    const both = ctl(['webhooks', 'create', 'st3', '--secret', 'a', '--secret-file', f]);
    assert.equal(both.status, 2);
  });

  it('a provider that hands out its secret needs one; an unknown provider is 400', async () => {
    for (const p of ['stripe', 'slack', 'shopify', 'zoom', 'meta', 'dropbox', 'x']) {
      const r = await h.api('POST', '/api/webhooks', { name: `nosecret-${p}`, provider: p });
      assert.equal(r.status, 400, `${p}: ${r.text}`);
      assert.match(r.body.error.message, /secret/);
    }
    for (const p of ['github', 'gitlab', 'standard']) {
      const r = await h.api('POST', '/api/webhooks', { name: `gen-${p}`, provider: p });
      assert.equal(r.status, 201, `${p}: ${r.text}`);
      assert.ok(r.body.secret.length >= 32);
    }
    for (const bad of ['GitHub', 'bitbucket', '', 7, true]) {
      const r = await h.api('POST', '/api/webhooks', { name: 'bad-provider', provider: bad, signature: { secret: 's' } });
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
      assert.equal(r.body.error.code, 'bad_request');
    }
    for (const bad of [7, '', 'x'.repeat(201)]) {
      const r = await h.api('POST', '/api/webhooks', { name: 'bad-vt', provider: 'meta', signature: { secret: 's' }, verifyToken: bad });
      assert.equal(r.status, 400, r.text);
    }
    const r = await h.api('POST', '/api/webhooks', { name: 'bad-forms', acceptForms: 'yes' });
    assert.equal(r.status, 400, r.text);
  });

  it('explicit fields override a preset: eventPrefix "" for none, auth token+signature, eventType', async () => {
    let r = await h.api('POST', '/api/webhooks', { name: 'gh-bare', provider: 'github', eventPrefix: '', signature: { secret: 'gh-bare' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.eventPrefix, null);
    const body = JSON.stringify({ zen: 'x' });
    const headers = { 'x-hub-signature-256': await octokitSign('gh-bare', body), 'x-github-event': 'ping' };
    assert.equal((await eventOf((await h.post('/webhooks/gh-bare', body, headers)).body.eventId)).event, 'ping');
    r = await h.api('POST', '/api/webhooks', { name: 'gh-both', provider: 'github', auth: 'token+signature', signature: { secret: 'gh-both' }, eventType: { fixed: 'always' } });
    assert.equal(r.status, 201, r.text);
    const tok = r.body.token;
    const hb = { 'x-hub-signature-256': await octokitSign('gh-both', body), 'x-github-event': 'ping' };
    assert.equal((await h.post('/webhooks/gh-both', body, hb)).status, 401);
    const ok = await h.post('/webhooks/gh-both', body, { ...hb, 'x-webhook-token': tok });
    assert.equal(ok.status, 202, ok.text);
    assert.equal((await eventOf(ok.body.eventId)).event, 'github.always');
  });

  it('a preset survives a restart; PATCH provider applies the new preset; provider null drops it', async () => {
    let r = await h.api('POST', '/api/webhooks', { name: 'mt', provider: 'meta', verifyToken: 'vt-1', signature: { secret: 'app-secret' } });
    assert.equal(r.status, 201, r.text);
    const id = r.body.id;
    await h.stop();
    await h.restart();
    r = await h.api('GET', `/api/webhooks/${id}`);
    assert.deepEqual([r.body.provider, r.body.verifyToken, r.body.auth, r.body.signature.scheme, r.body.eventPrefix], ['meta', 'vt-1', 'signature', 'meta', 'meta.']);
    const c = await request(`${h.pub}/webhooks/mt?hub.mode=subscribe&hub.verify_token=vt-1&hub.challenge=77`, { method: 'GET' });
    assert.equal(c.text, '77');
    r = await h.api('PATCH', `/api/webhooks/${id}`, { provider: 'dropbox' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.body.provider, r.body.signature.scheme, r.body.eventPrefix], ['dropbox', 'dropbox', 'dropbox.']);
    assert.equal((await request(`${h.pub}/webhooks/mt?challenge=abc`, { method: 'GET' })).text, 'abc');
    r = await h.api('PATCH', `/api/webhooks/${id}`, { verifyToken: null });
    assert.equal(r.body.verifyToken, null);
    r = await h.api('PATCH', `/api/webhooks/${id}`, { provider: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.provider, null);
    assert.equal((await request(`${h.pub}/webhooks/mt?challenge=abc`, { method: 'GET' })).status, 405);
  });

  it('acceptForms: an HTML form becomes a JSON object of its fields; without it a form needs payload', async () => {
    let r = await h.api('POST', '/api/webhooks', { name: 'forms', acceptForms: true });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.acceptForms, true);
    const tok = r.body.token;
    const form = 'name=Ada+Lovelace&email=ada%40example.com&tag=a&tag=b&tag=c&empty=&type=signup';
    const p = await h.post('/webhooks/forms', form, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'x-webhook-token': tok });
    assert.equal(p.status, 202, p.text);
    const e = await eventOf(p.body.eventId);
    assert.equal(e.event, 'signup');
    assert.deepEqual(e.payload, { name: 'Ada Lovelace', email: 'ada@example.com', tag: ['a', 'b', 'c'], empty: '', type: 'signup' });
    // A payload field still means GitHub's form mode.
    const gh = await h.post('/webhooks/forms', `payload=${encodeURIComponent('{"event":"x.y"}')}`, { 'content-type': 'application/x-www-form-urlencoded', 'x-webhook-token': tok });
    assert.equal((await eventOf(gh.body.eventId)).event, 'x.y');
    assertBad(await h.post('/webhooks/forms', 'a=%zz', { 'content-type': 'application/x-www-form-urlencoded', 'x-webhook-token': tok }));
    r = await h.api('POST', '/api/webhooks', { name: 'noforms' });
    const n = await h.post('/webhooks/noforms', form, { 'content-type': 'application/x-www-form-urlencoded', 'x-webhook-token': r.body.token });
    assertBad(n);
    assert.equal(r.body.acceptForms, false);
  });

  it('Slack preset via hookctl: a slash command is slack.command', async () => {
    const secret = 'slack-ctl-signing-secret';
    assert.equal(ctl(['webhooks', 'create', 'sl', '--provider', 'slack', '--secret', secret]).status, 0);
    const form = 'command=%2Fdeploy&text=main&user_id=U1';
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${form}`).digest('hex')}` };
    const r = await h.post('/webhooks/sl', form, headers);
    assert.equal(r.status, 202, r.text);
    const e = await eventOf(r.body.eventId);
    assert.equal(e.event, 'slack.command');
    assert.deepEqual(e.payload, { command: '/deploy', text: 'main', user_id: 'U1' });
  });
});

function assertBad(r) {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.code, 'bad_request');
}
