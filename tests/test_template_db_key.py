"""The kept migrated test database is reused only while what it depends on is unchanged (ADR 0076)."""

from __future__ import annotations

from tests.template_db import migrations_key


def _project(tmp_path):
    app = tmp_path / "things"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "migrations" / "0001_initial.py").write_text(
        "from django.db import migrations\nfrom things.helpers import fill\n\n"
        "class Migration(migrations.Migration):\n    pass\n"
    )
    (app / "helpers.py").write_text("def fill(apps, schema_editor):\n    pass\n")
    (app / "views.py").write_text("VIEW = 1\n")
    return app


def test_the_key_changes_with_a_migration_or_the_code_it_runs_and_nothing_else(tmp_path):
    app = _project(tmp_path)

    def key():
        return migrations_key([app], root=tmp_path)

    first = key()
    assert key() == first  # stable
    (app / "views.py").write_text("VIEW = 2\n")  # code no migration runs
    assert key() == first
    (app / "helpers.py").write_text("def fill(apps, schema_editor):\n    print('seeded')\n")
    changed_helper = key()
    assert changed_helper != first
    (app / "migrations" / "0002_more.py").write_text("from django.db import migrations\n")
    assert key() not in {first, changed_helper}


def test_the_project_s_key_covers_its_migrations():
    assert migrations_key() == migrations_key()
    assert len(migrations_key()) == 16
