// Logs (proto/operation.md): key=value lines, --log-level, --log-file reopened on
// SIGHUP; no secret in any line.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, Hookd } from '../lib/hookd.mjs';
import { poll } from '../lib/receiver.mjs';

it('writes key=value lines by level to --log-file and reopens it on SIGHUP', async () => {
  const h = new Hookd();
  const file = join(h.dir, 'hookd.log');
  h.args = ['--log-file', file, '--log-level', 'debug'];
  // The harness reads the listening line from stderr; with a log file it
  // goes there, so wait for the file instead.
  // Its listening line goes to the file: the harness never sees it.
  h.start().catch(() => {});
  await poll(() => existsSync(file) && /event=listening/.test(readFileSync(file, 'utf8')), 10000, 'the log file');
  const m = /public=(\S+) admin="?([^"\s]+)"?/.exec(readFileSync(file, 'utf8'));
  h.pub = `http://${m[1]}`;
  h.admin = `http://${m[2]}`;
  h.token = readFileSync(join(h.dir, 'admin.token'), 'utf8').trim();
  try {
    const wh = (await h.api('POST', '/api/webhooks', { name: 'lg' })).body;
    assert.equal((await h.post('/webhooks/lg', {}, { 'x-webhook-token': 'whtok_wrong' })).status, 401);
    await poll(() => /event=ingest_refused .*code=invalid_token/.test(readFileSync(file, 'utf8')), 5000, 'the refusal line');
    renameSync(file, `${file}.1`);
    h.proc.kill('SIGHUP');
    await poll(() => existsSync(file), 5000, 'the reopened file');
    assert.equal((await h.post('/webhooks/lg', {}, { 'x-webhook-token': 'whtok_wrong' })).status, 401);
    await poll(() => /event=ingest_refused/.test(readFileSync(file, 'utf8')), 5000, 'a line in the new file');
    const all = readFileSync(`${file}.1`, 'utf8') + readFileSync(file, 'utf8');
    for (const line of all.trim().split('\n')) assert.match(line, /^ts=\S+ level=(debug|info|warn|error) event=\w+( \w+=("([^"\\]|\\.)*"|\S+))*$/, line);
    for (const secret of [wh.token, wh.secret, h.token]) assert.equal(all.includes(secret), false);
  } finally {
    await h.stop();

    h.cleanup();
  }
});

it('--log-level warn leaves out info and debug lines', async () => {
  const h = await new Hookd().start();
  await h.api('POST', '/api/webhooks', { name: 'open', auth: 'none' });
  await h.stop();
  const file = join(h.dir, 'warn.log');
  const { spawn } = await import('node:child_process');
  const p = spawn(BIN, ['--data', h.dir, ...h.storeArgs(), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-level', 'warn', '--log-file', file]);
  const exited = new Promise((r) => p.on('exit', (code) => r(code)));
  try {
    await poll(() => existsSync(file) && /event=webhook_unauthenticated/.test(readFileSync(file, 'utf8')), 10000, 'the warning');
  } finally {
    p.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
  const text = readFileSync(file, 'utf8');
  assert.match(text, /level=warn event=webhook_unauthenticated webhook=wh_\S+ name=open/);
  assert.doesNotMatch(text, /level=(info|debug)/);
  h.cleanup();
});
