"""How the SpiffWorkflow adapter (``workflows.engine``) behaves for each BPMN construct.

Every step is followed by a round trip through the serialised state, as in real use
(the state lives in the database and is loaded again for the next command), so each
construct is also a test of the spec-less serialisation.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.util.task import TaskState

from workflows.engine import CaseEngine, ModelRuntime, StepOutcome

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn" / "engine"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


# -- the one place that decides how models are parsed and scripts are run ----------------
def _parse(files: list[tuple[str, bytes]], key: str):
    from workflows.model_parsing import parse_model_files

    return parse_model_files(files, key=key)


def _script_engine():
    from workflows.scripting import RestrictedScriptEngine

    return RestrictedScriptEngine()


def runtime_for(*names: str, key: str) -> ModelRuntime:
    files = [(name, (FIXTURES / name).read_bytes()) for name in names]
    parsed = _parse(files, key)
    return ModelRuntime(
        model_id=1,
        key=parsed.key,
        spec=parsed.spec,
        subprocess_specs=parsed.subprocess_specs,
        lanes=dict(parsed.lanes),
        forms=dict(parsed.forms),
    )


# -- a case driver that round-trips through the stored state after every step -------------
class Case:
    def __init__(self, *names: str, key: str):
        self.runtime = runtime_for(*names, key=key)
        self.engine = CaseEngine(_script_engine())
        self.workflow = None
        self.outcome: StepOutcome | None = None

    def _reload(self, outcome: StepOutcome) -> StepOutcome:
        json.loads(outcome.state)  # the state is plain JSON
        self.workflow = self.engine.load(self.runtime, outcome.state)
        # The loaded workflow shows the same human tasks and data as the one that ran...
        assert self.engine.ready_tasks(self.runtime, self.workflow) == outcome.ready
        again = self.engine.outcome(self.runtime, self.workflow, outcome.incident)
        assert again.status == outcome.status
        assert again.data == outcome.data
        assert again.waiting_messages == outcome.waiting_messages
        # ...and serialises back to the same state.
        assert json.loads(again.state) == json.loads(outcome.state)
        self.outcome = outcome
        return outcome

    def start(self, data: dict | None = None) -> StepOutcome:
        _, outcome = self.engine.start(self.runtime, data)
        return self._reload(outcome)

    def ready(self, element_id: str):
        matches = [t for t in self.outcome.ready if t.element_id == element_id]
        assert matches, f"{element_id} is not ready; ready: {self.ready_ids()}"
        return matches

    def ready_ids(self) -> list[str]:
        return sorted(t.element_id for t in self.outcome.ready)

    def complete(self, element_id: str, data: dict | None = None) -> StepOutcome:
        task = self.ready(element_id)[0]
        return self.complete_id(task.spiff_id, data)

    def complete_id(self, spiff_id: str, data: dict | None = None) -> StepOutcome:
        outcome = self.engine.complete_task(self.runtime, self.workflow, spiff_id, data)
        return self._reload(outcome)

    def send(self, name: str, payload: dict | None = None) -> StepOutcome:
        outcome = self.engine.send_message(self.runtime, self.workflow, name, payload)
        return self._reload(outcome)

    def retry(self) -> StepOutcome:
        outcome = self.engine.retry(self.runtime, self.workflow)
        return self._reload(outcome)


# -- 1. exclusive gateway ----------------------------------------------------------------
def test_exclusive_gateway_takes_the_conditional_flow():
    case = Case("exclusive_gateway.bpmn", key="exclusive_gateway")
    out = case.start({"amount": 500})
    assert out.status == "open"
    assert [(t.element_id, t.name, t.lane) for t in out.ready] == [
        ("senior_review", "Senior review", "civil_affairs")
    ]
    out = case.complete("senior_review", {"approved": True})
    assert out.completed and out.status == "concluded"
    assert out.ready == []
    assert out.data["amount"] == 500 and out.data["approved"] is True


def test_exclusive_gateway_takes_the_default_flow():
    case = Case("exclusive_gateway.bpmn", key="exclusive_gateway")
    out = case.start({"amount": 100})
    assert [(t.element_id, t.name, t.lane) for t in out.ready] == [("clerk_review", "Clerk review", "intake")]
    out = case.complete("clerk_review")
    assert out.status == "concluded"


# -- 1b. a user task's spiffworkflow:variableName ------------------------------------------
def test_user_task_variable_nests_the_submitted_data_under_its_name():
    case = Case("user_task_variable.bpmn", key="user_task_variable")
    case.start({"applicant": "Li Wei"})
    out = case.complete("enter_household", {"members": ["Li Wei", "Li Na"], "address": "Xinhua Rd 1"})
    assert out.data["household"] == {"members": ["Li Wei", "Li Na"], "address": "Xinhua Rd 1"}
    assert "members" not in out.data and "address" not in out.data
    assert out.data["member_count"] == 2 and out.data["applicant"] == "Li Wei"
    # a task without the extension keeps putting the fields at the top level
    out = case.complete("check_count", {"count_ok": True})
    assert out.status == "concluded" and out.data["count_ok"] is True


# -- 2. parallel gateway -----------------------------------------------------------------
def test_parallel_gateway_waits_for_both_branches():
    case = Case("parallel_gateway.bpmn", key="parallel_gateway")
    out = case.start({"applicant": "Li Wei"})
    assert sorted((t.element_id, t.lane) for t in out.ready) == [
        ("check_identity", "intake"),
        ("check_property", "civil_affairs"),
    ]
    out = case.complete("check_property", {"property_ok": True})
    assert case.ready_ids() == ["check_identity"]  # the join still waits
    out = case.complete("check_identity", {"identity_ok": True})
    assert [(t.element_id, t.name, t.lane) for t in out.ready] == [("decide", "Decide", "director")]
    # The join merged what both branches wrote.
    assert out.data["identity_ok"] is True and out.data["property_ok"] is True
    assert out.data["applicant"] == "Li Wei"
    out = case.complete("decide")
    assert out.status == "concluded"


# -- 3. inclusive gateway ----------------------------------------------------------------
def test_inclusive_gateway_activates_the_true_flows_and_joins_them():
    case = Case("inclusive_gateway.bpmn", key="inclusive_gateway")
    out = case.start({"floor_area": 350, "serves_food": True, "emits_noise": False})
    assert sorted((t.element_id, t.lane) for t in out.ready) == [
        ("fire_check", "fire_brigade"),
        ("health_check", "health_bureau"),
    ]
    out = case.complete("health_check", {"health_ok": True})
    assert case.ready_ids() == ["fire_check"]
    out = case.complete("fire_check", {"fire_ok": True})
    assert case.ready_ids() == ["issue_permit"]
    assert out.data["fire_ok"] is True and out.data["health_ok"] is True
    assert "environment_ok" not in out.data
    out = case.complete("issue_permit")
    assert out.status == "concluded"


def test_inclusive_gateway_with_a_single_true_flow():
    case = Case("inclusive_gateway.bpmn", key="inclusive_gateway")
    out = case.start({"floor_area": 50, "serves_food": False, "emits_noise": True})
    assert case.ready_ids() == ["environment_check"]
    case.complete("environment_check")
    assert case.ready_ids() == ["issue_permit"]


# -- 4. embedded subprocess --------------------------------------------------------------
def test_embedded_subprocess_user_task_then_the_parent_continues():
    case = Case("embedded_subprocess.bpmn", key="embedded_subprocess")
    out = case.start({"documents": ["id_card", "hukou"]})
    assert [(t.element_id, t.name, t.lane) for t in out.ready] == [
        ("sub_review", "Review each document", "civil_affairs")
    ]
    out = case.complete("sub_review", {"reviewed": 2})
    assert [(t.element_id, t.name, t.lane) for t in out.ready] == [("sign_off", "Sign off", "director")]
    # Data written inside the subprocess comes back out of it.
    assert out.data["reviewed"] == 2 and out.data["documents"] == ["id_card", "hukou"]
    out = case.complete("sign_off")
    assert out.status == "concluded"


# -- 5. call activity across two files ---------------------------------------------------
def test_call_activity_runs_the_callee_and_returns():
    case = Case("call_activity_caller.bpmn", "call_activity_callee.bpmn", key="call_activity_caller")
    out = case.start({"applicant": "Zhang San"})
    assert [(t.element_id, t.name, t.lane) for t in out.ready] == [
        ("verify_identity", "Verify identity card", "public_security")
    ]
    out = case.complete("verify_identity", {"identity_verified": True})
    assert [(t.element_id, t.lane) for t in out.ready] == [("register_household", "intake")]
    assert out.data["identity_verified"] is True and out.data["applicant"] == "Zhang San"
    out = case.complete("register_household")
    assert out.status == "concluded"


def test_terminate_end_inside_a_call_activity_ends_only_the_callee():
    # A terminate end event ends the process it sits in: the called process, not the case.
    case = Case("call_activity_caller.bpmn", "call_activity_callee_terminates.bpmn", key="call_activity_caller")
    case.start({"applicant": "Zhang San"})
    out = case.complete("verify_identity", {"identity_verified": True})
    assert [(t.element_id, t.lane) for t in out.ready] == [("register_household", "intake")]
    assert out.status == "open"
    out = case.complete("register_household")
    assert out.completed and out.status == "concluded"


# -- 6. multi-instance -------------------------------------------------------------------
def test_parallel_then_sequential_multi_instance():
    case = Case("multi_instance.bpmn", key="multi_instance")
    out = case.start({"reviewers": ["wang", "li", "zhao"], "chairs": ["chen", "liu"]})
    panel = case.ready("panel_review")
    assert len(panel) == 3 and len(out.ready) == 3
    assert {t.name for t in panel} == {"Expert review"}
    assert {t.lane for t in panel} == {"expert_panel"}
    # Each instance carries its own item from the input collection.
    by_reviewer = {case.workflow.get_task_from_id(_uuid(t.spiff_id)).data["reviewer"]: t for t in panel}
    assert set(by_reviewer) == {"wang", "li", "zhao"}

    for i, reviewer in enumerate(["li", "zhao", "wang"]):
        out = case.complete_id(by_reviewer[reviewer].spiff_id, {"opinion": f"{reviewer}: agree"})
        if i < 2:
            assert case.ready_ids() == ["panel_review"] * (2 - i)
    # SpiffWorkflow appends a list output in completion order, not input order: a model
    # that needs to know who said what must put the reviewer into the output item.
    assert out.data["opinions"] == ["li: agree", "zhao: agree", "wang: agree"]

    # Sequential: one instance at a time, in list order.
    for chair in ["chen", "liu"]:
        chair_tasks = case.ready("chair_review")
        assert len(out.ready) == 1 and len(chair_tasks) == 1
        assert case.workflow.get_task_from_id(_uuid(chair_tasks[0].spiff_id)).data["chair"] == chair
        out = case.complete("chair_review", {"note": f"{chair} signed"})
    assert out.data["chair_notes"] == ["chen signed", "liu signed"]
    assert case.ready_ids() == ["summarise"]
    out = case.complete("summarise")
    assert out.status == "concluded"


def _uuid(value: str):
    from uuid import UUID

    return UUID(value)


# -- 7. message intermediate catch event ------------------------------------------------
def test_message_catch_waits_for_the_applicant_and_takes_the_payload():
    case = Case("message_catch.bpmn", key="message_catch")
    out = case.start({"applicant": "Wang Fang"})
    assert out.status == "open" and case.ready_ids() == ["request_materials"]
    assert out.waiting_messages == []

    out = case.complete("request_materials", {"requested": ["household register"]})
    assert out.ready == []
    assert out.waiting_messages == ["materials_supplied"]
    assert out.status == "waiting_applicant"

    with pytest.raises(LookupError):
        case.engine.send_message(case.runtime, case.workflow, "something_else", {})

    out = case.send("materials_supplied", {"materials": ["household register scan"]})
    assert out.status == "open" and out.waiting_messages == []
    assert [(t.element_id, t.lane) for t in out.ready] == [("check_materials", "civil_affairs")]
    assert out.data["materials"] == ["household register scan"]
    assert out.data["applicant"] == "Wang Fang"
    with pytest.raises(LookupError):  # the message was consumed
        case.engine.send_message(case.runtime, case.workflow, "materials_supplied", {})
    out = case.complete("check_materials")
    assert out.status == "concluded"


# -- 8. business rule task with DMN ------------------------------------------------------
@pytest.mark.parametrize(
    "income, members, level, amount",
    [(1500, 4, "A", 1200), (1500, 1, "B", 800), (5000, 4, "none", 0)],
)
def test_business_rule_task_decides_from_the_table(income, members, level, amount):
    case = Case("business_rule.bpmn", "subsidy_level.dmn", key="business_rule")
    out = case.start({"monthly_income": income, "household_members": members})
    assert out.incident is None
    assert out.data["subsidy_level"] == level
    assert out.data["subsidy_amount"] == amount
    assert [(t.element_id, t.lane) for t in out.ready] == [("pay_subsidy", "civil_affairs")]


# -- 9. error end events -----------------------------------------------------------------
def test_error_end_in_subprocess_is_caught_by_the_boundary_event():
    case = Case("error_boundary.bpmn", key="error_boundary")
    out = case.start()
    assert [(t.element_id, t.lane) for t in out.ready] == [("inspect_documents", "intake")]
    out = case.complete("inspect_documents", {"documents_valid": False})
    assert out.incident is None
    assert [(t.element_id, t.name, t.lane) for t in out.ready] == [
        ("notify_applicant", "Notify applicant of invalid documents", "intake")
    ]
    assert out.status == "open"
    out = case.complete("notify_applicant")
    # A caught error is an ordinary path: the case concludes.
    assert out.completed and out.status == "concluded"


def test_subprocess_without_error_takes_the_normal_flow():
    case = Case("error_boundary.bpmn", key="error_boundary")
    case.start()
    out = case.complete("inspect_documents", {"documents_valid": True})
    assert [(t.element_id, t.lane) for t in out.ready] == [("approve", "civil_affairs")]
    out = case.complete("approve")
    assert out.status == "concluded"


def test_uncaught_error_end_at_top_level_ends_the_case_as_terminated():
    case = Case("error_uncaught.bpmn", key="error_uncaught")
    case.start()
    out = case.complete("assess", {"eligible": False})
    assert out.incident is None
    assert out.ready == []
    assert out.completed
    assert out.status == "terminated"
    # The uncaught error survives the round trip (it is what makes the status).
    assert [type(e.event_definition).__name__ for e in case.workflow.bpmn_events] == ["ErrorEventDefinition"]
    assert case.workflow.bpmn_events[0].event_definition.code == "NOT_ELIGIBLE"


# -- 10. terminate end event -------------------------------------------------------------
def test_terminate_end_cancels_the_other_branch():
    case = Case("terminate_end.bpmn", key="terminate_end")
    out = case.start()
    assert sorted((t.element_id, t.lane) for t in out.ready) == [
        ("process_application", "civil_affairs"),
        ("record_withdrawal", "intake"),
    ]
    out = case.complete("record_withdrawal", {"withdrawal_reason": "moved away"})
    assert out.ready == []
    assert out.completed and out.status == "terminated"
    assert out.data["withdrawal_reason"] == "moved away"
    cancelled = case.workflow.get_tasks(state=TaskState.CANCELLED, spec_name="process_application")
    assert len(cancelled) == 1


def test_finishing_the_other_branch_first_leaves_the_case_open():
    case = Case("terminate_end.bpmn", key="terminate_end")
    case.start()
    out = case.complete("process_application")
    assert case.ready_ids() == ["record_withdrawal"] and out.status == "open"


# -- 11. lanes ---------------------------------------------------------------------------
def test_ready_task_lane_is_the_lane_id_not_its_name():
    case = Case("exclusive_gateway.bpmn", key="exclusive_gateway")
    assert case.runtime.lanes["senior_review"] == "civil_affairs"
    assert case.runtime.lanes["clerk_review"] == "intake"
    out = case.start({"amount": 1000})
    assert out.ready[0].lane == "civil_affairs"  # the lane's name is "Civil Affairs Bureau"


def test_nodes_inside_a_subprocess_take_the_subprocess_lane():
    # No lane lists inspect_documents: it sits in the subprocess, which is in "intake".
    case = Case("error_boundary.bpmn", key="error_boundary")
    listed = {ref.text for ref in etree.parse(str(FIXTURES / "error_boundary.bpmn")).iterfind(f".//{{{BPMN}}}flowNodeRef")}
    assert "check_documents" in listed and "inspect_documents" not in listed
    assert case.runtime.lanes["inspect_documents"] == "intake"
    out = case.start()
    assert [(t.element_id, t.lane) for t in out.ready] == [("inspect_documents", "intake")]


# -- 12. a failing script ----------------------------------------------------------------
def test_failing_script_raises_an_incident_and_can_be_retried():
    case = Case("script_failure.bpmn", key="script_failure")
    out = case.start({"total": 300, "divisor": 0})
    assert out.incident is not None
    assert out.incident.kind == "script"
    assert out.incident.element_id == "compute_share"
    assert "ZeroDivisionError" in out.incident.message or "division by zero" in out.incident.message
    assert out.ready == [] and not out.completed and out.status == "open"

    # The stopped task is parked in ERROR and stays so through the round trip.
    failed = case.workflow.get_tasks(state=TaskState.ERROR)
    assert [t.task_spec.bpmn_id for t in failed] == ["compute_share"]
    assert str(failed[0].id) == out.incident.spiff_task_id

    failed[0].data["divisor"] = 3
    out = case.retry()
    assert out.incident is None
    assert out.data["share"] == 100
    assert [(t.element_id, t.lane) for t in out.ready] == [("confirm_share", "finance")]
    assert case.workflow.get_tasks(state=TaskState.ERROR) == []
    out = case.complete("confirm_share")
    assert out.status == "concluded"


def test_retry_without_a_fix_reports_the_incident_again():
    case = Case("script_failure.bpmn", key="script_failure")
    case.start({"total": 300, "divisor": 0})
    out = case.retry()
    assert out.incident is not None and out.incident.element_id == "compute_share"
    assert [t.task_spec.bpmn_id for t in case.workflow.get_tasks(state=TaskState.ERROR)] == ["compute_share"]


# -- 13. final statuses ------------------------------------------------------------------
def test_simple_process_concludes():
    case = Case("case_status.bpmn", key="case_status")
    out = case.start({"required": ["id_card"], "supplied": ["id_card", "photo"]})
    assert out.completed and out.status == "concluded"
    assert out.data["accepted"] is True and out.data["missing"] == []


def test_process_setting_case_status_refused_is_refused():
    case = Case("case_status.bpmn", key="case_status")
    out = case.start({"required": ["id_card", "photo"], "supplied": ["id_card"]})
    assert out.completed and out.status == "refused"
    assert out.data["case_status"] == "refused"
    assert out.data["refusal_reason"] == "missing: photo"


# -- SpiffWorkflow's own logs ------------------------------------------------------------
def test_engine_logs_quiet_from_warning_unless_the_operator_asks(caplog):
    """SpiffWorkflow logs every task's state change at INFO; the hosts' root logger is at INFO,
    so without ``quiet_engine_logs`` each step would build and write those records."""
    import logging

    from workflows.context import quiet_engine_logs

    spiff = logging.getLogger("spiff")
    was = spiff.level
    try:
        caplog.set_level(logging.INFO)  # the root logger at INFO, as server.app sets it
        quiet_engine_logs("WARNING")
        Case("user_task_variable.bpmn", key="user_task_variable").start()
        assert not [r for r in caplog.records if r.name.startswith("spiff")]

        quiet_engine_logs("INFO")  # REDWALL_ENGINE_LOG_LEVEL=info
        Case("user_task_variable.bpmn", key="user_task_variable").start()
        assert any(r.name == "spiff.task" and "State changed" in r.getMessage() for r in caplog.records)

        with pytest.raises(ValueError, match="unknown log level"):
            quiet_engine_logs("LOUD")
    finally:
        spiff.setLevel(was)


def test_engine_log_level_comes_from_the_environment(monkeypatch):
    from server import config

    monkeypatch.setenv("REDWALL_ENGINE_LOG_LEVEL", "info")
    assert config.timing_from_environment()["REDWALL_ENGINE_LOG_LEVEL"] == "INFO"
    monkeypatch.delenv("REDWALL_ENGINE_LOG_LEVEL")
    assert config.engine_options_from({}, lambda: None)["engine_log_level"] == "WARNING"
