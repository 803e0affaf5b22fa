package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/custody-dev/custody/verify"
)

// BenchmarkAppendConcurrent measures durable appends (SQLite with
// synchronous=FULL, PostgreSQL committed) from 64 concurrent writers, each
// appending one custody.access entry per operation (canonical payload with a
// nonce, the index row it produces, group commit), and reports entries/s:
// side by side with payloads stored as they are ("plain") and sealed with
// the data key of a key ring, as in an encrypted store ("sealed").
//
// A quick run on both dialects:
//
//	CUSTODY_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' \
//	  go test -run '^$' -bench BenchmarkAppendConcurrent -benchtime 20000x ./internal/sqlstore/
//
// One million entries per dialect:
//
//	CUSTODY_TEST_POSTGRES=... go test -run '^$' -bench BenchmarkAppendConcurrent \
//	  -benchtime 1000000x -timeout 2h ./internal/sqlstore/
//
// (No -race: it measures the race detector, not the store.)
func BenchmarkAppendConcurrent(b *testing.B) {
	writers := 64
	if s := os.Getenv("CUSTODY_BENCH_WRITERS"); s != "" {
		writers, _ = strconv.Atoi(s)
	}
	for _, dialect := range sqltest.Dialects(b) {
		for _, mode := range []string{"plain", "sealed"} {
			b.Run(dialect+"/"+mode, func(b *testing.B) {
				var opt sqlstore.Options
				if mode == "sealed" {
					opt.Sealer = fieldSealer(b)
				}
				benchAppend(b, dialect, writers, opt)
			})
		}
	}
}

func benchAppend(b *testing.B, dialect string, writers int, opt sqlstore.Options) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqltest.DSN(b, dialect), opt)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	item := itemAdd(b)
	if _, err := db.Append(ctx, item); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((writers + procs - 1) / procs)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			raw, err := verify.Canonical(custody.Access{Nonce: fmt.Sprintf("%022d", i), Item: item.Entry.Subject,
				Action: "read", Reason: "analysis for case UA-2026-001"})
			if err != nil {
				b.Error(err)
				return
			}
			p := sqlstore.Pending{Entry: custody.Entry{ID: fmt.Sprintf("0193a4b0-0000-7000-8000-%012d", i),
				Type: custody.EntryAccess, Store: "store-1", Actor: "user-1", Subject: item.Entry.Subject}, Payload: raw}
			if _, err := db.Append(ctx, p); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	if size, err := db.LogSize(ctx); err != nil || size != uint64(b.N)+1 {
		b.Fatalf("log size %d, %v; want %d", size, err, b.N+1)
	}
}
