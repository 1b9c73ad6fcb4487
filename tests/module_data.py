"""Records made once for a module's tests (Django's `TestCase.setUpTestData`, for pytest fixtures).

`made_once` opens the atomic blocks of a Django `TestCase` around a module- or class-scoped fixture,
makes the records, checks their deferred constraints once, and rolls them all back when the fixture is
torn down; each test then runs in its own savepoint inside them (pytest-django's `db`), so what one test
writes is never seen by the next and nothing is left for the next module. The check matters for speed
too: each test's teardown checks the deferred constraints (`SET CONSTRAINTS ALL IMMEDIATE`, Django's
`TestCase`), and rows whose checks are still pending would be checked again after every test.

`fresh` gives a test its own copies of the fixture's Python objects, as `setUpTestData`'s attributes
are deep-copied per test, so an object one test changes in memory (a saved field, a cached relation)
is not the next test's. ADR 0070.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


@contextlib.contextmanager
def made_once(django_db_blocker, make: Callable[[], T]) -> Iterator[T]:
    """`make()`'s records, in atomic blocks rolled back on leaving (the database is unblocked only to
    make, check and drop them)."""
    from django.db import connections
    from django.test import TestCase

    with django_db_blocker.unblock():
        atomics = TestCase._enter_atomics()
        try:
            made = make()
            for alias in atomics:
                connections[alias].check_constraints()
        except BaseException:
            TestCase._rollback_atomics(atomics)
            raise
    try:
        yield made
    finally:
        with django_db_blocker.unblock():
            TestCase._rollback_atomics(atomics)


def fresh(objects: T) -> T:
    """A test's own copy of module-made objects, shared references kept (one deepcopy, as `TestData`)."""
    return copy.deepcopy(objects)
