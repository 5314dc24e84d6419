// Command paceline is the Paceline high-availability cluster manager.
// Everything lives in internal/cli; main only connects it to the process.
package main

import (
	"os"

	"github.com/paceline/paceline/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
