// Bounded connections and read deadlines (SPEC §3 "Slow or stalled
// clients are cut off by read timeouts; the number of connections is
// bounded"), each while a normal client keeps getting 202.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Hookd } from '../lib/hookd.mjs';

function connect(base) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => resolve(s));
    s.on('error', reject);
  });
}

// Resolves with how the socket ended: 'closed' or 'timeout' after MS.
function ended(s, ms) {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('timeout'), ms);
    s.on('close', () => { clearTimeout(t); resolve('closed'); });
    s.on('error', () => {});
  });
}

describe('limits', () => {
  let h, tok;
  before(async () => {
    h = await new Hookd({ args: ['--request-timeout', '1s', '--idle-timeout', '2s', '--max-connections', '6'] }).start();
    tok = (await h.api('POST', '/api/webhooks', { name: 'n', rateLimit: 0 })).body.token;
  });
  after(async () => { await h.stop(); h.cleanup(); });

  const ok = async () => (await h.post('/webhooks/n', { ok: 1 }, { 'x-webhook-token': tok })).status;

  it('cuts a slowloris request at the whole-request deadline', async () => {
    const s = await connect(h.pub);
    const end = ended(s, 6000);
    const t0 = Date.now();
    const line = `POST /webhooks/n HTTP/1.1\r\nHost: x\r\nX-Webhook-Token: ${tok}\r\nContent-Length: 50\r\n\r\n`;
    let i = 0;
    // One byte every 100 ms: each byte restarts evhttp's own timeout.
    const drip = setInterval(() => { if (!s.destroyed && i < line.length) s.write(line[i++]); }, 100);
    assert.equal(await ok(), 202);
    const how = await end;
    clearInterval(drip);
    assert.equal(how, 'closed');
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 4000, `cut after ${took} ms`);
    assert.equal(await ok(), 202);
  });

  it('closes idle connections after --idle-timeout', async () => {
    const s = await connect(h.pub);
    const t0 = Date.now();
    assert.equal(await ended(s, 6000), 'closed');
    assert.ok(Date.now() - t0 >= 1500);
  });

  it('stops accepting at --max-connections and resumes when one closes', async () => {
    const idle = [];
    for (let i = 0; i < 6; i++) idle.push(await connect(h.pub));
    await new Promise((r) => setTimeout(r, 100));
    // The listener is paused: a new request waits in the backlog.
    const pending = h.post('/webhooks/n', { late: 1 }, { 'x-webhook-token': tok });
    const first = await Promise.race([pending.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 500))]);
    assert.equal(first, 'waiting');
    idle[0].destroy();
    const r = await pending;
    assert.equal(r.status, 202);
    for (const s of idle) s.destroy();
  });
});
