/*
 * Unit tests of the small lib/ modules: ids, clock, buffers, maps, the
 * token bucket, form fields, JSON pointers, envelopes, tokens, secrets
 * and the master key.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <sodium.h>

#include "bucket.h"
#include "buf.h"
#include "clock.h"
#include "env.h"
#include "form.h"
#include "hk.h"
#include "id.h"
#include "jptr.h"
#include "map.h"
#include "secret.h"
#include "sig.h"
#include "t.h"

static void
test_ids(void)
{
	char a[HK_ID_MAX], b[HK_ID_MAX], c[HK_ID_MAX];
	int i, sorted = 1;

	hk_id_new("evt_", a);
	T_CHECK(strncmp(a, "evt_", 4) == 0 && strlen(a) == 4 + HK_ID_BODY);
	T_CHECK(hk_id_valid("evt_", a));
	T_CHECK(!hk_id_valid("wh_", a));
	/* Monotonic within a millisecond: 10 000 ids sort in order. */
	for (i = 0; i < 10000; i++) {
		hk_id_new("evt_", b);
		if (strcmp(b, a) <= 0)
			sorted = 0;
		memcpy(a, b, sizeof(a));
	}
	T_CHECK(sorted);
	/* The time comes back out; a time in the past does not go back. */
	hk_id_at("dlv_", hk_now_ms() + 1000, c);
	T_CHECK(hk_id_ms("dlv_", c) >= hk_now_ms() + 900);
	hk_id_at("dlv_", 1747862818211LL, b);
	T_CHECK(strcmp(b, c) > 0);
	T_CHECK(hk_id_ms("evt_", c) == -1);
	T_CHECK(!hk_id_valid("evt_", "evt_"));
	T_CHECK(!hk_id_valid("evt_", "evt_01ARZ3NDEKTSV4RRFFQ69G5FA"));
	T_CHECK(!hk_id_valid("evt_", "evt_01ARZ3NDEKTSV4RRFFQ69G5FAVX"));
	T_CHECK(!hk_id_valid("evt_", "evt_01ARZ3NDEKTSV4RRFFQ69G5FAU"));
	T_CHECK(hk_id_valid("evt_", "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
}

static void
test_clock(void)
{
	char iso[HK_ISO_LEN];
	int64_t ms;

	T_STREQ(hk_time_iso(0, iso), "1970-01-01T00:00:00.000Z");
	T_STREQ(hk_time_iso(1747862818211LL, iso), "2025-05-21T21:26:58.211Z");
	T_STREQ(hk_time_iso(951782400000LL, iso), "2000-02-29T00:00:00.000Z");
	T_STREQ(hk_time_iso(-5, iso), "1970-01-01T00:00:00.000Z");
	T_STREQ(hk_time_iso(INT64_MAX, iso), "9999-12-31T23:59:59.999Z");
	/* The arithmetic agrees with gmtime over the whole range. */
	for (ms = 0; ms < 253402300799999LL; ms += 7919LL * 86400013 + 77) {
		char want[64];
		time_t t = (time_t)(ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(
		    want + 19, sizeof(want) - 19, ".%03dZ", (int)(ms % 1000));
		if (strcmp(hk_time_iso(ms, iso), want) != 0) {
			fprintf(stderr, "iso %lld: %s, gmtime: %s\n",
			    (long long)ms, iso, want);
			T_CHECK(0);
			break;
		}
	}
	T_CHECK(hk_time_parse("2025-05-21T21:26:58.211Z", &ms) == 0 &&
	    ms == 1747862818211LL);
	T_CHECK(hk_time_parse("2025-05-21T21:26:58Z", &ms) == 0 &&
	    ms == 1747862818000LL);
	T_CHECK(hk_time_parse("2025-05-21T23:26:58.211+02:00", &ms) == 0 &&
	    ms == 1747862818211LL);
	T_CHECK(hk_time_parse("1747862818", &ms) == 0 && ms == 1747862818000LL);
	T_CHECK(hk_time_parse("yesterday", &ms) == HK_EINVAL);
	T_CHECK(hk_time_parse("2025-13-01T00:00:00Z", &ms) == HK_EINVAL);
	T_CHECK(hk_time_parse("", &ms) == HK_EINVAL);
	T_CHECK(hk_now_ms() > 1700000000000LL);
	T_CHECK(hk_mono_us() > 0);
}

static void
test_buf(void)
{
	struct hk_buf b = HK_BUF_INIT;
	char *s;
	int i;

	for (i = 0; i < 1000; i++)
		T_CHECK(hk_buf_printf(&b, "%d,", i) == 0);
	T_CHECK(b.len > 3000 && b.b[b.len] == '\0');
	hk_buf_reset(&b);
	T_CHECK(b.len == 0);
	hk_buf_add_jsonesc(&b, "a\"b\\c\n\x01é", 9);
	T_STREQ(b.b, "a\\\"b\\\\c\\n\\u0001é");
	hk_buf_reset(&b);
	hk_buf_add_jsonstr(&b, NULL);
	hk_buf_add_jsonstr(&b, "x");
	T_STREQ(b.b, "null\"x\"");
	s = hk_buf_take(&b);
	T_STREQ(s, "null\"x\"");
	T_CHECK(b.b == NULL && b.len == 0);
	free(s);
	hk_buf_add_u64(&b, 0);
	hk_buf_addc(&b, ',');
	hk_buf_add_u64(&b, 18446744073709551615ULL);
	hk_buf_addc(&b, ',');
	hk_buf_add_i64(&b, -42);
	hk_buf_addc(&b, ',');
	hk_buf_add_i64(&b, INT64_MIN);
	T_STREQ(b.b, "0,18446744073709551615,-42,-9223372036854775808");
	hk_buf_free(&b);
}

static int map_seen;

static void
map_count(void *v)
{
	(void)v;
	map_seen++;
}

static void
test_map(void)
{
	struct hk_map m = HK_MAP_INIT;
	char k[32];
	long i, ok = 1;

	for (i = 0; i < 10000; i++) {
		snprintf(k, sizeof(k), "key-%ld", i);
		T_CHECK(hk_map_put(&m, k, strlen(k), (void *)(i + 1)) == 0);
	}
	for (i = 0; i < 10000; i++) {
		snprintf(k, sizeof(k), "key-%ld", i);
		if (hk_map_get(&m, k, strlen(k)) != (void *)(i + 1))
			ok = 0;
	}
	T_CHECK(ok);
	for (i = 0; i < 10000; i += 2) {
		snprintf(k, sizeof(k), "key-%ld", i);
		T_CHECK(hk_map_del(&m, k, strlen(k)) == (void *)(i + 1));
	}
	T_CHECK(hk_map_get(&m, "key-0", 5) == NULL);
	T_CHECK(hk_map_get(&m, "key-1", 5) == (void *)2);
	/* Tombstones are reused: deleting and adding again keeps working. */
	for (i = 0; i < 10000; i += 2) {
		snprintf(k, sizeof(k), "key-%ld", i);
		T_CHECK(hk_map_put(&m, k, strlen(k), (void *)(i + 1)) == 0);
	}
	T_CHECK(m.m_used == 10000);
	map_seen = 0;
	hk_map_foreach(&m, map_count);
	T_CHECK(map_seen == 10000);
	T_CHECK(hk_map_put(&m, "key-1", 5, (void *)7) == 0);
	T_CHECK(hk_map_get(&m, "key-1", 5) == (void *)7 && m.m_used == 10000);
	hk_map_free(&m);
}

static void
test_bucket(void)
{
	struct hk_bucket b;
	int64_t t = 1000000, retry;
	int i, ok = 0;

	hk_bucket_init(&b, 10, 20, t);
	for (i = 0; i < 25; i++)
		if (hk_bucket_take(&b, t, &retry) == 0)
			ok++;
	T_CHECK(ok == 20);
	T_CHECK(hk_bucket_take(&b, t, &retry) == HK_AGAIN);
	T_CHECK(retry > 0 && retry <= 100);
	/* 10/s: after 250 ms, two tokens. */
	t += 250000;
	T_CHECK(hk_bucket_take(&b, t, &retry) == 0);
	T_CHECK(hk_bucket_take(&b, t, &retry) == 0);
	T_CHECK(hk_bucket_take(&b, t, &retry) == HK_AGAIN);
	/* Never more than the burst, however long it rested. */
	t += 3600 * 1000000LL;
	for (ok = 0, i = 0; i < 30; i++)
		if (hk_bucket_take(&b, t, &retry) == 0)
			ok++;
	T_CHECK(ok == 20);
	/* A smaller burst caps the tokens. */
	t += 3600 * 1000000LL;
	hk_bucket_take(&b, t, &retry);
	hk_bucket_set(&b, 1, 2);
	for (ok = 0, i = 0; i < 5; i++)
		if (hk_bucket_take(&b, t, &retry) == 0)
			ok++;
	T_CHECK(ok == 2);
	/* Rate 0 is unlimited. */
	hk_bucket_init(&b, 0, 0, t);
	for (ok = 0, i = 0; i < 100000; i++)
		if (hk_bucket_take(&b, t, &retry) == 0)
			ok++;
	T_CHECK(ok == 100000);
}

static void
test_form(void)
{
	const char *f = "a=1&payload=%7B%22x%22%3A%22a+b%22%7D&payload=2&e=%";
	char *out;
	size_t n;

	T_CHECK(hk_form_get(f, strlen(f), "payload", &out, &n) == 0);
	T_STREQ(out, "{\"x\":\"a b\"}");
	T_CHECK(n == strlen(out));
	free(out);
	T_CHECK(hk_form_get(f, strlen(f), "a", &out, &n) == 0);
	T_STREQ(out, "1");
	free(out);
	T_CHECK(hk_form_get(f, strlen(f), "nope", &out, &n) == HK_ENOTFOUND);
	T_CHECK(hk_form_get(f, strlen(f), "e", &out, &n) == HK_EINVAL);
	T_CHECK(
	    hk_form_get("payload=%zz", 11, "payload", &out, &n) == HK_EINVAL);
	/* Not NUL-terminated: only LEN bytes count. */
	T_CHECK(hk_form_get("payload=abcdef", 10, "payload", &out, &n) == 0);
	T_STREQ(out, "ab");
	free(out);
}

static void
test_jptr(void)
{
	/* RFC 6901 §5. */
	cJSON *j = cJSON_Parse("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,"
	                       "\"c%d\":2,\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,"
	                       "\"k\\\"l\":6,\" \":7,\"m~n\":8}");
	const cJSON *n;

	T_CHECK(hk_jptr_get(j, "") == j);
	n = hk_jptr_get(j, "/foo/0");
	T_CHECK(cJSON_IsString(n) && strcmp(n->valuestring, "bar") == 0);
	T_CHECK(hk_jptr_get(j, "/")->valuedouble == 0);
	T_CHECK(hk_jptr_get(j, "/a~1b")->valuedouble == 1);
	T_CHECK(hk_jptr_get(j, "/c%d")->valuedouble == 2);
	T_CHECK(hk_jptr_get(j, "/i\\j")->valuedouble == 5);
	T_CHECK(hk_jptr_get(j, "/k\"l")->valuedouble == 6);
	T_CHECK(hk_jptr_get(j, "/ ")->valuedouble == 7);
	T_CHECK(hk_jptr_get(j, "/m~0n")->valuedouble == 8);
	T_CHECK(hk_jptr_get(j, "/foo/2") == NULL);
	T_CHECK(hk_jptr_get(j, "/foo/01") == NULL);
	T_CHECK(hk_jptr_get(j, "/foo/-") == NULL);
	T_CHECK(hk_jptr_get(j, "foo") == NULL);
	T_CHECK(hk_jptr_get(j, "/m~2n") == NULL);
	T_CHECK(hk_jptr_valid("") && hk_jptr_valid("/a/b"));
	T_CHECK(!hk_jptr_valid("a") && !hk_jptr_valid("/a~"));
	cJSON_Delete(j);
}

static void
test_env(void)
{
	struct hk_env ev = {"evt_01ARZ3NDEKTSV4RRFFQ69G5FAV", "a\"type",
	    1747862818211LL, NULL, "api\n", "{\"k\":[1,2]}", 11};
	struct hk_buf b = HK_BUF_INIT;
	cJSON *j, *src;

	T_CHECK(hk_env_build(&b, &ev) == 0);
	j = cJSON_Parse(b.b);
	T_CHECK(j != NULL);
	T_STREQ(cJSON_GetObjectItem(j, "event")->valuestring, "a\"type");
	T_STREQ(cJSON_GetObjectItem(j, "timestamp")->valuestring,
	    "2025-05-21T21:26:58.211Z");
	src = cJSON_GetObjectItem(j, "source");
	T_CHECK(cJSON_IsNull(cJSON_GetObjectItem(src, "webhook")));
	T_STREQ(cJSON_GetObjectItem(src, "name")->valuestring, "api\n");
	T_CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(
	            cJSON_GetObjectItem(j, "payload"), "k")) == 2);
	cJSON_Delete(j);
	hk_buf_free(&b);
}

static void
test_tokens(void)
{
	char t[HK_TOKEN_LEN], u[HK_TOKEN_LEN], h1[HK_TOKEN_HASH_LEN],
	    h2[HK_TOKEN_HASH_LEN], s[HK_SECRET_LEN];
	unsigned char raw[64];
	size_t i, n;

	hk_token_new("whtok_", t);
	hk_token_new("whtok_", u);
	T_CHECK(strncmp(t, "whtok_", 6) == 0 && strlen(t) == 6 + 43);
	T_CHECK(strcmp(t, u) != 0);
	for (i = 6; i < strlen(t); i++)
		T_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		               "vwxyz0123456789-_",
		            t[i]) != NULL);
	hk_token_hash(t, strlen(t), h1);
	hk_token_hash(t, strlen(t), h2);
	T_CHECK(strlen(h1) == 64 && strcmp(h1, h2) == 0);
	hk_token_hash(u, strlen(u), h2);
	T_CHECK(strcmp(h1, h2) != 0);
	T_CHECK(hk_str_ct_eq("abc", "abc"));
	T_CHECK(!hk_str_ct_eq("abc", "abd"));
	T_CHECK(!hk_str_ct_eq("abc", "ab"));
	T_CHECK(!hk_str_ct_eq("", "a"));
	hk_secret_new(s);
	T_CHECK(strncmp(s, "whsec_", 6) == 0 && strlen(s) == 6 + 44);
	T_CHECK(sodium_base642bin(raw, sizeof(raw), s + 6, strlen(s + 6), NULL,
	            &n, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    n == 32);
}

static void
test_mkey(void)
{
	unsigned char k1[HK_MKEY_LEN], k2[HK_MKEY_LEN];
	char dir[] = "/tmp/hookd-unit.XXXXXX", path[256], *cause = NULL;
	char *sealed, *plain;
	struct stat st;
	int fd, err;

	T_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	T_CHECK(hk_mkey_load(path, 0, k1, &cause) != 0);
	free(cause);
	cause = NULL;
	T_CHECK(hk_mkey_load(path, 1, k1, &cause) == 0);
	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	    st.st_size == HK_MKEY_LEN);
	T_CHECK(hk_mkey_load(path, 1, k2, &cause) == 0);
	T_CHECK(memcmp(k1, k2, HK_MKEY_LEN) == 0);
	/* Sealed secrets open with the key, and only with it. */
	sealed = hk_seal(k1, "whsec_secret-value");
	T_CHECK(sealed != NULL && strstr(sealed, "secret-value") == NULL);
	plain = hk_unseal(k1, sealed, &err);
	T_STREQ(plain, "whsec_secret-value");
	free(plain);
	k2[0] ^= 1;
	T_CHECK(hk_unseal(k2, sealed, &err) == NULL && err == HK_ECRYPTO);
	sealed[5] = sealed[5] == 'A' ? 'B' : 'A';
	T_CHECK(hk_unseal(k1, sealed, &err) == NULL && err == HK_ECRYPTO);
	T_CHECK(hk_unseal(k1, "%%%", &err) == NULL);
	free(sealed);
	/* Readable by others, or the wrong size: refused. */
	chmod(path, 0644);
	T_CHECK(hk_mkey_load(path, 1, k2, &cause) == HK_EINVAL);
	free(cause);
	cause = NULL;
	chmod(path, 0600);
	fd = open(path, O_WRONLY | O_APPEND);
	T_CHECK(fd != -1 && write(fd, "x", 1) == 1);
	close(fd);
	T_CHECK(hk_mkey_load(path, 1, k2, &cause) == HK_EINVAL);
	free(cause);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"ids", test_ids},
	    {"clock", test_clock},
	    {"buf", test_buf},
	    {"map", test_map},
	    {"bucket", test_bucket},
	    {"form", test_form},
	    {"jptr", test_jptr},
	    {"env", test_env},
	    {"tokens", test_tokens},
	    {"mkey", test_mkey},
	};

	if (hk_sig_init() != 0)
		return 1;
	return t_run("core", cases, HK_NELEM(cases));
}
