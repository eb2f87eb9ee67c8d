// step-ca for hostca's peer benchmark: Debian packages the step-ca library
// (golang-github-smallstep-certificates-dev, 0.19) but not its cmd/, so this
// main runs the packaged commands.AppCommand, which loads ca.json and serves
// it. bench/peers.sh builds it with GO111MODULE=off over /usr/share/gocode.
package main

import (
	"fmt"
	"os"

	"github.com/smallstep/certificates/commands"
	"github.com/urfave/cli"
)

func main() {
	app := cli.NewApp()
	app.Name = "step-ca"
	app.Usage = "step-ca from Debian's packaged library (hostca peer benchmark)"
	app.UsageText = "step-ca <ca.json> [--password-file FILE]"
	app.Flags = commands.AppCommand.Flags
	app.Action = commands.AppCommand.Action
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "step-ca:", err)
		os.Exit(1)
	}
}
