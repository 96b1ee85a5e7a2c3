"""Tenants, users, groups and the acting user (:class:`Actor`) that every use case receives."""
from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from .errors import Conflict, InvalidInput, NotFound
from .models import Group, GroupMembership, Tenant, User

ROLES = ("clerk", "intake", "supervisor", "designer", "auditor", "admin")

_hasher = PasswordHasher()
# Verifying against a fixed hash for unknown users keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("redwall-no-such-user")


@dataclass(frozen=True)
class Actor:
    """Who is calling: a snapshot taken at authentication, never an ORM object."""

    user_id: int
    username: str
    tenant_id: int
    tenant_code: str
    roles: frozenset[str]
    groups: frozenset[str]
    supervised_groups: frozenset[str] = frozenset()
    timezone: str = "Asia/Shanghai"  # the tenant's: dates residents see (case numbers, deadlines)
    token_key: str = ""  # the user's key that tokens and sessions name (users.token_key)

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        tenant_id=user.tenant_id,
        tenant_code=user.tenant.code,
        roles=frozenset(user.roles or ()),
        groups=frozenset(user.groups),
        supervised_groups=frozenset(user.supervised_groups),
        timezone=user.tenant.timezone,
        token_key=user.token_key or "",
    )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(session, username: str, password: str) -> Actor | None:
    """The actor for valid credentials of an active user, else None."""
    user = session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    return actor_for(user)


def load_actor(session, user_id: int, token_key: str | None = None) -> Actor | None:
    """The active user of the id, or None. ``token_key``: what a token or session names; a
    different key (another user on a reused id, or keys rotated by a reset) is None too."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    if token_key is not None and user.token_key != token_key:
        return None
    return actor_for(user)


def find_tenant(session, code: str) -> Tenant:
    """The tenant of the code; an unknown code is an error (only `redwall tenants add` creates one)."""
    tenant = session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is None:
        raise NotFound(f"no tenant {code!r} (create it with `redwall tenants add {code} --name …`)")
    return tenant


def ensure_tenant(session, code: str, name: str | None = None, timezone: str = "Asia/Shanghai") -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is None:
        tenant = Tenant(code=code, name=name or code, timezone=timezone)
        session.add(tenant)
        session.flush()
    return tenant


def ensure_group(session, tenant: Tenant, code: str, name: str | None = None) -> Group:
    group = session.scalar(select(Group).where(Group.tenant_id == tenant.id, Group.code == code))
    if group is None:
        group = Group(tenant_id=tenant.id, code=code, name=name or code)
        session.add(group)
        session.flush()
    return group


def add_user(
    session,
    tenant_code: str,
    username: str,
    password: str,
    roles: list[str],
    groups: list[str] = (),
    supervises: list[str] = (),
    display_name: str = "",
) -> User:
    """Create a user with roles and group memberships (the tenant and groups are created if new)."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidInput(f"unknown roles: {', '.join(unknown)}", {"roles": [f"choose from {', '.join(ROLES)}"]})
    if not username or len(password) < 8:
        raise InvalidInput("a username and a password of at least 8 characters are required")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} exists already")
    tenant = ensure_tenant(session, tenant_code)
    user = User(
        tenant_id=tenant.id,
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        roles=sorted(set(roles)),
    )
    session.add(user)
    session.flush()
    for kind, codes in (("member", groups), ("supervisor", supervises)):
        for code in codes:
            group = ensure_group(session, tenant, code)
            session.add(GroupMembership(user_id=user.id, group_id=group.id, kind=kind))
    session.flush()
    return user


def group_members(session, tenant_id: int, group_code: str) -> list[str]:
    rows = session.execute(
        select(User.username)
        .join(GroupMembership, GroupMembership.user_id == User.id)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(Group.tenant_id == tenant_id, Group.code == group_code, GroupMembership.kind == "member")
    )
    return [r[0] for r in rows]


def get_user(session, tenant_id: int, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username, User.tenant_id == tenant_id))
    if user is None:
        raise NotFound(f"no user {username!r} in this tenant")
    return user
