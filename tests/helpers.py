"""Shared test helpers: users, tokens and the demo model."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from workflows import accounts

REPO = Path(__file__).resolve().parent.parent
DEMO_MODEL_DIR = REPO / "bpmn" / "processes" / "service_application"
PASSWORD = "correct-horse-battery"

USERS = [
    # username, tenant, roles, groups, supervises
    ("intake1", "xichangan", ["intake"], ["intake"], []),
    ("civil1", "xichangan", ["clerk"], ["civil_affairs"], []),
    ("civil2", "xichangan", ["clerk"], ["civil_affairs"], []),
    ("disabled1", "xichangan", ["clerk"], ["disabled_federation"], []),
    ("super1", "xichangan", ["supervisor"], [], ["civil_affairs", "disabled_federation"]),
    ("designer1", "xichangan", ["designer"], [], []),
    ("auditor1", "xichangan", ["auditor"], [], []),
    ("admin1", "xichangan", ["admin"], [], []),
    ("intake9", "jinrong", ["intake"], ["intake"], []),
    ("civil9", "jinrong", ["clerk"], ["civil_affairs"], []),
    ("designer9", "jinrong", ["designer"], [], []),
]


def make_users(ctx) -> dict[str, accounts.Actor]:
    actors = {}
    with ctx.unit_of_work() as uow:
        for username, tenant, roles, groups, supervises in USERS:
            accounts.add_user(uow.session, tenant, username, PASSWORD, roles, groups, supervises)
        uow.commit()
    with ctx.unit_of_work() as uow:
        for username, *_ in USERS:
            actors[username] = accounts.authenticate(uow.session, username, PASSWORD)
    return actors


def demo_files() -> list[tuple[str, bytes]]:
    files = sorted(DEMO_MODEL_DIR.iterdir(), key=lambda p: (p.suffix != ".bpmn", p.name))
    return [(p.name, p.read_bytes()) for p in files]


class Api:
    """A thin client: logs in once per user and sends JSON with the bearer token."""

    def __init__(self, client):
        self.client = client
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            r = self.client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.get_json()
            self.tokens[username] = r.get_json()["token"]
        return self.tokens[username]

    def headers(self, username: str | None, extra: dict | None = None) -> dict:
        headers = dict(extra or {})
        if username:
            headers["Authorization"] = f"Bearer {self.token(username)}"
        return headers

    def get(self, url, user=None, **kw):
        return self.client.get(url, headers=self.headers(user, kw.pop("headers", None)), **kw)

    def post(self, url, user=None, **kw):
        return self.client.post(url, headers=self.headers(user, kw.pop("headers", None)), **kw)

    def put(self, url, user=None, **kw):
        return self.client.put(url, headers=self.headers(user, kw.pop("headers", None)), **kw)

    def deploy(self, user, files, **extra_form):
        data = {"files": [(__import__("io").BytesIO(content), name) for name, content in files], **extra_form}
        return self.post("/api/process-models", user, data=data, content_type="multipart/form-data")


# PostgreSQL's trail guards (migrations 0003 and 0010): tests that reset or tamper with the trail
# as the tables' owner switch them off for one transaction and back on (ALWAYS) afterwards.
TRAIL_TRIGGERS = [
    ("trail_events", "trail_events_append_only"),
    ("trail_events", "trail_events_no_truncate"),
    ("trail_anchors", "trail_anchors_append_only"),
    ("trail_anchors", "trail_anchors_no_truncate"),
    ("trail_heads", "trail_heads_no_delete"),
    ("trail_heads", "trail_heads_forward_only"),
    ("trail_heads", "trail_heads_no_truncate"),
    ("cases", "cases_trail_head_forward_only"),
]


def trail_guards(conn, on: bool) -> None:
    from sqlalchemy import text

    existing = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
    for table, trigger in TRAIL_TRIGGERS:
        if trigger in existing:
            conn.execute(text(f"ALTER TABLE {table} {'ENABLE ALWAYS' if on else 'DISABLE'} TRIGGER {trigger}"))


@contextmanager
def sent_statements():
    """The statements psycopg sends from this thread while the block runs, as ``(text,
    autocommit)``: counted at the driver, so also those sent past SQLAlchemy
    (``workflows.driver``); not those of background threads (the in-process timer runner)."""
    import threading

    import psycopg

    sent: list[tuple[str, bool]] = []
    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany
    me = threading.get_ident()

    def recording(method):
        def send(self, query, *args, **kwargs):
            if threading.get_ident() == me:
                sent.append((query if isinstance(query, str) else str(query), self.connection.autocommit))
            return method(self, query, *args, **kwargs)
        return send

    psycopg.Cursor.execute, psycopg.Cursor.executemany = recording(execute), recording(executemany)
    try:
        yield sent
    finally:
        psycopg.Cursor.execute, psycopg.Cursor.executemany = execute, executemany


class FailingRegistry:
    """A connector named ``name`` that fails its first ``failures`` calls, as a household registry
    being restarted would, then answers."""

    def __init__(self, ctx, name: str, failures: int):
        self.calls = 0
        self.failures = failures
        ctx.connectors.register(name, self)

    def __call__(self, resident_id, purpose):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("the household registry did not answer")
        return {"resident_id": resident_id, "members": 2}


def window_clerks(ctx, count: int) -> list[accounts.Actor]:
    """``count`` intake clerks ``window0``… of xichangan, signed in: racers for the same task."""
    with ctx.unit_of_work() as uow:
        for i in range(count):
            accounts.add_user(uow.session, "xichangan", f"window{i}", PASSWORD, ["intake"], ["intake"])
        uow.commit()
    with ctx.unit_of_work() as uow:
        return [accounts.authenticate(uow.session, f"window{i}", PASSWORD) for i in range(count)]
