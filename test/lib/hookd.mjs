// test/lib/hookd.mjs: start a real hookd for a test and talk HTTP to it.
//
// Each hookd gets its own temp data dir and ports chosen by the kernel
// (--listen 127.0.0.1:0); the bound addresses come from its "listening"
// log line. It is stopped by PID, and a stop fails the test when the
// process left a sanitizer report or did not exit 0.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BIN = process.env.HOOKD_BIN || 'build/asan/hookd';

// The suite's second pass (scripts/runtests) runs every Hookd on
// PostgreSQL (test/lib/pg.mjs). A test of what only LMDB has (data.mdb,
// its map, the disk under it) is skipped there: lmdbOnly(why) is its
// options.
export const PG = process.env.HOOKD_TEST_STORE === 'pg';
export const lmdbOnly = (why) => ({ skip: PG ? `LMDB only: ${why}` : false });

// Tokens and secrets as hookd shows them (proto/http.md): none may ever reach
// a log line (checked at every stop) or an answer they were not sent in.
const SECRET = /\b(whtok|whsec|hkadm)_[A-Za-z0-9+/=_-]{16,}/g;

// Sanitizer reports, and memcheck's (scripts/valgrind runs hookd under it).
const SANITIZER = /ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer|==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|\d[\d,]* bytes in [\d,]+ blocks are definitely lost)/;
// Under valgrind everything is slower: wait longer for the start.
const START_MS = process.env.HOOKD_VALGRIND ? 60000 : 15000;

// hookd refuses a data directory in memory: where the system's temp dir
// is a tmpfs, data dirs go under build/tmp instead.
const MEMORY_FS = [0x01021994, 0x858458f6]; // tmpfs, ramfs
export function dataRoot() {
  if (!MEMORY_FS.includes(statfsSync(tmpdir()).type)) return tmpdir();
  const root = resolve('build/tmp');
  mkdirSync(root, { recursive: true });
  return root;
}

export class Hookd {
  constructor(opts = {}) {
    this.dir = opts.dir || mkdtempSync(join(dataRoot(), 'hookd-test-'));
    this.ownDir = !opts.dir;
    this.args = opts.args || [];
    this.env = opts.env || {};
    // A command that execs hookd (its PID stays hookd's), e.g. prlimit.
    this.wrap = opts.wrap || [];
    this.log = '';
    this.logs = []; // earlier runs' logs, kept for the secret check
    this.secrets = new Set();
  }

  // Remembers the secrets in an answer of hookd's.
  note(text) {
    for (const m of String(text).matchAll(SECRET)) this.secrets.add(m[0]);
  }

  async start() {
    // HOOKD_TEST_STORE=pg (not HOOKD_STORE: hookd reads that as --store): the store is a database of the process's PostgreSQL
    // (test/lib/pg.mjs), one per data directory, so a restart on the same
    // directory finds its data and other instances never see it.
    if (process.env.HOOKD_TEST_STORE === 'pg' && !this.args.includes('--store') && !this.store) {
      const { databaseFor } = await import('./pg.mjs');
      this.store = await databaseFor(resolve(this.dir));
    }
    const args = ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0',
      '--data', this.dir, '--shutdown-grace', '5s',
      ...(this.store && !this.args.includes('--store') ? ['--store', this.store] : []), ...this.args];
    const [cmd, ...pre] = [...this.wrap, BIN];
    this.proc = spawn(cmd, [...pre, ...args], {
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => resolve({ code, signal }));
    });
    this.proc.stderr.setEncoding('utf8');
    const ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hookd did not start:\n${this.log}`)), START_MS);
      this.proc.stderr.on('data', (chunk) => {
        this.log += chunk;
        const m = /event=listening .*public=(\S+) admin="?([^"\s]+)"?/.exec(this.log);
        if (m && !this.pub) {
          clearTimeout(timer);
          this.pub = `http://${m[1]}`;
          this.adminAddr = m[2];
          this.admin = m[2].startsWith('unix:') ? null : `http://${m[2]}`;
          resolve();
        }
      });
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        if (!this.pub) reject(new Error(`hookd exited (${code ?? signal}) before listening:\n${this.log}`));
      });
    });
    await ready;
    this.token = readFileSync(join(this.dir, 'admin.token'), 'utf8').trim();
    this.secrets.add(this.token);
    return this;
  }

  // The flags that name this instance's store, for a test that starts
  // hookd itself on the same data directory: none on LMDB.
  storeArgs() {
    return this.store ? ['--store', this.store] : [];
  }

  // What the store keeps, as bytes to search: data.mdb on LMDB, every
  // record of the database on PostgreSQL (printable bytes as they are).
  async storeBytes() {
    if (!this.store) return readFileSync(join(this.dir, 'data.mdb'));
    const { dump } = await import('./pg.mjs');
    return dump(this.store);
  }

  // Sends SIGTERM and waits; returns the exit status.
  async stop({ timeoutMs = 15000 } = {}) {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return this.check(await this.exited);
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const st = await this.exited;
    clearTimeout(t);
    return this.check(st);
  }

  // Starts again on the same data dir (after stop or kill), new ports.
  async restart(args = this.args) {
    this.args = args;
    this.pub = undefined;
    this.logs.push(this.log);
    this.log = '';
    return this.start();
  }

  async kill() {
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  check(st) {
    if (SANITIZER.test(this.log)) throw new Error(`sanitizer report:\n${this.log}`);
    const all = this.logs.join('') + this.log;
    for (const s of this.secrets)
      if (all.includes(s)) throw new Error(`a secret in the log: ${s.slice(0, 10)}...`);
    return st;
  }

  cleanup() {
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }

  // An admin API call; returns {status, headers, body (parsed or text)}.
  async api(method, path, body, { token = this.token, headers = {} } = {}) {
    const h = { ...headers };
    if (token !== null) h.authorization = `Bearer ${token}`;
    let data;
    if (body !== undefined) {
      h['content-type'] = 'application/json';
      data = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const r = await request(this.admin + path, { method, headers: h, body: data });
    this.note(r.text);
    if (data !== undefined) this.note(data);
    return r;
  }

  // A POST to the public listener.
  async post(path, body, headers = {}) {
    const h = { 'content-type': 'application/json', ...headers };
    const data = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    for (const v of Object.values(h)) this.note(v);
    this.note(path);
    const r = await request(this.pub + path, { method: 'POST', headers: h, body: data });
    // A refusal never echoes the credential it was sent.
    for (const v of [...Object.values(h), path])
      for (const m of String(v).matchAll(SECRET))
        if (r.text.includes(m[0])) throw new Error(`an answer echoed a secret: ${m[0].slice(0, 10)}...`);
    return r;
  }
}

export async function request(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10000) });
  const text = await res.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body, text };
}

// Sends raw bytes and returns what came back before the server closed
// or WAITMS of silence passed. END half-closes after the bytes
// (shutdown(SHUT_WR)); DETAIL resolves with {got, closed}, closed false
// when hookd still held the connection open.
export function raw(url, bytes, { waitMs = 3000, end = false, detail = false } = {}) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port), u.hostname);
    let got = '';
    const done = (closed) => resolve(detail ? { got, closed } : got);
    s.setEncoding('latin1');
    s.on('data', (d) => { got += d; });
    s.on('error', () => {});
    s.on('close', () => done(true));
    s.setTimeout(waitMs, () => { done(false); s.destroy(); });
    s.on('connect', () => (end ? s.end(bytes) : s.write(bytes)));
  });
}

// Starts a hookd; registers its stop with the test context T.
export async function startHookd(t, opts) {
  const h = await new Hookd(opts).start();
  t.after(async () => {
    try { await h.stop(); } finally { h.cleanup(); }
  });
  return h;
}

// Arms test/fault/diskfail.c with MODE ("EIO", "ENOSPC", "SHORT") at once:
// the shim reads the file on every write, and a file seen before its
// line is written would be the default mode (EIO), so it is renamed in.
export function armFault(path, mode) {
  writeFileSync(`${path}.tmp`, `${mode}\n`);
  renameSync(`${path}.tmp`, path);
}
