"""Ofsted Annex A: the template's values, the lists' rows, the data-quality report, the task and the file."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from cases import codes
from cases.models import AccessLog, Episode, Person
from cases.selectors import families_visible_to
from oversight import annex_a, annex_a_validation, tasks
from oversight import annex_a_codes as ac
from oversight.exports import FORMULA_START
from oversight.models import AnnexAExport
from tests.factories import family_with_children
from tests.oversight.helpers import NOW, london, make_assessment, make_contact, make_episode, unborn_child

pytestmark = pytest.mark.django_db
S = Episode.State
AS_AT = {"as_at_0": "23", "as_at_1": "11", "as_at_2": "2026"}
URL = "oversight:annex_a"


# --- The mapping table, value by value -----------------------------------------------------------

SEX = {"M": "a) Male", "F": "b) Female", "U": "c) Not stated/recorded", "I": "c) Not stated/recorded"}
ETHNICITY = {
    "WBRI": "a) WBRI", "WIRI": "b) WIRI", "WIRT": "c) WIRT", "WOTH": "d) WOTH", "WROM": "e) WROM",
    "MWBC": "f) MWBC", "MWBA": "g) MWBA", "MWAS": "h) MWAS", "MOTH": "i) MOTH", "AIND": "j) AIND",
    "APKN": "k) APKN", "ABAN": "l) ABAN", "AOTH": "m) AOTH", "BCRB": "n) BCRB", "BAFR": "o) BAFR",
    "BOTH": "p) BOTH", "CHNE": "q) CHNE", "OOTH": "r) OOTH", "REFU": "s) REFU", "NOBT": "s) NOBT",
}  # fmt: skip
SOURCE = {
    "1A": "a) 1A: Individual", "1B": "b) 1B: Individual", "1C": "c) 1C: Individual", "1D": "d) 1D: Individual",
    "2A": "e) 2A: Schools", "2B": "f) 2B: Education services", "3A": "g) 3A: Health services",
    "3B": "h) 3B: Health services", "3C": "i) 3C: Health services", "3D": "j) 3D: Health services",
    "3E": "k) 3E: Health services", "3F": "l) 3F: Health services", "4": "m) 4: Housing",
    "5A": "n) 5A: LA services", "5B": "o) 5B: LA services", "5C": "p) 5C: LA services",
    "5D": "p1) 5D: LA services", "6": "q) 6: Police", "7": "r) 7: Other legal agency", "8": "s) 8: Other",
    "9": "t) 9: Anonymous", "10": "u) 10: Unknown",
}  # fmt: skip
MAPPED = [(ac.SEX, c, v) for c, v in SEX.items()] + [(ac.ETHNICITY, c, v) for c, v in ETHNICITY.items()]
MAPPED += [(ac.CONTACT_SOURCE, c, v) for c, v in SOURCE.items()]


@pytest.mark.parametrize(("column", "code", "label"), MAPPED)
def test_each_stored_code_has_the_templates_label(column, code, label):
    assert ac.value_for(column, code, mode=ac.LABELS) == label
    assert label in ac.ALLOWED[ac.LABELS][column]
    bare = ac.value_for(column, code, mode=ac.CODES)
    assert bare == (code if column != ac.SEX else {"M": "M", "F": "F"}.get(code, "Not stated/recorded"))
    assert bare in ac.ALLOWED[ac.CODES][column]


def test_the_table_covers_every_code_we_store_and_nothing_else():
    assert set(SEX) == {c for c, _ in codes.SEXES}
    assert set(ETHNICITY) == {c for c, _ in codes.ETHNICITIES}
    assert set(SOURCE) == {c for c, _ in codes.CONTACT_SOURCES}
    assert ac.ALLOWED[ac.LABELS][ac.SEX] == {"a) Male", "b) Female", "c) Not stated/recorded", "d) Neither"}
    # A code we have no row for is written as stored (so the report can name it); blank stays blank.
    assert ac.value_for(ac.ETHNICITY, "XXXX", mode=ac.LABELS) == "XXXX"
    assert ac.value_for(ac.ETHNICITY, "", mode=ac.LABELS) is None
    assert annex_a_validation.FORMULA_START == FORMULA_START


def test_the_validator_rules():
    ok = ("P0000001", "a) Male", "a) WBRI", date(2015, 3, 10), 11, date(2026, 6, 1), "e) 2A: Schools")
    assert annex_a_validation.check_row("List 1", ok, mode=ac.LABELS) == []

    def rules(cells, list_name="List 1", mode=ac.LABELS):
        return {(p.column, p.rule, p.severity) for p in annex_a_validation.check_row(list_name, cells, mode=mode)}

    assert rules(("P1", "M", "WBRI", None, None, datetime(2026, 6, 1), "2A"), mode=ac.CODES) == {
        ("Date of Birth", "blank", "check")
    }
    assert rules(("P-1", "F", "", "10/03/2015", 1.5, date(2026, 6, 1), "=cmd|x")) == {
        ("Child Unique ID", "not_alphanumeric", "error"),
        ("Gender", "invalid", "error"),  # a bare code where labels are expected
        ("Ethnicity", "blank", "error"),
        ("Date of Birth", "not_date", "error"),
        ("Age of Child (Years)", "not_integer", "error"),
        ("Contact Source", "formula", "error"),
    }
    assert rules(
        ("P1", "c) Not stated/recorded", "s) NOBT", date(1990, 1, 1), 36, date(2026, 6, 1), "u) 10: Unknown")
    ) == {
        ("Gender", "not_known", "check"),
        ("Ethnicity", "not_known", "check"),
        ("Age of Child (Years)", "range", "check"),
        ("Contact Source", "not_known", "check"),
    }
    assert rules(("P1", "a) Male", "a) WBRI", None, None, None, "x")) == {
        ("Date of Birth", "blank", "check"),
        ("Date of Contact", "blank", "error"),
        ("Contact Source", "invalid", "error"),
    }
    list_2 = ("P1", "a) Male", "a) WBRI", date(2015, 3, 10), 11, date(2026, 7, 2), date(2026, 7, 1), "Hub")
    assert rules(list_2, "List 2") == {("Assessment completion date", "before_start", "error")}
    assert rules((*list_2[:5], None, None, ""), "List 2") == {
        ("Assessment start date", "blank", "error"),
        ("Organisation completing assessment", "blank", "error"),
    }
    assert annex_a_validation.check_headers("List 1", ["Child Unique ID", "Sex"])


# --- The workbook, built off the request thread ------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def returns(users, team):
    family, (older, _) = family_with_children(2, team=team)
    older.date_of_birth, older.sex, older.ethnicity = date(2015, 3, 10), "F", "WBRI"
    older.save()
    unborn = unborn_child(family)
    parent = Person.objects.get(memberships__family=family, memberships__relationship="parent")
    make_contact(family, received_at=london(2026, 6, 1, 10), source="3B", subjects=[older, unborn, parent])
    make_contact(family, received_at=london(2026, 5, 22, 10), subjects=[older])  # before the six months
    make_contact(family, received_at=london(2026, 11, 23, 9), subjects=[older])  # the chosen day: after
    make_contact(family, received_at=london(2026, 11, 22, 23, 30), source="6", subjects=[older])
    open_episode = make_episode(team, family=family, lead=users["coach"], opened_at=london(2026, 6, 10, 9))
    make_assessment(open_episode, by=users["coach"], started_at=london(2026, 7, 1, 0, 30),
                    completed_at=london(2026, 7, 20, 15), children=[older])  # fmt: skip
    waiting_family, waiting_children = family_with_children(2, team=team)
    waiting = make_episode(team, family=waiting_family, state=S.AWAITING_ALLOCATION, opened_at=london(2026, 11, 1, 9))
    closed_family, _ = family_with_children(1, team=team)
    closed = make_episode(team, family=closed_family, opened_at=london(2026, 1, 5, 9), closed_at=london(2026, 8, 1, 9))
    make_assessment(closed, by=users["coach"], started_at=london(2026, 6, 10, 9))
    gone_family, _ = family_with_children(1, team=team)
    gone = make_episode(team, family=gone_family, opened_at=london(2025, 11, 5, 9), closed_at=london(2026, 4, 1, 9))
    make_assessment(gone, by=users["coach"], started_at=london(2026, 1, 10, 9), completed_at=london(2026, 2, 1, 9))
    return {
        "older": older,
        "unborn": unborn,
        "waiting": waiting_children,
        "waiting_episode": waiting,
        "closed_family": closed_family,
        "family": family,
        "episode": open_episode,
    }


def check(client, django_capture_on_commit_callbacks, data=AS_AT):
    """Ask for the workbook: the task runs (eagerly) once the request's transaction commits."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(URL), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(reverse(URL))


def download(client):
    response = client.get(reverse("oversight:annex_a_download"))
    assert response.status_code == 200
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def test_the_workbook_has_the_templates_headers_values_and_dates(
    client, users, team, returns, pinned, media, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(users["manager"])
    page = client.get(reverse(URL))
    assert page.status_code == 200 and "Which Annex A this follows" in page.content.decode()
    assert not AccessLog.objects.filter(user=users["manager"]).exists()  # no children on the page yet
    page = check(client, django_capture_on_commit_callbacks)
    body = page.content.decode()
    assert "Data-quality check for 23 November 2026" in body and "Download workbook" in body
    assert (
        AccessLog.objects.filter(
            user=users["manager"], action="view", what="Ofsted Annex A data-quality report, 23/05/2026 to 22/11/2026"
        ).count()
        == 1
    )

    export = AnnexAExport.objects.get(requested_by=users["manager"])
    assert export.file.name.startswith("private/annex-a/") and (media / export.file.name).exists()
    response = client.get(reverse("oversight:annex_a_download"))
    assert response["Content-Disposition"].startswith('attachment; filename="annex-a-2026-11-23')
    raw = b"".join(response.streaming_content)
    assert AccessLog.objects.filter(user=users["manager"], action="export", what__startswith="Ofsted Annex A").exists()
    book = load_workbook(io.BytesIO(raw))
    assert book.sheetnames == ["List 1", "List 2", "Notes"]
    list1 = list(book["List 1"].iter_rows(values_only=True))
    assert list1[0] == (
        "Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)", "Date of Contact",
        "Contact Source",
    )  # fmt: skip
    older, unborn = returns["older"], returns["unborn"]
    unborn_ethnicity = ETHNICITY[unborn.ethnicity]
    assert list1[1:] == [
        (f"P{older.pk:07d}", "b) Female", "a) WBRI", datetime(2015, 3, 10), 11, datetime(2026, 6, 1),
         "h) 3B: Health services"),
        (f"P{unborn.pk:07d}", "c) Not stated/recorded", unborn_ethnicity, datetime(2027, 1, 10), -1,
         datetime(2026, 6, 1), "h) 3B: Health services"),
        (f"P{older.pk:07d}", "b) Female", "a) WBRI", datetime(2015, 3, 10), 11, datetime(2026, 11, 22), "q) 6: Police"),
    ]  # fmt: skip
    assert book["List 1"]["F2"].number_format == "dd/mm/yyyy" and book["List 1"]["D2"].number_format == "dd/mm/yyyy"
    assert book["List 1"]["E2"].data_type == "n"
    list2 = list(book["List 2"].iter_rows(values_only=True))
    assert list2[0] == (
        "Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)", "Assessment start date",
        "Assessment completion date", "Organisation completing assessment",
    )  # fmt: skip
    by_child = {row[0]: row for row in list2[1:]}
    assert by_child[f"P{older.pk:07d}"][4:] == (11, datetime(2026, 7, 1), datetime(2026, 7, 20), team.name)
    closed_child = Person.objects.get(memberships__family=returns["closed_family"], memberships__relationship="child")
    assert by_child[f"P{closed_child.pk:07d}"][5:] == (datetime(2026, 6, 10), None, team.name)
    # The waiting family's episode has no assessment: by default its children are not on List 2.
    assert len(list2) == 1 + 2  # the older child, the closed family's child
    notes = [row[0] for row in book["Notes"].iter_rows(values_only=True)]
    assert any("not on List 2" in (n or "") for n in notes)
    # Every cell passes the column rules, checked on the file itself.
    found = list(annex_a_validation.check_workbook(io.BytesIO(raw), mode=ac.LABELS))
    assert not annex_a_validation.errors(p for _, _, p in found)
    assert {(sheet, n, p.column, p.rule) for sheet, n, p in found} >= {("List 1", 3, "Gender", "not_known")}


def test_bare_codes_and_the_other_list_2_reading(
    client, users, team, returns, pinned, media, eager_celery, django_capture_on_commit_callbacks, settings
):
    settings.ANNEX_A_VALUES = "codes"
    settings.ANNEX_A_LIST_2_UNASSESSED = "include"
    client.force_login(users["manager"])
    page = check(client, django_capture_on_commit_callbacks)
    book = download(client)
    older = returns["older"]
    list1 = list(book["List 1"].iter_rows(values_only=True))
    assert list1[1] == (f"P{older.pk:07d}", "F", "WBRI", datetime(2015, 3, 10), 11, datetime(2026, 6, 1), "3B")
    by_child = {row[0]: row for row in list(book["List 2"].iter_rows(values_only=True))[1:]}
    for child in returns["waiting"]:
        assert by_child[f"P{child.pk:07d}"][5:] == (None, None, team.name)
    # The council's reading is stated, and the report shows what the template's rules make of it.
    problems = {(p["list"], p["column"], p["rule"]): p for p in page.context["problems"]}
    blank_start = problems[("List 2", "Assessment start date", "blank")]
    assert blank_start["count"] == 2 and blank_start["severity"] == "error"
    assert {r["url"] for r in blank_start["rows"]} == {
        reverse("episodes:episode_detail", args=[returns["waiting_episode"].pk])
    }
    assert "also includes children in an Early Help episode" in page.content.decode()


def test_a_broken_record_shows_in_the_report_and_clears_when_fixed(
    client, users, team, returns, pinned, media, eager_celery, django_capture_on_commit_callbacks
):
    older, family, episode = returns["older"], returns["family"], returns["episode"]
    Person.objects.filter(pk=older.pk).update(ethnicity="")  # no ethnicity recorded
    unknown = make_contact(family, received_at=london(2026, 10, 1, 10), source="10", subjects=[older])
    blank = make_contact(family, received_at=london(2026, 10, 2, 10), source="", subjects=[older])
    assessment = episode.assessment
    assessment.completed_at = assessment.started_at - timedelta(days=3)  # completed before it started
    assessment.save()
    client.force_login(users["manager"])
    page = check(client, django_capture_on_commit_callbacks)
    problems = {(p["list"], p["column"], p["rule"]): p for p in page.context["problems"]}
    ethnicity = problems[("List 1", "Ethnicity", "blank")]
    assert ethnicity["severity"] == "error" and ethnicity["message"] == "No ethnicity recorded"
    assert ethnicity["count"] == 4  # the older child on four contacts in the period...
    assert ethnicity["rows"] == [  # ...is one record to fix
        {"child": f"P{older.pk:07d}", "url": reverse("cases:family_detail", args=[family.pk]),
         "text": "Open the family record"}
    ]  # fmt: skip
    assert problems[("List 2", "Ethnicity", "blank")]["count"] == 1
    source = problems[("List 1", "Contact Source", "blank")]
    assert source["rows"][0]["url"] == reverse("cases:contact_detail", args=[blank.pk])
    unknown_source = problems[("List 1", "Contact Source", "not_known")]
    assert unknown_source["severity"] == "check" and unknown_source["message"] == "Contact source recorded as unknown"
    assert unknown_source["rows"][0]["url"] == reverse("cases:contact_detail", args=[unknown.pk])
    order = problems[("List 2", "Assessment completion date", "before_start")]
    assert order["message"] == "Assessment completed before it started"
    assert order["rows"][0]["url"] == reverse("episodes:episode_detail", args=[episode.pk])
    body = page.content.decode()
    assert "No ethnicity recorded" in body and "Assessment completed before it started" in body
    assert reverse("cases:contact_detail", args=[blank.pk]) in body
    child, family_url = f"P{older.pk:07d}", reverse("cases:family_detail", args=[family.pk])
    assert (  # the row as the page writes it (oversight.views_annex_a.problems_for_page)
        f'<tr class="govuk-table__row"><td class="govuk-table__cell">{child}</td><td class="govuk-table__cell">'
        f'<a class="govuk-link" href="{family_url}">Open the family record<span class="govuk-visually-hidden"> '
        f"for {child}</span></a></td></tr>"
    ) in body
    assert page.context["export"].report["errors"] == 4 + 1 + 1 + 1

    # Staff fix the records; checking again brings the counts to zero.
    Person.objects.filter(pk=older.pk).update(ethnicity="WBRI")
    unknown.__class__.objects.filter(pk__in=[unknown.pk, blank.pk]).update(source="2A")
    assessment.completed_at = assessment.started_at + timedelta(days=10)
    assessment.save()
    page = check(client, django_capture_on_commit_callbacks)
    report = page.context["export"].report
    assert report["errors"] == 0
    assert not any(p["column"] in ("Ethnicity", "Contact Source") for p in report["problems"])
    assert 'id="no-errors"' in page.content.decode()
    assert AnnexAExport.objects.filter(requested_by=users["manager"]).count() == 1  # replaced, not added


def test_scoped_to_the_managers_service_and_to_who_asked(
    client, users, team, returns, pinned, media, eager_celery, django_capture_on_commit_callbacks, far_manager
):
    # A family of our service known to the far service only through the scope selectors' rules:
    # an assessed episode in our team, and no contact.
    quiet_family, quiet_children = family_with_children(1, team=team)
    quiet = make_episode(team, family=quiet_family, opened_at=london(2026, 9, 1, 9))
    make_assessment(quiet, by=users["coach"], started_at=london(2026, 9, 2, 9), children=quiet_children)
    quiet_id = f"P{quiet_children[0].pk:07d}"

    def children_in(book):
        return {row[0] for sheet in ("List 1", "List 2") for row in list(book[sheet].iter_rows(values_only=True))[1:]}

    client.force_login(far_manager)
    assert client.get(reverse("oversight:annex_a_download")).status_code == 404  # nothing asked for yet
    check(client, django_capture_on_commit_callbacks)
    theirs = children_in(download(client))
    # Exactly the children of the families the scope selectors let this manager see.
    visible = set(
        Person.objects.filter(memberships__family__in=families_visible_to(far_manager)).values_list("pk", flat=True)
    )
    assert {int(child[1:]) for child in theirs} <= visible
    assert quiet_id not in theirs
    client.force_login(users["manager"])
    check(client, django_capture_on_commit_callbacks)
    mine = children_in(download(client))
    assert quiet_id in mine and f"P{returns['older'].pk:07d}" in mine
    # Each manager downloads their own workbook, never the other's.
    client.force_login(far_manager)
    assert quiet_id not in children_in(download(client))
    assert AnnexAExport.objects.count() == 2
    for name in ("teamlead", "coach", "outsider"):
        client.force_login(users[name])
        assert client.get(reverse(URL)).status_code == 403
        assert client.post(reverse(URL), AS_AT).status_code == 403
        assert client.get(reverse("oversight:annex_a_download")).status_code == 403


def test_a_bad_date_is_reported_and_nothing_is_queued(client, users, pinned, media):
    client.force_login(users["manager"])
    response = client.post(reverse(URL), {"as_at_0": "31", "as_at_1": "2", "as_at_2": "2026"})
    assert response.status_code == 200 and "govuk-error-summary" in response.content.decode()
    response = client.post(reverse(URL), {"as_at_0": "1", "as_at_1": "1", "as_at_2": "2099"})
    assert "must be today, tomorrow or in the past" in response.content.decode()
    response = client.get(reverse(URL), {"as_at_0": "x", "as_at_1": "", "as_at_2": "2026"})
    assert response.status_code == 200
    assert not AnnexAExport.objects.exists()


def test_being_prepared_then_ready_and_expired_after_a_day(
    client, users, returns, pinned, media, django_capture_on_commit_callbacks
):
    client.force_login(users["manager"])
    client.post(reverse(URL), AS_AT)  # the worker has not run yet
    page = client.get(reverse(URL))
    assert "Your workbook is being prepared" in page.content.decode()
    assert client.get(reverse("oversight:annex_a_download")).status_code == 404
    assert not AccessLog.objects.filter(user=users["manager"]).exists()
    export = AnnexAExport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        built = annex_a.annex_a_export_build(export_id=export.pk, now=NOW)
    assert built.status == "ready"
    # Delivered twice (acks_late): the second run leaves the finished workbook alone.
    assert annex_a.annex_a_export_build(export_id=export.pk, now=NOW).file.name == built.file.name
    assert "Download workbook" in client.get(reverse(URL)).content.decode()
    with time_machine.travel(NOW + timedelta(hours=25), tick=False):
        client.force_login(users["manager"])
        assert client.get(reverse("oversight:annex_a_download")).status_code == 404
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.expire_annex_a() == 1  # the hourly job
    assert not (media / built.file.name).exists()


def test_a_stale_build_says_so_and_a_replaced_one_is_discarded(client, users, returns, pinned, media):
    client.force_login(users["manager"])
    old = annex_a.annex_a_export_request(user=users["manager"], as_at=date(2026, 11, 23), now=NOW - timedelta(hours=1))
    assert "taking longer than expected" in client.get(reverse(URL)).content.decode()
    new = annex_a.annex_a_export_request(user=users["manager"], as_at=date(2026, 11, 23), now=NOW)
    assert annex_a.annex_a_export_build(export_id=old.pk, now=NOW) is None  # replaced: nothing to do
    built = annex_a.annex_a_export_build(export_id=new.pk, now=NOW)
    assert built.status == "ready"
    assert [p.name for p in (media / "private" / "annex-a").iterdir()] == [built.file.name.rsplit("/", 1)[-1]]


def test_text_that_would_run_as_a_formula_is_neutralised(
    client, users, team, returns, pinned, media, eager_celery, django_capture_on_commit_callbacks
):
    team.name = '=HYPERLINK("http://evil.example","Click")'
    team.save()
    client.force_login(users["manager"])
    check(client, django_capture_on_commit_callbacks)
    book = download(client)
    cell = book["List 2"]["H2"]
    assert cell.value == "'" + team.name and cell.data_type == "s"
    assert all(
        not (isinstance(c.value, str) and c.value.startswith(FORMULA_START))
        for sheet in ("List 1", "List 2")
        for row in book[sheet].iter_rows()
        for c in row
    )
    assert annex_a.neutralise("+1\x00") == "'+1" and annex_a.neutralise("@x") == "'@x"
    assert annex_a.neutralise("-2") == "'-2" and annex_a.neutralise(5) == 5


def test_the_report_lists_each_record_once_and_at_most_fifty():
    report = annex_a.QualityReport()
    blank = ("P1", "a) Male", "", date(2015, 1, 1), 11, date(2026, 6, 1), "e) 2A: Schools")
    problems = annex_a_validation.check_row("List 1", blank, mode=ac.LABELS)
    for contact in range(3):  # one child on three contacts: one family record to fix
        report.add("List 1", annex_a.Row(blank, person_id=1, family_id=9, contact_id=contact), problems)
    for person in range(2, 62):
        report.add("List 1", annex_a.Row(blank, person_id=person, family_id=person), problems)
    (entry,) = report.as_json()["problems"]
    assert entry["count"] == 63 and len(entry["rows"]) == annex_a.EXAMPLES == 50 and entry["truncated"]
    assert entry["rows"][0] == {"child": "P1", "fix_at": "family", "pk": 9}
    assert report.as_json()["errors"] == 63 and report.as_json()["rows"] == {"List 1": 63, "List 2": 0}


def test_the_records_to_fix_are_escaped_and_a_record_gone_says_so():
    from oversight.views_annex_a import problems_for_page

    report = {
        "problems": [
            {
                "list": "List 1",
                "column": "Ethnicity",
                "rows": [
                    {"child": "<b>P1</b>", "fix_at": "contact", "pk": 12},
                    {"child": "P2", "fix_at": "episode", "pk": None},
                ],
            }
        ]
    }
    (problem,) = problems_for_page(report)
    assert [r["url"] for r in problem["rows"]] == [reverse("cases:contact_detail", args=[12]), ""]
    html = str(problem["rows_markup"])
    assert "&lt;b&gt;P1&lt;/b&gt;" in html and "<b>" not in html
    assert f'href="{reverse("cases:contact_detail", args=[12])}"' in html
    assert '<td class="govuk-table__cell">P2</td><td class="govuk-table__cell">No longer recorded</td>' in html
