"""Tally what Redwall's deploy makes of a folder of BPMN files (issue 12).

    python bench/bpmn_tally.py FOLDER [--json] [--list]

Each ``.bpmn`` / ``.bpmn20.xml`` file under FOLDER (recursively) is deployed on its own, as
``POST /api/process-models`` would (the same parser, no database): stored and executable,
stored but not executable (``"executable": false``), or refused (422). Refused files are
counted under every reason their answer gives (a file with a JUEL condition and a data store
counts under both), so the reasons add up to more than the refused files. ``--list`` prints
each file's outcome; ``--json`` prints the tally as JSON.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workflows.model_parsing import InvalidModel, is_bpmn_file, parse_model_files  # noqa: E402

# (reason, pattern on the problem's message), first match wins.
REASONS = [
    ("schema violation (BPMN part)", r"^schema violation"),
    ("not well-formed or not BPMN XML", r"not well-formed XML|not readable XML|not a BPMN 2\.0 model"),
    ("DOCTYPE declaration", r"^DOCTYPE"),
    ("condition or script in JUEL (Camunda 7)", r"looks like JUEL"),
    ("condition or script in FEEL (Camunda 8)", r"looks like FEEL"),
    ("condition in XPath", r"looks like XPath"),
    ("condition or script not Python (prose …)", r"is not valid Python"),
    ("timer value empty, invalid or neither ISO 8601 nor Python", r"^the timer"),
    ("data store without implementation", r"^data store"),
    ("data association to a process data input/output", r"^the data(Input|Output)Association"),
    ("business rule task without decision", r"^the business rule task"),
    ("call activity target not uploaded", r"^the call activity"),
    ("service task names no connector", r"names no connector|Service Task must have an operator"),
    ("sequence flow end missing", r"^the sequence flow"),
    ("start event missing or several", r"start event"),
    ("task with several outgoing flows (needs a gateway)", r"only a gateway may split|Multiple outgoing flows"),
    ("event that does not say what it waits for", r"does not say what it waits for"),
    ("unsupported element", r"NotImplementedError|not supported|Unknown"),
    ("process too long to parse", r"too long to parse"),
]


def reason_of(message: str) -> str:
    for reason, pattern in REASONS:
        if re.search(pattern, message):
            return reason
    # Anything else: the message without its particulars (quoted names, ids, numbers).
    general = re.sub(r"'[^']*'|\"[^\"]*\"|\b\d+\b", "…", message)
    return "other: " + (general if len(general) <= 80 else general[:79] + "…")


def tally(folder: Path) -> dict:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_bpmn_file(p.name))
    outcomes: dict[str, dict] = {}
    reasons: Counter = Counter()
    started = time.perf_counter()
    for path in files:
        name = str(path.relative_to(folder))
        try:
            parsed = parse_model_files([(path.name, path.read_bytes())])
        except InvalidModel as exc:
            found = sorted({reason_of(p.message) for p in exc.problems})
            reasons.update(found)
            outcomes[name] = {"outcome": "refused", "problems": len(exc.problems), "reasons": found}
        else:
            outcomes[name] = {
                "outcome": "stored executable" if parsed.executable else "stored not executable",
                "key": parsed.key,
                "warnings": len(parsed.warnings),
            }
    counts = Counter(o["outcome"] for o in outcomes.values())
    return {
        "folder": str(folder),
        "files": len(files),
        "stored executable": counts["stored executable"],
        "stored not executable": counts["stored not executable"],
        "refused": counts["refused"],
        "stored with warnings": sum(1 for o in outcomes.values() if o.get("warnings")),
        "refused by reason": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "seconds": round(time.perf_counter() - started, 2),
        "outcomes": outcomes,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", action="store_true", help="print the tally as JSON")
    parser.add_argument("--list", action="store_true", help="print each file's outcome too")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    result = tally(args.folder)
    if args.json:
        if not args.list:
            result.pop("outcomes")
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"{result['files']} BPMN files in {result['folder']} ({result['seconds']} s)")
    for label in ("stored executable", "stored not executable", "refused"):
        print(f"  {label:<24}{result[label]:>5}")
    print(f"  {'stored with warnings':<24}{result['stored with warnings']:>5}")
    if result["refused by reason"]:
        print("refused by reason (files; a file counts under each of its reasons):")
        for reason, n in result["refused by reason"].items():
            print(f"  {n:>5}  {reason}")
    if args.list:
        print("files:")
        for name, outcome in result["outcomes"].items():
            detail = (
                f"{outcome['problems']} problems: {', '.join(outcome['reasons'])}"
                if outcome["outcome"] == "refused"
                else f"key {outcome['key']}" + (f", {outcome['warnings']} warnings" if outcome["warnings"] else "")
            )
            print(f"  {name:<28}{outcome['outcome']:<24}{detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
