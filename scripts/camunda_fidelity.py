"""Deploy every model of a folder through Redwall and run it in Redwall and in bare SpiffWorkflow.

    python scripts/camunda_fidelity.py FOLDER [--scenarios FILE] [--json]

Each ``.bpmn`` / ``.bpmn20.xml`` file under FOLDER is one model. It is deployed with the deploy
use case (``POST /api/process-models``: the same checks, stored in a throwaway SQLite database)
together with every ``.dmn`` file of the folder and the BPMN files that define the processes its
call activities call. A deployed, executable model is then run twice with the same inputs
(``workflows.fidelity``): in Redwall's engine (restricted scripts, the case saved and loaded on
a model loaded afresh from the database at every step) and in bare SpiffWorkflow (its own
parser and script engine, as its test suite runs them). One line per model says:

* ``refused``: the deploy answer's blockers (422);
* ``stored, not executable``;
* ``same outcome``: the same tasks offered at every step, the same end (completed or not, or
  stopped on an error at the same element) and the same end data;
* ``different``: how.

Inputs. By default every offered task is completed in turn (first by element id) with empty
data, until none is offered (at most 40). A scenarios file (JSON) gives, per model file name::

    {"message_test.bpmn": {
        "key": "Process_05r9nfx",                # the process to start (else Redwall's choice)
        "start": {"x": 3},                       # data the case starts with
        "task_data": {"Activity_A": {"FieldA": "A"}, "Activity_B": [{"n": 1}, {"n": 2}]},
        "steps": [["task", "Activity_A", {"FieldA": "A"}], ["message", "reset", {"why": "x"}],
                  ["timers", null, null]],       # instead of task_data: these steps, in order
        "max_steps": 40}}
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workflows import fidelity  # noqa: E402
from workflows.accounts import Actor  # noqa: E402
from workflows.context import build_context  # noqa: E402
from workflows.database import make_session_factory  # noqa: E402
from workflows.errors import RedwallError  # noqa: E402
from workflows.model_parsing import is_bpmn_file  # noqa: E402
from workflows.models import Base, Tenant  # noqa: E402
from workflows.process_models import deploy_model  # noqa: E402

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _processes_and_calls(path: Path) -> tuple[set[str], set[str]]:
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except etree.XMLSyntaxError:
        return set(), set()
    defined = {p.get("id") for p in root.iterfind(f"{{{BPMN_NS}}}process")}
    called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity") if c.get("calledElement")}
    return defined, called


def model_files(folder: Path) -> dict[str, list[Path]]:
    """Each BPMN file of ``folder``, with the files deployed alongside it."""
    bpmn = sorted(p for p in folder.rglob("*") if p.is_file() and is_bpmn_file(p.name))
    dmn = sorted(p for p in folder.rglob("*.dmn") if p.is_file())
    defined = {p: _processes_and_calls(p) for p in bpmn}
    result = {}
    for path in bpmn:
        own, called = defined[path]
        wanted, with_files, seen = set(called) - own, [], set(own)
        while wanted:  # callees, and theirs
            process = wanted.pop()
            seen.add(process)
            source = next((p for p in bpmn if process in defined[p][0] and p != path), None)
            if source is not None and source not in with_files:
                with_files.append(source)
                wanted |= defined[source][1] - seen - defined[source][0]
        result[str(path.relative_to(folder))] = [path, *with_files, *dmn]
    return result


def _driver(scenario: dict):
    if scenario.get("steps") is not None:
        return fidelity.scripted([tuple(s) for s in scenario["steps"]])
    return fidelity.every_ready_task(scenario.get("task_data"), scenario.get("max_steps", 40))


def check_folder(folder: Path, scenarios: dict) -> list[dict]:
    workdir = tempfile.mkdtemp(prefix="redwall-fidelity-")
    engine, session_factory = make_session_factory(f"sqlite:///{workdir}/fidelity.sqlite")
    Base.metadata.create_all(engine)
    with session_factory() as session:
        tenant = Tenant(code="fidelity", name="fidelity check")
        session.add(tenant)
        session.commit()
        tenant_id = tenant.id
    ctx = build_context(session_factory, trail=False, script_workers=0)
    actor = Actor(user_id=0, username="fidelity", tenant_id=tenant_id, tenant_code="fidelity",
                  roles=frozenset({"designer"}), groups=frozenset())
    results = []
    for name, paths in model_files(folder).items():
        scenario = scenarios.get(name) or scenarios.get(Path(name).name) or {}
        files = [(p.name, p.read_bytes()) for p in paths]
        line = {"model": name, "files": [p.name for p in paths]}
        try:
            view, _ = deploy_model(ctx, actor, files, key=scenario.get("key"))
        except RedwallError as exc:
            problems = (exc.errors or {}).get("bpmn") or [{"message": str(exc)}]
            line.update(outcome="refused", why=[
                (f"{p.get('file')}:{p.get('line')} {p.get('element_id') or ''} " if p.get("file") else "")
                + p["message"] for p in problems
            ])
            results.append(line)
            continue
        line["key"] = view["key"]
        if not view["executable"]:
            line.update(outcome="stored, not executable")
            results.append(line)
            continue

        def runtime_of(model_id=view["id"]):
            ctx.runtimes.clear()  # parsed afresh from the stored files, as another worker would
            with session_factory() as session:
                return ctx.runtimes.get(session, model_id)

        start = scenario.get("start")
        bare = fidelity.run_bare(files, view["key"], _driver(scenario), start)
        try:
            redwall = fidelity.run_redwall(runtime_of, ctx.engine, _driver(scenario), start)
        except Exception as exc:  # noqa: BLE001 - a failure here is a finding, not the end of the tally
            line.update(outcome="different", how=[f"Redwall failed: {type(exc).__name__}: {exc}"[:300]])
            results.append(line)
            continue
        how = fidelity.differences(bare, redwall)
        line.update(
            outcome="different" if how else "same outcome", how=how,
            steps=len(redwall.steps), completed=redwall.completed, status=redwall.status,
            error=redwall.error, bare_error=bare.error, offered=redwall.offered, data=redwall.data,
        )
        results.append(line)
    engine.dispose()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--scenarios", type=Path, help="JSON file: per model, the inputs to give")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    scenarios = json.loads(args.scenarios.read_text()) if args.scenarios else {}
    results = check_folder(args.folder, scenarios)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2, default=str))
        return 0
    for r in results:
        if r["outcome"] == "refused":
            detail = " | ".join(r["why"])
        elif r["outcome"] == "stored, not executable":
            detail = f"key {r['key']}"
        else:
            end = "completed" if r["completed"] else (f"stopped at {r['error'][0]}" if r["error"] else "waiting")
            detail = f"key {r['key']}, {r['steps']} steps, {end}, status {r['status']}"
            if r["how"]:
                detail += " | " + " | ".join(r["how"])
        print(f"{r['model']:<44} {r['outcome']:<22} {detail}")
    counts = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    print(f"{len(results)} models: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
