# The two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000
STAGE ?= dev

.PHONY: run test lint unit bench deploy package clean

$(INSTALLED): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(INSTALLED)

## run: the local job server on http://127.0.0.1:$(PORT), AWS emulated by moto (Ctrl-C stops it)
run: $(INSTALLED)
	$(BIN)/python -m local.server --port $(PORT)

## test: lint, types, CloudFormation lint and the whole pytest suite
test: $(INSTALLED) lint
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/cfn-lint infra/template.yaml

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
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
