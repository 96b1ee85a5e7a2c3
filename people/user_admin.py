"""Users administered by the tenant's admins: list, add, change roles and groups, reset the
password, disable and enable.

The user's token key is the version every token and session names (``server.auth``):
disabling, resetting the password, changing roles or groups, and signing out everywhere give
the user a new key, so tokens and sessions issued before never work again (not even after
re-enabling); with changed roles or groups the user signs in again and gets the new ones.
Every process refuses the old key within ``REDWALL_REVOCATION_INTERVAL`` seconds.
Every change is recorded in the tenant's trail chain (``user.created``, ``user.roles_changed``,
``user.password_reset``, ``user.disabled``, ``user.enabled``) without any password.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from workflows.accounts import ROLES, Actor, add_user, ensure_group, hash_password
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput, NotFound
from workflows.models import Group, GroupMembership, Tenant, User, new_token_key

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,150}$")
GROUP_CODE = re.compile(r"^[a-z0-9_]{1,100}$")
MIN_PASSWORD = 8


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("only admins manage users")


def user_view(user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "roles": list(user.roles or []),
            "groups": user.groups, "supervises": user.supervised_groups, "active": bool(user.active),
            "created_at": user.created_at}


def _lists(roles, groups, supervises) -> tuple[list[str], list[str], list[str]]:
    problems: dict[str, list[str]] = {}
    roles = sorted(set(roles or ()))
    if not roles:
        problems["roles"] = ["at least one role"]
    elif set(roles) - set(ROLES):
        problems["roles"] = [f"choose from {', '.join(ROLES)}"]
    clean = []
    for name, codes in (("groups", groups), ("supervises", supervises)):
        codes = sorted(set(c.strip() for c in (codes or ()) if isinstance(c, str) and c.strip()))
        if any(not GROUP_CODE.match(c) for c in codes):
            problems[name] = ["group codes are lower-case letters, digits and _"]
        clean.append(codes)
    if problems:
        raise InvalidInput("the user's roles or groups are not valid", problems)
    return roles, clean[0], clean[1]


def _password(password) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD or len(password) > 1024:
        raise InvalidInput("the password is too short", {"password": [f"at least {MIN_PASSWORD} characters"]})
    return password


def _user(s, actor: Actor, username: str, for_update: bool = False) -> User:
    query = select(User).where(User.username == username, User.tenant_id == actor.tenant_id)
    if for_update:
        query = query.with_for_update(of=User)
    user = s.scalar(query)
    if user is None:
        raise NotFound(f"no user {username!r} in this tenant")
    return user


def list_users(ctx: EngineContext, actor: Actor) -> list[dict]:
    _require_admin(actor)
    with ctx.unit_of_work() as uow:
        users = uow.session.scalars(select(User).where(User.tenant_id == actor.tenant_id).order_by(User.username)).all()
        return [user_view(u) for u in users]


def tenant_groups(ctx: EngineContext, actor: Actor) -> list[str]:
    """The group codes of the tenant (the choices of the user form)."""
    _require_admin(actor)
    with ctx.unit_of_work() as uow:
        return list(uow.session.scalars(select(Group.code).where(Group.tenant_id == actor.tenant_id).order_by(Group.code)))


def create_user(ctx: EngineContext, actor: Actor, username, password, roles, groups=(), supervises=(),
                display_name: str = "") -> dict:
    """A new user of the admin's own tenant (never another: the tenant is the admin's)."""
    _require_admin(actor)
    if not isinstance(username, str) or not USERNAME.match(username):
        raise InvalidInput("the username is not valid", {"username": ["2–150 letters, digits, '.', '_' or '-'"]})
    password = _password(password)
    roles, groups, supervises = _lists(roles, groups, supervises)
    display_name = (display_name or "").strip()[:200]
    with ctx.unit_of_work() as uow:
        s = uow.session
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"user {username!r} exists already")
        user = add_user(s, actor.tenant_code, username, password, roles, groups, supervises, display_name)
        uow.record("user.created", actor.tenant_id, actor=actor.username, at=ctx.clock(),
                   data={"username": username, "user_id": user.id, "roles": roles, "groups": groups,
                         "supervises": supervises})
        view = user_view(user)
        uow.commit()
        return view


def update_user(ctx: EngineContext, actor: Actor, username: str, roles, groups=(), supervises=(),
                display_name: str | None = None) -> dict:
    """Replace the user's roles, groups and supervised groups."""
    _require_admin(actor)
    roles, groups, supervises = _lists(roles, groups, supervises)
    if username == actor.username and "admin" not in roles:
        raise Conflict("you cannot take the admin role from yourself")
    with ctx.unit_of_work() as uow:
        s = uow.session
        user = _user(s, actor, username, for_update=True)
        before = {"roles": list(user.roles or []), "groups": user.groups, "supervises": user.supervised_groups}
        tenant = s.get(Tenant, actor.tenant_id)
        user.roles = roles
        if display_name is not None and display_name.strip():
            user.display_name = display_name.strip()[:200]
        user.memberships.clear()  # delete-orphan: the rows go
        s.flush()
        for kind, codes in (("member", groups), ("supervisor", supervises)):
            for code in codes:
                user.memberships.append(GroupMembership(group_id=ensure_group(s, tenant, code).id, kind=kind))
        s.flush()
        s.refresh(user)
        after = {"roles": roles, "groups": groups, "supervises": supervises}
        if after != before:
            user.token_key = new_token_key()  # tokens carry roles and groups: the old ones end
            uow.record("user.roles_changed", actor.tenant_id, actor=actor.username, at=ctx.clock(),
                       data={"username": username, "user_id": user.id, "before": before, "after": after})
        view = user_view(user)
        uow.commit()
        return view


def reset_password(ctx: EngineContext, actor: Actor, username: str, password) -> dict:
    """Set a new password; the user's tokens and sessions end (the key rotates)."""
    _require_admin(actor)
    password = _password(password)
    with ctx.unit_of_work() as uow:
        user = _user(uow.session, actor, username, for_update=True)
        user.password_hash = hash_password(password)
        user.token_key = new_token_key()
        uow.record("user.password_reset", actor.tenant_id, actor=actor.username, at=ctx.clock(),
                   data={"username": username, "user_id": user.id})
        view = user_view(user)
        uow.commit()
        return view


def set_active(ctx: EngineContext, actor: Actor, username: str, active: bool) -> dict:
    """Disable (every token and session stops at once, and stays revoked) or enable a user."""
    _require_admin(actor)
    if username == actor.username and not active:
        raise Conflict("you cannot disable yourself")
    with ctx.unit_of_work() as uow:
        user = _user(uow.session, actor, username, for_update=True)
        if bool(user.active) != bool(active):
            user.active = bool(active)
            if not active:
                user.token_key = new_token_key()
            uow.record("user.enabled" if active else "user.disabled", actor.tenant_id, actor=actor.username,
                       at=ctx.clock(), data={"username": username, "user_id": user.id})
        view = user_view(user)
        uow.commit()
        return view


def sign_out_everywhere(ctx: EngineContext, actor: Actor) -> None:
    """End every token and session of the actor (a new key; this request's own too)."""
    with ctx.unit_of_work() as uow:
        user = uow.session.scalar(select(User).where(User.id == actor.user_id).with_for_update(of=User))
        if user is None:
            raise NotFound("no such user")
        user.token_key = new_token_key()
        uow.record("user.signed_out_everywhere", actor.tenant_id, actor=actor.username, at=ctx.clock(),
                   data={"username": actor.username, "user_id": actor.user_id})
        uow.commit()
