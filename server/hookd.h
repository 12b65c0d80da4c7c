/*
 * hookd.h: the daemon's one header, grouped by file.
 *
 * Everything here runs on the loop thread unless it says otherwise; the
 * only other thread is the store's writer (lib/store.h).
 */
#ifndef HOOKD_H
#define HOOKD_H

#include <sys/queue.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>
#include <event2/event.h>
#include <event2/http.h>

#include "addr.h"
#include "bucket.h"
#include "buf.h"
#include "dlv.h"
#include "id.h"
#include "map.h"
#include "secret.h"
#include "sig.h"
#include "store/store.h"

/* Defaults (proto/operation.md); each is a flag with a HOOKD_* twin. */
#define HOOKD_LISTEN "127.0.0.1:8080"
#define HOOKD_ADMIN "127.0.0.1:8081"
#define HOOKD_DATA "./data"
#define HOOKD_MAP_SIZE "1GiB"
#define HOOKD_MAX_BODY "1MiB"
#define HOOKD_RATE "100"
#define HOOKD_MAX_CONNECTIONS "1024"
#define HOOKD_MAX_STREAMS "16"
#define HOOKD_MAX_IN_FLIGHT "256"
#define HOOKD_RETENTION "7d"
#define HOOKD_DISABLE_AFTER "5d"
#define HOOKD_LOG_LEVEL "info"
#define HOOKD_REQUEST_TIMEOUT "30s"
#define HOOKD_IDLE_TIMEOUT "60s"
#define HOOKD_MAX_HEADERS "16KiB"
#define HOOKD_SHUTDOWN_GRACE "10s"
#define HOOKD_OUTCOME_DELAY "5ms"
#define HOOKD_LEASE "10s"
#define HOOKD_COMMIT_TIMEOUT "5s"
#define HOOKD_HIGHWATER "90"
#define HOOKD_LOG_REFUSALS "10"
#define HOOKD_LOG_BUDGET "10"

#define HOOKD_NAME_MAX 64 /* webhook names */
#define HOOKD_SUB_HEADERS_MAX 32 /* a subscription's own header lines */
#define HOOKD_TYPE_MAX 200 /* event types */
#define HOOKD_IDEM_MAX 256 /* idempotency keys */
#define HOOKD_TEMPLATE_MAX 65536 /* subscription body templates (bytes) */
#define HOOKD_LIST_DEFAULT 50 /* ?limit= */
#define HOOKD_LIST_MAX 1000
#define HOOKD_RATE_MIN 0.001 /* the lowest rate besides 0 (unlimited) */
#define HOOKD_SCAN_MAX 100000 /* records one filtered list reads at most */

struct evdns_base;

/* config.c */
enum hk_log_level { HK_LOG_DEBUG, HK_LOG_INFO, HK_LOG_WARN, HK_LOG_ERROR };

struct hk_conf {
	char *cf_listen;
	char *cf_admin;
	char *cf_data;
	char *cf_store; /* NULL: LMDB in cf_data */
	char *cf_admin_token_file;
	char *cf_master_key_file;
	char *cf_public_url;
	char *cf_allow_targets;
	char *cf_log_file;
	char *cf_config; /* --config: the configuration file, or NULL */
	int cf_check; /* --check: print the file's plan and exit */
	int cf_allow_commands; /* --allow-commands: command subscriptions */
	char *cf_tls_cert, *cf_tls_key; /* the public listener's; NULL: none */
	char *cf_admin_tls_cert, *cf_admin_tls_key;
	int64_t cf_map_size;
	int64_t cf_max_body;
	int64_t cf_max_headers;
	double cf_rate;
	int64_t cf_max_connections;
	int64_t cf_max_streams;
	int64_t cf_max_in_flight;
	int64_t cf_retention_ms;
	int64_t cf_disable_after_ms;
	int64_t cf_request_timeout_ms;
	int64_t cf_idle_timeout_ms;
	int64_t cf_shutdown_grace_ms;
	int64_t cf_outcome_delay_ms;
	char *cf_node_id;
	int64_t cf_lease_ms;
	int64_t cf_commit_timeout_ms;
	int64_t cf_highwater;
	int64_t cf_log_level;
	int64_t cf_log_refusals; /* per second per webhook, before auth */
	int64_t cf_log_budget; /* percent of the map for the request log */
};

/*
 * Fills CONF from defaults, then HOOKD_* variables, then ARGV. Returns
 * 0, 1 when --help or --version was printed, or -1 after printing the
 * error.
 */
int hk_conf_load(struct hk_conf *, int argc, char **argv);
void hk_conf_free(struct hk_conf *);

/* log.c */
void hk_log_init(int level, const char *file);
void hk_log_reopen(void);
void hk_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like hk_log at HK_LOG_ERROR, then exits 1; only before the loop runs. */
void hk_fatal(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* VAL quoted for a key=value line (one of 8 rotating static buffers). */
const char *hk_logq(const char *val);
#define log_debug(ev, ...) hk_log(HK_LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) hk_log(HK_LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) hk_log(HK_LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) hk_log(HK_LOG_ERROR, ev, __VA_ARGS__)

/* conn.c: connection bookkeeping of one listener. */
struct hk_conns;
struct hk_conns *hk_conns_new(
    struct event_base *, struct evhttp *, int64_t max, int64_t deadline_ms);
/* The listener accept is paused at the maximum (set once it exists). */
void hk_conns_set_listener(struct hk_conns *, struct evconnlistener *);
size_t hk_conns_count(struct hk_conns *);
/*
 * Runs CB(ARG) once when EVCON closes (evhttp has one close callback per
 * connection, and conn.c holds it); CB NULL forgets. 0, or -1 when EVCON
 * is no listener's.
 */
int hk_conns_on_close(
    struct evhttp_connection *, void (*cb)(void *), void *arg);
/* The body of EVCON's request is refused unread: drain it at the close. */
void hk_conns_linger(struct evhttp_connection *);
/* Stopping: closes idle connections; returns how many have work. */
size_t hk_conns_drain(struct hk_conns *);
void hk_conns_free(struct hk_conns *);

/* tls.c: a listener's certificate and key, reread on SIGHUP. */
struct hk_tls;
struct ssl_st;
/* Reads CERT and KEY (NAME names the listener); NULL and *CAUSE set. */
struct hk_tls *hk_tls_new(
    const char *name, const char *cert, const char *key, char **cause);
/* Rereads the files into a new context; the old one stays on failure. */
int hk_tls_reload(struct hk_tls *, char **cause);
/* A session of the current context for a new connection; NULL: none. */
struct ssl_st *hk_tls_session(struct hk_tls *);
void hk_tls_free(struct hk_tls *);
/* New connections of the listener speak TLS (set before it accepts). */
void hk_conns_set_tls(struct hk_conns *, struct hk_tls *);

/* http.c */
struct hk_listener {
	struct evhttp *ls_http;
	struct evconnlistener *ls_lev;
	struct evhttp_bound_socket *ls_bound;
	struct hk_conns *ls_conns;
	char *ls_unix_path; /* unlinked at close */
	char ls_addr[128]; /* as bound, e.g. 127.0.0.1:8080 */
	int ls_tls; /* speaks HTTPS */
};

struct hk_listen_conf {
	int64_t lc_max_headers;
	int64_t lc_max_body;
	int64_t lc_idle_ms;
	int64_t lc_deadline_ms;
	int64_t lc_max_conns;
	struct hk_tls *lc_tls; /* NULL: plain HTTP */
	/*
	 * Optional: each request's headers are read, before its body (set
	 * the route's body limit); its body is over that limit (answer it).
	 */
	void (*lc_headers)(struct evhttp_request *);
	void (*lc_too_large)(struct evhttp_request *, const char *path);
};

int hk_listen(struct hk_listener *, struct event_base *, const char *spec,
    const struct hk_listen_conf *, void (*cb)(struct evhttp_request *, void *),
    void *arg, char **cause);
void hk_listen_close(struct hk_listener *);
/* Stops accepting: closes the listening socket (shutdown). */
void hk_listen_pause(struct hk_listener *);

/* Replies STATUS with the JSON text of B (B may be NULL: no body). */
void hk_http_reply(struct evhttp_request *, int status, const struct hk_buf *);
/* Replies STATUS with {"error":{"code":…,"message":…}}. */
void hk_http_error(struct evhttp_request *, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Replies STATUS with the JSON of J, which it consumes. */
void hk_http_json(struct evhttp_request *, int status, cJSON *j);
/* 503 unavailable with Retry-After, for a store or shutdown refusal RC. */
void hk_http_unavailable(struct evhttp_request *, int rc);
/* Its message for RC (HK_EFULL, HK_EIO, HK_ESHUTDOWN, ...). */
const char *hk_http_unavailable_why(int rc);
/* The status text of a code. */
const char *hk_http_reason(int status);
/* The request's remote address as text. */
const char *hk_http_peer(struct evhttp_request *, char *buf, size_t len);
/*
 * What both listeners do first: the request's path, once its URI parses,
 * its framing is clear (one Content-Length, no transfer coding but
 * chunked: libevent reads "gzip, chunked" as chunked and passes the
 * coded body on) and it is not for /healthz or /readyz. NULL once it has
 * answered.
 */
const char *hk_http_begin(struct evhttp_request *);

/* webhook.c: incoming webhooks, cached in memory, and their changes. */
enum hk_auth { HK_AUTH_TOKEN, HK_AUTH_SIGNATURE, HK_AUTH_BOTH, HK_AUTH_NONE };
enum hk_etype {
	HK_ETYPE_DEFAULT,
	HK_ETYPE_HEADER,
	HK_ETYPE_JSON,
	HK_ETYPE_FIXED
};

struct hk_webhook {
	char wh_id[HK_ID_MAX];
	char wh_name[HOOKD_NAME_MAX + 1];
	char *wh_description;
	enum hk_auth wh_auth;
	enum hk_scheme wh_scheme;
	char *wh_secret; /* plaintext, in memory only */
	char *wh_secret_sealed;
	long wh_tolerance;
	enum hk_etype wh_etype;
	char *wh_etype_value;
	char *wh_prefix;
	double wh_rate; /* < 0: the --rate default */
	int64_t wh_max_body; /* 0: the --max-body default */
	int wh_enabled;
	int wh_managed; /* managedBy: config (the configuration file's) */
	const struct hk_provider *wh_provider; /* provider.c, or NULL */
	char *wh_verify_token; /* Meta's handshake */
	int wh_accept_forms;
	char wh_token_hash[HK_TOKEN_HASH_LEN];
	int64_t wh_created;
	int64_t wh_updated;
	struct hk_bucket wh_bucket;
	TAILQ_ENTRY(hk_webhook) wh_entry;
};
TAILQ_HEAD(hk_webhook_list, hk_webhook);

/*
 * managedBy, the member that marks what the configuration file owns:
 * stored with the record, set only by that file's loader (the API
 * refuses it in a body).
 */
int hk_managed_set(int *managed, const cJSON *v);

/* Every webhook, in id order. */
struct hk_webhook_list *hk_webhook_all(void);
/* Loads every webhook from the store into the cache. */
int hk_webhook_load(char **cause);
void hk_webhook_free_all(void);
/* Another node changed webhook ID (TEXT NULL: deleted). */
void hk_webhook_external(const char *id, const char *text, size_t len);
struct hk_webhook *hk_webhook_find(const char *id_or_name);
struct hk_webhook *hk_webhook_by_token(const char *token, size_t len);
double hk_webhook_rate(const struct hk_webhook *);
int64_t hk_webhook_max_body(const struct hk_webhook *);
/* The largest body any webhook accepts (the listener's hard ceiling). */
int64_t hk_webhook_body_ceiling(void);
/* The public form (the API's JSON): never the token or the secret. */
cJSON *hk_webhook_public(const struct hk_webhook *);
/*
 * Judges a create (CREATE) or PATCH body as the API does, changing
 * nothing: 0, or -1 with the 400 message in ERR (test/fuzz/admin.c).
 */
int hk_webhook_check_json(const cJSON *, int create, char *err, size_t errlen);

/*
 * Changes. Each reports to DONE(change, rc) on the loop, once, maybe
 * before it returns: rc 0 once the change is durable and cached, or a
 * refusal: HK_EINVAL (wc_err says why), HK_EEXIST (another webhook is
 * named wc_name), HK_ENOTFOUND (deleted meanwhile), HK_ENOMEM, HK_EFULL,
 * or another store failure (logged). wc_stored tells a refusal of the
 * store's commit from one before anything was submitted (then HK_ENOMEM,
 * or the code of hk_st_submit()). The change and what it points to are
 * valid only during DONE.
 */
enum hk_webhook_verb {
	HK_WH_CREATE,
	HK_WH_UPDATE,
	HK_WH_REGENERATE,
	HK_WH_DELETE
};

struct hk_webhook_change {
	enum hk_webhook_verb wc_verb;
	const char *wc_id; /* "" when a create was refused before its id */
	const struct hk_webhook *wc_wh; /* rc 0: as cached now; NULL: deleted */
	const char *wc_token; /* rc 0, create and regenerate: shown once */
	const char *wc_name;
	const char *wc_err;
	int wc_stored;
	void *wc_arg;
};
typedef void (*hk_webhook_done_fn)(const struct hk_webhook_change *, int rc);

/* A new webhook from BODY, a create's JSON (consumed). */
void hk_webhook_create(cJSON *body, hk_webhook_done_fn, void *arg);
/* PATCH applies to WH as stored when the writer runs (consumed). */
void hk_webhook_update(
    const struct hk_webhook *, cJSON *patch, hk_webhook_done_fn, void *arg);
/* A new token and secret. */
void hk_webhook_regenerate(
    const struct hk_webhook *, hk_webhook_done_fn, void *arg);
/* Deletes WH and its request log. */
void hk_webhook_delete(
    const struct hk_webhook *, hk_webhook_done_fn, void *arg);

/* api/webhooks.c: /api/webhooks. */
/* Admin routes under /api/webhooks; SEG are the path segments. */
void hk_webhook_route(struct evhttp_request *, char **seg, int nseg);

/*
 * domain/provider.c: provider presets (proto/http.md Providers), rows of
 * one table (their columns: domain/provider.h).
 */
struct hk_provider;

/*
 * Applies member provider V (a name, or null) to WH, presetting auth,
 * signature.scheme and eventPrefix, which members applied after it
 * override. 0, or -1 with the 400 message in ERR.
 */
int hk_provider_set(
    struct hk_webhook *, const cJSON *v, char *err, size_t errlen);
/* Judges WH once all its fields are set: 0, or -1 with ERR. */
int hk_provider_check(const struct hk_webhook *, char *err, size_t errlen);
/* Adds provider, verifyToken and acceptForms to a webhook's JSON. */
void hk_provider_public(const struct hk_webhook *, cJSON *j);
const char *hk_provider_name(const struct hk_provider *);
/* Whether WH takes forms without a payload field as JSON objects. */
int hk_provider_forms(const struct hk_webhook *);

/* listen/provider.c: a provider's requests, read by its row. */
/* The answer to a handshake, which ingest sends and logs. */
struct hk_handshake {
	int hs_status; /* 200, or the refusal's status */
	const char *hs_code; /* "handshake", or the refusal's error code */
	const char *hs_msg; /* the refusal's message */
	const char *hs_ctype; /* of HS_BODY (200 only) */
	struct hk_buf hs_body; /* the caller frees it */
};

/*
 * The event type of WH's provider for this request into OUT (before the
 * prefix; FORM: the body was a form without payload). 1 found, 0 none
 * (ingest's defaults apply), -1 when it does not fit or holds a NUL.
 */
int hk_provider_type(struct evhttp_request *, const struct hk_webhook *,
    const char *payload, size_t plen, int form, char *out, size_t len);
/* The provider's idempotency key into BUF and *KEY: 1, 0 or -1 as above. */
int hk_provider_idem(struct evhttp_request *, const struct hk_webhook *,
    const char *payload, size_t plen, char *buf, size_t len, const char **key);
/*
 * Whether the request is WH's provider's handshake: a GET (hk_provider_get)
 * or an authenticated JSON POST (hk_provider_post). 1 with HS filled, or 0.
 */
int hk_provider_get(
    struct evhttp_request *, const struct hk_webhook *, struct hk_handshake *);
int hk_provider_post(const struct hk_webhook *, const char *payload,
    size_t plen, struct hk_handshake *);

/* status.c: links.status, the sender's view of its event (proto/http.md). */
/*
 * The webhook and event id (into EVT, LEN bytes) of a status path,
 * /webhooks/{idOrName}/events/{id} or /hooks/{token}/events/{id} (*BY_URL
 * set); NULL when PATH is neither or names no webhook.
 */
struct hk_webhook *hk_status_route(
    const char *path, int *by_url, char *evt, size_t len);
/*
 * Reads the status of event EVT of webhook WH_ID and calls DONE(ARG, rc,
 * json) on the loop, maybe before returning: rc 0 (JSON, valid during
 * the call), HK_ENOTFOUND (no such event, or another webhook's), HK_EIO
 * or HK_ENOMEM.
 */
typedef void (*hk_status_fn)(void *arg, int rc, struct hk_buf *json);
void hk_status_read(
    const char *evt, const char *wh_id, hk_status_fn done, void *arg);
/* Appends ,"status":LINK of event EVT of webhook NAME (absolute with
 * --public-url) to a 202's links. 0 or HK_ENOMEM. */
int hk_status_link(struct hk_buf *, const char *name, const char *evt);

/* event.c: events, their commit (one HK_ST_EVENT), envelope helpers. */
struct hk_event_op;
typedef void (*hk_event_done_fn)(struct hk_event_op *, int rc);

struct hk_event_op {
	struct hk_st_event eo_ev; /* first: the store hands it back */
	char eo_id[HK_ID_MAX];
	char eo_dup_id[HK_ID_MAX]; /* on HK_EDUP: the first event's id */
	char *eo_idem; /* scope '\0' key, or NULL */
	int *eo_sub_max; /* maxAttempts of each of eo_ev.ev_subs */
	struct hk_buf eo_env; /* the envelope */
	hk_event_done_fn eo_done;
	void *eo_arg;
};

/*
 * Builds and submits the commit of one event and of a delivery to every
 * matching subscription. TYPE, SOURCE (NULL for published events), NAME
 * and the raw JSON PAYLOAD are copied; SCOPE and IDEM (both or neither)
 * are the idempotency key. Returns the op, or NULL when the store refuses
 * (shutting down, out of memory) with *ERR. DONE frees the op with
 * hk_event_op_free(); a NULL DONE means fire and forget.
 */
struct hk_event_op *hk_event_submit(const char *type, const char *source,
    const char *name, const char *payload, size_t plen, const char *scope,
    const char *idem, hk_event_done_fn done, void *arg, int *err);
void hk_event_op_free(struct hk_event_op *);
/*
 * Called (loop thread) with the envelope of each event once committed,
 * before its DONE; the console's stream registers it at start, so the
 * domain never calls up into the API. NULL: nobody listens.
 */
void hk_event_watch(void (*fn)(const char *env, size_t len));
/* The members of a stored envelope before its payload, parsed. */
cJSON *hk_event_head(const char *env, size_t len);
/* Whether TYPE matches PATTERN: exact, a prefix ending in '*', or "*". */
int hk_event_match(const char *pattern, const char *type);
/* Whether T is an event type: 1 to 200 visible ASCII characters (§3). */
int hk_event_type_ok(const char *t);
#define HOOKD_TYPE_RULE "1-200 visible ASCII characters (0x21-0x7E)"
struct hk_json_str;
/* Decodes RAW, a string member, into OUT: 0 when it is an event type. */
int hk_event_type_raw(const struct hk_json_str *raw, char *out, size_t len);

/* api/events.c: /api/events, and the answers of an event's commit. */
void hk_event_route(struct evhttp_request *, char **seg, int nseg);
/* Answers 202/200 for a finished event commit (ingest and publish). */
void hk_event_reply(struct evhttp_request *, struct hk_event_op *, int rc);
/* The same, with links.status for webhook NAME (ingest). */
void hk_event_reply_for(
    struct evhttp_request *, struct hk_event_op *, int rc, const char *name);
/* POST /api/webhooks/{id}/test: a test event through the same commit. */
void hk_event_test(struct evhttp_request *, const struct hk_webhook *);
/*
 * The whole text of the admin request body's top-level members NAMES
 * (json.h hk_json_raw(): a payload keeps its digits). 0, or -1 answered.
 */
int hk_event_body_raw(struct evhttp_request *, const char *const *names,
    size_t n, struct hk_json_str *out);

/* reqlog.c: each webhook's request log. */
struct hk_reqlog {
	const char *rl_webhook;
	int rl_status;
	const char *rl_code; /* NULL on success */
	const char *rl_peer;
	size_t rl_bytes;
	int64_t rl_latency_us;
	const char *rl_event; /* NULL when no event */
};
/* Queues one log entry; fire and forget (a lost entry is not an error). */
void hk_reqlog_add(const struct hk_reqlog *);
/*
 * A refusal before authentication: counted like any entry, logged at
 * most --log-refusals a second per webhook, the rest summed into the
 * webhook's next entry as "suppressed".
 */
void hk_reqlog_refused(const struct hk_reqlog *);
/* Refusals counted but not logged; entries dropped for --log-budget. */
uint64_t hk_reqlog_suppressed(void);
uint64_t hk_reqlog_trimmed(void);
/* Drops the entries not yet handed to the store (at exit). */
void hk_reqlog_free(void);
/* Entries that could not be written (full store, shutdown). */
uint64_t hk_reqlog_dropped(void);

/* ingest.c: the public listener. */
void hk_ingest_request(struct evhttp_request *, void *);
/* The public listener's lc_headers, lc_too_large (proto/operation.md). */
void hk_ingest_headers(struct evhttp_request *);
void hk_ingest_too_large(struct evhttp_request *, const char *path);
/* /healthz and /readyz, on both listeners. */
int hk_health(struct evhttp_request *, const char *path);

/* console.c: the operator console (proto/console.md), its files compiled in. */
struct hk_console_file {
	const char *cf_path; /* "/app.js"; NULL ends the table */
	const char *cf_type; /* its Content-Type */
	const char *cf_etag; /* quoted, from its CRC and length */
	const unsigned char *cf_data; /* its bytes */
	size_t cf_len;
};
/* Written by scripts/embed from server/console/ at build time. */
extern const struct hk_console_file hk_console_files[];
/* Answers a request for a console file (no token needed); 0 if none. */
int hk_console_serve(struct evhttp_request *, const char *path);
/* GET /api/stream: new events and delivery outcomes, as SSE. */
void hk_stream_request(struct evhttp_request *);
/* Sends an event's envelope (without its payload) to every stream. */
void hk_stream_event(const char *env, size_t len);
/* Drops the messages kept for readers that reconnect (at exit). */
void hk_stream_free(void);
/* Sends an attempt's outcome: the delivery's state after it. */
void hk_stream_outcome(const char *dlv, const char *evt, const char *sub,
    enum hk_dstate state, const char *attempt);

/* admin.c: the admin listener. */
void hk_admin_request(struct evhttp_request *, void *);
/*
 * Parses the JSON body of REQ into *out (caller deletes); on failure it
 * has answered 400 and returns -1.
 */
int hk_admin_body(struct evhttp_request *, cJSON **out);
/* Checks that OBJ has only the members listed; answers 400 if not. */
int hk_admin_known(
    struct evhttp_request *, const cJSON *obj, const char *const *names);
/* Parses ?limit= and ?after=; answers 400 on bad values. */
int hk_admin_page(
    struct evhttp_request *, int *limit, char *after, size_t afterlen);
/*
 * A page of a stored list, answered as {"data":[...],"next":cursor}.
 * hk_admin_pager allocates SIZE bytes (a struct whose first member is a
 * struct hk_admin_pager, for the handler's filters) and reads ?limit and
 * ?after; NULL once it has answered. The handler sets pg_item (and
 * pg_free, pg_rd.rd_attempt, rd_oldest...), then hk_admin_pager_start:
 * each row goes to pg_item, which adds it with hk_admin_pager_add (its
 * return value is pg_item's: 1 counted, -1 failed) or returns 0 to skip
 * it or -1 to stop; the answer is sent, and the pager freed, when the
 * read is done.
 */
struct hk_admin_pager {
	struct hk_st_read pg_rd;
	struct evhttp_request *pg_req;
	int (*pg_item)(struct hk_admin_pager *, const char *id,
	    const char *text, size_t len);
	void (*pg_free)(struct hk_admin_pager *); /* frees the handler's */
	struct hk_buf pg_b;
	size_t pg_n; /* items added */
	int pg_rc; /* a failure while adding */
	char pg_after[HK_ID_MAX];
	char pg_scope[HK_ID_MAX];
};
void *hk_admin_pager(
    struct evhttp_request *, enum hk_st_list, const char *scope, size_t size);
void hk_admin_pager_start(struct hk_admin_pager *);
int hk_admin_pager_add(struct hk_admin_pager *, const char *text, size_t len);
/*
 * GET of a cached list, newest first: OLDER(NULL) is the newest item,
 * OLDER(x) the one before x; ID and PUB give an item's id and JSON.
 */
void hk_admin_list(struct evhttp_request *, void *(*older)(void *),
    const char *(*id)(const void *), cJSON *(*pub)(const void *));
/*
 * The configuration file's ownership, judged for a change: 400 when BODY
 * sets managedBy, 409 managed_by_config when MANAGED, unless BODY holds
 * only the member OPERATIONAL (enable/disable). 0, or -1 once answered.
 */
int hk_admin_managed(struct evhttp_request *, const cJSON *body, int managed,
    const char *operational);
/*
 * The time window of a list (?since&until, ISO 8601 or epoch seconds)
 * into *SINCE and *UNTIL (-1: not given); -1 after answering 400.
 */
int hk_admin_window(struct evhttp_request *, int64_t *since, int64_t *until);
/* Answers 405 with an Allow header. */
void hk_admin_405(struct evhttp_request *, const char *allow);
/*
 * A query parameter of REQ into OUT (decoded): 1 if present, 0 if not,
 * -1 if the query is malformed or the value does not fit.
 */
int hk_admin_query(
    struct evhttp_request *, const char *name, char *out, size_t len);

/* domain/sub.c: subscriptions, cached in memory, and their changes. */
enum { HK_CMD_STDIN_NONE, HK_CMD_STDIN_BODY };
#define HK_CMD_ARGV_MAX 64 /* a command's arguments, argv[0] included */
#define HK_CMD_ENV_MAX 64 /* a command's configured variables */
#define HK_CMD_ARG_MAX 4096 /* bytes of one argument or env value */
#define HK_CMD_TIMEOUT_MS 60000 /* a command's default timeoutMs */
struct hk_sub {
	char sb_id[HK_ID_MAX];
	char *sb_name; /* unique when set; the configuration file's key */
	int sb_managed; /* managedBy: config */
	char *sb_url;
	char **sb_events;
	size_t sb_nevents;
	char (*sb_sources)[HK_ID_MAX];
	size_t sb_nsources;
	cJSON *sb_headers; /* name -> value, plaintext in memory only */
	char *sb_headers_sealed; /* their JSON, sealed (NULL: none) */
	char *sb_template;
	char *sb_description;
	int sb_active;
	char *sb_disabled_reason; /* set when hookd disabled it */
	int64_t sb_timeout_ms;
	int sb_max_in_flight;
	double sb_rate;
	int sb_max_attempts;
	int64_t sb_initial_ms;
	int64_t sb_max_ms;
	int sb_ordered;
	char *sb_secret; /* plaintext, in memory only */
	char *sb_sealed;
	char *sb_prev_secret; /* after a rotation, until sb_prev_until */
	char *sb_prev_sealed;
	int64_t sb_prev_until;
	int64_t sb_created;
	int64_t sb_updated;
	int sb_state_pending; /* engine saves (a disable) not yet committed */
	/*
	 * The engine's state as the record holds it, for the engine to start
	 * from after a restart (the live state is the engine's own): the
	 * first failure since the last success, and an ordered subscription's
	 * head (the delivery everything else waits for).
	 */
	int64_t sb_failing_since;
	char sb_ordered_head[HK_ID_MAX];
	/*
	 * A command target (SPEC §11) instead of sb_url: sb_command is set
	 * when it has one. Its argv and env values are templates rendered
	 * per attempt (engine/runner.c runs them).
	 */
	int sb_command;
	char **sb_cmd_argv; /* NULL-ended */
	size_t sb_cmd_argc;
	char *sb_cmd_cwd; /* NULL: hookd's own */
	cJSON *sb_cmd_env; /* name -> value template, or NULL */
	unsigned int sb_cmd_stdin; /* HK_CMD_STDIN_* */
	int64_t sb_cmd_timeout_ms;
	int sb_expose; /* exposeResult: links.status shows its attempts */
	TAILQ_ENTRY(hk_sub) sb_entry;
};
TAILQ_HEAD(hk_sub_list, hk_sub);

int hk_sub_load(char **cause);
void hk_sub_free_all(void);
struct hk_sub_list *hk_sub_all(void);
struct hk_sub *hk_sub_find(const char *id);
/* The subscription of id or name S, or NULL. */
struct hk_sub *hk_sub_find_any(const char *s);
int hk_sub_matches(const struct hk_sub *, const char *type, const char *source);
cJSON *hk_sub_public(const struct hk_sub *);
cJSON *hk_sub_record(const struct hk_sub *);
struct hk_sub *hk_sub_from_json(const cJSON *, char **cause);
/*
 * Judges a subscription body as the API does, changing nothing: 0, or -1
 * (-2: a target not allowed) with the 400 message in ERR.
 */
int hk_sub_check_json(const cJSON *, int need_url, char *err, size_t errlen);
/*
 * The public form a create from body J would have (its defaults filled
 * in), or NULL when J would be refused: what the configuration file
 * compares a subscription with.
 */
cJSON *hk_sub_preview(const cJSON *j);
/*
 * Commits the engine's state of S (FAILING_SINCE, 0: none; ORDERED_HEAD,
 * "": none; with DISABLE also active: false and S's disabled reason) onto
 * the stored record, leaving every other field as stored.
 */
/* Another node changed subscription ID (TEXT NULL: deleted). */
void hk_sub_external(const char *id, const char *text, size_t len);
void hk_sub_save_state(struct hk_sub *, int64_t failing_since,
    const char *ordered_head, int disable, int64_t epoch);
/*
 * Judges a target URL (scheme, address literal). A host that is a name
 * is copied into NAME for a DNS check. 0, or -1 with *CODE and ERR.
 */
int hk_sub_check_url(const char *url, char *name, size_t namelen,
    const char **code, char *err, size_t errlen);

/*
 * Changes. Each reports to DONE(change, rc) on the loop, once, maybe
 * before it returns: rc 0 once the change is durable (sc_sub is the
 * record it committed, cached as DONE returns), or a refusal: HK_EINVAL
 * (sc_err says why; sc_target: the target is not allowed), HK_ENOTFOUND
 * (deleted meanwhile), HK_ENOMEM, or a store failure. sc_stored tells a
 * refusal of the store's commit from one before anything was submitted
 * (then HK_ENOMEM, or the code of hk_st_submit()). The change and what
 * it points to are valid only during DONE.
 */
enum hk_sub_verb { HK_SUB_CREATE, HK_SUB_UPDATE, HK_SUB_ROTATE, HK_SUB_DELETE };

struct hk_sub_change {
	enum hk_sub_verb sc_verb;
	const char *sc_id; /* "" when a create was refused before its id */
	const struct hk_sub *sc_sub; /* rc 0: as committed; NULL: deleted */
	const char *sc_err;
	int sc_target;
	int sc_stored;
	uint64_t sc_cancelled; /* a delete: its pending deliveries, cancelled */
	void *sc_arg;
};
typedef void (*hk_sub_done_fn)(const struct hk_sub_change *, int rc);

/* A new subscription from BODY, a create's JSON (consumed). */
void hk_sub_create(cJSON *body, hk_sub_done_fn, void *arg);
/*
 * PATCH (merge) or, with PUT, a replacement (what BODY omits is the
 * default) of S as stored when the writer runs; BODY is consumed.
 */
void hk_sub_update(
    const struct hk_sub *, cJSON *body, int put, hk_sub_done_fn, void *arg);
/* A new secret (BODY's "secret", else a fresh one); the old one signs
 * for another day. BODY (may be NULL) is consumed. */
void hk_sub_rotate(
    const struct hk_sub *, cJSON *body, hk_sub_done_fn, void *arg);
/* Deletes S and cancels its pending deliveries. */
void hk_sub_delete(const struct hk_sub *, hk_sub_done_fn, void *arg);

/* api/subscriptions.c: /api/subscriptions. */
/* Admin routes under /api/subscriptions; SEG are the path segments. */
void hk_sub_route(struct evhttp_request *, char **seg, int nseg);

/* api/deliveries.c: the deliveries API and the test requests. */
void hk_delivery_route(struct evhttp_request *, char **seg, int nseg);
void hk_delivery_recover(struct evhttp_request *, const struct hk_sub *);
/*
 * Appends the deliveries of event EVT, each with its attempts, to B as a
 * JSON array, then calls DONE(ARG, rc) (maybe before returning).
 */
void hk_delivery_of_event(const char *evt, struct hk_buf *b,
    void (*done)(void *arg, int rc), void *arg);
/*
 * Appends delivery record TEXT in its public form to B: no queue fields,
 * in_flight while its attempt is out; OPEN leaves out the closing brace.
 */
int hk_delivery_public(struct hk_buf *, const char *text, size_t len, int open);
/* POST /api/events/{id}/replay. */
void hk_delivery_replay(struct evhttp_request *, const char *evt);
/* POST /api/subscriptions/{id}/test and POST /api/test-delivery. */
void hk_delivery_test_sub(struct evhttp_request *, const struct hk_sub *);
void hk_delivery_test(struct evhttp_request *);

/* engine/engine.c: the scheduler, outcomes and the circuit. */
#define HK_CIRCUIT_FAILS 5 /* consecutive failures that open a circuit */

int hk_engine_init(char **cause);
void hk_engine_free(void);
/* New work may be due: scan the queue soon. */
void hk_engine_kick(void);
/* Submits the outcomes still gathering (before the store closes). */
void hk_engine_flush(void);
/* Deliveries in flight now. */
size_t hk_engine_inflight(void);
/* Whether delivery DLV's attempt is out (or its outcome committing). */
int hk_engine_in_flight(const char *dlv);
/*
 * Whether DLV's request is still out. One whose outcome is only
 * committing is not: its outcome is handed to the store now, so an
 * operation submitted after this call applies after it (store.h's
 * ordering) and sees the delivery as the attempt left it.
 */
int hk_engine_sending(const char *dlv);
/* Whether SUB's circuit is open (its last attempts all failed). */
int hk_engine_circuit_open(const char *sub);
/* Whether SUB has attempts out or committing (a lease waits for them). */
int hk_engine_busy(const char *sub);
/* Drops the engine's state of SUB, deleted (its circuit, bucket...). */
void hk_engine_forget(const char *sub);
/*
 * Told each recorded outcome (the attempt's JSON): the live stream's
 * feed, set by whoever shows it, so the engine calls nothing above it.
 */
typedef void (*hk_engine_outcome_fn)(const char *dlv, const char *evt,
    const char *sub, enum hk_dstate state, const char *attempt);
void hk_engine_observe(hk_engine_outcome_fn);

/*
 * cfgfile.c: the configuration file (--config, proto/config.md). A plan
 * is the file read, its credentials resolved, every object judged, and
 * compared with the caches; NULL with ERR ("FILE:LINE: ...") when the
 * file cannot be read or is wrong. Applying runs its changes in order,
 * each durable before the next, and calls DONE when all are over (each
 * failure logged). Loop thread only.
 */
enum hk_cfg_action { HK_CFG_CREATE, HK_CFG_UPDATE, HK_CFG_DELETE, HK_CFG_SAME };
struct hk_cfgplan;
struct hk_cfgplan *hk_cfgplan_make(const char *path, char *err, size_t errlen);
/* One line per object: action, kind, name, id. */
int hk_cfgplan_print(const struct hk_cfgplan *, struct hk_buf *);
size_t hk_cfgplan_count(const struct hk_cfgplan *, enum hk_cfg_action);
void hk_cfgplan_apply(struct hk_cfgplan *,
    void (*done)(struct hk_cfgplan *, void *arg), void *arg);
void hk_cfgplan_free(struct hk_cfgplan *);

/* purge.c: retention, on a timer. */
int hk_purge_init(void);
void hk_purge_free(void);

/* main.c: the daemon's state. */
struct hk_stats {
	uint64_t s_received;
	uint64_t s_accepted;
	uint64_t s_duplicates;
	uint64_t s_rate_limited;
	uint64_t s_rejected;
	uint64_t s_bytes;
	uint64_t s_attempts;
	uint64_t s_retries;
	uint64_t s_succeeded;
	uint64_t s_failed;
	uint64_t s_purged_events;
	uint64_t s_purged_logs;
	uint64_t s_purged_deliveries;
};

/* domain/stats.c: the figures' collection (read: domain/stats.h). */
/* One request to WEBHOOK answered STATUS (CODE: its error, or NULL). */
void hk_stats_ingest(
    const char *webhook, int status, const char *code, int64_t latency_us);
/* One delivery attempt to SUB. */
void hk_stats_attempt(const char *sub, int ok, int64_t latency_us);
/* A delivery succeeded, this long after its event was accepted. */
void hk_stats_first_success(int64_t since_event_us);
/* Drops the series of a deleted webhook or subscription. */
void hk_stats_forget(const char *id);
void hk_stats_free(void);

/* templates.c: POST /api/templates/preview. */
void hk_template_route(struct evhttp_request *, char **seg, int nseg);

/* api/stats.c: /api/stats, an entity's stats, history and /metrics. */
void hk_stats_all(struct evhttp_request *);
/* GET /api/cluster. */
void hk_cluster_get(struct evhttp_request *);
/* Hands this node's counters to the store, for the other nodes. */
void hk_stats_publish(void);
/* GET /api/stats/history: the last hour's and day's slots, oldest first. */
void hk_stats_history(struct evhttp_request *);
void hk_stats_entity(struct evhttp_request *, const char *id);
void hk_stats_metrics(struct evhttp_request *);

struct hookd {
	struct hk_conf hd_conf;
	struct event_base *hd_base;
	struct hk_listener hd_public;
	struct hk_listener hd_admin;
	unsigned char hd_mkey[HK_MKEY_LEN];
	char *hd_admin_token;
	char *hd_public_url;
	int hd_stopping;
	int64_t hd_started_ms;
	char hd_node[128]; /* --node-id, or host:port */
	struct hk_stats hd_stats;
	struct hk_cidrs hd_allow; /* --allow-targets */
	struct evdns_base *hd_dns;
};

extern struct hookd *hd;

#endif
