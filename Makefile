# The two commands of the README's quick start:
#   make demo   render the default experiment (embedded configs/goemotions.yaml) and
#               print the qsub chain (offline, no scheduler, no libtorch); then run a
#               tiny sweep of it here with `run --local` (scripts/demo.sh: installs
#               libtorch and MiniLM into .venv on first use) and end with the path
#               of its report.html.
#   make test   every test: sets up libtorch (.venv), starts a real Grid Engine
#               (scripts/sge-local.sh) and a real Slurm (scripts/slurm-local.sh),
#               runs the full and the light build's tests, stops both again, also
#               when tests fail. Clients find that Slurm through SLURM_CONF:
#               `eval "$(scripts/slurm-local.sh env)"` sets it in a shell.

GOEMOTIONS_DIR ?= $(abspath ../shared/data/goemotions)
export GOEMOTIONS_DIR

.PHONY: demo test check lint layers setup browser light full sge-up sge-down slurm-up slurm-down bench-cpu

# The light binary builds into its own target dir, so the full one that
# scripts/demo.sh builds next is not relinked back and forth on every run.
demo:
	cargo build --quiet --no-default-features --bin hecjob --target-dir target/light
	./target/light/debug/hecjob validate
	./target/light/debug/hecjob render
	./scripts/demo.sh

setup:
	./scripts/setup-libtorch.sh

# tests/it/report.rs opens report.html in a real headless Chromium (Debian's package).
# Installed only as root (as the schedulers are); otherwise the browser test
# says SKIPPED (outside CI) and names what is missing.
browser:
	command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || { \
	  export DEBIAN_FRONTEND=noninteractive; timeout 300 apt-get update -q && \
	  timeout 900 apt-get install -y -q chromium; }

test: setup browser
	set -e; trap './scripts/slurm-local.sh down; ./scripts/sge-local.sh down' EXIT; \
	  ./scripts/sge-local.sh up; \
	  ./scripts/slurm-local.sh up; \
	  eval "$$(./scripts/slurm-local.sh env)"; \
	  cargo test --no-default-features; \
	  cargo test

# The house style, checked (CI runs `lint` before `test`): formatting, clippy
# with warnings denied in both feature sets, docs with warnings denied.
lint: setup
	cargo fmt --check
	cargo clippy --all-targets --no-default-features -- -D warnings
	cargo clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --no-default-features --quiet
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet

# The layers (docs/architecture.md): no import cycle, nothing outside
# src/scheduler/ naming a back end, the on-disk contract importing only util,
# no function over 80 lines without a reason written beside it.
layers:
	./scripts/check-layers.sh
	python3 scripts/long-functions.py 80

# Before a commit: the above and the fast tests (.config/nextest.toml's default
# set in the light build: no live scheduler, no browser, no CPU training, nothing
# that took 10 s), in a few minutes on two cores. `make test` runs everything.
check: lint layers
	cargo nextest run --no-default-features

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
