// Command custody is Custody's single binary: evidence intake, chain of
// custody, the tamper-evident log, the API server and the verifier.
package main

import (
	"os"

	"github.com/custody-dev/custody/internal/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:])) }
