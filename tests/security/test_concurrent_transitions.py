"""Simultaneous decisions on one record, as a threaded server receives them.

Exactly one wins; every other gets 409 with a message saying why; none gets a 500. The first
test sends real concurrent requests to a threaded live server; the second pins down the cause
of the old 500 (django-fsm switched the state field's protection off for the whole process
while one request reloaded a record).
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import Contact, Episode
from tests.factories import family_with_children
from workflows import services

THREADS = 6
CSRF = "x" * 32  # an unmasked CSRF secret: sent as the cookie and as the form's token


def _post_all_at_once(url: str, cookies: list[str], bodies: list[dict]) -> list[tuple[int, str]]:
    """POST every body at the same moment, each with its own session; (status, page) for each."""
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, str] | None] = [None] * len(bodies)

    def send(i: int) -> None:
        data = urllib.parse.urlencode({**bodies[i], "csrfmiddlewaretoken": CSRF}).encode()
        request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - the live server URL
        request.add_header("Cookie", f"sessionid={cookies[i]}; csrftoken={CSRF}")
        opener = urllib.request.build_opener(_NoRedirect)
        barrier.wait()
        try:
            with opener.open(request, timeout=60) as response:
                results[i] = (response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            results[i] = (error.code, error.read().decode())

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(r is not None for r in results), "a request did not come back"
    return results  # type: ignore[return-value]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is the answer we want to see, not the page it leads to


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.mark.django_db(transaction=True)
def test_simultaneous_decisions_on_one_contact_one_wins_the_others_get_409(live_server, users):
    family, children = family_with_children(1)
    now = timezone.now()
    contact = services.contact_receive(
        family=family,
        subjects=children,
        received_at=now - timedelta(hours=1),
        route="email",
        source="2A",
        presenting_needs="Needs",
        by=users["mash"],
        now=now,
    )
    deciders = [users["mash"], users["mashlead"]]
    cookies = [_session_cookie(deciders[i % 2]) for i in range(THREADS)]
    bodies = [
        {"decision": "signpost", "rationale": f"Decision number {i}", "version": contact.version}
        for i in range(THREADS)
    ]
    url = live_server.url + reverse("cases:contact_decide", args=[contact.pk])

    results = _post_all_at_once(url, cookies, bodies)

    statuses = sorted(status for status, _page in results)
    assert 500 not in statuses, [page[:2000] for status, page in results if status >= 500]
    assert statuses == [302] + [409] * (THREADS - 1), statuses
    for status, page in results:
        if status == 409:
            assert "changed by someone else while you were working on it" in page
    contact.refresh_from_db()
    assert contact.decision == "signpost"
    assert contact.history.filter(decision="signpost").count() == 1


@pytest.mark.parametrize("model", [Contact, Episode])
def test_reloading_a_record_never_switches_protection_off_for_other_threads(monkeypatch, model):
    """The state field is shared by every thread: reloading one record must not change it."""
    field = model._meta.get_field("state")
    other_state = [value for value in field.choices if value[0] != field.default][0][0]
    seen_while_reloading: list[bool] = []

    def fake_reload(self, using=None, fields=None, from_queryset=None):
        # What Django's reload does to the state field, without a database.
        seen_while_reloading.append(field.protected)
        self.state = other_state

    monkeypatch.setattr(models.Model, "refresh_from_db", fake_reload)
    record = model()
    record.refresh_from_db()

    assert seen_while_reloading == [True]
    assert record.state == other_state
    with pytest.raises(AttributeError):
        record.state = field.default  # outside a reload, the state still changes only by transitions
