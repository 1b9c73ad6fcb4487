"""The signed-in user's query is compiled once per process, and loads what the ORM loaded (ADR 63)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db.models.sql.compiler import SQLCompiler

from accounts.backends import AuthenticationOnlyBackend, signed_in_user
from deadlines.selectors import UNSEEN_ALERTS_LOADED

pytestmark = pytest.mark.django_db


def test_the_user_is_loaded_as_the_orm_loads_them_without_compiling_sql_again(users):
    backend = AuthenticationOnlyBackend()
    backend.get_user(users["coach"].pk)  # the first request of the process compiles
    calls = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        calls.append(self.query.model)
        return original(self, *args, **kwargs)

    with mock.patch.object(SQLCompiler, "as_sql", counted):
        loaded = {name: backend.get_user(users[name].pk) for name in ("coach", "manager", "outsider")}
    assert calls == []  # no SQL compiled: the first request compiled it
    for name, user in loaded.items():
        (orm,) = list(signed_in_user(users[name].pk))
        assert {f.attname: getattr(user, f.attname) for f in user._meta.concrete_fields} == {
            f.attname: getattr(orm, f.attname) for f in orm._meta.concrete_fields
        }
        assert user.role_names == frozenset(orm.role_list)
        assert user.team == orm.team and (user.team_id is None or user._meta.get_field("team").is_cached(user))
        assert getattr(user, UNSEEN_ALERTS_LOADED) == getattr(orm, UNSEEN_ALERTS_LOADED) == 0


def test_an_unknown_inactive_or_malformed_id_is_nobody(users):
    backend = AuthenticationOnlyBackend()
    users["coach"].is_active = False
    users["coach"].save()
    assert backend.get_user(users["coach"].pk) is None
    assert backend.get_user(-1) is None
    assert backend.get_user("not a number") is None
    assert backend.get_user(str(users["mash"].pk)).username == "mash"
