# photovault — the commands of a fresh machine.
#   make run    build, then run photovault's main job (see scripts/run.sh)
#   make test   install what is missing, build, run every test, lint
#   make bench  the benchmarks whose figures docs/BENCHMARKS.md records
#   make bench-scale  the 1,000,000-asset benchmark (a clone of ~30 minutes, cached)

CARGO ?= cargo
PREFIX ?= $(HOME)/.local
export CARGO_TERM_COLOR ?= never

.PHONY: all setup build test lint run bench bench-clones bench-scale bench-tools osxphotos install uninstall clean

all: build

setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --release --workspace --bins

# The end-to-end tests run the real binaries, so they are built first.
test: setup osxphotos
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast
	$(MAKE) lint

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

run: build
	@scripts/run.sh

bench: build osxphotos bench-tools
	$(CARGO) run --release -q -p photovault-bench -- inspect
	$(CARGO) run --release -q -p photovault-bench -- export
	$(CARGO) run --release -q -p photovault-bench -- daemon
	$(CARGO) run --release -q -p photovault-bench -- organize
	$(CARGO) run --release -q -p photovault-bench -- mirror
	$(MAKE) bench-clones

# Libraries cloned from the real fixtures by ../shared/tools/synth_library.py
# (100,000 assets per template, cached in target/bench-data/clones).
bench-clones: build bench-tools
	$(CARGO) run --release -q -p photovault-bench -- clones

# One 1,000,000-asset clone of Test-15.4.1: full read, no-op export, and
# status latency during a daemon job (the clone and its first export are
# cached in target/bench-data).
bench-scale: build
	$(CARGO) run --release -q -p photovault-bench -- scale

# What the mirror benchmark compares with: rsync and b3sum.
bench-tools:
	@command -v rsync >/dev/null || scripts/setup.sh rsync
	@command -v b3sum >/dev/null || $(CARGO) install -q b3sum

# osxphotos 0.77.2, the reference reader that tests and benchmarks compare
# with. Without network access to PyPI, those comparisons say they were
# skipped rather than fail.
osxphotos:
	@test -x target/osxphotos-venv/bin/osxphotos || \
	  (python3 -m venv target/osxphotos-venv && target/osxphotos-venv/bin/pip install -q osxphotos==0.77.2) || \
	  echo "osxphotos could not be installed: comparisons with it will be skipped"

install: build
	install -d "$(PREFIX)/bin"
	install -m 0755 target/release/photovaultd target/release/photovaultctl "$(PREFIX)/bin/"
	@echo "installed photovaultd and photovaultctl in $(PREFIX)/bin"
	"$(PREFIX)/bin/photovaultctl" install --daemon "$(PREFIX)/bin/photovaultd"

uninstall:
	-"$(PREFIX)/bin/photovaultctl" uninstall
	rm -f "$(PREFIX)/bin/photovaultd" "$(PREFIX)/bin/photovaultctl"

clean:
	$(CARGO) clean
