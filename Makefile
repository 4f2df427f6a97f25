# The front door. `make run` and `make test` are the two commands a person
# types on a fresh Debian machine: each installs what is missing first, and
# only what it needs (scripts/install-deps.sh GROUP: build, run, test, ...).
SHELL := /bin/bash
JOBS ?= $(shell nproc)
RUN_DIR := $(CURDIR)/.run
PG_PORT ?= 15432
PORT ?= 5000

.PHONY: deps build build-release release swagger-ui run stop backup backups restore prod scale rolling-restart ha test test-scale test-backup test-asan fmt lint coverage bench fuzz clean

deps:
	@scripts/install-deps.sh build

build: deps
	cmake --preset debug >/dev/null
	cmake --build --preset debug -j$(JOBS)

build-release: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j$(JOBS)

# The seed's release workflow: build the images, push them to a local registry
# (tags: the commit's short SHA and latest), remove them, start
# docker-compose-prod.yml from the images pulled back, wait for its
# healthchecks, run the acceptance suite from a container against nginx, check
# non-root and drain-on-stop, write the SBOM to build/images/, tear down.
# Docker or podman.
release: swagger-ui
	@scripts/release.sh

# Swagger UI's files (npm's swagger-ui-dist at the pinned version) on the host,
# so the image build finds them in its context and needs no npm registry.
swagger-ui: deps
	@cmake -DDIR=$(CURDIR)/services/users/swagger-ui -P services/users/cmake/swagger_ui.cmake

# Local PostgreSQL under .run/ (kept between runs), a mail sink (mail kept in
# .run/mail/Maildir), migrations, then the service on port $(PORT) in the
# foreground with APP_ENV=development.
run: build-release
	@scripts/install-deps.sh run
	@scripts/run-local.sh dev

# The production-like stack: the same local PostgreSQL, the service with
# APP_ENV=production, and nginx with the project's prod template on :8080.
prod: build-release
	@scripts/install-deps.sh run
	@scripts/run-local.sh prod

# N replicas (default 3) of the production service behind nginx on :8080,
# on the same local PostgreSQL, in the background.
N ?= 3
scale: build-release
	@scripts/install-deps.sh run
	@scripts/scale.sh start $(N)

# Restarts the replicas of `make scale` one at a time, failing no request.
rolling-restart:
	@scripts/scale.sh rolling-restart

# A PostgreSQL that survives its primary: three Patroni-managed members and a
# three-member etcd under .run/ha (scripts/ha.sh), then N service replicas on
# it behind nginx.
ha: build-release
	@scripts/install-deps.sh run ha
	@scripts/ha.sh up
	SCALE_DATABASE_URL="$$(scripts/ha.sh url)" scripts/scale.sh start "$${N:-3}"

# `make stop` archives the WAL up to the stop (scripts/backup.sh seal) before
# it stops the local PostgreSQL, so a restore can reach any moment before it.
stop:
	@scripts/run-local.sh stop
	@scripts/scale.sh stop
	@scripts/ha.sh down

# pgBackRest on make run's cluster, its WAL archived continuously into
# BACKUP_REPO (.run/backup; scripts/backup.sh): a backup (full the first time,
# then incremental), the list with times, sizes and the age of the last, and a
# restore to TARGET_TIME='YYYY-MM-DD HH:MM:SS+00' (without it, to the end of the
# archive) that moves the current data directory aside first.
backup:
	@scripts/install-deps.sh run
	@scripts/backup.sh backup

backups:
	@scripts/backup.sh list

restore:
	@scripts/backup.sh restore "$(TARGET_TIME)"

# The scale tier (several replicas under load, one killed, restarted, cut
# from the database) takes minutes: `make test-scale` runs it.
test: build
	@scripts/install-deps.sh test
	ctest --preset debug -j$(JOBS) -LE 'scale|backup'

# The restore drill (CTest label backup, left out of `make test`): backup,
# rows, a noted time, more rows, stop, restore to the time, the first rows only.
test-backup: build
	@scripts/install-deps.sh test
	ctest --preset debug -L backup --output-on-failure

# Verbose: each test prints its counts (requests, failures by kind, 201s, rows),
# also collected in build/debug/scale-counts.jsonl.
test-scale: build
	@scripts/install-deps.sh test ha
	rm -f build/debug/scale-counts.jsonl
	ctest --preset debug -L scale -V

# Sanitizers slow everything down several times: a test with a time bound may
# get one retry here (a real sanitizer report fails both tries).
test-asan: deps
	@scripts/install-deps.sh test
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j$(JOBS)
	ASAN_OPTIONS=fast_unwind_on_malloc=0 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ctest --preset asan -j$(JOBS) -L 'unit|integration' --repeat until-pass:2

# One route lookup's cost (bench/router_bench.cpp), then the service beside
# its limits (nginx, pgbench at its best client count),
# its cost as the table grows to 1M users and its latency from 1 to 256
# connections, then the goals. BENCH_ARGS=--quick: a smoke run (partial.json).
bench: build-release
	@scripts/install-deps.sh bench
	@cmake --preset release >/dev/null && cmake --build --preset release --target router_bench
	@build/release/bench/router_bench --benchmark_min_time=0.2
	@bench/run.sh $(BENCH_ARGS)

# libFuzzer over the request-handling path, for a bounded time.
fuzz: deps
	@scripts/install-deps.sh fuzz
	@tests/fuzz/run.sh

fmt:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

# clang-format, clang-tidy, cppcheck, shellcheck and yamllint (scripts/lint.sh):
# fails on any finding.
lint: deps
	@scripts/install-deps.sh lint
	@JOBS=$(JOBS) scripts/lint.sh

# The unit and integration tiers built with --coverage (build/coverage), then
# gcovr's line and branch coverage of common/ and services/: a summary, an
# HTML report in build/coverage/html/, and a failure under the floors
# (scripts/coverage.sh).
coverage: deps
	@scripts/install-deps.sh lint
	cmake --preset coverage >/dev/null
	cmake --build --preset coverage -j$(JOBS)
	@JOBS=$(JOBS) scripts/coverage.sh

clean:
	@scripts/release.sh clean
	rm -rf build
