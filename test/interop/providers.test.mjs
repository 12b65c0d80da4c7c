// Interop: every provider preset of proto/http.md (provider: NAME), driven by
// the providers' own libraries where they exist on npm (pinned in
// test/package.json): @octokit/webhooks with real payloads from
// @octokit/webhooks-examples, stripe, @slack/bolt's verifySlackRequest,
// @shopify/shopify-api's webhooks.validate, standardwebhooks; Zoom, Meta,
// Dropbox and X by their documented algorithms (node:crypto here,
// independently of hookd). Each provider: accepted with the preset's
// event type, tampered refused, a redelivery recognised (where the
// provider has a delivery id), the handshake answered and nothing stored
// for it. The vectors of proto/vectors/providers.json are checked against
// the same libraries and algorithms.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhooks } from '@octokit/webhooks';
import Stripe from 'stripe';
import { verifySlackRequest } from '@slack/bolt';
import '@shopify/shopify-api/adapters/node';
import { shopifyApi, ApiVersion } from '@shopify/shopify-api';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Hookd, request } from '../lib/hookd.mjs';
import { poll } from '../lib/receiver.mjs';

const stripe = new Stripe('sk_test_providers');
const examples = JSON.parse(readFileSync(new URL('../node_modules/@octokit/webhooks-examples/api.github.com/index.json', import.meta.url), 'utf8'));
const example = (name, i = 0) => examples.find((e) => e.name === name).examples[i];
const vectors = JSON.parse(readFileSync(new URL('../../proto/vectors/providers.json', import.meta.url), 'utf8'));

const SECRETS = {
  github: 'gh-interop-secret',
  gitlab: 'glpat-interop-token-0123',
  stripe: 'whsec_test_secret_from_stripe_dashboard',
  slack: '8f742231b10e8888abcd99yyyzzz85a5',
  shopify: 'shpss_0123456789abcdef0123456789abcdef',
  zoom: 'zoomSecretToken0123456789',
  meta: 'metaAppSecret0123456789abcdef',
  dropbox: 'dropboxAppSecret01',
  x: 'xConsumerSecret0123456789abcdefghij',
};
const VERIFY_TOKEN = 'meta-verify-token-42';
const now = () => String(Math.floor(Date.now() / 1000));
const hmac = (key, msg, enc = 'hex') => createHmac('sha256', key).update(msg).digest(enc);

const shopify = shopifyApi({
  apiKey: 'interop', apiSecretKey: SECRETS.shopify, scopes: [], hostName: 'localhost',
  apiVersion: ApiVersion.October24, isEmbeddedApp: false, logger: { level: 0, log: () => {} },
});

function assertCode(res, status, code) {
  assert.equal(res.status, status, res.text);
  if (code) assert.equal(res.body.error.code, code);
}

describe('interop: provider presets', () => {
  let h;
  const hooks = {};
  const eventOf = async (id) => (await h.api('GET', `/api/events/${id}`)).body;
  const count = async (name) => (await h.api('GET', `/api/events?source=${name}&limit=1000`)).body.data.length;
  const get = (path) => request(h.pub + path, { method: 'GET' });
  // Log entries are written after the answer, with the next commit.
  const logged = (id, pred) => poll(async () => (await h.api('GET', `/api/webhooks/${id}/logs`)).body.data.some(pred), 5000, 'a log entry');

  before(async () => {
    h = await new Hookd().start();
    for (const p of ['github', 'gitlab', 'stripe', 'slack', 'shopify', 'standard', 'zoom', 'meta', 'dropbox', 'x']) {
      const body = { name: p, provider: p };
      if (SECRETS[p]) body.signature = { secret: SECRETS[p] };
      if (p === 'meta') body.verifyToken = VERIFY_TOKEN;
      const r = await h.api('POST', '/api/webhooks', body);
      assert.equal(r.status, 201, r.text);
      hooks[p] = r.body;
    }
  });
  after(async () => { await h.stop(); h.cleanup(); });

  it('a preset shows in the webhook: provider, auth signature, its scheme, eventPrefix PROVIDER.', () => {
    const scheme = { github: 'github', gitlab: 'gitlab', stripe: 'stripe', slack: 'slack', shopify: 'shopify', standard: 'standard', zoom: 'zoom', meta: 'meta', dropbox: 'dropbox', x: 'x' };
    for (const [p, w] of Object.entries(hooks)) {
      assert.equal(w.provider, p);
      assert.equal(w.auth, 'signature', p);
      assert.equal(w.signature.scheme, scheme[p], p);
      assert.equal(w.eventPrefix, `${p}.`, p);
      assert.equal(w.verifyToken, p === 'meta' ? VERIFY_TOKEN : null, p);
    }
    // The generated secret of a provider that lets you choose one.
    assert.match(hooks.standard.secret, /^whsec_/);
  });

  it('GitHub: @octokit/webhooks signs real payloads of @octokit/webhooks-examples', async () => {
    const wh = new Webhooks({ secret: SECRETS.github });
    for (const [name, i] of [['push', 0], ['issues', 0], ['pull_request', 1], ['ping', 0]]) {
      const body = JSON.stringify(example(name, i));
      const sig = await wh.sign(body);
      assert.equal(await wh.verify(body, sig), true);
      const headers = { 'x-hub-signature-256': sig, 'x-github-event': name, 'x-github-delivery': `gh-${name}-${i}` };
      const r = await h.post('/webhooks/github', body, headers);
      assertCode(r, 202);
      assert.equal((await eventOf(r.body.eventId)).event, `github.${name}`);
      const again = await h.post('/webhooks/github', body, headers);
      assert.deepEqual([again.status, again.body.status, again.body.eventId], [200, 'duplicate', r.body.eventId]);
    }
    const body = JSON.stringify(example('push', 1));
    const headers = { 'x-hub-signature-256': await wh.sign(body), 'x-github-event': 'push', 'x-github-delivery': 'gh-t' };
    assertCode(await h.post('/webhooks/github', body.replace('"', ' "'), headers), 403, 'invalid_signature');
    assertCode(await h.post('/webhooks/github', body, { 'x-github-event': 'push' }), 401, 'missing_signature');
  });

  it('GitLab: X-Gitlab-Token is the secret, X-Gitlab-Event the type, X-Gitlab-Event-UUID the key', async () => {
    const body = JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main', project: { id: 15 } });
    const headers = { 'x-gitlab-token': SECRETS.gitlab, 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': '6a2bd5cd-2f0b-4b2f-9f6e-2b7c3c3a1d11' };
    const r = await h.post('/webhooks/gitlab', body, headers);
    assertCode(r, 202);
    assert.equal((await eventOf(r.body.eventId)).event, 'gitlab.push_hook');
    const again = await h.post('/webhooks/gitlab', body, headers);
    assert.deepEqual([again.status, again.body.eventId], [200, r.body.eventId]);
    assertCode(await h.post('/webhooks/gitlab', body, { ...headers, 'x-gitlab-token': `${SECRETS.gitlab}x` }), 403, 'invalid_signature');
    assertCode(await h.post('/webhooks/gitlab', body, { 'x-gitlab-event': 'Push Hook' }), 401, 'missing_signature');
  });

  it('Stripe: stripe.webhooks.generateTestHeaderString; body type, body id', async () => {
    const body = JSON.stringify({ id: 'evt_1ProvidersInterop', object: 'event', type: 'invoice.paid', data: { object: { amount_paid: 4200 } } });
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRETS.stripe });
    const r = await h.post('/webhooks/stripe', body, { 'stripe-signature': header });
    assertCode(r, 202);
    assert.equal((await eventOf(r.body.eventId)).event, 'stripe.invoice.paid');
    const again = await h.post('/webhooks/stripe', body, { 'stripe-signature': header });
    assert.deepEqual([again.status, again.body.eventId], [200, r.body.eventId]);
    assertCode(await h.post('/webhooks/stripe', body.replace('4200', '4201'), { 'stripe-signature': header }), 403, 'invalid_signature');
  });

  const slackHeaders = (body, secret = SECRETS.slack, ctype = 'application/json') => {
    const ts = now();
    const headers = { 'content-type': ctype, 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${hmac(secret, `v0:${ts}:${body}`)}` };
    // Slack's own verifier agrees with the signature hookd is sent.
    if (secret === SECRETS.slack)
      verifySlackRequest({ signingSecret: SECRETS.slack, body, headers: { 'x-slack-signature': headers['x-slack-signature'], 'x-slack-request-timestamp': Number(ts) } });
    return headers;
  };

  it('Slack: event_callback typed by event.type, deduped on event_id; checked by @slack/bolt', async () => {
    const body = JSON.stringify({ token: 'x', team_id: 'T061EG9R6', type: 'event_callback', event_id: 'Ev0PV52K21', event_time: 1747862818,
      event: { type: 'app_mention', user: 'U061F7AUR', text: '<@U0LAN0Z89> is it everything a river should be?', channel: 'C0LAN2Q65' } });
    const r = await h.post('/webhooks/slack', body, slackHeaders(body));
    assertCode(r, 202);
    assert.equal((await eventOf(r.body.eventId)).event, 'slack.app_mention');
    const again = await h.post('/webhooks/slack', body, slackHeaders(body));
    assert.deepEqual([again.status, again.body.eventId], [200, r.body.eventId]);
    assertCode(await h.post('/webhooks/slack', body.replace('river', 'rivet'), { ...slackHeaders(body) }), 403, 'invalid_signature');
    assert.throws(() => verifySlackRequest({ signingSecret: 'wrong', body, headers: { 'x-slack-signature': slackHeaders(body)['x-slack-signature'], 'x-slack-request-timestamp': Number(now()) } }));
    // Other types by the body's type.
    const rl = JSON.stringify({ type: 'app_rate_limited', team_id: 'T1', minute_rate_limited: 1518467820 });
    assert.equal((await eventOf((await h.post('/webhooks/slack', rl, slackHeaders(rl))).body.eventId)).event, 'slack.app_rate_limited');
  });

  it('Slack: the signed url_verification answers {"challenge"} and stores nothing; unsigned or forged it is refused', async () => {
    const before = await count('slack');
    const challenge = '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P';
    const body = JSON.stringify({ token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge, type: 'url_verification' });
    const r = await h.post('/webhooks/slack', body, slackHeaders(body));
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(r.body, { challenge });
    assertCode(await h.post('/webhooks/slack', body, { 'content-type': 'application/json' }), 401, 'missing_signature');
    const forged = await h.post('/webhooks/slack', body, slackHeaders(body, 'not-the-secret'));
    assertCode(forged, 403, 'invalid_signature');
    assert.ok(!forged.text.includes(challenge));
    assert.equal(await count('slack'), before);
    await logged(hooks.slack.id, (l) => l.status === 200 && l.error === 'handshake' && l.eventId === null);
  });

  it('Slack: a slash command (a form without payload) is the event slack.command, its fields a JSON object', async () => {
    const form = 'token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&channel_id=C2147483705&user_id=U2147483697'
      + '&command=%2Fweather&text=94070+and+more&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234%2F5678&trigger_id=13345224609.738474920.8088930838d88f008e0&x=1&x=2';
    const r = await h.post('/webhooks/slack', form, slackHeaders(form, SECRETS.slack, 'application/x-www-form-urlencoded'));
    assertCode(r, 202);
    const e = await eventOf(r.body.eventId);
    assert.equal(e.event, 'slack.command');
    assert.equal(e.payload.command, '/weather');
    assert.equal(e.payload.text, '94070 and more');
    assert.equal(e.payload.response_url, 'https://hooks.slack.com/commands/1234/5678');
    assert.deepEqual(e.payload.x, ['1', '2']);
    assertCode(await h.post('/webhooks/slack', `${form}&y=3`, slackHeaders(form, SECRETS.slack, 'application/x-www-form-urlencoded')), 403, 'invalid_signature');
    // Interactive payloads (payload=) keep working as before.
    const interactive = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', actions: [] }))}`;
    const i = await h.post('/webhooks/slack', interactive, slackHeaders(interactive, SECRETS.slack, 'application/x-www-form-urlencoded'));
    assert.equal((await eventOf(i.body.eventId)).event, 'slack.block_actions');
  });

  it('Shopify: X-Shopify-Hmac-Sha256 (checked by @shopify/shopify-api), X-Shopify-Topic, X-Shopify-Webhook-Id', async () => {
    // Shopify's ids are 64-bit: the raw text, not a JS number.
    const body = '{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00"}';
    const headers = {
      'x-shopify-hmac-sha256': hmac(SECRETS.shopify, body, 'base64'), 'x-shopify-topic': 'orders/create',
      'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', 'x-shopify-shop-domain': 'example.myshopify.com',
      'x-shopify-api-version': '2024-10', 'x-shopify-event-id': '98880550-7158-44d4-b7cd-2c97c8a091b5', 'x-shopify-triggered-at': new Date().toISOString(),
    };
    const v = await shopify.webhooks.validate({ rawBody: body, rawRequest: { headers, method: 'POST', url: '/webhooks/shopify' }, rawResponse: {} });
    assert.equal(v.valid, true, JSON.stringify(v));
    const r = await h.post('/webhooks/shopify', body, headers);
    assertCode(r, 202);
    const e = await eventOf(r.body.eventId);
    assert.equal(e.event, 'shopify.orders/create');
    assert.match((await h.api('GET', `/api/events/${r.body.eventId}`)).text, /"id":820982911946154508,/);
    const again = await h.post('/webhooks/shopify', body, headers);
    assert.deepEqual([again.status, again.body.eventId], [200, r.body.eventId]);
    const tampered = body.replace('403', '404');
    const bad = await shopify.webhooks.validate({ rawBody: tampered, rawRequest: { headers, method: 'POST', url: '/' }, rawResponse: {} });
    assert.equal(bad.valid, false);
    assertCode(await h.post('/webhooks/shopify', tampered, { ...headers, 'x-shopify-webhook-id': 'other' }), 403, 'invalid_signature');
  });

  it('Standard Webhooks: standardwebhooks; body type, webhook-id', async () => {
    const wh = new StandardWebhook(hooks.standard.secret);
    const body = JSON.stringify({ type: 'invoice.paid', data: { amount: 42 } });
    const id = 'msg_providers_1';
    const t = new Date();
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(t / 1000)), 'webhook-signature': wh.sign(id, t, body) };
    const r = await h.post('/webhooks/standard', body, headers);
    assertCode(r, 202);
    assert.equal((await eventOf(r.body.eventId)).event, 'standard.invoice.paid');
    assert.equal((await h.post('/webhooks/standard', body, headers)).body.eventId, r.body.eventId);
    assertCode(await h.post('/webhooks/standard', body.replace('42', '43'), { ...headers, 'webhook-id': 'msg_x' }), 403, 'invalid_signature');
  });

  const zoomHeaders = (body, secret = SECRETS.zoom) => {
    const ts = now();
    return { 'x-zm-request-timestamp': ts, 'x-zm-signature': `v0=${hmac(secret, `v0:${ts}:${body}`)}` };
  };

  it('Zoom: x-zm-signature over v0:ts:body (Zoom\'s documented algorithm); body event', async () => {
    const body = JSON.stringify({ event: 'meeting.started', event_ts: 1747862818000, payload: { account_id: 'AAAA', object: { id: '85236154' } } });
    const r = await h.post('/webhooks/zoom', body, zoomHeaders(body));
    assertCode(r, 202);
    assert.equal((await eventOf(r.body.eventId)).event, 'zoom.meeting.started');
    assertCode(await h.post('/webhooks/zoom', body.replace('started', 'ended'), zoomHeaders(body)), 403, 'invalid_signature');
    const old = { ...zoomHeaders(body), 'x-zm-request-timestamp': String(Number(now()) - 600) };
    old['x-zm-signature'] = `v0=${hmac(SECRETS.zoom, `v0:${old['x-zm-request-timestamp']}:${body}`)}`;
    assertCode(await h.post('/webhooks/zoom', body, old), 403, 'timestamp_out_of_tolerance');
    // Zoom names no delivery id (proto/http.md): a resend is a new event,
    // unless the sender adds Idempotency-Key.
    const again = await h.post('/webhooks/zoom', body, zoomHeaders(body));
    assertCode(again, 202);
    assert.notEqual(again.body.eventId, r.body.eventId);
    const k = await h.post('/webhooks/zoom', body, { ...zoomHeaders(body), 'idempotency-key': 'zk-1' });
    assert.equal((await h.post('/webhooks/zoom', body, { ...zoomHeaders(body), 'idempotency-key': 'zk-1' })).body.eventId, k.body.eventId);
  });

  it('Zoom: the signed endpoint.url_validation answers plainToken and encryptedToken, stores nothing', async () => {
    const before = await count('zoom');
    const plainToken = 'qgg8vlvZRS6UYooatFL8Aw';
    const body = JSON.stringify({ payload: { plainToken }, event_ts: 1654503849680, event: 'endpoint.url_validation' });
    const r = await h.post('/webhooks/zoom', body, zoomHeaders(body));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { plainToken, encryptedToken: hmac(SECRETS.zoom, plainToken) });
    assertCode(await h.post('/webhooks/zoom', body, zoomHeaders(body, 'wrong')), 403, 'invalid_signature');
    assertCode(await h.post('/webhooks/zoom', body), 401, 'missing_signature');
    assert.equal(await count('zoom'), before);
  });

  it('Meta: GET hub.challenge with the verifyToken; X-Hub-Signature-256 with the app secret; body object', async () => {
    const ok = await get(`/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${VERIFY_TOKEN}`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.text, '1158201444');
    assert.match(ok.headers.get('content-type'), /^text\/plain/);
    assertCode(await get('/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong'), 403);
    assertCode(await get('/webhooks/meta?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=' + VERIFY_TOKEN), 403);
    const body = JSON.stringify({ object: 'page', entry: [{ id: '1234567890', time: 1747862818, changes: [{ field: 'feed', value: { item: 'post' } }] }] });
    const headers = { 'x-hub-signature-256': `sha256=${hmac(SECRETS.meta, body)}` };
    const r = await h.post('/webhooks/meta', body, headers);
    assertCode(r, 202);
    assert.equal((await eventOf(r.body.eventId)).event, 'meta.page');
    assertCode(await h.post('/webhooks/meta', body.replace('feed', 'mention'), headers), 403, 'invalid_signature');
  });

  it('Dropbox: GET ?challenge= echoed as text/plain with nosniff; X-Dropbox-Signature; dropbox.change', async () => {
    const c = await get('/webhooks/dropbox?challenge=Ge4J7zbkOoRqYI0S6ZB0aw');
    assert.equal(c.status, 200, c.text);
    assert.equal(c.text, 'Ge4J7zbkOoRqYI0S6ZB0aw');
    assert.match(c.headers.get('content-type'), /^text\/plain/);
    assert.equal(c.headers.get('x-content-type-options'), 'nosniff');
    const body = JSON.stringify({ list_folder: { accounts: ['dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc'] }, delta: { users: [12345678] } });
    const r = await h.post('/webhooks/dropbox', body, { 'x-dropbox-signature': hmac(SECRETS.dropbox, body) });
    assertCode(r, 202);
    assert.equal((await eventOf(r.body.eventId)).event, 'dropbox.change');
    assertCode(await h.post('/webhooks/dropbox', `${body} `, { 'x-dropbox-signature': hmac(SECRETS.dropbox, body) }), 403, 'invalid_signature');
  });

  it('X: GET ?crc_token= answers response_token sha256=base64(HMAC); the first *_events key is the type', async () => {
    const token = 'c2FtcGxlIGNyYyB0b2tlbg';
    const c = await get(`/webhooks/x?crc_token=${token}`);
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(c.body, { response_token: `sha256=${hmac(SECRETS.x, token, 'base64')}` });
    const body = JSON.stringify({ for_user_id: '2244994945', tweet_create_events: [{ id_str: '1876543210987654321', text: 'hello' }] });
    const headers = { 'x-twitter-webhooks-signature': `sha256=${hmac(SECRETS.x, body, 'base64')}` };
    const r = await h.post('/webhooks/x', body, headers);
    assertCode(r, 202);
    assert.equal((await eventOf(r.body.eventId)).event, 'x.tweet_create_events');
    assertCode(await h.post('/webhooks/x', body.replace('hello', 'hellp'), headers), 403, 'invalid_signature');
  });

  it('X: the CRC is no signing oracle: a crc_token that would pass as a body is refused', async () => {
    // X signs bodies with the same HMAC under the same secret, so the
    // answer to ?crc_token=B would be a valid signature of the body B.
    for (const b of ['{"tweet_create_events":[]}', '123', '"x"', '[1]', 'true']) {
      const c = await get(`/webhooks/x?crc_token=${encodeURIComponent(b)}`);
      assertCode(c, 400, 'bad_request');
      assert.ok(!c.text.includes(hmac(SECRETS.x, b, 'base64')));
      const forged = await h.post('/webhooks/x', b, { 'x-twitter-webhooks-signature': `sha256=${hmac(SECRETS.x, b, 'base64')}` });
      assert.equal(forged.status, 202); // what the refusal prevents an anonymous client from making
    }
    // Forms would make any token a body: an X webhook takes none.
    const r = await h.api('POST', '/api/webhooks', { name: 'x-forms', provider: 'x', signature: { secret: 's' }, acceptForms: true });
    assertCode(r, 400, 'bad_request');
    assert.match(r.body.error.message, /acceptForms/);
  });

  it('a GET is answered only as a handshake: otherwise 405 with Allow', async () => {
    for (const path of ['/webhooks/github', '/webhooks/meta', '/webhooks/dropbox?other=1', '/webhooks/x', '/webhooks/slack?challenge=1', `/hooks/${hooks.stripe.token}?challenge=1`]) {
      const r = await get(path);
      assertCode(r, 405, 'method_not_allowed');
      assert.match(r.headers.get('allow'), /POST/);
    }
    // A GET handshake is logged like any request.
    await logged(hooks.dropbox.id, (l) => l.status === 200 && l.error === 'handshake');
  });

  it('a disabled webhook answers no handshake', async () => {
    const w = await h.api('POST', '/api/webhooks', { name: 'dbx-off', provider: 'dropbox', signature: { secret: 's' }, enabled: false });
    assert.equal(w.status, 201, w.text);
    assertCode(await get('/webhooks/dbx-off?challenge=abc'), 403, 'webhook_disabled');
  });
});

describe('interop: providers.json agrees with the libraries and documented algorithms', () => {
  const ok = vectors.filter((v) => v.expect === 'ok');
  const hdr = (v, name) => Object.entries(v.headers).find(([k]) => k.toLowerCase() === name)?.[1];

  it('has valid and invalid vectors for every new scheme', () => {
    for (const s of ['gitlab', 'shopify', 'zoom', 'meta', 'dropbox', 'x']) {
      assert.ok(ok.some((v) => v.scheme === s), s);
      assert.ok(vectors.some((v) => v.scheme === s && v.expect !== 'ok'), s);
    }
  });

  it('shopify vectors validate with @shopify/shopify-api', async () => {
    for (const v of ok.filter((x) => x.scheme === 'shopify')) {
      const api = shopifyApi({ apiKey: 'k', apiSecretKey: v.secret, scopes: [], hostName: 'localhost', apiVersion: ApiVersion.October24, isEmbeddedApp: false, logger: { level: 0, log: () => {} } });
      const headers = { 'x-shopify-hmac-sha256': hdr(v, 'x-shopify-hmac-sha256'), 'x-shopify-topic': 'orders/create', 'x-shopify-api-version': '2024-10', 'x-shopify-shop-domain': 'a.myshopify.com', 'x-shopify-webhook-id': 'w', 'x-shopify-event-id': 'e', 'x-shopify-triggered-at': new Date().toISOString() };
      const r = await api.webhooks.validate({ rawBody: v.body, rawRequest: { headers, method: 'POST', url: '/' }, rawResponse: {} });
      assert.equal(r.valid, true, v.name);
    }
  });

  it('meta vectors verify with @octokit/webhooks (the same header and algorithm as GitHub)', async () => {
    for (const v of ok.filter((x) => x.scheme === 'meta'))
      assert.equal(await new Webhooks({ secret: v.secret }).verify(v.body, hdr(v, 'x-hub-signature-256')), true, v.name);
  });

  it('zoom, dropbox, x and gitlab vectors match the documented algorithms', () => {
    for (const v of ok) {
      if (v.scheme === 'zoom')
        assert.equal(hdr(v, 'x-zm-signature'), `v0=${hmac(v.secret, `v0:${hdr(v, 'x-zm-request-timestamp')}:${v.body}`)}`, v.name);
      else if (v.scheme === 'dropbox')
        assert.equal(hdr(v, 'x-dropbox-signature').toLowerCase(), hmac(v.secret, v.body), v.name);
      else if (v.scheme === 'x')
        assert.equal(hdr(v, 'x-twitter-webhooks-signature'), `sha256=${hmac(v.secret, v.body, 'base64')}`, v.name);
      else if (v.scheme === 'gitlab')
        assert.equal(hdr(v, 'x-gitlab-token'), v.secret, v.name);
    }
  });
});
