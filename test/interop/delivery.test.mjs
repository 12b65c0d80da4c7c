// Interop: the official Standard Webhooks and Svix libraries verify what
// hookd sends (and refuse a tampered copy); during a secret rotation
// both the old and the new secret verify.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { Hookd } from '../lib/hookd.mjs';
import { Receiver } from '../lib/receiver.mjs';

describe('interop: libraries verify what hookd delivers', () => {
  let h, rx;
  before(async () => {
    rx = await new Receiver().start();
    h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
  });
  after(async () => { await h.stop(); h.cleanup(); await rx.stop(); });

  const headersOf = (r) => ({ 'webhook-id': r.headers['webhook-id'], 'webhook-timestamp': r.headers['webhook-timestamp'], 'webhook-signature': r.headers['webhook-signature'] });

  it('standardwebhooks and svix verify a delivery, and refuse a tampered one', async () => {
    const s = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/std`, events: ['i.*'] })).body;
    await h.api('POST', '/api/events', { event: 'i.one', payload: { amount: 42, note: 'ünïcødé' } });
    await rx.until(() => rx.to('/std').length === 1, 10000, 'the delivery');
    const r = rx.to('/std')[0];
    const std = new StandardWebhook(s.secret);
    const got = std.verify(r.body, headersOf(r));
    assert.equal(got.payload.amount, 42);
    assert.throws(() => std.verify(r.body.replace('42', '43'), headersOf(r)));
    const svix = new SvixWebhook(s.secret);
    assert.doesNotThrow(() => svix.verify(r.body, headersOf(r)));
    assert.throws(() => svix.verify(`${r.body} `, headersOf(r)));
  });

  it('a raw (non-whsec_) secret verifies in the libraries\' raw form', async () => {
    const s = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/raw`, events: ['raw.*'], secret: 'provider-given-secret' })).body;
    await h.api('POST', '/api/events', { event: 'raw.one', payload: {} });
    await rx.until(() => rx.to('/raw').length === 1, 10000, 'the delivery');
    const r = rx.to('/raw')[0];
    const std = new StandardWebhook(Buffer.from('provider-given-secret'), { format: 'raw' });
    assert.equal(std.verify(r.body, headersOf(r)).event, 'raw.one');
    assert.ok(s.id);
  });

  it('during a rotation both secrets verify', async () => {
    const s = (await h.api('POST', '/api/subscriptions', { url: `${rx.url}/rot`, events: ['rot.*'] })).body;
    const rot = (await h.api('POST', `/api/subscriptions/${s.id}/rotate-secret`)).body;
    await h.api('POST', '/api/events', { event: 'rot.one', payload: { x: 1 } });
    await rx.until(() => rx.to('/rot').length === 1, 10000, 'the delivery');
    const r = rx.to('/rot')[0];
    assert.equal(r.headers['webhook-signature'].split(' ').length, 2);
    assert.equal(new StandardWebhook(s.secret).verify(r.body, headersOf(r)).event, 'rot.one');
    assert.equal(new StandardWebhook(rot.secret).verify(r.body, headersOf(r)).event, 'rot.one');
    assert.doesNotThrow(() => new SvixWebhook(rot.secret).verify(r.body, headersOf(r)));
    assert.throws(() => new StandardWebhook('whsec_' + Buffer.alloc(32, 1).toString('base64')).verify(r.body, headersOf(r)));
  });
});
