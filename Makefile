# guanhuai — see README.md.
SWIFT ?= swift
CONFIG ?= Config/config.toml

.PHONY: run test bench deps build lunar-fixture calendar-table

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

test: deps
	$(SWIFT) test

# Release-build benchmarks; figures go into README.md.
bench: deps
	$(SWIFT) build -c release --product PlanBenchmark
	taskset -c 0 .build/release/PlanBenchmark 100000 1000000
	$(SWIFT) build -c release --product CalendarBenchmark
	taskset -c 0 .build/release/CalendarBenchmark
	bash Benchmarks/store-benchmark.sh 100000
	bash Benchmarks/mail-benchmark.sh 10000

# Regenerate the committed reference data (needs lunar_python from PyPI; systemd-analyze).
lunar-fixture:
	python3 -m venv .venv && .venv/bin/pip install -q lunar_python
	.venv/bin/python Tests/GuanhuaiCoreTests/Fixtures/make-lunar-fixture.py

calendar-table:
	bash Tests/GuanhuaiCoreTests/Fixtures/make-calendar-table.sh
