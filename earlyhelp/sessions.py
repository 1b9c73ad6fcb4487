"""Django's database sessions, with the read every signed-in request makes as one SQL statement.

`django.contrib.sessions.backends.db` reads the session with the ORM (`Session.objects.get(...)`):
the queryset built, its filter resolved and compiled on every request, about a seventh of what the
simplest signed-in page cost in Python (ADR 67). This store sends the same SELECT (the row whose key
it is, not yet expired) as fixed text, a prepared statement of the connection (ADR 82). Everything
else is Django's: writing, creating, deleting, cycling the key, the session's encoding and signature,
its age and expiry.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from kit.compiled_sql import prepared_cursor


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        model = self.model
        connection = connections[router.db_for_read(model)]
        meta = model._meta
        sql = _SELECT.get(connection.alias)
        if sql is None:
            quote = connection.ops.quote_name
            table = quote(meta.db_table)
            key, data, expires = (quote(meta.get_field(name).column) for name in _FIELDS)
            sql = _SELECT[connection.alias] = (
                f"SELECT {data}, {expires} FROM {table} WHERE {key} = %s AND {expires} > %s LIMIT 1"  # noqa: S608 - quoted names
            )
        with prepared_cursor(connection.alias) as cursor:  # parsed and planned once per connection (ADR 82)
            cursor.execute(sql, [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's store: an unknown or expired key is no session
            return None
        # An aware datetime from the driver (the connection's time zone is UTC), as the ORM gives it.
        return model(session_key=self.session_key, session_data=row[0], expire_date=row[1])


_FIELDS = ("session_key", "session_data", "expire_date")
# database alias -> the SELECT's text (the table and column names quoted for that connection).
_SELECT: dict[str, str] = {}
