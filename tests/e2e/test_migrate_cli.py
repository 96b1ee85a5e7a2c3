"""``redwall migrate``: the same use case as the API, from the command line."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.helpers import make_users
from workflows.cases import start_case
from workflows.models import Case

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "migration"


def test_migrate_dry_run_blocked_mapping_and_resume(app, ctx):
    actors = make_users(ctx)
    runner = app.test_cli_runner()
    v1 = str(FIXTURES / "moving_v1.bpmn")
    assert runner.invoke(args=["deploy", "--tenant", "xichangan", v1]).exit_code == 0
    cases = [start_case(ctx, actors["intake1"], "moving", {"applicant_name": "王芳"})["id"] for _ in range(3)]
    v2 = FIXTURES.parent / "migration"
    result = runner.invoke(args=["deploy", "--tenant", "xichangan", "--key", "moving",
                                 str(v2 / "moving_v2.bpmn"), str(v2 / "review.json")])
    assert "moving version 2 deployed" in result.output, result.output

    dry = runner.invoke(args=["migrate", "moving", "--tenant", "xichangan", "--from", "1", "--to", "2", "--dry-run",
                              "--cases", f"{cases[0]},{cases[1]}"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.count("\tcan migrate") == 2 and "dry run 1 of moving 1 → 2: done; 2 can migrate" in dry.output

    bad = runner.invoke(args=["migrate", "moving", "--tenant", "xichangan", "--from", "1", "--to", "2", "--map", "decide"])
    assert bad.exit_code == 2 and "OLD=NEW" in bad.output
    unknown = runner.invoke(args=["migrate", "moving", "--tenant", "xichangan", "--from", "1", "--to", "2",
                                  "--map", "decide=nowhere"])
    assert unknown.exit_code == 2 and "nowhere" in unknown.output
    missing = runner.invoke(args=["migrate", "moving", "--tenant", "xichangan", "--to", "2"])
    assert missing.exit_code == 2 and "--from" in missing.output

    real = runner.invoke(args=["migrate", "moving", "--tenant", "xichangan", "--from", "1", "--to", "2",
                               "--map", "decide=review", "--batch-size", "2"])
    assert real.exit_code == 0, real.output
    assert real.output.count("\tmigrated") == 3 and ": done; 3 migrated" in real.output
    with ctx.unit_of_work() as uow:
        assert set(uow.session.scalars(select(Case.model_version))) == {2}
    done = runner.invoke(args=["migrate", "moving", "--tenant", "xichangan", "--resume", "2"])
    assert done.exit_code == 2 and "finished" in done.output
