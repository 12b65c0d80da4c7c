/*
 * config.c: the flags of proto/operation.md, one table row each.
 *
 * Every flag has an environment twin HOOKD_<NAME> (dashes become
 * underscores); the command line wins over the environment, which wins
 * over the default. --help is printed from the table.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "hookd.h"
#include "units.h"

enum conf_type {
	CONF_STR,
	CONF_SIZE,
	CONF_DURATION,
	CONF_INT,
	CONF_RATE,
	CONF_LEVEL,
	CONF_BOOL /* an int; on the command line the flag alone is true */
};

struct conf_row {
	const char *name;
	enum conf_type type;
	size_t off;
	int64_t min, max;
	const char *def; /* NULL: unset */
	const char *help;
};

#define OFF(m) offsetof(struct hk_conf, m)
#define KiB 1024LL
#define MiB (1024LL * KiB)
#define GiB (1024LL * MiB)
#define TiB (1024LL * GiB)
#define DAY (86400LL * 1000)

static const struct conf_row conf_rows[] = {
    {"listen", CONF_STR, OFF(cf_listen), 0, 0, HOOKD_LISTEN,
        "public listener, host:port"},
    {"admin", CONF_STR, OFF(cf_admin), 0, 0, HOOKD_ADMIN,
        "admin listener, host:port or unix:/path"},
    {"data", CONF_STR, OFF(cf_data), 0, 0, HOOKD_DATA,
        "data directory (the LMDB environment, keys, admin token)"},
    {"config", CONF_STR, OFF(cf_config), 0, 0, NULL,
        "configuration file of webhooks and subscriptions, YAML or JSON "
        "(applied at start and on SIGHUP; with --check: its plan)"},
    {"store", CONF_STR, OFF(cf_store), 0, 0, NULL,
        "the store: a PostgreSQL URI or conninfo (default: LMDB in <data>)"},
    {"node-id", CONF_STR, OFF(cf_node_id), 0, 0, NULL,
        "this node's name in a cluster (default: hostname:public port)"},
    {"lease", CONF_DURATION, OFF(cf_lease_ms), 1000, 3600 * 1000LL, HOOKD_LEASE,
        "cluster: a silent node's subscriptions go to others after this"},
    {"commit-timeout", CONF_DURATION, OFF(cf_commit_timeout_ms), 100,
        3600 * 1000LL, HOOKD_COMMIT_TIMEOUT,
        "PostgreSQL: a COMMIT waiting longer fails (503 until one returns)"},
    {"admin-token-file", CONF_STR, OFF(cf_admin_token_file), 0, 0, NULL,
        "admin token file (default: generated as <data>/admin.token)"},
    {"master-key-file", CONF_STR, OFF(cf_master_key_file), 0, 0, NULL,
        "32-byte key sealing secrets (default: <data>/master.key)"},
    {"public-url", CONF_STR, OFF(cf_public_url), 0, 0, NULL,
        "base of the URLs the API prints (default: http://<listen>)"},
    {"map-size", CONF_SIZE, OFF(cf_map_size), 1 * MiB, 64 * TiB, HOOKD_MAP_SIZE,
        "LMDB map size"},
    {"max-body", CONF_SIZE, OFF(cf_max_body), 1, 1 * GiB, HOOKD_MAX_BODY,
        "largest accepted request body"},
    {"max-headers", CONF_SIZE, OFF(cf_max_headers), 1 * KiB, 1 * MiB,
        HOOKD_MAX_HEADERS, "largest request line and headers"},
    {"rate", CONF_RATE, OFF(cf_rate), 0, 1000000, HOOKD_RATE,
        "events/s per webhook, burst twice that; 0: unlimited"},
    {"max-connections", CONF_INT, OFF(cf_max_connections), 1, 1000000,
        HOOKD_MAX_CONNECTIONS, "open connections per listener"},
    {"max-streams", CONF_INT, OFF(cf_max_streams), 1, 10000, HOOKD_MAX_STREAMS,
        "open GET /api/stream answers (the console)"},
    {"max-in-flight", CONF_INT, OFF(cf_max_in_flight), 1, 100000,
        HOOKD_MAX_IN_FLIGHT, "outgoing delivery requests at once"},
    {"allow-targets", CONF_STR, OFF(cf_allow_targets), 0, 0, NULL,
        "CIDR ranges deliveries may reach besides public addresses"},
    {"allow-commands", CONF_BOOL, OFF(cf_allow_commands), 0, 1, "0",
        "let the configuration file's subscriptions run local commands "
        "(SPEC 11)"},
    {"retention", CONF_DURATION, OFF(cf_retention_ms), 1000, 3650 * DAY,
        HOOKD_RETENTION, "how long events and logs are kept"},
    {"disable-after", CONF_DURATION, OFF(cf_disable_after_ms), 1000, 3650 * DAY,
        HOOKD_DISABLE_AFTER, "disable a subscription failing this long"},
    {"request-timeout", CONF_DURATION, OFF(cf_request_timeout_ms), 100,
        3600 * 1000LL, HOOKD_REQUEST_TIMEOUT,
        "deadline for a whole request to arrive"},
    {"idle-timeout", CONF_DURATION, OFF(cf_idle_timeout_ms), 100, 3600 * 1000LL,
        HOOKD_IDLE_TIMEOUT, "silence after which a connection is closed"},
    {"outcome-delay", CONF_DURATION, OFF(cf_outcome_delay_ms), 0, 1000,
        HOOKD_OUTCOME_DELAY,
        "how long delivery outcomes gather to share one commit"},
    {"shutdown-grace", CONF_DURATION, OFF(cf_shutdown_grace_ms), 0,
        3600 * 1000LL, HOOKD_SHUTDOWN_GRACE,
        "time given to requests in flight at SIGTERM"},
    {"high-water", CONF_INT, OFF(cf_highwater), 10, 99, HOOKD_HIGHWATER,
        "percent of the map above which ingest answers 503"},
    {"log-refusals", CONF_INT, OFF(cf_log_refusals), 0, 1000000,
        HOOKD_LOG_REFUSALS,
        "refusals before authentication logged per second per webhook"},
    {"log-budget", CONF_INT, OFF(cf_log_budget), 1, 90, HOOKD_LOG_BUDGET,
        "percent of the map the request log may use, oldest dropped first"},
    {"log-level", CONF_LEVEL, OFF(cf_log_level), 0, 0, HOOKD_LOG_LEVEL,
        "debug, info, warn or error"},
    {"log-file", CONF_STR, OFF(cf_log_file), 0, 0, NULL,
        "append logs to this file, reopened on SIGHUP (default: stderr)"},
    {"tls-cert", CONF_STR, OFF(cf_tls_cert), 0, 0, NULL,
        "PEM certificate (chain): serve the public listener over HTTPS"},
    {"tls-key", CONF_STR, OFF(cf_tls_key), 0, 0, NULL,
        "PEM private key of --tls-cert (both reread on SIGHUP)"},
    {"admin-tls-cert", CONF_STR, OFF(cf_admin_tls_cert), 0, 0, NULL,
        "PEM certificate (chain): serve the admin listener over HTTPS"},
    {"admin-tls-key", CONF_STR, OFF(cf_admin_tls_key), 0, 0, NULL,
        "PEM private key of --admin-tls-cert"},
};

static const char *conf_levels[] = {"debug", "info", "warn", "error"};

/* Sets ROW's member of CONF from the text VAL; FROM names the origin. */
static int
conf_set(struct hk_conf *conf, const struct conf_row *row, const char *val,
    const char *from)
{
	char *p = (char *)conf + row->off, *end;
	int64_t v = 0;
	double d;
	size_t i;

	switch (row->type) {
	case CONF_STR:
		free(*(char **)p);
		if ((*(char **)p = strdup(val)) == NULL)
			return -1;
		return 0;
	case CONF_SIZE:
		if (hk_units_parse(val, &hk_units_size, &v) != 0)
			goto bad;
		break;
	case CONF_DURATION:
		if (hk_units_parse(val, &hk_units_duration, &v) != 0)
			goto bad;
		break;
	case CONF_INT:
		errno = 0;
		v = strtoll(val, &end, 10);
		if (errno != 0 || end == val || *end != '\0')
			goto bad;
		break;
	case CONF_RATE:
		errno = 0;
		d = strtod(val, &end);
		if (errno != 0 || end == val || *end != '\0' || d < 0 ||
		    d > (double)row->max || (d > 0 && d < HOOKD_RATE_MIN))
			goto rate;
		*(double *)p = d;
		return 0;
	case CONF_BOOL:
		if (strcmp(val, "1") == 0 || strcmp(val, "true") == 0)
			*(int *)p = 1;
		else if (strcmp(val, "0") == 0 || strcmp(val, "false") == 0)
			*(int *)p = 0;
		else
			goto bad;
		return 0;
	case CONF_LEVEL:
		for (i = 0; i < HK_NELEM(conf_levels); i++)
			if (strcmp(val, conf_levels[i]) == 0) {
				*(int64_t *)p = (int64_t)i;
				return 0;
			}
		goto bad;
	}
	if (v < row->min || v > row->max)
		goto range;
	*(int64_t *)p = v;
	return 0;
bad:
	fprintf(stderr, "hookd: %s: --%s: invalid value '%s'\n", from,
	    row->name, val);
	return -1;
range:
	fprintf(stderr, "hookd: %s: --%s: '%s' is out of range [%lld, %lld]\n",
	    from, row->name, val, (long long)row->min, (long long)row->max);
	return -1;
rate:
	fprintf(stderr,
	    "hookd: %s: --%s: '%s' must be 0 (unlimited) or from %g to %lld\n",
	    from, row->name, val, HOOKD_RATE_MIN, (long long)row->max);
	return -1;
}

/* Prints the flags table. */
static void
conf_usage(FILE *f)
{
	size_t i;
	char env[64], *q;

	fprintf(f, "usage: hookd [--flag value | --flag=value] ...\n\n");
	for (i = 0; i < HK_NELEM(conf_rows); i++) {
		snprintf(env, sizeof(env), "HOOKD_%s", conf_rows[i].name);
		for (q = env; *q != '\0'; q++)
			*q = *q == '-' ? '_' : (char)toupper((unsigned char)*q);
		fprintf(f, "  --%-18s %s\n  %-20s [%s; default: %s]\n",
		    conf_rows[i].name, conf_rows[i].help, "", env,
		    conf_rows[i].def != NULL ? conf_rows[i].def : "unset");
	}
	fprintf(f,
	    "\n  --check               with --config: print what the file would "
	    "change, and exit\n  --help, --version\n");
}

/* The row of flag NAME (LEN bytes), or NULL. */
static const struct conf_row *
conf_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < HK_NELEM(conf_rows); i++)
		if (strlen(conf_rows[i].name) == len &&
		    strncmp(conf_rows[i].name, name, len) == 0)
			return &conf_rows[i];
	return NULL;
}

int
hk_conf_load(struct hk_conf *conf, int argc, char **argv)
{
	const struct conf_row *row;
	char env[64], *q;
	const char *arg, *val, *eq;
	size_t i;
	int a;

	memset(conf, 0, sizeof(*conf));
	for (i = 0; i < HK_NELEM(conf_rows); i++) {
		row = &conf_rows[i];
		if (row->def != NULL &&
		    conf_set(conf, row, row->def, "default") != 0)
			return -1;
		snprintf(env, sizeof(env), "HOOKD_%s", row->name);
		for (q = env; *q != '\0'; q++)
			*q = *q == '-' ? '_' : (char)toupper((unsigned char)*q);
		if ((val = getenv(env)) != NULL && *val != '\0' &&
		    conf_set(conf, row, val, env) != 0)
			return -1;
	}
	for (a = 1; a < argc; a++) {
		arg = argv[a];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			conf_usage(stdout);
			return 1;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("hookd %s\n", VERSION);
			return 1;
		}
		if (strcmp(arg, "--check") == 0) {
			conf->cf_check = 1;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0) {
			fprintf(stderr,
			    "hookd: unexpected argument '%s' (see --help)\n",
			    arg);
			return -1;
		}
		arg += 2;
		eq = strchr(arg, '=');
		row = conf_find(
		    arg, eq != NULL ? (size_t)(eq - arg) : strlen(arg));
		if (row == NULL) {
			fprintf(stderr,
			    "hookd: unknown flag '%s' (see --help)\n", argv[a]);
			return -1;
		}
		if (eq != NULL)
			val = eq + 1;
		else if (row->type == CONF_BOOL)
			val = "1";
		else if (a + 1 < argc)
			val = argv[++a];
		else {
			fprintf(
			    stderr, "hookd: --%s needs a value\n", row->name);
			return -1;
		}
		if (conf_set(conf, row, val, "command line") != 0)
			return -1;
	}
	return 0;
}

void
hk_conf_free(struct hk_conf *conf)
{
	size_t i;

	for (i = 0; i < HK_NELEM(conf_rows); i++)
		if (conf_rows[i].type == CONF_STR) {
			free(*(char **)((char *)conf + conf_rows[i].off));
			*(char **)((char *)conf + conf_rows[i].off) = NULL;
		}
}
