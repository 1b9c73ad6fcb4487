"""Indexes the oversight reports need on tables other apps own.

Oversight reads `cases` and `deadlines` in bulk (timeliness, outcomes, Annex A); these indexes
serve those aggregates at council scale. They are raw SQL because a migration can only add
model-declared indexes to its own app's models; the names start with `oversight_` so their
owner is plain. If `cases` or `deadlines` later declares the same index, drop these.
"""

from django.db import migrations

INDEXES = [
    # Timeliness by rule, team and month for clocks started in a period: an index-only scan.
    (
        "oversight_deadline_started",
        "deadlines_deadline (started_at) INCLUDE (rulebook, rule_id, team_id, expected_at, due_at, stopped_at, "
        "stop_reason, flag_only)",
    ),
    # Outcomes at assessment, and Annex A List 2 (assessments in the period).
    ("oversight_assessment_completed", "cases_assessment (completed_at) WHERE completed_at IS NOT NULL"),
    ("oversight_assessment_started", "cases_assessment (started_at)"),
    # Outcomes at closure (episodes closed in the period), Annex A (interventions open at its end).
    ("oversight_episode_closed", "cases_episode (closed_at) WHERE closed_at IS NOT NULL"),
    ("oversight_episode_opened", "cases_episode (opened_at)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("oversight", "0003_supervision_and_decisions"),
        ("cases", "0003_episode_records"),
        ("deadlines", "0001_initial"),
    ]
    operations = [
        migrations.RunSQL(f"CREATE INDEX IF NOT EXISTS {name} ON {target}", f"DROP INDEX IF EXISTS {name}")
        for name, target in INDEXES
    ]
