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


# -- the whole daemon at once (t/57-mail-kill.t) --

def start_work_group(stack):
    """Start `work` as the leader of a process group of its own (its
    runners and its recovery child join it), so kill_work_group() can end
    all of them with one kill(2).  The daemon refuses to start while a
    killed one's processes still hold the spool's lock: then try again.
    Returns the Popen; stack.works keeps it for stop()."""
    err = open(os.path.join(stack.dir, "work.stderr"), "ab")
    for _ in range(40):
        p = subprocess.Popen([BIN, "-c", stack.conf, "work"], stdout=err, stderr=err,
                             start_new_session=True)
        if not wait_for(lambda: p.poll() is not None, 0.3):
            stack.works.append(p)
            return p
        time.sleep(0.1)
    raise RuntimeError("work did not start: " + open(os.path.join(stack.dir, "work.stderr")).read()[-2000:])


def group_pids(pgid):
    """Live (not zombie) processes of process group pgid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ")".
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(d))
    return out


def kill_work_group(stack, p):
    """SIGKILL the work daemon started by start_work_group(): master,
    runners and any recovery child in the same instant (killpg), no master
    left to start a replacement runner; wait until none is alive."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(10)
    if p in stack.works:
        stack.works.remove(p)
    return wait_for(lambda: not group_pids(p.pid), 10)
