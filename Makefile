# oamlua — OAM v1alpha1 renderer with Lua modules.
# Targets: all check check-asan install bench clean golden-accept help

PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR    = $(PREFIX)/bin
DATADIR   = $(PREFIX)/share/oamlua
VERSION   = 0.1.0

PKGS      = lua5.4 yaml-0.1 jansson libcurl libcrypto
# libcurl is compiled against (its headers) but not linked: src/curl.c loads
# it with dlopen (in glibc's libc since 2.34) only for the commands that use
# the network, so the others skip loading it and its ~30 libraries.
LINKPKGS  = $(filter-out libcurl,$(PKGS))
CC       ?= cc
PROVE    ?= prove
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
CFLAGS   += -pthread -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
            -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-format-truncation -Iinclude -Ibuild \
            $(shell pkg-config --cflags $(PKGS)) \
            -DOAM_VERSION='"$(VERSION)"' -DOAM_DATADIR='"$(DATADIR)"'
LDLIBS   += $(shell pkg-config --libs $(LINKPKGS)) -lm -pthread

# ASAN=1 builds everything (binary and unit tests) with the sanitizers.
ifeq ($(ASAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DOAM_ASAN=1
LDFLAGS  += -fsanitize=address,undefined
OPT       = -O1
endif

SRCS      = $(sort $(wildcard src/*.c))
LIBOBJS   = $(patsubst src/%.c,build/%.o,$(filter-out src/main.c,$(SRCS)))
LUASRC    = $(sort $(wildcard lua/*.lua))
UNIT_SRCS = $(sort $(wildcard tests/unit/*.c))
UNIT_TESTS= $(patsubst tests/unit/%.c,build/tests/%.t,$(UNIT_SRCS))

all: oamlua

build/.dir:
	@mkdir -p build/tests && touch $@

# lua/*.lua are compiled into the binary: the source of each file and its
# bytecode, made by tools/luadump.c with the same liblua (see lhost.c).
build/luadump: tools/luadump.c | build/.dir
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

build/lua/%.luac: lua/%.lua build/luadump
	@mkdir -p build/lua
	build/luadump $* $< $@

build/luasrc.inc: $(LUASRC) $(patsubst lua/%.lua,build/lua/%.luac,$(LUASRC)) tools/embed.sh | build/.dir
	sh tools/embed.sh --bytecode build/lua $(LUASRC) > $@.tmp && mv $@.tmp $@

build/%.o: src/%.c $(wildcard include/oamlua/*.h) build/luasrc.inc | build/.dir
	$(CC) $(CFLAGS) -c -o $@ $<

build/liboamlua.a: $(LIBOBJS)
	rm -f $@ && ar rcs $@ $^

oamlua: build/main.o build/liboamlua.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/tests/%.t: tests/unit/%.c tests/tap.h build/liboamlua.a | build/.dir
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< build/liboamlua.a $(LDLIBS)

unit: $(UNIT_TESTS)

check: all $(UNIT_TESTS)
	LC_ALL=C $(PROVE) $(PROVE_FLAGS) build/tests/ tests/*.t tests/apiserver/*.t tests/podman/*.t

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer, in a separate tree.
check-asan:
	$(MAKE) clean-objs
	$(MAKE) ASAN=1 check
	$(MAKE) clean-objs

golden-accept: all
	OAMLUA_ACCEPT=1 $(PROVE) tests/golden.t || true
	@echo "expected files rewritten: review them with 'git diff tests/golden'"

bench: all
	sh bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/workloads $(DESTDIR)$(DATADIR)/traits
	install -m 755 oamlua $(DESTDIR)$(BINDIR)/oamlua
	install -m 644 workloads/*.lua $(DESTDIR)$(DATADIR)/workloads/
	install -m 644 traits/*.lua $(DESTDIR)$(DATADIR)/traits/

demo: all
	bash examples/demo.sh

demo-stop: all
	bash examples/demo-stop.sh

clean-objs:
	rm -rf build oamlua

clean: clean-objs

help:
	@echo "make [all|check|check-asan|install|bench|demo|clean|golden-accept]"

.PHONY: all unit check check-asan golden-accept bench install demo demo-stop clean clean-objs help
.DELETE_ON_ERROR:
