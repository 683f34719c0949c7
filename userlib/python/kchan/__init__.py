# SPDX-License-Identifier: GPL-2.0 OR MIT
"""Go channels as file descriptors, from Python.

kchan channels are made by the kchan kernel module; this module speaks its
ioctl interface (uapi/linux/kchan.h) with the standard library only: os,
fcntl, struct and ctypes. No compiler, no libkchan.

    import kchan

    ch = kchan.Chan(capacity=4, msg_max=256)   # anonymous, buffered
    ch.send(b"hello")
    ch.recv()                                  # b'hello'
    ch.close()                                 # Go's close(ch)
    list(ch)                                   # [] : iteration ends at close
    ch.release()                               # the descriptor itself

Timeouts: None waits forever, 0 never waits (WouldBlock), a number is
seconds. Underneath, a wait with a timeout is one KCHAN_CTL_SELECT with an
absolute CLOCK_MONOTONIC deadline, so a signal that interrupts it does not
stretch it.

close() is Go's close: messages already queued are still received, then
every recv() raises Closed and iteration stops; send() raises Closed. The
file descriptor stays open until release() (or the end of a with block,
or garbage collection): close() and release() are different things.

Errors are KchanError (an OSError) or one of its subclasses, chosen by
errno: Closed (EPIPE, or closed and drained), Timeout (ETIMEDOUT, also a
TimeoutError), WouldBlock (EAGAIN, also a BlockingIOError),
MessageTooLarge (EMSGSIZE), Exists (EEXIST), NotFound (ENOENT),
OverBudget (ENOBUFS: the user's kernel memory budget).
"""

import collections
import ctypes
import errno
import fcntl
import os
import struct
import threading
import time

__all__ = [
    "Chan", "select", "unlink", "version", "Selected", "Stat", "Version",
    "KchanError", "Closed", "Timeout", "WouldBlock", "MessageTooLarge",
    "Exists", "NotFound", "OverBudget",
]

CHANCTL = "/dev/chanctl"
CHAN_DIR = "/dev/chan"

KCHAN_VERSION = 2
KCHAN_NAME_MAX = 64
KCHAN_NAME_SIZE = 72

KCHAN_FEATURE_NAMED = 1 << 0
KCHAN_FEATURE_AUTOCLOSE = 1 << 1
KCHAN_FEATURE_NEXT_LEN = 1 << 2
KCHAN_FEATURE_SELECT = 1 << 3
KCHAN_FEATURE_BATCH = 1 << 4
KCHAN_FEATURE_BUDGET = 1 << 5
KCHAN_CREATE_AUTOCLOSE = 1 << 0
KCHAN_STAT_CLOSED = 1 << 0
KCHAN_STAT_AUTOCLOSE = 1 << 1
KCHAN_STAT_NAMED = 1 << 2
KCHAN_OP_SEND = 1
KCHAN_OP_RECV = 2
KCHAN_SELECT_NONBLOCK = 1 << 0
KCHAN_SELECT_PRIORITY = 1 << 1
KCHAN_SELECT_DEADLINE = 1 << 2
KCHAN_SELECT_CLOSED = 1 << 0

# The uapi structs, as struct formats (native byte order, no padding: the
# header's structs are naturally aligned with explicit reserved fields).
CREATE_FMT = "=6I%dsQQ" % KCHAN_NAME_SIZE   # struct kchan_create
NAME_FMT = "=%dsQ" % KCHAN_NAME_SIZE        # struct kchan_name
VERSION_FMT = "=IIQ4IQQ"                    # struct kchan_version
STAT_FMT = "=Q6IQQIIQQ"                     # struct kchan_stat
BATCH_FMT = "=QIIQQ"                        # struct kchan_batch
SELECT_FMT = "=QIIqiIQQQ"                   # struct kchan_select
SELECT_RESULT_FMT = "=iIq"                  # struct kchan_select_result


class _Case(ctypes.Structure):
    """struct kchan_case"""
    _fields_ = [("fd", ctypes.c_int32), ("op", ctypes.c_uint32),
                ("buf", ctypes.c_uint64), ("len", ctypes.c_uint64)]


# ioctl numbers, as <asm-generic/ioctl.h> builds them:
#   _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr
#   _IO: dir 0; _IOW: 1 (_IOC_WRITE); _IOR: 2 (_IOC_READ); _IOWR: 3,
# type KCHAN_IOC_MAGIC 0xB8, size the struct's (the *_FMT above). E.g.
#   KCHAN_CTL_SELECT = _IOWR(0xB8, 0x03, struct kchan_select /* 56 */)
#                    = 3 << 30 | 56 << 16 | 0xB8 << 8 | 0x03 = 0xC038B803
# tests/test_abi.py checks every number and size against the C header.
KCHAN_IOC_MAGIC = 0xB8
KCHAN_IOC_VERSION = 0x8030B800      # _IOR(.., 0x00, kchan_version: 48)
KCHAN_CTL_CREATE = 0x4070B801       # _IOW(.., 0x01, kchan_create: 112)
KCHAN_CTL_UNLINK = 0x4050B802       # _IOW(.., 0x02, kchan_name: 80)
KCHAN_CTL_SELECT = 0xC038B803       # _IOWR(.., 0x03, kchan_select: 56)
KCHAN_CTL_SELECT_FD = 0x0000B804    # _IO(.., 0x04)
KCHAN_IOC_CLOSE = 0x0000B810        # _IO(.., 0x10)
KCHAN_IOC_STAT = 0x8048B811         # _IOR(.., 0x11, kchan_stat: 72)
KCHAN_IOC_NEXT_LEN = 0x8004B812     # _IOR(.., 0x12, __u32: 4)
KCHAN_IOC_SEND_BATCH = 0x4020B813   # _IOW(.., 0x13, kchan_batch: 32)
KCHAN_IOC_RECV_BATCH = 0x4020B814   # _IOW(.., 0x14, kchan_batch: 32)
KCHAN_SEL_ARM = 0xC038B820          # _IOWR(.., 0x20, kchan_select: 56);
#                                     _IOW (0x4038B820) before version 2
KCHAN_SEL_CANCEL = 0x8010B821       # _IOR(.., 0x21, kchan_select_result: 16)


# Exceptions ---------------------------------------------------------------

class KchanError(OSError):
    """Any kchan failure; .errno says which. .index names the select case
    an error belongs to (None if none)."""
    index = None


class Closed(KchanError):
    """The channel is closed: a send (EPIPE), or a receive once drained."""


class Timeout(KchanError, TimeoutError):
    """The timeout passed before the operation could happen."""


class WouldBlock(KchanError, BlockingIOError):
    """timeout=0 and the operation would have had to wait."""


class MessageTooLarge(KchanError):
    """A message above the channel's msg_max (EMSGSIZE)."""


class Exists(KchanError, FileExistsError):
    """A named channel of that name exists already."""


class NotFound(KchanError, FileNotFoundError):
    """No named channel of that name."""


class OverBudget(KchanError):
    """The step would take the user over the max_bytes_per_user budget
    (ENOBUFS); nothing was sent or lost."""


_ERRORS = {
    errno.ENOBUFS: OverBudget,
    errno.EPIPE: Closed,
    errno.ETIMEDOUT: Timeout,
    errno.EAGAIN: WouldBlock,
    errno.EMSGSIZE: MessageTooLarge,
    errno.EEXIST: Exists,
    errno.ENOENT: NotFound,
}


def _error(err, what=None, index=None):
    exc = _ERRORS.get(err, KchanError)(err, os.strerror(err), what)
    if index is not None and index >= 0:
        exc.index = index
    return exc


def _closed(what=None):
    return Closed(errno.EPIPE, "channel closed", what)


# The control device -------------------------------------------------------

_ctl_lock = threading.Lock()
_ctl_fd = None
_ctl_pid = None


def _ctl():
    """The process's shared /dev/chanctl descriptor, opened on first use."""
    global _ctl_fd, _ctl_pid
    with _ctl_lock:
        if _ctl_fd is None or _ctl_pid != os.getpid():
            try:
                _ctl_fd = os.open(CHANCTL, os.O_RDWR | os.O_CLOEXEC)
            except OSError as e:
                raise _error(e.errno, CHANCTL) from None
            _ctl_pid = os.getpid()
        return _ctl_fd


def _ioctl(fd, request, arg, what=None):
    while True:
        try:
            return fcntl.ioctl(fd, request, arg)
        except InterruptedError:
            continue
        except OSError as e:
            raise _error(e.errno, what) from None


def _name_bytes(name):
    b = os.fsencode(name)
    if not 1 <= len(b) <= KCHAN_NAME_MAX or b"\0" in b or b"/" in b:
        raise ValueError("invalid channel name %r" % (name,))
    return b


def _deadline(timeout):
    """None -> -1 (forever), 0 -> 0 (never wait), else absolute ns."""
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError("timeout must be None or >= 0")
    if timeout == 0:
        return 0
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) + \
        max(1, int(timeout * 1e9))


def _select_raw(cases, ncases, deadline, priority=False):
    """One KCHAN_CTL_SELECT: returns (index, result_flags, len)."""
    flags = KCHAN_SELECT_PRIORITY if priority else 0
    dl = 0
    if deadline == 0:
        flags |= KCHAN_SELECT_NONBLOCK
    elif deadline > 0:
        flags |= KCHAN_SELECT_DEADLINE
        dl = deadline
    req = bytearray(struct.pack(SELECT_FMT, ctypes.addressof(cases), ncases,
                                flags, dl, -1, 0, 0, 0, 0))
    while True:
        try:
            fcntl.ioctl(_ctl(), KCHAN_CTL_SELECT, req)
            break
        except InterruptedError:
            # The deadline is absolute: the retry does not stretch it.
            continue
        except OSError as e:
            index = struct.unpack(SELECT_FMT, req)[4]
            raise _error(e.errno, None, index) from None
    _, _, _, _, index, rflags, length, _, _ = struct.unpack(SELECT_FMT, req)
    return index, rflags, length


def version():
    """The kernel's interface version, features and limits."""
    buf = bytearray(struct.calcsize(VERSION_FMT))
    _ioctl(_ctl(), KCHAN_IOC_VERSION, buf, CHANCTL)
    v = struct.unpack(VERSION_FMT, buf)
    return Version(v[0], v[2], v[3], v[4], v[5], v[6], v[1], v[7], v[8])


def unlink(name):
    """Remove a named channel's name, like unlink(2): open channels keep
    working, the channel goes with its last descriptor."""
    req = struct.pack(NAME_FMT, _name_bytes(name), 0)
    _ioctl(_ctl(), KCHAN_CTL_UNLINK, req, name)


Version = collections.namedtuple(
    "Version", "version features max_capacity max_msg_size "
    "max_channels_per_user max_select_cases max_names_per_user "
    "max_bytes_per_user user_bytes")
Version.__doc__ = """The interface version, KCHAN_FEATURE_* bits and limits;
the last three are 0 unless features has KCHAN_FEATURE_BUDGET."""

Stat = collections.namedtuple(
    "Stat", "id capacity msg_max closed autoclose named queued senders "
    "receivers sent received next_len")

Selected = collections.namedtuple("Selected", "index value ok")
Selected.__doc__ = """What select() returns: the index of the case that
completed; for a receive case its message (value) and ok True, or value
None and ok False if the channel is closed and drained (Go's v, ok :=
<-ch); for a send case value None and ok True."""


# Channels -----------------------------------------------------------------

class Chan:
    """A kchan channel descriptor.

    Chan(capacity=0, msg_max=4096) makes an anonymous channel: capacity 0
    is a rendezvous (a send returns once a receiver took the message).
    Chan.create(name, ...) makes /dev/chan/NAME and opens it;
    Chan.open(name, mode) opens an existing one; Chan.fromfd(fd) adopts a
    descriptor (a channel passed by a parent, over a socket...).
    """

    def __init__(self, capacity=0, msg_max=4096, *, autoclose=False,
                 cloexec=True, _fd=None):
        made = _fd is None
        if made:
            req = bytearray(struct.pack(
                CREATE_FMT, capacity, msg_max,
                KCHAN_CREATE_AUTOCLOSE if autoclose else 0, 0,
                os.O_CLOEXEC if cloexec else 0, 0, b"", 0, 0))
            _fd = _ioctl(_ctl(), KCHAN_CTL_CREATE, req)
        self._fd = _fd
        self.name = None
        try:
            st = self.stat()
        except BaseException:
            # A descriptor that is not a channel stays the caller's.
            self._fd = -1
            if made:
                os.close(_fd)
            raise
        self.capacity = st.capacity
        self.msg_max = st.msg_max

    @classmethod
    def create(cls, name, capacity=0, msg_max=4096, mode=0o600, *,
               autoclose=False, open_mode="rw"):
        """Make the named channel /dev/chan/NAME (mode less the umask, as
        open(2) with O_CREAT) and open it with open_mode."""
        req = struct.pack(CREATE_FMT, capacity, msg_max,
                          KCHAN_CREATE_AUTOCLOSE if autoclose else 0, mode,
                          0, 0, _name_bytes(name), 0, 0)
        _ioctl(_ctl(), KCHAN_CTL_CREATE, req, name)
        return cls.open(name, open_mode)

    @classmethod
    def open(cls, name, mode="rw"):
        """Open /dev/chan/NAME: mode "r" receives only, "w" sends only,
        "rw" both (Go's <-chan, chan<- and chan)."""
        flags = {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}
        if mode not in flags:
            raise ValueError("mode must be 'r', 'w' or 'rw'")
        path = os.path.join(CHAN_DIR, os.fsdecode(_name_bytes(name)))
        try:
            fd = os.open(path, flags[mode] | os.O_CLOEXEC)
        except OSError as e:
            raise _error(e.errno, path) from None
        ch = cls.fromfd(fd)
        ch.name = name
        return ch

    @classmethod
    def fromfd(cls, fd):
        """Adopt a channel descriptor: it is released with this object.
        A descriptor that is not a channel raises KchanError and stays
        open."""
        return cls(_fd=fd)

    def fileno(self):
        """The descriptor, for selectors, asyncio's loop.add_reader and
        poll: readable when a recv() would not wait, writable when a
        send() would not."""
        if self._fd < 0:
            raise ValueError("channel released")
        return self._fd

    def stat(self):
        """A snapshot of the channel's state and counters."""
        buf = bytearray(struct.calcsize(STAT_FMT))
        _ioctl(self.fileno(), KCHAN_IOC_STAT, buf)
        (cid, cap, mmax, flags, queued, senders, receivers, sent, received,
         next_len, _, _, _) = struct.unpack(STAT_FMT, buf)
        return Stat(cid, cap, mmax, bool(flags & KCHAN_STAT_CLOSED),
                    bool(flags & KCHAN_STAT_AUTOCLOSE),
                    bool(flags & KCHAN_STAT_NAMED), queued, senders,
                    receivers, sent, received, next_len)

    def send(self, data, timeout=None):
        """Send one message (bytes-like, 1..msg_max bytes)."""
        data = bytes(data)
        if not data:
            raise ValueError("a message is at least one byte")
        if len(data) > self.msg_max:
            raise MessageTooLarge(errno.EMSGSIZE, os.strerror(errno.EMSGSIZE))
        if timeout is None:
            try:
                os.write(self.fileno(), data)
            except OSError as e:
                raise _error(e.errno) from None
            return
        buf = ctypes.create_string_buffer(data, len(data))
        case = _Case(self.fileno(), KCHAN_OP_SEND, ctypes.addressof(buf),
                     len(data))
        _select_raw(case, 1, _deadline(timeout))

    def recv(self, timeout=None):
        """Receive one message as bytes. Raises Closed once the channel is
        closed and drained."""
        if timeout is None:
            try:
                data = os.read(self.fileno(), self.msg_max)
            except OSError as e:
                raise _error(e.errno) from None
            if not data:
                raise _closed()
            return data
        # A buffer per call: threads may share a Chan.
        buf = ctypes.create_string_buffer(self.msg_max)
        case = _Case(self.fileno(), KCHAN_OP_RECV, ctypes.addressof(buf),
                     self.msg_max)
        _, rflags, length = _select_raw(case, 1, _deadline(timeout))
        if rflags & KCHAN_SELECT_CLOSED:
            raise _closed()
        return buf.raw[:length]

    def close(self):
        """Go's close(): queued messages are still received, then every
        recv() raises Closed; every send() raises Closed. The descriptor
        stays open: release() it."""
        _ioctl(self.fileno(), KCHAN_IOC_CLOSE, 0)

    def release(self):
        """Close the file descriptor (not the channel). Idempotent."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    @property
    def released(self):
        return self._fd < 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        if getattr(self, "_fd", -1) >= 0:
            try:
                self.release()
            except OSError:
                pass

    def __iter__(self):
        """Receive until the channel is closed and drained."""
        while True:
            try:
                yield self.recv()
            except Closed:
                return

    def __repr__(self):
        what = "released" if self._fd < 0 else "fd=%d" % self._fd
        name = " %r" % self.name if self.name else ""
        return "<kchan.Chan%s %s capacity=%d msg_max=%d>" % (
            name, what, self.capacity, self.msg_max)


def select(cases, timeout=None, *, priority=False):
    """Go's select: exactly one case completes, or none.

    Each case is a Chan (receive from it), a (Chan, data) pair (send data
    on it) or None (never ready, Go's nil channel). Among ready cases one
    is chosen at random, or the first in order with priority=True.
    Returns Selected(index, value, ok). timeout=0 is Go's default: raises
    WouldBlock if nothing is ready. A send case on a closed channel raises
    Closed with .index set to that case.
    """
    n = len(cases)
    arr = (_Case * max(n, 1))()
    bufs = [None] * n
    for i, c in enumerate(cases):
        if c is None:
            # Never ready, so its buffer is never written; one byte
            # keeps it a well-formed case.
            bufs[i] = ctypes.create_string_buffer(1)
            arr[i] = _Case(-1, KCHAN_OP_RECV, ctypes.addressof(bufs[i]), 1)
        elif isinstance(c, Chan):
            bufs[i] = ctypes.create_string_buffer(c.msg_max)
            arr[i] = _Case(c.fileno(), KCHAN_OP_RECV,
                           ctypes.addressof(bufs[i]), c.msg_max)
        else:
            ch, data = c
            data = bytes(data)
            buf = ctypes.create_string_buffer(data, len(data))
            bufs[i] = buf
            arr[i] = _Case(ch.fileno(), KCHAN_OP_SEND,
                           ctypes.addressof(buf), len(data))
    index, rflags, length = _select_raw(arr, n, _deadline(timeout), priority)
    if arr[index].op == KCHAN_OP_SEND:
        return Selected(index, None, True)
    if rflags & KCHAN_SELECT_CLOSED:
        return Selected(index, None, False)
    return Selected(index, bufs[index].raw[:length], True)
