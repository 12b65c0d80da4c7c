/*
 * log.c: one key=value line per event on stderr (or --log-file).
 *
 * Lines look like
 *   ts=2025-05-21T21:26:58.211Z level=info event=listen addr=127.0.0.1:8080
 * Values with spaces, quotes or '=' go through hk_logq(). Any thread
 * logs (the store's writer, reader and cluster threads too): a line is
 * written under stdio's lock of stderr, whole, and hk_logq's buffers are
 * the calling thread's own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hookd.h"

static int log_level = HK_LOG_INFO;
static const char *log_file;
static const char *log_names[] = {"debug", "info", "warn", "error"};

void
hk_log_init(int level, const char *file)
{
	log_level = level;
	log_file = file;
	if (file != NULL && freopen(file, "a", stderr) == NULL)
		hk_fatal("log", "file=%s error=%s", hk_logq(file),
		    hk_logq(strerror(errno)));
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void
hk_log_reopen(void)
{
	if (log_file == NULL)
		return;
	if (freopen(log_file, "a", stderr) == NULL)
		return; /* nowhere left to say so */
	setvbuf(stderr, NULL, _IOLBF, 0);
	log_info("log_reopen", "file=%s", hk_logq(log_file));
}

/* Writes one line. */
static void
log_vline(int level, const char *event, const char *fmt, va_list ap)
{
	char iso[HK_ISO_LEN];

	/* One line, however many calls: another thread's waits. */
	flockfile(stderr);
	fprintf(stderr, "ts=%s level=%s event=%s ",
	    hk_time_iso(hk_now_ms(), iso), log_names[level], event);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void
hk_log(int level, const char *event, const char *fmt, ...)
{
	va_list ap;

	if (level < log_level)
		return;
	va_start(ap, fmt);
	log_vline(level, event, fmt, ap);
	va_end(ap);
}

void
hk_fatal(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(HK_LOG_ERROR, event, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *
hk_logq(const char *val)
{
	static _Thread_local char bufs[8][256];
	static _Thread_local int next;
	char *b = bufs[next++ & 7];
	size_t o = 0, i;
	int quote = 0;

	if (val == NULL)
		return "-";
	for (i = 0; val[i] != '\0'; i++)
		if (val[i] == ' ' || val[i] == '"' || val[i] == '=' ||
		    (unsigned char)val[i] < 0x20)
			quote = 1;
	if (!quote && i > 0 && i < sizeof(bufs[0]))
		return val;
	b[o++] = '"';
	for (i = 0; val[i] != '\0' && o < sizeof(bufs[0]) - 4; i++) {
		if (val[i] == '"' || val[i] == '\\')
			b[o++] = '\\';
		b[o++] = (unsigned char)val[i] < 0x20 ? '?' : val[i];
	}
	b[o++] = '"';
	b[o] = '\0';
	return b;
}
