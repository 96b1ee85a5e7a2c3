"""Script evaluation in separate processes: CPU and memory bounded for real, C builtins included.

The restricted engine (:mod:`workflows.scripting`) checks the scripts' Python and ticks in every
loop, but work inside a C builtin (``max(map(min, refs))`` over ten million characters) cannot
be interrupted from Python, and memory is not bounded per script. So every script and every
expression that is not *trivial* (names, constants, comparisons, ``and``/``or``/``not``,
attribute and item reads — what most gateway conditions are) runs in a worker process:

* a small pool of pre-started workers per server process (``REDWALL_SCRIPT_WORKERS``, default
  2; started on first use, again after a fork), each ``python -m workflows.sandbox``: it imports
  the restricted engine only, then limits its own address space (``RLIMIT_AS``,
  ``REDWALL_SCRIPT_MEMORY_MB``, default 256) and before every job its CPU time (``RLIMIT_CPU``:
  the seconds used so far plus the job's limit plus one);
* the caller waits for the answer with a deadline of the time limit plus 0.25 s; past it the
  worker is killed (SIGKILL) and replaced, and the script fails with
  :class:`~workflows.scripting.ScriptTimeout`. A worker that dies (memory, ``SIGXCPU``) is
  replaced the same way; running out of memory is reported as
  :class:`~workflows.scripting.ScriptRejected` naming the limit;
* the caller's thread blocks on a pipe, not on the GIL: the server goes on answering;
* helpers (``working_days`` …) run in the calling process: the worker sends the call back over
  the pipe and waits, so they keep their database and the tenant of the case;
* frames are length-prefixed pickles; the server unpickles a worker's answer with an allow-list
  of classes (containers, numbers, dates), so a worker cannot make the server build anything else;
* a worker's environment holds no secrets (no ``SECRET_KEY``, no ``DATABASE_URL``).

Per-step cost: one round trip (pickling the task data both ways) — see ``bench/script_pool.py``.
"""
from __future__ import annotations

import io
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Callable

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PASSED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "VIRTUAL_ENV", "SYSTEMROOT")

#: Grace on top of a script's own time limit before its worker is killed.
KILL_GRACE = 0.25
_HEADER = struct.Struct("!I")
MAX_FRAME = 64 * 1024 * 1024


# -- frames -------------------------------------------------------------------------------------
_ALLOWED = {
    ("builtins", name) for name in ("dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bytes",
                                    "bool", "complex", "NoneType", "slice", "range")
} | {
    ("datetime", name) for name in ("datetime", "date", "time", "timedelta", "timezone")
} | {("decimal", "Decimal"), ("zoneinfo", "ZoneInfo"), ("zoneinfo._zoneinfo", "ZoneInfo"), ("copyreg", "_reconstructor")}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a script worker sent a {module}.{name}, which is not plain data")


def _write(stream, message: Any) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read(fd: int, deadline: float | None, safe: bool) -> Any:
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    if size > MAX_FRAME:
        raise EOFError
    body = _read_exact(fd, size, deadline)
    return _SafeUnpickler(io.BytesIO(body)).load() if safe else pickle.loads(body)


# -- the pool (server side) ---------------------------------------------------------------------
class WorkerDied(Exception):
    pass


class _Worker:
    def __init__(self, memory_mb: int):
        # The worker runs designers' code: it gets no secrets (SECRET_KEY, DATABASE_URL …), only
        # what Python needs to start, and the directory this package is imported from.
        env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
        env.update(REDWALL_SCRIPT_MEMORY_MB=str(memory_mb), PYTHONDONTWRITEBYTECODE="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workflows.sandbox"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, close_fds=True, cwd=_ROOT,
        )
        self.fd = self.proc.stdout.fileno()
        self.ready = False

    def wait_ready(self, timeout: float = 30.0) -> None:
        if not self.ready:
            hello = _read(self.fd, time.monotonic() + timeout, safe=True)
            if hello != "ready":
                raise WorkerDied("a script worker did not start")
            self.ready = True

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class ScriptPool:
    """Pre-started worker processes; :meth:`run` hands a job to a free one."""

    def __init__(self, size: int = 2, memory_mb: int = 256):
        self.size = max(1, int(size))
        self.memory_mb = int(memory_mb)
        self._free: list[_Worker] = []
        self._count = 0
        self._pid = os.getpid()
        self._cond = threading.Condition()

    def _reset_after_fork(self) -> None:
        if self._pid != os.getpid():  # inherited from a parent (gunicorn's fork): not ours
            self._free, self._count, self._pid = [], 0, os.getpid()
            self._cond = threading.Condition()

    def _checkout(self) -> _Worker:
        self._reset_after_fork()
        with self._cond:
            while not self._free and self._count >= self.size:
                self._cond.wait()
            if self._free:
                return self._free.pop()
            self._count += 1
        try:
            worker = _Worker(self.memory_mb)
            worker.wait_ready()
            return worker
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _checkin(self, worker: _Worker | None) -> None:
        with self._cond:
            if worker is None:
                self._count -= 1
            else:
                self._free.append(worker)
            self._cond.notify()

    def warm(self) -> None:
        """Start the workers now (otherwise on first use)."""
        workers = [self._checkout() for _ in range(self.size)]
        for worker in workers:
            self._checkin(worker)

    def run(self, job: dict, time_limit: float, helpers: dict[str, Callable]) -> Any:
        """Send ``job`` to a worker; serve its helper calls; its answer, or raise.

        Raises :class:`TimeoutError` (killed at the deadline) or :class:`WorkerDied`.
        """
        worker = self._checkout()
        deadline = time.monotonic() + time_limit + KILL_GRACE
        try:
            _write(worker.proc.stdin, job)
            while True:
                message = _read(worker.fd, deadline, safe=True)
                if message[0] == "call":
                    _, name, args, kwargs = message
                    start = time.monotonic()
                    try:
                        answer = ("ok", helpers[name](*args, **kwargs))
                    except Exception as exc:  # the helper's error goes back into the script
                        answer = ("error", type(exc).__name__, str(exc))
                    deadline += time.monotonic() - start  # time spent here is not the script's
                    _write(worker.proc.stdin, answer)
                    continue
                self._checkin(worker)
                worker = None
                return message
        except BaseException:
            if worker is not None:
                code = worker.proc.poll()
                worker.kill()
                self._checkin(None)
                if code is not None:
                    raise WorkerDied(code) from None
            raise

    def close(self) -> None:
        with self._cond:
            for worker in self._free:
                worker.kill()
            self._count -= len(self._free)
            self._free = []


_pools: dict[tuple[int, int], ScriptPool] = {}
_pools_lock = threading.Lock()


def shared_pool(size: int = 2, memory_mb: int = 256) -> ScriptPool:
    """One pool per process and configuration (every engine of the process shares it)."""
    with _pools_lock:
        pool = _pools.get((size, memory_mb))
        if pool is None:
            pool = _pools[(size, memory_mb)] = ScriptPool(size, memory_mb)
        return pool


# -- the worker -----------------------------------------------------------------------------------
def _worker_main() -> None:  # pragma: no cover - runs in the child (covered by the pool's tests)
    import resource

    from . import scripting

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames on the pipe
    limit = int(os.environ.get("REDWALL_SCRIPT_MEMORY_MB", "256")) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    fd = stdin.fileno()
    environments: dict = {}

    def helper_stub(name):
        def call(*args, **kwargs):
            _write(stdout, ("call", name, args, kwargs))
            answer = _read(fd, None, safe=False)
            if answer[0] == "ok":
                return answer[1]
            raise ValueError(f"{answer[1]}: {answer[2]}")
        call.__name__ = name
        return call

    _write(stdout, "ready")
    while True:
        try:
            job = _read(fd, None, safe=False)
        except EOFError:
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = int(used.ru_utime + used.ru_stime + job["time_limit"]) + 2
        if cpu_hard == resource.RLIM_INFINITY or cpu < cpu_hard:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu_hard))
        key = (tuple(job["helpers"]), job["time_limit"], job["max_output_bytes"])
        env = environments.get(key)
        if env is None:
            env = environments[key] = scripting.RestrictedEnvironment(
                helpers={name: helper_stub(name) for name in job["helpers"]},
                time_limit=job["time_limit"], max_output_bytes=job["max_output_bytes"])
        context = job["context"]
        try:
            if job["mode"] == "eval":
                answer = ("ok", env.evaluate_here(job["source"], context, job["external"]))
            else:
                env.execute_here(job["source"], context, job["external"])
                answer = ("ok", context)
        except MemoryError:
            answer = ("memory",)
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller
            answer = ("error", type(exc).__name__, str(exc), getattr(exc, "line", None) or scripting._error_line(exc),
                      getattr(exc, "reason", None), getattr(exc, "limit", None), getattr(exc, "what", None))
        try:
            _write(stdout, answer)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            _write(stdout, ("error", "ScriptRejected", f"the script left a value that cannot be stored: {exc}",
                            None, f"the script left a value that cannot be stored: {exc}", None, None))
        except MemoryError:
            _write(stdout, ("memory",))


if __name__ == "__main__":  # pragma: no cover
    _worker_main()
