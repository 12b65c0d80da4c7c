/*
 * provider.c: provider presets, proto/http.md Providers: the table and
 * the rules a webhook's `provider` field obeys.
 *
 * A provider is a row of pv_rows (its columns: domain/provider.h): the
 * signature scheme it uses (a row of lib/sig.c), whether it hands out
 * the secret, where the event type and the idempotency key are, what a
 * form body means, and which handshake it makes. Setting `provider` on
 * a webhook presets auth `signature`, the scheme and eventPrefix
 * "NAME."; explicit fields in the same body override them. The webhook
 * keeps a pointer to the row (never freed), so the request side
 * (listen/provider.c) follows the row, not a copy of it in the record.
 * Errors are 400 messages in the caller's buffer; loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/provider.h"
#include "hk.h"
#include "hookd.h"

/*
 * proto/http.md's table. Standard's keys (webhook-id, svix-id) are among
 * ingest's defaults, which every webhook keeps after its provider's own.
 */
static const struct hk_provider pv_rows[] = {
    {"github", HK_SCHEME_GITHUB, 0, HK_PV_HEADER, {"X-GitHub-Event"}, 0, NULL,
        HK_PV_HEADER, "X-GitHub-Delivery", HK_PV_HS_NONE},
    {"gitlab", HK_SCHEME_GITLAB, 0, HK_PV_HEADER, {"X-Gitlab-Event"}, 1, NULL,
        HK_PV_HEADER, "X-Gitlab-Event-UUID", HK_PV_HS_NONE},
    {"stripe", HK_SCHEME_STRIPE, 1, HK_PV_JSON, {"/type"}, 0, NULL, HK_PV_JSON,
        "/id", HK_PV_HS_NONE},
    {"slack", HK_SCHEME_SLACK, 1, HK_PV_JSON, {"/event/type", "/type"}, 0,
        "command", HK_PV_JSON, "/event_id", HK_PV_HS_SLACK},
    {"shopify", HK_SCHEME_SHOPIFY, 1, HK_PV_HEADER, {"X-Shopify-Topic"}, 0,
        NULL, HK_PV_HEADER, "X-Shopify-Webhook-Id", HK_PV_HS_NONE},
    {"standard", HK_SCHEME_STANDARD, 0, HK_PV_JSON, {"/type"}, 0, NULL,
        HK_PV_NONE, NULL, HK_PV_HS_NONE},
    {"zoom", HK_SCHEME_ZOOM, 1, HK_PV_JSON, {"/event"}, 0, NULL, HK_PV_NONE,
        NULL, HK_PV_HS_ZOOM},
    {"meta", HK_SCHEME_META, 1, HK_PV_JSON, {"/object"}, 0, NULL, HK_PV_NONE,
        NULL, HK_PV_HS_META},
    {"dropbox", HK_SCHEME_DROPBOX, 1, HK_PV_FIXED, {"change"}, 0, NULL,
        HK_PV_NONE, NULL, HK_PV_HS_DROPBOX},
    {"x", HK_SCHEME_X, 1, HK_PV_KEY_SUFFIX, {"_events"}, 0, NULL, HK_PV_NONE,
        NULL, HK_PV_HS_X},
};

const char *
hk_provider_name(const struct hk_provider *pv)
{
	return pv != NULL ? pv->pv_name : NULL;
}

/* The row named S, or NULL. */
static const struct hk_provider *
pv_find(const char *s)
{
	size_t i;

	for (i = 0; i < HK_NELEM(pv_rows); i++)
		if (strcmp(s, pv_rows[i].pv_name) == 0)
			return &pv_rows[i];
	return NULL;
}

/* Presets PV on WH: what a sender of that provider needs. */
static int
pv_preset(struct hk_webhook *wh, const struct hk_provider *pv)
{
	char *prefix;

	if (asprintf(&prefix, "%s.", pv->pv_name) == -1)
		return -1;
	free(wh->wh_prefix);
	wh->wh_prefix = prefix;
	wh->wh_auth = HK_AUTH_SIGNATURE;
	wh->wh_scheme = pv->pv_scheme;
	wh->wh_provider = pv;
	return 0;
}

int
hk_provider_set(struct hk_webhook *wh, const cJSON *v, char *err, size_t errlen)
{
	size_t i;
	int n;

	if (cJSON_IsNull(v))
		wh->wh_provider = NULL;
	else if (!cJSON_IsString(v) || pv_find(v->valuestring) == NULL) {
		n = snprintf(err, errlen, "provider must be one of");
		for (i = 0;
		     i < HK_NELEM(pv_rows) && n > 0 && (size_t)n < errlen; i++)
			n += snprintf(err + n, errlen - (size_t)n, " %s",
			    pv_rows[i].pv_name);
		return -1;
	} else if (pv_preset(wh, pv_find(v->valuestring)) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
hk_provider_check(const struct hk_webhook *wh, char *err, size_t errlen)
{
	const struct hk_provider *pv = wh->wh_provider;

	/* A generated secret would be of no use: the provider signs. */
	if (pv != NULL && pv->pv_own_secret && wh->wh_secret == NULL) {
		snprintf(err, errlen,
		    "provider %s hands out its own secret: set signature.secret to it",
		    pv->pv_name);
		return -1;
	}
	/* Any token is a form body: X's CRC would sign forged forms. */
	if (pv != NULL && pv->pv_handshake == HK_PV_HS_X &&
	    wh->wh_accept_forms) {
		snprintf(err, errlen,
		    "provider x takes no forms (acceptForms): its CRC answer would sign them");
		return -1;
	}
	return 0;
}

void
hk_provider_public(const struct hk_webhook *wh, cJSON *j)
{
	if (wh->wh_provider != NULL)
		cJSON_AddStringToObject(
		    j, "provider", wh->wh_provider->pv_name);
	else
		cJSON_AddNullToObject(j, "provider");
	if (wh->wh_verify_token != NULL)
		cJSON_AddStringToObject(j, "verifyToken", wh->wh_verify_token);
	else
		cJSON_AddNullToObject(j, "verifyToken");
	cJSON_AddBoolToObject(j, "acceptForms", wh->wh_accept_forms);
}

int
hk_provider_forms(const struct hk_webhook *wh)
{
	return wh->wh_accept_forms ||
	    (wh->wh_provider != NULL && wh->wh_provider->pv_form_type != NULL);
}
