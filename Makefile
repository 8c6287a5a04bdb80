# The command names here are a contract (README, CI, reviewers): demo, test, cluster-up,
# cluster-down, cluster-status, bench, gen. Everything they need is installed by the targets.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
NODE_BIN := $(shell hack/node.sh)
export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export KUBECONFIG := $(CURDIR)/.cluster/kubeconfig

.PHONY: deps gen gen-check typecheck lint build test test-unit demo bench cluster-up cluster-down cluster-status clean

deps: node_modules/.installed
node_modules/.installed: package-lock.json package.json
	npm ci --no-audit --no-fund
	touch $@

gen: deps
	tsx scripts/gen-crds.ts

## Fails when the committed CRDs differ from what the API source generates.
gen-check: deps
	tsx scripts/gen-crds.ts --check

typecheck: deps
	tsc -p tsconfig.json --noEmit

## ESLint for the TypeScript, shellcheck (Debian package, installed when missing) for every shell script.
lint: deps
	eslint .
	hack/shellcheck.sh

build: deps
	npm run --silent build

test-unit: deps
	vitest run --project unit

## Every layer, in order, against the real cluster and services; .ci/run calls exactly this.
## Projects run one after another so only one operator at a time reconciles the cluster.
test: deps gen-check typecheck lint build cluster-up
	hack/test-services.sh up
	vitest run --project unit
	vitest run --project integration
	vitest run --project e2e

demo: deps cluster-up
	hack/demo.sh

bench: deps build cluster-up
	tsx bench/run.ts

cluster-up:
	hack/cluster/cluster.sh up

cluster-down:
	hack/demo.sh stop
	hack/cluster/cluster.sh down

cluster-status:
	hack/cluster/cluster.sh status

clean:
	rm -rf dist node_modules
