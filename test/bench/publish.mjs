// test/bench/publish.mjs ADMIN_URL TOKEN TYPE N CONC [PAYLOAD_BYTES]
// Publishes N events over the admin API with CONC requests in flight and
// prints "published=N seconds=S rate=R p50ms=… p99ms=…".
import http from 'node:http';

const [admin, token, type, nArg, cArg, padArg] = process.argv.slice(2);
const n = Number(nArg);
const conc = Number(cArg);
const pad = 'x'.repeat(Number(padArg || 900));
const url = new URL('/api/events', admin);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
const lat = [];
let sent = 0;
let failed = 0;

function one(i) {
  return new Promise((resolve) => {
    const body = JSON.stringify({ event: type, payload: { i, pad } });
    const t = process.hrtime.bigint();
    const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => {
        lat.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (res.statusCode !== 202) failed++;
        resolve();
      });
    });
    req.on('error', () => { failed++; resolve(); });
    req.end(body);
  });
}

const t0 = Date.now();
await Promise.all(Array.from({ length: conc }, async () => {
  while (sent < n) await one(sent++);
}));
const s = (Date.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(2);
console.log(`published=${n} failed=${failed} seconds=${s.toFixed(2)} rate=${Math.round(n / s)} p50ms=${q(0.5)} p99ms=${q(0.99)}`);
agent.destroy();
process.exit(failed ? 1 : 0);
