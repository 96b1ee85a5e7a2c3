"""gunicorn's threaded worker (gthread), answering on its main thread when it has one thread.

``gunicorn.conf.py`` runs one thread per worker process (a request is Python CPU plus short
database round trips; more threads only contend for the interpreter). gunicorn's gthread worker
still hands every request from its main thread, which waits on the sockets, to a pool thread,
and the answer back: a ``Future``, a wake-up of the pool thread, a byte through a pipe to wake
the main thread again, and the interpreter lock passed both ways: about 0.06-0.09 ms of CPU a
request (``bench/stack_floor.py``: a bare Flask app under gunicorn took 0.274 ms a request with
gthread, run as ``GUNICORN_CMD_ARGS="--worker-class gthread" python bench/stack_floor.py``, and
0.192 ms with this worker), 0.6-2.3 ms of the app's 9.6-10.3 ms per whole case in three
runs of ``bench/e2e_http.py``. With one thread that hand-off buys nothing: the pool thread
answers one request at a time either way.

:class:`InlineThreadWorker` is gthread with that hand-off left out when ``threads == 1``: the
main thread answers a connection the poller found readable itself, then puts it back on the
poller (keep-alive) exactly as gthread does. Everything else is gthread's own code: keep-alive
and its timeout, the connection limit, graceful stops, ``max_requests``. What it keeps of
gthread's behaviour on purpose:

- **A connection that has sent nothing yet never holds the worker.** gthread lets a pool thread
  wait up to 5 s for a new connection's first bytes; here a connection with no bytes waiting
  goes straight to the poller, as gthread's own deferral puts it after those 5 s.
- **Requests already read ahead** (pipelined, or read with a drained body) are answered in
  turn from a queue, never by recursion.
- **The heartbeat.** gthread's main thread tells the arbiter it is alive every second while a
  pool thread may be busy with a long request; here the main thread is the one answering, so a
  small thread does the telling (one wake-up a second), and a long request (an upload from a
  slow client, an export) is no reason to kill the worker, as with gthread. The arbiter's
  ``timeout`` still catches a worker whose process stops.
- **HTTP/2 or several threads:** gthread unchanged (``super()``).

It leans on gthread's own steps (``enqueue_req``, ``handle``, ``finish_request`` and its marker
for a deferred connection) of the gunicorn release pinned in ``setup.cfg``;
``tests/integration/test_gunicorn_worker.py`` runs each behaviour above under a real gunicorn,
so a release that changes them fails there first.
"""
from __future__ import annotations

import threading
from collections import deque
from concurrent import futures

from gunicorn.workers import gthread

BEAT_SECONDS = 1.0


class InlineThreadWorker(gthread.ThreadWorker):
    """gthread answering on the main thread when it has one thread (see the module)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.inline = self.cfg.threads == 1 and "h2" not in (self.cfg.http_protocols or ())
        self._readable: deque = deque()
        self._answering = False
        self._stopped = threading.Event()

    def init_process(self):
        if self.inline:
            threading.Thread(target=self._beat, name="redwall-heartbeat", daemon=True).start()
        try:
            super().init_process()  # runs the worker's loop until it stops
        finally:
            self._stopped.set()

    def _beat(self) -> None:
        while not self._stopped.wait(BEAT_SECONDS):
            self.notify()

    def enqueue_req(self, conn):
        if not self.inline:
            return super().enqueue_req(conn)
        self._readable.append(conn)
        if self._answering:  # a request read ahead while answering the one before: next in turn
            return None
        self._answering = True
        try:
            while self._readable:
                self._answer(self._readable.popleft())
        finally:
            self._answering = False
        return None

    def _answer(self, conn) -> None:
        done: futures.Future = futures.Future()
        if not conn.initialized and not conn.data_ready and not conn.wait_for_data(0):
            done.set_result(gthread._DEFER)  # nothing sent yet: wait on the poller, not here
        else:
            try:
                done.set_result(self.handle(conn))
            except Exception as exc:  # handle() answers its own errors; anything else closes it
                done.set_exception(exc)
        self.finish_request(conn, done)
