// TLS on both listeners (ISSUE17 item 5, SPEC §7): the test makes its own
// CA and server certificates with openssl, starts hookd with the public
// and the admin listener on TLS, and talks to it with node's https and
// tls and with `openssl s_client`: versions, trust, keep-alive, churn,
// a TLS slowloris, certificates reread on SIGHUP, bad files at start.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import { Hookd, BIN, dataRoot } from '../lib/hookd.mjs';
import { Receiver } from '../lib/receiver.mjs';

const dir = mkdtempSync(join(tmpdir(), 'hookd-tls-'));
const f = (n) => join(dir, n);

function ossl(...args) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// A CA, and server certificates s1 and s2 it signed for 127.0.0.1; a
// second CA's (untrusted) is not needed: a client without CA A fails.
function makePki() {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=hookd test CA', '-days', '2');
  writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const s of ['s1', 's2']) {
    ossl('req', ...ec, '-keyout', `${s}.key`, '-out', `${s}.csr`, '-subj', `/CN=${s}`);
    ossl('x509', '-req', '-in', `${s}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${s}.crt`, '-days', '2', '-extfile', 'ext');
  }
}

makePki();
after(() => rmSync(dir, { recursive: true, force: true }));

const fp = (file) => new X509Certificate(readFileSync(file)).fingerprint256;

// One request over https; resolves {status, body, fingerprint, reused}.
function req(base, path, { method = 'GET', body, headers = {}, agent = false, ca, timeoutMs = 8000 } = {}) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined) {
      h['content-type'] = 'application/json';
      h['content-length'] = Buffer.byteLength(body);
    }
    const r = https.request({ host: u.hostname, port: Number(u.port), path, method, agent, ca, headers: h }, (res) => {
      let text = '';
      const fingerprint = res.socket.getPeerCertificate().fingerprint256;
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, body: parsed, text, reused: r.reusedSocket, fingerprint });
      });
    });
    r.setTimeout(timeoutMs, () => r.destroy(new Error('timed out')));
    r.on('error', reject);
    r.end(body);
  });
}

// `openssl s_client` with VERSION (-tls1 ...); {ok, out}.
function sClient(port, version, extra = []) {
  const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, version,
    '-CAfile', f('ca.crt'), '-verify_return_error', ...extra],
  { input: '', encoding: 'utf8', timeout: 10000 });
  const out = `${r.stdout}\n${r.stderr}`;
  const m = /Protocol\s*:\s*(\S+)/.exec(out) || /New, (TLSv[\d.]+), Cipher is (?!\(NONE\))/.exec(out);
  return { ok: r.status === 0 && m !== null && !/Cipher is \(NONE\)/.test(out), proto: m?.[1], out };
}

// A raw TCP connection that sends BYTES, then waits; resolves with the
// ms until the server closed it, or -1 after WAITMS.
function lingerTcp(port, bytes, waitMs) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(port, '127.0.0.1');
    const done = (v) => { clearTimeout(timer); s.destroy(); resolve(v); };
    const timer = setTimeout(() => done(-1), waitMs);
    s.on('connect', () => { if (bytes.length) s.write(bytes); });
    s.on('data', () => {});
    s.on('error', () => done(Date.now() - t0));
    s.on('close', () => done(Date.now() - t0));
  });
}

// Starts hookd with ARGS expecting it to exit; {code, log}.
function startFails(args) {
  const d = mkdtempSync(join(dataRoot(), 'hookd-tls-bad-'));
  const r = spawnSync(BIN, ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--data', d, ...args],
    { encoding: 'utf8', timeout: 15000, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
  rmSync(d, { recursive: true, force: true });
  return { code: r.status, signal: r.signal, log: r.stderr };
}

async function until(pred, ms, what) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('TLS', () => {
  let h, rx, pub, admin, ca;
  const pubPort = () => Number(new URL(pub).port);

  before(async () => {
    ca = readFileSync(f('ca.crt'));
    copyFileSync(f('s1.crt'), f('cert.pem'));
    copyFileSync(f('s1.key'), f('key.pem'));
    rx = await new Receiver().start();
    h = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8', '--request-timeout', '1s', '--idle-timeout', '30s',
      '--tls-cert', f('cert.pem'), '--tls-key', f('key.pem'),
      '--admin-tls-cert', f('s1.crt'), '--admin-tls-key', f('s1.key')] }).start();
    pub = h.pub.replace(/^http:/, 'https:');
    admin = h.admin.replace(/^http:/, 'https:');
  });
  after(async () => {
    try { await h.stop(); } finally { h.cleanup(); await rx.stop(); }
  });

  const api = (method, path, body, opts = {}) =>
    req(admin, path, { method, body: body === undefined ? undefined : JSON.stringify(body), ca,
      headers: { authorization: `Bearer ${h.token}` }, ...opts });

  it('the admin API answers over https with the token, 401 without', async () => {
    const r = await api('GET', '/api/webhooks');
    assert.equal(r.status, 200, r.text);
    const no = await req(admin, '/api/webhooks', { ca });
    assert.equal(no.status, 401);
  });

  it('hookctl reaches an https admin listener with --cacert, and refuses one it cannot trust', () => {
    const ctl = (...args) => spawnSync(join(dirname(BIN), 'hookctl'), ['-a', admin, '-T', join(h.dir, 'admin.token'), ...args],
      { encoding: 'utf8', timeout: 15000, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
    const ok = ctl('--cacert', f('ca.crt'), '--json', 'webhooks', 'list');
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(Array.isArray(JSON.parse(ok.stdout).data));
    const env = spawnSync(join(dirname(BIN), 'hookctl'), ['-a', admin, '-T', join(h.dir, 'admin.token'), 'webhooks', 'list'],
      { encoding: 'utf8', timeout: 15000, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', HOOKD_CACERT: f('ca.crt') } });
    assert.equal(env.status, 0, env.stderr);
    const no = ctl('webhooks', 'list');
    assert.equal(no.status, 1);
    assert.match(no.stderr, /^hookctl: .*(certificate|SSL)/im);
    assert.doesNotMatch(ok.stderr + no.stderr + env.stderr, /Sanitizer|runtime error/);
  });

  it('an https client trusting the CA posts an event: 202, delivered over plain http; URLs are https', async () => {
    const w = await api('POST', '/api/webhooks', { name: 'n', auth: 'none', rateLimit: 0 });
    assert.equal(w.status, 201, w.text);
    assert.match(w.body.url, /^https:\/\/127\.0\.0\.1:\d+\/webhooks\/n$/);
    const s = await api('POST', '/api/subscriptions', { url: `${rx.url}/tls`, events: ['*'] });
    assert.equal(s.status, 201, s.text);
    const r = await req(pub, '/webhooks/n', { method: 'POST', body: '{"via":"https"}', ca });
    assert.equal(r.status, 202, r.text);
    await rx.until(() => rx.to('/tls').length === 1, 10000, 'the delivery');
    assert.match(rx.to('/tls')[0].body, /"via":"https"/);
    assert.match(h.log, /event=listening .*tls=/);
  });

  it('a client that does not trust the CA fails the handshake', async () => {
    await assert.rejects(req(pub, '/webhooks/n', { method: 'POST', body: '{}' }), /self[- ]signed|unable to (get|verify)/i);
    await assert.rejects(req(admin, '/api/webhooks'), /self[- ]signed|unable to (get|verify)/i);
  });

  it('refuses TLS 1.0 and 1.1, speaks 1.2 and 1.3 (openssl s_client)', () => {
    // SECLEVEL=0 lets this client offer the old versions at all; a build
    // that still cannot (no protocols available) fails the handshake too,
    // which is all that is asserted for them.
    for (const v of ['-tls1', '-tls1_1']) {
      const r = sClient(pubPort(), v, ['-cipher', 'DEFAULT@SECLEVEL=0']);
      assert.equal(r.ok, false, `${v} was accepted:\n${r.out}`);
      // hookd's protocol_version alert, or this client could not offer it.
      assert.match(r.out, /alert protocol version|no protocols available|unsupported protocol/i, r.out);
    }
    const r12 = sClient(pubPort(), '-tls1_2');
    assert.ok(r12.ok, r12.out);
    assert.match(r12.out, /TLSv1\.2/);
    assert.match(r12.out, /ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/);
    const r13 = sClient(pubPort(), '-tls1_3');
    assert.ok(r13.ok, r13.out);
    assert.match(r13.out, /TLSv1\.3/);
    // ALPN: http/1.1 chosen when offered; h2 alone gets no ALPN answer.
    assert.match(sClient(pubPort(), '-tls1_3', ['-alpn', 'h2,http/1.1']).out, /ALPN protocol: http\/1\.1/);
    const h2 = sClient(pubPort(), '-tls1_3', ['-alpn', 'h2']);
    assert.ok(h2.ok, h2.out);
    assert.match(h2.out, /No ALPN negotiated/);
    // A TLS 1.2 client offering only CBC ciphers is refused.
    const cbc = sClient(pubPort(), '-tls1_2', ['-cipher', 'ECDHE-ECDSA-AES128-SHA']);
    assert.equal(cbc.ok, false, cbc.out);
  });

  it('keeps a connection alive over TLS for several requests', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    try {
      for (let i = 0; i < 5; i++) {
        const r = await req(pub, '/webhooks/n', { method: 'POST', body: `{"k":${i}}`, agent });
        assert.equal(r.status, 202, r.text);
        if (i > 0) assert.equal(r.reused, true, `request ${i} opened a new connection`);
      }
    } finally { agent.destroy(); }
  });

  it('answers 30 Connection: close requests in a row over TLS (agent:false)', async () => {
    const got = [];
    for (let i = 0; i < 30; i++) {
      const r = await req(pub, '/webhooks/n', { method: 'POST', body: `{"c":${i}}`, ca, headers: { connection: 'close' } })
        .catch(() => ({ status: 0 }));
      got.push(r.status);
    }
    assert.deepEqual(got, Array(30).fill(202));
    const r = await api('GET', '/api/webhooks');
    assert.equal(r.status, 200);
  });

  it('cuts a TLS slowloris at --request-timeout: no bytes, half a ClientHello, a dribbled request', async () => {
    // A ClientHello's record header and the start of its body: never completed.
    const half = Buffer.from('160301020001000200' + '0303' + 'ab'.repeat(40), 'hex');
    const [none, hello] = await Promise.all([lingerTcp(pubPort(), Buffer.alloc(0), 10000),
      lingerTcp(pubPort(), half, 10000)]);
    assert.ok(none > 0, 'a connection that never sent its ClientHello was kept 10 s (idle timeout is 30 s)');
    assert.ok(hello > 0, 'half a ClientHello was kept 10 s');
    const cut = await new Promise((resolve) => {
      const t0 = Date.now();
      const s = tls.connect({ host: '127.0.0.1', port: pubPort(), ca });
      const line = 'POST /webhooks/n HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}';
      let i = 0, timer;
      const done = (v) => { clearInterval(timer); clearTimeout(stop); s.destroy(); resolve(v); };
      const stop = setTimeout(() => done(-1), 10000);
      s.on('secureConnect', () => { timer = setInterval(() => { if (i < line.length - 1) s.write(line[i++]); }, 150); });
      s.on('data', () => {});
      s.on('error', () => done(Date.now() - t0));
      s.on('close', () => done(Date.now() - t0));
    });
    assert.ok(cut > 0, 'a request dribbled over TLS was kept 10 s');
  });

  it('survives unclean TLS closes (no close_notify, mid-handshake, mid-request)', async () => {
    const conns = [];
    for (let i = 0; i < 20; i++) {
      conns.push(new Promise((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: pubPort(), ca });
        s.on('error', () => resolve());
        s.on('secureConnect', () => {
          if (i % 2) s.write('POST /webhooks/n HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"');
          setTimeout(() => { s.destroy(); resolve(); }, 20);
        });
      }));
      conns.push(lingerTcp(pubPort(), Buffer.from('1603010200010001fc0303', 'hex'), 50));
    }
    await Promise.all(conns);
    const r = await req(pub, '/webhooks/n', { method: 'POST', body: '{}', ca });
    assert.equal(r.status, 202);
  });

  it('SIGHUP rereads the certificate: new connections get it, an open one keeps working', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    try {
      const a = await req(pub, '/webhooks/n', { method: 'POST', body: '{}', agent });
      assert.equal(a.fingerprint, fp(f('s1.crt')));
      copyFileSync(f('s2.crt'), f('cert.tmp'));
      copyFileSync(f('s2.key'), f('key.tmp'));
      renameSync(f('key.tmp'), f('key.pem'));
      renameSync(f('cert.tmp'), f('cert.pem'));
      const n = (h.log.match(/event=tls_reloaded/g) || []).length;
      h.proc.kill('SIGHUP');
      await until(() => (h.log.match(/event=tls_reloaded/g) || []).length > n, 5000, 'tls_reloaded');
      const fresh = await req(pub, '/webhooks/n', { method: 'POST', body: '{}', ca });
      assert.equal(fresh.status, 202);
      assert.equal(fresh.fingerprint, fp(f('s2.crt')));
      const old = await req(pub, '/webhooks/n', { method: 'POST', body: '{}', agent });
      assert.equal(old.status, 202);
      assert.equal(old.reused, true);
      assert.equal(old.fingerprint, fp(f('s1.crt')));
      // The admin listener's files did not change: its certificate neither.
      assert.equal((await api('GET', '/api/webhooks')).fingerprint, fp(f('s1.crt')));
    } finally { agent.destroy(); }
  });

  it('SIGHUP with a broken certificate file keeps the old one and logs an error', async () => {
    writeFileSync(f('cert.pem'), '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    const n = (h.log.match(/event=tls_reload_failed/g) || []).length;
    h.proc.kill('SIGHUP');
    await until(() => (h.log.match(/event=tls_reload_failed/g) || []).length > n, 5000, 'tls_reload_failed');
    assert.match(h.log, /level=error event=tls_reload_failed .*cert\.pem/);
    const r = await req(pub, '/webhooks/n', { method: 'POST', body: '{}', ca });
    assert.equal(r.status, 202);
    assert.equal(r.fingerprint, fp(f('s2.crt')));
  });
});

describe('TLS stop', () => {
  it('stops cleanly (exit 0, no leak) with TLS connections open: idle, mid-handshake, mid-request', async () => {
    const h = await new Hookd({ args: ['--tls-cert', f('s1.crt'), '--tls-key', f('s1.key')] }).start();
    const port = Number(new URL(h.pub).port);
    const socks = [];
    try {
      await Promise.all([0, 1].map((i) => new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(f('ca.crt')) });
        socks.push(s);
        s.on('error', () => {});
        s.on('secureConnect', () => {
          if (i) s.write('POST /webhooks/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{');
          resolve();
        });
        setTimeout(() => reject(new Error('no handshake')), 5000);
      })));
      const raw = net.connect(port, '127.0.0.1');
      raw.on('error', () => {});
      socks.push(raw);
      raw.write(Buffer.from('160301020001000200', 'hex'));
      const st = await h.stop();
      assert.equal(st.code, 0, h.log);
    } finally { for (const s of socks) s.destroy(); h.cleanup(); }
  });
});

describe('TLS start errors', () => {
  it('a certificate without its key (and the reverse) is a start error', () => {
    for (const args of [['--tls-cert', f('s1.crt')], ['--admin-tls-key', f('s1.key')]]) {
      const r = startFails(args);
      assert.equal(r.code, 1, r.log);
      assert.match(r.log, /tls.*(both|together)/i);
    }
  });

  it('a key that does not match the certificate: exit 1 with a message', () => {
    const r = startFails(['--tls-cert', f('s1.crt'), '--tls-key', f('s2.key')]);
    assert.equal(r.code, 1, r.log);
    assert.match(r.log, /event=tls .*s2\.key/);
    assert.match(r.log, /match/i);
  });

  it('a missing or unreadable file: exit 1 with a message', () => {
    let r = startFails(['--admin-tls-cert', f('nope.crt'), '--admin-tls-key', f('s1.key')]);
    assert.equal(r.code, 1, r.log);
    assert.match(r.log, /event=tls .*nope\.crt/);
    writeFileSync(f('junk.key'), 'junk\n');
    r = startFails(['--tls-cert', f('s1.crt'), '--tls-key', f('junk.key')]);
    assert.equal(r.code, 1, r.log);
    assert.match(r.log, /event=tls .*junk\.key/);
  });
});
