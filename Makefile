# The two commands of the quick start: `make run` and `make test`. Everything they need is
# installed here: npm packages (cached in ~/.npm), Kafka and the registry (Maven Central,
# cached in ~/.m2 and .cache/infra).
SHELL := /bin/bash

# Node.js 24 LTS runs everything make starts (22 is supported too). Where the system's Node is
# older, a pinned build is fetched once from the npm registry (the node-linux-<arch> package)
# into the git-ignored .cache/node and put first on PATH for every recipe.
NODE_VERSION := 24.22.3
NODE_ARCH := $(subst x86_64,x64,$(subst aarch64,arm64,$(shell uname -m)))
NODE_HOME := $(CURDIR)/.cache/node/$(NODE_VERSION)
SYSTEM_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell test $(SYSTEM_NODE_MAJOR) -ge 22 && echo yes),)
export PATH := $(NODE_HOME)/bin:$(PATH)
NODE_BIN := $(NODE_HOME)/bin/node
endif
NODE_MODULES_STAMP := node_modules/.installed
GENERATED := schemas/generated/records.ts
SCHEMAS := $(wildcard schemas/*.avsc schemas/common/*.avsc schemas/internal/*.avsc) schemas/codegen.ts schemas/catalog.ts
BIN := ./bin/artenic-optimizer.mjs

.PHONY: run test lint typecheck unit golden-nodes integration soak soak-paused bench bench-venv bench-kstreams kstreams-peer interop-venv interop-java interop-go infra deps clean browser compose-validator

# `npm install`, not `npm ci`: chdb lists platform packages that were never published for
# other platforms (404), which `npm ci` reports as a lock mismatch. The lock still pins versions.
$(NODE_MODULES_STAMP): package.json package-lock.json .npmrc $(NODE_BIN)
	@node --version
	npm install --no-audit --no-fund
	touch $@

$(NODE_HOME)/bin/node:
	mkdir -p $(NODE_HOME)
	cd $(NODE_HOME) && npm pack --silent node-linux-$(NODE_ARCH)@$(NODE_VERSION) >/dev/null \
	  && tar xzf node-linux-$(NODE_ARCH)-$(NODE_VERSION).tgz --strip-components=1 package/bin package/LICENSE \
	  && rm node-linux-$(NODE_ARCH)-$(NODE_VERSION).tgz
	$@ --version

# Pinned builds of each supported Node for the HPO golden traces (golden-nodes), fetched the same way.
GOLDEN_NODE_VERSIONS := 20.20.2 22.23.5 $(NODE_VERSION)
GOLDEN_NODE_BINS := $(foreach v,$(GOLDEN_NODE_VERSIONS),.cache/node/$(v)/bin/node)
GOLDEN_TESTS := test/unit/processors/hpo/golden.test.ts test/unit/processors/hpo/portableMath.test.ts

.cache/node/%/bin/node:
	mkdir -p .cache/node/$*
	cd .cache/node/$* && npm pack --silent node-linux-$(NODE_ARCH)@$* >/dev/null \
	  && tar xzf node-linux-$(NODE_ARCH)-$*.tgz --strip-components=1 package/bin package/LICENSE \
	  && rm node-linux-$(NODE_ARCH)-$*.tgz
	$@ --version

$(GENERATED): $(NODE_MODULES_STAMP) $(SCHEMAS)
	npx tsx schemas/codegen.ts

deps: $(GENERATED) infra

## Fetch Kafka and Apicurio Registry from Maven Central (once).
infra: $(NODE_MODULES_STAMP)
	npx tsx -e "import('./infra/local/localStack.ts').then((m) => m.fetchInfra(console.log))"

## Run the service with local Kafka, registry, embedded ClickHouse and simulated traffic.
run: deps
	$(BIN) run --simulate

lint: $(GENERATED)
	npx eslint .

typecheck: $(GENERATED)
	npx tsc --noEmit -p tsconfig.json

unit: $(GENERATED)
	npx vitest run --project unit

## The HPO engine's golden ask traces (and its portable math) on Node 20, 22 and 24: a study
## snapshotted on one must ask the same next points on another. Only these two test files run.
golden-nodes: $(GENERATED) $(GOLDEN_NODE_BINS)
	@for v in $(GOLDEN_NODE_VERSIONS); do \
	  echo "HPO golden traces on Node $$v"; \
	  PATH="$(CURDIR)/.cache/node/$$v/bin:$$PATH" node node_modules/vitest/vitest.mjs run --project unit $(GOLDEN_TESTS) || exit 1; \
	done

## Debian's Chromium for the status-page test (playwright-core drives it; no browser download).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

## A Compose validator for the compose-file test: the docker plugin, else Debian's docker-compose.
compose-validator:
	@docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose)

## Other clients, for the interop tests only (never runtime dependencies): confluent-kafka and
## fastavro from PyPI in a venv, the Java Avro parser from Maven Central, and clickhouse-go (the
## client of Grafana's ClickHouse data source) from the Go module proxy; all built under .cache/.
INTEROP_VENV := .cache/interop-venv
interop-venv:
	@$(INTEROP_VENV)/bin/python -c 'import sys, confluent_kafka, fastavro; sys.exit(confluent_kafka.version()[0] != "2.16.1" or fastavro.__version__ != "1.13.1")' 2>/dev/null \
	  || (python3 -m venv $(INTEROP_VENV) && $(INTEROP_VENV)/bin/pip install -q -r test/interop/requirements.txt)

interop-java:
	@test -f .cache/interop-java/avro-1.12.1.jar || mvn -q -B -f test/interop/java/pom.xml package -Dinterop.dir=$(CURDIR)/.cache/interop-java

interop-go:
	@test -x .cache/interop-go/chcheck || (cd test/interop/go && go build -o $(CURDIR)/.cache/interop-go/chcheck .)

integration: deps browser compose-validator interop-venv interop-java interop-go
	npx vitest run --project integration

## Lint, type-check, unit tests, the golden traces on every supported Node, and integration tests.
test: lint typecheck unit golden-nodes integration

## The long fault and load suites: SOAK_KILLS SIGKILLs over SOAK_JOBS jobs (default 100 over
## 500,000 = 1M events), and SOAK_MINUTES of SOAK_RATE jobs/s with memory and lag sampled.
soak: deps
	npx vitest run --project soak

## Fencing: the paused-instance test (two instances, one SIGSTOPped past its session four times)
## SOAK_PAUSED_RUNS times in a row (default 10); stops at the first failure and says which run.
SOAK_PAUSED_RUNS ?= 10
soak-paused: deps
	@for i in $$(seq 1 $(SOAK_PAUSED_RUNS)); do \
	  echo "soak-paused: run $$i of $(SOAK_PAUSED_RUNS)"; \
	  npx vitest run --project integration test/integration/paused-instance-commits-nothing-after-its-partitions-moved.test.ts \
	    || { echo "soak-paused: run $$i of $(SOAK_PAUSED_RUNS) FAILED"; exit 1; }; \
	done; echo "soak-paused: $(SOAK_PAUSED_RUNS)/$(SOAK_PAUSED_RUNS) passed"

## Benchmarks: the topology end to end against raw client baselines and Kafka's perf tools; the
## feedback slice against its Kafka Streams port; the advisor's hot paths, decision quality
## (regret on a held-out platform) and ranking quality; the HPO engine's ask() latency and quality against Optuna.
bench: deps bench-venv kstreams-peer
	npx tsx bench/feedback-e2e.ts
	npx tsx bench/restart-restore.ts
	npx tsx bench/feedback-vs-kstreams.ts
	npx tsx bench/amplification.ts
	npx tsx bench/advisor-latency.ts
	npx tsx bench/advisor-regret.ts
	npx tsx bench/ltr-quality.ts
	npx tsx bench/hpo-latency.ts
	npx tsx bench/hpo-quality.ts
	npx tsx bench/serde-hot-path.ts

## Only the feedback slice against Kafka Streams (BENCH_REPS, BENCH_JOBS, BENCH_LATENCY_SECONDS, BENCH_LATENCY_RATES).
bench-kstreams: deps kstreams-peer
	npx tsx bench/feedback-vs-kstreams.ts

## The Kafka Streams port of the feedback slice, for the benchmark only (never a runtime
## dependency): Kafka Streams and Avro from Maven Central, built with Maven and Java 17 into
## the git-ignored .cache/kstreams (the jar and its runtime classpath in lib/).
KSTREAMS_JAR := .cache/kstreams/target/feedback-kstreams-0.1.0.jar
KSTREAMS_SOURCES := bench/kstreams/pom.xml $(shell find bench/kstreams/src -name '*.java' 2>/dev/null)
kstreams-peer: $(KSTREAMS_JAR)

$(KSTREAMS_JAR): $(KSTREAMS_SOURCES)
	@command -v mvn >/dev/null || { echo "kstreams-peer: Maven (mvn) is not installed: apt-get install maven" >&2; exit 1; }
	@command -v java >/dev/null || { echo "kstreams-peer: no java on PATH: install a JDK 17 (apt-get install openjdk-17-jdk-headless)" >&2; exit 1; }
	@java -version 2>&1 | awk -F'"' '/version/ { split($$2, v, "."); if ((v[1] == 1 ? v[2] : v[1]) + 0 < 17) { print "kstreams-peer: Java 17 or later needed, found " $$2 > "/dev/stderr"; exit 1 } }'
	cd bench/kstreams && mvn -q -B package -DskipTests -Dkstreams.buildDir=$(CURDIR)/.cache/kstreams
	@touch $@

## LightGBM and Optuna from PyPI, for the ranking and HPO quality baselines only (never runtime dependencies).
bench-venv:
	@test -x .cache/bench-venv/bin/python || (python3 -m venv .cache/bench-venv && .cache/bench-venv/bin/pip install -q lightgbm==4.6.0 numpy scipy)
	@.cache/bench-venv/bin/python -c 'import optuna' 2>/dev/null || .cache/bench-venv/bin/pip install -q optuna==5.0.0

clean:
	rm -rf node_modules .cache data schemas/generated
