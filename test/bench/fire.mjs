// test/bench/fire.mjs URL N CONC
// POSTs a small JSON body to URL N times with CONC requests in flight
// (scripts/bench-commands, for adnanh/webhook) and prints
// "requests=N ok=K seconds=S rate=R" (ok: a 2xx answer).
import http from 'node:http';

const [target, nArg, cArg] = process.argv.slice(2);
const n = Number(nArg);
const conc = Number(cArg);
const url = new URL(target);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
let sent = 0;
let ok = 0;

function one(i) {
  return new Promise((resolve) => {
    const body = JSON.stringify({ i });
    const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode >= 200 && res.statusCode < 300) ok++;
        resolve();
      });
    });
    req.on('error', () => resolve());
    req.end(body);
  });
}

const t0 = Date.now();
await Promise.all(Array.from({ length: conc }, async () => {
  while (sent < n) await one(sent++);
}));
const s = (Date.now() - t0) / 1000;
console.log(`requests=${n} ok=${ok} seconds=${s.toFixed(2)} rate=${Math.round(n / s)}`);
agent.destroy();
