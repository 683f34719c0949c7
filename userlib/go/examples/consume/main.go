// SPDX-License-Identifier: GPL-2.0

// consume prints every message of the named channel NAME, one a line,
// until the channel is closed: the Go end of tests/lang_three.sh.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"

	"kchan"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: consume NAME")
		os.Exit(2)
	}
	c, err := kchan.Open(os.Args[1], os.O_RDONLY)
	if err != nil {
		fmt.Fprintln(os.Stderr, "consume:", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	for {
		m, err := c.Recv()
		if errors.Is(err, kchan.ErrClosed) {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "consume:", err)
			os.Exit(1)
		}
		fmt.Fprintf(out, "%s\n", m)
	}
	out.Flush()
}
