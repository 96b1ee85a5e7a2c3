"""The web workers' class (server.gunicorn_worker.InlineThreadWorker) under a real gunicorn with
this repository's gunicorn.conf.py: one thread answers on the main thread, keeps connections
alive, answers requests read ahead in turn, is not held by a connection that sends nothing, and
is not killed during a request longer than gunicorn's timeout; with more threads it is gthread."""
from __future__ import annotations

import os
import signal
import socket
import textwrap
import time

import pytest

from tests.processes import PYTHON, REPO, Started, free_port

APP = textwrap.dedent('''
    import os, threading, time

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/sleep":
            time.sleep(float(environ["QUERY_STRING"]))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        got = environ["wsgi.input"].read(length) if length else b""
        body = ("main=%s pid=%d path=%s got=%d" % (threading.current_thread() is threading.main_thread(),
                os.getpid(), environ["PATH_INFO"], len(got))).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
''')


@pytest.fixture
def serve(tmp_path):
    started: list[Started] = []

    def start(*extra: str) -> int:
        (tmp_path / "tinyapp.py").write_text(APP)
        port = free_port()
        env = {"PYTHONPATH": f"{tmp_path}:{REPO}", "WEB_CONCURRENCY": "1", "PATH": "/usr/bin:/bin"}
        args = [PYTHON, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
                "--log-level", "info", *extra, "tinyapp:app"]
        process = Started(f"gunicorn-{len(started)}", args, env, tmp_path)
        started.append(process)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                if process.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.output()[-3000:])
                time.sleep(0.1)

    yield start
    for process in started:
        process.stop()


def request(path: str, body: bytes = b"") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def answers(sock: socket.socket, count: int) -> list[bytes]:
    """``count`` whole HTTP answers read from ``sock`` (bodies by Content-Length)."""
    buffer, found = b"", []
    while len(found) < count:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buffer[:head_end].decode()
            length = int(next(line.split(":", 1)[1] for line in head.split("\r\n")
                              if line.lower().startswith("content-length")))
            if len(buffer) >= head_end + 4 + length:
                found.append(buffer[:head_end + 4 + length])
                buffer = buffer[head_end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {len(found)} answers"
        buffer += chunk
    return found


def test_one_thread_answers_on_the_main_thread_and_keeps_the_connection(serve):
    port = serve()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        first_pid = None
        for n in range(3):
            sock.sendall(request(f"/r{n}", b'{"a": 1}'))
            (answer,) = answers(sock, 1)
            assert answer.startswith(b"HTTP/1.1 200"), answer
            assert b"Connection: close" not in answer
            assert b"main=True" in answer and f"path=/r{n} got=8".encode() in answer
            pid = answer.rsplit(b"pid=", 1)[1].split()[0]
            assert first_pid in (None, pid)  # the same worker, the same connection
            first_pid = pid


def test_requests_read_ahead_are_answered_in_turn(serve):
    port = serve()
    count = 1500  # deeper than the interpreter's recursion limit: answered from a queue, not by recursion
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"".join(request(f"/p{n}") for n in range(count)))
        got = answers(sock, count)
    assert [a.split(b"path=")[1].split()[0] for a in got] == [f"/p{n}".encode() for n in range(count)]


def test_a_connection_that_sends_nothing_does_not_hold_the_worker(serve):
    port = serve()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as silent:
        time.sleep(0.3)  # accepted by the worker, nothing sent
        with socket.create_connection(("127.0.0.1", port), timeout=2) as other:
            # gthread's own pool thread would wait 5 s on the silent connection first
            other.sendall(request("/other"))
            (answer,) = answers(other, 1)
            assert b"path=/other" in answer
        silent.sendall(request("/late"))  # and the silent one is still served when it speaks
        (answer,) = answers(silent, 1)
        assert b"path=/late" in answer


def test_a_request_longer_than_the_timeout_is_not_killed(serve):
    port = serve("--timeout", "2")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request("/before"))
        (before,) = answers(sock, 1)
        sock.sendall(request("/sleep?4"))  # twice the arbiter's timeout: the heartbeat goes on
        (slow,) = answers(sock, 1)
        assert slow.startswith(b"HTTP/1.1 200") and b"path=/sleep" in slow
        pid = before.rsplit(b"pid=", 1)[1].split()[0]
        assert slow.rsplit(b"pid=", 1)[1].split()[0] == pid  # the same worker, not a replacement


def test_with_more_threads_it_is_gthread(serve):
    port = serve("--threads", "2")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request("/t"))
        (answer,) = answers(sock, 1)
    assert b"main=False" in answer


def test_a_stopping_worker_answers_a_kept_connection_then_closes_it(serve):
    port = serve()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request("/first"))
        (first,) = answers(sock, 1)
        pid = int(first.rsplit(b"pid=", 1)[1].split()[0])
        os.kill(pid, signal.SIGTERM)  # the worker stops: graceful, its kept connections linger briefly
        time.sleep(0.3)
        sock.sendall(request("/while-stopping"))
        (last,) = answers(sock, 1)
        assert b"path=/while-stopping" in last and b"Connection: close" in last
        assert sock.recv(1) == b""  # then closed


def test_a_worker_retires_after_max_requests_and_a_new_one_answers(serve):
    port = serve("--max-requests", "3", "--max-requests-jitter", "0")
    pids = []
    for n in range(7):
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(request(f"/n{n}"))
            (answer,) = answers(sock, 1)
            assert f"path=/n{n}".encode() in answer
            pids.append(answer.rsplit(b"pid=", 1)[1].split()[0])
    assert len(set(pids)) >= 3, pids  # 7 requests, 3 a worker


def test_a_large_body_sent_slowly_is_read_whole_on_a_kept_connection(serve):
    port = serve()
    body = b"x" * (4 * 1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request("/small"))
        answers(sock, 1)  # the connection is back on the poller, non-blocking there
        head = request("/upload", body)[: -len(body)]
        sock.sendall(head + body[:1000])
        time.sleep(0.2)  # the worker has started reading the body: the rest comes later
        sock.sendall(body[1000:])
        (answer,) = answers(sock, 1)
    assert f"path=/upload got={len(body)}".encode() in answer
