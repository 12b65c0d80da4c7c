# hookd build configuration: what `make` needs to know about this machine.

VERSION = 0.1.0

PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man

CC = cc
PKG_CONFIG = pkg-config
# libcrypto: SHA-256 for signatures; libssl and libevent_openssl: TLS on
# the listeners (see README, Dependencies).
# libpq: the PostgreSQL store engine (--store postgresql://...); libyaml:
# the configuration file (--config).
PKGS = libevent libevent_openssl libsodium libcjson lmdb libcurl libssl libcrypto libpq yaml-0.1

CPPFLAGS = -D_GNU_SOURCE \
	-DVERSION=\"$(VERSION)\" -Ilib -Iserver
WARNFLAGS = -Wall -Wextra -Wpedantic -Wshadow -Wpointer-arith \
	-Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wsign-compare -Wmissing-declarations
OPTFLAGS = -O2 -g
CFLAGS = -std=c11 $(WARNFLAGS) $(OPTFLAGS)
LDFLAGS =
LDLIBS = -lpthread -lm

# The sanitizer build that `make test` runs the whole suite against.
SANFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
