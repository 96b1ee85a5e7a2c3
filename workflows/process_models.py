"""Use cases of process designers: deploy versioned models, list them, read their files."""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.exc import IntegrityError

from .accounts import Actor
from .context import EngineContext
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .model_parsing import InvalidModel, is_bpmn_file, parse_model_files
from .models import Case, ProcessModel, ProcessModelFile

DEPLOY_ROLES = ("designer", "admin")


def model_view(model: ProcessModel) -> dict:
    return {
        "id": model.id,
        "key": model.key,
        "version": model.version,
        "name": model.name,
        "checksum": model.checksum,
        "deployed_at": model.deployed_at,
        "deployed_by": model.deployed_by,
        "executable": bool(model.executable),
    }


def checksum_of(files: list[tuple[str, bytes]]) -> str:
    """Content hash of a deployment; the order files were uploaded in does not matter."""
    digest = hashlib.sha256()
    for name, content in sorted(files):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def check_model(actor: Actor, files: list[tuple[str, bytes]], key: str | None = None) -> dict:
    """Every check deployment applies, without storing anything: what the studio calls as the
    designer edits (scripts, conditions, timers and DMN cells against the sandbox's rules,
    the schema, the engine's own parse).

    Returns ``{"valid", "key", "executable", "problems", "warnings"}``; ``problems`` are the
    blockers a deploy would answer with a 422, in the same shape (file, line, element_id,
    message), ``warnings`` what a deploy would accept but report.
    """
    if not actor.has_role(*DEPLOY_ROLES):
        raise Forbidden("only designers and admins check process models")
    names = [name for name, _ in files]
    if len(set(names)) != len(names):
        raise InvalidInput("two uploaded files have the same name", {"files": ["file names must be unique"]})
    try:
        parsed = parse_model_files(files, key=key)
    except InvalidModel as exc:
        return {"valid": False, "key": key, "executable": None,
                "problems": [p.as_dict() for p in exc.problems], "warnings": []}
    return {"valid": True, "key": parsed.key, "executable": parsed.executable, "problems": [],
            "warnings": [p.as_dict() for p in parsed.warnings]}


def deploy_model(
    ctx: EngineContext, actor: Actor, files: list[tuple[str, bytes]], key: str | None = None
) -> tuple[dict, bool]:
    """Deploy BPMN/DMN/form files as the next version of their process key.

    Returns ``(model, created)``: content identical to the latest version gives that
    version back with ``created=False``. Invalid files raise :class:`InvalidInput` with
    ``errors["bpmn"]`` listing each problem (file, line, element id, message). A model with
    no executable process is stored with ``executable: false`` (never started). The answer's
    ``warnings`` lists what does not block deployment (schema violations in the diagram part
    or vendor extensions), in the shape of the problems.
    """
    if not actor.has_role(*DEPLOY_ROLES):
        raise Forbidden("only designers and admins deploy process models")
    names = [name for name, _ in files]
    parsed = validate_model_files(files, key)
    checksum = checksum_of(files)
    warnings = [p.as_dict() for p in parsed.warnings]
    with ctx.unit_of_work() as uow:
        s = uow.session
        latest = s.scalar(
            select(ProcessModel)
            .where(ProcessModel.tenant_id == actor.tenant_id, ProcessModel.key == parsed.key)
            .order_by(ProcessModel.version.desc())
            .limit(1)
        )
        if latest is not None and latest.checksum == checksum:
            return {**model_view(latest), "warnings": warnings}, False
        model = ProcessModel(
            tenant_id=actor.tenant_id,
            key=parsed.key,
            version=(latest.version + 1) if latest else 1,
            name=parsed.name,
            checksum=checksum,
            deployed_at=ctx.clock(),
            deployed_by=actor.username,
            executable=parsed.executable,
        )
        model.files = [
            ProcessModelFile(position=i, filename=name, content=content) for i, (name, content) in enumerate(files)
        ]
        s.add(model)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict(f"another deployment of {parsed.key!r} happened at the same time; try again") from None
        view = model_view(model)
        uow.record(
            "model.deployed", actor.tenant_id, actor=actor.username, at=model.deployed_at,
            data={
                "key": model.key, "version": model.version, "checksum": checksum, "files": names,
                "executable": parsed.executable,
            },
        )
        uow.commit()
    if parsed.executable:
        ctx.runtimes.put(view["id"], parsed, tenant_id=actor.tenant_id)
    return {**view, "warnings": warnings}, True


def validate_model_files(files: list[tuple[str, bytes]], key: str | None = None):
    """The deploy validation: the parsed model, or :class:`InvalidInput` listing every problem
    (``errors["bpmn"]``), as :func:`deploy_model` answers; :func:`check_model` (the studio's
    检查) runs the same :func:`parse_model_files` and stores nothing."""
    names = [name for name, _ in files]
    if len(set(names)) != len(names):
        raise InvalidInput("two uploaded files have the same name", {"files": ["file names must be unique"]})
    try:
        return parse_model_files(files, key=key)
    except InvalidModel as exc:
        raise InvalidInput(
            f"the model is not valid: {exc.problems[0].message}"
            + (f" (and {len(exc.problems) - 1} more problems)" if len(exc.problems) > 1 else ""),
            {"bpmn": [p.as_dict() for p in exc.problems]},
        ) from None


def list_models(ctx: EngineContext, actor: Actor) -> list[dict]:
    """The latest version of each process key of the caller's tenant."""
    with ctx.unit_of_work() as uow:
        latest = (
            select(ProcessModel.key, func.max(ProcessModel.version).label("version"))
            .where(ProcessModel.tenant_id == actor.tenant_id)
            .group_by(ProcessModel.key)
            .subquery()
        )
        rows = uow.session.scalars(
            select(ProcessModel)
            .join(latest, (ProcessModel.key == latest.c.key) & (ProcessModel.version == latest.c.version))
            .where(ProcessModel.tenant_id == actor.tenant_id)
            .order_by(ProcessModel.key)
        )
        return [model_view(m) for m in rows]


def model_versions(ctx: EngineContext, actor: Actor, key: str) -> list[dict]:
    with ctx.unit_of_work() as uow:
        rows = uow.session.scalars(
            select(ProcessModel)
            .where(ProcessModel.tenant_id == actor.tenant_id, ProcessModel.key == key)
            .order_by(ProcessModel.version.desc())
        ).all()
        if not rows:
            raise NotFound(f"no process model {key!r}")
        return [model_view(m) for m in rows]


#: Statuses of a case that still runs on its model version (not ended).
RUNNING_CASE_STATUSES = ("open", "waiting_applicant")


def model_catalogue(ctx: EngineContext, actor: Actor, key: str | None = None) -> list[dict]:
    """Every process key of the tenant (or only ``key``) with all its versions, newest first, and
    per version how many cases still run on it (``running_cases``) and how many were ever started
    (``cases``). Designers and admins only: it is the studio's list."""
    if not actor.has_role(*DEPLOY_ROLES):
        raise Forbidden("only designers and admins see the studio's models")
    models = [ProcessModel.tenant_id == actor.tenant_id] + ([ProcessModel.key == key] if key is not None else [])
    with ctx.unit_of_work() as uow:
        s = uow.session
        counts = {
            model_id: (total, running or 0)
            for model_id, total, running in s.execute(
                select(
                    Case.model_id,
                    func.count(Case.id),
                    func.sum(case((Case.status.in_(RUNNING_CASE_STATUSES), 1), else_=0)),
                )
                .where(Case.tenant_id == actor.tenant_id,
                       *([Case.model_id.in_(select(ProcessModel.id).where(*models))] if key is not None else []))
                .group_by(Case.model_id)
            )
        }
        rows = s.scalars(
            select(ProcessModel)
            .where(*models)
            .order_by(ProcessModel.key, ProcessModel.version.desc())
        )
        catalogue: dict[str, dict] = {}
        for m in rows:
            total, running = counts.get(m.id, (0, 0))
            entry = catalogue.setdefault(m.key, {"key": m.key, "name": m.name, "versions": []})
            entry["versions"].append({**model_view(m), "cases": int(total), "running_cases": int(running)})
        return list(catalogue.values())


def model_files(ctx: EngineContext, actor: Actor, key: str, version: int) -> list[tuple[str, bytes]]:
    """All files of one version in upload order (BPMN, DMN, forms): what the studio redeploys."""
    if not actor.has_role(*DEPLOY_ROLES):
        raise Forbidden("only designers and admins open models in the studio")
    with ctx.unit_of_work() as uow:
        model = uow.session.get(ProcessModel, find_model(uow.session, actor.tenant_id, key, version).id)
        return [(f.filename, bytes(f.content)) for f in sorted(model.files, key=lambda f: f.position)]


def studio_version(ctx: EngineContext, actor: Actor, key: str, version: int) -> tuple[dict, dict]:
    """``(model, shown)``: the key's entry of :func:`model_catalogue` and its version ``version``."""
    model = next(iter(model_catalogue(ctx, actor, key)), None)
    shown = next((v for v in (model or {}).get("versions", []) if v["version"] == version), None)
    if shown is None:
        raise NotFound(f"no process model {key!r} version {version}")
    return model, shown


def new_model_files(key: str, bpmn_xml: bytes, forms: dict[str, bytes] | None = None) -> list[tuple[str, bytes]]:
    """The files of a model drawn from scratch: its BPMN and the forms made for it in the studio."""
    return [(f"{key}.bpmn", bpmn_xml)] + _form_files(forms, reserved={f"{key}.bpmn"})


def deploy_new_model(ctx: EngineContext, actor: Actor, key: str, bpmn_xml: bytes,
                     forms: dict[str, bytes] | None = None) -> tuple[dict, bool]:
    """Deploy a model drawn from scratch as version 1 of a key nobody uses yet. A key that exists
    is refused (409): its next version is made from one of its versions, with its forms."""
    if not actor.has_role(*DEPLOY_ROLES):
        raise Forbidden("only designers and admins deploy process models")
    files = new_model_files(key, bpmn_xml, forms)
    with ctx.unit_of_work() as uow:
        if find_model_or_none(uow.session, actor.tenant_id, key) is not None:
            raise Conflict(f"a process model {key!r} exists already: open its latest version to deploy the next one",
                           {"key": ["already used by a deployed model"]})
    return deploy_model(ctx, actor, files, key=key)


#: A form file made or edited in the studio: a plain file name ending in .json (no folders).
FORM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}\.json$")


def _form_files(forms: dict[str, bytes] | None, reserved: set[str]) -> list[tuple[str, bytes]]:
    files = []
    for name, content in (forms or {}).items():
        if not isinstance(name, str) or not FORM_NAME.match(name) or name in reserved:
            raise InvalidInput(
                f"{str(name)[:100]!r} is not a form file name: letters, digits, '_', '.' or '-', ending in .json",
                {"forms": [f"{str(name)[:100]!r} is not a valid form file name"]})
        files.append((name, content))
    return files


def find_model_or_none(session, tenant_id: int, key: str):
    try:
        return find_model(session, tenant_id, key)
    except NotFound:
        return None


def edited_version_files(ctx: EngineContext, actor: Actor, key: str, version: int, bpmn_xml: bytes,
                         forms: dict[str, bytes] | None = None) -> list[tuple[str, bytes]]:
    """The files of ``key`` version ``version`` with its BPMN replaced by ``bpmn_xml`` and the
    forms edited or made in the studio (``forms``: file name -> JSON) replacing or joining its own."""
    filename, _ = model_xml(ctx, actor, key, version)
    current = model_files(ctx, actor, key, version)
    others = {name for name, _ in current if not name.lower().endswith(".json")}
    edited = dict(_form_files(forms, reserved=others))
    files = [(name, bpmn_xml if name == filename else edited.pop(name, content)) for name, content in current]
    return files + sorted(edited.items())


def deploy_edited_version(
    ctx: EngineContext, actor: Actor, key: str, version: int, bpmn_xml: bytes, forms: dict[str, bytes] | None = None
) -> tuple[dict, bool]:
    """Deploy the BPMN of ``key`` version ``version`` as edited in the studio, together with that
    version's other files (DMN, further BPMN) and its forms, edited or new ones included: the next
    version, checked by :func:`deploy_model` exactly as an upload through the API is."""
    return deploy_model(ctx, actor, edited_version_files(ctx, actor, key, version, bpmn_xml, forms), key=key)


_MODELS = ProcessModel.__table__
_MODEL_REF = (_MODELS.c.id, _MODELS.c.key, _MODELS.c.version, _MODELS.c.executable)
# Built once: starting a case looks its model up on every call.
_LATEST_MODEL = (
    select(*_MODEL_REF)
    .where(_MODELS.c.tenant_id == bindparam("tenant_id"), _MODELS.c.key == bindparam("key"))
    .order_by(_MODELS.c.version.desc())
    .limit(1)
)
_MODEL_VERSION = select(*_MODEL_REF).where(
    _MODELS.c.tenant_id == bindparam("tenant_id"),
    _MODELS.c.key == bindparam("key"),
    _MODELS.c.version == bindparam("version"),
)


def find_model(session, tenant_id: int, key: str, version: int | None = None):
    """``(id, key, version, executable)`` of the latest or the given version of ``key`` in the tenant."""
    params = {"tenant_id": tenant_id, "key": key}
    if version is None:
        row = session.connection().execute(_LATEST_MODEL, params).one_or_none()
    else:
        row = session.connection().execute(_MODEL_VERSION, {**params, "version": version}).one_or_none()
    if row is None:
        raise NotFound(f"no process model {key!r}" + (f" version {version}" if version is not None else ""))
    return row


def model_xml(ctx: EngineContext, actor: Actor, key: str, version: int) -> tuple[str, bytes]:
    """The BPMN file that defines ``key`` in that version: ``(filename, content)``."""
    with ctx.unit_of_work() as uow:
        model = uow.session.get(ProcessModel, find_model(uow.session, actor.tenant_id, key, version).id)
        bpmn_files = [f for f in model.files if is_bpmn_file(f.filename)]
        marker = f'id="{key}"'.encode()
        for f in bpmn_files:
            if marker in f.content:
                return f.filename, bytes(f.content)
        return bpmn_files[0].filename, bytes(bpmn_files[0].content)


def require_executable(session, tenant_id: int, model_row) -> None:
    """Refuse (409) to start a case of a version stored with nothing to run."""
    if model_row.executable:
        return
    latest_executable = session.connection().execute(
        select(_MODELS.c.version)
        .where(_MODELS.c.tenant_id == tenant_id, _MODELS.c.key == model_row.key, _MODELS.c.executable.is_(True))
        .order_by(_MODELS.c.version.desc())
        .limit(1)
    ).scalar()
    hint = (
        f"; version {latest_executable} is executable: start that version"
        if latest_executable is not None
        else "; mark its process executable (isExecutable=\"true\") and deploy it again"
    )
    raise Conflict(
        f"version {model_row.version} of process model {model_row.key!r} is not executable "
        f"(it was stored to be viewed and edited, no process in it can run){hint}"
    )
