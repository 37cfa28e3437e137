# JoxAI — the two commands a newcomer needs are `make run` and `make test`.
.PHONY: run test bench soak cluster cluster-chaos fmt lint

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

## The production topology on loopback: 3 NATS nodes (R3, TLS, one user per role), 2 of every role. Ctrl-C stops it.
cluster:
	@bash infra/scripts/cluster.sh

## Faults on that cluster under load (nodes killed and paused, workers killed, rolling restart, scaling); exits 1 on any loss.
cluster-chaos:
	@bash infra/scripts/cluster-chaos.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings
