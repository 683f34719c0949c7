# SPDX-License-Identifier: GPL-2.0
"""kchan.Chan and kchan.select against the kernel module (in the test VM)."""

import asyncio
import errno
import os
import selectors
import signal
import threading
import time
import unittest

import kchan

# Bounded waits for what happens in another thread: generous, since the
# guest is emulated, but a hang fails the test rather than the run.
T = 30


def wait_until(cond, what):
    end = time.monotonic() + T
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.005)


def in_thread(fn, *args):
    """Run fn(*args) in a thread; returns a function that joins it and
    returns fn's result or raises its exception."""
    box = {}

    def run():
        try:
            box["r"] = fn(*args)
        except BaseException as e:  # handed to the joiner
            box["e"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()

    def join():
        t.join(T)
        if t.is_alive():
            raise AssertionError("thread did not finish")
        if "e" in box:
            raise box["e"]
        return box.get("r")
    return join


@unittest.skipUnless(os.path.exists(kchan.CHANCTL),
                     kchan.CHANCTL + " missing (kchan.ko not loaded)")
class ChanTest(unittest.TestCase):
    def chan(self, *args, **kw):
        ch = kchan.Chan(*args, **kw)
        self.addCleanup(ch.release)
        return ch


class TestSendRecv(ChanTest):
    def test_buffered_fifo_and_counters(self):
        ch = self.chan(4, 16)
        self.assertEqual((ch.capacity, ch.msg_max), (4, 16))
        for m in (b"a", b"bb", bytearray(b"ccc")):
            ch.send(m)
        st = ch.stat()
        self.assertEqual((st.queued, st.sent, st.next_len), (3, 3, 1))
        self.assertEqual([ch.recv(), ch.recv(0), ch.recv(1.0)],
                         [b"a", b"bb", b"ccc"])
        self.assertEqual(ch.stat().received, 3)

    def test_nonblocking_is_wouldblock(self):
        ch = self.chan(1, 8)
        with self.assertRaises(kchan.WouldBlock) as cm:
            ch.recv(timeout=0)
        self.assertEqual(cm.exception.errno, errno.EAGAIN)
        ch.send(b"x", timeout=0)
        with self.assertRaises(kchan.WouldBlock):
            ch.send(b"y", timeout=0)
        self.assertEqual(ch.stat().queued, 1)

    def test_timeout_waits_then_raises(self):
        ch = self.chan(0, 8)
        t0 = time.monotonic()
        with self.assertRaises(kchan.Timeout) as cm:
            ch.recv(timeout=0.1)
        self.assertGreaterEqual(time.monotonic() - t0, 0.1)
        self.assertEqual(cm.exception.errno, errno.ETIMEDOUT)
        self.assertIsInstance(cm.exception, TimeoutError)
        with self.assertRaises(kchan.Timeout):
            ch.send(b"x", timeout=0.05)
        self.assertEqual(ch.stat().sent, 0)
        with self.assertRaises(ValueError):
            ch.recv(timeout=-1)

    def test_signals_do_not_stretch_the_deadline(self):
        ch = self.chan(0, 8)
        hits = []
        old = signal.signal(signal.SIGALRM, lambda *a: hits.append(1))
        self.addCleanup(signal.signal, signal.SIGALRM, old)
        signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
        try:
            t0 = time.monotonic()
            with self.assertRaises(kchan.Timeout):
                ch.recv(timeout=0.3)
            took = time.monotonic() - t0
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
        self.assertGreater(len(hits), 1)
        self.assertGreaterEqual(took, 0.3)
        # A relative timeout restarted at every signal would never end.
        self.assertLess(took, 10)

    def test_rendezvous_send_waits_for_receiver(self):
        ch = self.chan(0, 32)
        join = in_thread(ch.send, b"hand over")
        wait_until(lambda: ch.stat().senders == 1, "a blocked sender")
        self.assertEqual(ch.stat().sent, 0)
        self.assertEqual(ch.recv(), b"hand over")
        join()
        self.assertEqual(ch.stat().received, 1)

    def test_message_size_limits(self):
        ch = self.chan(1, 4)
        with self.assertRaises(kchan.MessageTooLarge) as cm:
            ch.send(b"12345")
        self.assertEqual(cm.exception.errno, errno.EMSGSIZE)
        with self.assertRaises(ValueError):
            ch.send(b"")
        ch.send(b"1234")
        self.assertEqual(ch.recv(), b"1234")

    def test_threads_exactly_once(self):
        ch = self.chan(2, 16)
        n, senders = 100, 2

        def produce(k):
            for i in range(n):
                ch.send(b"%d:%d" % (k, i), timeout=T)

        def consume():
            return list(ch)
        consumers = [in_thread(consume) for _ in range(2)]
        producers = [in_thread(produce, k) for k in range(senders)]
        for p in producers:
            p()
        ch.close()
        got = [m for c in consumers for m in c()]
        self.assertEqual(sorted(got), sorted(
            b"%d:%d" % (k, i) for k in range(senders) for i in range(n)))


class TestClose(ChanTest):
    def test_close_drains_then_ends_iteration(self):
        ch = self.chan(4, 8)
        ch.send(b"1")
        ch.send(b"2")
        ch.close()
        self.assertTrue(ch.stat().closed)
        self.assertEqual(list(ch), [b"1", b"2"])
        self.assertEqual(list(ch), [])
        for timeout in (None, 0, 0.5):
            with self.assertRaises(kchan.Closed):
                ch.recv(timeout)
            with self.assertRaises(kchan.Closed) as cm:
                ch.send(b"3", timeout)
            self.assertEqual(cm.exception.errno, errno.EPIPE)
        with self.assertRaises(kchan.Closed):
            ch.close()

    def test_close_wakes_blocked_receiver(self):
        ch = self.chan(0, 8)
        join = in_thread(lambda: list(ch))
        wait_until(lambda: ch.stat().receivers == 1, "a blocked receiver")
        ch.close()
        self.assertEqual(join(), [])

    def test_release_is_not_close(self):
        ch = self.chan(2, 8)
        other = kchan.Chan.fromfd(os.dup(ch.fileno()))
        with other:
            other.send(b"kept")
        self.assertTrue(other.released)
        with self.assertRaises(ValueError):
            other.fileno()
        other.release()
        self.assertFalse(ch.stat().closed)
        self.assertEqual(ch.recv(0), b"kept")

    def test_fromfd_refuses_other_files_and_leaves_them_open(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        with self.assertRaises(kchan.KchanError):
            kchan.Chan.fromfd(r)
        os.fstat(r)

    def test_context_manager_releases_the_descriptor(self):
        with kchan.Chan(1, 8) as ch:
            fd = ch.fileno()
            os.fstat(fd)
        with self.assertRaises(OSError) as cm:
            os.fstat(fd)
        self.assertEqual(cm.exception.errno, errno.EBADF)


class TestNamed(ChanTest):
    NAME = "py-named"

    def setUp(self):
        try:
            kchan.unlink(self.NAME)
        except kchan.NotFound:
            pass

    def tearDown(self):
        try:
            kchan.unlink(self.NAME)
        except kchan.NotFound:
            pass

    def test_create_open_directions_unlink(self):
        owner = kchan.Chan.create(self.NAME, capacity=2, msg_max=64,
                                  mode=0o640)
        self.addCleanup(owner.release)
        path = os.path.join(kchan.CHAN_DIR, self.NAME)
        self.assertEqual(os.stat(path).st_mode & 0o777,
                         0o640 & ~self.umask())
        self.assertTrue(owner.stat().named)
        with self.assertRaises(kchan.Exists):
            kchan.Chan.create(self.NAME)
        with kchan.Chan.open(self.NAME, "w") as w, \
                kchan.Chan.open(self.NAME, "r") as r:
            self.assertEqual((r.capacity, r.msg_max), (2, 64))
            w.send(b"over the name")
            self.assertEqual(r.recv(1), b"over the name")
            with self.assertRaises(kchan.KchanError) as cm:
                r.send(b"wrong way")
            self.assertEqual(cm.exception.errno, errno.EBADF)
            with self.assertRaises(kchan.KchanError) as cm:
                w.recv(0)
            self.assertEqual(cm.exception.errno, errno.EBADF)
        kchan.unlink(self.NAME)
        self.assertFalse(os.path.exists(path))
        with self.assertRaises(kchan.NotFound):
            kchan.Chan.open(self.NAME)
        with self.assertRaises(kchan.NotFound):
            kchan.unlink(self.NAME)
        owner.send(b"still works")
        self.assertEqual(owner.recv(0), b"still works")

    def test_bad_names_and_modes(self):
        for bad in ("", "a/b", "x" * 65):
            with self.assertRaises(ValueError):
                kchan.Chan.create(bad)
        with self.assertRaises(ValueError):
            kchan.Chan.open("x", "rwx")
        with self.assertRaises(kchan.KchanError) as cm:
            kchan.Chan.create("..")
        self.assertEqual(cm.exception.errno, errno.EINVAL)

    @staticmethod
    def umask():
        m = os.umask(0)
        os.umask(m)
        return m


class TestSelect(ChanTest):
    def test_ready_receive_case(self):
        a, b = self.chan(1, 8), self.chan(1, 8)
        b.send(b"bee")
        self.assertEqual(kchan.select([a, b]), (1, b"bee", True))

    def test_send_case_and_nil_case(self):
        a, b = self.chan(1, 8), self.chan(0, 8)
        r = kchan.select([None, (b, b"no"), (a, b"yes")])
        self.assertEqual((r.index, r.value, r.ok), (2, None, True))
        self.assertEqual(a.recv(0), b"yes")
        self.assertEqual(b.stat().sent, 0)

    def test_nothing_ready(self):
        a = self.chan(0, 8)
        with self.assertRaises(kchan.WouldBlock):
            kchan.select([a, None], timeout=0)
        t0 = time.monotonic()
        with self.assertRaises(kchan.Timeout):
            kchan.select([a, (a, b"x")], timeout=0.05)
        self.assertGreaterEqual(time.monotonic() - t0, 0.05)

    def test_closed_cases(self):
        a, b = self.chan(1, 8), self.chan(1, 8)
        a.close()
        self.assertEqual(kchan.select([a]), (0, None, False))
        with self.assertRaises(kchan.Closed) as cm:
            kchan.select([None, (a, b"x")])
        self.assertEqual(cm.exception.index, 1)
        self.assertEqual(kchan.select([b, a], timeout=0).index, 1)

    def test_priority_and_random(self):
        a, b = self.chan(64, 8), self.chan(64, 8)
        for _ in range(40):
            a.send(b"a")
            b.send(b"b")
        for _ in range(10):
            self.assertEqual(kchan.select([a, b], priority=True).index, 0)
        picks = {kchan.select([a, b]).index for _ in range(30)}
        self.assertEqual(picks, {0, 1})

    def test_wakes_on_send_from_thread(self):
        a, b = self.chan(0, 8), self.chan(0, 8)
        join = in_thread(kchan.select, [a, b], T)
        wait_until(lambda: b.stat().receivers == 1, "a selecting receiver")
        b.send(b"late", timeout=T)
        self.assertEqual(join(), (1, b"late", True))


class TestEventLoops(ChanTest):
    def test_selectors(self):
        ch = self.chan(1, 8)
        with selectors.DefaultSelector() as sel:
            sel.register(ch, selectors.EVENT_READ)
            self.assertEqual(sel.select(0), [])
            join = in_thread(ch.send, b"ready")
            events = sel.select(T)
            join()
            self.assertEqual([k.fileobj for k, _ in events], [ch])
            self.assertEqual(ch.recv(0), b"ready")

    def test_asyncio_add_reader(self):
        ch = self.chan(4, 8)

        async def main():
            loop = asyncio.get_running_loop()
            got, done = [], loop.create_future()

            def readable():
                try:
                    got.append(ch.recv(timeout=0))
                except kchan.Closed:
                    loop.remove_reader(ch)
                    done.set_result(got)
            loop.add_reader(ch, readable)
            for m in (b"x", b"y"):
                await loop.run_in_executor(None, ch.send, m)
            await loop.run_in_executor(None, ch.close)
            return await asyncio.wait_for(done, T)
        self.assertEqual(asyncio.run(main()), [b"x", b"y"])


class TestMisc(ChanTest):
    def test_version(self):
        v = kchan.version()
        self.assertEqual(v.version, kchan.KCHAN_VERSION)
        self.assertGreater(v.max_msg_size, 0)
        self.assertGreater(v.max_select_cases, 1)
        self.assertTrue(v.features & kchan.KCHAN_FEATURE_SELECT)
        if v.features & kchan.KCHAN_FEATURE_BUDGET:
            self.assertGreater(v.max_bytes_per_user, 0)
            self.assertGreater(v.max_names_per_user, 0)

    def test_error_hierarchy(self):
        for cls in (kchan.Closed, kchan.Timeout, kchan.WouldBlock,
                    kchan.MessageTooLarge, kchan.Exists, kchan.NotFound,
                    kchan.OverBudget):
            self.assertTrue(issubclass(cls, kchan.KchanError))
        self.assertTrue(issubclass(kchan.KchanError, OSError))
        with self.assertRaises(kchan.KchanError) as cm:
            kchan.Chan(1, 0)
        self.assertEqual(cm.exception.errno, errno.EINVAL)


if __name__ == "__main__":
    unittest.main()
