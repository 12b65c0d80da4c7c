/*
 * provider.h: the columns of a provider's row, shared by the table's
 * owner (domain/provider.c: presets and rules) and the request side
 * (listen/provider.c: types, keys, handshakes), which reads them at each
 * request. Rows are static and const: a pointer to one is valid for the
 * life of the process and never freed.
 */
#ifndef HK_DOMAIN_PROVIDER_H
#define HK_DOMAIN_PROVIDER_H

#include "hookd.h"

/* Where a provider's event type or idempotency key is. */
enum hk_pv_from {
	HK_PV_NONE, /* nowhere of its own: ingest's defaults */
	HK_PV_HEADER, /* the request header named */
	HK_PV_JSON, /* the body's strings at these JSON pointers, first found */
	HK_PV_FIXED, /* this text */
	HK_PV_KEY_SUFFIX /* the first top-level body key ending so (X) */
};

/*
 * A provider's handshake, by its kind; listen/provider.c answers each.
 * The row names it rather than pointing at the answer so that the table
 * owes nothing to the listener.
 */
enum hk_pv_handshake {
	HK_PV_HS_NONE,
	HK_PV_HS_SLACK, /* POST url_verification */
	HK_PV_HS_ZOOM, /* POST endpoint.url_validation */
	HK_PV_HS_META, /* GET hub.challenge */
	HK_PV_HS_DROPBOX, /* GET challenge */
	HK_PV_HS_X, /* GET crc_token */
	HK_PV_HS_N
};

struct hk_provider {
	const char *pv_name;
	enum hk_scheme pv_scheme;
	int pv_own_secret; /* the provider hands out the secret */
	enum hk_pv_from pv_type_from;
	const char *pv_type[2];
	int pv_type_slug; /* lower-case, blanks as '_' ("Push Hook") */
	const char *pv_form_type; /* the type of a form without payload */
	enum hk_pv_from pv_idem_from;
	const char *pv_idem;
	enum hk_pv_handshake pv_handshake;
};

#endif
