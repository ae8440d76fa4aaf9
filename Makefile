# guanhuai — see README.md.
SWIFT ?= swift
CONFIG ?= Config/config.toml

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
UNITDIR ?= /etc/systemd/system

.PHONY: system-test run test lint format bench deps build lunar-fixture calendar-table release install order-file \
	man install-files deb run-deps serve

# What the tests need (everything); run-deps only what building and running need (`make run` stays light).
deps:
	@Tools/install-deps test

run-deps:
	@Tools/install-deps run

build: run-deps
	$(SWIFT) build --product guanhuai

# The main job on the embedded default: the example loaded into SQLite (.state/, idempotent), then its plan.
run: build
	.build/debug/guanhuai import orgs --config $(CONFIG)
	.build/debug/guanhuai import roster --config $(CONFIG)
	.build/debug/guanhuai import relations --config $(CONFIG)
	.build/debug/guanhuai plan --config $(CONFIG)

# The service at work on the same example: guanhuaid in the foreground, its pages on 127.0.0.1:8470 (PORT=…), two
# people's 「我的待办」 links printed, the journal channel's reminders on the terminal. Ctrl-C stops it.
serve: build
	$(SWIFT) build --product guanhuaid
	Tools/serve

# What starts its own pairs of PostgreSQL servers runs after the rest, by itself: the store's failover suites, then
# the two-guanhuaid tests (two daemons, a mail server and the servers for a minute or two each). Beside the rest on
# 2 cores they starved the suite's timing tests, and a pair's promotion outlasted the store's 45 s of retrying.
# The page tests that drive chromium (a browser, its renderer and GPU processes, and a daemon each) run in a pass of
# their own too: beside the PostgreSQL suites on 2 cores they held the CPU long enough for the store's probes to
# give up (45 s) and the doorbell's 20,000 waits to outlast their minute.
FAILOVER = PostgresFailoverTests|PostgresOutboxFailoverTests
HEAVY = TwoDaemonTests|DaemonFailoverTests
BROWSER = WebTests|WebTrustTests|FundWebTests
test: deps
	$(SWIFT) test --skip '$(FAILOVER)|$(HEAVY)|$(BROWSER)'
	$(SWIFT) test --filter '$(BROWSER)'
	$(SWIFT) test --filter '$(FAILOVER)'
	$(SWIFT) test --filter '$(HEAVY)'

# The code's format (.swift-format: swift-format, shipped with the toolchain). `make format` rewrites in place.
lint:
	$(SWIFT) format lint --strict --parallel -r Sources Tests Benchmarks Fuzz Tools Package.swift

format:
	$(SWIFT) format format -i --parallel -r Sources Tests Benchmarks Fuzz Tools Package.swift

# guanhuaid under a real systemd: installed into a debootstrapped Debian 12 (cached in .cache/) booted with
# systemd-nspawn, and driven with systemctl and journalctl. Root only; says so elsewhere.
system-test:
	Tests/system/run

# Release-build benchmarks; figures go into README.md.
bench: deps
	$(SWIFT) build -c release --product PlanBenchmark
	taskset -c 0 .build/release/PlanBenchmark 100000 1000000
	$(SWIFT) build -c release --product CalendarBenchmark
	taskset -c 0 .build/release/CalendarBenchmark
	bash Benchmarks/store-benchmark.sh 100000
	bash Benchmarks/mail-benchmark.sh 10000
	bash Benchmarks/web-benchmark.sh 100000
	bash Benchmarks/webhook-benchmark.sh 10000
	bash Benchmarks/plan-benchmark.sh 100000 5
	bash Benchmarks/plan-benchmark.sh 1000000 3
	bash Benchmarks/report-benchmark.sh 100000 5
	bash Benchmarks/remind-compare.sh 100000 5
	$(MAKE) release
	GUANHUAID=.build/install/release/guanhuaid python3 Benchmarks/daemon_benchmark.py --members 10000 --idle 180
	GUANHUAID=.build/install/release/guanhuaid python3 Benchmarks/daemon_benchmark.py --members 100000 --idle 30

# Regenerate the committed reference data (needs lunar_python from PyPI; systemd-analyze).
lunar-fixture:
	python3 -m venv .venv && .venv/bin/pip install -q lunar_python
	.venv/bin/python Tests/GuanhuaiCoreTests/Fixtures/make-lunar-fixture.py

calendar-table:
	bash Tests/GuanhuaiCoreTests/Fixtures/make-calendar-table.sh

# Measure again which functions the daemon runs from start through its idle wakes (root: a loop mount), then relink.
order-file: release
	Tools/make-order-file .build/install/release/guanhuaid Packaging/guanhuaid.order
	rm -f .build/install/release/guanhuaid .build/install/release/guanhuai  # relinked with the new order
	$(MAKE) release

# Release binaries as installed, in a build directory of their own (.build/install): the Swift runtime linked in,
# so they run on a Debian 12 without a Swift toolchain; linked by lld with every function in a section of its own
# and the daemon's start and idle code side by side (Packaging/guanhuaid.order, written by Tools/make-order-file),
# relative relocations packed (DT_RELR, glibc 2.36), no symbol table exported, and hardened as Debian's binaries
# are (PIE, full RELRO: BIND_NOW). Together they take the daemon's
# resident pages of its own binary from 27 MB to about 16, its code among them from 17 to 12 (docs/performance.md).
RELEASE_FLAGS = -c release --static-swift-stdlib --scratch-path .build/install \
	-Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections \
	-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
	-Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now \
	-Xlinker --symbol-ordering-file=$(CURDIR)/Packaging/guanhuaid.order -Xlinker --no-warn-symbol-ordering
release: run-deps
	$(SWIFT) build $(RELEASE_FLAGS) --product guanhuaid
	$(SWIFT) build $(RELEASE_FLAGS) --product guanhuai

# Where `make install` and the Debian package (debian/rules: PREFIX=/usr, UNITDIR=/lib/systemd/system) put things.
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/guanhuai
DATADIR ?= $(PREFIX)/share/guanhuai
DOCDIR ?= $(PREFIX)/share/doc/guanhuai
MANDIR ?= $(PREFIX)/share/man
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
BACKTRACER ?= $(dir $(shell command -v $(SWIFT)))../libexec/swift/linux/swift-backtrace-static
BUILT = .build/install/release

# The manual pages: guanhuai(1) by swift-argument-parser's generator from the built tool, guanhuaid(8) written.
man: release
	$(SWIFT) build --product generate-manual
	rm -rf .build/man && mkdir -p .build/man
	$$($(SWIFT) build --show-bin-path)/generate-manual $(BUILT)/guanhuai --section 1 \
		--date $$(date -u -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s) +%F) -o .build/man
	cp Packaging/guanhuaid.8 .build/man/

# Everything but building: the binaries, the backtracer, the unit, the package data, the skeleton configuration
# (an existing one is never overwritten), the example committee, manual pages, completions and documentation.
install-files:
	install -D -m 0755 $(BUILT)/guanhuaid $(DESTDIR)$(SBINDIR)/guanhuaid
	strip --strip-debug $(DESTDIR)$(SBINDIR)/guanhuaid  # its symbol table stays: a crash's backtrace names functions
	install -D -s -m 0755 $(BUILT)/guanhuai $(DESTDIR)$(BINDIR)/guanhuai
	install -D -m 0755 $(BACKTRACER) $(DESTDIR)$(LIBEXECDIR)/swift-backtrace-static
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's#@SBINDIR@#$(SBINDIR)#g' -e 's#@LIBEXECDIR@#$(LIBEXECDIR)#g' -e 's#@SYSCONFDIR@#$(SYSCONFDIR)#g' \
		Units/guanhuaid.service > $(DESTDIR)$(UNITDIR)/guanhuaid.service
	for u in guanhuai-backup.service guanhuai-backup.timer; do \
		sed -e 's#@BINDIR@#$(BINDIR)#g' -e 's#@SYSCONFDIR@#$(SYSCONFDIR)#g' Units/$$u > $(DESTDIR)$(UNITDIR)/$$u; done
	chmod 0644 $(DESTDIR)$(UNITDIR)/guanhuaid.service $(DESTDIR)$(UNITDIR)/guanhuai-backup.*
	install -d -m 0755 $(DESTDIR)$(DATADIR)/templates
	install -m 0644 Config/rules.toml Config/holidays.toml $(DESTDIR)$(DATADIR)/
	install -m 0644 Config/templates/*.mustache $(DESTDIR)$(DATADIR)/templates/
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/guanhuai
	sed -e 's#/usr/share/guanhuai#$(DATADIR)#g' -e 's#/usr/share/doc/guanhuai#$(DOCDIR)#g' Packaging/config.toml \
		> $(DESTDIR)$(SYSCONFDIR)/guanhuai/config.toml.dist
	[ -e $(DESTDIR)$(SYSCONFDIR)/guanhuai/config.toml ] \
		&& rm $(DESTDIR)$(SYSCONFDIR)/guanhuai/config.toml.dist \
		|| mv $(DESTDIR)$(SYSCONFDIR)/guanhuai/config.toml.dist $(DESTDIR)$(SYSCONFDIR)/guanhuai/config.toml
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/guanhuai/config.toml
	install -d -m 0755 $(DESTDIR)$(DOCDIR)/examples/templates
	install -m 0644 Config/rules.toml Config/organization.toml Config/roster.csv Config/relations.csv \
		Config/events.csv Config/holidays.toml $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 Config/templates/*.mustache $(DESTDIR)$(DOCDIR)/examples/templates/
	sed 's#^path = "../.state/guanhuai.sqlite"#path = "/var/lib/guanhuai/guanhuai.sqlite"#' Config/config.toml \
		> $(DESTDIR)$(DOCDIR)/examples/config.toml
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -D -m 0644 .build/man/guanhuai.1 $(DESTDIR)$(MANDIR)/man1/guanhuai.1
	install -D -m 0644 .build/man/guanhuaid.8 $(DESTDIR)$(MANDIR)/man8/guanhuaid.8
	install -d -m 0755 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(BUILT)/guanhuai --generate-completion-script bash | sed '1{/^#!/d}' > $(DESTDIR)$(BASHCOMPDIR)/guanhuai
	$(BUILT)/guanhuai --generate-completion-script zsh > $(DESTDIR)$(ZSHCOMPDIR)/_guanhuai
	chmod 0644 $(DESTDIR)$(BASHCOMPDIR)/guanhuai $(DESTDIR)$(ZSHCOMPDIR)/_guanhuai

# From source onto this machine, as the package would: also the system user (systemd-sysusers).
install: release man install-files
	install -D -m 0644 Packaging/guanhuai.sysusers $(DESTDIR)$(SYSUSERSDIR)/guanhuai.conf
	install -D -m 0644 Packaging/guanhuai.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/guanhuai.conf
	[ -n "$(DESTDIR)" ] || { systemd-sysusers guanhuai.conf && systemd-tmpfiles --create guanhuai.conf; }

# The Debian package (debian/, debhelper): dist/guanhuai_VERSION_amd64.deb. DEB_VERSION overrides the version, for
# a second build to upgrade to (the booted system test). lintian must pass: 0 errors,
# 0 warnings (debian/guanhuai.lintian-overrides says why for each one overridden).
DEB_VERSION ?=
deb: release man
	@Tools/install-deps deb
	dpkg-checkbuilddeps
	mkdir -p dist
	rm -f dist/guanhuai_$(or $(DEB_VERSION),$(shell dpkg-parsechangelog -S Version))_amd64.deb
	GUANHUAI_DEB_VERSION=$(DEB_VERSION) debian/rules binary
	debian/rules clean
	lintian --fail-on error,warning --info dist/guanhuai_$(or $(DEB_VERSION),$(shell dpkg-parsechangelog -S Version))_amd64.deb
