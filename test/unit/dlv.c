/*
 * Unit tests of lib/dlv.c, the delivery record's codec: every state and
 * field goes round, records as today's hookd writes them (its printer,
 * and its cJSON rewrites with members moved) read back as they were.
 */
#include <stdlib.h>
#include <string.h>

#include "dlv.h"
#include "hk.h"
#include "t.h"

#define ID "dlv_01JDZ6Q7X4M3N2P1R0S9T8V7W6"
#define EVT "evt_01JDZ6Q7X4M3N2P1R0S9T8V7W5"
#define SUB "sub_01JDZ6Q7X4M3N2P1R0S9T8V7W4"
#define T0 "2024-12-02T10:00:00.000Z"
#define T1 "2024-12-02T10:00:05.250Z"

static void
fill(struct hk_delivery *d, enum hk_dstate s)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->id, ID, sizeof(ID));
	memcpy(d->event, EVT, sizeof(EVT));
	memcpy(d->sub, SUB, sizeof(SUB));
	d->state = s;
	d->attempts = 3;
	if (s == HK_DS_PENDING)
		memcpy(d->next, T1, sizeof(T1));
	memcpy(d->created, T0, sizeof(T0));
	memcpy(d->updated, T1, sizeof(T1));
	d->limit = 7;
	d->cls = 1;
	d->due = 1733133605250LL;
}

static int
same(const struct hk_delivery *a, const struct hk_delivery *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->event, b->event) == 0 &&
	    strcmp(a->sub, b->sub) == 0 && a->state == b->state &&
	    a->attempts == b->attempts && strcmp(a->next, b->next) == 0 &&
	    strcmp(a->created, b->created) == 0 &&
	    strcmp(a->updated, b->updated) == 0 && a->limit == b->limit &&
	    a->cls == b->cls && a->due == b->due;
}

/* Every stored state prints and parses back to the same struct. */
static void
t_round_trip(void)
{
	static const enum hk_dstate st[] = {
	    HK_DS_PENDING, HK_DS_SUCCEEDED, HK_DS_FAILED, HK_DS_CANCELLED};
	struct hk_delivery d, back;
	size_t i;

	for (i = 0; i < HK_NELEM(st); i++) {
		struct hk_buf b = HK_BUF_INIT;

		fill(&d, st[i]);
		T_CHECK(hk_delivery_print(&b, &d, HK_DLV_STORED) == 0);
		memset(&back, 0x55, sizeof(back));
		T_CHECK(hk_delivery_parse(b.b, b.len, &back) == 0);
		T_CHECK(same(&d, &back));
		T_CHECK(hk_delivery_is_pending(b.b, b.len) ==
		    (st[i] == HK_DS_PENDING));
		hk_buf_free(&b);
	}
}

/* The names are proto/delivery.md's, both ways. */
static void
t_names(void)
{
	static const char *const names[] = {
	    "pending", "in_flight", "succeeded", "failed", "cancelled"};
	enum hk_dstate s;
	int i;

	for (i = 0; i < HK_DS_COUNT; i++) {
		T_STREQ(hk_dstate_name((enum hk_dstate)i), names[i]);
		T_CHECK(hk_dstate_parse(names[i], strlen(names[i]), &s) == 0 &&
		    s == (enum hk_dstate)i);
	}
	T_CHECK(hk_dstate_parse("pend", 4, &s) != 0);
	T_CHECK(hk_dstate_parse("pendingx", 8, &s) != 0);
	T_CHECK(hk_dstate_parse("", 0, &s) != 0);
}

/* The printer writes exactly today's text, member for member. */
static void
t_stored_text(void)
{
	static const char want[] =
	    "{\"id\":\"" ID "\",\"event\":\"" EVT "\",\"subscription\":\"" SUB
	    "\",\"status\":\"pending\",\"attemptCount\":3,"
	    "\"nextAttemptAt\":\"" T1 "\",\"createdAt\":\"" T0
	    "\",\"updatedAt\":\"" T1 "\",\"limit\":7,\"cls\":1,"
	    "\"due\":1733133605250}";
	static const char pub[] =
	    "{\"id\":\"" ID "\",\"event\":\"" EVT "\",\"subscription\":\"" SUB
	    "\",\"status\":\"in_flight\",\"attemptCount\":3,"
	    "\"nextAttemptAt\":\"" T1 "\",\"createdAt\":\"" T0
	    "\",\"updatedAt\":\"" T1 "\"";
	struct hk_buf b = HK_BUF_INIT;
	struct hk_delivery d;

	fill(&d, HK_DS_PENDING);
	T_CHECK(hk_delivery_print(&b, &d, HK_DLV_STORED) == 0);
	T_CHECK(b.len == sizeof(want) - 1 && memcmp(b.b, want, b.len) == 0);
	hk_buf_free(&b);
	d.state = HK_DS_IN_FLIGHT;
	T_CHECK(hk_delivery_print(&b, &d, HK_DLV_PUBLIC | HK_DLV_OPEN) == 0);
	T_CHECK(b.len == sizeof(pub) - 1 && memcmp(b.b, pub, b.len) == 0);
	hk_buf_free(&b);
}

/*
 * Records as hookd before this codec left them: cJSON rewrites (cancel,
 * retry by hand) put status, nextAttemptAt and updatedAt last; a failed
 * or succeeded one has a null nextAttemptAt.
 */
static void
t_older_records(void)
{
	static const char cancelled[] =
	    "{\"id\":\"" ID "\",\"event\":\"" EVT "\",\"subscription\":\"" SUB
	    "\",\"attemptCount\":2,\"createdAt\":\"" T0 "\",\"limit\":5,"
	    "\"cls\":1,\"due\":1733133601000,\"status\":\"cancelled\","
	    "\"nextAttemptAt\":null,\"updatedAt\":\"" T1 "\"}";
	static const char retried[] =
	    "{\"id\":\"" ID "\",\"event\":\"" EVT "\",\"subscription\":\"" SUB
	    "\",\"attemptCount\":5,\"createdAt\":\"" T0 "\",\"limit\":6,"
	    "\"cls\":0,\"due\":1733133605250,\"status\":\"pending\","
	    "\"nextAttemptAt\":\"" T1 "\",\"updatedAt\":\"" T1 "\"}";
	static const char failed[] =
	    "{\"id\":\"" ID "\",\"event\":\"" EVT "\",\"subscription\":\"" SUB
	    "\",\"status\":\"failed\",\"attemptCount\":5,"
	    "\"nextAttemptAt\":null,\"createdAt\":\"" T0
	    "\",\"updatedAt\":\"" T1 "\",\"limit\":5,\"cls\":1,"
	    "\"due\":1733133601000}";
	struct hk_delivery d;

	T_CHECK(hk_delivery_parse(cancelled, sizeof(cancelled) - 1, &d) == 0);
	T_CHECK(d.state == HK_DS_CANCELLED && d.attempts == 2 &&
	    d.next[0] == '\0' && d.limit == 5 && d.cls == 1 &&
	    d.due == 1733133601000LL && strcmp(d.updated, T1) == 0 &&
	    strcmp(d.sub, SUB) == 0 && strcmp(d.event, EVT) == 0);
	T_CHECK(hk_delivery_parse(retried, sizeof(retried) - 1, &d) == 0);
	T_CHECK(d.state == HK_DS_PENDING && d.attempts == 5 && d.limit == 6 &&
	    d.cls == 0 && d.due == 1733133605250LL && strcmp(d.next, T1) == 0 &&
	    strcmp(d.created, T0) == 0);
	T_CHECK(hk_delivery_is_pending(retried, sizeof(retried) - 1));
	T_CHECK(hk_delivery_parse(failed, sizeof(failed) - 1, &d) == 0);
	T_CHECK(d.state == HK_DS_FAILED && d.next[0] == '\0' &&
	    !hk_delivery_is_pending(failed, sizeof(failed) - 1));
}

/* What is not a record is refused, never half read as one. */
static void
t_refused(void)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"id\":\"" ID "\",\"status\":\"in_flight\"}",
	    "{\"id\":\"" ID "\",\"status\":\"done\"}",
	    "{\"id\":\"" ID "\"}",
	    "{\"id\":7,\"status\":\"pending\"}",
	    "{\"id\":\"" ID "\",\"status\":\"pending\"",
	    "{\"id\":\"" ID ID "\",\"status\":\"pending\"}",
	    "{\"id\":\"x\",\"status\":\"pending\",\"createdAt\":"
	    "\"2024-12-02T10:00:00.000Z-too-long\"}",
	};
	static const char other[] = "{\"status\":\"succeeded\",\"x\":[1]}";
	static const char huge[] = "{\"status\":\"pending\",\"due\":1e300,"
	                           "\"limit\":-1e300,\"cls\":7,"
	                           "\"attemptCount\":1.7e12}";
	struct hk_delivery d;
	size_t i;

	for (i = 0; i < HK_NELEM(bad); i++) {
		T_CHECK(hk_delivery_parse(bad[i], strlen(bad[i]), &d) != 0);
		T_CHECK(!hk_delivery_is_pending(bad[i], strlen(bad[i])));
	}
	/* Members it does not know are passed over. */
	T_CHECK(hk_delivery_parse(other, strlen(other), &d) == 0 &&
	    d.state == HK_DS_SUCCEEDED && d.id[0] == '\0' && d.limit == 0);
	/* Numbers no hookd wrote read as 0, never as undefined behaviour. */
	T_CHECK(hk_delivery_parse(huge, strlen(huge), &d) == 0 && d.due == 0 &&
	    d.limit == 0 && d.cls == 0 && d.attempts == 1700000000000LL);
}

/* The one rule of stored transitions: every pair judged. */
static void
t_legal(void)
{
	enum hk_dstate f, t;
	int n = 0;

	for (f = 0; f < HK_DS_COUNT; f++)
		for (t = 0; t < HK_DS_COUNT; t++)
			n += hk_dstate_legal(f, t);
	T_CHECK(n == 5);
	T_CHECK(hk_dstate_legal(HK_DS_PENDING, HK_DS_PENDING));
	T_CHECK(hk_dstate_legal(HK_DS_PENDING, HK_DS_SUCCEEDED));
	T_CHECK(hk_dstate_legal(HK_DS_PENDING, HK_DS_FAILED));
	T_CHECK(hk_dstate_legal(HK_DS_PENDING, HK_DS_CANCELLED));
	T_CHECK(hk_dstate_legal(HK_DS_FAILED, HK_DS_PENDING));
	T_CHECK(!hk_dstate_legal(HK_DS_SUCCEEDED, HK_DS_PENDING));
	T_CHECK(!hk_dstate_legal(HK_DS_PENDING, HK_DS_IN_FLIGHT));
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"round_trip", t_round_trip},
	    {"names", t_names},
	    {"stored_text", t_stored_text},
	    {"older_records", t_older_records},
	    {"refused", t_refused},
	    {"legal", t_legal},
	};

	return t_run("dlv", cases, HK_NELEM(cases));
}
