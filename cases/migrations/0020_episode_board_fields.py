"""The board's fields on the episode (ADR 56): risk level, the indicators at high level, the latest
Managers Decision; three partial indexes on open episodes; a backfill from the records (frozen here:
`cases.board` may change later)."""

from django.conf import settings
from django.db import migrations, models


SOURCES = """
    SELECT r.indicator, r.level FROM cases_riskindicator r WHERE r.contact_id = e.contact_id
    UNION ALL
    SELECT r.indicator, r.level FROM cases_riskindicator r JOIN cases_contact c ON c.id = r.contact_id
     WHERE c.family_id = e.family_id AND c.received_at >= e.opened_at
    UNION ALL
    SELECT r.indicator, r.level FROM cases_assessmentrisk r JOIN cases_assessment a ON a.id = r.assessment_id
     WHERE a.episode_id = e.id
"""

BACKFILL = f"""
WITH t AS (
    SELECT e.id,
           COALESCE((SELECT max(s.level) FROM ({SOURCES}) s), 0) AS risk_level,
           COALESCE((SELECT string_agg(DISTINCT s.indicator, ',' ORDER BY s.indicator) FROM ({SOURCES}) s
                      WHERE s.level = 3), '') AS high_risks,
           (SELECT max(d.recorded_at) FROM oversight_managersdecision d WHERE d.episode_id = e.id) AS last_decision_at
      FROM cases_episode e
)
UPDATE cases_episode e
   SET risk_level = t.risk_level, high_risks = t.high_risks, last_decision_at = t.last_decision_at
  FROM t
 WHERE e.id = t.id
"""  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_partner_lead"),
        ("cases", "0019_partner_lead_professional"),
        ("oversight", "0003_supervision_and_decisions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="episode",
            name="high_risks",
            field=models.CharField(blank=True, db_default="", default="", max_length=200),
        ),
        migrations.AddField(
            model_name="episode",
            name="last_decision_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="episode",
            name="risk_level",
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
        # Backfill before the indexes exist: one pass, no index maintenance.
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="episode",
            index=models.Index(
                condition=models.Q(("state", "closed"), _negated=True),
                fields=["team", "opened_at", "id"],
                include=("lead_professional", "last_decision_at", "risk_level", "partner_organisation"),
                name="episode_open_team_opened",
            ),
        ),
        migrations.AddIndex(
            model_name="episode",
            index=models.Index(
                models.F("team"),
                models.OrderBy(models.F("last_decision_at"), nulls_first=True),
                models.F("opened_at"),
                models.F("id"),
                condition=models.Q(("state", "closed"), _negated=True),
                name="episode_open_team_decided",
            ),
        ),
        migrations.AddIndex(
            model_name="episode",
            index=models.Index(
                condition=models.Q(("state", "closed"), _negated=True),
                fields=["team", "-risk_level", "opened_at", "id"],
                name="episode_open_team_risk",
            ),
        ),
    ]
