# JoxAI — the two commands a newcomer needs are `make run` and `make test`.
.PHONY: run test bench soak fmt lint

## Run the whole product on http://localhost:5000 (NATS, Postgres, all roles, offline AI, demo data).
run:
	@bash infra/scripts/run.sh

## Run every test, exactly as CI does.
test:
	@bash infra/scripts/test.sh

## Load test: a short standard scenario beside the machine's own ceiling (under 3 minutes).
bench:
	@bash infra/scripts/bench.sh

## Long fault-injection run (workers killed at random under load); prints its figures.
soak:
	@bash infra/scripts/soak.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings
