"""Every search of people and families can be served by an index (ADR 0061).

At 200,000 families (666,000 people) a search by name took 96–151 ms of SQL: `UPPER(last_name) LIKE 'X%'`
had no index, so PostgreSQL read every person, and the scope check hashed every membership of the user's
scope. The class is "a search path that no index can serve". The tests call the real selectors (the search
page's `search_people` for every kind of query and every role that searches, the intake's `find_matches`,
the data protection page's `people_visible_to`), capture each query, and EXPLAIN it with
`enable_seqscan = off`: PostgreSQL then reads a table sequentially only when no index can give it the rows
(and a full scan of an index with no condition is the same thing). No plan may do either on the people,
the families, the memberships or the reach rows.

The plans of the real data are in BENCHMARKS.md ("Search at 200,000 families", `benchmarks/search_plans.py`).
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from cases import selectors
from cases.models import Membership, Person
from tests.factories import FamilyFactory, PersonFactory
from tests.module_data import fresh, made_once

pytestmark = pytest.mark.django_db

TABLES = {"cases_person", "cases_family", "cases_membership", "cases_familyreach"}
ROLES = ("mash", "mashlead", "duty", "coach", "teamlead", "manager", "dutymanager")


@pytest.fixture(scope="module")
def module_records(django_db_setup, django_db_blocker) -> dict:
    """The teams, the users and the people, made once for the module (4,000 families cost each test
    12 s to make): each test reads them in its own savepoint (tests/module_data.py, ADR 0070)."""

    def make() -> dict:
        from tests.conftest import make_users
        from tests.factories import ServiceFactory, TeamFactory

        service = ServiceFactory(name="Early Help")
        team = TeamFactory(name="Northfield Family Hub", service=service)
        other_team = TeamFactory(name="Southbank Family Hub", service=service)
        front_door_team = TeamFactory(name="Front Door", service=service, kind="front_door")
        return {"users": make_users(team, front_door_team, service), "people": make_people(team, other_team)}

    with made_once(django_db_blocker, make) as records:
        yield records


@pytest.fixture
def records(module_records, db) -> dict:
    return fresh(module_records)


@pytest.fixture
def users(records) -> dict:
    return records["users"]


@pytest.fixture
def people(records) -> Person:
    return records["people"]


def make_people(team, other_team) -> Person:
    """People in families of both teams (so every role's scope holds some and misses some), one with a
    UPN and an NHS number; analysed so that the planner knows the tables."""
    mine = FamilyFactory(team=team, postcode="ZZ3 4CD", children=2)
    theirs = FamilyFactory(team=other_team, postcode="ZZ3 4CD", children=1)
    child = PersonFactory(first_name="Juniper", last_name="Hollowell", nhs_number="9434765919", upn="A123456789012")
    Membership.objects.create(family=mine, person=child, relationship="child")
    other = PersonFactory(first_name="Juniper", last_name="Hollowell")
    Membership.objects.create(family=theirs, person=other, relationship="child")
    council(theirs, team, other_team)
    return child


FAMILIES = 4_000


def council(family, team, other_team) -> None:
    """4,000 more families of three people, half in each team, every one through the front door, with
    700 surnames and 300 first names none of the searches finds; analysed, so that PostgreSQL plans for
    tables of a council's shape (with a few rows, reading a whole table or index is the cheapest plan
    whatever the indexes, and the test would prove nothing)."""
    from cases.models import Family

    def copy(model, row_id: int, n: int, **values) -> str:
        columns = [f.column for f in model._meta.concrete_fields if f.column != "id"]
        chosen = ", ".join(values.get(c, f'x."{c}"') for c in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        table = model._meta.db_table
        return (
            f"INSERT INTO {table} ({names}) SELECT {chosen} "  # noqa: S608 - names of the model's own columns
            f"FROM {table} x, generate_series(1, {n}) g WHERE x.id = {row_id}"
        )

    person = Person.objects.filter(memberships__family=family).first()
    with connection.cursor() as cursor:
        cursor.execute(
            copy(Family, family.pk, FAMILIES, name="'The Filler household'", postcode="'ZZ' || (g % 90 + 10) || ' 1AB'")
        )
        cursor.execute(
            copy(
                Person,
                person.pk,
                3 * FAMILIES,
                last_name="'Filler' || (g % 700)",
                first_name="'Kid' || (g % 300)",
                last_name_key="'F' || lpad((g % 700)::text, 3, '0')",
                first_name_key="'K' || lpad((g % 300)::text, 3, '0')",
                date_of_birth="DATE '2010-01-01' + (g % 5000)",
                upn="''",
                nhs_number="''",
            )
        )
        cursor.execute(
            "INSERT INTO cases_membership (family_id, person_id, relationship) SELECT f.id, p.id, 'child' "
            "FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM cases_person "
            "      WHERE last_name LIKE 'Filler%%') p "
            "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM cases_family "
            "      WHERE name = 'The Filler household') f ON f.n = p.n / 3"
        )
        cursor.execute(
            "INSERT INTO cases_familyreach (family_id, kind, team_id, service_id, user_id) "
            "SELECT id, 'front', NULL::bigint, NULL::bigint, NULL::bigint FROM cases_family "
            "WHERE name = 'The Filler household' "
            "UNION ALL SELECT id, 'team', CASE WHEN id %% 2 = 0 THEN %s ELSE %s END, %s, NULL::bigint "
            "FROM cases_family WHERE name = 'The Filler household'",
            [team.pk, other_team.pk, team.service_id],
        )
        for table in sorted(TABLES):
            cursor.execute(f"ANALYZE {table}")  # noqa: S608 - a fixed name
        cursor.execute("SELECT count(*) FROM cases_membership")
        assert cursor.fetchone()[0] > 3 * FAMILIES


def unserved(plan: dict, path: str = "") -> list[str]:
    """Nodes that read one of TABLES without an index condition: a sequential scan, or a whole index."""
    found = []
    here = f"{path} > {plan['Node Type']}"
    relation = plan.get("Relation Name")
    if relation in TABLES:
        if plan["Node Type"] == "Seq Scan":
            found.append(f"Seq Scan on {relation}: {here}")
        elif plan["Node Type"] in {"Index Scan", "Index Only Scan"} and "Index Cond" not in plan:
            found.append(f"a whole index ({plan['Index Name']}) of {relation}: {here}")
    for child in plan.get("Plans", []):
        found += unserved(child, here)
    return found


def plan_without_seqscan(sql: str, params) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            value = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET enable_seqscan")
    document = json.loads(value) if isinstance(value, str) else value
    return document[0]["Plan"]


def assert_indexed(call, what: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        result = call()
    checked = 0
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        if "cases_" not in sql:  # the user's groups, read once
            continue
        bad = unserved(plan_without_seqscan(sql, None))
        assert not bad, f"{what}: no index serves\n{bad}\n{sql[:3000]}"
        checked += 1
    assert checked, f"{what}: no query of the people or families"
    return result


SEARCHES = {
    "surname": "Hollowell",
    "misspelt surname": "Holowell",
    "first name and surname": "Juniper Hollowel",
    "a common prefix": "Te",
    "two prefixes": "Ch Te",
    "a first name alone": "Juniper",
    "date of birth": "DOB",
    "postcode": "zz34cd",
    "NHS number": "943 476 5919",
    "UPN": "a123456789012",
}


@pytest.mark.parametrize("role", ROLES)
def test_every_search_of_the_search_page_is_served_by_indexes(users, people, role):
    user = users[role]
    namesake = Person.objects.get(last_name="Hollowell", memberships__family__team__name="Southbank Family Hub")
    for kind, typed in SEARCHES.items():
        query = people.date_of_birth.strftime("%d/%m/%Y") if typed == "DOB" else typed
        found = assert_indexed(lambda q=query: selectors.search_people(user, q), f"search by {kind} as {role}")
        if role in ("coach", "teamlead", "duty") and kind not in ("a common prefix", "two prefixes"):
            # the child of the team's family, never the other team's namesake
            assert people.pk in [p.pk for p in found] and namesake.pk not in [p.pk for p in found], kind


MATCHES = {
    "first name and surname": {"first_name": "Juniper", "last_name": "Hollowell"},
    "misspelt surname and date of birth": {"last_name": "Holowell", "date_of_birth": "DOB"},
    "date of birth only": {"date_of_birth": "DOB"},
    "surname and postcode": {"last_name": "Hollowell", "postcode": "zz3 4cd"},
    "postcode only": {"postcode": "ZZ3 4CD"},
    "NHS number and surname": {"last_name": "Nobody", "nhs_number": "9434765919"},
}


def test_every_intake_match_is_served_by_indexes(people):
    for kind, fields in MATCHES.items():
        fields = {k: people.date_of_birth if v == "DOB" else v for k, v in fields.items()}
        found = assert_indexed(lambda f=fields: selectors.find_matches(**f), f"intake match by {kind}")
        assert people.pk in [m["person"].pk for m in found], kind


def test_the_postcode_finds_a_household_as_well_as_the_name(people):
    """The postcode is a second branch of the match (a UNION): its people are found with the name's."""
    found = {m["person"].pk: m["score"] for m in selectors.find_matches(last_name="Nobody", postcode="ZZ3 4CD")}
    household = set(Membership.objects.filter(family__postcode="ZZ3 4CD").values_list("person_id", flat=True))
    assert set(found) == household and len(household) == 7
    assert all(score == 15 for score in found.values())


def test_a_person_of_the_data_protection_page_is_served_by_indexes(users, people):
    person = assert_indexed(
        lambda: selectors.people_visible_to(users["coach"]).filter(pk=people.pk).first(), "people_visible_to"
    )
    assert person == people
    assert selectors.people_visible_to(users["outsider"]).filter(pk=people.pk).first() is None


def _index_scans(node: dict, index: str):
    if node.get("Index Name") == index:
        yield node
    for child in node.get("Plans", []):
        yield from _index_scans(child, index)


def test_a_common_phonetic_key_is_read_a_page_at_a_time_in_order(users, people):
    """600 more people share the key of "Hollowell" (H440) without its spelling: the search's first 50 are
    the first 50 in SEARCH_ORDER of every match (the spelling's, the key's and the first names', each once),
    and the key's people are read in that order from `person_name_key_order`, about a page of them, not
    all 600 sorted (ADR 91)."""
    from cases.validators import soundex

    key = soundex("Hollowell")
    with connection.cursor() as cursor:
        # Two each in 300 of the council's families (the front door's and a team's), named so that some
        # sort before the Hollowells and some after; one is also a "Hollowell" by first name.
        values = {
            "first_name": "CASE WHEN g = 7 THEN 'Hollowell' ELSE 'Kid' || (g %% 40) END",
            # 30 sort before the Hollowells, the rest after; one is a Hollowell by both names (three branches).
            "last_name": "CASE WHEN g = 7 THEN 'Hollowell' WHEN g %% 20 = 0 THEN 'Halawall' || chr(97 + g %% 26) "
            "ELSE (ARRAY['Holwill', 'Hulwel'])[g %% 2 + 1] || chr(97 + g %% 26) END",
            "last_name_key": "%s",
            "first_name_key": "'K000'",
            "upn": "''",
            "nhs_number": "''",
        }
        columns = [f.column for f in Person._meta.concrete_fields if f.column != "id"]
        cursor.execute(
            f"INSERT INTO cases_person ({', '.join(columns)}) "  # noqa: S608 - the model's own column names
            f"SELECT {', '.join(values.get(c, f'x.{c}') for c in columns)} "
            "FROM cases_person x, generate_series(1, 600) g WHERE x.id = %s",
            [key, people.pk],
        )
        cursor.execute(
            "INSERT INTO cases_membership (family_id, person_id, relationship) SELECT f.id, p.id, 'child' "
            "FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM cases_person "
            "      WHERE last_name_key = %s AND first_name <> 'Juniper') p "
            "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM cases_family "
            "      WHERE name = 'The Filler household') f ON f.n = p.n / 2",
            [key],
        )
        for table in sorted(TABLES):
            cursor.execute(f"ANALYZE {table}")  # noqa: S608 - a fixed name
    user = users["mash"]
    visible = selectors.people_visible_to(user).filter(
        Q(last_name__istartswith="Hollowell") | Q(last_name_key=key) | Q(first_name__istartswith="Hollowell")
    )
    expected = list(visible.order_by(*selectors.SEARCH_ORDER).values_list("pk", flat=True)[:50])
    assert len(expected) == 50 and len(set(expected)) == 50
    both = Person.objects.get(first_name="Hollowell", last_name="Hollowell").pk
    assert both in expected  # the first page holds a person of all three branches
    with CaptureQueriesContext(connection) as captured:
        found, _ = selectors.search_person_values(user, "Hollowell")
    assert [row[0] for row in found] == expected
    # Every match, each once, in order: a longer list than any page.
    every = list(visible.order_by(*selectors.SEARCH_ORDER).values_list("pk", flat=True))
    assert (
        len(every) >= 600
        and [row[0] for row in selectors.search_person_values(user, "Hollowell", limit=700)[0]] == every
    )
    (sql,) = [q["sql"] for q in captured.captured_queries if "DISTINCT ON" in q["sql"]]
    with connection.cursor() as cursor:
        # As on a full-size dataset, where sorting a key's thousands is dear: the alternatives are turned off.
        for setting in ("enable_sort", "enable_incremental_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0][0]["Plan"]
    (scan,) = _index_scans(plan, "person_name_key_order")
    assert scan["Actual Rows"] <= 60, scan  # a page of the key's 602 people, not all of them
