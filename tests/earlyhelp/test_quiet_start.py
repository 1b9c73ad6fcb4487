"""A quiet, informative start (ADR 0029): what `make run` prints, and refused requests on one line."""

from __future__ import annotations

import io
import logging
import os
import sys
import time

import pytest
from django.urls import reverse

from earlyhelp import devstack
from earlyhelp.log_filters import RefusalsOnOneLine


@pytest.fixture
def django_console():
    """The console handler Django's loggers write to (settings.LOGGING), writing into a buffer."""
    handlers = [h for h in logging.getLogger("django").handlers if type(h) is logging.StreamHandler]
    assert handlers, "settings.LOGGING gives the django logger a console handler"
    buffer = io.StringIO()
    old = [h.setStream(buffer) for h in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, old, strict=True):
            handler.setStream(stream)


class TestRefusedRequestsLogOneLine:
    def test_forbidden_page_logs_one_line_without_traceback(self, client, users, django_console):
        client.force_login(users["manager"])
        assert client.get(reverse("accounts:user_list")).status_code == 403
        lines = django_console.getvalue().splitlines()
        assert lines == ["Forbidden (Permission denied): " + reverse("accounts:user_list")]

    def test_page_not_found_logs_one_line_without_traceback(self, client, users, django_console):
        client.force_login(users["manager"])
        assert client.get("/no-such-page/").status_code == 404
        assert django_console.getvalue().splitlines() == ["Not Found: /no-such-page/"]

    def _record(self, status: int) -> logging.LogRecord:
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "msg", (), sys.exc_info())
        record.status_code = status
        return record

    @pytest.mark.parametrize("status", [400, 403, 404, 409])
    def test_filter_drops_the_traceback_of_a_refusal(self, status):
        record = self._record(status)
        assert RefusalsOnOneLine().filter(record) is True
        assert record.exc_info is None
        assert "Traceback" not in logging.Formatter().format(record)

    def test_filter_keeps_the_traceback_of_a_server_error(self):
        record = self._record(500)
        assert RefusalsOnOneLine().filter(record) is True
        assert record.exc_info is not None
        assert "Traceback" in logging.Formatter().format(record)


class TestRunOutput:
    """The lines `make run` prints (earlyhelp/devstack.py); the full run is not started here."""

    def test_progress_line(self, capsys):
        devstack.say("migrating the database")
        assert capsys.readouterr().out == "[earlyhelp] migrating the database\n"

    def test_sign_in_details_are_the_accounts_and_password_only(self, capsys):
        setup_output = "\n".join(
            [
                "Operations to perform:",
                "  Applying cases.0001_initial... OK",
                "Content-Type: text/plain; charset=utf-8",
                "Subject: Terry Lund has been given a role",
                "",
                "granted the application's privileges to earlyhelp_app",
                "Demo accounts (password for all: demo-password-not-for-production):",
                "  mash         MASH officer",
                "  teamlead     Team leader",
                "",
                "a warning printed after the list",
            ]
        )
        devstack.say_sign_in("http://127.0.0.1:8123/", setup_output)
        assert capsys.readouterr().out.splitlines() == [
            "[earlyhelp] sign in at http://127.0.0.1:8123/sign-in/",
            "    Demo accounts (password for all: demo-password-not-for-production):",
            "    mash         MASH officer",
            "    teamlead     Team leader",
        ]

    def test_failure_names_the_log_and_prints_its_tail(self, capsys, tmp_path, monkeypatch):
        monkeypatch.setattr(devstack, "ROOT", tmp_path)
        log = tmp_path / ".data" / "logs" / "setup.log"
        log.parent.mkdir(parents=True)
        log.write_text("".join(f"line {n}\n" for n in range(1, 31)))
        devstack.say_failure("migrating the database", log, 1, lines=3)
        assert capsys.readouterr().out.splitlines() == [
            "[earlyhelp] migrating the database failed (exit code 1). The last lines of .data/logs/setup.log:",
            "    line 28",
            "    line 29",
            "    line 30",
            "[earlyhelp] the whole log is in .data/logs/setup.log",
        ]

    def test_setup_step_output_goes_to_the_log_not_the_terminal(self, capfd, tmp_path):
        log = tmp_path / "setup.log"
        code = devstack._run_logged(["sh", "-c", "echo Applying cases.0001_initial... OK; echo oops >&2"], {}, log)
        assert code == 0
        assert capfd.readouterr().out == ""
        assert "Applying cases.0001_initial... OK\noops\n" in log.read_text()

    def test_background_task_reports_when_done_and_services_keep_running(self, tmp_path, capsys):
        children = devstack._Children(dict(os.environ), logs=tmp_path)
        children.start("service", ["sleep", "30"])
        finished = []
        children.start_task("task", ["sh", "-c", "echo done"], finished.append)
        try:
            deadline = time.monotonic() + 10
            while not finished and time.monotonic() < deadline:
                children._check_tasks()
                time.sleep(0.05)
            assert finished == [0]
            assert (tmp_path / "task.log").read_text() == "done\n"
            assert children.procs[0][1].poll() is None
        finally:
            for _name, proc in children.procs:
                devstack._stop(proc)

    def test_installs_only_when_the_package_lists_changed(self, tmp_path, monkeypatch):
        monkeypatch.setattr(devstack, "ROOT", tmp_path)
        monkeypatch.setattr(devstack, "VENV", tmp_path / ".venv")
        (tmp_path / ".venv").mkdir()
        for name in ("pyproject.toml", "constraints.txt"):
            (tmp_path / name).write_text("")
            os.utime(tmp_path / name, (1_000, 1_000))
        assert devstack.python_needed("local")
        devstack.python_stamp("dev").touch()
        assert not devstack.python_needed("local"), "dev has everything local has"
        os.utime(tmp_path / "constraints.txt")
        assert devstack.python_needed("local")
        assert devstack.python_needed("dev")
