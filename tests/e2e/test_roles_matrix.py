"""The role matrix of ../shared/API.md on every endpoint, as one table:
endpoint × role × scope (own / other group / other tenant) → expected status.

Roles: clerk (civil1, member of civil_affairs), intake (intake1, member of intake),
supervisor (superc, supervises civil_affairs only), designer, auditor, admin, and
anonymous callers. Scopes: ``own`` is a resource of the caller's tenant in the caller's
group (the intake group for intake, civil_affairs for everyone else); ``other group`` is
one of the same tenant in disabled_federation; ``other tenant`` belongs to jinrong.
Endpoints that name no resource have the ``own`` column only.

Every cell is a real request against fresh resources where the request changes them, and
the test reports every cell that disagrees at once. Rules behind the table:

* another tenant's resource, or one the caller may not see → 404; a role allowed for
  nothing there → 403 (before any lookup); no token → 401;
* auditors read every case, trail, incident, metric and resident of their tenant and
  change nothing (every write → 403); they have no task inbox (the worklists answer 403
  to roles without one, auditors and designers);
* clerks and intake work the tasks of their groups; supervisors see, assign and hand back
  the tasks of the groups they supervise; admins see and manage every task of the tenant
  but work (claim, complete) only as members;
* designers deploy models (and retry incidents) and read their own test cases; reading other cases is
  open to the tenant's other roles,
  reading trails to everyone but designers; verifying the whole tenant to auditors and admins.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from server.demo import system_actor
from tests.helpers import Api, PASSWORD, demo_files, make_users
from workflows import accounts
from workflows.cases import send_message, start_case
from workflows.process_models import deploy_model
from worklists import commands, handling

ROLES = {
    "clerk": "civil1", "intake": "intake1", "supervisor": "superc", "designer": "designer1",
    "auditor": "auditor1", "admin": "admin1", "anonymous": None,
}
SCOPES = ("own", "other group", "other tenant")
MEMBERS = {  # (tenant, group) → members, first is who the world uses by default
    ("xichangan", "intake"): ["intake1", "intake2"],
    ("xichangan", "civil_affairs"): ["civil1", "civil2"],
    ("xichangan", "disabled_federation"): ["disabled1", "disabled2"],
    ("jinrong", "intake"): ["intake9", "intake8"],
    ("jinrong", "civil_affairs"): ["civil9", "civil8"],
}
STARTER = {"xichangan": "intake1", "jinrong": "intake9"}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
WORKLIST = ("clerk", "intake", "supervisor", "admin")
START = ("clerk", "intake", "supervisor", "designer", "admin")
TRAIL_READERS = ("clerk", "intake", "supervisor", "auditor", "admin")
REGISTRY_READERS = TRAIL_READERS  # the resident registry: everyone but designers


# -- the world --------------------------------------------------------------------------------------
class World:
    def __init__(self, ctx, api: Api):
        self.ctx, self.api = ctx, api
        self.actors = make_users(ctx)
        with ctx.unit_of_work() as uow:
            for username, tenant, roles, groups, supervises in (
                ("superc", "xichangan", ["supervisor"], [], ["civil_affairs"]),
                ("intake2", "xichangan", ["intake"], ["intake"], []),
                ("disabled2", "xichangan", ["clerk"], ["disabled_federation"], []),
                ("civil8", "jinrong", ["clerk"], ["civil_affairs"], []),
                ("intake8", "jinrong", ["intake"], ["intake"], []),
            ):
                accounts.add_user(uow.session, tenant, username, PASSWORD, roles, groups, supervises)
            uow.commit()
        with ctx.unit_of_work() as uow:
            for username in ("superc", "intake2", "disabled2", "civil8", "intake8"):
                self.actors[username] = accounts.authenticate(uow.session, username, PASSWORD)
        deploy_model(ctx, self.actors["designer1"], demo_files())
        deploy_model(ctx, self.actors["designer9"], demo_files())
        gateway = FIXTURES / "engine" / "exclusive_gateway.bpmn"
        deploy_model(ctx, self.actors["designer9"], [(gateway.name, gateway.read_bytes())])  # jinrong's only
        failing = (FIXTURES / "cases" / "scripted.bpmn").read_text().replace("SCRIPT", "result = no_such_name + 1")
        for tenant in ("xichangan", "jinrong"):
            deploy_model(ctx, system_actor(ctx, tenant), [("scripted.bpmn", failing.encode())])
        from datacentre import synthetic

        synthetic.generate_demo_data(ctx, self.actors["admin1"], 12, seed=5, as_of=date(2026, 11, 25))
        synthetic.generate_demo_data(ctx, system_actor(ctx, "jinrong"), 12, seed=6, as_of=date(2026, 11, 25))
        self.cache: dict = {}
        self.deployments = 0

    # resources ------------------------------------------------------------------------------------
    @staticmethod
    def place(role: str, scope: str) -> tuple[str, str]:
        tenant = "jinrong" if scope == "other tenant" else "xichangan"
        if scope == "other group" and tenant == "xichangan":
            return tenant, "disabled_federation"
        return tenant, "intake" if role == "intake" else "civil_affairs"

    def ready_task(self, tenant: str, group: str) -> tuple[int, int]:
        """(task id, case id) of a fresh ready task of ``group``."""
        starter = self.actors[STARTER[tenant]]
        case = start_case(self.ctx, starter, "service_application", {"applicant_name": "王芳"})
        task = case["tasks"][0]["id"]
        if group == "intake":
            return task, case["id"]
        commands.claim(self.ctx, starter, task)
        _, [review] = commands.complete(self.ctx, starter, task, {"acceptance": "accept", "department": group})
        return review["id"], case["id"]

    def member_or_default(self, tenant: str, group: str, username: str | None) -> str:
        members = MEMBERS[(tenant, group)]
        return username if username in members else members[0]

    def claimed_task(self, tenant, group, username) -> int:
        """Claimed by the caller when the caller is a member of the group, else by a member."""
        task, _ = self.ready_task(tenant, group)
        commands.claim(self.ctx, self.actors[self.member_or_default(tenant, group, username)], task)
        return task

    def delegated_task(self, tenant, group, username) -> int:
        """Delegated by a member (the caller, if a member) to another member."""
        holder = self.member_or_default(tenant, group, username)
        task = self.claimed_task(tenant, group, holder)
        delegate = next(m for m in MEMBERS[(tenant, group)] if m != holder)
        commands.delegate(self.ctx, self.actors[holder], task, delegate)
        return task

    def completed_task(self, tenant, group, username) -> int:
        """Completed by the caller when the caller is a member of the group, else by a member;
        the next task is ready (unclaimed)."""
        holder = self.member_or_default(tenant, group, username)
        task = self.claimed_task(tenant, group, holder)
        commands.complete(self.ctx, self.actors[holder], task, task_data(group))
        return task

    def suspended_case(self, tenant, group) -> int:
        _, case = self.ready_task(tenant, group)
        handling.suspend(self.ctx, system_actor(self.ctx, tenant), case, "矩阵测试")
        return case

    def copy_for(self, tenant, username) -> int:
        """A copy of a case to ``username`` (a member of the tenant), or to another member."""
        me = self.actors.get(username)
        to = username if me is not None and me.tenant_code == tenant else MEMBERS[(tenant, "civil_affairs")][-1]
        case = self.case(tenant, "civil_affairs")
        answer = handling.copy_case(self.ctx, system_actor(self.ctx, tenant), case, [to])
        if answer["copies"]:
            return answer["copies"][0]["id"]
        items, _ = handling.list_copies(self.ctx, self.actors[to], limit=500)
        return next(i["id"] for i in items if i["case_id"] == case)

    def shared(self, key, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def case(self, tenant, group) -> int:
        return self.shared(("case", tenant, group), lambda: self.ready_task(tenant, group)[1])

    def waiting_case(self, tenant) -> int:
        starter = self.actors[STARTER[tenant]]
        case = start_case(self.ctx, starter, "service_application")
        task = case["tasks"][0]["id"]
        commands.claim(self.ctx, starter, task)
        commands.complete(self.ctx, starter, task, {"acceptance": "supplement", "missing_materials": ["户口簿"]})
        return case["id"]

    def incident(self, tenant) -> int:
        from sqlalchemy import select

        from workflows.models import Incident

        start_case(self.ctx, system_actor(self.ctx, tenant), "scripted")
        with self.ctx.unit_of_work() as uow:
            return uow.session.scalar(select(Incident.id).where(Incident.resolved_at.is_(None)).order_by(Incident.id.desc()))

    def resident(self, tenant) -> int:
        from sqlalchemy import select

        from datacentre.models import Person
        from workflows.models import Tenant

        with self.ctx.unit_of_work() as uow:
            return uow.session.scalar(
                select(Person.id).join(Tenant, Tenant.id == Person.tenant_id).where(Tenant.code == tenant).limit(1)
            )

    def fresh_name(self) -> str:
        self.deployments += 1
        return f"newcomer{self.deployments}"

    def victim(self, role: str, scope: str) -> str:
        """A fresh user of the scope's tenant (the matrix's own users keep their roles)."""
        tenant, group = self.place(role, scope)
        name = self.fresh_name()
        with self.ctx.unit_of_work() as uow:
            accounts.add_user(uow.session, tenant, name, PASSWORD, ["clerk"], [group], [])
            uow.commit()
        return name

    def new_model(self) -> list:
        self.deployments += 1
        return [(n, c.replace("Decide 决定".encode(), f"Decide 决定 #{self.deployments}".encode())) for n, c in demo_files()]


# -- the table --------------------------------------------------------------------------------------
@dataclass
class Endpoint:
    name: str
    request: Callable  # (world, role, username, scope) -> (method, url, kwargs)
    expect: Callable  # (role, scope) -> status
    scoped: bool = True
    notes: list = field(default_factory=list)


def task_data(group: str) -> dict:
    return {"acceptance": "accept", "department": "civil_affairs"} if group == "intake" else {"review_result": "meets_conditions"}


def task_endpoint(name, action, build, allowed, visible_only_code=403):
    """A task command: 200 for ``allowed(role, scope)``, 403 if the caller sees the task but may not,
    404 if it does not see it; 403 for roles without a worklist."""

    def expect(role, scope):
        if role == "anonymous":
            return 401
        if role not in WORKLIST:
            return 403
        if not sees_task(role, scope):
            return 404
        return 200 if allowed(role, scope) else visible_only_code

    return Endpoint(name, build, expect)


def sees_task(role, scope):
    if scope == "other tenant":
        return False
    if role == "admin":
        return True
    return scope == "own"  # members see their groups' tasks, supervisors the groups they supervise


def member(role, scope):
    return role in ("clerk", "intake") and scope == "own"


def supervisor_of(role, scope):
    return role == "admin" or (role == "supervisor" and scope == "own")


def _task_url(world, role, username, scope, kind="ready", suffix=""):
    tenant, group = world.place(role, scope)
    if kind == "ready":
        task = world.shared(("task", tenant, group), lambda: world.ready_task(tenant, group)[0]) if not suffix \
            else world.ready_task(tenant, group)[0]
    elif kind == "claimed":
        task = world.claimed_task(tenant, group, username)
    else:
        task = world.delegated_task(tenant, group, username)
    return f"/api/tasks/{task}{suffix}", tenant, group


def build_get_task(world, role, username, scope):
    return "get", _task_url(world, role, username, scope)[0], {}


def build_claim(world, role, username, scope):
    return "post", _task_url(world, role, username, scope, suffix="/claim")[0], {}


def build_unclaim(world, role, username, scope):
    return "post", _task_url(world, role, username, scope, "claimed", "/unclaim")[0], {}


def build_assign(world, role, username, scope):
    url, tenant, group = _task_url(world, role, username, scope, suffix="/assign")
    return "post", url, {"json": {"username": MEMBERS[(tenant, group)][-1]}}


def build_delegate(world, role, username, scope):
    url, tenant, group = _task_url(world, role, username, scope, "claimed", "/delegate")
    holder = world.member_or_default(tenant, group, username)
    return "post", url, {"json": {"username": next(m for m in MEMBERS[(tenant, group)] if m != holder)}}


def build_resolve(world, role, username, scope):
    return "post", _task_url(world, role, username, scope, "delegated", "/resolve")[0], {"json": {}}


def build_complete(world, role, username, scope):
    url, tenant, group = _task_url(world, role, username, scope, "claimed", "/complete")
    return "post", url, {"json": {"data": task_data(group)}}


def build_send_back(world, role, username, scope):
    return "post", _task_url(world, role, username, scope, "claimed", "/send-back")[0], {"json": {"reason": "退回重审"}}


def build_transfer(world, role, username, scope):
    url, tenant, group = _task_url(world, role, username, scope, "claimed", "/transfer")
    holder = world.member_or_default(tenant, group, username)
    return "post", url, {"json": {"username": next(m for m in MEMBERS[(tenant, group)] if m != holder)}}


def build_add_signers(world, role, username, scope):
    url, tenant, group = _task_url(world, role, username, scope, "claimed", "/add-signers")
    holder = world.member_or_default(tenant, group, username)
    signer = next(m for m in MEMBERS[(tenant, group)] if m != holder)
    return "post", url, {"json": {"usernames": [signer], "mode": "parallel", "comment": "请会签"}}


def build_withdraw(world, role, username, scope):
    tenant, group = world.place(role, scope)
    return "post", f"/api/tasks/{world.completed_task(tenant, group, username)}/withdraw", {}


def expect_send_back(role, scope):
    """The holder sends back; intake's own task is the first step of its case: nothing to go back to."""
    code = task_endpoint("", "", None, member).expect(role, scope)
    return 409 if (role, scope, code) == ("intake", "own", 200) else code


def case_op(build_case, suffix, body=None):
    def build(world, role, username, scope):
        tenant, group = world.place(role, scope)
        return "post", f"/api/cases/{build_case(world, tenant, group)}{suffix}", ({"json": body} if body is not None else {})
    return build


def build_cc(world, role, username, scope):
    """The caller holds a task of the case when it is a member of the case's group."""
    tenant, group = world.place(role, scope)
    task = world.claimed_task(tenant, group, username)
    with world.ctx.unit_of_work() as uow:
        from workflows.models import Task

        case = uow.session.get(Task, task).case_id
    to = "disabled2" if tenant == "xichangan" else "civil8"
    return "post", f"/api/cases/{case}/cc", {"json": {"usernames": [to], "comment": "抄送"}}


def case_rule(allowed, worklist_only=False, ok=200):
    """A case operation: 401 anonymous; 403 for roles allowed nowhere (before any lookup); 404 for another
    tenant's case; ``ok`` where ``allowed(role, scope)``, else 403."""

    def expect(role, scope):
        if role == "anonymous":
            return 401
        if role not in allowed_roles(allowed):
            return 403
        if scope == "other tenant":
            return 404
        return ok if allowed(role, scope) else 403

    return expect


def allowed_roles(allowed):
    return {r for r in ROLES if any(allowed(r, s) for s in ("own", "other group"))} | set(
        getattr(allowed, "roles", ()))


def _with_roles(fn, roles):
    fn.roles = roles
    return fn


CC_ALLOWED = _with_roles(lambda r, s: (r in ("clerk", "intake") and s == "own") or supervisor_of(r, s), WORKLIST)
URGE_ALLOWED = _with_roles(lambda r, s: r in ("intake", "admin") or (r == "supervisor" and s == "own"),
                           ("intake", "supervisor", "admin"))
SUPERVISE_ALLOWED = _with_roles(supervisor_of, ("supervisor", "admin"))


def expect_cc_read(role, scope):
    if role == "anonymous":
        return 401
    if role not in WORKLIST:
        return 403
    return 200 if scope == "own" else 404


def build_cc_read(world, role, username, scope):
    tenant, group = world.place(role, scope)
    if scope == "own" and username is not None and role in WORKLIST:
        target = username
    else:  # someone else's copy
        target = "civil2" if tenant == "xichangan" else "civil8"
    return "post", f"/api/cc/{world.copy_for(tenant, target)}/read", {}


def case_url(suffix=""):
    def build(world, role, username, scope):
        tenant, group = world.place(role, scope)
        return "get", f"/api/cases/{world.case(tenant, group)}{suffix}", {}
    return build


def build_message(world, role, username, scope):
    tenant, _ = world.place(role, scope)
    return "post", f"/api/cases/{world.waiting_case(tenant)}/messages", {"json": {"name": "materials_supplied", "payload": {}}}


def build_press(world, role, username, scope):
    case = world.case(*world.place(role, scope))
    return "post", f"/api/supervision/cases/{case}/presses", {"json": {"comment": "请加快办理"}}


def expect_press(role, scope):
    """Supervisors press the cases of the departments they supervise, admins any of the tenant."""
    if role == "anonymous":
        return 401
    if role not in ("supervisor", "admin"):
        return 403
    if scope == "other tenant" or (role == "supervisor" and scope == "other group"):
        return 404
    return 201


def build_answer(world, role, username, scope):
    """A fresh pressing (by the tenant's installation admin) of the case the caller's scope names."""
    from server.demo import system_actor
    from workflows.supervision_desk import press_case

    tenant, group = world.place(role, scope)
    press = press_case(world.ctx, system_actor(world.ctx, tenant), world.case(tenant, group), "请加快办理")
    return "post", f"/api/supervision/presses/{press['id']}/answer", {"json": {"answer": "今日办结"}}


def expect_answer(role, scope):
    """The pressed department's members (and admins) answer; its supervisor sees but may not (403);
    everyone else does not see the pressing (404)."""
    if role == "anonymous":
        return 401
    if scope == "other tenant":
        return 404
    if role == "admin" or (role in ("clerk", "intake") and scope == "own"):
        return 200
    if role == "supervisor" and scope == "own":
        return 403
    return 404


def _latest(world, tenant: str) -> int:
    """The latest version of service_application in ``tenant`` (deployed once more for each tenant)."""
    from sqlalchemy import func, select

    from workflows.models import ProcessModel, Tenant

    def deploy_again():
        designer = world.actors["designer9" if tenant == "jinrong" else "designer1"]
        deploy_model(world.ctx, designer, world.new_model())
        return True

    world.shared(("second version", tenant), deploy_again)
    with world.ctx.unit_of_work() as uow:
        return uow.session.scalar(select(func.max(ProcessModel.version)).join(Tenant, Tenant.id == ProcessModel.tenant_id)
                                  .where(Tenant.code == tenant, ProcessModel.key == "service_application"))


def build_migration(world, role, username, scope):
    """A dry run moving a case of the caller's place from version 1 to the latest version."""
    tenant, group = world.place(role, scope)
    body = {"from_version": 1, "to_version": _latest(world, tenant), "dry_run": True,
            "case_ids": [world.case(tenant, group)]}
    return "post", "/api/process-models/service_application/migrations", {"json": body}


def build_migration_run(world, role, username, scope):
    """A run of the caller's tenant (another tenant's run is 404 through this tenant's key)."""
    from workflows.case_migration import migrate_cases

    tenant, group = world.place(role, scope)
    designer = world.actors["designer9" if tenant == "jinrong" else "designer1"]
    run = world.shared(("migration run", tenant), lambda: migrate_cases(
        world.ctx, designer, "service_application", 1, _latest(world, tenant), dry_run=True,
        case_ids=[world.case(tenant, group)])["id"])
    return "get", f"/api/process-models/service_application/migrations/{run}", {}


def fixed(method, url, **kwargs):
    return lambda world, role, username, scope: (method, url, kwargs)


def by_role(table: dict, default=None, other_tenant=None):
    """Expected status from the role alone (``own``/``other group``); another tenant's resource is
    404 for roles that pass the role check (403/401 otherwise)."""

    def expect(role, scope):
        code = table.get(role, default)
        if scope == "other tenant" and code in (200, 201):
            return 404 if other_tenant is None else other_tenant
        return code

    return expect


def readers(roles, ok=200):
    return by_role({**{r: ok if r in roles else 403 for r in ROLES}, "anonymous": 401})


ENDPOINTS = [
    # cases
    Endpoint("GET /api/cases", fixed("get", "/api/cases"), readers(ROLES.keys() - {"anonymous"}), scoped=False),
    # designers read their own test cases only (issue 10, item 5): another's case is 404 to them
    Endpoint("GET /api/cases/{id}", case_url(), by_role({**{r: 200 for r in ROLES}, "designer": 404, "anonymous": 401})),
    # public messages: the roles the model names (api_roles); designers are not among them, which
    # is known once the case (and so its model) is found: another tenant's case stays 404
    Endpoint("POST /api/cases/{id}/messages", build_message,
             lambda role, scope: 404 if (role == "designer" and scope == "other tenant")
             else readers(set(START) - {"designer"})(role, scope)),
    # trail
    Endpoint("GET /api/cases/{id}/trail", case_url("/trail"), readers(TRAIL_READERS)),
    Endpoint("GET /api/cases/{id}/trail/verify", case_url("/trail/verify"), readers(TRAIL_READERS)),
    Endpoint("GET /api/cases/{id}/trail/export", case_url("/trail/export"), readers(TRAIL_READERS)),
    Endpoint("GET /api/cases/{id}/trail/print", case_url("/trail/print"), readers(TRAIL_READERS)),
    Endpoint("GET /api/trail/verify", fixed("get", "/api/trail/verify"), readers(("auditor", "admin")), scoped=False),
    # process models
    Endpoint("GET /api/process-models", fixed("get", "/api/process-models"), readers(ROLES.keys() - {"anonymous"}),
             scoped=False),
    Endpoint("GET /api/process-models/{key}",
             lambda w, r, u, s: ("get", "/api/process-models/" + ("exclusive_gateway" if s == "other tenant" else "service_application"), {}),
             readers(ROLES.keys() - {"anonymous"})),
    Endpoint("GET /api/process-models/{key}/versions/{v}/xml",
             lambda w, r, u, s: ("get", "/api/process-models/" + ("exclusive_gateway" if s == "other tenant" else "service_application")
                                 + "/versions/1/xml", {}),
             readers(ROLES.keys() - {"anonymous"})),
    Endpoint("POST /api/process-models", lambda w, r, u, s: ("deploy", w.new_model(), {}),
             readers(("designer", "admin"), ok=201), scoped=False),
    Endpoint("POST /api/process-models/{key}/instances",
             lambda w, r, u, s: ("post", "/api/process-models/" + ("exclusive_gateway" if s == "other tenant" else "service_application")
                                 + "/instances", {"json": {"data": {}}}),
             readers(START, ok=201)),
    # moving running cases to another version (issue 12): designers and admins of the key's tenant
    Endpoint("POST /api/process-models/{key}/migrations", build_migration, readers(("designer", "admin"))),
    Endpoint("GET /api/process-models/{key}/migrations",
             lambda w, r, u, s: ("get", "/api/process-models/" + ("exclusive_gateway" if s == "other tenant" else "service_application")
                                 + "/migrations", {}),
             readers(("designer", "admin"))),
    Endpoint("GET /api/process-models/{key}/migrations/{id}", build_migration_run, readers(("designer", "admin"))),
    # tasks
    Endpoint("GET /api/tasks", fixed("get", "/api/tasks"), readers(WORKLIST), scoped=False),
    Endpoint("GET /api/tasks/counts", fixed("get", "/api/tasks/counts"), readers(WORKLIST), scoped=False),
    task_endpoint("GET /api/tasks/{id}", "get", build_get_task, lambda r, s: True),
    task_endpoint("POST /api/tasks/{id}/claim", "claim", build_claim, member),
    task_endpoint("POST /api/tasks/{id}/unclaim", "unclaim", build_unclaim, lambda r, s: member(r, s) or supervisor_of(r, s)),
    task_endpoint("POST /api/tasks/{id}/assign", "assign", build_assign, supervisor_of),
    task_endpoint("POST /api/tasks/{id}/delegate", "delegate", build_delegate, member),
    task_endpoint("POST /api/tasks/{id}/resolve", "resolve", build_resolve, member),
    task_endpoint("POST /api/tasks/{id}/complete", "complete", build_complete, member),
    # handling operations (worklists.handling)
    Endpoint("POST /api/tasks/{id}/send-back", build_send_back, expect_send_back),
    task_endpoint("POST /api/tasks/{id}/transfer", "transfer", build_transfer, member),
    task_endpoint("POST /api/tasks/{id}/add-signers", "add-signers", build_add_signers, member),
    task_endpoint("POST /api/tasks/{id}/withdraw", "withdraw", build_withdraw, member),
    Endpoint("POST /api/cases/{id}/cc", build_cc, case_rule(CC_ALLOWED)),
    Endpoint("POST /api/cc/{id}/read", build_cc_read, expect_cc_read),
    Endpoint("POST /api/cases/{id}/urge", case_op(lambda w, t, g: w.case(t, g), "/urge", {"comment": "请加快"}),
             case_rule(URGE_ALLOWED, ok=201)),
    Endpoint("POST /api/cases/{id}/suspend", case_op(lambda w, t, g: w.ready_task(t, g)[1], "/suspend",
                                                     {"reason": "等待批示"}), case_rule(SUPERVISE_ALLOWED)),
    Endpoint("POST /api/cases/{id}/resume", case_op(lambda w, t, g: w.suspended_case(t, g), "/resume"),
             case_rule(SUPERVISE_ALLOWED)),
    # supervision, operations, data centre
    Endpoint("GET /api/supervision/metrics", fixed("get", "/api/supervision/metrics"),
             readers(("supervisor", "auditor", "admin")), scoped=False),
    Endpoint("GET /api/supervision/trend", fixed("get", "/api/supervision/trend"),
             readers(("supervisor", "auditor", "admin")), scoped=False),
    Endpoint("GET /api/supervision/watchlist", fixed("get", "/api/supervision/watchlist"),
             readers(("supervisor", "auditor", "admin")), scoped=False),
    Endpoint("GET /api/supervision/cases/{id}/presses",
             lambda w, r, u, s: ("get", f"/api/supervision/cases/{w.case(*w.place(r, s))}/presses", {}), readers(ROLES.keys() - {"anonymous"})),
    Endpoint("POST /api/supervision/cases/{id}/presses", build_press, expect_press),
    Endpoint("POST /api/supervision/presses/{id}/answer", build_answer, expect_answer),
    # the auditor's desk
    Endpoint("GET /api/audit/cases", fixed("get", "/api/audit/cases"), readers(("auditor", "admin")), scoped=False),
    Endpoint("GET /api/trail/events", fixed("get", "/api/trail/events"), readers(("auditor", "admin")), scoped=False),
    Endpoint("POST /api/audits/queue",
             lambda w, r, u, s: ("post", "/api/audits/queue", {"json": {"case_id": w.ready_task(*w.place(r, s))[1]}}),
             readers(("auditor", "admin"), ok=201)),
    # users (admins of the tenant)
    Endpoint("GET /api/users", fixed("get", "/api/users"), readers(("admin",)), scoped=False),
    Endpoint("POST /api/users",
             lambda w, r, u, s: ("post", "/api/users", {"json": {"username": w.fresh_name(), "password": "a-long-password",
                                                                 "roles": ["clerk"], "groups": ["civil_affairs"]}}),
             readers(("admin",), ok=201), scoped=False),
    Endpoint("PUT /api/users/{username}",
             lambda w, r, u, s: ("put", f"/api/users/{w.victim(r, s)}", {"json": {"roles": ["clerk"], "groups": ["intake"]}}),
             readers(("admin",))),
    Endpoint("POST /api/users/{username}/password",
             lambda w, r, u, s: ("post", f"/api/users/{w.victim(r, s)}/password", {"json": {"password": "another-password"}}),
             readers(("admin",))),
    Endpoint("POST /api/users/{username}/disable",
             lambda w, r, u, s: ("post", f"/api/users/{w.victim(r, s)}/disable", {}), readers(("admin",))),
    Endpoint("POST /api/users/{username}/enable",
             lambda w, r, u, s: ("post", f"/api/users/{w.victim(r, s)}/enable", {}), readers(("admin",))),
    # the working-day calendar (admins change their tenant's; everyone reads it)
    Endpoint("GET /api/calendar/{year}", fixed("get", "/api/calendar/2030"), readers(ROLES.keys() - {"anonymous"}),
             scoped=False),
    Endpoint("POST /api/calendar/days",
             fixed("post", "/api/calendar/days", json={"days": [{"day": "2030-01-02", "working": False}]}),
             readers(("admin",)), scoped=False),
    Endpoint("POST /api/calendar/days/remove", fixed("post", "/api/calendar/days/remove", json={"days": ["2030-01-02"]}),
             readers(("admin",)), scoped=False),
    Endpoint("POST /api/calendar/import",
             lambda w, r, u, s: ("post", "/api/calendar/import",
                                 {"data": {"file": (__import__("io").BytesIO(b"2030-01-03,holiday"), "2030.csv")},
                                  "content_type": "multipart/form-data"}),
             readers(("admin",)), scoped=False),
    Endpoint("POST /api/calendar/recompute", fixed("post", "/api/calendar/recompute"), readers(("admin",)), scoped=False),
    # grid reports and the emergency board
    Endpoint("GET /api/events/mine", fixed("get", "/api/events/mine"), readers(("clerk", "intake", "supervisor", "admin")),
             scoped=False),
    Endpoint("GET /api/emergency/board", fixed("get", "/api/emergency/board"),
             readers(("clerk", "intake", "supervisor", "admin", "auditor")), scoped=False),
    Endpoint("GET /api/ops/health", fixed("get", "/api/ops/health"), by_role({r: 200 for r in ROLES}), scoped=False),
    Endpoint("GET /api/ops/incidents", fixed("get", "/api/ops/incidents"),
             readers(("admin", "supervisor", "auditor", "designer")), scoped=False),
    Endpoint("POST /api/ops/incidents/{id}/retry",
             lambda w, r, u, s: ("post", f"/api/ops/incidents/{w.incident('jinrong' if s == 'other tenant' else 'xichangan')}/retry", {}),
             readers(("admin", "supervisor", "designer"))),
    Endpoint("GET /api/residents", fixed("get", "/api/residents"), readers(REGISTRY_READERS), scoped=False),
    Endpoint("GET /api/residents/{id}",
             lambda w, r, u, s: ("get", f"/api/residents/{w.resident('jinrong' if s == 'other tenant' else 'xichangan')}", {}),
             readers(REGISTRY_READERS)),
    Endpoint("GET /api/analytics/parking", fixed("get", "/api/analytics/parking"), readers(ROLES.keys() - {"anonymous"}),
             scoped=False),
]


def _one_window_rows() -> list:
    """The one window's rows live with the one window (tests/e2e/onewindow_roles.py)."""
    from tests.e2e.onewindow_roles import one_window_endpoints

    return one_window_endpoints(Endpoint, readers, ROLES)


ENDPOINTS += _one_window_rows()


def test_the_role_matrix_holds_on_every_endpoint(app, ctx):
    api = Api(app.test_client())
    world = World(ctx, api)
    wrong, cells = [], 0
    for endpoint in ENDPOINTS:
        for role, username in ROLES.items():
            for scope in (SCOPES if endpoint.scoped else ("own",)):
                method, target, kwargs = endpoint.request(world, role, username, scope)
                if method == "deploy":
                    response = api.deploy(username, target)
                else:
                    response = getattr(api, method)(target, username, **kwargs)
                expected = endpoint.expect(role, scope)
                cells += 1
                if response.status_code != expected:
                    body = response.get_json(silent=True) or {}
                    wrong.append(f"{endpoint.name:45} {role:10} {scope:12} expected {expected}, got "
                                 f"{response.status_code} {body.get('message', '')}")
                elif response.status_code >= 400 and response.is_json:
                    assert set(response.get_json()) >= {"code", "status", "message"}
    assert wrong == [], "\n" + "\n".join(wrong)
    assert cells > 250


def _shape(name: str) -> str:
    """``POST /api/tasks/<int:task_id>/claim`` and ``POST /api/tasks/{id}/claim`` compare equal."""
    import re

    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", name)


def test_the_table_covers_every_endpoint(app):
    """A new endpoint must join the table above (the docs pages and static files aside)."""
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule.startswith("/api/docs") or rule.rule == "/api/openapi.json":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add(_shape(f"{method} {rule.rule}"))
    covered = {_shape(e.name) for e in ENDPOINTS} | {"POST /api/auth/token"}  # the login: test_login_rate_limits.py
    assert served - covered == set()
    assert covered - served == set()  # and no row for an endpoint that is gone
