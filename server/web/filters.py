"""Template helpers: dates in the tenant's zone, labels of statuses, roles and groups."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from onewindow.catalogue import load_catalogue

from ..form_labels import department_name

from .pages import navigation

TASK_STATUS = {
    "ready": _l("Waiting to be claimed"),
    "claimed": _l("Claimed"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "error": _l("Stopped by an error"),
}
CASE_STATUS = {
    "open": _l("In progress"),
    "waiting_applicant": _l("Waiting for the applicant's materials"),
    "concluded": _l("Concluded"),
    "refused": _l("Refused"),
    "terminated": _l("Ended"),
    "suspended": _l("Suspended"),
}
ROLE = {
    "clerk": _l("Department clerk"),
    "intake": _l("Intake clerk"),
    "supervisor": _l("Supervisor"),
    "designer": _l("Process designer"),
    "auditor": _l("Auditor"),
    "admin": _l("Administrator"),
}
# Groups that are not catalogue departments (lanes of the shipped processes, the demo's offices).
GROUP = {
    "intake": _l("Intake window"),
    "applicant": _l("Applicant"),
    "street_lane_chief": _l("Street-lane chiefs"),
    "auditors": _l("Audit office"),
    "supervision": _l("Supervision office"),
    "grid_center": _l("Grid management centre"),
    "duty_leader": _l("Duty leader"),
    "emergency_management": _l("Emergency management"),
}


LABELS = {
    "certificate_status": {"valid": _l("valid"), "expired": _l("expired"), "revoked": _l("revoked"),
                           "superseded": _l("superseded")},
    "assistance": {"minimum_living": _l("minimum living allowance"), "low_income": _l("low-income family"),
                   "extreme_poverty": _l("extreme poverty support")},
    "decision": {"acceptance": _l("Decision"), "refusal_reason": _l("Reason for refusal"),
                 "missing_materials": _l("Everything missing"), "delivery_method": _l("The result is")},
}


def label(kind: str, code) -> str:
    found = LABELS.get(kind, {}).get(code)
    return str(found) if found is not None else ("" if code is None else str(code))


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _bilingual(text: str) -> str:
    """Shipped names read "中文 English" or "English 中文": the part in the page's language."""
    if not text or " " not in text:
        return text or ""
    words = text.split(" ")
    cut = next((i for i in range(1, len(words)) if _has_cjk(words[i]) != _has_cjk(words[i - 1])), None)
    if cut is None:
        return text
    first, second = " ".join(words[:cut]), " ".join(words[cut:])
    chinese, english = (first, second) if _has_cjk(first) else (second, first)
    return english if locale() == "en" else chinese


def certificate_name(kind: str) -> str:
    from datacentre.certificates import CERTIFICATE_TYPES

    return _bilingual(CERTIFICATE_TYPES.get(kind, {}).get("name", kind))


def material_name(material: dict) -> str:
    """A checklist item's name in the page's language (``name`` / ``name_en``)."""
    if locale() == "en" and material.get("name_en"):
        return material["name_en"]
    return _bilingual(material.get("name", material.get("code", "")))


def material_label(service_code: str | None, code: str) -> str:
    """The name of a service's material by its code (the code itself if the catalogue has no such item)."""
    try:
        items = load_catalogue().service(service_code).materials
    except Exception:  # noqa: BLE001 — an unknown service shows the code
        return code
    found = next((m for m in items if m.get("code") == code), None)
    return material_name(found) if found else code


SOURCE_KINDS = {"registry": _l("Population registry"), "certificate": _l("Certificate library"),
                "case": _l("Earlier case")}


def source_label(source: str | None) -> str:
    """Where a prefilled value came from, in words: the registry, a certificate, an earlier case."""
    if not source:
        return ""
    kind, _, rest = source.partition(":")
    if kind == "registry":
        return str(SOURCE_KINDS["registry"])
    if kind == "certificate":
        cert_type, _, number = rest.partition(":")
        return f"{SOURCE_KINDS['certificate']}：{certificate_name(cert_type)} {number}".strip()
    if kind == "case":
        return f"{SOURCE_KINDS['case']} {rest}"
    return source


def locale() -> str:
    return str(get_locale() or "zh")


def group_name(code: str | None) -> str:
    """A group (department, lane) as a person calls it, in the page's language."""
    if not code:
        return ""
    if code in load_catalogue().departments:
        return department_name(code)
    label = GROUP.get(code)
    return str(label) if label else code


def service_name(code: str | None) -> str:
    if not code:
        return ""
    try:
        service = load_catalogue().service(code)
    except Exception:  # noqa: BLE001 — an unknown code is shown as it is
        return code
    return (service.name_en if locale() == "en" else service.name) or code


def _zone() -> ZoneInfo:
    actor = g.get("actor")
    return ZoneInfo(actor.timezone if actor else current_app.config.get("REDWALL_TIMEZONE", "Asia/Shanghai"))


def local_time(value, with_time: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            from datetime import timezone

            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(_zone())
        return value.strftime("%Y-%m-%d %H:%M") if with_time else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def masked_id(value) -> str:
    """An identity number always masked (documents handed to the applicant, summaries)."""
    from workflows.identity_numbers import mask_id_number

    return mask_id_number(value) if isinstance(value, str) and value else ""


def now_date() -> str:
    return local_time(datetime.now(ZoneInfo("UTC")), with_time=False)


def role_names(actor) -> str:
    return "、".join(str(ROLE.get(r, r)) for r in sorted(actor.roles))


def register_filters(app) -> None:
    app.jinja_env.globals.update(
        navigation=navigation, role_names=role_names, group_name=group_name, service_name=service_name,
        current_locale=locale, html_lang=lambda: "en" if locale() == "en" else "zh-CN",
        role_label=lambda r: str(ROLE.get(r, r)),
        story_text=story_text, masked_id=masked_id, now_date=now_date, label=label, certificate_name=certificate_name,
        material_name=material_name, material_label=material_label, source_label=source_label,
        decision_label=lambda name: label("decision", name), bilingual=_bilingual,
        task_status=lambda s: str(TASK_STATUS.get(s, s)), case_status=lambda s: str(CASE_STATUS.get(s, s)),
    )
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = lambda v: local_time(v, with_time=False)
    app.jinja_env.globals["Markup"] = Markup


# -- the case story in words ---------------------------------------------------------------
STORY = {
    "case.received": _l("received the application"),
    "case.intake": _l("recorded the application at the window"),
    "case.accepted": _l("accepted the application"),
    "case.refused": _l("refused the application"),
    "case.supplement_requested": _l("listed the missing materials in one notice"),
    "case.supplemented": _l("recorded that the materials were supplied"),
    "case.concluded": _l("concluded the case"),
    "case.delivered": _l("delivered the result"),
    "case.archived": _l("archived the case"),
    "case.audit_queued": _l("put the case in the audit queue"),
    "case.audited": _l("audited the case"),
    "case.pressed": _l("pressed the case"),
    "case.press_answered": _l("answered the pressing"),
    "case.rated": _l("recorded the applicant's rating"),
    "case.status_changed": _l("case status changed to “%(to)s”"),
    "task.created": _l("“%(task)s” opened"),
    "task.claimed": _l("claimed “%(task)s”"),
    "task.unclaimed": _l("handed “%(task)s” back to the group"),
    "task.assigned": _l("assigned “%(task)s” to %(to)s"),
    "task.delegated": _l("delegated “%(task)s” to %(to)s"),
    "task.returned": _l("returned “%(task)s” to %(to)s"),
    "task.completed": _l("completed “%(task)s”"),
    "task.cancelled": _l("“%(task)s” was cancelled"),
    "gateway.decided": _l("the process went on to “%(taken)s”"),
    "deadline.set": _l("the deadline was set: %(deadline)s"),
    "deadline.paused": _l("the deadline clock paused (waiting for the applicant)"),
    "deadline.resumed": _l("the deadline clock resumed"),
    "deadline.stopped": _l("the deadline clock stopped"),
    "deadline.warned": _l("warning: the deadline is near"),
    "deadline.overdue": _l("the deadline passed"),
    "supervision.warning": _l("supervision warning (预警)"),
    "supervision.yellow": _l("yellow card: overdue"),
    "supervision.red": _l("red card: seriously overdue"),
    "certificate.issued": _l("a certificate was issued"),
    "certificate.revoked": _l("a certificate was revoked"),
    "message.received": _l("message “%(name)s” received"),
    "timer.fired": _l("a timer fired"),
    "incident.raised": _l("an error stopped the case"),
    "incident.retried": _l("the failed step was retried"),
    "pii.read": _l("read the full personal data"),
}


def story_text(event: dict) -> str:
    details = event.get("details") or {}
    template = STORY.get(event["kind"])
    if template is None:
        return event["kind"]
    taken = details.get("taken") or []
    values = {
        "task": _bilingual(event.get("task_name") or ""),
        "to": CASE_STATUS.get(details.get("to"), details.get("to") or "") if event["kind"] == "case.status_changed"
        else details.get("to") or "",
        "name": details.get("name") or "",
        "deadline": local_time(details.get("deadline"), with_time=False) if details.get("deadline") else "",
        "taken": "、".join(_bilingual(t.get("target_name") or t.get("target") or "") for t in taken if isinstance(t, dict)),
    }
    try:
        return str(template) % values
    except (KeyError, ValueError, TypeError):
        return str(template)
