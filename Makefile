# Benchmarks behind the figures in docs/benchmarks.md. Each is a go test -bench run.
# Set CUSTODY_TEST_POSTGRES=postgres://... to include PostgreSQL where a benchmark supports it.
.PHONY: test bench bench-ledger bench-append bench-intake bench-verify bench-records bench-import
test:
	go test -race ./...
bench: bench-ledger bench-append bench-intake bench-verify
bench-ledger:
	go test -run '^$$' -bench 'Inclusion|Consistency|Integrate' -benchtime 2s ./internal/ledger/
bench-append:
	go test -run '^$$' -bench 'AppendConcurrent' -benchtime 1000000x -timeout 2h ./internal/sqlstore/
bench-intake:
	CUSTODY_BENCH_BIG=1 go test -run '^$$' -bench 'Intake1GiB' -benchtime 3x -timeout 30m ./internal/evidence/
bench-verify:
	CUSTODY_BENCH_BIG=1 go test -run '^$$' -bench 'Verify4GiB' -benchtime 3x -timeout 30m ./internal/evidence/
