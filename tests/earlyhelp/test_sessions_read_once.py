"""The session store (earlyhelp/sessions.py, ADR 67) reads a session as Django's database store does,
with one fixed SELECT instead of building an ORM query on every request."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.sessions.backends import db as django_db
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models.query import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from earlyhelp.sessions import SessionStore

pytestmark = pytest.mark.django_db


def saved(data: dict) -> str:
    store = SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def test_it_is_the_configured_store():
    assert settings.SESSION_ENGINE == "earlyhelp.sessions"


def test_a_session_reads_back_as_django_s_own_store_reads_it():
    key = saved({"_auth_user_id": "7", "last_activity": 1.5, "nested": {"a": [1, 2]}})
    ours, theirs = SessionStore(key), django_db.SessionStore(key)
    assert (
        dict(ours.items())
        == dict(theirs.items())
        == {"_auth_user_id": "7", "last_activity": 1.5, "nested": {"a": [1, 2]}}
    )
    assert ours.session_key == theirs.session_key == key
    row = ours._get_session_from_db()
    assert (row.session_key, row.session_data, row.expire_date) == tuple(
        Session.objects.values_list("session_key", "session_data", "expire_date").get(pk=key)
    )
    assert row.expire_date.tzinfo is not None


@pytest.mark.parametrize("whose", [SessionStore, django_db.SessionStore])
def test_expired_unknown_and_malformed_keys_are_no_session(whose):
    key = saved({"x": 1})
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    for given in (key, "n" * 32, "short", "'; DROP TABLE django_session; --" + "x" * 10):
        store = whose(given)
        assert dict(store.items()) == {} and store.session_key is None, given
    assert Session.objects.filter(pk=key).exists()


def test_the_read_is_one_statement_and_builds_no_queryset():
    key = saved({"y": 2})
    with (
        mock.patch.object(QuerySet, "get", side_effect=AssertionError("the ORM built the session's read")),
        CaptureQueriesContext(connection) as ctx,
    ):
        assert SessionStore(key)["y"] == 2
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"]
    assert sql.startswith('SELECT "session_data", "expire_date" FROM "django_session" WHERE "session_key" = ')


def test_signing_in_and_out_and_every_page_between_use_it(client, users):
    from django.contrib.auth import SESSION_KEY

    client.force_login(users["coach"])
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert SessionStore(key)[SESSION_KEY] == str(users["coach"].pk)
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert not Session.objects.filter(pk=key).exists()
    assert client.get(reverse("home")).status_code == 302
