"""Demo data for ``make run``: the xichangan tenant, its users, and the shipped models."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

import redwall_resources as resources
from workflows import accounts
from workflows.accounts import Actor
from workflows.models import Tenant, User
from workflows.process_models import deploy_model

BPMN_DIR = resources.BPMN_DIR / "processes"
DEMO_TENANT = "xichangan"
DEMO_PASSWORD = "redwall-demo"
DEMO_USERS = [
    # username, roles, member of, supervises
    ("intake1", ["intake"], ["intake"], []),
    ("civil1", ["clerk"], ["civil_affairs"], []),
    ("disabled1", ["clerk"], ["disabled_federation"], []),
    ("super1", ["supervisor"], [], ["civil_affairs", "disabled_federation"]),
    ("designer1", ["designer"], [], []),
    ("auditor1", ["auditor"], [], []),
    ("admin1", ["admin"], [], []),
    # the one window (onewindow/): street-lane chief, grid centre, duty leader, other departments
    ("lane1", ["clerk"], ["street_lane_chief"], []),
    ("grid1", ["clerk"], ["grid_center", "city_management"], []),
    ("leader1", ["clerk"], ["duty_leader", "emergency_management"], []),
    ("social1", ["clerk"], ["social_security", "health", "housing", "veterans", "community", "justice"], []),
    ("super2", ["supervisor"], ["supervision"], ["supervision", "city_management", "social_security", "health",
                                                 "housing", "veterans", "community", "justice", "street_lane_chief"]),
]


def system_actor(ctx, tenant_code: str) -> Actor:
    """The installation itself, acting as designer (CLI deployments, demo loading). The tenant must
    exist: an unknown code (a typo in ``--tenant``) is an error, never a new tenant."""
    with ctx.unit_of_work() as uow:
        tenant = accounts.find_tenant(uow.session, tenant_code)
        return Actor(
            user_id=0, username="system", tenant_id=tenant.id, tenant_code=tenant.code,
            roles=frozenset({"designer", "admin"}), groups=frozenset(), timezone=tenant.timezone,
        )


def model_folders() -> list[Path]:
    return sorted(p for p in BPMN_DIR.iterdir() if p.is_dir()) if BPMN_DIR.exists() else []


def model_files(folder: Path) -> list[tuple[str, bytes]]:
    """A folder's files, the BPMN first (the entry process is taken from the first file)."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".bpmn", ".dmn", ".json"))
    files.sort(key=lambda p: (p.suffix != ".bpmn", p.name != f"{folder.name}.bpmn", p.name))
    return [(p.name, p.read_bytes()) for p in files]


def load_demo(ctx) -> list[str]:
    lines = []
    with ctx.unit_of_work() as uow:
        s = uow.session
        tenant = accounts.ensure_tenant(s, DEMO_TENANT, "西长安街街道 Xichang'anjie")
        for username, roles, groups, supervises in DEMO_USERS:
            if s.scalar(select(User.id).where(User.username == username)) is None:
                accounts.add_user(s, tenant.code, username, DEMO_PASSWORD, roles, groups, supervises)
                lines.append(f"user {username} ({', '.join(roles)}) created")
        uow.commit()
    actor = system_actor(ctx, DEMO_TENANT)
    for folder in model_folders():
        model, created = deploy_model(ctx, actor, model_files(folder))
        lines.append(f"model {model['key']} v{model['version']} {'deployed' if created else 'unchanged'}")
    lines.append(load_demo_registry(ctx, actor))
    lines.append(load_demo_cases(ctx))
    return lines


# A few applications received at the window, so that a newcomer's inboxes are not empty:
# (service, the window's decision, extra) — accepted ones wait for review in their department.
DEMO_APPLICATIONS = [
    ("senior_card", "accept", {}),
    ("severe_disability_care_subsidy", "accept", {"care_arrangement": "home", "bank_account": "6222020200112233445"}),
    ("disability_card", "accept", {"bank_name": "中国工商银行"}),
    ("elderly_meal_voucher", "supplement", {"meal_service_point": "西单北社区养老驿站"}),
]


def load_demo_cases(ctx) -> str:
    """Receive the demo applications once (the window's own use case, as intake1)."""
    from onewindow.eligibility import check_eligibility
    from workflows.errors import RedwallError
    from workflows.models import Case
    from desks.window import receive_at_window

    with ctx.unit_of_work() as uow:
        tenant = uow.session.scalar(select(Tenant).where(Tenant.code == DEMO_TENANT))
        if uow.session.scalar(select(Case.id).where(Case.tenant_id == tenant.id).limit(1)) is not None:
            return "cases: present, unchanged"
        user = uow.session.scalar(select(User).where(User.username == "intake1"))
        intake = accounts.actor_for(user)
    received, used = [], set()
    for code, decision, form in DEMO_APPLICATIONS:
        for resident in range(1, 400):
            if resident in used or not check_eligibility(ctx, intake, code, resident)["eligible"]:
                continue
            try:
                case = receive_at_window(ctx, intake, code, resident, form, decision,
                                         missing_materials=["户口簿原件"] if decision == "supplement" else None)
            except RedwallError:
                continue  # the form needs a value this resident lacks: the next one
            used.add(resident)
            received.append(case["case"]["number"])
            break
    return f"cases: {len(received)} applications received at the window ({', '.join(received)})"


DEMO_RESIDENTS = 2000


def load_demo_registry(ctx, actor: Actor) -> str:
    """A modest synthetic data centre (residents, houses, cars, parking, certificates), once."""
    from datacentre import synthetic

    with ctx.unit_of_work() as uow:
        present = synthetic.tenant_residents(uow.session, actor.tenant_id)
    if present:
        return f"registry: {present} residents present, unchanged"
    result = synthetic.generate_demo_data(ctx, actor, DEMO_RESIDENTS, seed=1)
    counts = result["counts"]
    return (f"registry: {counts['people']} synthetic residents in {counts['houses']} houses, "
            f"{counts['vehicles']} vehicles, {counts['certificates']} certificates loaded")
