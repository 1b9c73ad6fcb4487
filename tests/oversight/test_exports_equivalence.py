"""The large CSVs read as value tuples (ADR 51) hold the same rows as when they read model instances.

`exports_before` is a frozen copy of the two builders as they were. Each test asks both for the same
table with the same filters and compares the files as written (`write_rows`: header, every cell in
its CSV form) and the families each names (the access log's subjects).
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.http import HttpRequest, QueryDict

from accounts import roles
from accounts.models import User
from deadlines.models import Deadline
from oversight import exports
from oversight.models import BreachAcknowledgement
from tests.conftest import make_user
from tests.oversight import exports_before as before
from tests.oversight import test_board
from tests.oversight.helpers import NOW

pytestmark = pytest.mark.django_db
board = test_board.board  # the team board's clocks, in every bucket


def request_as(user, query: str = "") -> HttpRequest:
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(query)
    request.user = user
    return request


def written(table: exports.Table) -> str:
    handle = io.StringIO()
    exports.write_rows(handle, table, progress=lambda n: None)
    return handle.getvalue()


def assert_same(name: str, user, query: str = "", *, now=NOW) -> int:
    old = getattr(before, name.replace("-", "_"))(request_as(user, query), now)
    new = exports.EXPORTS[{"board_deadlines": "board-timescales", "dashboard_breaches": "breaches"}[name]](
        request_as(user, query), now
    )
    assert (new.header, new.what) == (old.header, old.what)
    assert sorted(new.families) == sorted(old.families)
    assert new.counted.count() == old.counted.count()
    old_file, new_file = written(old), written(new)
    assert new_file == old_file
    return old_file.count("\n") - 1


def acknowledge(deadlines, by, comments):
    for deadline, comment in zip(deadlines, comments, strict=False):
        at = deadline.due_at + timedelta(days=1)
        BreachAcknowledgement.objects.create(deadline=deadline, by=by, at=at, comment=comment)


def test_the_board_and_breaches_of_the_board_fixture(users, board, pinned):
    manager, lead = users["manager"], users["teamlead"]
    breached = list(Deadline.objects.breached(NOW).order_by("pk"))
    acknowledge(breached[:2], manager, ['=HYPERLINK("x") & <b>', " on it, \u00e9\U0001f600\n"])
    for query in ("", "status=breached", "status=week", "practitioner=999999"):
        assert_same("board_deadlines", lead, query)
    for query in ("acknowledged=all", "acknowledged=no", "acknowledged=yes", ""):
        assert_same("dashboard_breaches", manager, query)


def test_a_generated_council(pinned):
    from tooling.generator import generate

    generate(families=60, seed=7, today=date(2026, 11, 23), access_log=False, stream=io.StringIO())
    manager = User.objects.filter(groups__name=roles.MANAGER, service__isnull=False).order_by("pk").first()
    breached = list(Deadline.objects.breached(NOW).filter(team__service_id=manager.service_id).order_by("pk")[:40])
    nameless = make_user("nameless", roles.MANAGER, None, service=manager.service, first_name="", last_name="")
    acknowledge(breached[::2], manager, ["Seen", "+1 call booked", "", "@team, review"] * 10)
    acknowledge(breached[1::2], nameless, ["Chased"] * 20)
    assert assert_same("dashboard_breaches", manager, "acknowledged=all") > 20
    assert_same("dashboard_breaches", manager, "acknowledged=yes")
    leaders = User.objects.filter(groups__name=roles.TEAM_LEADER, team__isnull=False).order_by("pk")
    assert sum(assert_same("board_deadlines", lead) for lead in leaders) > 5
