# The two commands of the README's quick start:
#   make demo   render the default experiment (embedded configs/goemotions.yaml) and
#               print the qsub chain; offline, no scheduler, no libtorch needed.
#   make test   every test: sets up libtorch (.venv), starts a real Grid Engine
#               (scripts/sge-local.sh) and a real Slurm (scripts/slurm-local.sh),
#               runs the full and the light build's tests, stops both again, also
#               when tests fail. Clients find that Slurm through SLURM_CONF:
#               `eval "$(scripts/slurm-local.sh env)"` sets it in a shell.

GOEMOTIONS_DIR ?= $(abspath ../shared/data/goemotions)
export GOEMOTIONS_DIR

.PHONY: demo test setup light full sge-up sge-down slurm-up slurm-down bench-cpu

demo:
	cargo build --quiet --no-default-features --bin hecjob
	./target/debug/hecjob validate
	./target/debug/hecjob render

setup:
	./scripts/setup-libtorch.sh

test: setup
	set -e; trap './scripts/slurm-local.sh down; ./scripts/sge-local.sh down' EXIT; \
	  ./scripts/sge-local.sh up; \
	  ./scripts/slurm-local.sh up; \
	  eval "$$(./scripts/slurm-local.sh env)"; \
	  cargo test --no-default-features; \
	  cargo test

sge-up:
	./scripts/sge-local.sh up

sge-down:
	./scripts/sge-local.sh down

slurm-up:
	./scripts/slurm-local.sh up

slurm-down:
	./scripts/slurm-local.sh down

bench-cpu: setup
	./bench/run.sh cpu
