"""The open, not flag-only clocks in the order of the dashboard's list of breaches, `(due_at, id)`, with
the team and rule for its filters (ADR 0085). Built concurrently: the clocks table is the largest
written one, and a plain CREATE INDEX would hold its writers for the build."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("deadlines", "0013_service_counts"),
    ]

    operations = [
        # A concurrent build that failed (cancelled, a deadlock) leaves an INVALID index of this name behind,
        # and the next `migrate` would stop at "already exists": drop any such leftover first.
        migrations.RunSQL("DROP INDEX CONCURRENTLY IF EXISTS deadline_open_breach_order", migrations.RunSQL.noop),
        AddIndexConcurrently(
            model_name="deadline",
            index=models.Index(
                fields=["due_at", "id"],
                name="deadline_open_breach_order",
                include=["team", "rule_id"],
                condition=models.Q(("stopped_at__isnull", True), ("flag_only", False)),
            ),
        ),
    ]
