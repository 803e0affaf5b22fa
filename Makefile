# Benchmarks behind the figures in docs/benchmarks.md. Each is a go test -bench run.
.PHONY: test bench bench-ledger bench-append bench-intake
test:
	go test -race ./...
bench: bench-ledger bench-append
bench-ledger:
	go test -run '^$$' -bench 'Inclusion|Consistency|Integrate' -benchtime 2s ./internal/ledger/
bench-append:
	go test -run '^$$' -bench 'Append' -benchtime 1000000x ./internal/evidence/ ./internal/sqlstore/
bench-intake:
	CUSTODY_BENCH_BIG=1 go test -run '^$$' -bench 'Intake1GiB' -benchtime 3x ./internal/evidence/
