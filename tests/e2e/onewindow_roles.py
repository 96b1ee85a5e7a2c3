"""The one window's rows of the role matrix (tests/e2e/test_roles_matrix.py).

Kept here so the one window's endpoints join the matrix without the matrix depending on
how their resources are made: service models are deployed into the matrix's world on first
use; cases to rate are concluded on the generic demo process; audit items are queued for a
case of the world.
"""
from __future__ import annotations

import base64
import io

from sqlalchemy import select

from datacentre.models import GridCell
from onewindow.models import Audit
from server.demo import BPMN_DIR, model_files, system_actor
from tests.files_helpers import png
from workflows.cases import start_case
from workflows.models import Case
from workflows.process_models import deploy_model
from worklists import commands

STARTERS = {"xichangan": "intake1", "jinrong": "intake9"}
PNG_FILE = png()
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
MODELS = ("civil_affairs_service", "grid_event", "rating_follow_up")


def _tenant(scope: str) -> str:
    return "jinrong" if scope == "other tenant" else "xichangan"


def _models(world) -> None:
    def deploy():
        for tenant in ("xichangan", "jinrong"):
            for folder in MODELS:
                deploy_model(world.ctx, system_actor(world.ctx, tenant), model_files(BPMN_DIR / folder))
        return True

    world.shared(("one window models",), deploy)


def _concluded_case(world, tenant: str) -> int:
    """A fresh case of the generic demo process, accepted, reviewed and decided (concluded)."""
    starter = world.actors["intake1" if tenant == "xichangan" else "intake9"]
    clerk = world.actors["civil1" if tenant == "xichangan" else "civil9"]
    case = start_case(world.ctx, starter, "service_application")
    task = case["tasks"][0]["id"]
    commands.claim(world.ctx, starter, task)
    _, [review] = commands.complete(world.ctx, starter, task, {"acceptance": "accept", "department": "civil_affairs"})
    commands.claim(world.ctx, clerk, review["id"])
    _, [decide] = commands.complete(world.ctx, clerk, review["id"], {"review_result": "meets_conditions"})
    commands.claim(world.ctx, clerk, decide["id"])
    commands.complete(world.ctx, clerk, decide["id"], {"approved": True})
    return case["id"]


def _audit_item(world, tenant: str) -> int:
    case_id = _concluded_case(world, tenant)
    with world.ctx.unit_of_work() as uow:
        tenant_id = uow.session.scalar(select(Case.tenant_id).where(Case.id == case_id))
        audit = Audit(tenant_id=tenant_id, case_id=case_id, service_code=None, status="pending",
                      queued_at=world.ctx.clock())
        uow.session.add(audit)
        uow.session.flush()
        uow.commit()
        return audit.id


def _grid(world, tenant: str) -> str:
    from workflows.models import Tenant

    with world.ctx.unit_of_work() as uow:
        return uow.session.scalar(select(GridCell.code).join(Tenant, Tenant.id == GridCell.tenant_id)
                                  .where(Tenant.code == tenant).order_by(GridCell.code).limit(1))


def _event_with_photo(world, tenant: str) -> int:
    def report():
        _models(world)
        from onewindow.events import report_event

        reporter = world.actors["civil1" if tenant == "xichangan" else "civil9"]
        return report_event(world.ctx, reporter, "litter", _grid(world, tenant), "垃圾", photo=PNG)["id"]

    return world.shared(("event", tenant), report)


def one_window_endpoints(Endpoint, readers, ROLES) -> list:
    """The matrix rows of the catalogue, intake, ratings, report, audits, events and proactive job."""
    everyone = ROLES.keys() - {"anonymous"}

    def prefill(w, r, u, s):
        return "get", f"/api/services/senior_card/prefill?applicant_id={w.resident(_tenant(s))}", {}

    def check(w, r, u, s):
        return "get", f"/api/services/senior_card/check?applicant_id={w.resident(_tenant(s))}", {}

    def materials(w, r, u, s):
        return "get", f"/api/services/senior_card/materials?applicant_id={w.resident(_tenant(s))}", {}

    def apply(w, r, u, s):
        # a service without eligibility rules or duplicate check: every cell applies for the same resident
        _models(w)
        return "post", "/api/cases", {"json": {"service_code": "funeral_subsidy", "applicant_id": w.resident(_tenant(s)),
                                               "form": {"deceased_name": "王某", "deceased_id_number": "11010519491231002X",
                                                        "date_of_death": "2026-11-01", "relation": "child",
                                                        "bank_account": "6222020200112233445"}}}

    def bulk(w, r, u, s):
        _models(w)
        return "post", "/api/cases/bulk", {"json": {"service_code": "senior_card", "entries": [
            {"applicant_id": w.resident(_tenant(s)), "form": {"hukou_local": True}}]}}

    def rate(w, r, u, s):
        _models(w)
        return "post", f"/api/cases/{_concluded_case(w, _tenant(s))}/rating", {"json": {"score": 4}}

    def finding(w, r, u, s):
        return "post", f"/api/audits/{_audit_item(w, _tenant(s))}/finding", {"json": {"result": "compliant", "finding": "ok"}}

    def event(w, r, u, s):
        _models(w)
        return "post", "/api/events", {"json": {"category": "litter", "grid": _grid(w, "xichangan"), "description": "垃圾"}}

    def photo(w, r, u, s):
        return "get", f"/api/events/{_event_with_photo(w, _tenant(s))}/photo", {}

    def file_rule(ok):
        """Files: the window and admins (and auditors, reading) any case of their tenant; a clerk or
        supervisor only a case with a task in their groups (``own``); designers none (403)."""
        def expect(role, scope):
            if role == "anonymous":
                return 401
            if role == "designer" or (role == "auditor" and ok != 200):
                return 403
            if scope == "other tenant":
                return 404
            if role in ("intake", "admin", "auditor"):
                return ok
            return ok if scope == "own" else 404
        return expect

    def content_rule(role, scope):
        """A file's content is personal data in full: the window, admins and the clerk whose group
        holds the case's open task; auditors and supervisors list files but do not open them (403)."""
        expected = file_rule(200)(role, scope)
        if expected == 200 and role in ("auditor", "supervisor"):
            return 403
        return expected

    def case_files(method):
        def build(w, r, u, s):
            tenant, group = w.place(r, s)
            url = f"/api/cases/{w.case(tenant, group)}/files"
            if method == "get":
                return "get", url, {}
            return "post", url, {"data": {"file": (io.BytesIO(PNG_FILE), "scan.png")}, "content_type": "multipart/form-data"}
        return build

    def download(w, r, u, s):
        tenant, group = w.place(r, s)
        case_id = w.case(tenant, group)

        def upload():
            response = w.api.post(f"/api/cases/{case_id}/files", STARTERS[tenant], content_type="multipart/form-data",
                                  data={"file": (io.BytesIO(PNG_FILE), "scan.png")})
            assert response.status_code == 201, response.get_json()
            return response.get_json()["id"]
        return "get", f"/api/files/{w.shared(('file', tenant, group), upload)}", {}

    return [
        # no sign-in: a wrong code is the same 404 for everyone (a number per role: the rate limit counts per number)
        Endpoint("GET /api/public/progress", lambda w, r, u, s: ("get", f"/api/public/progress?number=NOPE-{r}&code=ABC234", {}),
                 lambda role, scope: 404, scoped=False),
        Endpoint("POST /api/cases/{id}/files", case_files("post"), file_rule(201)),
        Endpoint("GET /api/cases/{id}/files", case_files("get"), file_rule(200)),
        Endpoint("GET /api/files/{id}", download, content_rule),
        Endpoint("GET /api/services", lambda w, r, u, s: ("get", "/api/services", {}), readers(everyone), scoped=False),
        Endpoint("GET /api/services/<string:code>", lambda w, r, u, s: ("get", "/api/services/senior_card", {}),
                 readers(everyone), scoped=False),
        Endpoint("GET /api/services/<string:code>/prefill", prefill, readers(("intake", "clerk", "supervisor", "admin"))),
        Endpoint("GET /api/services/<string:code>/check", check, readers(("intake", "admin"))),
        Endpoint("GET /api/services/<string:code>/materials", materials, readers(("intake", "admin"))),
        Endpoint("POST /api/cases", apply, readers(("intake", "admin"), ok=201)),
        Endpoint("POST /api/cases/bulk", bulk, readers(("intake", "admin")), scoped=False),
        Endpoint("POST /api/cases/{id}/rating", rate, readers(("intake", "admin"), ok=201)),
        Endpoint("GET /api/intake/report", lambda w, r, u, s: ("get", "/api/intake/report?applications=20", {}),
                 readers(("supervisor", "auditor", "admin", "intake")), scoped=False),
        Endpoint("GET /api/audits", lambda w, r, u, s: ("get", "/api/audits", {}),
                 readers(("auditor", "admin", "supervisor")), scoped=False),
        Endpoint("POST /api/audits/<int:audit_id>/finding", finding, readers(("auditor", "admin"))),
        Endpoint("POST /api/events", event, readers(("clerk", "intake", "supervisor", "admin"), ok=201), scoped=False),
        Endpoint("GET /api/events/{id}/photo", photo, readers(("clerk", "intake", "supervisor", "admin", "auditor"))),
        Endpoint("POST /api/proactive/run", lambda w, r, u, s: ("post", "/api/proactive/run", {}),
                 readers(("admin", "supervisor", "intake")), scoped=False),
    ]
