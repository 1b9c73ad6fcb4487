"""Meetings name the teams invited to them (their scope), and drafts belong to their episode.

Drafts used to point at their record only by a string (`object_key`), so deleting a family's
records left what someone had half-typed about the family behind. The backfill links every
draft to its episode and deletes the drafts whose episode is already gone: those are exactly
the leftovers of earlier deletions.
"""

import django.db.models.deletion
from django.db import migrations, models


def link_drafts_to_episodes(apps, schema_editor):
    Draft = apps.get_model("cases", "Draft")
    Episode = apps.get_model("cases", "Episode")
    episode_ids = set(Episode.objects.values_list("pk", flat=True))
    orphans = []
    for draft in Draft.objects.only("pk", "object_key").iterator():
        key = draft.object_key
        if key.isascii() and key.isdigit() and int(key) in episode_ids:
            Draft.objects.filter(pk=draft.pk).update(episode_id=int(key))
        else:
            orphans.append(draft.pk)
    Draft.objects.filter(pk__in=orphans).delete()
    # Check the new foreign keys now, so the ALTER below has no pending trigger events.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("cases", "0005_contact_contact_in_triage"),
    ]

    operations = [
        migrations.AddField(
            model_name="draft",
            name="episode",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="drafts", to="cases.episode"
            ),
        ),
        migrations.RunPython(link_drafts_to_episodes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="draft",
            name="episode",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="drafts", to="cases.episode"
            ),
        ),
        migrations.AddField(
            model_name="meeting",
            name="invited_teams",
            field=models.ManyToManyField(
                blank=True,
                help_text="The teams asked to the meeting: their team leaders and their service's managers see it",
                related_name="meetings_invited_to",
                to="accounts.team",
            ),
        ),
        migrations.AlterField(
            model_name="accesslog",
            name="action",
            field=models.CharField(
                choices=[
                    ("view", "Viewed"),
                    ("search", "Searched"),
                    ("export", "Exported"),
                    ("download", "Downloaded"),
                    ("delete", "Deleted"),
                ],
                max_length=10,
            ),
        ),
    ]
