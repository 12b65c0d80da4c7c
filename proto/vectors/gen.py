#!/usr/bin/env python3
# Regenerates signatures.json from an implementation independent of
# hookd's C code (Python's hmac, hashlib and base64).
# Run from this directory: python3 gen.py > signatures.json
# and python3 gen.py --providers > providers.json (the schemes the
# providers' presets added: gitlab, shopify, zoom, meta, dropbox, x).
import base64, hashlib, hmac, json, sys

NOW = 1747862818  # 2025-05-21T21:26:58Z
BODY = '{"event":"push","payload":{"ref":"refs/heads/main","n":1}}'
OTHER = '{"event":"push","payload":{"ref":"refs/heads/evil","n":1}}'
# Bytes beyond ASCII and whitespace: the MAC is over the UTF-8 bytes as sent.
UBODY = '{\n  "text": "Grüße, ✓ 日本",\r\n  "amount": 4200\n}\n'
# Standard Webhooks form: whsec_ + base64 of 32 bytes.
STD_SECRET = 'whsec_' + base64.b64encode(bytes(range(32))).decode()
RAW_SECRET = 'my-provider-secret'
# What Stripe's dashboard hands out: whsec_ + 32 base62 characters, which is
# also valid base64 (24 bytes), so it works for both schemes, differently.
STRIPE_FMT = 'whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH'
# Not base64 after the prefix ('_'): fine as Stripe's raw bytes, no
# Standard Webhooks key.
STRIPE_TEST = 'whsec_test_secret_from_stripe_dashboard'
GH_SECRET = "It's a Secret to Everybody"
SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5'


def mac(key, msg):
    if isinstance(msg, str):
        msg = msg.encode()
    return hmac.new(key, msg, hashlib.sha256)


def hexs(secret, msg):
    return mac(secret.encode(), msg).hexdigest()


def std_key(secret):
    if secret.startswith('whsec_'):
        return base64.b64decode(secret[6:], validate=True)
    return secret.encode()


def b64(raw):
    return base64.b64encode(raw).decode()


def std_raw(key, mid, ts, body):
    return 'v1,' + b64(mac(key, f'{mid}.{ts}.{body}').digest())


def std(secret, mid, ts, body):
    return std_raw(std_key(secret), mid, ts, body)


def stripe(secret, ts, body):
    return hexs(secret, f'{ts}.{body}')


def slack(secret, ts, body):
    return 'v0=' + hexs(secret, f'v0:{ts}:{body}')


V = []
names = set()


def v(name, scheme, secret, headers, expect, body=BODY, now=NOW, tol=300):
    assert name not in names, name
    assert expect in ('ok', 'missing', 'stale', 'invalid', 'badkey')
    names.add(name)
    V.append({'name': name, 'scheme': scheme, 'secret': secret, 'body': body,
              'headers': headers, 'now': now, 'tolerance': tol,
              'expect': expect})


# Some wrong signatures of the right shape.
ZHEX = '0' * 64
FHEX = 'f' * 64
ZB64 = 'v1,' + b64(b'\0' * 32)

# --- hex: X-Webhook-Signature: <hex>, key = secret bytes, content = body
h = hexs(RAW_SECRET, BODY)
X = 'X-Webhook-Signature'
v('hex valid', 'hex', RAW_SECRET, {X: h}, 'ok')
v('hex lower-case header name', 'hex', RAW_SECRET, {X.lower(): h}, 'ok')
v('hex sha256= prefix', 'hex', RAW_SECRET, {X: 'sha256=' + h}, 'ok')
v('hex SHA256= prefix any case', 'hex', RAW_SECRET, {X: 'SHA256=' + h}, 'ok')
v('hex upper-case digits', 'hex', RAW_SECRET, {X: h.upper()}, 'ok')
v('hex alias X-Event-Signature', 'hex', RAW_SECRET, {'X-Event-Signature': h}, 'ok')
v('hex primary header wins over alias', 'hex', RAW_SECRET,
  {X: ZHEX, 'X-Event-Signature': h}, 'invalid')
v('hex unicode body', 'hex', RAW_SECRET, {X: hexs(RAW_SECRET, UBODY)}, 'ok', body=UBODY)
v('hex empty body', 'hex', RAW_SECRET, {X: hexs(RAW_SECRET, '')}, 'ok', body='')
v('hex whsec_ secret is raw bytes', 'hex', STRIPE_FMT, {X: hexs(STRIPE_FMT, BODY)}, 'ok')
v('hex whsec_ secret not decoded', 'hex', STRIPE_FMT,
  {X: mac(std_key(STRIPE_FMT), BODY).hexdigest()}, 'invalid')
v('hex tampered body', 'hex', RAW_SECRET, {X: h}, 'invalid', body=OTHER)
v('hex body with trailing newline', 'hex', RAW_SECRET, {X: h}, 'invalid', body=BODY + '\n')
v('hex wrong secret', 'hex', 'other-secret', {X: h}, 'invalid')
v('hex missing header', 'hex', RAW_SECRET, {}, 'missing')
v('hex other scheme header only', 'hex', RAW_SECRET,
  {'X-Hub-Signature-256': 'sha256=' + h}, 'missing')
v('hex prefix-truncated', 'hex', RAW_SECRET, {X: h[:32]}, 'invalid')
v('hex one digit short', 'hex', RAW_SECRET, {X: h[:63]}, 'invalid')
v('hex wrong length (extra digits)', 'hex', RAW_SECRET, {X: h + '00'}, 'invalid')
v('hex wrong length (sha1 size)', 'hex', RAW_SECRET,
  {X: hmac.new(RAW_SECRET.encode(), BODY.encode(), hashlib.sha1).hexdigest()}, 'invalid')
v('hex two signatures, second valid (one only)', 'hex', RAW_SECRET,
  {X: ZHEX + ',' + h}, 'invalid')
v('hex two signatures space-separated (one only)', 'hex', RAW_SECRET,
  {X: ZHEX + ' ' + h}, 'invalid')
v('hex not hex digits', 'hex', RAW_SECRET, {X: 'z' * 64}, 'invalid')
v('hex surrounding blanks', 'hex', RAW_SECRET, {X: ' ' + h}, 'invalid')
v('hex empty', 'hex', RAW_SECRET, {X: ''}, 'invalid')
v('hex prefix only', 'hex', RAW_SECRET, {X: 'sha256='}, 'invalid')
v('hex base64 of the right mac', 'hex', RAW_SECRET,
  {X: b64(mac(RAW_SECRET.encode(), BODY).digest())}, 'invalid')

# --- github: X-Hub-Signature-256: sha256=<hex>
G = 'X-Hub-Signature-256'
g = 'sha256=' + hexs(GH_SECRET, BODY)
v('github valid', 'github', GH_SECRET, {G: g}, 'ok')
v('github lower-case header name', 'github', GH_SECRET, {G.lower(): g}, 'ok')
v('github unicode body', 'github', GH_SECRET,
  {G: 'sha256=' + hexs(GH_SECRET, UBODY)}, 'ok', body=UBODY)
# GitHub's documented example (docs: "Validating webhook deliveries").
assert hexs(GH_SECRET, 'Hello, World!') == '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'
v('github documented example', 'github', GH_SECRET,
  {G: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'},
  'ok', body='Hello, World!')
v('github tampered body', 'github', GH_SECRET, {G: g}, 'invalid', body=OTHER)
v('github wrong secret', 'github', 'not-the-secret', {G: g}, 'invalid')
v('github missing header', 'github', GH_SECRET, {}, 'missing')
v('github sha1 header only', 'github', GH_SECRET,
  {'X-Hub-Signature': 'sha1=' + hmac.new(GH_SECRET.encode(), BODY.encode(), hashlib.sha1).hexdigest()},
  'missing')
v('github no sha256= prefix', 'github', GH_SECRET, {G: g[7:]}, 'invalid')
v('github SHA256= prefix', 'github', GH_SECRET, {G: 'SHA256=' + g[7:]}, 'invalid')
v('github sha1= prefix', 'github', GH_SECRET, {G: 'sha1=' + g[7:]}, 'invalid')
v('github prefix-truncated', 'github', GH_SECRET, {G: g[:7 + 40]}, 'invalid')
v('github one digit short', 'github', GH_SECRET, {G: g[:-1]}, 'invalid')
v('github wrong length (extra digits)', 'github', GH_SECRET, {G: g + 'ab'}, 'invalid')
v('github two signatures, second valid (one only)', 'github', GH_SECRET,
  {G: 'sha256=' + ZHEX + ',' + g}, 'invalid')
v('github prefix only', 'github', GH_SECRET, {G: 'sha256='}, 'invalid')

# --- standard: webhook-id, webhook-timestamp, webhook-signature: v1,<b64> ...
mid = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W'
s1 = std(STD_SECRET, mid, NOW, BODY)


def sh(sig, ts=NOW, i=mid):
    return {'webhook-id': i, 'webhook-timestamp': str(ts), 'webhook-signature': sig}


def shs(ts, secret=STD_SECRET, body=BODY):
    return sh(std(secret, mid, ts, body), ts)


v('standard valid', 'standard', STD_SECRET, sh(s1), 'ok')
v('standard upper-case header names', 'standard', STD_SECRET,
  {'Webhook-Id': mid, 'Webhook-Timestamp': str(NOW), 'Webhook-Signature': s1}, 'ok')
# The Standard Webhooks / Svix documented example.
v('standard documented example', 'standard', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  {'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330',
   'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='},
  'ok', body='{"test": 2432232314}', now=1614265330)
v('standard unicode body', 'standard', STD_SECRET,
  shs(NOW, body=UBODY), 'ok', body=UBODY)
v('standard second of two valid', 'standard', STD_SECRET, sh(ZB64 + ' ' + s1), 'ok')
v('standard first of two valid', 'standard', STD_SECRET, sh(s1 + ' ' + ZB64), 'ok')
v('standard rotation: old and new secret', 'standard', STD_SECRET,
  sh(std('whsec_' + b64(b'\x01' * 32), mid, NOW, BODY) + ' ' + s1), 'ok')
v('standard other versions skipped', 'standard', STD_SECRET,
  sh('v1a,' + s1[3:] + ' v2,' + s1[3:] + ' ' + s1), 'ok')
v('standard doubled blanks between entries', 'standard', STD_SECRET,
  sh(ZB64 + '  ' + s1), 'ok')
v('standard only another version', 'standard', STD_SECRET, sh('v2,' + s1[3:]), 'invalid')
v('standard raw secret (no whsec_)', 'standard', RAW_SECRET,
  shs(NOW, secret=RAW_SECRET), 'ok')
v('standard Stripe-format whsec_ secret is decoded', 'standard', STRIPE_FMT,
  shs(NOW, secret=STRIPE_FMT), 'ok')
v('standard Stripe-format whsec_ secret as raw bytes is wrong', 'standard', STRIPE_FMT,
  sh(std_raw(STRIPE_FMT.encode(), mid, NOW, BODY)), 'invalid')
v('standard whsec_ secret as raw bytes is wrong', 'standard', STD_SECRET,
  sh(std_raw(STD_SECRET.encode(), mid, NOW, BODY)), 'invalid')
v('standard svix header names', 'standard', STD_SECRET,
  {'svix-id': mid, 'svix-timestamp': str(NOW), 'svix-signature': s1}, 'ok')
v('standard tampered body', 'standard', STD_SECRET, sh(s1), 'invalid', body=OTHER)
v('standard wrong secret', 'standard', 'whsec_' + b64(b'\x02' * 32), sh(s1), 'invalid')
v('standard wrong id', 'standard', STD_SECRET, sh(s1, i='msg_other'), 'invalid')
v('standard timestamp changed', 'standard', STD_SECRET, sh(s1, ts=NOW + 1), 'invalid')
v('standard missing signature', 'standard', STD_SECRET,
  {'webhook-id': mid, 'webhook-timestamp': str(NOW)}, 'missing')
v('standard missing id', 'standard', STD_SECRET,
  {'webhook-timestamp': str(NOW), 'webhook-signature': s1}, 'missing')
v('standard missing timestamp', 'standard', STD_SECRET,
  {'webhook-id': mid, 'webhook-signature': s1}, 'missing')
v('standard missing all', 'standard', STD_SECRET, {}, 'missing')
v('standard prefix-truncated', 'standard', STD_SECRET, sh(s1[:3 + 22]), 'invalid')
v('standard padding dropped', 'standard', STD_SECRET, sh(s1.rstrip('=')), 'invalid')
v('standard wrong length (31-byte mac)', 'standard', STD_SECRET,
  sh('v1,' + b64(mac(std_key(STD_SECRET), f'{mid}.{NOW}.{BODY}').digest()[:31])), 'invalid')
v('standard wrong length (33 bytes)', 'standard', STD_SECRET,
  sh('v1,' + b64(mac(std_key(STD_SECRET), f'{mid}.{NOW}.{BODY}').digest() + b'\0')), 'invalid')
v('standard hex instead of base64', 'standard', STD_SECRET,
  sh('v1,' + mac(std_key(STD_SECRET), f'{mid}.{NOW}.{BODY}').hexdigest()), 'invalid')
v('standard no version', 'standard', STD_SECRET, sh(s1[3:]), 'invalid')
v('standard v1= instead of v1,', 'standard', STD_SECRET, sh('v1=' + s1[3:]), 'invalid')
v('standard empty signature', 'standard', STD_SECRET, sh(''), 'invalid')
v('standard v1, only', 'standard', STD_SECRET, sh('v1,'), 'invalid')
# Padding bits set: decodes to the same bytes in lax decoders, but it is
# not the string the libraries compare against.
_raw = base64.b64decode(s1[3:])
_idx = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
_last = s1[3:][42]
_nc = s1[3:][:42] + _idx[_idx.index(_last) | 1] + '='
assert base64.b64decode(_nc) == _raw and _nc != s1[3:]
v('standard non-canonical base64', 'standard', STD_SECRET, sh('v1,' + _nc), 'invalid')
v('standard stale past', 'standard', STD_SECRET, shs(NOW - 301), 'stale')
v('standard stale future', 'standard', STD_SECRET, shs(NOW + 301), 'stale')
v('standard edge of tolerance past', 'standard', STD_SECRET, shs(NOW - 300), 'ok')
v('standard edge of tolerance future', 'standard', STD_SECRET, shs(NOW + 300), 'ok')
v('standard wider tolerance', 'standard', STD_SECRET, shs(NOW - 3000), 'ok', tol=3600)
v('standard narrower tolerance', 'standard', STD_SECRET, shs(NOW - 61), 'stale', tol=60)
v('standard tolerance 0 means 300', 'standard', STD_SECRET, shs(NOW - 299), 'ok', tol=0)
v('standard tolerance 0 means 300 (stale)', 'standard', STD_SECRET, shs(NOW - 301), 'stale', tol=0)
v('standard negative tolerance means 300', 'standard', STD_SECRET, shs(NOW + 301), 'stale', tol=-5)
v('standard stale checked before signature', 'standard', STD_SECRET,
  sh(ZB64, NOW - 10000), 'stale')
v('standard milliseconds timestamp', 'standard', STD_SECRET,
  sh(std(STD_SECRET, mid, NOW * 1000, BODY), NOW * 1000), 'stale')
v('standard huge timestamp', 'standard', STD_SECRET, sh(s1, '9' * 40), 'stale')
v('standard malformed timestamp', 'standard', STD_SECRET, sh(s1, '17478628x8'), 'invalid')
v('standard empty timestamp', 'standard', STD_SECRET, sh(s1, ''), 'invalid')
v('standard negative timestamp', 'standard', STD_SECRET, shs(-5), 'invalid')
v('standard timestamp with fraction', 'standard', STD_SECRET, sh(s1, f'{NOW}.0'), 'invalid')
v('standard timestamp with plus sign', 'standard', STD_SECRET, sh(s1, f'+{NOW}'), 'invalid')
v('standard timestamp with blank', 'standard', STD_SECRET, sh(s1, f' {NOW}'), 'invalid')
v('standard bad key (not base64)', 'standard', 'whsec_!!!!', sh(s1), 'badkey')
v('standard bad key (whsec_ alone)', 'standard', 'whsec_', sh(s1), 'badkey')
v('standard bad key (Stripe test secret)', 'standard', STRIPE_TEST, sh(s1), 'badkey')
v('standard bad key (empty)', 'standard', '', sh(s1), 'badkey')

# --- stripe: Stripe-Signature: t=<ts>,v1=<hex>[,v1=...]; content ts.body
S = 'Stripe-Signature'
st = stripe(STRIPE_FMT, NOW, BODY)
v('stripe valid', 'stripe', STRIPE_FMT, {S: f't={NOW},v1={st}'}, 'ok')
v('stripe lower-case header name', 'stripe', STRIPE_FMT, {S.lower(): f't={NOW},v1={st}'}, 'ok')
v('stripe Stripe-format whsec_ secret not decoded', 'stripe', STRIPE_FMT,
  {S: f't={NOW},v1=' + mac(std_key(STRIPE_FMT), f'{NOW}.{BODY}').hexdigest()}, 'invalid')
v('stripe test secret', 'stripe', STRIPE_TEST,
  {S: f't={NOW},v1={stripe(STRIPE_TEST, NOW, BODY)}'}, 'ok')
v('stripe unicode body', 'stripe', STRIPE_FMT,
  {S: f't={NOW},v1={stripe(STRIPE_FMT, NOW, UBODY)}'}, 'ok', body=UBODY)
v('stripe second v1 valid, v0 ignored', 'stripe', STRIPE_FMT,
  {S: f't={NOW},v0={ZHEX},v1={FHEX},v1={st}'}, 'ok')
v('stripe first v1 valid', 'stripe', STRIPE_FMT, {S: f't={NOW},v1={st},v1={FHEX}'}, 'ok')
v('stripe t after v1', 'stripe', STRIPE_FMT, {S: f'v1={st},t={NOW}'}, 'ok')
v('stripe unknown keys ignored', 'stripe', STRIPE_FMT, {S: f't={NOW},x=1,,v1={st}'}, 'ok')
v('stripe only v0 valid', 'stripe', STRIPE_FMT, {S: f't={NOW},v0={st}'}, 'invalid')
v('stripe tampered body', 'stripe', STRIPE_FMT, {S: f't={NOW},v1={st}'}, 'invalid', body=OTHER)
v('stripe wrong secret', 'stripe', 'whsec_other', {S: f't={NOW},v1={st}'}, 'invalid')
v('stripe timestamp changed', 'stripe', STRIPE_FMT, {S: f't={NOW + 1},v1={st}'}, 'invalid')
v('stripe missing header', 'stripe', STRIPE_FMT, {}, 'missing')
v('stripe no t', 'stripe', STRIPE_FMT, {S: f'v1={st}'}, 'invalid')
v('stripe empty t', 'stripe', STRIPE_FMT, {S: f't=,v1={st}'}, 'invalid')
v('stripe two t', 'stripe', STRIPE_FMT, {S: f't={NOW},t={NOW},v1={st}'}, 'invalid')
v('stripe no v1', 'stripe', STRIPE_FMT, {S: f't={NOW}'}, 'invalid')
v('stripe empty v1', 'stripe', STRIPE_FMT, {S: f't={NOW},v1='}, 'invalid')
v('stripe empty header', 'stripe', STRIPE_FMT, {S: ''}, 'invalid')
v('stripe blanks after commas', 'stripe', STRIPE_FMT, {S: f't={NOW}, v1={st}'}, 'invalid')
v('stripe prefix-truncated', 'stripe', STRIPE_FMT, {S: f't={NOW},v1={st[:32]}'}, 'invalid')
v('stripe one digit short', 'stripe', STRIPE_FMT, {S: f't={NOW},v1={st[:63]}'}, 'invalid')
v('stripe wrong length (extra digits)', 'stripe', STRIPE_FMT, {S: f't={NOW},v1={st}00'}, 'invalid')
v('stripe stale past', 'stripe', STRIPE_FMT,
  {S: f't={NOW - 600},v1={stripe(STRIPE_FMT, NOW - 600, BODY)}'}, 'stale')
v('stripe stale future', 'stripe', STRIPE_FMT,
  {S: f't={NOW + 301},v1={stripe(STRIPE_FMT, NOW + 301, BODY)}'}, 'stale')
v('stripe edge of tolerance', 'stripe', STRIPE_FMT,
  {S: f't={NOW - 300},v1={stripe(STRIPE_FMT, NOW - 300, BODY)}'}, 'ok')
v('stripe wider tolerance', 'stripe', STRIPE_FMT,
  {S: f't={NOW - 600},v1={stripe(STRIPE_FMT, NOW - 600, BODY)}'}, 'ok', tol=900)
v('stripe malformed t', 'stripe', STRIPE_FMT, {S: f't=abc,v1={st}'}, 'invalid')
v('stripe negative t', 'stripe', STRIPE_FMT,
  {S: f't=-5,v1={stripe(STRIPE_FMT, -5, BODY)}'}, 'invalid')
v('stripe t with fraction', 'stripe', STRIPE_FMT, {S: f't={NOW}.5,v1={st}'}, 'invalid')

# --- slack: X-Slack-Signature: v0=<hex>, X-Slack-Request-Timestamp; v0:ts:body
SS, ST = 'X-Slack-Signature', 'X-Slack-Request-Timestamp'


def slh(ts, secret=SLACK_SECRET, body=BODY, tsh=None):
    return {SS: slack(secret, ts, body), ST: str(ts) if tsh is None else tsh}


sl = slack(SLACK_SECRET, NOW, BODY)
FORM = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather&text=94070'
v('slack valid', 'slack', SLACK_SECRET, slh(NOW), 'ok')
v('slack lower-case header names', 'slack', SLACK_SECRET,
  {SS.lower(): sl, ST.lower(): str(NOW)}, 'ok')
v('slack form body', 'slack', SLACK_SECRET, slh(NOW, body=FORM), 'ok', body=FORM)
v('slack unicode body', 'slack', SLACK_SECRET, slh(NOW, body=UBODY), 'ok', body=UBODY)
v('slack tampered body', 'slack', SLACK_SECRET, slh(NOW), 'invalid', body=OTHER)
v('slack wrong secret', 'slack', 'another-slack-secret', slh(NOW), 'invalid')
v('slack timestamp changed', 'slack', SLACK_SECRET, slh(NOW, tsh=str(NOW + 1)), 'invalid')
v('slack missing signature', 'slack', SLACK_SECRET, {ST: str(NOW)}, 'missing')
v('slack missing timestamp', 'slack', SLACK_SECRET, {SS: sl}, 'missing')
v('slack missing both', 'slack', SLACK_SECRET, {}, 'missing')
v('slack no v0= prefix', 'slack', SLACK_SECRET, {SS: sl[3:], ST: str(NOW)}, 'invalid')
v('slack v1= prefix', 'slack', SLACK_SECRET, {SS: 'v1=' + sl[3:], ST: str(NOW)}, 'invalid')
v('slack prefix-truncated', 'slack', SLACK_SECRET, {SS: sl[:3 + 32], ST: str(NOW)}, 'invalid')
v('slack one digit short', 'slack', SLACK_SECRET, {SS: sl[:-1], ST: str(NOW)}, 'invalid')
v('slack wrong length (extra digits)', 'slack', SLACK_SECRET, {SS: sl + '0', ST: str(NOW)}, 'invalid')
v('slack two signatures, second valid (one only)', 'slack', SLACK_SECRET,
  {SS: 'v0=' + ZHEX + ',' + sl, ST: str(NOW)}, 'invalid')
v('slack two signatures space-separated (one only)', 'slack', SLACK_SECRET,
  {SS: 'v0=' + ZHEX + ' ' + sl, ST: str(NOW)}, 'invalid')
v('slack empty signature', 'slack', SLACK_SECRET, {SS: '', ST: str(NOW)}, 'invalid')
v('slack stale past', 'slack', SLACK_SECRET, slh(NOW - 400), 'stale')
v('slack stale future', 'slack', SLACK_SECRET, slh(NOW + 400), 'stale')
v('slack edge of tolerance future', 'slack', SLACK_SECRET, slh(NOW + 300), 'ok')
v('slack stale checked before signature', 'slack', SLACK_SECRET,
  {SS: 'garbage', ST: str(NOW - 400)}, 'stale')
v('slack malformed timestamp', 'slack', SLACK_SECRET, slh(NOW, tsh='abc'), 'invalid')
v('slack negative timestamp', 'slack', SLACK_SECRET, slh(-5), 'invalid')
v('slack timestamp with fraction', 'slack', SLACK_SECRET,
  {SS: slack(SLACK_SECRET, f'{NOW}.25', BODY), ST: f'{NOW}.25'}, 'invalid')
v('slack empty timestamp', 'slack', SLACK_SECRET, slh(NOW, tsh=''), 'invalid')


if '--providers' not in sys.argv:
    print(json.dumps(V, indent=1, ensure_ascii=False))
    sys.exit(0)

# --- providers.json: the schemes of the provider presets (http.md,
# Providers). Secrets as each provider hands them out.
V = []
names.clear()
GL_SECRET = 'glpat-webhook-token-1234'
SHOP_SECRET = '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'
ZOOM_SECRET = 'ZjYxN2RlNzItYmM1Ny00'
META_SECRET = '4c2f9c1f0d9a8b7e6f5a4b3c2d1e0f9a'
DBX_SECRET = 'dbx8k2m5p9q3r7t1'
X_SECRET = 'xConsumerSecret0123456789abcdefghijklmnopqrstuv'
SHOP_BODY = '{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00"}'


def b64mac(secret, msg):
    return b64(mac(secret.encode(), msg).digest())


# gitlab: X-Gitlab-Token is the secret itself (compared in constant time).
G = 'X-Gitlab-Token'
v('gitlab valid', 'gitlab', GL_SECRET, {G: GL_SECRET}, 'ok')
v('gitlab lower-case header name', 'gitlab', GL_SECRET, {G.lower(): GL_SECRET}, 'ok')
v('gitlab any body', 'gitlab', GL_SECRET, {G: GL_SECRET}, 'ok', body=OTHER)
v('gitlab wrong token', 'gitlab', GL_SECRET, {G: 'glpat-webhook-token-1235'}, 'invalid')
v('gitlab prefix of the token', 'gitlab', GL_SECRET, {G: GL_SECRET[:-1]}, 'invalid')
v('gitlab token and more', 'gitlab', GL_SECRET, {G: GL_SECRET + 'x'}, 'invalid')
v('gitlab case differs', 'gitlab', GL_SECRET, {G: GL_SECRET.upper()}, 'invalid')
v('gitlab empty header', 'gitlab', GL_SECRET, {G: ''}, 'invalid')
v('gitlab HMAC instead of the token', 'gitlab', GL_SECRET, {G: hexs(GL_SECRET, BODY)}, 'invalid')
v('gitlab missing header', 'gitlab', GL_SECRET, {}, 'missing')
v('gitlab other header only', 'gitlab', GL_SECRET, {'X-Webhook-Token': GL_SECRET}, 'missing')

# shopify: X-Shopify-Hmac-Sha256: base64 of HMAC(secret, body).
S = 'X-Shopify-Hmac-Sha256'
sh = b64mac(SHOP_SECRET, SHOP_BODY)
v('shopify valid', 'shopify', SHOP_SECRET, {S: sh}, 'ok', body=SHOP_BODY)
v('shopify lower-case header name', 'shopify', SHOP_SECRET, {S.lower(): sh}, 'ok', body=SHOP_BODY)
v('shopify unicode body', 'shopify', SHOP_SECRET, {S: b64mac(SHOP_SECRET, UBODY)}, 'ok', body=UBODY)
v('shopify tampered body', 'shopify', SHOP_SECRET, {S: sh}, 'invalid', body=SHOP_BODY.replace('403', '404'))
v('shopify wrong secret', 'shopify', 'shpss_other', {S: sh}, 'invalid', body=SHOP_BODY)
v('shopify hex instead of base64', 'shopify', SHOP_SECRET,
  {S: hexs(SHOP_SECRET, SHOP_BODY)}, 'invalid', body=SHOP_BODY)
v('shopify padding dropped', 'shopify', SHOP_SECRET, {S: sh.rstrip('=')}, 'invalid', body=SHOP_BODY)
v('shopify prefix-truncated', 'shopify', SHOP_SECRET, {S: sh[:22]}, 'invalid', body=SHOP_BODY)
v('shopify sha256= prefix', 'shopify', SHOP_SECRET, {S: 'sha256=' + sh}, 'invalid', body=SHOP_BODY)
v('shopify two signatures', 'shopify', SHOP_SECRET, {S: sh + ',' + sh}, 'invalid', body=SHOP_BODY)
v('shopify missing header', 'shopify', SHOP_SECRET, {}, 'missing', body=SHOP_BODY)

# zoom: x-zm-signature: v0=<hex of v0:ts:body>, x-zm-request-timestamp.
ZS, ZT = 'x-zm-signature', 'x-zm-request-timestamp'
ZBODY = '{"event":"meeting.started","event_ts":1747862818000,"payload":{"account_id":"AAAA","object":{"id":"85236154"}}}'


def zh(ts, secret=ZOOM_SECRET, body=ZBODY, tsh=None):
    return {ZS: 'v0=' + hexs(secret, f'v0:{ts}:{body}'), ZT: str(ts) if tsh is None else tsh}


z = zh(NOW)
v('zoom valid', 'zoom', ZOOM_SECRET, z, 'ok', body=ZBODY)
v('zoom upper-case header names', 'zoom', ZOOM_SECRET,
  {'X-Zm-Signature': z[ZS], 'X-Zm-Request-Timestamp': z[ZT]}, 'ok', body=ZBODY)
v('zoom url_validation', 'zoom', ZOOM_SECRET,
  zh(NOW, body='{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}'),
  'ok', body='{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}')
v('zoom tampered body', 'zoom', ZOOM_SECRET, z, 'invalid', body=ZBODY.replace('started', 'ended'))
v('zoom wrong secret', 'zoom', 'other-zoom-secret', z, 'invalid', body=ZBODY)
v('zoom timestamp changed', 'zoom', ZOOM_SECRET, zh(NOW, tsh=str(NOW + 1)), 'invalid', body=ZBODY)
v('zoom no v0= prefix', 'zoom', ZOOM_SECRET, {ZS: z[ZS][3:], ZT: z[ZT]}, 'invalid', body=ZBODY)
v('zoom one digit short', 'zoom', ZOOM_SECRET, {ZS: z[ZS][:-1], ZT: z[ZT]}, 'invalid', body=ZBODY)
v('zoom missing signature', 'zoom', ZOOM_SECRET, {ZT: z[ZT]}, 'missing', body=ZBODY)
v('zoom missing timestamp', 'zoom', ZOOM_SECRET, {ZS: z[ZS]}, 'missing', body=ZBODY)
v('zoom stale past', 'zoom', ZOOM_SECRET, zh(NOW - 301), 'stale', body=ZBODY)
v('zoom stale future', 'zoom', ZOOM_SECRET, zh(NOW + 301), 'stale', body=ZBODY)
v('zoom edge of tolerance', 'zoom', ZOOM_SECRET, zh(NOW - 300), 'ok', body=ZBODY)
v('zoom milliseconds timestamp', 'zoom', ZOOM_SECRET, zh(NOW * 1000), 'stale', body=ZBODY)
v('zoom malformed timestamp', 'zoom', ZOOM_SECRET, zh(NOW, tsh='17478628x8'), 'invalid', body=ZBODY)

# meta: X-Hub-Signature-256: sha256=<hex>, keyed with the app secret.
M = 'X-Hub-Signature-256'
MBODY = '{"object":"page","entry":[{"id":"1234567890","time":1747862818,"changes":[{"field":"feed","value":{"item":"post"}}]}]}'
mh = 'sha256=' + hexs(META_SECRET, MBODY)
v('meta valid', 'meta', META_SECRET, {M: mh}, 'ok', body=MBODY)
v('meta lower-case header name', 'meta', META_SECRET, {M.lower(): mh}, 'ok', body=MBODY)
v('meta tampered body', 'meta', META_SECRET, {M: mh}, 'invalid', body=MBODY.replace('feed', 'mention'))
v('meta wrong secret', 'meta', 'another-app-secret', {M: mh}, 'invalid', body=MBODY)
v('meta no prefix', 'meta', META_SECRET, {M: mh[7:]}, 'invalid', body=MBODY)
v('meta sha1 header only', 'meta', META_SECRET,
  {'X-Hub-Signature': 'sha1=' + hmac.new(META_SECRET.encode(), MBODY.encode(), hashlib.sha1).hexdigest()},
  'missing', body=MBODY)
v('meta one digit short', 'meta', META_SECRET, {M: mh[:-1]}, 'invalid', body=MBODY)

# dropbox: X-Dropbox-Signature: <hex of HMAC(app secret, body)>.
D = 'X-Dropbox-Signature'
DBODY = '{"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]}, "delta": {"users": [12345678]}}'
dh = hexs(DBX_SECRET, DBODY)
v('dropbox valid', 'dropbox', DBX_SECRET, {D: dh}, 'ok', body=DBODY)
v('dropbox upper-case digits', 'dropbox', DBX_SECRET, {D: dh.upper()}, 'ok', body=DBODY)
v('dropbox tampered body', 'dropbox', DBX_SECRET, {D: dh}, 'invalid', body=DBODY.replace('12345678', '12345679'))
v('dropbox wrong secret', 'dropbox', 'other-app-secret', {D: dh}, 'invalid', body=DBODY)
v('dropbox sha256= prefix', 'dropbox', DBX_SECRET, {D: 'sha256=' + dh}, 'invalid', body=DBODY)
v('dropbox prefix-truncated', 'dropbox', DBX_SECRET, {D: dh[:32]}, 'invalid', body=DBODY)
v('dropbox missing header', 'dropbox', DBX_SECRET, {}, 'missing', body=DBODY)

# x: X-Twitter-Webhooks-Signature: sha256=<base64 of HMAC(consumer secret, body)>.
XH = 'X-Twitter-Webhooks-Signature'
XBODY = '{"for_user_id":"2244994945","tweet_create_events":[{"id_str":"1876543210987654321","text":"hello"}]}'
xh = 'sha256=' + b64mac(X_SECRET, XBODY)
v('x valid', 'x', X_SECRET, {XH: xh}, 'ok', body=XBODY)
v('x lower-case header name', 'x', X_SECRET, {XH.lower(): xh}, 'ok', body=XBODY)
v('x tampered body', 'x', X_SECRET, {XH: xh}, 'invalid', body=XBODY.replace('hello', 'hellp'))
v('x wrong secret', 'x', 'another-consumer-secret', {XH: xh}, 'invalid', body=XBODY)
v('x no prefix', 'x', X_SECRET, {XH: xh[7:]}, 'invalid', body=XBODY)
v('x hex instead of base64', 'x', X_SECRET, {XH: 'sha256=' + hexs(X_SECRET, XBODY)}, 'invalid', body=XBODY)
v('x padding dropped', 'x', X_SECRET, {XH: xh.rstrip('=')}, 'invalid', body=XBODY)
v('x missing header', 'x', X_SECRET, {}, 'missing', body=XBODY)

print(json.dumps(V, indent=1, ensure_ascii=False))
