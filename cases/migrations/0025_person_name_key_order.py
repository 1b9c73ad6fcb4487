"""A phonetic key's people in the search's order (`last_name_key, last_name, first_name, id`, ADR 91), in
place of the key's index that carried the names unordered. Built concurrently: people are written by the
front door all day, and a plain CREATE INDEX would hold their writers for the build."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0024_contact_next_due"),
    ]

    operations = [
        # A concurrent build that failed leaves an INVALID index of this name behind: drop any such leftover.
        migrations.RunSQL("DROP INDEX CONCURRENTLY IF EXISTS person_name_key_order", migrations.RunSQL.noop),
        AddIndexConcurrently(
            model_name="person",
            index=models.Index(
                fields=["last_name_key", "last_name", "first_name", "id"],
                name="person_name_key_order",
                include=["first_name_key"],
            ),
        ),
        RemoveIndexConcurrently(model_name="person", name="person_last_name_key"),
    ]
