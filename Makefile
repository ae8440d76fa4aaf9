# guanhuai — see README.md.
SWIFT ?= swift
CONFIG ?= Config/config.toml

.PHONY: run test bench deps build lunar-fixture calendar-table

deps:
	@Tools/install-deps

build: deps
	$(SWIFT) build --product guanhuai

# The main job on the example configuration: this year's and the coming year's obligations.
run: build
	.build/debug/guanhuai plan --config $(CONFIG)

test: deps
	$(SWIFT) test

# Release-build benchmarks; figures go into README.md.
bench: deps
	$(SWIFT) build -c release --product PlanBenchmark
	taskset -c 0 .build/release/PlanBenchmark 100000 1000000
	$(SWIFT) build -c release --product CalendarBenchmark
	taskset -c 0 .build/release/CalendarBenchmark

# Regenerate the committed reference data (needs lunar_python from PyPI; systemd-analyze).
lunar-fixture:
	python3 -m venv .venv && .venv/bin/pip install -q lunar_python
	.venv/bin/python Tests/GuanhuaiCoreTests/Fixtures/make-lunar-fixture.py

calendar-table:
	bash Tests/GuanhuaiCoreTests/Fixtures/make-calendar-table.sh
