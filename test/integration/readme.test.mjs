// The README's recipes, run as a newcomer would: its hookctl commands
// for GitHub, Stripe and Slack (read from the README itself), requests
// signed by the providers' libraries, a receiver that verifies
// deliveries as the README shows (standardwebhooks, and the hex
// X-Webhook-Signature), the 202's links on the admin listener, and
// --allow-targets for a local receiver.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import Stripe from 'stripe';
import { Webhook } from 'standardwebhooks';
import { BIN, Hookd, request } from '../lib/hookd.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

const CTL = join(dirname(BIN), 'hookctl');
const README = readFileSync('README', 'utf8');
const stripe = new Stripe('sk_test_readme');

// The README's `server/hookctl webhooks create NAME …` command, its
// continuation lines joined, as an argument vector (single quotes as
// the shell reads them), with <placeholders> replaced by SECRET.
function recipe(name, secret) {
  const lines = README.split('\n');
  const i = lines.findIndex((l) => l.trim().startsWith(`server/hookctl webhooks create ${name} `));
  assert.ok(i >= 0, `the README shows how to create the ${name} webhook`);
  let cmd = '';
  for (let k = i; k < lines.length; k++) {
    const l = lines[k].trim();
    cmd += ` ${l.replace(/\\$/, '')}`;
    if (!l.endsWith('\\')) break;
  }
  const args = [];
  for (const m of cmd.trim().matchAll(/'([^']*)'|(\S+)/g)) args.push(m[1] ?? m[2]);
  assert.equal(args.shift(), 'server/hookctl');
  return args.map((a) => a.replace(/<[^>]*>/g, secret).replace(/whsec_whsec_/, 'whsec_'));
}

describe('README recipes', () => {
  let h, rx;
  const ctl = (args) => {
    const r = spawnSync(CTL, ['-a', h.adminAddr, '-T', join(h.dir, 'admin.token'), ...args],
      { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
    assert.doesNotMatch(r.stderr, /Sanitizer|runtime error/);
    h.note(r.stdout);
    return r;
  };
  const json = (args) => {
    const r = ctl(['--json', ...args]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const eventOf = async (id) => (await h.api('GET', `/api/events/${id}`)).body;

  before(async () => {
    rx = await new Receiver().start();
    h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
  });
  after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });

  it('make run takes flags in ARGS', () => {
    const r = spawnSync('make', ['-n', 'run', 'ARGS=--allow-targets 127.0.0.0/8'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\.\/server\/hookd --data \.\/data --allow-targets 127\.0\.0\.0\/8$/m);
  });

  it('GitHub: the README command, a request signed by @octokit/webhooks-methods, redelivery deduped', async () => {
    const secret = 'gh-readme-secret';
    assert.equal(ctl(recipe('github', secret)).status, 0);
    const body = JSON.stringify({ ref: 'refs/heads/main', commits: [] });
    const headers = { 'x-hub-signature-256': await octokitSign(secret, body), 'x-github-event': 'push', 'x-github-delivery': 'd-1' };
    const r = await h.post('/webhooks/github', body, headers);
    assert.equal(r.status, 202, r.text);
    assert.equal((await eventOf(r.body.eventId)).event, 'github.push');
    const again = await h.post('/webhooks/github', body, headers);
    assert.equal(again.status, 200);
    assert.deepEqual([again.body.status, again.body.eventId], ['duplicate', r.body.eventId]);
    const ping = JSON.stringify({ zen: 'Design for failure.' });
    const p = await h.post('/webhooks/github', ping, { 'x-hub-signature-256': await octokitSign(secret, ping), 'x-github-event': 'ping', 'x-github-delivery': 'd-2' });
    assert.equal((await eventOf(p.body.eventId)).event, 'github.ping');
    const forged = await h.post('/webhooks/github', body, { ...headers, 'x-github-delivery': 'd-3', 'x-hub-signature-256': await octokitSign('wrong', body) });
    assert.equal(forged.status, 403);
  });

  it('Stripe: the README command with a whsec_ secret used as given, a request signed by stripe', async () => {
    const secret = 'whsec_readmeStripeSecret1';
    const args = recipe('stripe', secret);
    assert.deepEqual(args.slice(3), ['--provider', 'stripe', '--secret', secret], args.join(' '));
    assert.equal(ctl(args).status, 0);
    const body = JSON.stringify({ id: 'evt_1Readme', object: 'event', type: 'charge.succeeded', data: { object: {} } });
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret });
    const r = await h.post('/webhooks/stripe', body, { 'stripe-signature': header });
    assert.equal(r.status, 202, r.text);
    assert.equal((await eventOf(r.body.eventId)).event, 'stripe.charge.succeeded');
    const again = await h.post('/webhooks/stripe', body, { 'stripe-signature': header });
    assert.equal(again.body.status, 'duplicate');
  });

  it('Slack: the README command, a signed interactive payload, the url_verification answered, a slash command is slack.command', async () => {
    const secret = '8f742231b10e8888abcd99yyyzzz85a5';
    assert.equal(ctl(recipe('slack', secret)).status, 0);
    const signed = (body) => {
      const ts = String(Math.floor(Date.now() / 1000));
      const sig = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
      return { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-signature': sig, 'x-slack-request-timestamp': ts };
    };
    const form = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', actions: [] }))}`;
    const r = await h.post('/webhooks/slack', form, signed(form));
    assert.equal(r.status, 202, r.text);
    assert.equal((await eventOf(r.body.eventId)).event, 'slack.block_actions');
    const slash = 'command=%2Fdeploy&text=main';
    const c = await h.post('/webhooks/slack', slash, signed(slash));
    assert.equal(c.status, 202, c.text);
    const e = await eventOf(c.body.eventId);
    assert.equal(e.event, 'slack.command');
    assert.deepEqual(e.payload, { command: '/deploy', text: 'main' });
    const check = JSON.stringify({ token: 't', challenge: 'readme-challenge-1', type: 'url_verification' });
    const v = await h.post('/webhooks/slack', check, { ...signed(check), 'content-type': 'application/json' });
    assert.equal(v.status, 200, v.text);
    assert.deepEqual(v.body, { challenge: 'readme-challenge-1' });
  });

  it('the 202\'s links.event answers on the admin listener with the admin token, not on the public one', async () => {
    const w = json(['webhooks', 'create', 'ci']);
    const r = await h.post('/webhooks/ci', { event: 'build.done', ok: true }, { 'x-webhook-token': w.token });
    assert.equal(r.status, 202);
    assert.equal(r.body.links.event, `/api/events/${r.body.eventId}`);
    const ok = await h.api('GET', r.body.links.event);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.id, r.body.eventId);
    assert.equal((await h.api('GET', r.body.links.event, undefined, { token: null })).status, 401);
    assert.equal((await request(h.pub + r.body.links.event, { method: 'GET' })).status, 404);
  });

  it('a local receiver needs --allow-targets; it verifies deliveries with standardwebhooks and with X-Webhook-Signature', async () => {
    const plain = await new Hookd().start();
    try {
      const refused = await plain.api('POST', '/api/subscriptions', { url: `${rx.url}/local`, events: ['*'] });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'target_not_allowed');
    } finally {
      await plain.stop();
      plain.cleanup();
    }
    const s = json(['subs', 'create', `${rx.url}/readme`, 'build.*']);
    json(['events', 'publish', 'build.done', '{"id":42,"ref":"main"}']);
    await poll(() => rx.to('/readme').length > 0, 10000, 'delivered');
    const d = rx.to('/readme')[0];
    // As the README shows it: the raw body and the request's headers.
    const event = new Webhook(s.secret).verify(d.body, d.headers);
    assert.equal(event.event, 'build.done');
    assert.equal(event.id, d.headers['webhook-id']);
    assert.throws(() => new Webhook(s.secret).verify(d.body.replace('main', 'evil'), d.headers));
    const want = createHmac('sha256', s.secret).update(d.body).digest();
    const got = Buffer.from(d.headers['x-webhook-signature'], 'hex');
    assert.ok(got.length === want.length && timingSafeEqual(got, want));
  });
});
