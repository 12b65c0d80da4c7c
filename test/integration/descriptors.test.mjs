// Running out of descriptors (ISSUE13 item 5, proto/operation.md): under a hard
// RLIMIT_NOFILE of 256 and the default --max-connections, hundreds of
// idle public connections must not stop admin calls, ingest or
// deliveries. hookd is started through prlimit(1), which execs it (the
// PID stays hookd's).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { Hookd } from '../lib/hookd.mjs';
import { Receiver } from '../lib/receiver.mjs';

// Opens N connections that send nothing; resolves with the sockets.
async function idle(base, n) {
  const u = new URL(base);
  const socks = [];
  for (let i = 0; i < n; i++) {
    socks.push(await new Promise((resolve) => {
      const s = net.connect(Number(u.port), u.hostname);
      s.on('error', () => {});
      s.on('connect', () => resolve(s));
      setTimeout(() => resolve(s), 2000); // left in the backlog
    }));
  }
  return socks;
}

describe('descriptors', () => {
  let h, rx, socks = [];
  before(async () => {
    rx = await new Receiver().start();
    h = await new Hookd({ wrap: ['prlimit', '--nofile=256:256'], args: ['--allow-targets', '127.0.0.0/8', '--idle-timeout', '120s'] }).start();
  });
  after(async () => {
    for (const s of socks) s.destroy();
    await h.stop();
    h.cleanup();
    await rx.stop();
  });

  it('logs the limit and the sizes it chose', () => {
    const m = /event=descriptors limit=256 .*max_connections=(\d+) max_in_flight=(\d+)/.exec(h.log);
    assert.ok(m, h.log);
    assert.ok(Number(m[1]) * 2 + Number(m[2]) < 256);
  });

  it('300 idle public connections leave admin calls, ingest and deliveries working', async () => {
    const wh = (await h.api('POST', '/api/webhooks', { name: 'n', auth: 'none', rateLimit: 0 })).body;
    assert.ok(wh.id);
    const sub = await h.api('POST', '/api/subscriptions', { url: `${rx.url}/in`, events: ['*'] });
    assert.equal(sub.status, 201, sub.text);
    socks = await idle(h.pub, 300);
    await new Promise((r) => setTimeout(r, 300));
    const list = await h.api('GET', '/api/webhooks');
    assert.equal(list.status, 200);
    const r = await h.post('/webhooks/n', { hello: 'fd' });
    assert.equal(r.status, 202, r.text);
    await rx.until(() => rx.to('/in').length >= 1, 10000, 'the delivery');
    assert.match(rx.to('/in')[0].body, /"hello":"fd"/);
    const ready = await fetch(`${h.admin}/readyz`, { signal: AbortSignal.timeout(10000) });
    assert.equal(ready.status, 200);
  });
});

describe('descriptors: the limit lowered while running', () => {
  it('out of descriptors at accept, idle connections are closed and admin calls still answer', async () => {
    const h = await new Hookd({ args: ['--idle-timeout', '120s'] }).start();
    let socks = [];
    try {
      await h.api('POST', '/api/webhooks', { name: 'n', auth: 'none', rateLimit: 0 });
      // --max-connections (1024) was sized for the start's limit; now
      // the descriptors run out first.
      execFileSync('prlimit', ['--pid', String(h.proc.pid), '--nofile=200:200']);
      socks = await idle(h.pub, 300);
      const list = await h.api('GET', '/api/webhooks');
      assert.equal(list.status, 200);
      assert.equal((await h.post('/webhooks/n', { more: 1 })).status, 202);
      assert.match(h.log, /event=accept .*Too many open files/);
      assert.match(h.log, /event=connection_evicted/);
    } finally {
      for (const s of socks) s.destroy();
      await h.stop();
      h.cleanup();
    }
  });
});
