# hookd: `make` builds server/hookd and server/hookctl (optimised);
# `make test` builds the AddressSanitizer + UBSan variant in build/asan/
# and runs every test against it; `make run` starts hookd on ./data.
# This is a GNU make file (Debian's make; gmake on the BSDs): it uses
# $(shell), $(wildcard), $(filter-out), $(patsubst) and % pattern rules.

include config.mk

LIB = hk buf id clock secret sig bucket form jptr json env map addr tmpl backoff hdr dlv units check cfgdoc
# The daemon, by layer (README, Layout): listeners call API handlers, which
# call the domain, which calls the store; the engine sits beside the domain.
SERVER = main config log \
	listen/http listen/conn listen/tls listen/ingest listen/provider listen/status \
	api/admin api/webhooks api/subscriptions api/events api/deliveries \
	api/stats api/console api/templates \
	domain/webhook domain/sub domain/event domain/reqlog domain/purge \
	domain/stats domain/provider domain/cfgfile \
	engine/sender engine/runner engine/engine \
	store/store store/lmdb store/lmdb_core store/lmdb_webhook store/lmdb_sub \
	store/lmdb_event store/lmdb_delivery store/lmdb_log store/lmdb_purge \
	store/pg store/pg_apply store/pg_cluster
# The console's files (proto/console.md), compiled into hookd by scripts/embed.
CONSOLE = server/api/console/index.html server/api/console/app.css \
	server/api/console/app.js server/api/console/favicon.svg
# Every test/unit/<name>.c but the framework is a unit test binary.
UNIT = $(filter-out t,$(basename $(notdir $(wildcard test/unit/*.c))))

# Objects of a build variant live in build/<variant>/; the default
# variant is the optimised one, `make test` adds build/asan.
B = build/opt
SRV_OUT = server

LIBOBJ = $(LIB:%=$(B)/lib/%.o)
SRVOBJ = $(SERVER:%=$(B)/server/%.o) $(B)/gen/console_files.o
UNITBIN = $(UNIT:%=$(B)/test/unit_%)

ALL_CFLAGS = $(CFLAGS) $(CPPFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKGS))
ALL_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) $(LDLIBS)

all: $(SRV_OUT)/hookd $(SRV_OUT)/hookctl

$(SRV_OUT)/hookd: $(SRVOBJ) $(B)/lib/libhk.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(SRVOBJ) $(B)/lib/libhk.a $(ALL_LIBS)

$(SRV_OUT)/hookctl: $(B)/ctl/hookctl.o $(B)/lib/libhk.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(B)/ctl/hookctl.o $(B)/lib/libhk.a \
	    $(ALL_LIBS)

$(B)/ctl/hookctl.o: server/ctl/hookctl.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ server/ctl/hookctl.c

$(B)/lib/libhk.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

$(B)/lib/%.o: lib/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/server/%.o: server/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# One generated source for every variant: the files do not depend on flags.
build/gen/console_files.c: $(CONSOLE) scripts/embed
	@mkdir -p $(@D)
	scripts/embed $(CONSOLE) >$@.tmp
	mv $@.tmp $@

$(B)/gen/console_files.o: build/gen/console_files.c server/hookd.h config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ build/gen/console_files.c

$(B)/test/t.o: test/unit/t.c test/unit/t.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itest/unit -c -o $@ test/unit/t.c

$(B)/test/unit_%: test/unit/%.c $(B)/test/t.o $(B)/lib/libhk.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itest/unit -o $@ $< $(B)/test/t.o \
	    $(B)/lib/libhk.a $(ALL_LIBS)

# The store's unit test drives the LMDB engine, which lives in server/store.
$(B)/test/unit_store: test/unit/store.c $(B)/test/t.o $(B)/server/store/lmdb_core.o $(B)/lib/libhk.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itest/unit -o $@ $< $(B)/test/t.o \
	    $(B)/server/store/lmdb_core.o $(B)/lib/libhk.a $(ALL_LIBS)

# The store interface's test links the store layer alone (and the log):
# a store file that called up into the domain would not link.
STOREOBJ = $(filter $(B)/server/store/%,$(SRVOBJ)) $(B)/server/log.o
$(B)/test/unit_stread: test/unit/stread.c $(B)/test/t.o $(STOREOBJ) $(B)/lib/libhk.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itest/unit -o $@ $< $(B)/test/t.o \
	    $(STOREOBJ) $(B)/lib/libhk.a $(ALL_LIBS)
$(B)/test/unit_stwrite: test/unit/stwrite.c $(B)/test/t.o $(STOREOBJ) $(B)/lib/libhk.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itest/unit -o $@ $< $(B)/test/t.o \
	    $(STOREOBJ) $(B)/lib/libhk.a $(ALL_LIBS)

# The log's test links server/log.c alone.
$(B)/test/unit_log: test/unit/log.c $(B)/test/t.o $(B)/server/log.o $(B)/lib/libhk.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itest/unit -o $@ $< $(B)/test/t.o \
	    $(B)/server/log.o $(B)/lib/libhk.a $(ALL_LIBS)

units: $(UNITBIN)

# The sanitizer variant: same sources, its own objects and binaries.
asan:
	$(MAKE) B=build/asan SRV_OUT=build/asan OPTFLAGS="$(SANFLAGS)" \
	    build/asan/hookd build/asan/hookctl units

# libFuzzer harnesses (clang): every parser that sees outside bytes.
FUZZ = $(basename $(notdir $(wildcard test/fuzz/*.c)))
FUZZ_CC = clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
	$(CPPFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKGS))
LIBSRC = $(LIB:%=lib/%.c)

fuzz: $(FUZZ:%=build/fuzz/%)

# The admin bodies are judged by server code: it links the server but main.
FUZZ_SERVER = $(patsubst %,server/%.c,$(filter-out main,$(SERVER)))
build/fuzz/admin: test/fuzz/admin.c $(LIBSRC) $(FUZZ_SERVER) server/hookd.h config.mk \
    build/gen/console_files.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIBSRC) $(FUZZ_SERVER) \
	    build/gen/console_files.c $(ALL_LIBS)

build/fuzz/%: test/fuzz/%.c $(LIBSRC) config.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIBSRC) $(ALL_LIBS)

# An LD_PRELOAD library that makes the disk refuse writes (fault tests).
build/fault/diskfail.so: test/fault/diskfail.c
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -O1 -std=c11 -Wall -Wextra -Wpedantic -o $@ $< -ldl

deps:
	scripts/deps

# In the foreground until Ctrl-C or SIGTERM; flags in ARGS, e.g.
# make run ARGS='--allow-targets 127.0.0.0/8'
run: deps all
	mkdir -p data
	./server/hookd --data ./data $(ARGS)

# Two nodes on a PostgreSQL of their own in ./data-cluster, until Ctrl-C
# (scripts/run-cluster installs what is missing first); ARGS go to both.
run-cluster:
	scripts/run-cluster $(ARGS)

test:
	scripts/layers
	scripts/deps test
	$(MAKE) asan fuzz build/fault/diskfail.so
	scripts/runtests build/asan

bench:
	scripts/deps bench
	$(MAKE) all
	scripts/bench-ingest
	scripts/bench-deliver
	scripts/bench-backlog
	scripts/bench-commands

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1 \
	    $(DESTDIR)$(MANPREFIX)/man8
	cp -f server/hookd server/hookctl $(DESTDIR)$(PREFIX)/bin/
	chmod 755 $(DESTDIR)$(PREFIX)/bin/hookd $(DESTDIR)$(PREFIX)/bin/hookctl
	cp -f server/ctl/hookctl.1 $(DESTDIR)$(MANPREFIX)/man1/
	cp -f server/hookd.8 $(DESTDIR)$(MANPREFIX)/man8/
	chmod 644 $(DESTDIR)$(MANPREFIX)/man1/hookctl.1 \
	    $(DESTDIR)$(MANPREFIX)/man8/hookd.8

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/hookd $(DESTDIR)$(PREFIX)/bin/hookctl \
	    $(DESTDIR)$(MANPREFIX)/man1/hookctl.1 \
	    $(DESTDIR)$(MANPREFIX)/man8/hookd.8

format:
	clang-format -i lib/*.[ch] server/*.[ch] server/*/*.[ch] test/unit/*.[ch] test/fuzz/*.c test/bench/*.c test/fault/*.c

clean:
	rm -rf build server/hookd server/hookctl

.PHONY: all asan deps run run-cluster test bench install uninstall format clean units fuzz

-include $(LIBOBJ:.o=.d) $(SRVOBJ:.o=.d) $(B)/ctl/hookctl.d
