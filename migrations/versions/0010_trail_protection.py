"""trail protection on PostgreSQL: TRUNCATE refused, anchors append-only, heads forward-only

The trigger of 0003 refused UPDATE and DELETE of trail events, but TRUNCATE passed, the
anchor and head tables had no trigger, and ``session_replication_role = replica`` skipped it
(issue 10, item 13). Now:

* ``trail_events`` and ``trail_anchors``: UPDATE, DELETE and TRUNCATE are refused;
* ``trail_heads``: DELETE and TRUNCATE are refused, an UPDATE may only move a head forward;
* ``cases``: an UPDATE may not move a case's trail head (``trail_seq``, ``trail_hash``) back;
* every one of these triggers fires ``ALWAYS``, also under ``session_replication_role = replica``.

What is left to the table owner (``ALTER TABLE … DISABLE TRIGGER``) is closed by running the
application as a role that owns nothing: ``redwall db grant <role>`` (README, *The case trail*).
SQLite has no triggers of this kind; nothing changes there.

Revision ID: 0010
Revises: 0009 (the lead re-chains it after the other branches' migrations when merging)
Create Date: 2026-11-29

"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

REFUSE = """
CREATE OR REPLACE FUNCTION trail_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""

STATEMENTS = [
    REFUSE,
    # trail_events: 0003's row trigger (UPDATE, DELETE) plus TRUNCATE, all firing ALWAYS
    "CREATE TRIGGER trail_events_no_truncate BEFORE TRUNCATE ON trail_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION trail_refuse_change()",
    "ALTER TABLE trail_events ENABLE ALWAYS TRIGGER trail_events_append_only",
    "ALTER TABLE trail_events ENABLE ALWAYS TRIGGER trail_events_no_truncate",
    # trail_anchors: append-only
    "CREATE TRIGGER trail_anchors_append_only BEFORE UPDATE OR DELETE ON trail_anchors "
    "FOR EACH ROW EXECUTE FUNCTION trail_refuse_change()",
    "CREATE TRIGGER trail_anchors_no_truncate BEFORE TRUNCATE ON trail_anchors "
    "FOR EACH STATEMENT EXECUTE FUNCTION trail_refuse_change()",
    "ALTER TABLE trail_anchors ENABLE ALWAYS TRIGGER trail_anchors_append_only",
    "ALTER TABLE trail_anchors ENABLE ALWAYS TRIGGER trail_anchors_no_truncate",
    # trail_heads: never removed, only moved forward
    "CREATE TRIGGER trail_heads_no_delete BEFORE DELETE ON trail_heads "
    "FOR EACH ROW EXECUTE FUNCTION trail_refuse_change()",
    "CREATE TRIGGER trail_heads_forward_only BEFORE UPDATE ON trail_heads FOR EACH ROW "
    "WHEN (NEW.seq <= OLD.seq OR NEW.tenant_id <> OLD.tenant_id) EXECUTE FUNCTION trail_refuse_change()",
    "CREATE TRIGGER trail_heads_no_truncate BEFORE TRUNCATE ON trail_heads "
    "FOR EACH STATEMENT EXECUTE FUNCTION trail_refuse_change()",
    "ALTER TABLE trail_heads ENABLE ALWAYS TRIGGER trail_heads_no_delete",
    "ALTER TABLE trail_heads ENABLE ALWAYS TRIGGER trail_heads_forward_only",
    "ALTER TABLE trail_heads ENABLE ALWAYS TRIGGER trail_heads_no_truncate",
    # a case's head (cases.trail_seq/trail_hash) only forward; the WHEN runs in C, the function
    # only on a violation, so a case step pays next to nothing
    "CREATE TRIGGER cases_trail_head_forward_only BEFORE UPDATE ON cases FOR EACH ROW "
    "WHEN (NEW.trail_seq < OLD.trail_seq OR (NEW.trail_seq = OLD.trail_seq "
    "AND NEW.trail_hash IS DISTINCT FROM OLD.trail_hash)) EXECUTE FUNCTION trail_refuse_change()",
    "ALTER TABLE cases ENABLE ALWAYS TRIGGER cases_trail_head_forward_only",
]

TRIGGERS = [
    ("cases", "cases_trail_head_forward_only"),
    ("trail_heads", "trail_heads_no_truncate"),
    ("trail_heads", "trail_heads_forward_only"),
    ("trail_heads", "trail_heads_no_delete"),
    ("trail_anchors", "trail_anchors_no_truncate"),
    ("trail_anchors", "trail_anchors_append_only"),
    ("trail_events", "trail_events_no_truncate"),
]


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    op.execute("ALTER TABLE trail_events ENABLE TRIGGER trail_events_append_only")
    op.execute("DROP FUNCTION IF EXISTS trail_refuse_change()")
