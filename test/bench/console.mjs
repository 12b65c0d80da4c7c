// test/bench/console.mjs: how fast the console is against a hookd that
// holds many events (the console issue's Speed section). Not a test: it
// prints figures. Run by scripts/bench-console.
//
// It starts hookd (HOOKD_BIN, default server/hookd), publishes
// BENCH_EVENTS events (default 100 000) of 10 types, each with one
// delivery to a closed loopback port (one attempt; the first fail, the
// open circuit keeps the rest pending), then
// drives Debian's chromium: the first load (bytes of HTML, CSS and JS,
// time to the drawn overview) and, for each page, the time from the
// address change to the page drawn with its data (the console marks
// main[data-view] then), median and worst of 5.
// Targets: first load under 150 KiB; every page under 200 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import puppeteer from 'puppeteer-core';
import { Hookd, dataRoot } from '../lib/hookd.mjs';

process.env.HOOKD_BIN ||= 'server/hookd';
const N = Number(process.env.BENCH_EVENTS || 100000);
const CONC = 32;

// A loopback port with nothing listening: every delivery fails at once.
async function deadPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const hd = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8', '--map-size', '8GiB'] }).start();
const profile = mkdtempSync(join(dataRoot(), 'chromium-bench-'));
let browser;
try {
  const wh = await hd.api('POST', '/api/webhooks', { name: 'bench', auth: 'none', rateLimit: 0 });
  const sub = await hd.api('POST', '/api/subscriptions', { url: `http://127.0.0.1:${await deadPort()}/x`, events: ['*'], retry: { maxAttempts: 1 } });
  if (wh.status !== 201 || sub.status !== 201) throw new Error(`setup: ${wh.text} ${sub.text}`);
  const t0 = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next < N) {
      const i = next++;
      const r = await hd.api('POST', '/api/events', { event: `bench.type${i % 10}`, payload: { i, note: 'x'.repeat(200) } });
      if (r.status !== 202) throw new Error(`publish ${i}: ${r.status} ${r.text}`);
    }
  }));
  const secs = (Date.now() - t0) / 1000;
  console.log(`published ${N} events in ${secs.toFixed(1)} s (${Math.round(N / secs)}/s)`);
  // Some deliveries fail at once; then the open circuit holds the rest
  // pending (as a dead endpoint does in real life): both lists have rows.
  for (let i = 0; i < 100; i++) {
    const s = (await hd.api('GET', '/api/stats')).body;
    if (s.delivery.failed > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const some = (await hd.api('GET', '/api/events?limit=1')).body.data[0].id;

  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const bodies = [];
  page.on('response', (r) => {
    if (/^\/(|app\.js|app\.css|index\.html)$/.test(new URL(r.url()).pathname)) bodies.push(r.buffer());
  });
  // Where the first load's time goes: each request's start and end.
  const reqs = new Map();
  page.on('request', (r) => reqs.set(r, { url: new URL(r.url()).pathname, t0: Date.now() }));
  page.on('requestfinished', (r) => {
    const x = reqs.get(r);
    if (!x) return;
    x.t1 = Date.now();
  });
  // The page's own clock too: when the overview is drawn, from the start
  // of the navigation (what a user sees, without the driver's latency).
  await page.evaluateOnNewDocument(() => {
    new MutationObserver((_, obs) => {
      const m = document.querySelector('main[data-view="overview"]');
      if (m) { window.__drawnAt = performance.now(); obs.disconnect(); }
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  const l0 = Date.now();
  await page.goto(`${hd.admin}/#token=${encodeURIComponent(hd.token)}`);
  await page.waitForSelector('main[data-view="overview"]');
  const drawn = Date.now() - l0;
  const inPage = Math.round(await page.evaluate(() => window.__drawnAt));
  const bytes = (await Promise.all(bodies)).reduce((n, b) => n + b.length, 0);
  console.log(`first load: ${bytes} bytes (HTML, CSS, JS; ${(bytes / 1024).toFixed(1)} KiB), overview drawn ${inPage} ms after the navigation began by the page's clock (${drawn} ms as the driver saw it)`);
  console.log(`  its requests (start-end ms after the navigation began): ${[...reqs.values()]
    .filter((x) => x.t1 !== undefined && x.t0 - l0 <= drawn)
    .map((x) => `${x.url} ${x.t0 - l0}-${x.t1 - l0}`).join(', ')}`);

  const pages = [
    ['#/webhooks', 'webhooks'], ['#/webhooks/bench', 'webhooks/bench'], ['#/events', 'events'],
    ['#/events?type=bench.type3', 'events'], [`#/events/${some}`, `events/${some}`],
    ['#/deliveries', 'deliveries'], ['#/deliveries?status=failed', 'deliveries'],
    ['#/subscriptions', 'subscriptions'], [`#/subscriptions/${sub.body.id}`, `subscriptions/${sub.body.id}`],
    ['#/', 'overview'],
  ];
  console.log('page (address change to drawn with its data)      median   worst');
  for (const [hash, view] of pages) {
    const times = [];
    for (let k = 0; k < 5; k++) {
      await page.evaluate(() => { location.hash = '#/live'; });
      await page.waitForSelector('main[data-view="live"]');
      times.push(await page.evaluate((hsh, v) => new Promise((resolve) => {
        const t = performance.now();
        const main = document.querySelector('main');
        const obs = new MutationObserver(() => {
          if (main.dataset.view === v) { obs.disconnect(); resolve(performance.now() - t); }
        });
        obs.observe(main, { attributes: true });
        location.hash = hsh;
      }), hash, view));
    }
    console.log(`${hash.padEnd(50)} ${median(times).toFixed(0).padStart(6)} ms ${Math.max(...times).toFixed(0).padStart(5)} ms`);
  }
} finally {
  if (browser) await browser.close();
  rmSync(profile, { recursive: true, force: true });
  await hd.stop();
  hd.cleanup();
}
