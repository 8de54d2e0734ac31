# The two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
# aiotruenas needs Python 3.13 (pyenv's on this kind of machine): a venv of its own.
AIOTRUENAS_VENV := .venv-aiotruenas
AIOTRUENAS := $(AIOTRUENAS_VENV)/.installed
PYTHON313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
PORT ?= 8000
STAGE ?= dev

.PHONY: run test lint unit bench deploy package clean token api-key chromium

$(INSTALLED): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(INSTALLED)

## run: the local job server on http://127.0.0.1:$(PORT), AWS emulated by moto (Ctrl-C stops it);
##      TLS=1 serves https:// and wss:// instead, with a generated self-signed certificate
run: $(INSTALLED)
	$(BIN)/python -m local.server --port $(PORT)$(if $(filter 1 yes true,$(TLS)), --tls)

## token: a bearer token for the local server: make token TENANT=acme USER=ann ROLE=TENANT_ADMIN
TENANT ?= default
USER_ID ?= $(or $(USER),admin)
token: $(INSTALLED)
	@$(BIN)/python -m local.token --tenant "$(TENANT)" --user "$(USER_ID)" $(if $(ROLE),--role "$(ROLE)")

## api-key: an API key from the running local server: make api-key NAME=backup TENANT=acme USER=ann ROLE=USER
NAME ?= local key
api-key: $(INSTALLED)
	@$(BIN)/python -m local.api_key --url http://127.0.0.1:$(PORT) --name "$(NAME)" \
		--tenant "$(TENANT)" --user "$(USER_ID)" $(if $(ROLE),--role "$(ROLE)")

## test: lint, types, CloudFormation lint and the whole pytest suite (3 processes:
##       the tests mostly wait on moto, sockets and sleeps; a module stays in one);
##       the dashboard's screenshots land in build/screenshots/
test: $(INSTALLED) $(AIOTRUENAS) chromium lint
	rm -rf build/screenshots
	$(BIN)/pytest -n 3 --dist loadfile; status=$$?; \
	if [ -d build/screenshots ]; then echo "Dashboard screenshots: $(CURDIR)/build/screenshots/"; fi; \
	exit $$status

## chromium: Debian's browser, which the dashboard's tests drive through Playwright
##           (tests/e2e/test_dashboard.py); Playwright never downloads one
chromium:
	@command -v chromium > /dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

lint: $(INSTALLED) $(CHECKOV)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/cfn-lint infra/template.yaml
	$(CHECKOV) --skip-download -f infra/template.yaml --framework cloudformation --compact --quiet
	$(BIN)/cfn-lint infra/edge.yaml
	$(CHECKOV) --skip-download --config-file infra/checkov-edge.yaml -f infra/edge.yaml
	rm -rf build/lint && AWS_DEFAULT_REGION=us-east-1 $(BIN)/chalice package --stage dev \
		--merge-template infra/app-merge.json build/lint > /dev/null
	$(BIN)/cfn-lint build/lint/sam.json
	$(CHECKOV) --skip-download --config-file infra/checkov-package.yaml -f build/lint/sam.json

$(AIOTRUENAS): requirements-aiotruenas.txt
	test -n "$(PYTHON313)" || { echo "aiotruenas needs Python 3.13 (pyenv install 3.13)"; exit 2; }
	test -x $(AIOTRUENAS_VENV)/bin/python || $(PYTHON313) -m venv $(AIOTRUENAS_VENV)
	$(AIOTRUENAS_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-aiotruenas.txt
	touch $(AIOTRUENAS)

# checkov in a venv of its own: its dependencies clash with the app's pins.
$(CHECKOV): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-checkov.txt
	touch $(CHECKOV)

## bench: every benchmark; writes bench/results.md and bench/results.json
bench: $(INSTALLED)
	$(BIN)/python -m bench

## package: the Chalice deployment package merged with infra/app-merge.json, in build/$(STAGE)
package: $(INSTALLED)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package --stage $(STAGE) \
		--merge-template infra/app-merge.json build/$(STAGE)

## deploy: the infra stack, then the app stack (needs AWS credentials and ARTIFACT_BUCKET)
deploy: package
	test -n "$(ARTIFACT_BUCKET)" || { echo "set ARTIFACT_BUCKET=<an S3 bucket for the code package>"; exit 2; }
	aws cloudformation deploy --stack-name jobapi-$(STAGE)-infra --template-file infra/template.yaml \
		--parameter-overrides Stage=$(STAGE) --capabilities CAPABILITY_NAMED_IAM
	aws cloudformation package --template-file build/$(STAGE)/sam.json \
		--s3-bucket $(ARTIFACT_BUCKET) --output-template-file build/$(STAGE)/packaged.yaml
	aws cloudformation deploy --stack-name jobapi-$(STAGE)-app --template-file build/$(STAGE)/packaged.yaml \
		--parameter-overrides Stage=$(STAGE) --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND

clean:
	rm -rf build $(CHECKOV_VENV) $(AIOTRUENAS_VENV) .pytest_cache .mypy_cache .ruff_cache
