// POST /api/templates/preview (proto/admin.md): the template judged as a
// subscription's is when saved (the same 400 and message), rendered
// against the sample event, an event given in the body or a stored one,
// with payload numbers keeping their digits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hookd, request } from '../lib/hookd.mjs';

const P = '/api/templates/preview';

test('a template preview renders as the engine would, and refuses what a subscription refuses', async () => {
  const hd = await new Hookd({ args: ['--allow-targets', '127.0.0.0/8'] }).start();
  try {
    const t = '{"t":"${event_type}","i":"${event_id}","n":"${source_name}","x":${payload.x},"s":"${payload.s}"}';
    // The sample event of the save check: every payload field is 0.
    let r = await hd.api('POST', P, { template: t });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { body: '{"t":"sample.event","i":"evt_sample","n":"sample","x":0,"s":"0"}', json: true });

    // A stored event: the payload's text, a 64-bit id kept as sent.
    const ev = await hd.api('POST', '/api/events', '{"event":"order.paid","payload":{"x":1096473593264894053,"s":"a\\"b"}}');
    assert.equal(ev.status, 202);
    r = await hd.api('POST', P, { template: t, eventId: ev.body.eventId });
    assert.equal(r.status, 200);
    assert.ok(r.body.body.includes('"x":1096473593264894053'), r.text);
    assert.equal(r.body.json, true);
    assert.equal(JSON.parse(r.body.body).t, 'order.paid');
    assert.equal(JSON.parse(r.body.body).i, ev.body.eventId);
    assert.equal(JSON.parse(r.body.body).s, 'a"b');

    // An event given in the body, as GET /api/events/{id} shows one.
    r = await hd.api('POST', P, `{"template":${JSON.stringify(t)},"event":{"event":"push","source":{"name":"gh"},"payload":{"x":12345678901234567890,"s":"é"}}}`);
    assert.equal(r.status, 200);
    assert.ok(r.body.body.includes('"x":12345678901234567890'), r.text);
    assert.equal(JSON.parse(r.body.body).n, 'gh');
    assert.equal(JSON.parse(r.body.body).s, 'é');

    // Valid when saved, yet not JSON for this event (a missing field
    // inserts nothing): said, not refused.
    r = await hd.api('POST', P, { template: '{"a":${payload.missing}}', eventId: ev.body.eventId });
    assert.deepEqual(r.body, { body: '{"a":}', json: false });

    // The refusals of the save check, word for word.
    for (const bad of ['${nope}', '{"a":}', '${payload']) {
      const p = await hd.api('POST', P, { template: bad });
      const s = await hd.api('POST', '/api/subscriptions', { url: 'http://127.0.0.1:9/x', events: ['*'], template: bad });
      assert.equal(p.status, 400, bad);
      assert.equal(s.status, 400, bad);
      assert.equal(p.body.error.code, 'bad_request');
      assert.equal(p.body.error.message, s.body.error.message, bad);
    }
    for (const [body, status] of [
      [{}, 400], [{ template: 1 }, 400], [{ template: 'x'.repeat(65537) }, 400], [{ template: '{}', extra: 1 }, 400],
      [{ template: '{}', event: {}, eventId: 'evt_x' }, 400], [{ template: '{}', event: [] }, 400],
      [{ template: '{}', event: { id: 5 } }, 400], [{ template: '{}', event: { timestamp: 'yesterday' } }, 400],
      [{ template: '{}', eventId: 'evt_01ARZ3NDEKTSV4RRFFQ69G5FAV' }, 404], [{ template: '{}', eventId: '../x' }, 404],
    ]) {
      const x = await hd.api('POST', P, body);
      assert.equal(x.status, status, JSON.stringify(body).slice(0, 80));
      assert.ok(x.body.error.message, JSON.stringify(body).slice(0, 80));
    }
    assert.equal((await hd.api('POST', P, '{"template":')).status, 400);
    assert.equal((await hd.api('GET', P)).status, 405);
    assert.equal((await hd.api('POST', '/api/templates/other', { template: '{}' })).status, 404);
    assert.equal((await request(`${hd.admin}${P}`, { method: 'POST', body: '{"template":"{}"}' })).status, 401);
  } finally {
    await hd.stop();
    hd.cleanup();
  }
});
