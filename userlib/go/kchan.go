// SPDX-License-Identifier: GPL-2.0

// Package kchan opens kchan channels (Go channels as a Linux kernel
// module, /dev/chanctl and /dev/chan/NAME) from Go, with the standard
// library only and without cgo.
//
// A goroutine that waits on a channel is parked on the Go runtime's
// network poller, as one waiting on a socket is: it does not pin an OS
// thread, so thousands of goroutines may wait on kchan channels at once.
// Every descriptor is non-blocking and wrapped in an *os.File (which the
// runtime registers with its epoll instance); an operation is a
// non-blocking system call made through syscall.RawConn, and on EAGAIN
// the goroutine waits for the descriptor to become ready:
//
//   - Send and Recv on a buffered channel write or read the channel's
//     descriptor, waiting for EPOLLOUT or EPOLLIN.
//   - On a rendezvous channel two non-blocking ends would never meet, so
//     there, as for Select and for the Context variants, the operation is
//     armed on a select descriptor (KCHAN_CTL_SELECT_FD, KCHAN_SEL_ARM):
//     the armed case waits in the kernel as a partner for the other end,
//     and the goroutine waits for the select descriptor to poll readable,
//     then read()s the result. Select descriptors are kept in a pool and
//     reused.
//
// Messages are whole: a send moves 1..MsgMax bytes as one message, a
// receive returns one message. Close is Go's close(): what is queued is
// still received, then Recv returns ErrClosed; Send on a closed channel
// returns ErrClosed.
package kchan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// CtlPath is the control device; named channels live in ChanDir.
const (
	CtlPath = "/dev/chanctl"
	ChanDir = "/dev/chan"
)

// ErrClosed is returned by Recv once a closed channel is drained, and by
// Send on a closed channel (EPIPE underneath).
var ErrClosed = errors.New("kchan: channel closed")

// Chan is one descriptor of a kchan channel. Its methods may be called
// from any number of goroutines at once.
type Chan struct {
	f        *os.File
	rc       syscall.RawConn
	fd       int
	name     string
	capacity int
	msgMax   int
}

// Options of New and Create.
type Options struct {
	// Autoclose closes the channel when its last writer is released.
	Autoclose bool
	// Mode is a named channel's permission bits (less the umask);
	// 0 means 0600.
	Mode os.FileMode
}

var ctl struct {
	once sync.Once
	fd   int
	err  error
}

// ctlFd returns the process's descriptor of /dev/chanctl.
func ctlFd() (int, error) {
	ctl.once.Do(func() {
		ctl.fd, ctl.err = syscall.Open(CtlPath, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if ctl.err != nil {
			ctl.err = &os.PathError{Op: "open", Path: CtlPath, Err: ctl.err}
		}
	})
	return ctl.fd, ctl.err
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) (int, error) {
	for {
		// The conversion in the call keeps arg alive for the call.
		r, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

// ioctlVal passes its argument by value.
func ioctlVal(fd int, req uintptr, arg uintptr) (int, error) {
	for {
		r, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, arg)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

func nameBytes(name string) ([nameSize]byte, error) {
	var b [nameSize]byte
	if len(name) == 0 || len(name) > nameMax {
		return b, fmt.Errorf("kchan: bad channel name %q", name)
	}
	copy(b[:], name)
	return b, nil
}

// New makes an anonymous channel: capacity 0 is a rendezvous channel,
// else buffered; msgMax is the largest message in bytes.
func New(capacity, msgMax int, opt *Options) (*Chan, error) {
	fd, err := ctlFd()
	if err != nil {
		return nil, err
	}
	req := &kCreate{capacity: uint32(capacity), msgMax: uint32(msgMax),
		fdFlags: syscall.O_CLOEXEC | syscall.O_NONBLOCK}
	if opt != nil && opt.Autoclose {
		req.flags = createAutoclose
	}
	cfd, err := ioctl(fd, ctlCreate, unsafe.Pointer(req))
	if err != nil {
		return nil, fmt.Errorf("kchan: create: %w", err)
	}
	return newChan(cfd, "")
}

// Create makes the named channel /dev/chan/NAME and opens it for both
// directions.
func Create(name string, capacity, msgMax int, opt *Options) (*Chan, error) {
	fd, err := ctlFd()
	if err != nil {
		return nil, err
	}
	req := &kCreate{capacity: uint32(capacity), msgMax: uint32(msgMax)}
	if req.name, err = nameBytes(name); err != nil {
		return nil, err
	}
	if opt != nil {
		if opt.Autoclose {
			req.flags = createAutoclose
		}
		req.mode = uint32(opt.Mode.Perm())
	}
	if _, err := ioctl(fd, ctlCreate, unsafe.Pointer(req)); err != nil {
		return nil, fmt.Errorf("kchan: create %s: %w", name, err)
	}
	return Open(name, os.O_RDWR)
}

// Open opens the named channel /dev/chan/NAME: flag is os.O_RDONLY
// (receive only), os.O_WRONLY (send only) or os.O_RDWR.
func Open(name string, flag int) (*Chan, error) {
	if _, err := nameBytes(name); err != nil {
		return nil, err
	}
	path := filepath.Join(ChanDir, name)
	flag &= syscall.O_ACCMODE
	fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return newChan(fd, name)
}

// Unlink removes a channel's name; open descriptors keep working.
func Unlink(name string) error {
	fd, err := ctlFd()
	if err != nil {
		return err
	}
	req := &kName{}
	if req.name, err = nameBytes(name); err != nil {
		return err
	}
	if _, err := ioctl(fd, ctlUnlink, unsafe.Pointer(req)); err != nil {
		return fmt.Errorf("kchan: unlink %s: %w", name, err)
	}
	return nil
}

// newChan adopts fd, which must be a non-blocking channel descriptor.
func newChan(fd int, name string) (*Chan, error) {
	st := &kStat{}
	if _, err := ioctl(fd, iocStat, unsafe.Pointer(st)); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("kchan: stat: %w", err)
	}
	path := "kchan:anonymous"
	if name != "" {
		path = filepath.Join(ChanDir, name)
	}
	// Non-blocking: os.NewFile registers it with the runtime poller.
	f := os.NewFile(uintptr(fd), path)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Chan{f: f, rc: rc, fd: fd, name: name,
		capacity: int(st.capacity), msgMax: int(st.msgMax)}, nil
}

// Name is the channel's name, "" for an anonymous one.
func (c *Chan) Name() string { return c.name }

// Cap is the channel's capacity, 0 for a rendezvous channel.
func (c *Chan) Cap() int { return c.capacity }

// MsgMax is the largest message the channel takes.
func (c *Chan) MsgMax() int { return c.msgMax }

// Stat describes a channel at one moment.
type Stat struct {
	Capacity, MsgMax           int
	Closed                     bool
	Queued, Senders, Receivers int
	Sent, Received             uint64
}

// Stat returns the channel's state and counters (KCHAN_IOC_STAT).
func (c *Chan) Stat() (Stat, error) {
	st := &kStat{}
	var err error
	if cerr := c.rc.Control(func(fd uintptr) {
		_, err = ioctl(int(fd), iocStat, unsafe.Pointer(st))
	}); cerr != nil {
		return Stat{}, cerr
	}
	if err != nil {
		return Stat{}, fmt.Errorf("kchan: stat: %w", err)
	}
	return Stat{Capacity: int(st.capacity), MsgMax: int(st.msgMax),
		Closed: st.flags&statClosed != 0, Queued: int(st.queued),
		Senders: int(st.senders), Receivers: int(st.receivers),
		Sent: st.sent, Received: st.received}, nil
}

func chanErr(op string, err error) error {
	switch err {
	case nil:
		return nil
	case syscall.EPIPE:
		return ErrClosed
	}
	return fmt.Errorf("kchan: %s: %w", op, err)
}

// Send sends msg as one message, waiting while the channel is full (or,
// on a rendezvous channel, until a receiver takes it). It returns
// ErrClosed if the channel is closed.
func (c *Chan) Send(msg []byte) error {
	if c.capacity == 0 {
		return c.SendContext(context.Background(), msg)
	}
	var err error
	rerr := c.rc.Write(func(fd uintptr) bool {
		_, err = writeFd(int(fd), msg)
		return err != syscall.EAGAIN
	})
	if rerr != nil {
		return rerr
	}
	return chanErr("send", err)
}

// Recv receives one message, waiting until there is one. Once the
// channel is closed and drained it returns ErrClosed.
func (c *Chan) Recv() ([]byte, error) {
	if c.capacity == 0 {
		return c.RecvContext(context.Background())
	}
	buf := make([]byte, c.msgMax)
	var n int
	var err error
	rerr := c.rc.Read(func(fd uintptr) bool {
		n, err = readFd(int(fd), buf)
		return err != syscall.EAGAIN
	})
	if rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, chanErr("recv", err)
	}
	if n == 0 {
		return nil, ErrClosed
	}
	return buf[:n], nil
}

// SendContext is Send that gives up when ctx is done, returning
// ctx.Err(); the message is then not sent.
func (c *Chan) SendContext(ctx context.Context, msg []byte) error {
	_, err := SelectContext(ctx, []Case{{Chan: c, Dir: SendDir, Msg: msg}})
	return err
}

// RecvContext is Recv that gives up when ctx is done, returning
// ctx.Err(); no message is then taken.
func (c *Chan) RecvContext(ctx context.Context) ([]byte, error) {
	r, err := SelectContext(ctx, []Case{{Chan: c, Dir: RecvDir}})
	if err != nil {
		return nil, err
	}
	if !r.OK {
		return nil, ErrClosed
	}
	return r.Msg, nil
}

// Close is Go's close(ch): queued messages are still received, then
// receives return ErrClosed; senders fail with ErrClosed. It needs a
// descriptor open for writing. Closing a closed channel returns
// ErrClosed. Release closes the descriptor instead.
func (c *Chan) Close() error {
	var err error
	if cerr := c.rc.Control(func(fd uintptr) {
		_, err = ioctl(int(fd), iocClose, nil)
	}); cerr != nil {
		return cerr
	}
	return chanErr("close", err)
}

// Release closes this descriptor of the channel (not the channel: see
// Close). Goroutines waiting on it in Send or Recv return an error.
func (c *Chan) Release() error {
	return c.f.Close()
}

func readFd(fd int, b []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, b)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

func writeFd(fd int, b []byte) (int, error) {
	for {
		n, err := syscall.Write(fd, b)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// Dir is a select case's direction.
type Dir int

const (
	// RecvDir receives from the case's channel.
	RecvDir Dir = iota
	// SendDir sends the case's Msg.
	SendDir
)

// Case is one case of Select: a receive from Chan, or a send of Msg on
// it. A case whose Chan is nil is never ready, as a nil Go channel.
type Case struct {
	Chan *Chan
	Dir  Dir
	Msg  []byte
}

// Selected is what Select returns: the index of the case that completed
// and, for a receive, the message; OK is false when that receive found
// its channel closed and drained.
type Selected struct {
	Index int
	Msg   []byte
	OK    bool
}

// selFile is a select descriptor registered with the runtime poller,
// with the kernel-visible structures of one select (kept in the heap,
// where the kernel's pointers into them stay valid).
type selFile struct {
	f   *os.File
	rc  syscall.RawConn
	fd  int
	sel kSelect
	res kSelResult
}

var selPool struct {
	sync.Mutex
	free []*selFile
}

func getSelFile() (*selFile, error) {
	selPool.Lock()
	if n := len(selPool.free); n > 0 {
		s := selPool.free[n-1]
		selPool.free = selPool.free[:n-1]
		selPool.Unlock()
		return s, nil
	}
	selPool.Unlock()
	cfd, err := ctlFd()
	if err != nil {
		return nil, err
	}
	fd, err := ioctlVal(cfd, ctlSelectFd, syscall.O_CLOEXEC|syscall.O_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("kchan: select descriptor: %w", err)
	}
	f := os.NewFile(uintptr(fd), "kchan:select")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &selFile{f: f, rc: rc, fd: fd}, nil
}

// putSelFile keeps a disarmed select descriptor for reuse.
func putSelFile(s *selFile) {
	selPool.Lock()
	if len(selPool.free) < 64 {
		selPool.free = append(selPool.free, s)
		s = nil
	}
	selPool.Unlock()
	if s != nil {
		s.f.Close()
	}
}

// buildCases lays the cases out for the kernel; the receive buffers are
// returned so that they stay alive while the kernel may write them.
func buildCases(cases []Case) ([]kCase, [][]byte, error) {
	kc := make([]kCase, len(cases))
	bufs := make([][]byte, len(cases))
	for i, cs := range cases {
		if cs.Chan == nil {
			kc[i] = kCase{fd: -1, op: opRecv}
			continue
		}
		kc[i].fd = int32(cs.Chan.fd)
		switch cs.Dir {
		case SendDir:
			kc[i].op = opSend
			if len(cs.Msg) > 0 {
				kc[i].buf = uint64(uintptr(unsafe.Pointer(&cs.Msg[0])))
			}
			kc[i].len = uint64(len(cs.Msg))
		case RecvDir:
			kc[i].op = opRecv
			bufs[i] = make([]byte, cs.Chan.msgMax)
			kc[i].buf = uint64(uintptr(unsafe.Pointer(&bufs[i][0])))
			kc[i].len = uint64(cs.Chan.msgMax)
		default:
			return nil, nil, fmt.Errorf("kchan: select case %d: bad direction %d", i, cs.Dir)
		}
	}
	return kc, bufs, nil
}

func selected(cases []Case, bufs [][]byte, index int, rflags uint32, n int64) Selected {
	r := Selected{Index: index, OK: true}
	if index >= 0 && cases[index].Dir == RecvDir {
		if rflags&selectClosed != 0 {
			r.OK = false
		} else {
			r.Msg = bufs[index][:n]
		}
	}
	return r
}

func selectErr(cases []Case, index int, err error) error {
	if err == syscall.EPIPE {
		return ErrClosed
	}
	if index >= 0 && index < len(cases) {
		return fmt.Errorf("kchan: select case %d: %w", index, err)
	}
	return fmt.Errorf("kchan: select: %w", err)
}

// TrySelect is Go's select with a default case: it completes one ready
// case, chosen uniformly at random among those ready, or returns Index
// -1 at once if none is.
func TrySelect(cases []Case) (Selected, error) {
	kc, bufs, err := buildCases(cases)
	if err != nil {
		return Selected{Index: -1}, err
	}
	cfd, err := ctlFd()
	if err != nil {
		return Selected{Index: -1}, err
	}
	sel := &kSelect{ncases: uint32(len(kc)), flags: selectNonblock}
	if len(kc) > 0 {
		sel.cases = uint64(uintptr(unsafe.Pointer(&kc[0])))
	}
	_, err = ioctl(cfd, ctlSelect, unsafe.Pointer(sel))
	runtime.KeepAlive(kc)
	runtime.KeepAlive(cases)
	runtime.KeepAlive(bufs)
	if err == syscall.EAGAIN {
		return Selected{Index: -1}, nil
	}
	if err != nil {
		return Selected{Index: -1}, selectErr(cases, int(sel.index), err)
	}
	return selected(cases, bufs, int(sel.index), sel.rflags, int64(sel.len)), nil
}

// Select is Go's select without a default: it waits until one case can
// complete, completes exactly that one, and returns which (uniformly at
// random among cases ready together). A send case on a closed channel
// returns ErrClosed.
func Select(cases []Case) (Selected, error) {
	return SelectContext(context.Background(), cases)
}

// SelectContext is Select that gives up when ctx is done, returning
// ctx.Err() with Index -1; no case has then completed.
func SelectContext(ctx context.Context, cases []Case) (Selected, error) {
	// Fast path: a case is ready now.
	r, err := TrySelect(cases)
	if err != nil || r.Index >= 0 {
		return r, err
	}
	if err := ctx.Err(); err != nil {
		return Selected{Index: -1}, err
	}
	kc, bufs, err := buildCases(cases)
	if err != nil {
		return Selected{Index: -1}, err
	}
	s, err := getSelFile()
	if err != nil {
		return Selected{Index: -1}, err
	}
	defer runtime.KeepAlive(cases)
	defer runtime.KeepAlive(bufs)
	defer runtime.KeepAlive(kc)

	s.sel = kSelect{ncases: uint32(len(kc))}
	if len(kc) > 0 {
		s.sel.cases = uint64(uintptr(unsafe.Pointer(&kc[0])))
	}
	if _, err := ioctl(s.fd, selArm, unsafe.Pointer(&s.sel)); err != nil {
		putSelFile(s)
		return Selected{Index: -1}, selectErr(cases, int(s.sel.index), err)
	}

	stop := make(chan struct{})
	watched := make(chan struct{})
	if ctx.Done() == nil {
		close(watched)
	} else {
		go func() {
			defer close(watched)
			select {
			case <-ctx.Done():
				// Wakes the goroutine parked below.
				s.f.SetReadDeadline(time.Unix(1, 0))
			case <-stop:
			}
		}()
	}
	var rerr error
	perr := s.rc.Read(func(fd uintptr) bool {
		_, rerr = readFd(int(fd), (*[unsafe.Sizeof(kSelResult{})]byte)(unsafe.Pointer(&s.res))[:])
		return rerr != syscall.EAGAIN
	})
	close(stop)
	<-watched
	if perr != nil {
		// Woken by ctx: disarm; a case that completed meanwhile is
		// returned rather than lost.
		n, err := ioctl(s.fd, selCancel, unsafe.Pointer(&s.res))
		if err != nil {
			s.f.Close()
			return Selected{Index: -1}, fmt.Errorf("kchan: select cancel: %w", err)
		}
		if n == 0 {
			s.f.SetReadDeadline(time.Time{})
			putSelFile(s)
			if cerr := ctx.Err(); cerr != nil {
				return Selected{Index: -1}, cerr
			}
			return Selected{Index: -1}, perr
		}
		rerr = nil
	}
	s.f.SetReadDeadline(time.Time{})
	res := s.res
	putSelFile(s)
	if rerr != nil {
		return Selected{Index: -1}, fmt.Errorf("kchan: select read: %w", rerr)
	}
	if res.result < 0 {
		return Selected{Index: -1}, selectErr(cases, int(res.index), syscall.Errno(-res.result))
	}
	return selected(cases, bufs, int(res.index), res.flags, res.result), nil
}
