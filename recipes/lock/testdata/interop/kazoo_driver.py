"""kazoo_driver lets a Go test drive kazoo's lock recipes, so that zkit's
kazoo layout is checked against the real thing on a real server.

Usage: python3 kazoo_driver.py <connect string>

It reads one command per line on stdin and writes one event per line on
stdout (see interop_test.go for the protocol). Every participant has its own
KazooClient, so its own session, and its own thread, which runs its steps in
order.
"""

import queue
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError

_out = threading.Lock()


def emit(line):
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Participant:
    def __init__(self, pid, hosts, kind, path):
        self.id = pid
        self.client = KazooClient(hosts=hosts, timeout=10.0)
        self.client.start(timeout=20)
        if kind == "mutex":
            self.lock = self.client.Lock(path, pid)
        elif kind == "read":
            self.lock = self.client.ReadLock(path, pid)
        elif kind == "write":
            self.lock = self.client.WriteLock(path, pid)
        else:
            raise ValueError("kind " + kind)
        self.steps = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            step = self.steps.get()
            if step is None:
                return
            try:
                step()
            except Exception as e:  # reported to the test, which fails
                emit("%s error %r" % (self.id, e))

    def acquire(self):
        self.lock.acquire()
        emit(self.id + " acquired")

    def release(self):
        self.lock.release()
        emit(self.id + " released")

    def loop(self, rounds, guard):
        violations = 0
        for _ in range(rounds):
            self.lock.acquire()
            try:
                try:
                    self.client.create(guard, ephemeral=True)
                except NodeExistsError:
                    violations += 1
                self.client.set(guard + "-last", b"kazoo")
                time.sleep(0.001)
                try:
                    self.client.delete(guard)
                except NoNodeError:
                    violations += 1
            finally:
                self.lock.release()
        emit("%s looped %d %d" % (self.id, rounds, violations))

    def close(self):
        self.steps.put(None)
        self.client.stop()
        self.client.close()


def main():
    hosts = sys.argv[1]
    participants = {}
    for line in sys.stdin:
        f = line.split()
        if not f:
            continue
        if f[0] == "quit":
            break
        pid = f[1] if len(f) > 1 else "-"
        try:
            if f[0] == "new":
                p = Participant(pid, hosts, f[2], f[3])
                participants[pid] = p
                emit("%s ready %x" % (pid, p.client.client_id[0]))
            elif f[0] == "acquire":
                participants[pid].steps.put(participants[pid].acquire)
            elif f[0] == "release":
                participants[pid].steps.put(participants[pid].release)
            elif f[0] == "loop":
                p = participants[pid]
                rounds, guard = int(f[2]), f[3]
                p.steps.put(lambda p=p, r=rounds, g=guard: p.loop(r, g))
            else:
                raise ValueError("command " + f[0])
        except Exception as e:
            emit("%s error %r" % (pid, e))
    for p in participants.values():
        p.close()


if __name__ == "__main__":
    main()
