"""The restricted script engine: rules, limits, errors, helpers and service calls."""
import sys
import threading
import time
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from workflows.scripting import (
    MAX_RANGE,
    RestrictedScriptEngine,
    ScriptRejected,
    ScriptTimeout,
    ServiceCallError,
    json_size_estimate,
)

LIMIT = 0.2  # seconds: short so the hostile loops end quickly
SLACK = 1.0


def fake_task(**data):
    """Enough of a task for evaluate/execute when nothing fails: only .data is read."""
    return SimpleNamespace(data=dict(data))


def spiff_like_task(**data):
    """A stand-in with what WorkflowTaskException reads."""
    spec = SimpleNamespace(bpmn_name="Calculate", name="calc")
    workflow = SimpleNamespace(spec=SimpleNamespace(file="case.bpmn"))
    workflow.top_workflow = workflow
    return SimpleNamespace(data=dict(data), task_spec=spec, workflow=workflow)


@pytest.fixture
def engine():
    return RestrictedScriptEngine(
        helpers={"working_days": lambda n: n + 2 * (n // 5)},
        time_limit=LIMIT,
        max_output_bytes=50_000,
    )


def run(engine, script, **data):
    """Execute through the environment: our own exceptions, unwrapped."""
    data = dict(data)
    engine.environment.execute(script, data, {})
    return data


def still_works(engine):
    task = fake_task(amount=150)
    assert engine.evaluate(task, "amount > 100") is True
    engine.execute(task, "doubled = amount * 2")
    assert task.data["doubled"] == 300


# ---------------------------------------------------------------------------------------
# Ordinary use
# ---------------------------------------------------------------------------------------
def test_evaluates_expressions_against_task_data(engine):
    task = fake_task(amount=150, items=[1, 2, 3], name="Ann", flags={"vip": True})
    assert engine.evaluate(task, "amount > 100") is True
    assert engine.evaluate(task, "  amount <= 100  ") is False  # padding from BPMN XML
    assert engine.evaluate(task, "sum(items) * 2") == 12
    assert engine.evaluate(task, "[i * 10 for i in items if i > 1]") == [20, 30]
    assert engine.evaluate(task, "any(x > 2 for x in items) and flags.get('vip')") is True
    assert engine.evaluate(task, "f'{name}: {amount:,.2f}'") == "Ann: 150.00"
    assert engine.evaluate(task, "sorted(items, key=lambda v: -v)") == [3, 2, 1]
    assert engine.evaluate(task, "'-'.join(str(i) for i in items)") == "1-2-3"
    assert engine.evaluate(task, "(y := amount + 1) and y") == 151
    assert "y" not in task.data  # expressions never write task data
    assert task.data["amount"] == 150


def test_external_context_is_visible_but_data_wins(engine):
    task = fake_task(amount=5)
    assert engine.evaluate(task, "dmninputexpr == 7", external_context={"dmninputexpr": 7}) is True
    assert engine.evaluate(task, "amount", external_context={"amount": 99}) == 5


def test_print_is_allowed_and_writes_nothing(engine, capsys):
    task = fake_task(amount=150)
    engine.execute(task, "print('amount', amount, sep=':')\nlabel = 'seen'")
    assert task.data["label"] == "seen"
    assert capsys.readouterr() == ("", "")


def test_scripts_update_task_data(engine):
    task = fake_task(amount=150, items=[1, 2], obsolete=True, **{"not-an-identifier": 1, "_hidden": 2})
    script = "\n".join(
        [
            "total = 0",
            "for item in items:",
            "    total += item",
            "items.append(3)",
            "label = 'big' if amount > 100 else 'small'",
            "def double(v):",
            "    return v * 2",
            "twice = double(total)",
            "del obsolete",
            "count = 0",
            "while count < 3:",
            "    count += 1",
        ]
    )
    assert engine.execute(task, script) is True
    assert task.data == {
        "amount": 150,
        "items": [1, 2, 3],
        "not-an-identifier": 1,
        "_hidden": 2,
        "total": 3,
        "item": 2,  # loop variables stay, as in plain Python
        "label": "big",
        "twice": 6,
        "count": 3,
    }


def test_dates_and_durations_are_available(engine):
    task = fake_task(received="2024-03-01")
    engine.execute(
        task,
        "start = datetime.fromisoformat(received)\n"
        "deadline = (start + timedelta(days=working_days(10))).date().isoformat()\n"
        "today_is_date = isinstance(date.today(), date)\n"
        "stamp = datetime(2024, 1, 2, tzinfo=timezone.utc).isoformat()\n"
        "parsed = datetime.strptime('02.01.2024', '%d.%m.%Y').strftime('%Y-%m-%d')",
    )
    assert task.data["deadline"] == "2024-03-15"
    assert task.data["today_is_date"] is True
    assert task.data["stamp"] == "2024-01-02T00:00:00+00:00"
    assert task.data["parsed"] == "2024-01-02"
    assert task.data["start"] == datetime(2024, 3, 1)
    assert "datetime" not in task.data and "timedelta" not in task.data


def test_helpers_are_callable_but_never_left_in_task_data(engine):
    task = fake_task(n=5)
    assert engine.evaluate(task, "working_days(n)") == 7
    engine.execute(task, "due = working_days(n)\nalias = working_days\nfn = lambda x: x")
    assert task.data == {"n": 5, "due": 7}
    # A data variable of the same name shadows the helper instead of breaking every script.
    shadowed = fake_task(working_days=3)
    engine.execute(shadowed, "x = working_days + 1")
    assert shadowed.data == {"working_days": 3, "x": 4}


def test_rejects_bad_helper_names():
    with pytest.raises(ValueError):
        RestrictedScriptEngine(helpers={"_secret": len})
    with pytest.raises(ValueError):
        RestrictedScriptEngine(helpers={"eval": len})


def test_failing_script_leaves_task_data_unchanged(engine):
    task = spiff_like_task(a=1)
    with pytest.raises(WorkflowTaskException):
        engine.execute(task, "a = 2\nb = 3\nc = 1 / 0")
    assert task.data == {"a": 1}


def test_script_may_raise_and_catch_ordinary_errors(engine):
    data = run(engine, "try:\n    v = int('x')\nexcept ValueError as err:\n    v = -1")
    assert data == {"v": -1}
    with pytest.raises(ValueError, match="too small"):
        run(engine, "raise ValueError('amount too small')")


# ---------------------------------------------------------------------------------------
# Hostile scripts and expressions
# ---------------------------------------------------------------------------------------
REJECTED_SCRIPTS = [
    ("import os", "imports are not allowed"),
    ("from os import path", "imports are not allowed"),
    ("x = __import__('os')", "'__import__'"),
    ("x = __builtins__", "names starting with '_'"),
    ("x = _private", "names starting with '_'"),
    ("x = ().__class__.__bases__[0].__subclasses__()", "attributes starting with '_'"),
    ("f = lambda: 0\nx = f.__globals__", "attributes starting with '_'"),
    ("g = (i for i in [1])\nx = g.gi_frame.f_back", "not allowed"),
    ("x = open('/etc/passwd').read()", "calling 'open' is not allowed"),
    ("x = eval('1')", "calling 'eval' is not allowed"),
    ("exec('x = 1')", "calling 'exec' is not allowed"),
    ("x = getattr(1, 'real')", "calling 'getattr' is not allowed"),
    ("x = globals()", "calling 'globals' is not allowed"),
    ("x = vars()", "calling 'vars' is not allowed"),
    ("x = '{0.__class__}'.format(1)", "'.format' is not allowed"),
    ("x = Exception.mro()", "'.mro' is not allowed"),
    ("x = str.join(',', ['a'])", "on a value, not on the type"),
    ("j = ','.join", "may only be called directly"),
    ("global y", "'global' is not allowed"),
    ("class A:\n    pass", "class definitions are not allowed"),
    ("def g():\n    yield 1", "'yield'"),
    ("try:\n    x = 1\nexcept:\n    x = 2", "bare 'except:'"),
    ("try:\n    x = 1\nfinally:\n    x = 2", "'finally' blocks are not allowed"),
    ("with open('f') as fh:\n    pass", "not allowed"),
    ("x = 'a' * 10**10", "repetition would create 10,000,000,000 items"),
    ("n = 10**10\nx = 'a' * n", "repetition"),
    ("x = [0] * 10**9", "repetition"),
    ("x = sum(range(10**12))", "range() would produce"),
    ("x = 2 ** 10**9", "power would create"),
    ("n = 10**9\nx = 2 ** n", "power would create"),
    ("x = pow(7, 10**9)", "power would create"),
    ("x = 1 << 10**9", "shift would create"),
    ("s = 'ab'\nwhile True:\n    s += s", "concatenation would create"),
    ("x = '%*d' % (10**9, 1)", "'*' widths"),
    ("x = f'{1:>1000000000}'", "format width"),
    ("w = 10**10\nx = 'a'.ljust(w)", ".ljust() width"),
    ("s = 'a' * 10**6\nx = s.replace('', s)", ".replace() would create"),
    ("x = sum([[1, 2]] * 3, [])", "sum() adds numbers only"),
    ("x = round(5, -10**9)", "round() to"),
    ("x = (1).to_bytes(10**10, 'big')", "'.to_bytes' is not allowed"),
]


@pytest.mark.parametrize("script,reason", REJECTED_SCRIPTS)
def test_hostile_scripts_are_rejected(engine, script, reason):
    with pytest.raises(ScriptRejected) as info:
        run(engine, script)
    assert reason in str(info.value)
    assert "(line " in str(info.value)
    still_works(engine)


def test_rejection_names_the_line(engine):
    with pytest.raises(ScriptRejected) as info:
        run(engine, "a = 1\nb = 2\nimport os")
    assert str(info.value) == "imports are not allowed (line 3)"
    assert info.value.line == 3


@pytest.mark.parametrize(
    "expression",
    ["__import__('os')", "().__class__", "open('/etc/passwd')", "eval('1')", "'a' * 10**10", "sum(range(10**12))"],
)
def test_hostile_expressions_are_rejected(engine, expression):
    with pytest.raises(ScriptRejected):
        engine.environment.evaluate(expression, {})
    still_works(engine)


TIMEOUT_SCRIPTS = [
    "while True: pass",
    "while True:\n    pass",
    "x = 0\nwhile True:\n    x = (x + 1) % 7",
    "while True:\n    try:\n        while True:\n            pass\n    except Exception:\n        pass",
    "def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(200)",
    "f = lambda n: n and f(n - 1) + f(n - 1)\nx = f(200)",
    "x = [i for i in range(10**6) for j in range(10**6)]",
    "x = 0\nfor i in range(10**6):\n    for j in range(10**6):\n        x = x + 1",
]


@pytest.mark.parametrize("script", TIMEOUT_SCRIPTS)
def test_endless_scripts_time_out(engine, script):
    started = time.monotonic()
    with pytest.raises(ScriptTimeout) as info:
        run(engine, script)
    assert time.monotonic() - started < LIMIT + SLACK
    assert "ran longer than its time limit of 0.2 s" in str(info.value)
    still_works(engine)


def test_endless_expression_times_out(engine):
    started = time.monotonic()
    with pytest.raises(ScriptTimeout, match="expression ran longer"):
        engine.environment.evaluate("any(i < 0 for i in range(10**6) for j in range(10**6))", {})
    assert time.monotonic() - started < LIMIT + SLACK


def test_timeout_works_in_other_threads_and_keeps_the_trace_function(engine):
    errors = []

    def target():
        try:
            run(engine, "while True: pass")
        except ScriptTimeout as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(LIMIT + SLACK + 1)
    assert not thread.is_alive() and len(errors) == 1

    before = sys.gettrace()
    with pytest.raises(ScriptTimeout):
        run(engine, "while True: pass")
    assert sys.gettrace() is before


def test_range_is_capped_but_usable(engine):
    assert run(engine, f"n = len(range({MAX_RANGE}))") == {"n": MAX_RANGE}
    assert run(engine, "r = 5 in range(10)") == {"r": True}
    with pytest.raises(ScriptRejected):
        run(engine, f"n = len(range({MAX_RANGE + 1}))")


def test_output_size_is_bounded(engine):
    with pytest.raises(ScriptRejected, match="larger than 50,000 bytes"):
        run(engine, "blob = 'x' * 60000")
    # Blow-up through shared references: tiny to build, huge as JSON.
    started = time.monotonic()
    with pytest.raises(ScriptRejected, match="larger than"):
        run(engine, "a = [0] * 1000\nb = [a] * 1000\nc = [b] * 1000\nd = [c] * 1000")
    assert time.monotonic() - started < 1
    # A cycle is not JSON: the estimate runs past the limit instead of looping forever.
    with pytest.raises(ScriptRejected):
        run(engine, "a = [1]\na.append(a)")
    assert run(engine, "small = 'x' * 1000")["small"] == "x" * 1000


def test_json_size_estimate_is_close_and_bounded():
    import json

    data = {"name": "Ann", "items": [1, 2.5, None, True, {"k": "v"}], "n": 12345}
    assert json_size_estimate(data, 10_000) == len(json.dumps(data))
    huge = [[[0] * 1000] * 1000] * 1000
    assert json_size_estimate(huge, 1000) > 1000


def test_guarded_operators_keep_their_meaning(engine):
    data = run(
        engine,
        "\n".join(
            [
                "a = [1]",
                "b = a",
                "a += [2]",  # in place, as in Python
                "s = 'ab' * 3 + 'c'",
                "p = 2 ** 10 + (-2) ** 3 + 2 ** -1",
                "m = 7 % 3",
                "fmt = '%05.1f|%s' % (3.14159, 'x')",
                "sh = 1 << 4",
                "t = sum([timedelta(days=1), timedelta(days=2)], timedelta()).days",
                "r = 'a-b'.replace('-', '+')",
                "c = 'ab'.center(6, '*')",
                "e = [1]",
                "e.extend([2, 3])",
            ]
        ),
    )
    assert data["b"] == [1, 2]
    assert data["s"] == "abababc"
    assert data["p"] == 1024 - 8 + 0.5
    assert data["m"] == 1
    assert data["fmt"] == "003.1|x"
    assert data["sh"] == 16
    assert data["t"] == 3
    assert data["r"] == "a+b"
    assert data["c"] == "**ab**"
    assert data["e"] == [1, 2, 3]
    # datetime.replace is not str.replace
    assert run(engine, "d = datetime(2024, 1, 1).replace(year=2025).year") == {"d": 2025}


def test_data_cannot_hijack_the_guards(engine):
    # Applicant-supplied keys that look like internal names do not replace the guards.
    task = fake_task(_rw_mul="boom", _rw_tick=1, a=6)
    assert engine.evaluate(task, "a * 7") == 42
    engine.execute(task, "b = a * 2\nfor i in range(2):\n    b += 1")
    assert task.data["b"] == 14
    assert task.data["_rw_mul"] == "boom" and task.data["_rw_tick"] == 1


def test_compiled_code_is_cached(engine):
    from workflows import scripting

    scripting._compile_eval.cache_clear()
    task = fake_task(amount=1)
    for _ in range(100):
        engine.evaluate(task, "amount > 100")
    info = scripting._compile_eval.cache_info()
    assert info.misses == 1 and info.hits == 99


def test_validate_checks_rules_without_running(engine):
    engine.validate("x = 1")
    engine.check_expression("amount > 1")
    with pytest.raises(SyntaxError):
        engine.validate("> 5")  # DMN relies on SyntaxError here
    with pytest.raises(ScriptRejected):
        engine.validate("import os")
    with pytest.raises(ScriptRejected):
        engine.check_script("while True: pass\nimport os")


# ---------------------------------------------------------------------------------------
# Errors as SpiffWorkflow reports them
# ---------------------------------------------------------------------------------------
def test_wrapped_errors_stay_readable_and_keep_the_cause(engine):
    task = spiff_like_task(amount=1)
    with pytest.raises(WorkflowTaskException) as info:
        engine.execute(task, "x = 1\nimport os")
    exc = info.value
    assert "imports are not allowed" in str(exc)
    assert isinstance(exc.exception, ScriptRejected) and exc.__cause__ is exc.exception
    assert exc.line_number == 2 and exc.error_line == "import os"

    with pytest.raises(WorkflowTaskException) as info:
        engine.execute(task, "x = 1\nwhile True:\n    x = x + 1")
    assert "ran longer than its time limit" in str(info.value)
    assert isinstance(info.value.exception, ScriptTimeout)
    assert info.value.line_number in (2, 3)

    with pytest.raises(WorkflowTaskException) as info:
        engine.evaluate(task, "'a' * 10**10 > amount")
    assert "repetition would create" in str(info.value)
    assert isinstance(info.value.__cause__, ScriptRejected)

    with pytest.raises(WorkflowTaskException) as info:
        engine.evaluate(task, "amout > 1")
    assert "NameError" in str(info.value) and "amount" in str(info.value)  # did-you-mean note

    with pytest.raises(WorkflowTaskException) as info:
        engine.execute(task, "d = {}\nx = d[1]")  # SpiffWorkflow's own wrapper fails on KeyError(1)
    assert "KeyError" in str(info.value) and info.value.line_number == 2
    still_works(engine)


# ---------------------------------------------------------------------------------------
# Service calls
# ---------------------------------------------------------------------------------------
def test_call_service_passes_plain_params_and_returns_json(engine):
    calls = []

    def caller(data, name, params):
        calls.append((data, name, params))
        return {"ok": True, "when": date(2024, 1, 2)}

    engine = RestrictedScriptEngine(service_caller=caller)
    task = fake_task(amount=3)
    result = engine.call_service(
        task, operation_name="check", operation_params={"amount": {"value": 3, "type": "int"}}
    )
    assert result == '{"ok": true, "when": "2024-01-02"}'
    assert calls == [({"amount": 3}, "check", {"amount": 3})]


def test_call_service_without_caller_is_a_clear_error():
    engine = RestrictedScriptEngine()
    with pytest.raises(ServiceCallError, match="no service caller is configured"):
        engine.call_service(fake_task(), operation_name="sms", operation_params={})
    with pytest.raises(WorkflowTaskException, match="no service caller is configured") as info:
        engine.call_service(spiff_like_task(), operation_name="sms", operation_params={})
    assert isinstance(info.value.exception, ServiceCallError)


# ---------------------------------------------------------------------------------------
# Real workflows
# ---------------------------------------------------------------------------------------
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:scriptTask id="calc" name="Calculate">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="lookup"/>
    <bpmn:serviceTask id="lookup" name="Look up">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="echo" resultVariable="echoed">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="fee" type="int" value="fee"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="lookup" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw" default="to_low">
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>to_high</bpmn:outgoing><bpmn:outgoing>to_low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="to_high" sourceRef="gw" targetRef="high">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_low" sourceRef="gw" targetRef="low"/>
    <bpmn:scriptTask id="high" name="High">
      <bpmn:incoming>to_high</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>path = 'high'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="low" name="Low">
      <bpmn:incoming>to_low</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:script>path = 'low'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="high" targetRef="end"/>
    <bpmn:sequenceFlow id="f5" sourceRef="low" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""

GOOD_SCRIPT = "fee = working_days(amount // 100)\nitems = [i * 2 for i in range(3)]"
_counter = iter(range(10**6))


def make_workflow(engine, script=GOOD_SCRIPT, condition="fee &gt; 5 and len(items) == 3", **data):
    process_id = f"case_{next(_counter)}"
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.format(process_id=process_id, script=script, condition=condition).encode())
    spec, subprocesses = parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=engine)
    start = workflow.get_tasks(state=TaskState.READY)[0]
    start.data.update(data)
    return workflow


def echo_caller(data, name, params):
    assert name == "echo"
    return params


@pytest.fixture
def wf_engine():
    return RestrictedScriptEngine(
        helpers={"working_days": lambda n: n + 2 * (n // 5)}, time_limit=LIMIT, service_caller=echo_caller
    )


@pytest.mark.parametrize("amount,path,fee", [(1000, "high", 14), (300, "low", 3)])
def test_real_workflow_runs_scripts_services_and_gateways(wf_engine, amount, path, fee):
    workflow = make_workflow(wf_engine, amount=amount)
    workflow.do_engine_steps()
    assert workflow.completed
    data = workflow.last_task.data
    assert data["path"] == path
    assert data["fee"] == fee
    assert data["items"] == [0, 2, 4]
    assert data["echoed"] == {"fee": fee}
    assert "working_days" not in data and "range" not in data and "__builtins__" not in data


@pytest.mark.parametrize(
    "script,error,reason",
    [
        ("import os", ScriptRejected, "imports are not allowed"),
        ("x = __import__('os').system('true')", ScriptRejected, "'__import__'"),
        ("x = open('/etc/passwd').read()", ScriptRejected, "calling 'open' is not allowed"),
        ("x = 'a' * 10**10", ScriptRejected, "repetition"),
        ("while True: pass", ScriptTimeout, "ran longer than"),
    ],
)
def test_real_workflow_reports_hostile_scripts(wf_engine, script, error, reason):
    workflow = make_workflow(wf_engine, script=script, amount=1)
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert reason in str(info.value)
    assert isinstance(info.value.exception, error) and info.value.__cause__ is info.value.exception
    assert info.value.task.task_spec.bpmn_id == "calc"
    # The same engine goes on serving other cases.
    other = make_workflow(wf_engine, amount=1000)
    other.do_engine_steps()
    assert other.completed and other.last_task.data["path"] == "high"


def test_real_workflow_reports_hostile_gateway_condition(wf_engine):
    workflow = make_workflow(wf_engine, condition="().__class__.__bases__[0].__subclasses__()", amount=1)
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert "attributes starting with '_' are not allowed" in str(info.value)
    assert isinstance(info.value.__cause__, ScriptRejected)


def test_simple_expression_cost(engine):
    """The hot path: a plain comparison needs no tick and no copy of the task data."""
    task = fake_task(amount=150, **{f"field{i}": i for i in range(50)})
    engine.evaluate(task, "amount > 100")
    started = time.perf_counter()
    for _ in range(100_000):
        engine.evaluate(task, "amount > 100")
    elapsed = time.perf_counter() - started
    print(f"100k evaluations of 'amount > 100': {elapsed:.3f}s")
    assert elapsed < 5  # generous: about 0.05 s on the development machine
