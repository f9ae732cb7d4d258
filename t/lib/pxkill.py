"""kill -9 between the steps of a unit of work (t/83, t/90, and the
payment kill tests): the test-only pause points of src/testpause.h.

A Pauser arms one point at a time in the stack's test_pause_file; the
process that reaches it writes "<point> <pid>" to the .hit file and waits
there, so the test can SIGKILL it at exactly that step.  kill_work()
SIGKILLs the work daemon (master first, so it cannot start a replacement
runner, then the paused runner and the rest) and starts it again."""
import os
import signal
import subprocess
import time

from px import BIN, wait_for
from pxmail import runner_pids


class Pauser:
    def __init__(self, stack):
        """Call before stack.start(): it sets test_pause_file."""
        self.s = stack
        self.path = os.path.join(stack.dir, "pause")
        stack.extra["test_pause_file"] = self.path

    def arm(self, point):
        try:
            os.unlink(self.path + ".hit")
        except FileNotFoundError:
            pass
        with open(self.path + ".tmp", "w") as f:
            f.write(point + "\n")
        os.replace(self.path + ".tmp", self.path)

    def disarm(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def paused(self, point, timeout=20):
        """The pid paused at point, or None."""
        def hit():
            try:
                with open(self.path + ".hit") as f:
                    return f.read().split()
            except FileNotFoundError:
                return None
        if not wait_for(lambda: hit() is not None, timeout):
            return None
        name, pid = hit()
        return int(pid) if name == point else None

    def kill_work(self, runner):
        """SIGKILL the work master, then the paused runner and every other
        runner, wait until all are gone (they die with the master:
        PR_SET_PDEATHSIG), disarm, then start work again."""
        s = self.s
        master = s.work
        pids = [runner] + runner_pids(master)
        os.kill(master.pid, signal.SIGKILL)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        master.wait(10)
        wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in pids), 10)
        self.disarm()
        err = open(os.path.join(s.dir, "work.stderr"), "ab")
        for _ in range(40):
            s.work = subprocess.Popen([BIN, "-c", s.conf, "work"], stdout=err, stderr=err)
            # A runner forked in the instant before the kill may still hold
            # the spool's lock for a moment: then the new daemon refuses.
            if not wait_for(lambda: s.work.poll() is not None, 0.5):
                return
            time.sleep(0.25)

    def kill_worker(self, pid):
        """SIGKILL a pool worker (paused mid-request); true once the pool
        has replaced it."""
        s = self.s
        before = set(s.worker_pids())
        os.kill(pid, signal.SIGKILL)
        return wait_for(lambda: len(set(s.worker_pids()) - before - {pid}) >= 1 and
                        len(s.worker_pids()) >= s.workers, 15)
