// The request bodies of /api/webhooks and /api/subscriptions (proto/admin.md):
// for each field, what is refused and the message it is refused with,
// at create, PATCH and PUT; the edges that are accepted. The checks are
// rows of a table (server/check.c); this file pins what the API answers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Hookd } from '../lib/hookd.mjs';

const RULE = '1-200 visible ASCII characters (0x21-0x7E)';
const SLUG = 'name must be a slug of 1-64 characters [a-z0-9._-], starting with a letter or digit, not with wh_';
const SCHEMES = 'signature.scheme must be hex, github, standard, stripe, slack, gitlab, shopify, zoom, meta, dropbox or x';
const ETYPE = 'eventType must be {"header":…}, {"json":…} or {"fixed":…} with a non-empty string';
const PREFIX = 'eventPrefix must be a string of at most 64 visible ASCII characters (0x21-0x7E)';
const WRATE = 'rateLimit must be 0 (unlimited), a number of events per second from 0.001 to 1000000, or null for the default';
const MAXBODY = 'maxBody must be a number of bytes from 1 to 1073741824, or null for the default';
const TOL = 'signature.toleranceSeconds must be an integer from 1 to 2592000';
const EVENTS = 'events must be 1-100 patterns: a type, a prefix ending in *, or *';
const SRATE = 'rateLimit must be 0 (unlimited) or requests per second from 0.001 to 100000';
const HDR = (n) => `headers: ${n} is not allowed (a token name, a string value of visible ASCII, space and tab; hookd's own headers are reserved)`;
const SECRET = 'secret must be 1-200 characters; a whsec_ secret must be valid base64 after the prefix';

// [body, message] refused with 400 bad_request by a webhook create.
const WEBHOOK_CREATE = [
  [{}, 'name is required'],
  [{ name: 'Bad' }, SLUG],
  [{ name: 5 }, SLUG],
  [{ name: 'wh_x' }, SLUG],
  [{ name: 'a'.repeat(65) }, SLUG],
  [{ name: 'a', extra: 1 }, 'unknown field extra'],
  [{ name: 'Bad', extra: 1 }, 'unknown field extra'],
  [{ name: 'Bad', auth: 'x' }, SLUG],
  [{ name: 'a', description: 5 }, 'description must be a string'],
  [{ name: 'a', description: 'd'.repeat(1025) }, 'description is too long'],
  [{ name: 'a', provider: 'nope' }, /^provider must be one of github gitlab stripe /],
  [{ name: 'a', provider: 'stripe' }, 'provider stripe hands out its own secret: set signature.secret to it'],
  [{ name: 'a', verifyToken: '' }, 'verifyToken must be a string of 1-200 characters, or null'],
  [{ name: 'a', verifyToken: 'v'.repeat(201) }, 'verifyToken must be a string of 1-200 characters, or null'],
  [{ name: 'a', acceptForms: 1 }, 'acceptForms must be true or false'],
  [{ name: 'a', auth: 'x' }, 'auth must be token, signature, token+signature or none'],
  [{ name: 'a', auth: null }, 'auth must be token, signature, token+signature or none'],
  [{ name: 'a', signature: [] }, 'signature must be an object'],
  [{ name: 'a', signature: null }, 'signature must be an object'],
  [{ name: 'a', signature: { foo: 1 } }, 'unknown field signature.foo'],
  [{ name: 'a', signature: { scheme: 'nope' } }, SCHEMES],
  [{ name: 'a', signature: { secret: '' } }, 'signature.secret must be a string of 1-200 characters'],
  [{ name: 'a', signature: { secret: 's'.repeat(201) } }, 'signature.secret must be a string of 1-200 characters'],
  [{ name: 'a', signature: { toleranceSeconds: 0 } }, TOL],
  [{ name: 'a', signature: { toleranceSeconds: 1.5 } }, TOL],
  [{ name: 'a', signature: { toleranceSeconds: 2592001 } }, TOL],
  [{ name: 'a', signature: { scheme: 'standard', secret: 'whsec_!!!' } },
    'under the standard scheme a whsec_ secret must be valid base64 after the prefix'],
  [{ name: 'a', eventType: {} }, ETYPE],
  [{ name: 'a', eventType: 'x' }, ETYPE],
  [{ name: 'a', eventType: { header: '' } }, ETYPE],
  [{ name: 'a', eventType: { header: 'X-A', json: '/a' } }, ETYPE],
  [{ name: 'a', eventType: { fixed: 't'.repeat(201) } }, ETYPE],
  [{ name: 'a', eventType: { other: 'x' } }, 'eventType must be header, json or fixed'],
  [{ name: 'a', eventType: { fixed: 'a b' } }, `eventType.fixed must be ${RULE}`],
  [{ name: 'a', eventType: { json: 'x' } }, 'eventType.json is not a valid JSON pointer'],
  [{ name: 'a', eventType: { header: 'a b' } }, 'eventType.header is not a valid header name'],
  [{ name: 'a', eventPrefix: 5 }, PREFIX],
  [{ name: 'a', eventPrefix: 'p'.repeat(65) }, PREFIX],
  [{ name: 'a', eventPrefix: 'a\x7f' }, PREFIX],
  [{ name: 'a', eventPrefix: 'a b' }, PREFIX],
  [{ name: 'a', rateLimit: -1 }, WRATE],
  [{ name: 'a', rateLimit: 1000001 }, WRATE],
  [{ name: 'a', rateLimit: 0.0001 }, WRATE],
  [{ name: 'a', rateLimit: '5' }, WRATE],
  [{ name: 'a', maxBody: 0 }, MAXBODY],
  [{ name: 'a', maxBody: 1.5 }, MAXBODY],
  [{ name: 'a', maxBody: 1073741825 }, MAXBODY],
  [{ name: 'a', enabled: 'yes' }, 'enabled must be true or false'],
];

// [body, check of the 201 answer] accepted at the edges.
const WEBHOOK_EDGES = [
  [{ rateLimit: 0.001, maxBody: 1073741824 }, (w) => assert.deepEqual([w.rateLimit, w.maxBody], [0.001, 1073741824])],
  [{ rateLimit: 0, maxBody: 1, signature: { toleranceSeconds: 2592000 } },
    (w) => assert.deepEqual([w.rateLimit, w.maxBody, w.signature.toleranceSeconds], [0, 1, 2592000])],
  // null is the flag's default (--rate 100, --max-body 1m).
  [{ rateLimit: null, maxBody: null, description: null, eventPrefix: '' },
    (w) => assert.deepEqual([w.rateLimit, w.maxBody, w.description, w.eventPrefix], [100, 1048576, null, null])],
  [{ eventPrefix: 'p'.repeat(64), description: 'd'.repeat(1024) }, (w) => assert.equal(w.eventPrefix.length, 64)],
  [{ eventType: { fixed: 't'.repeat(200) } }, (w) => assert.deepEqual(w.eventType, { fixed: 't'.repeat(200) })],
  [{ eventType: null, auth: 'none', enabled: false }, (w) => assert.deepEqual([w.auth, w.enabled], ['none', false])],
  [{ provider: 'stripe', signature: { secret: 'whsec_abc' } }, (w) => assert.equal(w.provider, 'stripe')],
];

const URL = 'http://127.0.0.1:9/v';

// [body, message] refused by a subscription create (400 bad_request).
const SUB_CREATE = [
  [{}, 'url is required'],
  [{ url: 5, events: ['a'] }, 'url must be a string'],
  [{ url: URL }, 'events is required'],
  [{ url: URL, events: ['a'], extra: 1 }, 'unknown field extra'],
  [{ url: URL, events: [] }, EVENTS],
  [{ url: URL, events: [''] }, EVENTS],
  [{ url: URL, events: [5] }, EVENTS],
  [{ url: URL, events: 'a' }, EVENTS],
  [{ url: URL, events: ['t'.repeat(201)] }, EVENTS],
  [{ url: URL, events: Array.from({ length: 101 }, (_, i) => `e${i}`) }, EVENTS],
  [{ url: URL, events: ['a'], sources: 'x' }, 'sources must be an array of at most 100 webhook ids or names'],
  [{ url: URL, events: ['a'], sources: ['nope'] }, 'sources: no webhook nope'],
  [{ url: URL, events: ['a'], sources: ['wh_01J0000000000000000000000X'] }, 'sources: no webhook wh_01J0000000000000000000000X'],
  [{ url: URL, events: ['a'], headers: [] }, 'headers must be an object'],
  [{ url: URL, events: ['a'], headers: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`x-h${i}`, 'v'])) }, 'at most 32 headers'],
  [{ url: URL, events: ['a'], headers: { Host: 'x' } }, HDR('Host')],
  [{ url: URL, events: ['a'], headers: { 'X-A': 5 } }, HDR('X-A')],
  [{ url: URL, events: ['a'], headers: { 'X-A': 'a\r\nb' } }, HDR('X-A')],
  [{ url: URL, events: ['a'], headers: { 'X-A': '[redacted]' } }, 'headers: X-A has no stored value to keep'],
  [{ url: URL, events: ['a'], template: 5 }, 'template must be a string of at most 65536 bytes'],
  [{ url: URL, events: ['a'], template: 'x'.repeat(65537) }, 'template must be a string of at most 65536 bytes'],
  [{ url: URL, events: ['a'], template: 'not json' }, 'template does not render to valid JSON'],
  [{ url: URL, events: ['a'], template: '{"a":"${nope}"}' }, /^template: unknown or malformed variable at /],
  [{ url: URL, events: ['a'], description: 'd'.repeat(1025) }, 'description must be a string of at most 1024 characters'],
  [{ url: URL, events: ['a'], description: 5 }, 'description must be a string of at most 1024 characters'],
  [{ url: URL, events: ['a'], active: 1 }, 'active must be true or false'],
  [{ url: URL, events: ['a'], timeoutMs: 99 }, 'timeoutMs must be an integer from 100 to 120000'],
  [{ url: URL, events: ['a'], timeoutMs: 120001 }, 'timeoutMs must be an integer from 100 to 120000'],
  [{ url: URL, events: ['a'], timeoutMs: 100.5 }, 'timeoutMs must be an integer from 100 to 120000'],
  [{ url: URL, events: ['a'], maxInFlight: 0 }, 'maxInFlight must be an integer from 1 to 1000'],
  [{ url: URL, events: ['a'], maxInFlight: 1001 }, 'maxInFlight must be an integer from 1 to 1000'],
  [{ url: URL, events: ['a'], rateLimit: -1 }, SRATE],
  [{ url: URL, events: ['a'], rateLimit: 100001 }, SRATE],
  [{ url: URL, events: ['a'], rateLimit: 0.0001 }, SRATE],
  [{ url: URL, events: ['a'], rateLimit: null }, SRATE],
  [{ url: URL, events: ['a'], retry: 5 }, 'retry must be an object'],
  [{ url: URL, events: ['a'], retry: { x: 1 } }, 'unknown field retry.x'],
  [{ url: URL, events: ['a'], retry: { maxAttempts: 0 } }, 'retry.maxAttempts must be an integer from 1 to 100'],
  [{ url: URL, events: ['a'], retry: { maxAttempts: 101 } }, 'retry.maxAttempts must be an integer from 1 to 100'],
  [{ url: URL, events: ['a'], retry: { initialMs: 99 } }, 'retry.initialMs must be an integer from 100 to 86400000'],
  [{ url: URL, events: ['a'], retry: { maxMs: 604800001 } }, 'retry.maxMs must be an integer from 100 to 604800000 (7 days)'],
  [{ url: URL, events: ['a'], retry: { initialMs: 1000, maxMs: 500 } }, 'retry.maxMs must not be below retry.initialMs'],
  [{ url: URL, events: ['a'], retry: { initialMs: 86400000 } }, 'retry.maxMs must not be below retry.initialMs'],
  [{ url: URL, events: ['a'], ordered: 'x' }, 'ordered must be true or false'],
  [{ url: URL, events: ['a'], secret: '' }, SECRET],
  [{ url: URL, events: ['a'], secret: 5 }, SECRET],
  [{ url: URL, events: ['a'], secret: 's'.repeat(201) }, SECRET],
  [{ url: URL, events: ['a'], secret: 'whsec_!!' }, SECRET],
  [{ url: 'ftp://127.0.0.1/x', events: ['a'] }, 'url must be http or https'],
  [{ url: 'nope', events: ['a'] }, 'url is not a valid absolute URL'],
  [{ url: 'http://127.0.0.1/a b', events: ['a'] }, 'url must be visible ASCII (0x21-0x7E): percent-encode the rest'],
  [{ url: `http://127.0.0.1/${'a'.repeat(2048)}`, events: ['a'] }, 'url is too long'],
  [{ url: 'ftp://127.0.0.1/x', events: ['a'], timeoutMs: 1 }, 'timeoutMs must be an integer from 100 to 120000'],
];

function refused(r, message, code = 'bad_request', what = '') {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.body.error.code, code, `${what}: ${r.text}`);
  if (message instanceof RegExp) assert.match(r.body.error.message, message, what);
  else assert.equal(r.body.error.message, message, what);
}

describe('validation: the bodies of /api/webhooks and /api/subscriptions', () => {
  let h;
  before(async () => { h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start(); });
  after(async () => { await h.stop(); h.cleanup(); });

  it('a webhook create refuses each bad field with its message', async () => {
    for (const [body, msg] of WEBHOOK_CREATE)
      refused(await h.api('POST', '/api/webhooks', body), msg, 'bad_request', JSON.stringify(body).slice(0, 80));
    assert.equal((await h.api('GET', '/api/webhooks')).body.data.length, 0);
  });

  it('a webhook create takes the edge values', async () => {
    let i = 0;
    for (const [body, check] of WEBHOOK_EDGES) {
      const r = await h.api('POST', '/api/webhooks', { name: `edge${i++}`, ...body });
      assert.equal(r.status, 201, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
      check(r.body);
    }
  });

  it('a webhook PATCH judges what it sets, keeps the rest, refuses unknown fields', async () => {
    const c = await h.api('POST', '/api/webhooks', { name: 'patched', rateLimit: 5, maxBody: 100 });
    assert.equal(c.status, 201, c.text);
    const path = `/api/webhooks/${c.body.id}`;
    refused(await h.api('PATCH', path, { name: 'Bad' }), SLUG);
    refused(await h.api('PATCH', path, { extra: 1 }), 'unknown field extra');
    refused(await h.api('PATCH', path, { rateLimit: 0.0001 }), WRATE);
    refused(await h.api('PATCH', path, { signature: { scheme: 'standard', secret: 'whsec_%%' } }),
      'under the standard scheme a whsec_ secret must be valid base64 after the prefix');
    const same = await h.api('PATCH', path, {});
    assert.equal(same.status, 200, same.text);
    assert.deepEqual([same.body.name, same.body.rateLimit, same.body.maxBody], ['patched', 5, 100]);
    const p = await h.api('PATCH', path, { rateLimit: null, description: 'd' });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual([p.body.rateLimit, p.body.maxBody, p.body.description], [100, 100, 'd']);
  });

  it('a subscription create refuses each bad field with its message', async () => {
    for (const [body, msg] of SUB_CREATE)
      refused(await h.api('POST', '/api/subscriptions', body), msg, 'bad_request', JSON.stringify(body).slice(0, 80));
    refused(await h.api('POST', '/api/subscriptions', { url: 'http://10.1.2.3/x', events: ['a'] }),
      '10.1.2.3 is not a public address (see --allow-targets)', 'target_not_allowed');
    assert.equal((await h.api('GET', '/api/subscriptions')).body.data.length, 0);
  });

  it('a subscription takes the edge values', async () => {
    const r = await h.api('POST', '/api/subscriptions', { url: URL, events: ['a', 'b.*'], timeoutMs: 120000,
      maxInFlight: 1000, rateLimit: 0.001, retry: { maxAttempts: 100, initialMs: 100, maxMs: 100 },
      description: null, template: null, active: false, ordered: true, secret: 'whsec_a2V5', headers: null });
    assert.equal(r.status, 201, r.text);
    const s = r.body;
    assert.deepEqual([s.timeoutMs, s.maxInFlight, s.rateLimit, s.retry, s.active, s.ordered],
      [120000, 1000, 0.001, { maxAttempts: 100, initialMs: 100, maxMs: 100 }, false, true]);
  });

  it('a subscription PATCH and PUT judge their bodies', async () => {
    const c = await h.api('POST', '/api/subscriptions', { url: URL, events: ['a'], timeoutMs: 5000,
      headers: { 'X-Key': 'k1' } });
    assert.equal(c.status, 201, c.text);
    const path = `/api/subscriptions/${c.body.id}`;
    refused(await h.api('PATCH', path, { timeoutMs: 99 }), 'timeoutMs must be an integer from 100 to 120000');
    refused(await h.api('PATCH', path, { extra: 1 }), 'unknown field extra');
    refused(await h.api('PATCH', path, { retry: { initialMs: 86400000 } }), 'retry.maxMs must not be below retry.initialMs');
    refused(await h.api('PATCH', path, { url: 'http://10.1.2.3/x' }),
      '10.1.2.3 is not a public address (see --allow-targets)', 'target_not_allowed');
    refused(await h.api('PUT', path, { events: ['a'] }), 'url is required');
    refused(await h.api('PUT', path, { url: URL }), 'events is required');
    refused(await h.api('PUT', path, { url: URL, events: ['a'], extra: 1 }), 'unknown field extra');
    const p = await h.api('PATCH', path, { maxInFlight: 3 });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual([p.body.maxInFlight, p.body.timeoutMs, p.body.events], [3, 5000, ['a']]);
    const put = await h.api('PUT', path, { url: URL, events: ['b'], headers: { 'X-Key': '[redacted]' } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual([put.body.maxInFlight, put.body.timeoutMs, put.body.events, put.body.headers],
      [8, 10000, ['b'], { 'X-Key': '[redacted]' }]);
    const bare = await h.api('PUT', path, { url: URL, events: ['b'] });
    assert.equal(bare.status, 200, bare.text);
    assert.deepEqual(bare.body.headers ?? {}, {});
  });
});
