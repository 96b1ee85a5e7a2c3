"""gunicorn's settings for Redwall (gunicorn reads ./gunicorn.conf.py by itself):

    gunicorn "server.app:create_app()"

Sync workers, as many as the machine has cores (``WEB_CONCURRENCY`` overrides). A request is
CPU work in Python plus a few short database round trips, so one process per core keeps the
cores busy without the CPU per request rising (on the 2-core benchmark machine 4 workers were
slower than 2: more CPU per case, see the README's benchmark section). Put nginx (or another
buffering proxy) in front: sync workers must not serve slow clients directly.
"""
import multiprocessing
import os

bind = os.environ.get("REDWALL_BIND", "127.0.0.1:8000")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# Restart a worker that hangs (a request is bounded by the script time limit well below this).
timeout = 30
graceful_timeout = 20
# Recycle workers now and then: caches and fragmentation never grow without bound.
max_requests = 20000
max_requests_jitter = 2000
accesslog = None
errorlog = "-"
loglevel = os.environ.get("REDWALL_LOG_LEVEL", "warning")
# Answers name no server version (the README says so).
proc_name = "redwall-web"
