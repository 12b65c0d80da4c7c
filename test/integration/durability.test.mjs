// Durability (proto/http.md): SIGKILL hookd at random moments while clients
// post; after a restart, every event that got a 202 is there.
// HOOKD_KILL_ROUNDS sets the number of rounds (a few here; the hardening
// script runs many).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Hookd } from '../lib/hookd.mjs';

const ROUNDS = Number(process.env.HOOKD_KILL_ROUNDS || 4);
const CLIENTS = 8;

// A keep-alive POST that resolves to the parsed answer or null on error.
function post(agent, base, path, body) {
  return new Promise((resolve) => {
    const u = new URL(base + path);
    const req = http.request({ agent, host: u.hostname, port: u.port, path, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 5000 }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { b += d; });
      res.on('end', () => {
        try { resolve({ status: res.statusCode, body: JSON.parse(b) }); } catch { resolve(null); }
      });
      res.on('error', () => resolve(null));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => { req.destroy(); resolve(null); });
    req.end(body);
  });
}

async function allEventIds(h) {
  const ids = new Set();
  let after = '';
  for (let i = 0; i < 10000; i++) {
    const r = await h.api('GET', `/api/events?limit=1000${after ? `&after=${after}` : ''}`);
    assert.equal(r.status, 200, r.text);
    for (const e of r.body.data) ids.add(e.id);
    if (!r.body.next) break;
    after = r.body.next;
  }
  return ids;
}

it(`every 202 survives SIGKILL (${ROUNDS} rounds)`, async () => {
  const h = await new Hookd().start();
  try {
    const r = await h.api('POST', '/api/webhooks', { name: 'durable', auth: 'none', rateLimit: 0 });
    assert.equal(r.status, 201);
    const accepted = [];
    for (let round = 0; round < ROUNDS; round++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
      let stop = false;
      const client = async (c) => {
        for (let i = 0; !stop && i < 100000; i++) {
          const res = await post(agent, h.pub, '/webhooks/durable', JSON.stringify({ round, c, i, pad: 'x'.repeat(200) }));
          if (res && res.status === 202) accepted.push(res.body.eventId);
          if (!res) break;
        }
      };
      const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
      await new Promise((res) => setTimeout(res, 150 + Math.floor(Math.random() * 500)));
      await h.kill();
      stop = true;
      await Promise.all(clients);
      agent.destroy();
      await h.restart();
      const ids = await allEventIds(h);
      const lost = accepted.filter((id) => !ids.has(id));
      assert.deepEqual(lost, [], `round ${round}: ${lost.length} of ${accepted.length} accepted events lost`);
    }
    assert.ok(accepted.length > ROUNDS * 10, `only ${accepted.length} events accepted`);
  } finally {
    await h.stop();
    h.cleanup();
  }
});

it(`every 202 is delivered at least once across SIGKILLs during ingest and delivery (${ROUNDS} rounds)`, async () => {
  const { Receiver, poll } = await import('../lib/receiver.mjs');
  const rx = await new Receiver().start();
  const h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
  try {
    await h.api('POST', '/api/webhooks', { name: 'mixed', auth: 'none', rateLimit: 0 });
    await h.api('POST', '/api/subscriptions', { url: `${rx.url}/sink`, events: ['*'], maxInFlight: 16, retry: { maxAttempts: 50, initialMs: 100, maxMs: 500 } });
    const accepted = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Some attempts fail, so retries are pending when the kill comes.
      rx.fallback = round % 2 ? { status: 503 } : { status: 200 };
      const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
      let stop = false;
      const client = async (c) => {
        for (let i = 0; !stop && i < 100000; i++) {
          const res = await post(agent, h.pub, '/webhooks/mixed', JSON.stringify({ round, c, i }));
          if (res && res.status === 202) accepted.push(res.body.eventId);
          if (!res) break;
        }
      };
      const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
      await new Promise((res) => setTimeout(res, 150 + Math.floor(Math.random() * 400)));
      await h.kill();
      stop = true;
      await Promise.all(clients);
      agent.destroy();
      await h.restart();
    }
    rx.fallback = { status: 200 };
    // One set per look, not one per event: 200 rounds accept ~10^5.
    const delivered = () => {
      const got = new Set(rx.to('/sink').map((r) => r.headers['webhook-id']));
      return accepted.every((id) => got.has(id));
    };
    await poll(delivered, 60000, 'every accepted event delivered');
    assert.ok(accepted.length > ROUNDS * 10, `only ${accepted.length} events accepted`);
  } finally {
    await h.stop();
    h.cleanup();
    await rx.stop();
  }
});
