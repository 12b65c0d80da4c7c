// Interop: the providers' own libraries (pinned in test/package.json) sign
// requests; hookd must accept them and refuse tampered copies. Slack has
// no official Node signer, so its documented algorithm is used.
// The shared vectors of proto/vectors/signatures.json are checked against
// these libraries too, so the C tests and the real world agree.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import Stripe from 'stripe';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { Hookd } from '../lib/hookd.mjs';

const stripe = new Stripe('sk_test_interop');

function assertCode(res, status, code) {
  assert.equal(res.status, status, res.text);
  if (code) assert.equal(res.body.error.code, code);
}

describe('interop: provider libraries sign, hookd verifies', () => {
  let h;
  const hooks = {};
  before(async () => {
    h = await new Hookd().start();
    const mk = async (name, scheme, secret) => {
      const r = await h.api('POST', '/api/webhooks', { name, auth: 'signature', signature: secret ? { scheme, secret } : { scheme } });
      assert.equal(r.status, 201, r.text);
      hooks[name] = r.body;
    };
    await mk('github', 'github', 'It\'s a Secret to Everybody');
    await mk('stripe', 'stripe', 'whsec_test_secret_from_stripe_dashboard');
    await mk('standard', 'standard');
    await mk('svix', 'standard', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    await mk('slack', 'slack', '8f742231b10e8888abcd99yyyzzz85a5');
  });
  after(async () => { await h.stop(); h.cleanup(); });

  it('GitHub: @octokit/webhooks-methods', async () => {
    const body = JSON.stringify({ action: 'opened', number: 1, zen: 'Keep it logically awesome. ✓' });
    const sig = await octokitSign(hooks.github.secret, body);
    const headers = { 'x-hub-signature-256': sig, 'x-github-event': 'pull_request', 'x-github-delivery': `d-${Date.now()}` };
    const ok = await h.post('/webhooks/github', body, headers);
    assertCode(ok, 202);
    const tampered = body.replace('opened', 'closed');
    assertCode(await h.post('/webhooks/github', tampered, { ...headers, 'x-github-delivery': 'other' }), 403, 'invalid_signature');
    assertCode(await h.post('/webhooks/github', body, { 'x-github-event': 'ping' }), 401, 'missing_signature');
  });

  it('Stripe: stripe.webhooks.generateTestHeaderString', async () => {
    const body = JSON.stringify({ id: `evt_${Date.now()}`, object: 'event', type: 'payment_intent.succeeded' });
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: hooks.stripe.secret });
    const ok = await h.post('/webhooks/stripe', body, { 'stripe-signature': header });
    assertCode(ok, 202);
    const e = await h.api('GET', `/api/events/${ok.body.eventId}`);
    assert.equal(e.body.event, 'payment_intent.succeeded');
    const tampered = body.replace('succeeded', 'failed');
    assertCode(await h.post('/webhooks/stripe', tampered, { 'stripe-signature': header }), 403, 'invalid_signature');
    const old = stripe.webhooks.generateTestHeaderString({ payload: body, secret: hooks.stripe.secret, timestamp: Math.floor(Date.now() / 1000) - 600 });
    assertCode(await h.post('/webhooks/stripe', body, { 'stripe-signature': old }), 403, 'timestamp_out_of_tolerance');
    const wrong = stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_other' });
    assertCode(await h.post('/webhooks/stripe', body, { 'stripe-signature': wrong }), 403, 'invalid_signature');
  });

  it('Standard Webhooks: standardwebhooks', async () => {
    const wh = new StandardWebhook(hooks.standard.secret);
    const body = JSON.stringify({ type: 'invoice.paid', data: { amount: 42 } });
    const id = `msg_${Date.now()}`;
    const now = new Date();
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': wh.sign(id, now, body) };
    const ok = await h.post('/webhooks/standard', body, headers);
    assertCode(ok, 202);
    // webhook-id is the idempotency key: the sender's retry is a duplicate.
    const again = await h.post('/webhooks/standard', body, headers);
    assert.equal(again.status, 200);
    assert.equal(again.body.eventId, ok.body.eventId);
    const id2 = `msg_${Date.now()}_2`;
    const h2 = { 'webhook-id': id2, 'webhook-timestamp': headers['webhook-timestamp'], 'webhook-signature': wh.sign(id2, now, body) };
    assertCode(await h.post('/webhooks/standard', body.replace('42', '43'), h2), 403, 'invalid_signature');
    const stale = new Date(Date.now() - 10 * 60 * 1000);
    const id3 = `msg_${Date.now()}_3`;
    assertCode(await h.post('/webhooks/standard', body, { 'webhook-id': id3, 'webhook-timestamp': String(Math.floor(stale / 1000)), 'webhook-signature': wh.sign(id3, stale, body) }), 403, 'timestamp_out_of_tolerance');
  });

  it('Svix: svix', async () => {
    const wh = new SvixWebhook(hooks.svix.secret);
    const body = JSON.stringify({ type: 'user.created', data: { id: 1 } });
    const id = `msg_svix_${Date.now()}`;
    const now = new Date();
    const sig = wh.sign(id, now, body);
    // Several signatures: one valid among others is enough.
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': `v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ${sig}` };
    assertCode(await h.post('/webhooks/svix', body, headers), 202);
    // Svix sends the same scheme under svix-* names; hookd takes both.
    const id4 = `${id}_svix`;
    const svixHeaders = { 'svix-id': id4, 'svix-timestamp': headers['webhook-timestamp'], 'svix-signature': wh.sign(id4, now, body) };
    assertCode(await h.post('/webhooks/svix', body, svixHeaders), 202);
    assert.doesNotThrow(() => new SvixWebhook(hooks.svix.secret).verify(body, svixHeaders));
    assertCode(await h.post('/webhooks/svix', body + ' ', { ...headers, 'webhook-id': `${id}x`, 'webhook-signature': wh.sign(`${id}y`, now, body) }), 403, 'invalid_signature');
  });

  it('Slack: v0 signature per its documentation', async () => {
    const body = 'payload=' + encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U1' } }));
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = 'v0=' + createHmac('sha256', hooks.slack.secret).update(`v0:${ts}:${body}`).digest('hex');
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': sig };
    const ok = await h.post('/webhooks/slack', body, headers);
    assertCode(ok, 202);
    assert.equal((await h.api('GET', `/api/events/${ok.body.eventId}`)).body.event, 'block_actions');
    assertCode(await h.post('/webhooks/slack', body + 'x', headers), 403, 'invalid_signature');
  });
});

describe('interop: the shared vectors agree with the libraries', () => {
  const vectors = JSON.parse(readFileSync(new URL('../../proto/vectors/signatures.json', import.meta.url), 'utf8'));
  const ok = vectors.filter((v) => v.expect === 'ok');

  it('has valid vectors for every scheme', () => {
    for (const s of ['hex', 'github', 'standard', 'stripe', 'slack']) {
      assert.ok(ok.some((v) => v.scheme === s), s);
    }
  });

  it('every valid github vector verifies with @octokit/webhooks-methods', async () => {
    for (const v of ok.filter((x) => x.scheme === 'github')) {
      const hdr = Object.entries(v.headers).find(([k]) => k.toLowerCase() === 'x-hub-signature-256')[1];
      assert.equal(await octokitVerify(v.secret, v.body, hdr), true, v.name);
    }
  });

  it('every valid standard vector verifies with standardwebhooks', () => {
    for (const v of ok.filter((x) => x.scheme === 'standard' && x.secret.startsWith('whsec_'))) {
      const hs = Object.fromEntries(Object.entries(v.headers).map(([k, x]) => [k.toLowerCase().replace(/^svix-/, 'webhook-'), x]));
      const wh = new StandardWebhook(v.secret);
      // The library checks the timestamp against its own clock; sign anew
      // at the vector's time and compare with the vector's signature.
      const mine = wh.sign(hs['webhook-id'], new Date(Number(hs['webhook-timestamp']) * 1000), v.body);
      assert.ok(hs['webhook-signature'].split(' ').includes(mine), v.name);
    }
  });

  it('every valid stripe vector matches stripe\'s signer', () => {
    for (const v of ok.filter((x) => x.scheme === 'stripe')) {
      const hdr = Object.entries(v.headers).find(([k]) => k.toLowerCase() === 'stripe-signature')[1];
      const t = Number(/t=(\d+)/.exec(hdr)[1]);
      const mine = stripe.webhooks.generateTestHeaderString({ payload: v.body, secret: v.secret, timestamp: t });
      const sig = /v1=([0-9a-f]+)/.exec(mine)[1];
      assert.ok(hdr.includes(`v1=${sig}`), v.name);
    }
  });
});
