"""Case files: upload and download times and the server's memory while a large file streams.

Builds its own PostgreSQL database (``--url``), a tenant with the demo users and models, one
accepted care-subsidy case, then uploads and downloads files of ``--sizes`` megabytes through
the app (Flask's test client; the download is read chunk by chunk as a client would) with the
database store and the folder store. Memory is Python's own allocation peak (tracemalloc) while
the download streams — a store that read the whole file at once would show its size there.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchdb import recreate_database  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/redwall_bench_files_mat"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--sizes", default="1,10", help="file sizes in MB, comma-separated")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    recreate_database(args.url)
    from flask_migrate import upgrade

    from server.app import create_app
    from server.demo import load_demo

    folder = tempfile.mkdtemp(prefix="redwall-bench-files-")
    app = create_app({"SKIP_ENV": True, "SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench-" * 8,
                      "REDIS_URL": None, "REDWALL_BACKGROUND": "off", "REDWALL_FILE_DIR": folder,
                      "REDWALL_SCRIPT_TIME_LIMIT": 2.0, "REDWALL_TIMEZONE": "Asia/Shanghai", "REDWALL_TOKEN_TTL": 3600,
                      "REDWALL_FILE_MAX_BYTES": 64 * 1024 * 1024, "REDWALL_CASE_FILES_MAX_BYTES": 10 ** 10})
    with app.app_context():
        upgrade()
        load_demo(app.extensions["redwall"])
        from onewindow.catalogue import load_catalogue  # noqa: F401
        from tests.eligibility_helpers import eligible_resident
        from workflows import accounts
        from desks.window import receive_at_window

        ctx = app.extensions["redwall"]
        with ctx.unit_of_work() as uow:
            intake = accounts.authenticate(uow.session, "intake1", "redwall-demo")
        resident = eligible_resident(ctx, intake, "severe_disability_care_subsidy")
        case_id = receive_at_window(ctx, intake, "severe_disability_care_subsidy", resident,
                                    {"care_arrangement": "home", "bank_account": "6222020200112233445"}, "accept")["case"]["id"]
    client = app.test_client()
    token = client.post("/api/auth/token", json={"username": "intake1", "password": "redwall-demo"}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    print(f"{'store':9} {'MB':>4} {'upload ms (median)':>19} {'download ms (median)':>21} {'download peak MiB':>18}")
    for store_name in ("database", "folder"):
        files = app.extensions["redwall_files"]
        files["store"] = files["stores"][store_name]
        for mb in (float(x) for x in args.sizes.split(",")):
            content = b"%PDF-1.7\n" + b"0" * int(mb * 1024 * 1024)
            ups, downs, peaks = [], [], []
            for _ in range(args.runs):
                started = time.perf_counter()
                r = client.post(f"/api/cases/{case_id}/files", headers=auth, content_type="multipart/form-data",
                                data={"file": (io.BytesIO(content), "big.pdf")})
                ups.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 201, r.get_json()
                file_id = r.get_json()["id"]
                tracemalloc.start()
                started = time.perf_counter()
                response = client.get(f"/api/files/{file_id}", headers=auth, buffered=False)
                size = sum(len(chunk) for chunk in response.response)
                downs.append((time.perf_counter() - started) * 1000)
                peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
                tracemalloc.stop()
                response.close()
                assert size == len(content)
            print(f"{store_name:9} {mb:>4g} {statistics.median(ups):>19.1f} {statistics.median(downs):>21.1f} "
                  f"{max(peaks):>18.2f}")
    recreate_database(args.url, drop_only=True)


if __name__ == "__main__":
    main()
