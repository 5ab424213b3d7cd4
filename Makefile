# Drover: `make demo` and `make test` work on a fresh Debian 12 machine; both
# install what they need (Debian packages via packaging/bootstrap-debian.sh,
# Python packages pinned in requirements.txt into .venv).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SOURCES := $(shell find appliance guest -name '*.py' -not -name '_build.py') build.py packaging/glibc_floor.c
PACKAGING := $(wildcard packaging/*) $(wildcard config/*.conf)
DIST_VERSION := $(shell sed -n 's/^VERSION = "\(.*\)"/\1/p' guest/common/version.py)

.PHONY: all deps venv build rpm test unit lint demo bench system-test fault-test cluster-test demo-cluster clean

all: build

deps:
	@packaging/bootstrap-debian.sh

$(VENV)/.stamp: requirements.txt | deps
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "make: Python 3.11 or newer is needed as $(PYTHON) (set PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

venv: deps $(VENV)/.stamp

build/drover.dist/drover: $(VENV)/.stamp $(SOURCES)
	$(PY) build.py drover

build/drover-guest.dist/drover-guest: $(VENV)/.stamp $(SOURCES)
	$(PY) build.py drover-guest

build: build/drover.dist/drover build/drover-guest.dist/drover-guest

dist/drover-$(DIST_VERSION)-1.x86_64.rpm: build/drover.dist/drover build/drover-guest.dist/drover-guest $(PACKAGING) COPYING
	packaging/rpm.sh dist

rpm: dist/drover-$(DIST_VERSION)-1.x86_64.rpm

lint: venv
	$(VENV)/bin/ruff check .

# Everything: lint, then all tests (they use the binaries and RPMs built here), the micro-VM system test included
# (it starts a libvirtd where none runs: tests/system/libvirtd.sh).
test: venv lint build rpm
	$(PY) -m pytest -q tests

# Only the micro-VM system tests: a real VM booted through libvirt's qemu driver becomes guest1; the packaged
# guest unit under systemd as PID 1 in a micro-VM; live migration of one between two libvirtds.
system-test: venv build
	$(PY) -m pytest -q -s tests/test_system.py tests/test_live_migration.py tests/test_systemd_units.py

# Only the fault-injection suite (kill -9, lost guests, full and read-only disks, hostile peers, bad input);
# it prints what survived, and writes it to build/fault-summary.txt. make test runs it too.
fault-test: venv
	$(PY) -m pytest -q tests/fault

# Only the multi-host suite: three hosts in network namespaces, each with corosync and a drover daemon.
cluster-test: venv
	$(PY) -m pytest -q tests/cluster

# Only the tests that need no binaries (fast edit loop).
unit: venv
	$(PY) -m pytest -q tests -m "not artifacts and not system and not fault and not cluster"

demo: venv
	$(PY) -m appliance.demo

# The walk-through on three hosts (network namespaces with corosync and drover; needs root).
demo-cluster: venv
	$(PY) -m appliance.demo_cluster

bench: venv build
	$(PY) -m tests.bench_cli
	$(PY) -m tests.bench_guest
	$(PY) -m tests.bench_scheduler
	$(PY) -m tests.bench_recovery
	$(PY) -m tests.bench_vm_recovery
	$(PY) -m tests.bench_cluster
	$(PY) -m tests.bench_failover
	$(PY) -m tests.bench_migration

clean:
	rm -rf build dist guest/common/_build.py .pytest_cache
