// test/lib/pg.mjs: a real PostgreSQL 15 for the tests (Debian's binaries).
//
// start() makes a cluster in a temp dir owned by the unprivileged
// `postgres` user (initdb and the server run as it, through runuser, since
// tests may run as root), on a free port with its unix socket in the temp
// dir and fsync on, and returns {url, dir, createdb(name), stop()}. stop()
// stops that server by its PID (pg_ctl reads postmaster.pid), never by
// name. shared() starts one such server per test process, stopped when
// the process exits; databaseFor(key) gives each key (a Hookd's data
// directory) its own database there, so tests stay independent and a
// restart on the same directory finds its data again.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PGBIN = process.env.HOOKD_PGBIN || '/usr/lib/postgresql/15/bin';

function asPostgres(cmd, args, opts = {}) {
  const pre = process.getuid() === 0 ? ['runuser', ['-u', 'postgres', '--', join(PGBIN, cmd), ...args]]
    : [join(PGBIN, cmd), args];
  return spawnSync(pre[0], pre[1], { encoding: 'utf8', ...opts });
}

function uidOf(user) {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function start() {
  // /tmp: the socket's path must stay short (108 bytes).
  const dir = mkdtempSync(join(tmpdir(), 'hookd-pg-'));
  if (process.getuid() === 0) {
    const uid = uidOf('postgres');
    chownSync(dir, uid, uid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  let r = asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync']);
  if (r.status !== 0) throw new Error(`initdb failed:\n${r.stdout}${r.stderr}`);
  // Trust on the socket in the temp dir, but for the role hookd_pw, which
  // must give its password (the tests of a wrong one).
  writeFileSync(join(data, 'pg_hba.conf'), 'local all hookd_pw scram-sha-256\nlocal all all trust\n');
  const opts = `-p ${port} -k ${dir} -c listen_addresses='' -c fsync=on -c synchronous_commit=on -c max_connections=200 -c shared_buffers=32MB`;
  const up = () => {
    const q = asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', opts, 'start']);
    if (q.status !== 0) throw new Error(`pg_ctl start failed:\n${q.stdout}${q.stderr}`);
  };
  // pg_ctl stops the postmaster whose PID is in postmaster.pid.
  const down = (mode = 'fast') => {
    if (existsSync(join(data, 'postmaster.pid')))
      asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  };
  up();
  const url = (db) => `postgresql:///${db}?host=${encodeURIComponent(dir)}&port=${port}&user=postgres`;
  const psql = (sql, db = 'postgres') => {
    const q = spawnSync(join(PGBIN, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', 'postgres', '-d', db, '-c', sql], { encoding: 'utf8' });
    if (q.status !== 0) throw new Error(`psql ${sql}: ${q.stderr}`);
    return q.stdout;
  };
  let stopped = false;
  return {
    dir, port, url, psql,
    // The server stops (SIGINT to its postmaster: a fast shutdown) and
    // comes back on the same port and data: what a restart of the
    // database looks like to hookd.
    down, up,
    createdb(name) {
      if (!psql(`SELECT 1 FROM pg_database WHERE datname = '${name}'`).includes('1'))
        psql(`CREATE DATABASE ${name}`);
      return url(name);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let shared_;
export async function shared() {
  if (!shared_) {
    shared_ = start();
    const s = await shared_;
    process.on('exit', () => s.stop());
  }
  return shared_;
}

// The database of KEY on the shared server, created the first time.
export async function databaseFor(key) {
  const s = await shared();
  const name = 'hookd_' + createHash('sha256').update(key).digest('hex').slice(0, 16);
  return s.createdb(name);
}

// Every record of database URL as bytes: bytea's printable bytes as they
// are (encode 'escape'), so a plaintext secret would show.
export function dump(url) {
  const sql = ['hookd_webhooks', 'hookd_subs', 'hookd_events', 'hookd_reqlog', 'hookd_attempts']
    .map((t) => `SELECT encode(body, 'escape') FROM ${t}`)
    .concat(["SELECT encode(rec, 'escape') FROM hookd_deliveries", "SELECT encode(key, 'escape') FROM hookd_idem"])
    .join(' UNION ALL ');
  const q = spawnSync(join(PGBIN, 'psql'), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], { maxBuffer: 1 << 30 });
  if (q.status !== 0) throw new Error(`psql: ${q.stderr}`);
  return q.stdout;
}
