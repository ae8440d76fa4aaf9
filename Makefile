# guanhuai — see README.md.
SWIFT ?= swift
CONFIG ?= Config/config.toml

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
UNITDIR ?= /etc/systemd/system

.PHONY: system-test run test lint format bench deps build lunar-fixture calendar-table release install order-file

deps:
	@Tools/install-deps

build: deps
	$(SWIFT) build --product guanhuai

# The main job on the embedded default: the example loaded into SQLite (.state/, idempotent), then its plan.
run: build
	.build/debug/guanhuai import orgs --config $(CONFIG)
	.build/debug/guanhuai import roster --config $(CONFIG)
	.build/debug/guanhuai import relations --config $(CONFIG)
	.build/debug/guanhuai plan --config $(CONFIG)

# What starts its own pairs of PostgreSQL servers runs after the rest, by itself: the store's failover suites, then
# the two-guanhuaid tests (two daemons, a mail server and the servers for a minute or two each). Beside the rest on
# 2 cores they starved the suite's timing tests, and a pair's promotion outlasted the store's 45 s of retrying.
FAILOVER = PostgresFailoverTests|PostgresOutboxFailoverTests
HEAVY = TwoDaemonTests|DaemonFailoverTests
test: deps
	$(SWIFT) test --skip '$(FAILOVER)|$(HEAVY)'
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
# relative relocations packed (DT_RELR, glibc 2.36) and no symbol table exported. Together they take the daemon's
# resident pages of its own binary from 27 MB to about 16, its code among them from 17 to 12 (docs/performance.md).
RELEASE_FLAGS = -c release --static-swift-stdlib --scratch-path .build/install \
	-Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections \
	-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
	-Xlinker --symbol-ordering-file=$(CURDIR)/Packaging/guanhuaid.order -Xlinker --no-warn-symbol-ordering
release: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product guanhuaid
	$(SWIFT) build $(RELEASE_FLAGS) --product guanhuai

# Binaries, the unit, the example configuration and templates where the unit expects them. An existing
# configuration is never overwritten; the example then goes beside it as config.toml.example.
install: release
	install -D -s -m 0755 .build/install/release/guanhuaid $(DESTDIR)$(PREFIX)/bin/guanhuaid
	install -D -s -m 0755 .build/install/release/guanhuai $(DESTDIR)$(PREFIX)/bin/guanhuai
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed 's#@PREFIX@#$(PREFIX)#g' Units/guanhuaid.service > $(DESTDIR)$(UNITDIR)/guanhuaid.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/guanhuaid.service
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/guanhuai/templates
	install -m 0644 Config/templates/*.mustache $(DESTDIR)$(SYSCONFDIR)/guanhuai/templates/
	for f in rules.toml organization.toml roster.csv relations.csv events.csv holidays.toml; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/guanhuai/$$f ] || install -m 0644 Config/$$f $(DESTDIR)$(SYSCONFDIR)/guanhuai/$$f; done
	sed 's#^path = "../.state/guanhuai.sqlite"#path = "/var/lib/guanhuai/guanhuai.sqlite"#' Config/config.toml > $(DESTDIR)$(SYSCONFDIR)/guanhuai/config.toml.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/guanhuai/config.toml ] || cp $(DESTDIR)$(SYSCONFDIR)/guanhuai/config.toml.example $(DESTDIR)$(SYSCONFDIR)/guanhuai/config.toml
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/guanhuai/README.md
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/guanhuai/
