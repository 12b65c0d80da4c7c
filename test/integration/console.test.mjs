// The console (proto/console.md) in a real browser: Debian's chromium, headless,
// driven by the pinned puppeteer-core, against a real hookd and a
// loopback receiver that fails (500) and then recovers. An operator signs
// in, creates a webhook and takes its token from the page, a sender posts
// an event with it, the operator creates a subscription, finds the event
// and its failed delivery, reads the attempt's response, retries it once
// the receiver is back and sees it succeed. Every page must load without
// a console error and without a request to anything but hookd's admin
// address. Screenshots of each page go to build/console-shots/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import puppeteer from 'puppeteer-core';
import { Hookd, dataRoot } from '../lib/hookd.mjs';
import { Receiver, poll } from '../lib/receiver.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = resolve(process.env.CONSOLE_SHOTS || 'build/console-shots');
const FAIL_BODY = 'receiver down: try again later';

// Plain HTTP against hookd from node, to check what the browser cannot see.
async function get(url, headers = {}) {
  const r = await fetch(url, { headers });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

test('the console is served without the token, the API still needs it', async () => {
  const hd = await new Hookd().start();
  try {
    const page = await get(`${hd.admin}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('content-security-policy'), "default-src 'self'");
    assert.match(page.body.toString(), /<script src="app.js"><\/script>/);
    const etag = page.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal((await get(`${hd.admin}/`, { 'if-none-match': etag })).status, 304);
    let bytes = page.body.length;
    for (const [path, type] of [['/app.js', 'text/javascript; charset=utf-8'], ['/app.css', 'text/css; charset=utf-8'],
      ['/favicon.svg', 'image/svg+xml']]) {
      const r = await get(`${hd.admin}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), type, path);
      assert.equal(r.headers.get('content-security-policy'), "default-src 'self'", path);
      bytes += r.body.length;
    }
    // The first load (HTML, CSS, JS, icon) stays far under 150 KiB.
    assert.ok(bytes < 100 * 1024, `first load is ${bytes} bytes`);
    const post = await hd.api('POST', '/', '{}', { token: null });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    for (const p of ['/api/stats', '/api/webhooks', '/metrics', '/app.js.map', '/console.c'])
      assert.equal((await hd.api('GET', p, undefined, { token: null })).status, 401, p);
    assert.equal((await hd.api('GET', '/api/stats')).status, 200);
  } finally {
    await hd.stop();
    hd.cleanup();
  }
});

// Opens GET /api/stream; resolves with {res, messages, text, close} once
// the answer's head arrived. Messages are parsed as they come.
function stream(hd, token = hd.token, headers = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(`${hd.admin}/api/stream`);
    const req = http.get({ host: u.hostname, port: u.port, path: u.pathname, agent: false,
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      const st = { res, messages: [], text: '', close: () => req.destroy() };
      res.setEncoding('utf8');
      res.on('data', (c) => {
        st.text += c;
        const blocks = st.text.split('\n\n');
        st.messages = blocks.slice(0, -1).map((b) => {
          const m = {};
          for (const line of b.split('\n')) {
            const i = line.indexOf(':');
            if (i > 0) m[line.slice(0, i)] = line.slice(i + 1).trim();
          }
          return m;
        }).filter((m) => m.data).map((m) => ({ id: m.id, type: m.event, data: JSON.parse(m.data) }));
      });
      res.on('error', () => {});
      resolve(st);
    });
    req.on('error', reject);
  });
}

test('GET /api/stream sends new events and outcomes as Server-Sent Events', { timeout: 60000 }, async () => {
  const rcv = await new Receiver().start();
  rcv.fallback = { status: 503, body: 'later' };
  const hd = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8', '--max-streams', '2'] }).start();
  const open = [];
  try {
    const anon = await stream(hd, null);
    assert.equal(anon.res.statusCode, 401);
    // (On its own connection: see the report on keep-alive after a 405.)
    const post = await new Promise((res, rej) => {
      const u = new URL(`${hd.admin}/api/stream`);
      const r = http.request({ method: 'POST', host: u.hostname, port: u.port, path: u.pathname, agent: false,
        headers: { authorization: `Bearer ${hd.token}` } }, (x) => { x.resume(); x.on('end', () => res(x)); });
      r.on('error', rej);
      r.end();
    });
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers.allow, 'GET');
    const s1 = await stream(hd);
    const s2 = await stream(hd);
    open.push(s1, s2);
    assert.equal(s1.res.statusCode, 200);
    assert.equal(s1.res.headers['content-type'], 'text/event-stream');
    // Past --max-streams: 503 with Retry-After, nothing left hanging.
    const s3 = await stream(hd);
    assert.equal(s3.res.statusCode, 503);
    assert.ok(s3.res.headers['retry-after']);
    s3.close();
    const sub = await hd.api('POST', '/api/subscriptions', { url: `${rcv.url}/in`, events: ['order.*'], retry: { maxAttempts: 2, initialMs: 100 } });
    assert.equal(sub.status, 201);
    const big = 'x'.repeat(100000);
    const ev = await hd.api('POST', '/api/events', { event: 'order.paid', payload: { big } });
    assert.equal(ev.status, 202);
    const id = ev.body.eventId;
    // Both streams: each reads its own socket, one may be a moment later.
    await poll(() => [s1, s2].every((s) => s.messages.some((m) => m.type === 'delivery' && m.data.status === 'failed')), 10000, 'the failed outcome');
    for (const s of [s1, s2]) {
      const e = s.messages.find((m) => m.type === 'event' && m.data.id === id);
      assert.ok(e, s.text.slice(0, 500));
      assert.equal(e.data.event, 'order.paid');
      assert.equal(e.data.payload, undefined); // the page fetches it on demand
      const outs = s.messages.filter((m) => m.type === 'delivery' && m.data.event === id);
      assert.deepEqual(outs.map((m) => m.data.status), ['pending', 'failed']);
      assert.equal(outs[0].data.subscription, sub.body.id);
      assert.equal(outs[0].data.attempt.statusCode, 503);
      assert.equal(outs[0].data.attempt.response, 'later');
    }
    // A client that leaves frees its place (seen at hookd's next write).
    s1.close();
    open.shift();
    const s4 = await poll(async () => {
      await hd.api('POST', '/api/events', { event: 'other.thing' });
      const s = await stream(hd);
      if (s.res.statusCode === 200) return s;
      s.close();
      return null;
    }, 10000, 'the place of the closed stream');
    open.push(s4);
  } finally {
    // hookd stops cleanly with streams still open (no leak, exit 0).
    const st = await hd.stop();
    assert.equal(st.code, 0);
    for (const s of open) s.close();
    await rcv.stop();
    hd.cleanup();
  }
});

test('a stream reader back with Last-Event-ID gets what it missed, or a gap', { timeout: 60000 }, async () => {
  const hd = await new Hookd().start();
  const open = [];
  const types = (s) => s.messages.map((m) => (m.type === 'event' ? m.data.event : m.type));
  try {
    const s1 = await stream(hd);
    open.push(s1);
    assert.equal((await hd.api('POST', '/api/events', { event: 'a.one' })).status, 202);
    await poll(() => s1.messages.some((m) => m.type === 'event'), 10000, 'the first event');
    const first = s1.messages[0];
    assert.match(first.id, /^\d+\.\d+$/);
    s1.close();
    // Published while nobody reads: kept for the reader that comes back.
    for (const t of ['b.two', 'c.three'])
      assert.equal((await hd.api('POST', '/api/events', { event: t })).status, 202);
    const s2 = await stream(hd, hd.token, { 'last-event-id': first.id });
    open.push(s2);
    await poll(() => s2.messages.length >= 2, 10000, 'the missed events');
    assert.deepEqual(types(s2), ['b.two', 'c.three']);
    const [e, p] = s2.messages[0].id.split('.');
    assert.equal(e, first.id.split('.')[0]);
    assert.ok(Number(s2.messages[1].id.split('.')[1]) > Number(p));
    // Up to date: nothing replayed, the next message comes as usual.
    const s3 = await stream(hd, hd.token, { 'last-event-id': s2.messages[1].id });
    open.push(s3);
    assert.equal((await hd.api('POST', '/api/events', { event: 'd.four' })).status, 202);
    await poll(() => s3.messages.length >= 1, 10000, 'the next event');
    assert.deepEqual(types(s3), ['d.four']);
    // Another process's id, a future one, or garbage: a gap, then live.
    for (const id of ['1.1', `${e}.99999`, 'x']) {
      const s = await stream(hd, hd.token, { 'last-event-id': id });
      open.push(s);
      await poll(() => s.messages.length >= 1, 10000, `the answer to ${id}`);
      assert.equal(s.messages[0].type, 'gap', id);
    }
  } finally {
    for (const s of open) s.close();
    assert.equal((await hd.stop()).code, 0);
    hd.cleanup();
  }
});

test('an operator finds a failed delivery in the console and retries it', { timeout: 180000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/deps test installs it`);
  mkdirSync(SHOTS, { recursive: true });
  const rcv = await new Receiver().start();
  rcv.fallback = { status: 500, headers: { 'content-type': 'text/plain' }, body: FAIL_BODY };
  const hd = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
  const profile = mkdtempSync(join(dataRoot(), 'chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`],
  });
  const problems = [];
  const foreign = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.setDefaultTimeout(15000);
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') problems.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => {
      // Leaving the live view aborts its stream on purpose.
      if (r.url() === `${hd.admin}/api/stream` && r.failure()?.errorText === 'net::ERR_ABORTED') return;
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    // data: URLs reach no host (Chromium's own form control icons are
    // some; the page's CSP refuses any of its own).
    const offHost = (u) => !u.startsWith(`${hd.admin}/`) && !u.startsWith('data:');
    page.on('request', (r) => { if (offHost(r.url())) foreign.push(r.url()); });

    // Waits for a page of the console to be drawn, then checks it is clean.
    const at = async (name, shot) => {
      await page.waitForSelector(`main[data-view="${name}"]`);
      assert.deepEqual(problems, [], `console errors on ${name}`);
      assert.deepEqual(foreign, [], `requests to other hosts on ${name}`);
      if (shot) await page.screenshot({ path: join(SHOTS, `${shot}.png`) });
    };
    const go = async (hash, name, shot) => {
      await page.evaluate((hsh) => { location.hash = hsh; }, hash);
      await at(name, shot);
    };

    // A wrong token is refused in words (its 401 is the one error expected).
    await page.goto(`${hd.admin}/`);
    await at('signin', 'signin');
    await page.type('#token', 'hkadm_wrong');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#msg .alert');
    assert.match(await page.$eval('#msg .alert', (e) => e.textContent), /refused/);
    assert.ok(problems.every((p) => /401/.test(p)), problems.join('\n'));
    problems.length = 0;
    // The right one, by keyboard.
    await page.$eval('#token', (e) => { e.value = ''; });
    await page.type('#token', hd.token);
    await page.keyboard.press('Enter');
    await at('overview');
    await page.waitForSelector('.cards');
    assert.match(await page.$eval('.cards', (e) => e.textContent), /ready/);

    // /#token= signs in and leaves the address bar at once.
    const tab = await browser.newPage();
    tab.on('console', (m) => { if (m.type() === 'error') problems.push(`tab: ${m.text()}`); });
    tab.on('request', (r) => { if (offHost(r.url())) foreign.push(r.url()); });
    await tab.goto(`${hd.admin}/#token=${encodeURIComponent(hd.token)}`);
    await tab.waitForSelector('main[data-page="overview"]');
    assert.ok(!tab.url().includes(hd.token), tab.url());
    assert.equal(await tab.evaluate(() => sessionStorage.getItem('hookd.token')), hd.token);
    assert.equal(await tab.evaluate(() => document.cookie), '');
    await tab.close();
    await page.waitForSelector('svg.chart');

    // Webhooks: create one; the token is shown once, in the page.
    await go('#/webhooks', 'webhooks');
    await page.type('form[aria-label="Create a webhook"] input[name=name]', 'shop');
    await page.click('form[aria-label="Create a webhook"] button[type=submit]');
    await page.waitForSelector('#cred-token');
    const token = await page.$eval('#cred-token', (e) => e.value);
    hd.note(token);
    assert.match(token, /^whtok_/);
    assert.match(await page.$eval('#cred-curl', (e) => e.value), new RegExp(`X-Webhook-Token: ${token}`));
    await page.click('#dialog button[data-action=ok]');
    await at('webhooks');
    await page.waitForSelector('a::-p-text(shop)');
    await page.waitForFunction(() => !document.querySelector('main td span.muted')?.textContent.includes('…'));
    await page.screenshot({ path: join(SHOTS, 'webhooks.png') });

    // Subscriptions: one to the receiver, one attempt per delivery.
    await go('#/subscriptions', 'subscriptions');
    await page.type('form[aria-label="Create a subscription"] input[name=url]', `${rcv.url}/hook`);
    await page.type('form[aria-label="Create a subscription"] input[name=maxAttempts]', '1');
    await page.click('form[aria-label="Create a subscription"] summary');
    await page.type('form[aria-label="Create a subscription"] input[name=timeoutMs]', '5000');
    await page.click('form[aria-label="Create a subscription"] button[type=submit]');
    await page.waitForSelector('#cred-sub-secret');
    const secret = await page.$eval('#cred-sub-secret', (e) => e.value);
    hd.note(secret);
    await page.click('#dialog button[data-action=ok]');
    await page.waitForSelector('main[data-view^="subscriptions/"]');
    await at(await page.$eval('main', (e) => e.dataset.view));
    // Reveal, rotate (confirm), reveal again: the old one is the previous.
    await page.click('button::-p-text(Reveal secret)');
    await page.waitForSelector('#dialog[open] #cred-sub-secret');
    assert.equal(await page.$eval('#cred-sub-secret', (e) => e.value), secret);
    await page.click('#dialog button[data-action=ok]');
    await page.click('button::-p-text(Rotate secret)');
    await page.waitForSelector('#dialog[open] button[data-action=ok]::-p-text(Rotate)');
    await page.click('#dialog button[data-action=ok]');
    await page.waitForSelector('#dialog[open] #cred-sub-secret');
    const secret2 = await page.$eval('#cred-sub-secret', (e) => e.value);
    hd.note(secret2);
    assert.notEqual(secret2, secret);
    await page.click('#dialog button[data-action=ok]');
    await page.click('button::-p-text(Reveal secret)');
    await page.waitForSelector('#dialog[open] #cred-sub-prev');
    assert.equal(await page.$eval('#cred-sub-prev', (e) => e.value), secret);
    await page.click('#dialog button[data-action=ok]');
    // Edit: an ftp URL is refused in the server's words; a description saves.
    const edit = 'form[aria-label="Edit the subscription"]';
    const url0 = await page.$eval(`${edit} input[name=url]`, (e) => e.value);
    await page.$eval(`${edit} input[name=url]`, (e) => { e.value = 'ftp://example.com/x'; });
    await page.click(`${edit} button[type=submit]`);
    await page.waitForSelector('#msg .alert');
    assert.match(await page.$eval('#msg .alert', (e) => e.textContent), /^400 /);
    problems.length = 0; // the browser logs the 400 itself
    await page.$eval(`${edit} input[name=url]`, (e, u) => { e.value = u; }, url0);
    await page.type(`${edit} input[name=description]`, 'the shop receiver');
    await page.click(`${edit} button[type=submit]`);
    await page.waitForSelector('#msg .note::-p-text(Saved)');
    assert.match(await page.$eval('dl.kv', (e) => e.textContent), /the shop receiver/);
    // Its own header: sent to the receiver, shown [redacted] once saved.
    await page.type(`${edit} textarea[name=headers]`, 'X-Shop: s3cret');
    await page.click(`${edit} button[type=submit]`);
    await page.waitForFunction((f) => document.querySelector(`${f} textarea[name=headers]`).value === 'X-Shop: [redacted]', { timeout: 10000 }, edit);
    // The retry policy and the sources, edited in place.
    await page.$eval(`${edit} input[name=initialMs]`, (e) => { e.value = '1500'; });
    await page.$eval(`${edit} input[name=sources]`, (e) => { e.value = 'shop'; });
    await page.click(`${edit} button[type=submit]`);
    await page.waitForFunction(() => /from 1500 ms/.test(document.querySelector('dl.kv').textContent), { timeout: 10000 });
    assert.match(await page.$eval('dl.kv', (e) => e.textContent), /Sourceswh_/); // the name, resolved to the webhook's id
    // Recover a window: nothing has failed yet, so none.
    await page.$eval('#recover-since', (e) => {
      const d = new Date(Date.now() - 3600e3);
      e.value = new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 19);
    });
    await page.click('button::-p-text(Retry them all)');
    await page.waitForSelector('#msg .note::-p-text(pending again)');
    assert.match(await page.$eval('#msg .note', (e) => e.textContent), /^0 failed deliveries/);
    const subId = await page.$eval('dl.kv dd.id', (e) => e.textContent);
    assert.match(subId, /^sub_/);
    assert.match(await page.$eval('dl.kv', (e) => e.textContent), /1 attempts,.*timeout 5000 ms/);
    // Its test request, answered 500 for now, is reported in words.
    await page.click('button::-p-text(Send test)');
    await page.waitForSelector('#msg .alert');
    assert.match(await page.$eval('#msg .alert', (e) => e.textContent), /^Failed: status 500/);
    // The edit form's template preview: rendered by hookd as it types, and
    // refused in the save check's own words.
    await page.type('textarea[name=template]', '{"type":"${event_type}"}');
    await page.waitForFunction(() => /\{"type":"[^"]+"\}/.test(document.querySelector('[data-testid=template-preview]').textContent), { timeout: 10000 });
    await page.$eval('textarea[name=template]', (e) => { e.value = ''; });
    await page.type('textarea[name=template]', '${nope}');
    await page.waitForFunction(() => /nope/.test(document.querySelector('[data-testid=template-preview]').textContent), { timeout: 10000 });
    problems.length = 0; // the browser logs the preview's 400 itself
    await page.$eval('textarea[name=template]', (e) => { e.value = ''; });
    await page.screenshot({ path: join(SHOTS, 'subscription.png') });
    await go('#/subscriptions', 'subscriptions');

    // A sender posts an event with the token read from the page.
    // (A 64-bit reference too: the page shows its digits as sent.)
    const r = await hd.post('/webhooks/shop', '{"type":"order.created","order":42,"ref":1096473593264894053}', { 'x-webhook-token': token });
    assert.equal(r.status, 202, r.text);
    const evt = JSON.parse(r.text).eventId;
    const seen = rcv.to('/hook').length;
    await rcv.until(() => rcv.to('/hook').length === seen + 1, 10000, 'the first attempt');

    // Events: the list links to it; its page shows the failed delivery.
    await go('#/events?source=shop', 'events', 'events');
    await page.click(`a[href="#/events/${evt}"]`);
    await at(`events/${evt}`);
    assert.match(await page.$eval('pre.payload', (e) => e.textContent), /"order": 42/);
    assert.match(await page.$eval('pre.payload', (e) => e.textContent), /"ref": 1096473593264894053\b/);
    const state = () => page.$eval('section[data-delivery] .state', (e) => e.dataset.state);
    await poll(async () => {
      if ((await state()) === 'failed') return true;
      await page.click('button::-p-text(Refresh)');
      await at(`events/${evt}`);
      return false;
    }, 15000, 'the delivery to fail');
    assert.equal(await page.$eval('pre.response', (e) => e.textContent), FAIL_BODY);
    assert.match(await page.$eval('section[data-delivery] tbody', (e) => e.textContent), /500/);
    // The attempt as sent (signed, its own header redacted) and answered.
    await page.click('section[data-delivery] details.exchange summary');
    const sentHdrs = await page.$eval('[data-testid=request-headers]', (e) => e.textContent);
    assert.match(sentHdrs, /^webhook-signature: v1,/m);
    assert.match(sentHdrs, /^X-Shop: \[redacted\]$/m);
    assert.ok(!sentHdrs.includes('s3cret'));
    assert.equal(rcv.to('/hook').at(-1).headers['x-shop'], 's3cret');
    assert.match(await page.$eval('[data-testid=response-headers]', (e) => e.textContent), /^HTTP\/1\.1 500/);
    await page.screenshot({ path: join(SHOTS, 'event.png'), fullPage: true });

    // Deliveries: the deep link lists it among the failed ones.
    await go('#/deliveries?status=failed', 'deliveries', 'deliveries');
    assert.match(await page.$eval('main tbody', (e) => e.textContent), new RegExp(evt));
    assert.equal(await page.$eval('select[name=status]', (e) => e.value), 'failed');
    // A time window: created since tomorrow, none.
    await go(`#/deliveries?status=failed&since=${encodeURIComponent(new Date(Date.now() + 86400e3).toISOString())}`, 'deliveries');
    assert.match(await page.$eval('main', (e) => e.textContent), /No deliveries match/);

    // The receiver recovers; a retry from the event's page succeeds.
    rcv.fallback = { status: 200, body: 'thanks' };
    await go(`#/events/${evt}`, `events/${evt}`);
    await page.click('button::-p-text(Retry now)');
    await page.waitForSelector('#msg .note::-p-text(retried)');
    await rcv.until(() => rcv.to('/hook').length === seen + 2, 10000, 'the retried attempt');
    await poll(async () => {
      await page.click('button::-p-text(Refresh)');
      await at(`events/${evt}`);
      return (await state()) === 'succeeded';
    }, 15000, 'the delivery to succeed');
    const rows = await page.$$eval('section[data-delivery] tbody tr', (trs) => trs.map((t) => t.textContent));
    assert.equal(rows.length, 2);
    assert.ok(rows.some((t) => /200/.test(t) && /thanks/.test(t)), rows.join('\n'));
    await page.screenshot({ path: join(SHOTS, 'event-succeeded.png'), fullPage: true });
    // The subscriptions list shows its health over the last hour.
    await go('#/subscriptions', 'subscriptions');
    await page.waitForFunction(() => /% of \d+/.test(document.querySelector('main tbody').textContent));
    assert.match(await page.$eval('main tbody', (e) => e.textContent), /50 % of 2/);
    await page.screenshot({ path: join(SHOTS, 'subscriptions.png') });
    // Replay to one subscription picked from the list.
    await go(`#/events/${evt}`, `events/${evt}`);
    await page.waitForSelector(`select[name=subscription] option[value="${subId}"]`);
    await page.select('select[name=subscription]', subId);
    await page.click('button::-p-text(Replay to it)');
    await page.waitForSelector('#msg .note::-p-text(Replayed to)');
    await rcv.until(() => rcv.to('/hook').length === seen + 3, 10000, 'the replayed delivery');

    // Live: a new event and its outcome appear as they happen.
    await go('#/live', 'live');
    await page.waitForSelector('#live-status[data-state=open]');
    const r2 = await hd.post('/webhooks/shop', { type: 'order.shipped' }, { 'x-webhook-token': token });
    assert.equal(r2.status, 202);
    const evt2 = JSON.parse(r2.text).eventId;
    await page.waitForSelector(`#live li[data-kind=event][data-event="${evt2}"]`);
    await page.waitForSelector(`#live li[data-kind=delivery][data-event="${evt2}"] .state[data-state=succeeded]`);
    await page.screenshot({ path: join(SHOTS, 'live.png') });

    // The webhook's page: its request log links the event; disable it.
    await go('#/webhooks/shop', 'webhooks/shop');
    await page.waitForSelector(`a[href="#/events/${evt}"]`);
    await page.screenshot({ path: join(SHOTS, 'webhook.png') });
    await page.click('button::-p-text(Disable)');
    await page.waitForSelector('h1 .state[data-state=disabled]');
    assert.equal((await hd.post('/webhooks/shop', { type: 'x' }, { 'x-webhook-token': token })).status, 403);
    await page.click('button::-p-text(Enable)');
    await page.waitForSelector('h1 .state[data-state=enabled]');
    await page.click('button::-p-text(Send test event)');
    await page.waitForSelector('#msg .note a[href^="#/events/evt_"]');
    // Regenerate: a confirm, then the new credentials once; the old token fails.
    await page.click('button::-p-text(Regenerate)');
    await page.waitForSelector('#dialog[open] button[data-action=ok]::-p-text(Regenerate)');
    await page.click('#dialog button[data-action=ok]');
    await page.waitForSelector('#dialog[open] #cred-token');
    const token2 = await page.$eval('#cred-token', (e) => e.value);
    hd.note(token2);
    assert.notEqual(token2, token);
    await page.click('#dialog button[data-action=ok]');
    assert.equal((await hd.post('/webhooks/shop', { type: 'x' }, { 'x-webhook-token': token })).status, 401);
    assert.equal((await hd.post('/webhooks/shop', { type: 'x' }, { 'x-webhook-token': token2 })).status, 202);

    // Lists are paged by the API's cursors, 25 at a time.
    for (let i = 0; i < 30; i++)
      assert.equal((await hd.api('POST', '/api/events', { event: 'bulk.test', payload: { i } })).status, 202);
    await go('#/events?type=bulk.test', 'events');
    const count = () => page.$$eval('main tbody tr', (trs) => trs.length);
    assert.equal(await count(), 25);
    await page.click('button::-p-text(Older)');
    await page.waitForFunction(() => document.querySelectorAll('main tbody tr').length === 5);
    assert.match(await page.$eval('main tbody', (e) => e.textContent), /bulk\.test/);
    await page.click('button::-p-text(Newer)');
    await page.waitForFunction(() => document.querySelectorAll('main tbody tr').length === 25);

    // The overview, with the traffic so far.
    await go('#/', 'overview');
    await page.waitForSelector('svg.chart polyline');
    assert.match(await page.$eval('main', (e) => e.textContent), /webhooks 1 enabled, 0 disabled; subscriptions 1 active/);
    await page.screenshot({ path: join(SHOTS, 'overview.png') });

    // Delete, after a confirm: its URL is gone.
    await go('#/webhooks/shop', 'webhooks/shop');
    await page.click('button::-p-text(Delete)');
    await page.waitForSelector('#dialog[open] button[data-action=ok]::-p-text(Delete)');
    await page.click('#dialog button[data-action=ok]');
    await at('webhooks');
    assert.match(await page.$eval('main', (e) => e.textContent), /No webhooks yet/);
    assert.equal((await hd.post('/webhooks/shop', { type: 'x' }, { 'x-webhook-token': token2 })).status, 404);

    // An API error is shown in words (the browser logs the 404 itself).
    await page.evaluate(() => { location.hash = '#/events/evt_nosuchevent'; });
    await page.waitForSelector('main[data-view="events/evt_nosuchevent"]');
    assert.match(await page.$eval('main .alert', (e) => e.textContent), /404 not_found/);
    assert.ok(problems.every((p) => /404/.test(p)), problems.join('\n'));
    problems.length = 0;

    // Readable at 390 px: nothing wider than the screen.
    await page.setViewport({ width: 390, height: 844 });
    for (const [hash, name] of [['#/', 'overview'], ['#/webhooks', 'webhooks'], [`#/events/${evt}`, `events/${evt}`],
      ['#/deliveries', 'deliveries'], ['#/subscriptions', 'subscriptions']]) {
      await go(hash, name);
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(w <= 390, `${hash} is ${w} px wide at 390`);
    }
    await go('#/events', 'events', 'events-390');
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
    await rcv.stop();
    await hd.stop();
    hd.cleanup();
  }
});
