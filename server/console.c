/*
 * console.c: the operator console of SPEC §10 on the admin listener.
 *
 * Its HTML, CSS and JavaScript are compiled into hookd (scripts/embed
 * writes them into hk_console_files), so a plain binary serves the
 * console offline, with nothing on disk to go stale. They are served
 * without the admin token: they hold no data, and every /api call the
 * page makes sends the token itself.
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "hk.h"
#include "hookd.h"

/* The page loads nothing from elsewhere: scripts, styles, images, fetch. */
#define CONSOLE_CSP "default-src 'self'"

/* The file served at PATH ("/" is the page itself), or NULL. */
static const struct hk_console_file *
console_find(const char *path)
{
	const struct hk_console_file *f;

	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (f = hk_console_files; f->cf_path != NULL; f++)
		if (strcmp(f->cf_path, path) == 0)
			return f;
	return NULL;
}

/* Whether the client's If-None-Match names the file's current ETag. */
static int
console_fresh(struct evhttp_request *req, const struct hk_console_file *f)
{
	const char *inm = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "If-None-Match");

	return inm != NULL &&
	    (strcmp(inm, "*") == 0 || strstr(inm, f->cf_etag) != NULL);
}

int
hk_console_serve(struct evhttp_request *req, const char *path)
{
	const struct hk_console_file *f = console_find(path);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (f == NULL)
		return 0;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		hk_admin_405(req, "GET, HEAD");
		return 1;
	}
	evhttp_add_header(h, "Content-Security-Policy", CONSOLE_CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	/* Revalidated each time: a new hookd binary brings new files. */
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "ETag", f->cf_etag);
	if (console_fresh(req, f)) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return 1;
	}
	evhttp_add_header(h, "Content-Type", f->cf_type);
	evbuffer_add_reference(evhttp_request_get_output_buffer(req),
	    f->cf_data, f->cf_len, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", NULL);
	return 1;
}
