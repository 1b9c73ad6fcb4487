"""Each practitioner's band of caseload against capacity and the count per band, team and service,
kept by triggers (ADR 68), and filled from the users as they are (the SQL frozen here)."""

from django.db import migrations, models

# A user's capacity and band, as `oversight.selectors.capacity_expression` and `caseload_band` say them.
BAND = """CASE WHEN cap <= 0 THEN (CASE WHEN n_open > 0 THEN 'over' ELSE 'at' END)
     WHEN n_open > cap THEN 'over' WHEN n_open = cap THEN 'at'
     WHEN n_open * 5 >= cap * 4 THEN 'near' WHEN n_open * 2 >= cap THEN 'half' ELSE 'under_half' END"""

REFRESH = f"""
CREATE OR REPLACE FUNCTION cases_caseload_band_refresh(uid bigint) RETURNS void AS $$
DECLARE
    s_band text; s_team int; s_service int; has_row boolean;
    n_band text := ''; n_team int; n_service int; cap int; n_open int;
BEGIN
    SELECT c.band, c.band_team_id, c.band_service_id, c.open_cases INTO s_band, s_team, s_service, n_open
      FROM cases_caseload c WHERE c.lead_professional_id = uid FOR UPDATE;
    has_row := FOUND;
    IF NOT has_row THEN n_open := 0; END IF;
    SELECT u.team_id, t.service_id,
           COALESCE(u.caseload_capacity_override, CASE u.working_pattern WHEN 'part_time' THEN 10 ELSE 20 END)
      INTO n_team, n_service, cap
      FROM accounts_user u JOIN accounts_team t ON t.id = u.team_id
     WHERE u.id = uid AND u.is_active AND u.partner_organisation_id IS NULL
       AND EXISTS (SELECT 1 FROM accounts_user_groups ug JOIN auth_group g ON g.id = ug.group_id
                    WHERE ug.user_id = u.id AND g.name = 'Practitioner');
    IF FOUND THEN
        n_band := {BAND};
    ELSE
        n_team := NULL; n_service := NULL;
    END IF;
    IF has_row AND s_band IS NOT DISTINCT FROM n_band AND s_team IS NOT DISTINCT FROM n_team
       AND s_service IS NOT DISTINCT FROM n_service THEN
        RETURN;
    END IF;
    IF NOT has_row AND n_band = '' THEN
        RETURN;
    END IF;
    INSERT INTO cases_caseloadband AS b (service_id, team_id, band, practitioners)
    SELECT k.s, k.t, k.b, sum(k.d)
      FROM (VALUES (s_service, s_team, s_band, -1), (s_service, 0, s_band, -1),
                   (n_service, n_team, n_band, 1), (n_service, 0, n_band, 1)) AS k (s, t, b, d)
     WHERE k.b IS NOT NULL AND k.b <> '' AND k.s IS NOT NULL
     GROUP BY 1, 2, 3 HAVING sum(k.d) <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT (service_id, team_id, band) DO UPDATE SET practitioners = b.practitioners + EXCLUDED.practitioners;
    IF has_row THEN
        UPDATE cases_caseload SET band = n_band, band_team_id = n_team, band_service_id = n_service
         WHERE lead_professional_id = uid;
    ELSE
        INSERT INTO cases_caseload (lead_professional_id, open_cases, band, band_team_id, band_service_id)
        VALUES (uid, 0, n_band, n_team, n_service);
    END IF;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION cases_caseload_band_of_caseload() RETURNS trigger AS $$
BEGIN
    PERFORM cases_caseload_band_refresh(NEW.lead_professional_id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION cases_caseload_band_of_user() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM cases_caseload_band_refresh(OLD.id);
    ELSE
        PERFORM cases_caseload_band_refresh(NEW.id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION cases_caseload_band_of_role() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM cases_caseload_band_refresh(OLD.user_id);
    ELSE
        PERFORM cases_caseload_band_refresh(NEW.user_id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""  # noqa: S608 (constants only)

TRIGGERS = """
CREATE TRIGGER cases_caseload_band_new AFTER INSERT ON cases_caseload
FOR EACH ROW WHEN (NEW.band IS NULL) EXECUTE FUNCTION cases_caseload_band_of_caseload();
CREATE TRIGGER cases_caseload_band_moved AFTER UPDATE OF open_cases ON cases_caseload
FOR EACH ROW WHEN (OLD.open_cases IS DISTINCT FROM NEW.open_cases) EXECUTE FUNCTION cases_caseload_band_of_caseload();
CREATE TRIGGER accounts_user_caseload_band AFTER INSERT OR DELETE OR UPDATE OF
    team_id, is_active, partner_organisation_id, caseload_capacity_override, working_pattern ON accounts_user
FOR EACH ROW EXECUTE FUNCTION cases_caseload_band_of_user();
CREATE TRIGGER accounts_user_groups_caseload_band AFTER INSERT OR DELETE OR UPDATE ON accounts_user_groups
FOR EACH ROW EXECUTE FUNCTION cases_caseload_band_of_role();
"""

DROP = """
DROP TRIGGER IF EXISTS cases_caseload_band_new ON cases_caseload;
DROP TRIGGER IF EXISTS cases_caseload_band_moved ON cases_caseload;
DROP TRIGGER IF EXISTS accounts_user_caseload_band ON accounts_user;
DROP TRIGGER IF EXISTS accounts_user_groups_caseload_band ON accounts_user_groups;
DROP FUNCTION IF EXISTS cases_caseload_band_of_caseload();
DROP FUNCTION IF EXISTS cases_caseload_band_of_user();
DROP FUNCTION IF EXISTS cases_caseload_band_of_role();
DROP FUNCTION IF EXISTS cases_caseload_band_refresh(bigint);
"""

# Every user who is or was counted: each row worked out once (the function writes the counts).
FILL = """
LOCK TABLE cases_caseload IN SHARE ROW EXCLUSIVE MODE;
SELECT cases_caseload_band_refresh(id) FROM (
    SELECT lead_professional_id AS id FROM cases_caseload
    UNION SELECT user_id FROM accounts_user_groups ug JOIN auth_group g ON g.id = ug.group_id
     WHERE g.name = 'Practitioner'
) u ORDER BY id;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_partner_lead"),
        ("cases", "0022_caseload"),
    ]

    operations = [
        migrations.AddField(
            model_name="caseload",
            name="band",
            field=models.CharField(blank=True, max_length=10, null=True),
        ),
        migrations.AddField(
            model_name="caseload",
            name="band_service_id",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="caseload",
            name="band_team_id",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="CaseloadBand",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("service_id", models.IntegerField()),
                ("team_id", models.IntegerField()),
                ("band", models.CharField(max_length=10)),
                ("practitioners", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("service_id", "team_id", "band"), name="caseload_band_key")
                ],
            },
        ),
        migrations.RunSQL(REFRESH + TRIGGERS, DROP),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
