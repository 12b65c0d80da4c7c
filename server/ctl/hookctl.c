/*
 * hookctl: hookd's command-line client (proto/hookctl.md).
 *
 * One admin API request per command,
 * made with libcurl's easy interface: a CLI may block. People get
 * tables; --json prints the server's JSON as it came. Any error exits 1
 * with one line on stderr: the server's code and message, or what went
 * wrong reaching it. Usage errors exit 2.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "buf.h"

#define CTL_DEFAULT_ADMIN "127.0.0.1:8081"

static const char *ctl_addr;
static char *ctl_token;
static const char *ctl_cacert; /* --cacert: the CA of an https admin */
static int ctl_json;

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("hookctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* Prints the message built in MSG as the one error line, and exits 1. */
static void __attribute__((noreturn)) ctl_fail(struct hk_buf *msg)
{
	fprintf(stderr, "hookctl: %s\n", msg->b != NULL ? msg->b : "error");
	hk_buf_free(msg);
	exit(1);
}

/* The synopsis: on stdout for --help (exit 0), else on stderr (exit 2). */
static void __attribute__((noreturn)) usage(int code)
{
	fputs(
	    "usage: hookctl [-a ADDR] [-t TOKEN | -T TOKEN_FILE] [--cacert FILE] [--json] COMMAND ...\n"
	    "       hookctl --help | --version\n"
	    "  webhooks list|create NAME|show ID|enable ID|disable ID|"
	    "regenerate ID|delete ID|logs ID|test ID\n"
	    "  subs list|create URL EVENT...|show ID|enable ID|disable ID|"
	    "delete ID|test ID|rotate-secret ID\n"
	    "  events list|show ID|publish TYPE [PAYLOAD]|replay ID\n"
	    "  deliveries list|show ID|retry ID\n"
	    "  stats [--watch]\n"
	    "  cluster\n"
	    "  export (webhooks and named subscriptions as a --config file)\n"
	    "Options of create and list commands: see hookctl(1).\n",
	    code == 0 ? stdout : stderr);
	exit(code);
}

static size_t
ctl_collect(char *p, size_t size, size_t n, void *arg)
{
	return hk_buf_add(arg, p, size * n) == 0 ? size * n : 0;
}

/*
 * METHOD PATH with BODY (NULL: none). Returns the parsed answer (NULL
 * for 204); on an HTTP error or a transport failure it exits 1.
 */
static cJSON *
ctl_call(
    const char *method, const char *path, const char *body, struct hk_buf *raw)
{
	struct curl_slist *h = NULL;
	struct hk_buf resp = HK_BUF_INIT, url = HK_BUF_INIT, auth = HK_BUF_INIT;
	struct hk_buf errmsg = HK_BUF_INIT;
	const cJSON *e, *code, *msg;
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	cJSON *j;
	CURL *c;

	if ((c = curl_easy_init()) == NULL)
		die(1, "libcurl failed");
	if (strncmp(ctl_addr, "unix:", 5) == 0) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ctl_addr + 5);
		hk_buf_printf(&url, "http://localhost%s", path);
	} else if (strncmp(ctl_addr, "http://", 7) == 0 ||
	    strncmp(ctl_addr, "https://", 8) == 0)
		hk_buf_printf(&url, "%s%s", ctl_addr, path);
	else
		hk_buf_printf(&url, "http://%s%s", ctl_addr, path);
	hk_buf_printf(&auth, "Authorization: Bearer %s", ctl_token);
	h = curl_slist_append(h, auth.b);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url.b);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (ctl_cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, ctl_cacert);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ctl_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	hk_buf_free(&auth);
	hk_buf_free(&url);
	if (rc != CURLE_OK) {
		hk_buf_free(&resp);
		die(1, "cannot reach hookd at %s: %s", ctl_addr,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
	}
	if (status == 204) {
		hk_buf_free(&resp);
		return NULL;
	}
	j = resp.b != NULL ? cJSON_ParseWithLength(resp.b, resp.len) : NULL;
	if (status >= 400) {
		e = cJSON_GetObjectItemCaseSensitive(j, "error");
		code = cJSON_GetObjectItemCaseSensitive(e, "code");
		msg = cJSON_GetObjectItemCaseSensitive(e, "message");
		if (cJSON_IsString(code) && cJSON_IsString(msg))
			hk_buf_printf(&errmsg, "%ld %s: %s", status,
			    code->valuestring, msg->valuestring);
		else
			hk_buf_printf(
			    &errmsg, "%s %s: HTTP %ld", method, path, status);
		/* Freed before exit, so LeakSanitizer sees a clean exit. */
		cJSON_Delete(j);
		hk_buf_free(&resp);
		ctl_fail(&errmsg);
	}
	if (j == NULL) {
		hk_buf_free(&resp);
		die(1, "malformed answer from hookd at %s (HTTP %ld)", ctl_addr,
		    status);
	}
	if (raw != NULL)
		*raw = resp;
	else
		hk_buf_free(&resp);
	return j;
}

/* J's string member NAME, or "-". */
static const char *
str(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

/* J's number member NAME, or 0. */
static double
num(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Whether J's member NAME is true. */
static int
flag(const cJSON *j, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, name));
}

/* Writes RAW, the answer as hookd sent it, for --json. */
static void
ctl_raw(const struct hk_buf *raw)
{
	fwrite(raw->b, 1, raw->len, stdout);
	if (raw->len > 0 && raw->b[raw->len - 1] != '\n')
		putchar('\n');
}

/*
 * The end of the JSON value at P (text cJSON accepted), before END: a
 * string or a container ends after its closing character, a scalar at
 * the ',' or '}' that follows it.
 */
static const char *
json_skip(const char *p, const char *end)
{
	int depth = 0, in_str = 0;

	for (; p < end; p++) {
		if (in_str) {
			if (*p == '\\')
				p++;
			else if (*p == '"') {
				in_str = 0;
				if (depth == 0)
					return p + 1;
			}
		} else if (*p == '"')
			in_str = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return p;
			if (--depth == 0)
				return p + 1;
		} else if (*p == ',' && depth == 0)
			return p;
	}
	return p;
}

/* P past JSON whitespace. */
static const char *
json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/*
 * The text of the top-level member KEY of the object in RAW, as hookd
 * sent it: cJSON keeps numbers as doubles, and a 64-bit id in a payload
 * must show with all its digits. Returns 0 and sets *V and *N, or -1.
 */
static int
json_member(
    const struct hk_buf *raw, const char *key, const char **v, size_t *n)
{
	const char *p = raw->b, *end = raw->b + raw->len, *k, *ve;
	size_t klen = strlen(key);

	if (p == NULL || (p = json_ws(p, end)) >= end || *p++ != '{')
		return -1;
	for (;;) {
		if ((p = json_ws(p, end)) >= end || *p != '"')
			return -1;
		k = p + 1;
		p = json_skip(p, end);
		if ((p = json_ws(p, end)) >= end || *p++ != ':')
			return -1;
		p = json_ws(p, end);
		ve = json_skip(p, end);
		if ((size_t)(ve - k) > klen && memcmp(k, key, klen) == 0 &&
		    k[klen] == '"') {
			while (ve > p && strchr(" \t\r\n", ve[-1]) != NULL)
				ve--;
			*v = p;
			*n = (size_t)(ve - p);
			return 0;
		}
		if ((p = json_ws(ve, end)) >= end || *p++ != ',')
			return -1;
	}
}

/* Whether J holds no object or array. */
static int
json_flat(const cJSON *j)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, j) {
		if (cJSON_IsObject(e) || cJSON_IsArray(e))
			return 0;
	}
	return 1;
}

/* Prints S with control characters as '?': a terminal obeys them. */
static void
put_text(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* Prints a scalar V for people: yes/no, "-" for null. */
static void
put_scalar(const cJSON *v)
{
	char *s;

	if (cJSON_IsString(v))
		put_text(v->valuestring);
	else if (cJSON_IsBool(v))
		fputs(cJSON_IsTrue(v) ? "yes" : "no", stdout);
	else if (cJSON_IsNull(v))
		putchar('-');
	else if ((s = cJSON_PrintUnformatted(v)) != NULL) {
		fputs(s, stdout);
		free(s);
	}
}

/* A scalar as a k=v value: quoted when it is empty or holds a space. */
static void
put_kv_scalar(const cJSON *v)
{
	if (cJSON_IsString(v) &&
	    (v->valuestring[0] == '\0' ||
	        strchr(v->valuestring, ' ') != NULL)) {
		putchar('"');
		put_text(v->valuestring);
		putchar('"');
	} else
		put_scalar(v);
}

/*
 * Prints V on one line: a list as "a, b", an object as "k=v k=v" (a
 * list of objects in it as its count, other containers as JSON).
 */
static void
put_value(const cJSON *v)
{
	const cJSON *e;
	char *s;

	if (!cJSON_IsArray(v) && !cJSON_IsObject(v)) {
		put_scalar(v);
		return;
	}
	if (v->child == NULL)
		putchar('-');
	if (cJSON_IsArray(v) && !json_flat(v)) {
		if ((s = cJSON_PrintUnformatted(v)) == NULL)
			die(1, "out of memory");
		fputs(s, stdout);
		free(s);
		return;
	}
	cJSON_ArrayForEach(e, v) {
		if (cJSON_IsArray(v)) {
			printf("%s", e != v->child ? ", " : "");
			put_scalar(e);
			continue;
		}
		printf("%s%s=", e != v->child ? " " : "", e->string);
		if (cJSON_IsArray(e) && e->child != NULL &&
		    cJSON_IsObject(e->child))
			printf("(%d)", cJSON_GetArraySize(e));
		else if ((cJSON_IsArray(e) || cJSON_IsObject(e)) &&
		    (s = cJSON_PrintUnformatted(e)) != NULL) {
			fputs(s, stdout);
			free(s);
		} else
			put_kv_scalar(e);
	}
}

/*
 * Prints the object J for people: one "name  value" line per member,
 * a list of objects (attempts, deliveries) as indented lines below its
 * name. The payload, and every number, as RAW has them.
 */
static void
ctl_summary(const cJSON *j, const struct hk_buf *raw)
{
	const cJSON *m, *e;
	const char *text;
	int w = 0, len;
	size_t n;

	cJSON_ArrayForEach(m, j) {
		if ((len = (int)strlen(m->string)) > w)
			w = len;
	}
	cJSON_ArrayForEach(m, j) {
		printf("%-*s  ", w, m->string);
		if ((cJSON_IsNumber(m) || strcmp(m->string, "payload") == 0) &&
		    json_member(raw, m->string, &text, &n) == 0)
			fwrite(text, 1, n, stdout);
		else if (cJSON_IsArray(m) && m->child != NULL &&
		    cJSON_IsObject(m->child)) {
			printf("%d", cJSON_GetArraySize(m));
			cJSON_ArrayForEach(e, m) {
				fputs("\n  ", stdout);
				put_value(e);
			}
		} else
			put_value(m);
		putchar('\n');
	}
}

/* Runs a request and prints its answer: RAW for --json, else ROW. */
static void
ctl_list(const char *path, void (*row)(const cJSON *), const char *what)
{
	struct hk_buf raw = HK_BUF_INIT;
	const cJSON *data, *e, *next;
	cJSON *j;

	j = ctl_call("GET", path, NULL, &raw);
	if (ctl_json)
		ctl_raw(&raw);
	else {
		data = cJSON_GetObjectItemCaseSensitive(j, "data");
		if (!cJSON_IsArray(data)) {
			cJSON_Delete(j);
			hk_buf_free(&raw);
			die(1, "malformed answer from hookd at %s", ctl_addr);
		}
		cJSON_ArrayForEach(e, data)
			row(e);
		next = cJSON_GetObjectItemCaseSensitive(j, "next");
		/* Silence would look like a hang or a failure. */
		if (data->child == NULL)
			printf("no %s%s\n", what,
			    cJSON_IsString(next) ? " on this page" : "");
		if (cJSON_IsString(next))
			printf("(more: --after %s)\n", next->valuestring);
	}
	hk_buf_free(&raw);
	cJSON_Delete(j);
}

/*
 * Runs a request and prints its answer for people (a summary, unless
 * QUIET), or as hookd sent it for --json. Returns the answer (NULL for
 * a 204); the caller frees it with cJSON_Delete().
 */
static cJSON *
ctl_request(const char *method, const char *path, const char *body, int quiet)
{
	struct hk_buf raw = HK_BUF_INIT;
	cJSON *j = ctl_call(method, path, body, &raw);

	if (j != NULL && ctl_json)
		ctl_raw(&raw);
	else if (j != NULL && !quiet)
		ctl_summary(j, &raw);
	hk_buf_free(&raw);
	return j;
}

/* show, create and the like: the answer, printed, and freed. */
static void
ctl_show(const char *method, const char *path, const char *body)
{
	cJSON_Delete(ctl_request(method, path, body, 0));
}

/* enable/disable: one line for people, saying what the object now is. */
static void
ctl_toggle(const char *kind, const char *path, const char *field, int on)
{
	char body[32];
	const cJSON *v;
	cJSON *j;

	snprintf(
	    body, sizeof(body), "{\"%s\":%s}", field, on ? "true" : "false");
	j = ctl_request("PATCH", path, body, 1);
	if (!ctl_json) {
		v = cJSON_GetObjectItemCaseSensitive(j, "name");
		if (cJSON_IsString(v))
			printf(
			    "%s %s (%s) ", kind, v->valuestring, str(j, "id"));
		else
			printf("%s %s ", kind, str(j, "id"));
		puts(flag(j, field) ? "enabled" : "disabled");
	}
	cJSON_Delete(j);
}

/* delete: 204, and a line saying so. */
static void
ctl_delete(const char *kind, const char *path, const char *id)
{
	cJSON_Delete(ctl_call("DELETE", path, NULL, NULL));
	if (!ctl_json)
		printf("%s %s deleted\n", kind, id);
}

/*
 * subs test: a test delivery that fails is an error (exit 1, the
 * server's reason and message on stderr), after --json printed it.
 */
static void
ctl_sub_test(const char *path)
{
	struct hk_buf msg = HK_BUF_INIT, raw = HK_BUF_INIT;
	const char *reason;
	cJSON *j = ctl_call("POST", path, NULL, &raw);

	if (ctl_json)
		ctl_raw(&raw);
	else if (flag(j, "success"))
		ctl_summary(j, &raw);
	hk_buf_free(&raw);
	if (!flag(j, "success")) {
		reason = str(j, "reason");
		if (strcmp(reason, "status") == 0)
			hk_buf_printf(&msg,
			    "test delivery failed (status %d): %s",
			    (int)num(j, "statusCode"), str(j, "message"));
		else
			hk_buf_printf(&msg, "test delivery failed (%s): %s",
			    reason, str(j, "message"));
		cJSON_Delete(j);
		fflush(stdout);
		ctl_fail(&msg);
	}
	cJSON_Delete(j);
}

static void
row_webhook(const cJSON *w)
{
	printf("POST /webhooks/%s  [%s]  %s  auth=%s\n", str(w, "name"),
	    flag(w, "enabled") ? "enabled" : "disabled", str(w, "id"),
	    str(w, "auth"));
}

static void
row_sub(const cJSON *s)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(s, "events"), *e;
	const cJSON *argv = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(s, "command"), "argv");

	/* A command subscription's target is the program it runs. */
	if (cJSON_IsArray(argv) && cJSON_IsString(argv->child))
		printf("%s  command:%s  [%s]  ", str(s, "id"),
		    argv->child->valuestring,
		    flag(s, "active") ? "active" : "disabled");
	else
		printf("%s  %s  [%s]  ", str(s, "id"), str(s, "url"),
		    flag(s, "active") ? "active" : "disabled");
	cJSON_ArrayForEach(e, ev)
		printf("%s%s", e == ev->child ? "" : ",", e->valuestring);
	putchar('\n');
}

static void
row_event(const cJSON *e)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(e, "source");

	printf("%s  %s  %s  from %s\n", str(e, "id"), str(e, "timestamp"),
	    str(e, "event"), str(src, "name"));
}

static void
row_delivery(const cJSON *d)
{
	printf("%s  %-9s  attempts=%d  %s -> %s\n", str(d, "id"),
	    str(d, "status"), (int)num(d, "attemptCount"), str(d, "event"),
	    str(d, "subscription"));
}

static void
row_log(const cJSON *l)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(l, "error");

	printf("%s  %d  %-26s  %s  %dB  %.1fms  %s\n", str(l, "at"),
	    (int)num(l, "status"), cJSON_IsString(err) ? err->valuestring : "-",
	    str(l, "remoteAddr"), (int)num(l, "bytes"), num(l, "latencyMs"),
	    str(l, "eventId"));
}

/* Appends "?k=v&…" of the list options found in ARGV to PATH. */
static void
ctl_query(struct hk_buf *path, int argc, char **argv, const char *const *ok)
{
	char *esc;
	int i, first = 1;
	size_t k;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc)
			die(2, "unexpected argument %s", argv[i]);
		for (k = 0; ok[k] != NULL; k++)
			if (strcmp(argv[i] + 2, ok[k]) == 0)
				break;
		if (ok[k] == NULL)
			die(2, "unknown option %s", argv[i]);
		esc = curl_easy_escape(NULL, argv[i + 1], 0);
		hk_buf_printf(path, "%c%s=%s", first ? '?' : '&', ok[k], esc);
		curl_free(esc);
		first = 0;
		i++;
	}
}

/* The path of ID under BASE, escaped. */
static void
ctl_path(struct hk_buf *b, const char *base, const char *id, const char *tail)
{
	char *esc = curl_easy_escape(NULL, id, 0);

	hk_buf_printf(b, "%s/%s%s", base, esc, tail != NULL ? tail : "");
	curl_free(esc);
}

/* A JSON body from --key value options; NAMES maps options to fields. */
struct opt {
	const char *flag;
	const char *field;
	int type; /* 's' string, 'n' number, 'b' boolean flag, 'j' JSON */
};

static cJSON *
ctl_body(cJSON *j, int argc, char **argv, const struct opt *opts)
{
	const struct opt *o;
	cJSON *v;
	int i;

	for (i = 0; i < argc; i++) {
		for (o = opts; o->flag != NULL; o++)
			if (strcmp(argv[i], o->flag) == 0)
				break;
		if (o->flag == NULL)
			die(2, "unknown option %s", argv[i]);
		if (o->type == 'b') {
			cJSON_AddTrueToObject(j, o->field);
			continue;
		}
		if (++i >= argc)
			die(2, "%s needs a value", o->flag);
		if (o->type == 's')
			v = cJSON_CreateString(argv[i]);
		else if (o->type == 'n') {
			char *end;
			double d = strtod(argv[i], &end);

			if (*end != '\0' || end == argv[i])
				die(2, "%s needs a number", o->flag);
			v = cJSON_CreateNumber(d);
		} else if ((v = cJSON_Parse(argv[i])) == NULL)
			die(2, "%s: not valid JSON", o->flag);
		cJSON_DeleteItemFromObjectCaseSensitive(j, o->field);
		cJSON_AddItemToObject(j, o->field, v);
	}
	return j;
}

static char *
ctl_print(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	if (s == NULL)
		die(1, "out of memory");
	return s;
}

static const char *const list_opts[] = {"limit", "after", NULL};

/*
 * The secret of --secret-file PATH: its first line, without the line end
 * (a file written by echo or an editor ends in one). Caller frees.
 */
static char *
ctl_secret_file(const char *path)
{
	char buf[1024];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		die(2, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0')
		die(2, "%s: no secret in the file", path);
	return strdup(buf);
}

/*
 * Takes --secret S or --secret-file F out of ARGV (*ARGC shrinks) and
 * sets it as signature.secret of J after the other options: the one
 * step of `webhooks create NAME --provider P --secret S`.
 */
static char *
ctl_take_secret(int *argc, char **argv)
{
	char *secret = NULL;
	int i, o = 0;

	for (i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--secret") != 0 &&
		    strcmp(argv[i], "--secret-file") != 0) {
			argv[o++] = argv[i];
			continue;
		}
		if (secret != NULL)
			die(2, "give one of --secret and --secret-file");
		if (i + 1 >= *argc)
			die(2, "%s needs a value", argv[i]);
		secret = argv[i][8] == '\0' ? strdup(argv[i + 1])
		                            : ctl_secret_file(argv[i + 1]);
		if (secret == NULL)
			die(1, "out of memory");
		i++;
	}
	*argc = o;
	return secret;
}

/* Sets signature.secret of J to SECRET (which it frees), keeping --signature. */
static void
ctl_set_secret(cJSON *j, char *secret)
{
	cJSON *sig = cJSON_GetObjectItem(j, "signature");

	if (secret == NULL)
		return;
	if (sig == NULL)
		sig = cJSON_AddObjectToObject(j, "signature");
	else if (!cJSON_IsObject(sig))
		die(2, "--signature must be a JSON object");
	cJSON_DeleteItemFromObjectCaseSensitive(sig, "secret");
	cJSON_AddStringToObject(sig, "secret", secret);
	memset(secret, 0, strlen(secret));
	free(secret);
}

static void
cmd_webhooks(int argc, char **argv)
{
	static const struct opt create[] = {
	    {"--description", "description", 's'}, {"--auth", "auth", 's'},
	    {"--event-prefix", "eventPrefix", 's'},
	    {"--rate", "rateLimit", 'n'}, {"--max-body", "maxBody", 'n'},
	    {"--signature", "signature", 'j'},
	    {"--event-type", "eventType", 'j'}, {"--disabled", "enabled", 'b'},
	    {"--provider", "provider", 's'},
	    {"--verify-token", "verifyToken", 's'},
	    {"--accept-forms", "acceptForms", 'b'}, {NULL, NULL, 0}};
	struct hk_buf p = HK_BUF_INIT;
	const char *sub = argc > 0 ? argv[0] : "list";
	char *body, *secret;
	int nopt;
	cJSON *j;

	if (strcmp(sub, "list") == 0) {
		hk_buf_adds(&p, "/api/webhooks");
		ctl_query(&p, argc - 1, argv + 1, list_opts);
		ctl_list(p.b, row_webhook, "webhooks");
	} else if (argc < 2)
		usage(2);
	else if (strcmp(sub, "create") == 0) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", argv[1]);
		nopt = argc - 2;
		secret = ctl_take_secret(&nopt, argv + 2);
		ctl_body(j, nopt, argv + 2, create);
		ctl_set_secret(j, secret);
		/* --disabled sets enabled: true above; it means false. */
		if (cJSON_IsTrue(cJSON_GetObjectItem(j, "enabled")))
			cJSON_ReplaceItemInObject(
			    j, "enabled", cJSON_CreateFalse());
		body = ctl_print(j);
		ctl_show("POST", "/api/webhooks", body);
		free(body);
	} else if (strcmp(sub, "show") == 0) {
		ctl_path(&p, "/api/webhooks", argv[1], NULL);
		ctl_show("GET", p.b, NULL);
	} else if (strcmp(sub, "delete") == 0) {
		ctl_path(&p, "/api/webhooks", argv[1], NULL);
		ctl_delete("webhook", p.b, argv[1]);
	} else if (strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0) {
		ctl_path(&p, "/api/webhooks", argv[1], NULL);
		ctl_toggle("webhook", p.b, "enabled", sub[0] == 'e');
	} else if (strcmp(sub, "regenerate") == 0 || strcmp(sub, "test") == 0) {
		ctl_path(&p, "/api/webhooks", argv[1],
		    sub[0] == 'r' ? "/regenerate" : "/test");
		ctl_show("POST", p.b, NULL);
	} else if (strcmp(sub, "logs") == 0) {
		ctl_path(&p, "/api/webhooks", argv[1], "/logs");
		ctl_query(&p, argc - 2, argv + 2, list_opts);
		ctl_list(p.b, row_log, "log entries");
	} else
		die(2, "unknown command: webhooks %s", sub);
	hk_buf_free(&p);
}

static void
cmd_subs(int argc, char **argv)
{
	static const struct opt create[] = {{"--secret", "secret", 's'},
	    {"--description", "description", 's'},
	    {"--template", "template", 's'}, {"--timeout", "timeoutMs", 'n'},
	    {"--max-in-flight", "maxInFlight", 'n'},
	    {"--rate", "rateLimit", 'n'}, {"--headers", "headers", 'j'},
	    {"--sources", "sources", 'j'}, {"--retry", "retry", 'j'},
	    {"--ordered", "ordered", 'b'}, {NULL, NULL, 0}};
	struct hk_buf p = HK_BUF_INIT;
	const char *sub = argc > 0 ? argv[0] : "list";
	cJSON *j, *ev;
	char *body;
	int i;

	if (strcmp(sub, "list") == 0) {
		hk_buf_adds(&p, "/api/subscriptions");
		ctl_query(&p, argc - 1, argv + 1, list_opts);
		ctl_list(p.b, row_sub, "subscriptions");
	} else if (argc < 2)
		usage(2);
	else if (strcmp(sub, "create") == 0) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "url", argv[1]);
		ev = cJSON_AddArrayToObject(j, "events");
		for (i = 2; i < argc && strncmp(argv[i], "--", 2) != 0; i++)
			cJSON_AddItemToArray(ev, cJSON_CreateString(argv[i]));
		if (cJSON_GetArraySize(ev) == 0)
			cJSON_AddItemToArray(ev, cJSON_CreateString("*"));
		ctl_body(j, argc - i, argv + i, create);
		body = ctl_print(j);
		ctl_show("POST", "/api/subscriptions", body);
		free(body);
	} else if (strcmp(sub, "show") == 0) {
		ctl_path(&p, "/api/subscriptions", argv[1], NULL);
		ctl_show("GET", p.b, NULL);
	} else if (strcmp(sub, "delete") == 0) {
		ctl_path(&p, "/api/subscriptions", argv[1], NULL);
		ctl_delete("subscription", p.b, argv[1]);
	} else if (strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0) {
		ctl_path(&p, "/api/subscriptions", argv[1], NULL);
		ctl_toggle("subscription", p.b, "active", sub[0] == 'e');
	} else if (strcmp(sub, "test") == 0) {
		ctl_path(&p, "/api/subscriptions", argv[1], "/test");
		ctl_sub_test(p.b);
	} else if (strcmp(sub, "rotate-secret") == 0) {
		ctl_path(&p, "/api/subscriptions", argv[1], "/rotate-secret");
		ctl_show("POST", p.b, NULL);
	} else
		die(2, "unknown command: subs %s", sub);
	hk_buf_free(&p);
}

static void
cmd_events(int argc, char **argv)
{
	static const char *const opts[] = {
	    "limit", "after", "type", "source", "since", NULL};
	static const struct opt publish[] = {
	    {"--idempotency-key", "idempotencyKey", 's'}, {NULL, NULL, 0}};
	static const struct opt replay[] = {
	    {"--subscription", "subscription", 's'}, {NULL, NULL, 0}};
	struct hk_buf p = HK_BUF_INIT;
	const char *sub = argc > 0 ? argv[0] : "list";
	cJSON *j, *payload;
	char *body;
	int first = 2;

	if (strcmp(sub, "list") == 0) {
		hk_buf_adds(&p, "/api/events");
		ctl_query(&p, argc - 1, argv + 1, opts);
		ctl_list(p.b, row_event, "events");
	} else if (argc < 2)
		usage(2);
	else if (strcmp(sub, "show") == 0) {
		ctl_path(&p, "/api/events", argv[1], NULL);
		ctl_show("GET", p.b, NULL);
	} else if (strcmp(sub, "publish") == 0) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "event", argv[1]);
		if (argc > 2 && strncmp(argv[2], "--", 2) != 0) {
			if ((payload = cJSON_Parse(argv[2])) == NULL)
				die(2, "the payload is not valid JSON");
			cJSON_AddItemToObject(j, "payload", payload);
			first = 3;
		}
		ctl_body(j, argc - first, argv + first, publish);
		body = ctl_print(j);
		ctl_show("POST", "/api/events", body);
		free(body);
	} else if (strcmp(sub, "replay") == 0) {
		ctl_path(&p, "/api/events", argv[1], "/replay");
		body = ctl_print(
		    ctl_body(cJSON_CreateObject(), argc - 2, argv + 2, replay));
		ctl_show("POST", p.b, body);
		free(body);
	} else
		die(2, "unknown command: events %s", sub);
	hk_buf_free(&p);
}

static void
cmd_deliveries(int argc, char **argv)
{
	static const char *const opts[] = {
	    "limit", "after", "status", "subscription", "event", NULL};
	struct hk_buf p = HK_BUF_INIT;
	const char *sub = argc > 0 ? argv[0] : "list";

	if (strcmp(sub, "list") == 0) {
		hk_buf_adds(&p, "/api/deliveries");
		ctl_query(&p, argc - 1, argv + 1, opts);
		ctl_list(p.b, row_delivery, "deliveries");
	} else if (argc < 2)
		usage(2);
	else if (strcmp(sub, "show") == 0) {
		ctl_path(&p, "/api/deliveries", argv[1], NULL);
		ctl_show("GET", p.b, NULL);
	} else if (strcmp(sub, "retry") == 0) {
		ctl_path(&p, "/api/deliveries", argv[1], "/retry");
		ctl_show("POST", p.b, NULL);
	} else
		die(2, "unknown command: deliveries %s", sub);
	hk_buf_free(&p);
}

static void
stats_print(const cJSON *s)
{
	const cJSON *in = cJSON_GetObjectItem(s, "ingest");
	const cJSON *dl = cJSON_GetObjectItem(s, "delivery");
	const cJSON *lat = cJSON_GetObjectItem(s, "latency");
	const cJSON *st = cJSON_GetObjectItem(s, "store");
	const cJSON *w, *l, *cl, *tot;
	const char *names[] = {
	    "ingest", "deliveryAttempt", "eventToFirstSuccess"};
	size_t i;

	printf("hookd %s, up %.0f s\n", str(s, "version"),
	    num(s, "uptimeSeconds"));
	printf("ingest      received %.0f  accepted %.0f  duplicates %.0f  "
	       "rejected %.0f  rate-limited %.0f\n",
	    num(in, "received"), num(in, "accepted"), num(in, "duplicates"),
	    num(in, "rejected"), num(in, "rateLimited"));
	printf("delivery    pending %.0f  in flight %.0f  succeeded %.0f  "
	       "failed %.0f  attempts %.0f  circuits open %.0f\n",
	    num(dl, "pending"), num(dl, "inFlight"), num(dl, "succeeded"),
	    num(dl, "failed"), num(dl, "attempts"), num(dl, "circuitsOpen"));
	for (i = 0; i < 3; i++) {
		w = cJSON_GetObjectItem(
		    cJSON_GetObjectItem(lat, names[i]), "1m");
		l = cJSON_GetObjectItem(w, "latencyMs");
		printf("%-20s 1m: %.0f  p50 %.1fms  p99 %.1fms\n", names[i],
		    num(w, "count"), num(l, "p50"), num(l, "p99"));
	}
	printf("store       %.0f of %.0f MiB  events %.0f  deliveries %.0f\n",
	    num(st, "bytesUsed") / 1048576, num(st, "mapSize") / 1048576,
	    num(st, "events"), num(st, "deliveries"));
	if ((cl = cJSON_GetObjectItem(s, "cluster")) != NULL) {
		tot = cJSON_GetObjectItem(cl, "total");
		printf("cluster     %d nodes  accepted %.0f  succeeded %.0f  "
		       "failed %.0f  in flight %.0f  (this node: %s)\n",
		    cJSON_GetArraySize(cJSON_GetObjectItem(cl, "nodes")),
		    num(tot, "accepted"), num(tot, "succeeded"),
		    num(tot, "failed"), num(tot, "inFlight"), str(s, "node"));
	}
}

static void
cmd_stats(int argc, char **argv)
{
	int watch = argc > 0 && strcmp(argv[0], "--watch") == 0;
	struct hk_buf raw = HK_BUF_INIT;
	cJSON *j;

	if (argc > (watch ? 1 : 0))
		die(2, "unexpected argument %s", argv[watch]);
	for (;;) {
		j = ctl_call("GET", "/api/stats", NULL, &raw);
		if (watch && !ctl_json)
			fputs("\033[H\033[2J", stdout); /* redraw in place */
		if (ctl_json)
			ctl_raw(&raw);
		else
			stats_print(j);
		hk_buf_free(&raw);
		cJSON_Delete(j);
		fflush(stdout);
		if (!watch)
			break;
		sleep(2);
	}
}

/* The live nodes (GET /api/cluster), one line each. */
static void
cmd_cluster(int argc, char **argv)
{
	struct hk_buf raw = HK_BUF_INIT;
	const cJSON *n;
	cJSON *j;

	if (argc > 0)
		die(2, "unexpected argument %s", argv[0]);
	j = ctl_call("GET", "/api/cluster", NULL, &raw);
	if (ctl_json)
		ctl_raw(&raw);
	else {
		printf("%-24s %-22s %-22s %-24s %s\n", "NODE", "PUBLIC",
		    "ADMIN", "HEARTBEAT", "SUBSCRIPTIONS");
		cJSON_ArrayForEach(n, cJSON_GetObjectItem(j, "data"))
			printf("%-24s %-22s %-22s %-24s %.0f%s\n",
			    str(n, "nodeId"), str(n, "publicAddr"),
			    str(n, "adminAddr"), str(n, "heartbeatAt"),
			    num(n, "subscriptions"),
			    cJSON_IsTrue(cJSON_GetObjectItem(n, "self"))
			        ? "  (this)"
			        : "");
	}
	hk_buf_free(&raw);
	cJSON_Delete(j);
}

/* The token: -t, -T file, $HOOKD_ADMIN_TOKEN_FILE, <data>/admin.token. */
static char *
ctl_read_token(const char *file)
{
	char buf[512], path[4096];
	const char *data;
	FILE *f;
	size_t n;

	if (file == NULL)
		file = getenv("HOOKD_ADMIN_TOKEN_FILE");
	if (file == NULL) {
		data = getenv("HOOKD_DATA");
		snprintf(path, sizeof(path), "%s/admin.token",
		    data != NULL ? data : "./data");
		file = path;
	}
	if ((f = fopen(file, "r")) == NULL)
		die(1, "cannot read the admin token from %s: %s (use -t or -T)",
		    file, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n \t")] = '\0';
	if (buf[0] == '\0')
		die(1, "%s: empty admin token", file);
	return strdup(buf);
}

/* Every item of the list at PATH (all its pages) into OUT. */
static void
ctl_all(const char *path, cJSON *out)
{
	struct hk_buf p = HK_BUF_INIT, raw = HK_BUF_INIT;
	const cJSON *next;
	cJSON *j, *data, *e;
	char *after = NULL;

	for (;;) {
		p.len = 0;
		hk_buf_printf(&p, "%s?limit=100%s%s", path,
		    after != NULL ? "&after=" : "", after != NULL ? after : "");
		free(after);
		after = NULL;
		j = ctl_call("GET", p.b, NULL, &raw);
		data = cJSON_GetObjectItemCaseSensitive(j, "data");
		if (!cJSON_IsArray(data))
			die(1, "malformed answer from hookd at %s", ctl_addr);
		while ((e = cJSON_DetachItemFromArray(data, 0)) != NULL)
			cJSON_AddItemToArray(out, e);
		next = cJSON_GetObjectItemCaseSensitive(j, "next");
		if (cJSON_IsString(next))
			after = strdup(next->valuestring);
		cJSON_Delete(j);
		if (after == NULL)
			break;
	}
	hk_buf_free(&p);
	hk_buf_free(&raw);
}

/* Drops the members hookd makes (ids, times, state) from object J. */
static void
ctl_strip(cJSON *j, const char *const *drop)
{
	for (; *drop != NULL; drop++)
		cJSON_DeleteItemFromObjectCaseSensitive(j, *drop);
}

/*
 * hookctl export: the webhooks and the named subscriptions as a
 * configuration file (JSON, which a YAML reader takes too), without
 * secrets: a header value stays "[redacted]", which keeps the stored
 * one when the file is applied; sources by webhook name.
 */
static void
cmd_export(void)
{
	static const char *const wh_drop[] = {
	    "id", "url", "createdAt", "updatedAt", "managedBy", NULL};
	static const char *const sub_drop[] = {"id", "createdAt", "updatedAt",
	    "managedBy", "disabledReason", NULL};
	cJSON *root = cJSON_CreateObject(), *whs, *subs, *out, *e, *next, *src,
	      *s;
	const cJSON *w;
	char *text;
	int skipped = 0;

	whs = cJSON_CreateArray();
	subs = cJSON_CreateArray();
	ctl_all("/api/webhooks", whs);
	ctl_all("/api/subscriptions", subs);
	out = cJSON_AddArrayToObject(root, "subscriptions");
	for (e = subs->child; e != NULL; e = next) {
		next = e->next;
		if (!cJSON_IsString(
		        cJSON_GetObjectItemCaseSensitive(e, "name"))) {
			skipped++;
			continue;
		}
		ctl_strip(e, sub_drop);
		/* Sources by name: ids are one store's. */
		src = cJSON_GetObjectItemCaseSensitive(e, "sources");
		cJSON_ArrayForEach(s, src)
			cJSON_ArrayForEach(w, whs)
				if (cJSON_IsString(s) &&
				    strcmp(s->valuestring, str(w, "id")) == 0)
					cJSON_SetValuestring(s, str(w, "name"));
		cJSON_AddItemToArray(out, cJSON_DetachItemViaPointer(subs, e));
	}
	cJSON_ArrayForEach(e, whs)
		ctl_strip(e, wh_drop);
	/* Webhooks first, as the file reads best. */
	cJSON_DetachItemViaPointer(root, out);
	cJSON_AddItemToObject(root, "webhooks", whs);
	cJSON_AddItemToObject(root, "subscriptions", out);
	whs = NULL;
	if ((text = cJSON_Print(root)) == NULL)
		die(1, "out of memory");
	printf("%s\n", text);
	if (skipped > 0)
		fprintf(stderr,
		    "hookctl: %d subscription%s without a name left out (a "
		    "configuration file names each)\n",
		    skipped, skipped == 1 ? "" : "s");
	free(text);
	cJSON_Delete(subs);
	cJSON_Delete(whs);
	cJSON_Delete(root);
}

int
main(int argc, char **argv)
{
	const char *token_file = NULL, *cmd;
	int i;

	ctl_addr = getenv("HOOKD_ADMIN") != NULL ? getenv("HOOKD_ADMIN")
	                                         : CTL_DEFAULT_ADMIN;
	ctl_cacert = getenv("HOOKD_CACERT");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl_json = 1;
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			usage(0);
		else if (strcmp(argv[i], "--version") == 0) {
			puts("hookctl " VERSION);
			return 0;
		} else if (i + 1 < argc && strcmp(argv[i], "-a") == 0)
			ctl_addr = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "-t") == 0)
			ctl_token = strdup(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "-T") == 0)
			token_file = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--cacert") == 0)
			ctl_cacert = argv[++i];
		else
			die(2, "unknown option %s (see hookctl --help)",
			    argv[i]);
	}
	if (i >= argc)
		usage(2);
	cmd = argv[i++];
	if (strcmp(cmd, "webhooks") != 0 && strcmp(cmd, "subs") != 0 &&
	    strcmp(cmd, "events") != 0 && strcmp(cmd, "deliveries") != 0 &&
	    strcmp(cmd, "stats") != 0 && strcmp(cmd, "export") != 0 &&
	    strcmp(cmd, "cluster") != 0)
		die(2, "unknown command %s (see hookctl --help)", cmd);
	/* --json may also come after the command. */
	for (int k = i; k < argc; k++)
		if (strcmp(argv[k], "--json") == 0) {
			ctl_json = 1;
			memmove(&argv[k], &argv[k + 1],
			    (size_t)(argc - k - 1) * sizeof(*argv));
			argc--;
			k--;
		}
	if (ctl_token == NULL)
		ctl_token = ctl_read_token(token_file);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(cmd, "webhooks") == 0)
		cmd_webhooks(argc - i, argv + i);
	else if (strcmp(cmd, "subs") == 0)
		cmd_subs(argc - i, argv + i);
	else if (strcmp(cmd, "events") == 0)
		cmd_events(argc - i, argv + i);
	else if (strcmp(cmd, "deliveries") == 0)
		cmd_deliveries(argc - i, argv + i);
	else if (strcmp(cmd, "export") == 0)
		cmd_export();
	else if (strcmp(cmd, "cluster") == 0)
		cmd_cluster(argc - i, argv + i);
	else
		cmd_stats(argc - i, argv + i);
	free(ctl_token);
	curl_global_cleanup();
	return 0;
}
