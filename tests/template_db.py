"""Each pytest-xdist worker's test database, copied from one migrated template (ADR 0055).

Migrating an empty database costs about 30 CPU-seconds (Django renders the model states of every
migration). Without this, every worker migrated its own database. Now the first worker to take a
file lock migrates `test_<name>` (pytest-django's and Django's usual test database, made the usual
way, so `--reuse-db` and `--create-db` mean what they always meant), and every worker then makes its
own `test_<name>_gwN` from it with `CREATE DATABASE ... TEMPLATE`, which PostgreSQL does by copying
files: the same schema, the same rows the migrations wrote, in about a second. This is what Django's
own parallel test runner does (`clone_test_db`).

The workers' databases are made afresh from the template at every run, even with `--reuse-db`, so a
new migration reaches them all. Without `--reuse-db`, each worker drops its copy at the end and the
controller process drops the template once every worker has finished.

Migrating is still ~35 CPU-seconds, paid at the start of every run while the other worker waits for
the lock. So the migrated template is also kept on the server as `test_<name>_m<key>`, where the key is
a hash of what the migrated database depends on (every migration file, the project modules migrations
import, the installed packages' versions, INSTALLED_APPS): a later run whose key is the same copies it
(`CREATE DATABASE ... TEMPLATE`, about a second) instead of migrating. A run with another key migrates,
stores its own copy and drops the older ones, so a server keeps one per test database name. With
`--reuse-db` nothing changes: the kept databases are migrated as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import re
import tempfile
from pathlib import Path

ALIAS = "default"
ROOT = Path(__file__).resolve().parent.parent
_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w.]*)", re.MULTILINE)


def migrations_key(folders: list[Path] | None = None, root: Path = ROOT) -> str:
    """A hash of everything the migrated test database depends on (see the module's docstring):
    `folders`, the apps' folders (default: every installed app's)."""
    from django.apps import apps
    from django.conf import settings

    digest = hashlib.sha256(repr(list(settings.INSTALLED_APPS)).encode())
    names = sorted(f"{d.metadata['Name']}=={d.version}".lower() for d in importlib.metadata.distributions())
    digest.update("\n".join(names).encode())
    files: set[Path] = set()
    for folder in folders if folders is not None else [Path(c.path) for c in apps.get_app_configs()]:
        if root not in folder.parents:
            continue  # a package's migrations: its version is in the hash
        for migration in (folder / "migrations").glob("*.py"):
            files.add(migration)
            for module in _IMPORT.findall(migration.read_text()):  # project code a migration runs
                path = root / module.replace(".", "/")
                for candidate in (path.with_suffix(".py"), path / "__init__.py"):
                    if module.split(".")[0] != "django" and candidate.is_file():
                        files.add(candidate)
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _server(settings_dict: dict):
    """An autocommit connection to the server's `postgres` database, for CREATE/DROP DATABASE."""
    import psycopg

    options = {k: v for k, v in (settings_dict.get("OPTIONS") or {}).items() if k in {"sslmode", "connect_timeout"}}
    with psycopg.connect(
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
        **options,
    ) as conn:
        yield conn


def _copy_from_kept(settings_dict: dict, template: str, kept: str) -> bool:
    """Make `template` a copy of the kept migrated database, if the server has it."""
    from psycopg import sql

    with _server(settings_dict) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (kept,)).fetchone() is None:
            return False
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(template)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(template), sql.Identifier(kept)))
    return True


def _keep(settings_dict: dict, template: str, kept: str) -> None:
    """Keep a copy of the freshly migrated template as `kept`, dropping the copies of other keys."""
    from psycopg import sql

    with _server(settings_dict) as conn:
        older = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
            (template.replace("_", "\\_") + "\\_m%", kept),
        ).fetchall()
        for (name,) in older:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(kept)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(kept), sql.Identifier(template)))


def _state_paths(settings_dict: dict, template: str) -> tuple[Path, Path]:
    """The lock file and the "built in run X" marker of a template, shared by the run's workers."""
    where = f"{settings_dict.get('HOST')}:{settings_dict.get('PORT')}/{template}"
    key = hashlib.sha256(where.encode()).hexdigest()[:16]
    base = Path(tempfile.gettempdir()) / f"earlyhelp-test-template-{key}"
    return base.with_suffix(".lock"), base.with_suffix(".built")


@contextlib.contextmanager
def _locked(path: Path):
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def template_name(settings_dict: dict) -> str:
    """`test_<name>` (or TEST NAME), before pytest-django adds the worker's suffix."""
    return (settings_dict.get("TEST") or {}).get("NAME") or f"test_{settings_dict['NAME']}"


def setup_worker_database(*, worker: str, run: str, keepdb: bool, verbosity: int, aliases, serialized_aliases):
    """Make this worker's database from the template, migrating the template first if no worker has
    in this run. Returns what `teardown_worker_database` needs."""
    from django.conf import settings
    from django.db import connections
    from django.test.utils import setup_databases

    connection = connections[ALIAS]
    test_settings = connection.settings_dict.setdefault("TEST", {})
    worker_name = test_settings["NAME"]  # test_<name>_gwN, set by pytest-django's xdist suffix fixture
    template = worker_name.removesuffix(f"_{worker}")
    old_name = connection.settings_dict["NAME"]
    lock, built = _state_paths(connection.settings_dict, template)
    with _locked(lock):
        test_settings["NAME"] = template
        try:
            kept = f"{template}_m{migrations_key()}"
            if (built.exists() and built.read_text() == run) or (
                not keepdb and _copy_from_kept(connection.settings_dict, template, kept)
            ):
                # Another worker migrated the template in this run, or it was copied from the kept
                # migrated database: point at it, as create_test_db would.
                settings.DATABASES[ALIAS]["NAME"] = template
                connection.settings_dict["NAME"] = template
            else:
                setup_databases(
                    verbosity=verbosity,
                    interactive=False,
                    aliases=aliases,
                    serialized_aliases=set(),  # serialized below, from the worker's own copy
                    keepdb=keepdb,
                )
                if not keepdb:
                    connection.close()  # CREATE DATABASE ... TEMPLATE needs the template to itself
                    _keep(connection.settings_dict, template, kept)
            built.write_text(run)
            # CREATE DATABASE ... TEMPLATE needs the template to itself: clone_test_db closes our connection.
            # The copy is always made afresh (keepdb=False): a kept copy could miss a new migration.
            connection.creation.clone_test_db(suffix=worker, verbosity=verbosity, keepdb=False)
        finally:
            test_settings["NAME"] = worker_name
    connection.creation.setup_worker_connection(worker)  # NAME = test_<name>_gwN, connection closed
    settings.DATABASES[ALIAS]["NAME"] = connection.settings_dict["NAME"]
    if ALIAS in serialized_aliases:
        connection._test_serialized_contents = connection.creation.serialize_db_to_string()
    return connection, old_name


def teardown_worker_database(state, *, keepdb: bool, verbosity: int) -> None:
    connection, old_name = state
    if not keepdb:
        # A live server's or a pool's connection may still be open on the copy ("is being accessed by
        # other users"): end them first, as DROP DATABASE ... WITH (FORCE) would.
        connection.close()
        _end_other_sessions(connection.settings_dict, connection.settings_dict["NAME"])
    # Drops this worker's copy (unless keepdb) and puts the configured name back.
    connection.creation.destroy_test_db(old_name, verbosity=verbosity, keepdb=keepdb)


def _end_other_sessions(settings_dict: dict, name: str) -> None:
    with _server(settings_dict) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


def drop_template(settings_dict: dict) -> None:
    """In the controller, after every worker finished a run that did not keep its databases."""
    from psycopg import sql

    template = template_name(settings_dict)
    lock, built = _state_paths(settings_dict, template)
    if not built.exists():
        return  # no worker made it (no test used the database)
    with _locked(lock), _server(settings_dict) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(template)))
        built.unlink(missing_ok=True)
