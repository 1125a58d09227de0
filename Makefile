# Mailbridge: the two commands a newcomer needs are `make run` and `make test`.
# Everything else is here for developers and CI. `make help` lists targets.

GO        ?= go
BIN       := $(CURDIR)/bin
ARGS      ?=
# staticcheck (v0.8.2 = release 2026.2.2) is fetched through the Go module proxy into ./bin when absent.
STATICCHECK_VERSION := v0.8.2
FUZZTIME  ?= 10s
LAMBDAS   := $(filter-out internal,$(notdir $(wildcard functions/*)))
# make build fails on a bootstrap of 15 MB or more (cold starts grow with it).
MAX_BOOTSTRAP_BYTES := 15000000

.PHONY: help run test unit lint fmt vet staticcheck fuzz bench build sam-build cfn-lint openapi asl standins-start standins-stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

run: ## run the whole stack in one process (embedded store and queue, EWS simulator); ARGS="--once" etc.
	$(GO) run ./scripts/local $(ARGS)

test: ## everything CI checks: lint, unit and integration tests (starts DynamoDB Local and moto), fuzz, template and API checks
	@bash scripts/test.sh

unit: ## go tests only (stand-ins started by the tests themselves when absent)
	$(GO) test ./...

lint: fmt vet staticcheck ## gofmt, go vet, staticcheck

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi; echo "gofmt: clean"

vet:
	$(GO) vet ./...

$(BIN)/staticcheck:
	@mkdir -p $(BIN)
	@echo "fetching staticcheck $(STATICCHECK_VERSION) through the Go module proxy"
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(BIN)/staticcheck
	$(BIN)/staticcheck ./...

fuzz: ## run each fuzz target briefly (FUZZTIME=10s)
	$(GO) test ./shared/exchange/ews -run='^$$' -fuzz=FuzzDecodeResponse -fuzztime=$(FUZZTIME)
	$(GO) test ./shared/api -run='^$$' -fuzz=FuzzCreateTenant -fuzztime=$(FUZZTIME)
	$(GO) test ./shared/api -run='^$$' -fuzz=FuzzAvailability -fuzztime=$(FUZZTIME)
	$(GO) test ./shared/platform/urlguard -run='^$$' -fuzz=FuzzCheckURL -fuzztime=$(FUZZTIME)
	$(GO) test ./shared/platform/netfail -run='^$$' -fuzz=FuzzDescribe -fuzztime=$(FUZZTIME)
	$(GO) test ./shared/app -run='^$$' -fuzz=FuzzNormalizeAddress -fuzztime=$(FUZZTIME)
	$(GO) test ./shared/exchange/ewssim -run='^$$' -fuzz=FuzzLexer -fuzztime=$(FUZZTIME)

bench: ## benchmarks with their bounds and ratios
	@bash scripts/bench.sh

build: ## build every Lambda for provided.al2023 arm64 into bin/lambda/<name>/bootstrap (each under 15 MB), and the local tools
	@for f in $(LAMBDAS); do \
		echo "building $$f"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
			-o $(BIN)/lambda/$$f/bootstrap ./functions/$$f || exit 1; \
		size=$$(stat -c %s $(BIN)/lambda/$$f/bootstrap); \
		echo "  bootstrap: $$size bytes"; \
		if [ $$size -ge $(MAX_BOOTSTRAP_BYTES) ]; then echo "$$f: bootstrap over $(MAX_BOOTSTRAP_BYTES) bytes"; exit 1; fi; \
	done
	$(GO) build -o $(BIN)/ ./scripts/...

# Used by `sam build` (BuildMethod: makefile): one target per function.
build-%Function:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
		-o $(ARTIFACTS_DIR)/bootstrap ./functions/$(shell echo $* | tr 'A-Z' 'a-z')

cfn-lint: ## lint template.yaml
	cfn-lint template.yaml

openapi: ## validate infra/openapi.yaml
	openapi-spec-validator infra/openapi.yaml

standins-start: ## start DynamoDB Local and moto_server for a test session
	@bash scripts/standins.sh start

standins-stop:
	@bash scripts/standins.sh stop

clean:
	rm -rf $(BIN) .standins/run .standins/run-*
