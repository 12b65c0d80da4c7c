// test/lib/receiver.mjs: a loopback HTTP receiver with scripted answers.
//
// Each request is recorded (method, path, headers, body, time). The
// answer is the next entry of the path's script, or the default:
//   {status, headers, body}   an answer
//   {hang: true}              never answer (the client times out)
//   {reset: true}             destroy the socket
//   {delayMs, ...}            answer after a delay
import http from 'node:http';

export class Receiver {
  constructor() {
    this.requests = [];
    this.scripts = new Map();
    this.fallback = { status: 200, body: 'ok' };
    this.waiters = [];
    this.sockets = new Set();
  }

  async start() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = this.server.address().port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  // Answers the next requests to PATH with the given entries, in order.
  script(path, ...answers) {
    this.scripts.set(path, [...(this.scripts.get(path) || []), ...answers]);
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rec = { method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      this.requests.push(rec);
      const list = this.scripts.get(req.url);
      const a = (list && list.length ? list.shift() : null) || this.fallback;
      const answer = () => {
        if (a.hang) return;
        if (a.reset) { req.socket.destroy(); return; }
        res.writeHead(a.status || 200, a.headers || {});
        res.end(a.body || '');
      };
      if (a.delayMs) setTimeout(answer, a.delayMs); else answer();
      this.waiters = this.waiters.filter((w) => !w());
    });
  }

  // The requests to PATH.
  to(path) {
    return this.requests.filter((r) => r.path === path);
  }

  // Waits until PRED() holds (checked on every request), or fails.
  async until(pred, timeoutMs = 10000, what = 'condition') {
    if (pred()) return;
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push(() => { if (pred()) { clearTimeout(t); resolve(); return true; } return false; });
    });
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

// Polls FN until it returns a truthy value, or fails after TIMEOUTMS.
export async function poll(fn, timeoutMs = 10000, what = 'condition') {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
