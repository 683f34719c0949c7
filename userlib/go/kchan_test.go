// SPDX-License-Identifier: GPL-2.0

package kchan

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// needDevice skips a test where kchan.ko is not loaded (on the host);
// make check runs them in the VM, where it is.
func needDevice(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(CtlPath); err != nil {
		t.Skip(CtlPath + " is missing: kchan.ko is not loaded")
	}
}

// bound is how long a test waits for something that should happen at
// once, generous for a slow emulated VM.
const bound = 60 * time.Second

func mustNew(t *testing.T, capacity, msgMax int) *Chan {
	t.Helper()
	c, err := New(capacity, msgMax, nil)
	if err != nil {
		t.Fatalf("New(%d, %d): %v", capacity, msgMax, err)
	}
	t.Cleanup(func() { c.Release() })
	return c
}

// TestABI: every ioctl number and struct size here is the C header's.
func TestABI(t *testing.T) {
	out, err := exec.Command(findFile(t, "build/python/kchan_abi")).Output()
	if err != nil {
		t.Fatalf("kchan_abi: %v", err)
	}
	c := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			t.Fatalf("kchan_abi: bad line %q", sc.Text())
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			t.Fatalf("kchan_abi: bad line %q", sc.Text())
		}
		c[f[0]] = v
	}
	want := map[string]uint64{
		"KCHAN_VERSION":              kchanVersion,
		"KCHAN_IOC_VERSION":          iocVersion,
		"KCHAN_CTL_CREATE":           ctlCreate,
		"KCHAN_CTL_UNLINK":           ctlUnlink,
		"KCHAN_CTL_SELECT":           ctlSelect,
		"KCHAN_CTL_SELECT_FD":        ctlSelectFd,
		"KCHAN_IOC_CLOSE":            iocClose,
		"KCHAN_IOC_STAT":             iocStat,
		"KCHAN_SEL_ARM":              selArm,
		"KCHAN_SEL_CANCEL":           selCancel,
		"KCHAN_NAME_MAX":             nameMax,
		"KCHAN_NAME_SIZE":            nameSize,
		"KCHAN_CREATE_AUTOCLOSE":     createAutoclose,
		"KCHAN_STAT_CLOSED":          statClosed,
		"KCHAN_OP_SEND":              opSend,
		"KCHAN_OP_RECV":              opRecv,
		"KCHAN_SELECT_NONBLOCK":      selectNonblock,
		"KCHAN_SELECT_PRIORITY":      selectPriority,
		"KCHAN_SELECT_DEADLINE":      selectDeadline,
		"KCHAN_SELECT_CLOSED":        selectClosed,
		"sizeof_kchan_create":        uint64(unsafe.Sizeof(kCreate{})),
		"sizeof_kchan_name":          uint64(unsafe.Sizeof(kName{})),
		"sizeof_kchan_version":       uint64(unsafe.Sizeof(kVersion{})),
		"sizeof_kchan_stat":          uint64(unsafe.Sizeof(kStat{})),
		"sizeof_kchan_case":          uint64(unsafe.Sizeof(kCase{})),
		"sizeof_kchan_select":        uint64(unsafe.Sizeof(kSelect{})),
		"sizeof_kchan_select_result": uint64(unsafe.Sizeof(kSelResult{})),
	}
	for k, v := range want {
		got, ok := c[k]
		if !ok {
			t.Errorf("%s: not printed by kchan_abi", k)
		} else if got != v {
			t.Errorf("%s: Go has %#x, the C header %#x", k, v, got)
		}
	}
}

func TestBufferedInOrder(t *testing.T) {
	needDevice(t)
	c := mustNew(t, 4, 64)
	const n = 200
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := c.Send([]byte(fmt.Sprint(i))); err != nil {
				done <- err
				return
			}
		}
		done <- c.Close()
	}()
	for i := 0; ; i++ {
		m, err := c.Recv()
		if errors.Is(err, ErrClosed) {
			if i != n {
				t.Fatalf("closed after %d messages, want %d", i, n)
			}
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if string(m) != fmt.Sprint(i) {
			t.Fatalf("message %d is %q", i, m)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("sender: %v", err)
	}
}

func TestRendezvous(t *testing.T) {
	needDevice(t)
	c := mustNew(t, 0, 16)
	const n = 50
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := c.Send([]byte{byte(i)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < n; i++ {
		m, err := c.Recv()
		if err != nil || len(m) != 1 || m[0] != byte(i) {
			t.Fatalf("Recv %d: %q, %v", i, m, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Send: %v", err)
	}
	if st, err := c.Stat(); err != nil || st.Sent != n || st.Received != n {
		t.Fatalf("Stat: %+v, %v: want %d sent and received", st, err, n)
	}
}

// Close is Go's close: what is queued is received, then ErrClosed, and
// a Send fails; a Recv parked before the close wakes.
func TestClose(t *testing.T) {
	needDevice(t)
	for _, capacity := range []int{0, 2} {
		c := mustNew(t, capacity, 8)
		woke := make(chan error, 1)
		go func() {
			_, err := c.Recv()
			woke <- err
		}()
		waitFor(t, func() bool { st, _ := c.Stat(); return st.Receivers > 0 || capacity > 0 })
		if err := c.Close(); err != nil {
			t.Fatalf("cap %d: Close: %v", capacity, err)
		}
		select {
		case err := <-woke:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("cap %d: parked Recv returned %v, want ErrClosed", capacity, err)
			}
		case <-time.After(bound):
			t.Fatalf("cap %d: parked Recv did not wake at Close", capacity)
		}
		if err := c.Send([]byte("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("cap %d: Send after Close: %v", capacity, err)
		}
		if err := c.Close(); !errors.Is(err, ErrClosed) {
			t.Fatalf("cap %d: second Close: %v", capacity, err)
		}
	}
	c := mustNew(t, 3, 8)
	for _, m := range []string{"a", "b"} {
		if err := c.Send([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	for _, want := range []string{"a", "b"} {
		if m, err := c.Recv(); err != nil || string(m) != want {
			t.Fatalf("drain: %q, %v; want %q", m, err, want)
		}
	}
	if _, err := c.Recv(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after drain: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Threads:") {
			n, _ := strconv.Atoi(strings.TrimSpace(l[8:]))
			return n
		}
	}
	t.Fatal("no Threads line")
	return 0
}

// Goroutines waiting on channels are parked on the runtime poller: 300
// of them (Recv and Send, buffered and rendezvous) do not take a thread
// each. The runtime may still start some threads while they make their
// first, non-blocking attempts: sysmon hands a P stuck in a system call
// to a new thread, and on an emulated CPU a short call can look stuck.
// Those are bounded by how many attempts overlap, not by the waiters, so
// the check allows a sixth of the waiters; a thread per waiter is 300.
func TestWaitersDoNotPinThreads(t *testing.T) {
	needDevice(t)
	const n = 100
	before := threads(t)
	buf := mustNew(t, 1, 8)
	rv := mustNew(t, 0, 8)
	full := mustNew(t, 1, 8)
	if err := full.Send([]byte("f")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := 0; i < n; i++ {
		wg.Add(3)
		go func() {
			defer wg.Done()
			if _, err := buf.Recv(); !errors.Is(err, ErrClosed) {
				errs <- fmt.Errorf("buffered Recv: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := rv.Recv(); !errors.Is(err, ErrClosed) {
				errs <- fmt.Errorf("rendezvous Recv: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := full.Send([]byte("s")); !errors.Is(err, ErrClosed) {
				errs <- fmt.Errorf("Send: %v", err)
			}
		}()
	}
	waitFor(t, func() bool { st, _ := rv.Stat(); return st.Receivers == n })
	time.Sleep(100 * time.Millisecond) // the others have had their chance
	if got := threads(t); got > before+n/2 {
		t.Errorf("%d goroutines waiting took %d threads (%d before)", 3*n, got, before)
	}
	buf.Close()
	rv.Close()
	full.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSelect(t *testing.T) {
	needDevice(t)
	a := mustNew(t, 1, 16)
	b := mustNew(t, 0, 16)
	out := mustNew(t, 1, 16)

	// Nothing ready: TrySelect is a select with default.
	if r, err := TrySelect([]Case{{Chan: a}, {Chan: b}, {Chan: nil}}); err != nil || r.Index != -1 {
		t.Fatalf("TrySelect on empty channels: %+v, %v", r, err)
	}
	// A send case is ready where there is room.
	r, err := Select([]Case{{Chan: b}, {Chan: out, Dir: SendDir, Msg: []byte("hi")}})
	if err != nil || r.Index != 1 {
		t.Fatalf("Select send: %+v, %v", r, err)
	}
	if m, err := out.Recv(); err != nil || string(m) != "hi" {
		t.Fatalf("Recv after select send: %q, %v", m, err)
	}
	// A receive parked in Select completes when a message arrives on
	// the rendezvous channel, and only that case completes.
	got := make(chan Selected, 1)
	go func() {
		r, err := Select([]Case{{Chan: a}, {Chan: b}})
		if err != nil {
			t.Errorf("Select: %v", err)
		}
		got <- r
	}()
	if err := b.Send([]byte("to b")); err != nil {
		t.Fatalf("Send to b: %v", err)
	}
	select {
	case r := <-got:
		if r.Index != 1 || string(r.Msg) != "to b" || !r.OK {
			t.Fatalf("Select got %+v", r)
		}
	case <-time.After(bound):
		t.Fatal("Select did not complete")
	}
	if st, _ := a.Stat(); st.Queued != 0 || st.Received != 0 {
		t.Fatalf("the other case moved something: %+v", st)
	}
	// A closed channel's receive case completes with OK false; a send
	// case on it is ErrClosed.
	a.Close()
	if r, err := Select([]Case{{Chan: a}}); err != nil || r.Index != 0 || r.OK {
		t.Fatalf("Select on closed: %+v, %v", r, err)
	}
	if _, err := Select([]Case{{Chan: a, Dir: SendDir, Msg: []byte("x")}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Select send on closed: %v", err)
	}
}

// A Select given up on through its context completes nothing, and its
// channel's next message goes to the next receiver.
func TestSelectContext(t *testing.T) {
	needDevice(t)
	for _, capacity := range []int{0, 1} {
		c := mustNew(t, capacity, 8)
		// Before the context's clock starts: its timer may fire the
		// moment 50 ms have passed since WithTimeout read the time.
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := c.RecvContext(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cap %d: RecvContext: %v", capacity, err)
		}
		if time.Since(start) < 50*time.Millisecond {
			t.Fatalf("cap %d: gave up early", capacity)
		}
		go c.Send([]byte("next"))
		if m, err := c.Recv(); err != nil || string(m) != "next" {
			t.Fatalf("cap %d: Recv after the timeout: %q, %v", capacity, m, err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
		if capacity > 0 {
			c.Send([]byte("fill"))
		}
		err = c.SendContext(ctx, []byte("late"))
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cap %d: SendContext: %v", capacity, err)
		}
		if capacity > 0 {
			c.Recv()
		}
		if r, err := TrySelect([]Case{{Chan: c}}); err != nil || r.Index != -1 {
			t.Fatalf("cap %d: the timed-out send was delivered: %+v, %v", capacity, r, err)
		}
	}
}

func TestNamed(t *testing.T) {
	needDevice(t)
	name := fmt.Sprintf("go-test-%d", os.Getpid())
	c, err := Create(name, 2, 32, &Options{Mode: 0600})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer c.Release()
	if _, err := Create(name, 2, 32, nil); err == nil {
		t.Fatal("Create of a taken name succeeded")
	}
	if fi, err := os.Stat(filepath.Join(ChanDir, name)); err != nil || fi.Mode().Perm()&0077 != 0 {
		t.Fatalf("node: %v, %v", fi, err)
	}
	r, err := Open(name, os.O_RDONLY)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Release()
	if err := c.Send([]byte("named")); err != nil {
		t.Fatal(err)
	}
	if m, err := r.Recv(); err != nil || string(m) != "named" || r.MsgMax() != 32 || r.Cap() != 2 {
		t.Fatalf("Recv: %q, %v", m, err)
	}
	if err := r.Send([]byte("x")); err == nil {
		t.Fatal("Send on a receive-only descriptor succeeded")
	}
	if err := Unlink(name); err != nil {
		t.Fatalf("Unlink: %v", err)
	}
	if _, err := Open(name, os.O_RDWR); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open after Unlink: %v", err)
	}
}

// Many goroutines on both ends: every message arrives exactly once.
func TestManyGoroutinesExactlyOnce(t *testing.T) {
	needDevice(t)
	for _, capacity := range []int{0, 8} {
		c := mustNew(t, capacity, 16)
		const senders, per = 8, 100
		var sw sync.WaitGroup
		for s := 0; s < senders; s++ {
			sw.Add(1)
			go func(s int) {
				defer sw.Done()
				for i := 0; i < per; i++ {
					if err := c.Send([]byte(fmt.Sprintf("%d/%d", s, i))); err != nil {
						t.Errorf("Send: %v", err)
						return
					}
				}
			}(s)
		}
		go func() { sw.Wait(); c.Close() }()
		seen := make(map[string]bool)
		var mu sync.Mutex
		var rw sync.WaitGroup
		for r := 0; r < 4; r++ {
			rw.Add(1)
			go func() {
				defer rw.Done()
				for {
					m, err := c.Recv()
					if err != nil {
						if !errors.Is(err, ErrClosed) {
							t.Errorf("Recv: %v", err)
						}
						return
					}
					mu.Lock()
					if seen[string(m)] {
						t.Errorf("%q received twice", m)
					}
					seen[string(m)] = true
					mu.Unlock()
				}
			}()
		}
		rw.Wait()
		if len(seen) != senders*per {
			t.Fatalf("cap %d: %d distinct messages, want %d", capacity, len(seen), senders*per)
		}
	}
	runtime.GC()
}

// findFile finds a file of the tree from the top (the VM) or from here
// (go test).
func findFile(t *testing.T, rel string) string {
	t.Helper()
	for _, p := range []string{rel, filepath.Join("..", "..", rel)} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s is missing: run make tests", rel)
	return ""
}

// The README's snippet is examples/readme/main.go, and it prints what
// its comments say.
func TestReadmeSnippet(t *testing.T) {
	readme, err := os.ReadFile(findFile(t, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(findFile(t, "userlib/go/examples/readme/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	code := string(src[bytes.Index(src, []byte("package main")):])
	if !bytes.Contains(readme, []byte("```go\n"+code+"```\n")) {
		t.Fatal("README.md's From Go snippet is not userlib/go/examples/readme/main.go")
	}
	needDevice(t)
	out, err := exec.Command(findFile(t, "build/go/kchan-readme")).CombinedOutput()
	if err != nil {
		t.Fatalf("the snippet: %v\n%s", err, out)
	}
	if want := "got build\ngot test\n0 ok true\n"; string(out) != want {
		t.Fatalf("the snippet printed %q, want %q", out, want)
	}
}
