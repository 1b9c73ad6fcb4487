"""The faster Annex A build (ADR 51) writes the same workbook and report as the build before it.

`annex_a_before` is a frozen copy of the build as it was (openpyxl cell by cell, `check_row` a row).
Each test builds the same world with both and compares: every part of the two files byte for byte
(the time is pinned, so even the document properties match), every cell of every sheet (value,
type, number format, font, alignment) as openpyxl reads it back, the row counts, the data-quality
report key by key, and the progress the job is given.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
import time_machine
from openpyxl import load_workbook

from accounts import roles
from accounts.models import User
from cases.models import Membership, Person
from oversight import annex_a
from oversight import annex_a_codes as ac
from oversight import annex_a_validation as validation
from tests.conftest import make_user
from tests.factories import PersonFactory, TeamFactory, family_with_children
from tests.oversight import annex_a_before as before
from tests.oversight.helpers import NOW, london, make_assessment, make_contact, make_episode, unborn_child

pytestmark = pytest.mark.django_db
AS_AT = date(2026, 11, 23)


def build(module, user, *, as_at=AS_AT, mode, unassessed=annex_a.EXCLUDE, now=NOW):
    file, calls = io.BytesIO(), []
    with time_machine.travel(now, tick=False):
        counts, report = module.write_workbook(
            file, user=user, as_at=as_at, mode=mode, unassessed=unassessed, now=now, progress=calls.append
        )
    return file.getvalue(), counts, report, calls


def cells(raw: bytes) -> dict:
    book = load_workbook(io.BytesIO(raw))
    out = {"sheets": book.sheetnames}
    for sheet in book.worksheets:
        out[sheet.title] = {
            "size": (sheet.max_row, sheet.max_column),
            "widths": {k: d.width for k, d in sheet.column_dimensions.items()},
            "cells": [
                (
                    c.coordinate,
                    c.value,
                    c.data_type,
                    c.number_format,
                    bool(c.font.b),
                    c.alignment.wrap_text,
                    c.alignment.vertical,
                )
                for row in sheet.iter_rows()
                for c in row
            ],
        }
    return out


def assert_same(user, **kwargs) -> dict:
    old_file, old_counts, old_report, old_calls = build(before, user, **kwargs)
    new_file, new_counts, new_report, new_calls = build(annex_a, user, **kwargs)
    assert new_counts == old_counts
    assert new_report == old_report
    assert new_calls == old_calls
    old_book, new_book = cells(old_file), cells(new_file)
    assert new_book["sheets"] == old_book["sheets"] == ["List 1", "List 2", "Notes"]
    for name in old_book["sheets"]:
        assert new_book[name]["size"] == old_book[name]["size"], name
        assert new_book[name]["widths"] == old_book[name]["widths"], name
        for new, old in zip(new_book[name]["cells"], old_book[name]["cells"], strict=True):
            assert new == old, name
    old_zip, new_zip = zipfile.ZipFile(io.BytesIO(old_file)), zipfile.ZipFile(io.BytesIO(new_file))
    assert new_zip.namelist() == old_zip.namelist()
    for part in old_zip.namelist():
        assert new_zip.read(part) == old_zip.read(part), part
    return old_counts


@pytest.fixture
def world(users, team, service):
    """Every case the lists cover, in and out of the six months and the manager's service."""
    coach = users["coach"]
    family, (older, younger) = family_with_children(2, team=team)
    older.date_of_birth, older.sex, older.ethnicity = date(2015, 3, 10), "F", "WBRI"
    older.save()
    # No date of birth, sex and ethnicity not known, an unknown stored code, a grown-up "child".
    younger.date_of_birth, younger.sex, younger.ethnicity = None, "U", "NOBT"
    younger.save()
    unborn = unborn_child(family)
    parent = Person.objects.get(memberships__family=family, memberships__relationship="parent")
    make_contact(family, received_at=london(2026, 6, 1, 10), source="3B", subjects=[older, unborn, parent, younger])
    make_contact(family, received_at=london(2026, 5, 22, 10), subjects=[older])  # before the six months
    make_contact(family, received_at=london(2026, 5, 23, 0, 0), subjects=[older])  # its first instant
    make_contact(family, received_at=london(2026, 11, 23, 0, 0), subjects=[older])  # the chosen day: after
    make_contact(family, received_at=london(2026, 11, 22, 23, 59), source="6", subjects=[older])
    make_contact(family, received_at=london(2026, 10, 25, 0, 30), source="10", subjects=[younger])  # clocks go back
    odd_family, (odd, grown) = family_with_children(2, team=team)
    Person.objects.filter(pk=odd.pk).update(ethnicity="XXXX", sex="I")  # a code the template has no value for
    grown.date_of_birth = date(1995, 2, 28)
    grown.save()
    make_contact(odd_family, received_at=london(2026, 8, 3, 12), source="9", subjects=[odd, grown, older])
    # More than EXAMPLES records with the same problem (one row per contact: each is its own fix).
    for day in range(1, 28):
        make_contact(odd_family, received_at=london(2026, 9, day, 9), source="10", subjects=[odd, grown])
    # List 2: an assessment naming one child, one naming none (the family's children), one completed
    # before it started, an unassessed episode, a closed one, one that ended before the six months.
    episode = make_episode(team, family=family, lead=coach, opened_at=london(2026, 6, 10, 9))
    make_assessment(
        episode, by=coach, started_at=london(2026, 7, 1, 0, 30), completed_at=london(2026, 7, 20, 15), children=[older]
    )
    named_none = make_episode(team, family=odd_family, opened_at=london(2026, 3, 1, 9))
    make_assessment(named_none, by=coach, started_at=london(2026, 2, 1, 9), completed_at=london(2026, 6, 2, 9))
    backwards_family, _ = family_with_children(3, team=team)
    backwards = make_episode(team, family=backwards_family, opened_at=london(2026, 6, 1, 9))
    make_assessment(backwards, by=coach, started_at=london(2026, 7, 2, 9), completed_at=london(2026, 7, 1, 9))
    waiting_family, _ = family_with_children(2, team=team)
    make_episode(team, family=waiting_family, state=annex_a.Episode.State.AWAITING_ALLOCATION)
    closed_family, _ = family_with_children(1, team=team)
    closed = make_episode(team, family=closed_family, opened_at=london(2026, 1, 5, 9), closed_at=london(2026, 8, 1, 9))
    make_assessment(closed, by=coach, started_at=london(2026, 6, 10, 9))
    gone_family, _ = family_with_children(1, team=team)
    gone = make_episode(team, family=gone_family, opened_at=london(2025, 11, 5, 9), closed_at=london(2026, 4, 1, 9))
    make_assessment(gone, by=coach, started_at=london(2026, 1, 10, 9), completed_at=london(2026, 2, 1, 9))
    # A team whose name a spreadsheet would run, with characters Excel refuses and XML escapes.
    odd_team = TeamFactory(name='=HYPERLINK(\x01"x") & <Hub> \u00e9\U0001f600 ', service=service)
    hub_family, (hub_child,) = family_with_children(1, team=odd_team)
    hub_episode = make_episode(odd_team, family=hub_family, opened_at=london(2026, 7, 1, 9))
    make_assessment(hub_episode, by=coach, started_at=london(2026, 7, 3, 9), children=[hub_child])
    # Another service's family: on neither list of this manager's workbook.
    far_team = TeamFactory(name="Far Hub")
    far_family, (far_child,) = family_with_children(1, team=far_team)
    make_contact(far_family, received_at=london(2026, 9, 1, 9), subjects=[far_child])
    far = make_episode(far_team, family=far_family, opened_at=london(2026, 9, 1, 9))
    make_assessment(far, by=coach, started_at=london(2026, 9, 2, 9), children=[far_child])
    # A child of one family named on a sibling family's contact is not that contact's child.
    stranger = PersonFactory()
    Membership.objects.create(family=far_family, person=stranger, relationship="child")
    make_contact(family, received_at=london(2026, 9, 5, 9), subjects=[stranger, older])
    return family


@pytest.mark.parametrize("mode", ac.MODES)
@pytest.mark.parametrize("unassessed", [annex_a.EXCLUDE, annex_a.INCLUDE])
def test_the_same_workbook_for_every_case(users, world, mode, unassessed):
    counts = assert_same(users["manager"], mode=mode, unassessed=unassessed)
    assert counts["List 1"] > 60 and counts["List 2"] >= 8, counts


def test_the_same_progress_and_report_when_rows_cross_chunks(users, world, monkeypatch):
    monkeypatch.setattr(annex_a, "CHUNK", 7)
    monkeypatch.setattr(before, "CHUNK", 7)
    assert_same(users["manager"], mode=ac.LABELS, unassessed=annex_a.INCLUDE)
    _, _, report, calls = build(annex_a, users["manager"], mode=ac.LABELS)
    assert calls and calls == list(range(7, 7 * len(calls) + 1, 7))
    assert any(p["truncated"] for p in report["problems"])  # more than EXAMPLES records to fix


def test_the_same_workbook_with_no_rows(users):
    assert assert_same(users["manager"], mode=ac.LABELS) == {"List 1": 0, "List 2": 0}


def test_the_same_workbook_for_a_team_leader_and_a_user_with_no_service(users, world):
    for user in (users["teamlead"], make_user("lonely", roles.MANAGER, None)):
        assert_same(user, mode=ac.CODES)


def test_the_same_workbook_for_a_generated_council():
    from tooling.generator import generate

    generate(families=60, seed=7, today=date(2026, 11, 30), access_log=False, stream=io.StringIO())
    manager = User.objects.filter(groups__name=roles.MANAGER, service__isnull=False).order_by("pk").first()
    for mode in ac.MODES:
        for unassessed in (annex_a.EXCLUDE, annex_a.INCLUDE):
            counts = assert_same(manager, as_at=date(2026, 11, 30), mode=mode, unassessed=unassessed)
            assert counts["List 1"] > 20 and counts["List 2"] > 5, counts


VALUES = [
    None,
    "",
    "  ",
    " lead",
    "P0000001",
    "P-1",
    "=cmd",
    "a) Male",
    "M",
    "XXXX",
    "s) NOBT",
    "u) 10: Unknown",
    date(2015, 3, 10),
    date(2026, 7, 1),
    "10/03/2015",
    11,
    -1,
    26,
    1.5,
    True,
    0,
    1,
]


@pytest.mark.parametrize("list_name", list(validation.LISTS))
@pytest.mark.parametrize("mode", ac.MODES)
def test_the_row_checker_says_what_check_row_says(list_name, mode):
    """Every value in every column (and the completed-before-started rule), cached or not."""
    check = validation.RowChecker(list_name, mode=mode)
    width = len(validation.LISTS[list_name])
    base = list(("P1", "a) Male", "a) WBRI", date(2015, 3, 10), 11, date(2026, 7, 2), date(2026, 7, 1), "Hub")[:width])
    if list_name == "List 1":
        base[-1] = "e) 2A: Schools"
    for _ in range(2):  # the second time from the cache
        for index in range(width):
            for value in VALUES:
                cells = tuple(base[:index] + [value] + base[index + 1 :])
                assert check(cells) == validation.check_row(list_name, cells, mode=mode), (index, value)
    assert check(("P1",)) == validation.check_row(list_name, ("P1",), mode=mode)
