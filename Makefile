# The two commands of the README's quick start:
#   make demo   render the default experiment (embedded configs/goemotions.yaml) and
#               print the qsub chain; offline, no scheduler, no libtorch needed.
#   make test   every test: sets up libtorch (.venv), starts a real Grid Engine
#               (scripts/sge-local.sh), runs the full and the light build's tests,
#               stops Grid Engine again, also when tests fail.

GOEMOTIONS_DIR ?= $(abspath ../shared/data/goemotions)
export GOEMOTIONS_DIR

.PHONY: demo test setup light full sge-up sge-down bench-cpu

demo:
	cargo build --quiet --no-default-features --bin hecjob
	./target/debug/hecjob validate
	./target/debug/hecjob render

setup:
	./scripts/setup-libtorch.sh

test: setup
	./scripts/sge-local.sh up
	set -e; trap './scripts/sge-local.sh down' EXIT; \
	  cargo test --no-default-features; \
	  cargo test

sge-up:
	./scripts/sge-local.sh up

sge-down:
	./scripts/sge-local.sh down

bench-cpu: setup
	./bench/run.sh cpu
