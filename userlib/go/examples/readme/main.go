// SPDX-License-Identifier: GPL-2.0

// The README's "From Go" snippet (from package main on), as a program:
// TestReadmeSnippet runs it and checks that the README shows this code.
package main

import (
	"fmt"

	"kchan"
)

func main() {
	jobs, err := kchan.New(4, 256, nil) // anonymous, buffered
	if err != nil {
		panic(err)
	}
	done, _ := kchan.New(0, 8, nil) // rendezvous
	go func() {
		for {
			job, err := jobs.Recv() // kchan.ErrClosed once closed and drained
			if err != nil {
				break
			}
			fmt.Println("got", string(job))
		}
		done.Send([]byte("ok"))
	}()
	for _, j := range []string{"build", "test"} {
		jobs.Send([]byte(j))
	}
	jobs.Close() // Go's close(jobs)
	r, _ := kchan.Select([]kchan.Case{{Chan: done}, {Chan: nil}})
	fmt.Println(r.Index, string(r.Msg), r.OK) // 0 ok true
	jobs.Release()
	done.Release()
}
