"""Each service's clock summary rows (ADR 68): `OpenClockCount` and `ClockTimeliness` summed over the
service's teams, kept by statement triggers on the team rows (the writer's transaction, one upsert per
statement in key order) and filled from the team rows (the SQL frozen here)."""

from django.db import migrations, models

MEASURES = ("run", "with_expected", "with_maximum", "stopped", "met_expected", "missed_expected",
            "met_maximum", "missed_maximum")  # fmt: skip


def _function(name: str, select_new: str, select_old: str, upsert: str) -> str:
    branches = {
        "INSERT": select_new,
        "DELETE": select_old,
        "UPDATE": f"{select_new} UNION ALL {select_old}",
    }
    body = "\n".join(
        f"    IF TG_OP = '{op}' THEN\n        {upsert.format(rows=rows)};\n    END IF;" for op, rows in branches.items()
    )
    return f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$\nBEGIN\n{body}\n    RETURN NULL;\nEND\n$$ LANGUAGE plpgsql;"


def _triggers(name: str, table: str) -> str:
    out = []
    for op, refs in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        out.append(
            f"CREATE TRIGGER {name}_{op.lower()} AFTER {op} ON {table} REFERENCING {refs} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}();"
        )
    return "\n".join(out)


OPEN_UPSERT = """
        INSERT INTO deadlines_serviceclockcount AS c (service_id, rule_id, status, day, n)
        SELECT t.service_id, x.rule_id, x.status, x.day, sum(x.n)
          FROM ({rows}) x JOIN accounts_team t ON t.id = x.team_id
         GROUP BY 1, 2, 3, 4 HAVING sum(x.n) <> 0
         ORDER BY 1, 2, 3, 4 NULLS LAST
        ON CONFLICT ON CONSTRAINT service_clock_count_key DO UPDATE SET n = c.n + EXCLUDED.n"""

SUMS = ", ".join(f"sum(x.{m})" for m in MEASURES)
ADDS = ", ".join(f"{m} = c.{m} + EXCLUDED.{m}" for m in MEASURES)
ANY = " OR ".join(f"sum(x.{m}) <> 0" for m in MEASURES)
TIMELY_UPSERT = f"""
        INSERT INTO deadlines_servicetimeliness AS c (service_id, rule_id, month, {", ".join(MEASURES)})
        SELECT t.service_id, x.rule_id, x.month, {SUMS}
          FROM ({{rows}}) x JOIN accounts_team t ON t.id = x.team_id
         GROUP BY 1, 2, 3 HAVING {ANY}
         ORDER BY 1, 2, 3
        ON CONFLICT ON CONSTRAINT service_timeliness_key DO UPDATE SET {ADDS}"""  # noqa: S608 (constants only)

NEG = ", ".join(f"-{m} AS {m}" for m in MEASURES)
FORWARD = "\n".join(
    [
        _function(
            "deadlines_service_open",
            "SELECT team_id, rule_id, status, day, n FROM new_rows",
            "SELECT team_id, rule_id, status, day, -n AS n FROM old_rows",
            OPEN_UPSERT,
        ),
        _triggers("deadlines_service_open", "deadlines_openclockcount"),
        _function(
            "deadlines_service_timely",
            f"SELECT team_id, rule_id, month, {', '.join(MEASURES)} FROM new_rows",  # noqa: S608
            f"SELECT team_id, rule_id, month, {NEG} FROM old_rows",  # noqa: S608
            TIMELY_UPSERT,
        ),
        _triggers("deadlines_service_timely", "deadlines_clocktimeliness"),
    ]
)

BACKWARD = """
DROP TRIGGER IF EXISTS deadlines_service_open_insert ON deadlines_openclockcount;
DROP TRIGGER IF EXISTS deadlines_service_open_update ON deadlines_openclockcount;
DROP TRIGGER IF EXISTS deadlines_service_open_delete ON deadlines_openclockcount;
DROP TRIGGER IF EXISTS deadlines_service_timely_insert ON deadlines_clocktimeliness;
DROP TRIGGER IF EXISTS deadlines_service_timely_update ON deadlines_clocktimeliness;
DROP TRIGGER IF EXISTS deadlines_service_timely_delete ON deadlines_clocktimeliness;
DROP FUNCTION IF EXISTS deadlines_service_open();
DROP FUNCTION IF EXISTS deadlines_service_timely();
"""

FILL = f"""
LOCK TABLE deadlines_openclockcount, deadlines_clocktimeliness IN SHARE MODE;
INSERT INTO deadlines_serviceclockcount (service_id, rule_id, status, day, n)
SELECT t.service_id, x.rule_id, x.status, x.day, sum(x.n)
  FROM deadlines_openclockcount x JOIN accounts_team t ON t.id = x.team_id
 GROUP BY 1, 2, 3, 4 HAVING sum(x.n) <> 0;
INSERT INTO deadlines_servicetimeliness (service_id, rule_id, month, {", ".join(MEASURES)})
SELECT t.service_id, x.rule_id, x.month, {SUMS}
  FROM deadlines_clocktimeliness x JOIN accounts_team t ON t.id = x.team_id
 GROUP BY 1, 2, 3 HAVING {ANY};
"""  # noqa: S608 (constants only)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_partner_lead"),
        ("deadlines", "0012_open_episode_next"),
    ]

    operations = [
        migrations.CreateModel(
            name="ServiceClockCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("service_id", models.IntegerField()),
                ("rule_id", models.CharField(max_length=20)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("on_time", "On time"),
                            ("due_soon", "Due soon"),
                            ("overdue", "Overdue"),
                            ("breached", "Breached"),
                            ("met", "Met"),
                            ("met_late", "Met late"),
                            ("withdrawn", "Withdrawn"),
                        ],
                        max_length=10,
                    ),
                ),
                ("day", models.DateField(null=True)),
                ("n", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("service_id", "status", "day", "rule_id"),
                        name="service_clock_count_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ServiceTimeliness",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("service_id", models.IntegerField()),
                ("rule_id", models.CharField(max_length=20)),
                ("month", models.DateField()),
                ("run", models.IntegerField(default=0)),
                ("with_expected", models.IntegerField(default=0)),
                ("with_maximum", models.IntegerField(default=0)),
                ("stopped", models.IntegerField(default=0)),
                ("met_expected", models.IntegerField(default=0)),
                ("missed_expected", models.IntegerField(default=0)),
                ("met_maximum", models.IntegerField(default=0)),
                ("missed_maximum", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("service_id", "month", "rule_id"), name="service_timeliness_key")
                ],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
