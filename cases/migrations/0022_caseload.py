"""Each lead professional's open caseload, kept by a trigger on the episodes (ADR 62), and filled
from a recount (the SQL frozen here: `cases.caseload` may change later)."""

from django.db import migrations, models

FUNCTION = """
CREATE OR REPLACE FUNCTION cases_episode_caseload() RETURNS trigger AS $$
DECLARE
    was bigint;
    now_held bigint;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state <> 'closed' THEN
        was := OLD.lead_professional_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.state <> 'closed' THEN
        now_held := NEW.lead_professional_id;
    END IF;
    IF was IS NOT DISTINCT FROM now_held THEN
        RETURN NULL;
    END IF;
    INSERT INTO cases_caseload AS c (lead_professional_id, open_cases)
    SELECT d.lead, d.n FROM (VALUES (was, -1), (now_held, 1)) AS d (lead, n)
     WHERE d.lead IS NOT NULL
     ORDER BY d.lead
    ON CONFLICT (lead_professional_id) DO UPDATE SET open_cases = c.open_cases + EXCLUDED.open_cases;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""

TRIGGER = """
CREATE TRIGGER cases_episode_caseload
AFTER INSERT OR DELETE OR UPDATE OF state, lead_professional_id ON cases_episode
FOR EACH ROW EXECUTE FUNCTION cases_episode_caseload();
"""

DROP = """
DROP TRIGGER IF EXISTS cases_episode_caseload ON cases_episode;
DROP FUNCTION IF EXISTS cases_episode_caseload();
"""

FILL = """
LOCK TABLE cases_episode IN SHARE MODE;
INSERT INTO cases_caseload (lead_professional_id, open_cases)
SELECT lead_professional_id, count(*) FROM cases_episode
 WHERE state <> 'closed' AND lead_professional_id IS NOT NULL
 GROUP BY lead_professional_id;
"""


class Migration(migrations.Migration):
    dependencies = [("cases", "0021_search_indexes")]

    operations = [
        migrations.CreateModel(
            name="Caseload",
            fields=[
                ("lead_professional_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("open_cases", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunSQL(FUNCTION + TRIGGER + FILL, DROP),
    ]
