// test/lib/pg.mjs: a real PostgreSQL 15 for the tests (Debian's binaries).
//
// start() makes a cluster in a temp dir owned by the unprivileged
// `postgres` user (initdb and the server run as it, through runuser, since
// tests may run as root), on a free port with its unix socket in the temp
// dir and fsync on, and returns {url, dir, createdb(name), stop()}. stop()
// stops that server by its PID (pg_ctl reads postmaster.pid), never by
// name. pair() starts a primary and its synchronous streaming standby
// (cluster failover tests). shared() starts one such server per test process, stopped when
// the process exits; databaseFor(key) gives each key (a Hookd's data
// directory) its own database there, so tests stay independent and a
// restart on the same directory finds its data again.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

// A temp dir owned by the postgres user (the server runs as it).
function ownedDir(prefix) {
  // /tmp: the socket's path must stay short (108 bytes).
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (process.getuid() === 0) {
    const uid = uidOf('postgres');
    chownSync(dir, uid, uid);
  }
  return dir;
}

// One server on data directory DATA (made already), its socket in DIR,
// on PORT, with EXTRA options on its command line (not in
// postgresql.conf, so a base backup of it does not copy them).
function server(dir, data, port, extra = '') {
  const opts = `-p ${port} -k ${dir} -c listen_addresses='' -c fsync=on -c synchronous_commit=on -c max_connections=200 -c shared_buffers=32MB ${extra}`;
  const up = () => {
    const q = asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', opts, 'start']);
    if (q.status !== 0) throw new Error(`pg_ctl start failed:\n${q.stdout}${q.stderr}`);
  };
  // pg_ctl stops the postmaster whose PID is in postmaster.pid.
  const down = (mode = 'fast') => {
    if (existsSync(join(data, 'postmaster.pid')))
      asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  };
  const url = (db) => `postgresql:///${db}?host=${encodeURIComponent(dir)}&port=${port}&user=postgres`;
  const psql = (sql, db = 'postgres', flags = ['-q']) => {
    const q = spawnSync(join(PGBIN, 'psql'), ['-X', ...flags, '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', 'postgres', '-d', db, '-c', sql], { encoding: 'utf8', timeout: 30000 });
    if (q.status !== 0) throw new Error(`psql ${sql}: ${q.stderr}`);
    return q.stdout;
  };
  // The postmaster's PID, from its own file (0: not running).
  const pid = () => {
    try {
      return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]) || 0;
    } catch { return 0; }
  };
  return { dir, data, port, url, psql, up, down, pid };
}

export async function start() {
  const dir = ownedDir('hookd-pg-');
  const data = join(dir, 'data');
  const port = await freePort();
  const r = asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync']);
  if (r.status !== 0) throw new Error(`initdb failed:\n${r.stdout}${r.stderr}`);
  // Trust on the socket in the temp dir, but for the role hookd_pw, which
  // must give its password (the tests of a wrong one).
  writeFileSync(join(data, 'pg_hba.conf'), 'local all hookd_pw scram-sha-256\nlocal all all trust\n');
  const s = server(dir, data, port);
  s.up();
  let stopped = false;
  return {
    dir, port, url: s.url, psql: s.psql,
    // The server stops (SIGINT to its postmaster: a fast shutdown) and
    // comes back on the same port and data: what a restart of the
    // database looks like to hookd.
    down: s.down, up: s.up,
    createdb(name) {
      if (!s.psql(`SELECT 1 FROM pg_database WHERE datname = '${name}'`).includes('1'))
        s.psql(`CREATE DATABASE ${name}`);
      return s.url(name);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      s.down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Waits (at most MS) until FN() is true; FN is synchronous.
async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    try { if (fn()) return; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A primary and a synchronous streaming standby (SPEC 9: PostgreSQL's own
// high availability), each in its own temp dir (its socket there too) on
// a free port. The standby is a base backup of the primary (-R: it
// streams from it) under the application name "standby", which the
// primary's synchronous_standby_names names, so a COMMIT returns only
// once the standby has flushed it. That setting is on the primary's
// command line, not in its postgresql.conf: the standby, promoted, must
// not wait for a standby of its own.
//
// Returns {primary, standby, conninfo(db), createdb(name), promote(),
// killPrimary(), stop()}; primary and standby each have dir, port, psql,
// up, down, pid. killPrimary() is kill -9 of the primary's postmaster
// and every process of its group (its backends: a crash of the
// machine, not a shutdown); promote() makes the standby the primary.
export async function pair() {
  const dir = ownedDir('hookd-pgha-');
  const mk = (name) => {
    const d = join(dir, name);
    mkdirSync(d);
    if (process.getuid() === 0) chownSync(d, uidOf('postgres'), uidOf('postgres'));
    return d;
  };
  const pdir = mk('p'), sdir = mk('s');
  const pport = await freePort();
  let sport = await freePort();
  while (sport === pport) sport = await freePort();
  const pdata = join(pdir, 'data'), sdata = join(sdir, 'data');
  let r = asPostgres('initdb', ['-D', pdata, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync']);
  if (r.status !== 0) throw new Error(`initdb failed:\n${r.stdout}${r.stderr}`);
  writeFileSync(join(pdata, 'pg_hba.conf'), 'local all all trust\nlocal replication all trust\n');
  const primary = server(pdir, pdata, pport,
    '-c wal_level=replica -c max_wal_senders=8 -c wal_keep_size=128MB -c synchronous_standby_names=standby');
  primary.up();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    // A killed server's postmaster.pid names a PID that is gone.
    for (const s of [standby, primary]) {
      try { if (s && !s.killed) s.down('immediate'); } catch { /* stopped already */ }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let standby;
  try {
    r = asPostgres('pg_basebackup', ['-D', sdata, '-h', pdir, '-p', String(pport), '-U', 'postgres', '-R', '-X', 'stream', '--no-sync', '-c', 'fast'], { timeout: 60000 });
    if (r.status !== 0) throw new Error(`pg_basebackup failed:\n${r.stdout}${r.stderr}`);
    // The name the primary waits for (a later line overrides -R's).
    const auto = join(sdata, 'postgresql.auto.conf');
    appendFileSync(auto, `primary_conninfo = 'host=${pdir} port=${pport} user=postgres application_name=standby'\n`);
    standby = server(sdir, sdata, sport, '-c hot_standby=on');
    standby.up();
    await until(() => /sync/.test(primary.psql("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'", 'postgres', ['-At'])),
      30000, 'the standby streaming, synchronous');
  } catch (e) {
    stop();
    throw e;
  }
  process.on('exit', stop);
  return {
    dir, primary, standby, stop,
    // Both servers in one multi-host conninfo: libpq takes the first
    // that accepts writes.
    conninfo: (db) => `host=${pdir},${sdir} port=${pport},${sport} dbname=${db} user=postgres target_session_attrs=read-write`,
    createdb(name) {
      primary.psql(`CREATE DATABASE ${name}`);
      return this.conninfo(name);
    },
    killPrimary() {
      const pid = primary.pid();
      if (pid <= 0) return;
      // Its children by their parent's PID (each is a session of its
      // own), known before the postmaster goes: they are then init's.
      const kids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
        try {
          const st = readFileSync(`/proc/${n}/stat`, 'utf8');
          return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === pid;
        } catch { return false; }
      }).map(Number);
      // The postmaster first: a child killed under a live one would be
      // a crash it recovers from by itself.
      process.kill(pid, 'SIGKILL');
      for (const k of kids) {
        try { process.kill(k, 'SIGKILL'); } catch { /* gone already */ }
      }
      primary.killed = true;
    },
    async promote() {
      const q = asPostgres('pg_ctl', ['-D', sdata, '-w', '-t', '60', 'promote']);
      if (q.status !== 0) throw new Error(`pg_ctl promote failed:\n${q.stdout}${q.stderr}`);
      await until(() => standby.psql('SELECT pg_is_in_recovery()', 'postgres', ['-At']).trim() === 'f', 30000, 'the standby promoted');
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
