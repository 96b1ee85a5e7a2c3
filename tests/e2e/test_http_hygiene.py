"""No server version in answers; the demo password only in demo mode (issue 10, item 14)."""
from __future__ import annotations

import threading
import urllib.request

from werkzeug.serving import make_server

from server.demo import DEMO_PASSWORD


def test_no_server_version_even_from_the_development_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/api/ops/health", timeout=10) as r:
            header = r.headers.get_all("Server")
    except urllib.error.HTTPError as exc:  # 503 when no scheduler runs: the headers are what matter
        header = exc.headers.get_all("Server")
    finally:
        server.shutdown()
        server.server_close()
    assert header == ["Redwall"]


def test_the_product_never_prints_the_demo_password(app, monkeypatch):
    """The sign-in page names the demo users in demo mode only, and the password never (it is in the README)."""
    monkeypatch.setitem(app.config, "REDWALL_DEMO", False)
    page = app.test_client().get("/").get_data(as_text=True)
    assert DEMO_PASSWORD not in page and "intake1" not in page and "登录" in page
    monkeypatch.setitem(app.config, "REDWALL_DEMO", True)
    page = app.test_client().get("/").get_data(as_text=True)
    assert DEMO_PASSWORD not in page and "intake1" in page
