#!/usr/bin/env python3
# Regenerates signatures.json from an implementation independent of
# hookd's C code (Python's hmac and base64). Run: python3 gen.py > signatures.json
import base64, hashlib, hmac, json

NOW = 1747862818  # 2025-05-21T21:26:58Z
BODY = '{"event":"push","payload":{"ref":"refs/heads/main","n":1}}'
OTHER = '{"event":"push","payload":{"ref":"refs/heads/evil","n":1}}'
STD_SECRET = 'whsec_' + base64.b64encode(bytes(range(32))).decode()
RAW_SECRET = 'my-provider-secret'
STRIPE_SECRET = 'whsec_test_secret_from_stripe_dashboard'

def mac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256)

def hexs(secret, msg):
    return mac(secret.encode(), msg).hexdigest()

def std_key(secret):
    if secret.startswith('whsec_'):
        return base64.b64decode(secret[6:])
    return secret.encode()

def std(secret, mid, ts, body):
    return 'v1,' + base64.b64encode(mac(std_key(secret), f'{mid}.{ts}.{body}').digest()).decode()

V = []
def v(name, scheme, secret, headers, expect, body=BODY, now=NOW, tol=300):
    V.append({'name': name, 'scheme': scheme, 'secret': secret, 'body': body,
              'headers': headers, 'now': now, 'tolerance': tol, 'expect': expect})

# hex
h = hexs(RAW_SECRET, BODY)
v('hex valid', 'hex', RAW_SECRET, {'X-Webhook-Signature': h}, 'ok')
v('hex sha256= prefix', 'hex', RAW_SECRET, {'X-Webhook-Signature': 'sha256=' + h}, 'ok')
v('hex upper case digits', 'hex', RAW_SECRET, {'X-Webhook-Signature': h.upper()}, 'ok')
v('hex alias header', 'hex', RAW_SECRET, {'X-Event-Signature': h}, 'ok')
v('hex tampered body', 'hex', RAW_SECRET, {'X-Webhook-Signature': h}, 'invalid', body=OTHER)
v('hex wrong secret', 'hex', 'other', {'X-Webhook-Signature': h}, 'invalid')
v('hex missing', 'hex', RAW_SECRET, {}, 'missing')
v('hex truncated', 'hex', RAW_SECRET, {'X-Webhook-Signature': h[:32]}, 'invalid')
v('hex too long', 'hex', RAW_SECRET, {'X-Webhook-Signature': h + '00'}, 'invalid')
v('hex not hex', 'hex', RAW_SECRET, {'X-Webhook-Signature': 'z' * 64}, 'invalid')
v('hex empty', 'hex', RAW_SECRET, {'X-Webhook-Signature': ''}, 'invalid')
v('hex empty body', 'hex', RAW_SECRET, {'X-Webhook-Signature': hexs(RAW_SECRET, '')}, 'ok', body='')
# github
g = 'sha256=' + hexs(RAW_SECRET, BODY)
v('github valid', 'github', RAW_SECRET, {'X-Hub-Signature-256': g}, 'ok')
v('github no prefix', 'github', RAW_SECRET, {'X-Hub-Signature-256': g[7:]}, 'invalid')
v('github sha1 header only', 'github', RAW_SECRET, {'X-Hub-Signature': 'sha1=' + hmac.new(RAW_SECRET.encode(), BODY.encode(), hashlib.sha1).hexdigest()}, 'missing')
v('github tampered', 'github', RAW_SECRET, {'X-Hub-Signature-256': g}, 'invalid', body=OTHER)
v('github wrong secret', 'github', 'nope', {'X-Hub-Signature-256': g}, 'invalid')
v('github truncated', 'github', RAW_SECRET, {'X-Hub-Signature-256': g[:-2]}, 'invalid')
v('github missing', 'github', RAW_SECRET, {}, 'missing')
# standard
mid = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W'
s1 = std(STD_SECRET, mid, NOW, BODY)
sh = lambda sig, ts=NOW: {'webhook-id': mid, 'webhook-timestamp': str(ts), 'webhook-signature': sig}
v('standard valid', 'standard', STD_SECRET, sh(s1), 'ok')
v('standard second of two', 'standard', STD_SECRET, sh('v1,' + base64.b64encode(b'\0' * 32).decode() + ' ' + s1), 'ok')
v('standard other version skipped', 'standard', STD_SECRET, sh('v1a,abc ' + s1), 'ok')
v('standard raw secret', 'standard', RAW_SECRET, sh(std(RAW_SECRET, mid, NOW, BODY)), 'ok')
v('standard svix header names', 'standard', STD_SECRET, {'svix-id': mid, 'svix-timestamp': str(NOW), 'svix-signature': s1}, 'ok')
v('standard tampered', 'standard', STD_SECRET, sh(s1), 'invalid', body=OTHER)
v('standard wrong id', 'standard', STD_SECRET, {**sh(s1), 'webhook-id': 'msg_other'}, 'invalid')
v('standard secret not decoded is wrong', 'standard', STD_SECRET, sh('v1,' + base64.b64encode(mac(STD_SECRET.encode(), f'{mid}.{NOW}.{BODY}').digest()).decode()), 'invalid')
v('standard truncated', 'standard', STD_SECRET, sh(s1[:-4]), 'invalid')
v('standard missing signature', 'standard', STD_SECRET, {'webhook-id': mid, 'webhook-timestamp': str(NOW)}, 'missing')
v('standard missing id', 'standard', STD_SECRET, {'webhook-timestamp': str(NOW), 'webhook-signature': s1}, 'missing')
v('standard stale past', 'standard', STD_SECRET, sh(std(STD_SECRET, mid, NOW - 301, BODY), NOW - 301), 'stale')
v('standard stale future', 'standard', STD_SECRET, sh(std(STD_SECRET, mid, NOW + 301, BODY), NOW + 301), 'stale')
v('standard edge of tolerance', 'standard', STD_SECRET, sh(std(STD_SECRET, mid, NOW - 300, BODY), NOW - 300), 'ok')
v('standard wider tolerance', 'standard', STD_SECRET, sh(std(STD_SECRET, mid, NOW - 3000, BODY), NOW - 3000), 'ok', tol=3600)
v('standard malformed timestamp', 'standard', STD_SECRET, {**sh(s1), 'webhook-timestamp': '17478628x8'}, 'invalid')
v('standard bad key', 'standard', 'whsec_!!!!', sh(s1), 'badkey')
# stripe
def stripe(secret, ts, body):
    return hexs(secret, f'{ts}.{body}')
st = stripe(STRIPE_SECRET, NOW, BODY)
v('stripe valid', 'stripe', STRIPE_SECRET, {'Stripe-Signature': f't={NOW},v1={st}'}, 'ok')
v('stripe with v0 and two v1', 'stripe', STRIPE_SECRET, {'Stripe-Signature': f't={NOW},v0={"0"*64},v1={"1"*64},v1={st}'}, 'ok')
v('stripe whsec_ secret is raw bytes', 'stripe', STD_SECRET, {'Stripe-Signature': f't={NOW},v1={stripe(STD_SECRET, NOW, BODY)}'}, 'ok')
v('stripe whsec_ secret not decoded', 'stripe', STD_SECRET, {'Stripe-Signature': f't={NOW},v1=' + mac(std_key(STD_SECRET), f'{NOW}.{BODY}').hexdigest()}, 'invalid')
v('stripe tampered', 'stripe', STRIPE_SECRET, {'Stripe-Signature': f't={NOW},v1={st}'}, 'invalid', body=OTHER)
v('stripe wrong secret', 'stripe', 'whsec_other', {'Stripe-Signature': f't={NOW},v1={st}'}, 'invalid')
v('stripe no t', 'stripe', STRIPE_SECRET, {'Stripe-Signature': f'v1={st}'}, 'invalid')
v('stripe no v1', 'stripe', STRIPE_SECRET, {'Stripe-Signature': f't={NOW}'}, 'invalid')
v('stripe truncated', 'stripe', STRIPE_SECRET, {'Stripe-Signature': f't={NOW},v1={st[:63]}'}, 'invalid')
v('stripe missing', 'stripe', STRIPE_SECRET, {}, 'missing')
v('stripe stale', 'stripe', STRIPE_SECRET, {'Stripe-Signature': f't={NOW-600},v1={stripe(STRIPE_SECRET, NOW-600, BODY)}'}, 'stale')
v('stripe malformed t', 'stripe', STRIPE_SECRET, {'Stripe-Signature': f't=abc,v1={st}'}, 'invalid')
# slack
sl = lambda ts, body=BODY, secret=RAW_SECRET: 'v0=' + hexs(secret, f'v0:{ts}:{body}')
v('slack valid', 'slack', RAW_SECRET, {'X-Slack-Signature': sl(NOW), 'X-Slack-Request-Timestamp': str(NOW)}, 'ok')
v('slack tampered', 'slack', RAW_SECRET, {'X-Slack-Signature': sl(NOW), 'X-Slack-Request-Timestamp': str(NOW)}, 'invalid', body=OTHER)
v('slack timestamp changed', 'slack', RAW_SECRET, {'X-Slack-Signature': sl(NOW), 'X-Slack-Request-Timestamp': str(NOW + 1)}, 'invalid')
v('slack no v0=', 'slack', RAW_SECRET, {'X-Slack-Signature': sl(NOW)[3:], 'X-Slack-Request-Timestamp': str(NOW)}, 'invalid')
v('slack missing timestamp', 'slack', RAW_SECRET, {'X-Slack-Signature': sl(NOW)}, 'missing')
v('slack missing signature', 'slack', RAW_SECRET, {'X-Slack-Request-Timestamp': str(NOW)}, 'missing')
v('slack stale', 'slack', RAW_SECRET, {'X-Slack-Signature': sl(NOW - 400), 'X-Slack-Request-Timestamp': str(NOW - 400)}, 'stale')
v('slack negative timestamp', 'slack', RAW_SECRET, {'X-Slack-Signature': sl(-5), 'X-Slack-Request-Timestamp': '-5'}, 'invalid')

print(json.dumps(V, indent=1, ensure_ascii=False))
