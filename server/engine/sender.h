/*
 * sender.h: one signed HTTP POST to a target, through libcurl's multi
 * interface driven by the loop (socket and timer callbacks, no thread,
 * no blocking call). The engine sends attempts with it, the admin API
 * its test requests; neither knows curl.
 *
 * A caller fills a struct hk_send (ids, type, attempt, body), signs it
 * (hk_send_sign: proto/delivery.md's header lines), and starts it; when
 * the transfer ends, ss_done runs on the loop with the outcome in the
 * ss_ out fields, and the caller frees the struct (hk_send_clear first).
 * Every connect is judged by --allow-targets first (the address curl
 * resolved, so a public name that resolves inside is refused too).
 * Loop thread only.
 */
#ifndef HK_SENDER_H
#define HK_SENDER_H

#include <curl/curl.h>

#include "buf.h"
#include "hdr.h"
#include "hookd.h"

#define HK_SEND_KEEP 1024 /* bytes of a response kept */
#define HK_SEND_MAX (1024 * 1024) /* read beyond this: too_large */
#define HK_SEND_HDRS (11 + HOOKD_SUB_HEADERS_MAX) /* hk_send_sign's 11 */

struct hk_send {
	/* In, before hk_send_sign. */
	char ss_evt[HK_ID_MAX];
	char ss_dlv[HK_ID_MAX];
	char ss_type[HOOKD_TYPE_MAX + 1];
	int ss_attempt;
	struct hk_buf ss_body;
	void (*ss_done)(struct hk_send *);
	/* Out, when ss_done runs. */
	long ss_status; /* 0: no answer */
	const char *ss_reason; /* proto/delivery.md's reasons */
	char ss_error[256]; /* "" when delivered */
	int64_t ss_at_ms; /* started at (wall) */
	int64_t ss_latency_ms;
	struct hk_buf ss_resp; /* the first HK_SEND_KEEP bytes */
	/* The response's header lines, each ending in '\n', HK_SEND_KEEP
	 * bytes at most (whole lines). */
	struct hk_buf ss_resp_hdrs;
	char ss_retry_after[64];
	/* The sender's. */
	CURL *ss_easy;
	struct curl_slist ss_hdr[HK_SEND_HDRS];
	struct hk_hdrs ss_hdrs;
	size_t ss_ncustom; /* its last lines are the caller's own (CUSTOM) */
	size_t ss_resp_total;
	int ss_refused;
	int ss_too_large;
	int64_t ss_t0_us;
};

int hk_sender_init(char **cause);
void hk_sender_free(void);

/*
 * Makes S's header lines, signed with SECRET and, during a rotation, PREV,
 * then CUSTOM's (a JSON object of name -> value). 0; HK_EINVAL when a
 * line may not be sent (ss_reason and ss_error say which: the attempt
 * fails unsent); HK_ERR when no secret can sign; HK_ENOMEM.
 */
int hk_send_sign(struct hk_send *, const char *secret, const char *prev,
    const cJSON *custom);
/* Starts S's POST to URL. 0, or -1 (nothing started, ss_done won't run). */
int hk_send_start(struct hk_send *, const char *url, int64_t timeout_ms);
/* Whether the target took it: a 2xx. */
int hk_send_ok(const struct hk_send *);
/* Frees what S holds (not S), stopping its transfer if one is running. */
void hk_send_clear(struct hk_send *);

#endif
