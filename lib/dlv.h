/*
 * dlv.h: a delivery's stored record (proto/delivery.md), the one codec for it.
 *
 * A record is a JSON object: id, event, subscription, status,
 * attemptCount, nextAttemptAt (null unless pending), createdAt,
 * updatedAt, and the queue's own limit, cls and due. Members are read
 * wherever they stand and whichever others are there (records an older
 * hookd rewrote through cJSON have status last), and always written in
 * that order. The state is an enum here and a string only in the text.
 *
 * Pure: no allocation but the output buffer's, no logging, thread-safe.
 */
#ifndef HK_DLV_H
#define HK_DLV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clock.h"
#include "id.h"

/*
 * The states of proto/delivery.md. in_flight is never stored: it is a pending
 * delivery whose attempt is out, as the engine knows it.
 */
enum hk_dstate {
	HK_DS_PENDING,
	HK_DS_IN_FLIGHT,
	HK_DS_SUCCEEDED,
	HK_DS_FAILED,
	HK_DS_CANCELLED,
	HK_DS_COUNT
};

struct hk_delivery {
	char id[HK_ID_MAX];
	char event[HK_ID_MAX];
	char sub[HK_ID_MAX];
	enum hk_dstate state;
	long long attempts; /* attemptCount */
	char next[HK_ISO_LEN]; /* nextAttemptAt; "" for null */
	char created[HK_ISO_LEN];
	char updated[HK_ISO_LEN];
	long long limit; /* attempts allowed in all */
	int cls; /* the queue class: 0 first attempt, 1 retry */
	int64_t due; /* the queue entry's due time (wall ms) */
};

/* The state's name as proto/delivery.md spells it. */
const char *hk_dstate_name(enum hk_dstate);
/*
 * Whether a stored delivery may go from FROM to TO: pending to pending
 * (a retry scheduled, or brought forward) and to each final state;
 * failed to pending (retried by hand). in_flight is the engine's, never
 * stored. Every engine's one transition asserts it.
 */
int hk_dstate_legal(enum hk_dstate from, enum hk_dstate to);
/* The state named NAME (LEN bytes); HK_EINVAL when none is. */
int hk_dstate_parse(const char *name, size_t len, enum hk_dstate *out);

/*
 * Parses record TEXT into D. Returns 0, or HK_EINVAL when it is not a
 * record (not an object, a member of the wrong kind or too long, an
 * unknown or stored in_flight status).
 */
int hk_delivery_parse(const void *text, size_t len, struct hk_delivery *d);

/* Whether record TEXT is a pending delivery (unreadable: no). */
int hk_delivery_is_pending(const void *text, size_t len);

/* What hk_delivery_print writes. */
#define HK_DLV_STORED 0 /* the whole record, as stored */
#define HK_DLV_PUBLIC 1 /* the API's form: no limit, cls or due */
#define HK_DLV_OPEN 2 /* no closing brace: the caller adds members */

/* Appends D to B as FLAGS say. Returns 0 or HK_ENOMEM. */
int hk_delivery_print(struct hk_buf *b, const struct hk_delivery *d, int flags);

#endif
