"""Users administered over HTTP: add, change groups, reset the password, disable — and what that
does to tokens and sessions at once; ids never reused, tokens never inherited."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select

from tests.e2e.pages import Browser
from tests.helpers import PASSWORD, Api, make_users
from workflows.models import GroupMembership, User


@pytest.fixture
def api(app, ctx):
    make_users(ctx)
    return Api(app.test_client())


def login(api, username, password=PASSWORD):
    return api.client.post("/api/auth/token", json={"username": username, "password": password})


def test_admin_adds_and_changes_a_user(api):
    r = api.post("/api/users", "admin1", json={"username": "civil3", "password": "a-long-password", "roles": ["clerk"],
                                                "groups": ["civil_affairs"], "display_name": "张三"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["groups"] == ["civil_affairs"] and body["active"] is True and "password" not in body
    assert login(api, "civil3", "a-long-password").status_code == 200
    assert api.post("/api/users", "admin1", json={"username": "civil3", "password": "a-long-password",
                                                   "roles": ["clerk"]}).status_code == 409
    r = api.put("/api/users/civil3", "admin1", json={"roles": ["clerk", "supervisor"], "groups": ["disabled_federation"],
                                                     "supervises": ["civil_affairs"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["groups"] == ["disabled_federation"] and r.get_json()["supervises"] == ["civil_affairs"]
    names = [u["username"] for u in api.get("/api/users", "admin1").get_json()]
    assert "civil3" in names and "civil9" not in names  # another tenant's users are not listed
    kinds = [e["kind"] for e in api.get("/api/trail/events?kind=user.", "auditor1").get_json()["items"]]
    assert {"user.created", "user.roles_changed"} <= set(kinds)


@pytest.mark.parametrize("body", [
    {"username": "x", "password": "a-long-password", "roles": ["clerk"]},
    {"username": "new user", "password": "a-long-password", "roles": ["clerk"]},
    {"username": "newuser", "password": "short", "roles": ["clerk"]},
    {"username": "newuser", "password": "a-long-password", "roles": ["king"]},
    {"username": "newuser", "password": "a-long-password", "roles": []},
    {"username": "newuser", "password": "a-long-password", "roles": ["clerk"], "groups": ["Civil Affairs"]},
    {"username": "newuser", "password": "a-long-password", "roles": ["clerk"], "tenant": "jinrong"},
    {"username": "newuser", "roles": ["clerk"]},
])
def test_bad_users_are_422(api, body):
    r = api.post("/api/users", "admin1", json=body)
    assert r.status_code == 422, (body, r.get_json())
    assert set(r.get_json()) >= {"code", "status", "message"}


def test_only_admins_of_the_tenant_manage_users(api):
    for user in ("civil1", "super1", "auditor1", "designer1", "intake1"):
        assert api.get("/api/users", user).status_code == 403
        assert api.post("/api/users/civil2/disable", user).status_code == 403
    assert api.post("/api/users/civil9/disable", "admin1").status_code == 404  # jinrong's
    assert api.post("/api/users/admin1/disable", "admin1").status_code == 409  # not yourself
    assert api.put("/api/users/admin1", "admin1", json={"roles": ["clerk"]}).status_code == 409


def test_disabling_stops_the_token_and_the_session_at_once(app, api):
    token_user = api.get("/api/tasks", "civil1")
    assert token_user.status_code == 200
    browser = Browser(app)
    browser.sign_in("civil1")
    assert browser.get("/inbox").status_code == 200
    r = api.post("/api/users/civil1/disable", "admin1")
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert api.get("/api/tasks", "civil1").status_code == 401
    page = browser.get("/inbox")
    assert page.status_code == 302 and page.headers["Location"].startswith("/?next=")
    assert login(api, "civil1").status_code == 401
    # enabled again: the old token and session stay revoked; a new sign-in works
    assert api.post("/api/users/civil1/enable", "admin1").status_code == 200
    assert api.get("/api/tasks", "civil1").status_code == 401
    assert browser.get("/inbox").status_code == 302
    api.tokens.pop("civil1")
    assert api.get("/api/tasks", "civil1").status_code == 200
    kinds = [e["kind"] for e in api.get("/api/trail/events?kind=user.", "auditor1").get_json()["items"]]
    assert {"user.disabled", "user.enabled"} <= set(kinds)


def test_a_password_reset_ends_old_tokens(api):
    assert api.get("/api/tasks", "civil2").status_code == 200
    assert api.post("/api/users/civil2/password", "admin1", json={"password": "short"}).status_code == 422
    assert api.post("/api/users/civil2/password", "admin1", json={"password": "new-password-123"}).status_code == 200
    assert api.get("/api/tasks", "civil2").status_code == 401
    assert login(api, "civil2").status_code == 401
    assert login(api, "civil2", "new-password-123").status_code == 200


def test_ids_are_never_reused_and_tokens_never_inherited(api, ctx):
    assert api.post("/api/users", "admin1", json={"username": "leaver", "password": "a-long-password",
                                                   "roles": ["clerk"]}).status_code == 201
    old_token = login(api, "leaver", "a-long-password").get_json()["token"]
    with ctx.unit_of_work() as uow:  # the user's row is deleted (as an operator once did by hand)
        old_id = uow.session.scalar(select(User.id).where(User.username == "leaver"))
        uow.session.execute(delete(GroupMembership).where(GroupMembership.user_id == old_id))
        uow.session.execute(delete(User).where(User.id == old_id))
        uow.session.commit()
    r = api.post("/api/users", "admin1", json={"username": "newadmin", "password": "a-long-password",
                                                "roles": ["admin"]})
    assert r.status_code == 201
    assert r.get_json()["id"] > old_id
    assert api.client.get("/api/users", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401


def test_changed_roles_end_old_tokens_and_a_new_sign_in_carries_them(app, api):
    assert api.get("/api/tasks", "civil2").status_code == 200
    browser = Browser(app)
    browser.sign_in("civil2")
    assert browser.get("/inbox").status_code == 200
    r = api.put("/api/users/civil2", "admin1", json={"roles": ["clerk"], "groups": ["disabled_federation"]})
    assert r.status_code == 200
    # the token carried the old groups: it ends (and the session), so no request acts on them
    assert api.get("/api/tasks", "civil2").status_code == 401
    assert browser.get("/inbox").status_code == 302
    api.tokens.pop("civil2")
    fresh = login(api, "civil2").get_json()
    assert fresh["user"]["groups"] == ["disabled_federation"]
    assert api.get("/api/tasks", "civil2").status_code == 200
    # saving the same roles and groups again changes nothing and ends nothing
    assert api.put("/api/users/civil2", "admin1", json={"roles": ["clerk"], "groups": ["disabled_federation"]}).status_code == 200
    assert api.get("/api/tasks", "civil2").status_code == 200


def test_signing_out_everywhere_ends_every_token_and_session_of_the_caller_only(app, api):
    other_token = login(api, "civil1").get_json()["token"]
    browser = Browser(app)
    browser.sign_in("civil1")
    assert api.get("/api/tasks", "civil1").status_code == 200 and api.get("/api/tasks", "civil2").status_code == 200
    r = api.post("/api/auth/sign-out-everywhere", "civil1")
    assert r.status_code == 204
    assert api.get("/api/tasks", "civil1").status_code == 401
    assert api.client.get("/api/tasks", headers={"Authorization": f"Bearer {other_token}"}).status_code == 401
    assert browser.get("/inbox").status_code == 302
    assert api.get("/api/tasks", "civil2").status_code == 200  # a colleague is not touched
    assert api.client.post("/api/auth/sign-out-everywhere").status_code == 401
    api.tokens.pop("civil1")
    assert api.get("/api/tasks", "civil1").status_code == 200  # signing in again works
    kinds = [e["kind"] for e in api.get("/api/trail/events?kind=user.", "auditor1").get_json()["items"]]
    assert "user.signed_out_everywhere" in kinds


def test_tokens_carry_the_actor_and_forged_or_partial_ones_are_refused(app, api):
    import jwt

    token = api.token("civil1")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["name"] == "civil1" and "civil_affairs" in claims["groups"] and claims["roles"] == ["clerk"]
    secret = app.config["SECRET_KEY"]
    for forged in (
        jwt.encode({**claims, "roles": ["admin"]}, "not-the-secret-key-0123456789abcdef", algorithm="HS256"),
        jwt.encode({k: v for k, v in claims.items() if k not in ("roles",)}, secret, algorithm="HS256"),
        jwt.encode({**claims, "tid": "1"}, secret, algorithm="HS256"),
        jwt.encode({**claims, "groups": "civil_affairs"}, secret, algorithm="HS256"),
        jwt.encode({**claims, "key": "0" * 32}, secret, algorithm="HS256"),  # not the user's key
        jwt.encode({**claims, "sub": "x"}, secret, algorithm="HS256"),
    ):
        r = api.client.get("/api/tasks", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401, r.get_json()


def test_requests_read_no_user_rows_within_the_interval(app, api):
    from sqlalchemy import event

    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    assert api.get("/api/tasks/counts", "civil1").status_code == 200  # read the key once
    seen = []
    listener = lambda conn, cursor, statement, *a: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for _ in range(5):
            assert api.get("/api/tasks/counts", "civil1").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert seen  # the counts themselves were read
    # the table users, not a column such as tasks.candidate_users (the badge statement reads it)
    assert not [s for s in seen if re.search(r"\busers\b", s) and "group_memberships" not in s or "FROM users" in s]
