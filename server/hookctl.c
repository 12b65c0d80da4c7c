/*
 * hookctl: hookd's command-line client (SPEC §8).
 *
 * One admin API request per command (two for enable/disable by name),
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
static void __attribute__((noreturn))
ctl_fail(struct hk_buf *msg)
{
	fprintf(stderr, "hookctl: %s\n", msg->b != NULL ? msg->b : "error");
	hk_buf_free(msg);
	exit(1);
}

static void __attribute__((noreturn)) usage(void)
{
	fputs("usage: hookctl [-a ADDR] [-t TOKEN | -T TOKEN_FILE] [--json] "
	      "COMMAND ...\n"
	      "  webhooks list|create NAME|show ID|enable ID|disable ID|"
	      "regenerate ID|delete ID|logs ID|test ID\n"
	      "  subs list|create URL EVENT...|show ID|enable ID|disable ID|"
	      "delete ID|test ID|rotate-secret ID\n"
	      "  events list|show ID|publish TYPE [PAYLOAD]|replay ID\n"
	      "  deliveries list|show ID|retry ID\n"
	      "  stats [--watch]\n"
	      "Options of create and list commands: see hookctl(1).\n",
	    stderr);
	exit(2);
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
	} else if (strncmp(ctl_addr, "http://", 7) == 0)
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

static const char *
str(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

static double
num(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int
flag(const cJSON *j, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, name));
}

/* Prints J as --json wants it, or pretty for `show`. */
static void
ctl_print_json(const cJSON *j)
{
	char *s = ctl_json ? cJSON_PrintUnformatted(j) : cJSON_Print(j);

	if (s == NULL)
		die(1, "out of memory");
	puts(s);
	free(s);
}

/* Runs a request and prints its answer: RAW for --json, else ROW. */
static void
ctl_list(const char *path, void (*row)(const cJSON *))
{
	struct hk_buf raw = HK_BUF_INIT;
	const cJSON *data, *e, *next;
	cJSON *j;

	j = ctl_call("GET", path, NULL, &raw);
	if (ctl_json) {
		fwrite(raw.b, 1, raw.len, stdout);
		if (raw.len > 0 && raw.b[raw.len - 1] != '\n')
			putchar('\n');
	} else {
		data = cJSON_GetObjectItemCaseSensitive(j, "data");
		if (!cJSON_IsArray(data))
			die(1, "malformed answer from hookd at %s", ctl_addr);
		cJSON_ArrayForEach(e, data) row(e);
		next = cJSON_GetObjectItemCaseSensitive(j, "next");
		if (cJSON_IsString(next))
			printf("(more: --after %s)\n", next->valuestring);
	}
	hk_buf_free(&raw);
	cJSON_Delete(j);
}

static void
ctl_show(const char *method, const char *path, const char *body)
{
	cJSON *j = ctl_call(method, path, body, NULL);

	if (j != NULL)
		ctl_print_json(j);
	else if (!ctl_json)
		puts("done");
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

static void
cmd_webhooks(int argc, char **argv)
{
	static const struct opt create[] = {
	    {"--description", "description", 's'}, {"--auth", "auth", 's'},
	    {"--event-prefix", "eventPrefix", 's'},
	    {"--rate", "rateLimit", 'n'}, {"--max-body", "maxBody", 'n'},
	    {"--signature", "signature", 'j'},
	    {"--event-type", "eventType", 'j'}, {"--disabled", "enabled", 'b'},
	    {NULL, NULL, 0}};
	struct hk_buf p = HK_BUF_INIT;
	const char *sub = argc > 0 ? argv[0] : "list";
	char *body;
	cJSON *j;

	if (strcmp(sub, "list") == 0) {
		hk_buf_adds(&p, "/api/webhooks");
		ctl_query(&p, argc - 1, argv + 1, list_opts);
		ctl_list(p.b, row_webhook);
	} else if (argc < 2)
		usage();
	else if (strcmp(sub, "create") == 0) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", argv[1]);
		ctl_body(j, argc - 2, argv + 2, create);
		/* --disabled sets enabled: true above; it means false. */
		if (cJSON_IsTrue(cJSON_GetObjectItem(j, "enabled")))
			cJSON_ReplaceItemInObject(
			    j, "enabled", cJSON_CreateFalse());
		body = ctl_print(j);
		ctl_show("POST", "/api/webhooks", body);
		free(body);
	} else if (strcmp(sub, "show") == 0 || strcmp(sub, "delete") == 0) {
		ctl_path(&p, "/api/webhooks", argv[1], NULL);
		ctl_show(sub[0] == 's' ? "GET" : "DELETE", p.b, NULL);
	} else if (strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0) {
		ctl_path(&p, "/api/webhooks", argv[1], NULL);
		ctl_show("PATCH", p.b,
		    sub[0] == 'e' ? "{\"enabled\":true}"
		                  : "{\"enabled\":false}");
	} else if (strcmp(sub, "regenerate") == 0 || strcmp(sub, "test") == 0) {
		ctl_path(&p, "/api/webhooks", argv[1],
		    sub[0] == 'r' ? "/regenerate" : "/test");
		ctl_show("POST", p.b, NULL);
	} else if (strcmp(sub, "logs") == 0) {
		ctl_path(&p, "/api/webhooks", argv[1], "/logs");
		ctl_query(&p, argc - 2, argv + 2, list_opts);
		ctl_list(p.b, row_log);
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
		ctl_list(p.b, row_sub);
	} else if (argc < 2)
		usage();
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
	} else if (strcmp(sub, "show") == 0 || strcmp(sub, "delete") == 0) {
		ctl_path(&p, "/api/subscriptions", argv[1], NULL);
		ctl_show(sub[0] == 's' ? "GET" : "DELETE", p.b, NULL);
	} else if (strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0) {
		ctl_path(&p, "/api/subscriptions", argv[1], NULL);
		ctl_show("PATCH", p.b,
		    sub[0] == 'e' ? "{\"active\":true}" : "{\"active\":false}");
	} else if (strcmp(sub, "test") == 0 ||
	    strcmp(sub, "rotate-secret") == 0) {
		ctl_path(&p, "/api/subscriptions", argv[1],
		    sub[0] == 't' ? "/test" : "/rotate-secret");
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
		ctl_list(p.b, row_event);
	} else if (argc < 2)
		usage();
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
		ctl_list(p.b, row_delivery);
	} else if (argc < 2)
		usage();
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
	const cJSON *w, *l;
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
}

static void
cmd_stats(int argc, char **argv)
{
	int watch = argc > 0 && strcmp(argv[0], "--watch") == 0;
	cJSON *j;

	if (argc > (watch ? 1 : 0))
		die(2, "unexpected argument %s", argv[watch]);
	for (;;) {
		j = ctl_call("GET", "/api/stats", NULL, NULL);
		if (watch && !ctl_json)
			fputs("\033[H\033[2J", stdout); /* redraw in place */
		if (ctl_json)
			ctl_print_json(j);
		else
			stats_print(j);
		cJSON_Delete(j);
		fflush(stdout);
		if (!watch)
			break;
		sleep(2);
	}
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

int
main(int argc, char **argv)
{
	const char *token_file = NULL, *cmd;
	int i;

	ctl_addr = getenv("HOOKD_ADMIN") != NULL ? getenv("HOOKD_ADMIN")
	                                         : CTL_DEFAULT_ADMIN;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0)
			ctl_json = 1;
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			usage();
		else if (i + 1 < argc && strcmp(argv[i], "-a") == 0)
			ctl_addr = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "-t") == 0)
			ctl_token = strdup(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "-T") == 0)
			token_file = argv[++i];
		else
			die(2, "unknown option %s (see hookctl --help)",
			    argv[i]);
	}
	if (i >= argc)
		usage();
	cmd = argv[i++];
	if (strcmp(cmd, "webhooks") != 0 && strcmp(cmd, "subs") != 0 &&
	    strcmp(cmd, "events") != 0 && strcmp(cmd, "deliveries") != 0 &&
	    strcmp(cmd, "stats") != 0)
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
	else
		cmd_stats(argc - i, argv + i);
	free(ctl_token);
	curl_global_cleanup();
	return 0;
}
