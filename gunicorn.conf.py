"""gunicorn's settings for Redwall (gunicorn reads ./gunicorn.conf.py by itself):

    gunicorn "server.app:create_app()"

One worker process per core (``WEB_CONCURRENCY`` overrides), each handling one request at a
time on gunicorn's threaded worker so that connections stay open between requests (HTTP
keep-alive). With its one thread the worker answers on its main thread
(``server.gunicorn_worker.InlineThreadWorker``: gthread without the hand-off of every request
to a pool thread and back, which cost 0.06-0.09 ms of CPU a request and bought nothing with one
thread). A request is CPU work in Python plus a few short database round trips, so one
process per core keeps the cores busy without the CPU per request rising (on the 2-core
benchmark machine 4 workers were slower than 2, and 4 threads a worker slower than 1: the
threads only contend for the interpreter). Keep-alive spares a TCP connection set up and torn
down for every request on both sides; the sync worker closes the connection after each answer
(see the README's benchmark section for both measured). Put nginx (or another buffering proxy)
in front, with ``keepalive`` in its upstream block and ``proxy_http_version 1.1``.
"""
import multiprocessing
import os

bind = os.environ.get("REDWALL_BIND", "127.0.0.1:8000")
worker_class = "server.gunicorn_worker.InlineThreadWorker"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
threads = 1
# An idle client connection is kept this long for its next request (the proxy's upstream
# keepalive_timeout should be shorter).
keepalive = 5
# Restart a worker whose process stops telling the arbiter it is alive. A long request does not
# count (as with gthread, a thread keeps telling it: server/gunicorn_worker.py); the scripts a
# request runs are bounded by REDWALL_SCRIPT_TIME_LIMIT.
timeout = 30
graceful_timeout = 20
# Recycle workers now and then: caches and fragmentation never grow without bound. A new worker
# imports and builds the app again (about 1 s of CPU) and starts with cold caches: at full load
# (several hundred requests a second a worker on the 2-core benchmark machine) 20,000 requests
# retired a worker every minute; 200,000 is every ten minutes, and hours on a normal day.
max_requests = 200000
max_requests_jitter = 20000
accesslog = None
errorlog = "-"
loglevel = os.environ.get("REDWALL_LOG_LEVEL", "warning")
# Answers name no server version (the README says so).
proc_name = "redwall-web"
