"""What running scripts in bounded worker processes costs per step (issue 10, item 6).

    python bench/script_pool.py [--rounds 2000]

Prints, for the restricted engine in this process (``REDWALL_SCRIPT_WORKERS=0``) and through the
worker pool (the default): microseconds per call for a trivial gateway condition (runs in the
calling process either way), a non-trivial expression, and a small script task; and a SpiffWorkflow
step that runs one script task (start → script → user task), in memory, without a database.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402

from workflows.sandbox import ScriptPool  # noqa: E402
from workflows.scripting import RestrictedEnvironment, RestrictedScriptEngine  # noqa: E402

SCRIPT = "total = amount * 2\nlabel = f'{total} 元'\nitems = [i for i in range(10)]"
BPMN = (REPO / "tests" / "fixtures" / "bpmn" / "cases" / "scripted.bpmn").read_text().replace("SCRIPT", SCRIPT)


def per_call_us(fn, rounds: int) -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds // 5):
            fn()
        runs.append((time.perf_counter() - started) / (rounds // 5) * 1e6)
    return statistics.median(runs)


def spiff_step_us(engine, rounds: int) -> float:
    path = Path("/tmp/redwall_bench_scripted.bpmn")
    path.write_text(BPMN)
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(path))
    spec, subs = parser.get_spec("scripted"), parser.get_subprocess_specs("scripted")

    def step():
        workflow = BpmnWorkflow(spec, subs, script_engine=engine)
        workflow.get_tasks()[0].data["amount"] = 21
        workflow.do_engine_steps()

    return per_call_us(step, rounds)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rounds", type=int, default=2000)
    rounds = args.parse_args().rounds
    pool = ScriptPool(2, 256)
    t = time.perf_counter()
    pool.warm()
    warm = time.perf_counter() - t
    print(f"# {platform.machine()}, Python {platform.python_version()}; starting 2 workers took {warm * 1000:.0f} ms")
    print(f"{'what':48} {'in process µs':>14} {'worker pool µs':>15} {'added µs':>9}")
    data = {"amount": 21, "acceptance": "accept", "applicant_name": "王芳", "materials": ["户口簿", "身份证"]}
    for what, mode, source in (
        ("trivial condition  acceptance == 'accept'", "eval", "acceptance == 'accept'"),
        ("expression  amount * 2 > 40", "eval", "amount * 2 > 40"),
        ("script task (3 lines)", "exec", SCRIPT),
    ):
        figures = []
        for p in (None, pool):
            env = RestrictedEnvironment(time_limit=2.0, pool=p)
            if mode == "eval":
                figures.append(per_call_us(lambda: env.evaluate(source, data), rounds))
            else:
                figures.append(per_call_us(lambda: env.execute(source, dict(data)), rounds))
        print(f"{what:48} {figures[0]:14.1f} {figures[1]:15.1f} {figures[1] - figures[0]:9.1f}")
    inline_engine, pooled_engine = RestrictedScriptEngine(time_limit=2.0), RestrictedScriptEngine(time_limit=2.0, pool=pool)
    inline, pooled = [], []
    for _ in range(3):  # alternating: the machine's load is shared by both
        inline.append(spiff_step_us(inline_engine, rounds // 4))
        pooled.append(spiff_step_us(pooled_engine, rounds // 4))
    inline, pooled = min(inline), min(pooled)
    print(f"{'SpiffWorkflow: start, script task, user task':48} {inline:14.1f} {pooled:15.1f} {pooled - inline:9.1f}")
    pool.close()


if __name__ == "__main__":
    main()
