# SPDX-License-Identifier: ISC
# Build, test and demo targets for fim. `make` builds build/fim.

PKGS      := libsodium lmdb libsystemd libcrypto jansson libpcre2-8 libacl libcap
CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Wshadow -Wpointer-arith -Wmissing-prototypes \
             -Wstrict-prototypes -Wformat=2 -Wno-unused-parameter
CPPFLAGS  += -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I.
ifeq ($(SANITIZE),1)
BUILD     ?= build/san
CFLAGS    += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
else
BUILD     ?= build
endif

DEPS_OK   := build/.deps-ok
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -linotifytools -lpthread

LIB_SRC   := $(filter-out fim/main.c,$(wildcard fim/*.c fim/*/*.c baseline/*.c policy/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Shared by the unit tests and fuzzers (temp dirs, fake roots, problems).
FIXTURE   := tests/unit/fixture.c

.PHONY: all deps test-deps check demo clean format format-check bench fuzz install uninstall deb mutants layers
# Keep test objects: they are not temporary.
.SECONDARY:
all: $(BUILD)/fim

# Packages are checked once per change of the install script.
$(DEPS_OK): packaging/install-deps
	@mkdir -p build
	@packaging/install-deps
	@touch $@
deps: $(DEPS_OK)
test-deps: $(DEPS_OK)
	@packaging/install-deps --test

$(BUILD)/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libfim.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fim: $(BUILD)/obj/fim/main.o $(BUILD)/libfim.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(FIXTURE:%.c=$(BUILD)/obj/%.o) $(BUILD)/libfim.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

check: test-deps $(BUILD)/fim $(UNIT_BIN)
	@FIM=$(abspath $(BUILD)/fim) UNIT_DIR=$(abspath $(BUILD)/tests) tests/run

demo: $(BUILD)/fim
	@FIM=$(abspath $(BUILD)/fim) tests/demo.sh

bench: $(BUILD)/fim
	@FIM=$(abspath $(BUILD)/fim) bench/run $(BENCH_SIZE)

# Fuzzers for what parses untrusted bytes (clang's libFuzzer):
# make fuzz FUZZ_SECONDS=60 runs each target that long.
FUZZ_SECONDS ?= 30
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
build/fuzz/%: tests/fuzz/%.c $(FIXTURE) $(LIB_SRC) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) $(PKG_CFLAGS) -o $@ $^ $(PKG_LIBS)
fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do mkdir -p build/fuzz/corpus-$$(basename $$f); \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 build/fuzz/corpus-$$(basename $$f) \
		|| exit 1; done

# Who uses whom, from the object files' symbols, against the layer order of
# the README's Layout: a use upwards or a circle between folders fails.
layers: $(BUILD)/fim
	@tests/layers $(BUILD)/obj

# Mutation testing (not part of CI: slow): every mutant in tests/mutants/list
# must be caught by the tests it names; MUTANTS_FULL=1 runs the whole suite
# against each.
mutants: $(DEPS_OK)
	@tests/mutants/run

C_FILES   = $(wildcard */*.[ch] fim/*/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch])
format:
	clang-format -i $(C_FILES)
format-check: test-deps
	@clang-format --dry-run --Werror $(C_FILES) && echo "format-check: $(words $(C_FILES)) files as .clang-format wants them"

# Installation: make install [DESTDIR=...] [PREFIX=/usr]. The policy, the
# state directory and the units keep their system paths under DESTDIR.
PREFIX        ?= /usr
SBINDIR       ?= $(PREFIX)/sbin
MANDIR        ?= $(PREFIX)/share/man
# fim-monitor, as in the package: Debian's fim (an image viewer) owns
# /usr/share/doc/fim.
DOCDIR        ?= $(PREFIX)/share/doc/fim-monitor
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
UNITDIR       ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
UNITS         := fim.service fim-check.service fim-check.timer
EXAMPLES      := $(wildcard packaging/examples/*)
# The units and the cron file name the binary where it was installed.
SUBST_SBIN     = sed 's|/usr/sbin/fim|$(SBINDIR)/fim|g'

install: $(BUILD)/fim
	install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/fim/policy.d $(DESTDIR)$(SYSCONFDIR)/cron.d \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples
	install -d -m 0700 $(DESTDIR)$(LOCALSTATEDIR)/lib/fim
	install -d -m 0750 $(DESTDIR)$(LOCALSTATEDIR)/log/fim
	install -m 0755 $(BUILD)/fim $(DESTDIR)$(SBINDIR)/fim
	install -m 0644 $(wildcard man/*.5) $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(wildcard man/*.8) $(DESTDIR)$(MANDIR)/man8
	@# An edited policy is never overwritten.
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/fim/fim.policy ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/fim/fim.policy"; \
		install -m 0644 policy/fim.policy $(DESTDIR)$(SYSCONFDIR)/fim/fim.policy.dist; \
	else install -m 0644 policy/fim.policy $(DESTDIR)$(SYSCONFDIR)/fim/fim.policy; fi
	$(SUBST_SBIN) packaging/fim.cron >$(DESTDIR)$(SYSCONFDIR)/cron.d/fim
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/cron.d/fim
	install -m 0644 packaging/fim.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/fim
	for u in $(UNITS); do $(SUBST_SBIN) packaging/$$u >$(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples
	@# The key of the alert trail's chain, for the scheduled check; made on
	@# the host only, never into a package tree.
	@if [ -z "$(DESTDIR)" ] && [ ! -e $(SYSCONFDIR)/fim/alerts.key ]; then \
		(umask 077 && head -c 32 /dev/urandom >$(SYSCONFDIR)/fim/alerts.key) && \
		echo "made $(SYSCONFDIR)/fim/alerts.key"; fi

# Leaves the policy, the baseline and the alert trail in place.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/fim $(DESTDIR)$(SYSCONFDIR)/cron.d/fim \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d/fim \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(wildcard man/*.5))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard man/*.8))) \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	rm -rf $(DESTDIR)$(DOCDIR)

# The Debian package (installs what it needs first, like check), built from
# a copy of the tree: the .deb and its .changes land in build/deb, nothing
# outside the tree.
DEBDIR ?= build/deb
deb: test-deps
	@packaging/make-deb $(DEBDIR)

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/fim/main.d $(UNIT_SRC:tests/unit/%.c=$(BUILD)/obj/tests/unit/%.d)
