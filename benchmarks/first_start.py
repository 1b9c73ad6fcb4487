"""How long a new user waits: `make run` on a fresh clone, from the command to the sign-in page.

Clones this repository (its committed HEAD, or --ref) into a new directory, runs `make run` there with
the embedded PostgreSQL and Redis (DATABASE_URL and REDIS_URL are removed from the environment) on
PORT, and polls http://127.0.0.1:PORT/sign-in/ until it answers 200 with the sign-in form.
It prints the seconds from the command to each of `make run`'s progress lines, to the first page,
and (unless --no-demo-wait) to the demo data being ready; then stops everything as Ctrl-C would,
checks that nothing it started is still running, and removes the clone (unless --keep).

By default the package caches (pip, uv, npm) are empty, as on a new machine: --warm-cache uses yours.

    python benchmarks/first_start.py [--port 8765] [--ref HEAD] [--dest /tmp/fresh-first-start]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sign_in_page_answers(url: str) -> bool:
    """True when `url` answers 200 with the real sign-in form (not an error page)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own http://127.0.0.1 URL)
            body = response.read().decode("utf-8", "replace")
            return response.status == 200 and "Sign in" in body and 'name="username"' in body
    except (urllib.error.URLError, OSError):
        return False


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _leftovers(dest: Path) -> list[tuple[int, str]]:
    """Processes running in the clone or from it (all of them started by this benchmark)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = str((proc / "cwd").resolve())
            if str(dest) in cmdline or cwd == str(dest) or cwd.startswith(f"{dest}/"):
                found.append((int(proc.name), cmdline.strip()))
    return found


def _stop(make: subprocess.Popen) -> None:
    """Ctrl-C (SIGINT to the process group), then SIGTERM, then SIGKILL."""
    for sig, wait in ((signal.SIGINT, 30), (signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        if make.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            make.wait(wait)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--ref", default="HEAD", help="the commit to clone (default: this checkout's HEAD)")
    parser.add_argument(
        "--dest",
        default=str(Path(tempfile.gettempdir()) / "fresh-first-start"),
        help="where to clone (must not exist)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds")
    parser.add_argument("--warm-cache", action="store_true", help="use your pip/uv/npm caches")
    parser.add_argument("--no-demo-wait", action="store_true", help="stop once the first page is served")
    parser.add_argument("--keep", action="store_true", help="keep the clone afterwards")
    args = parser.parse_args()
    # A SIGINT ignored here (started in the background by a shell) would be ignored by `make run` too.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    dest = Path(args.dest)
    if dest.exists():
        parser.error(f"{dest} exists; remove it or choose --dest")
    if not _port_free(args.port):
        parser.error(f"port {args.port} is in use; choose --port")
    commit = subprocess.check_output(["git", "rev-parse", args.ref], cwd=ROOT, text=True).strip()
    subprocess.check_call(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(dest)])
    subprocess.check_call(["git", "checkout", "--quiet", commit], cwd=dest)

    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV"}}
    env["PORT"] = str(args.port)
    caches = None
    if not args.warm_cache:
        caches = Path(tempfile.mkdtemp(prefix="first-start-caches-"))
        env["XDG_CACHE_HOME"] = str(caches)  # pip and uv
        env["npm_config_cache"] = str(caches / "npm")
        env["UV_CACHE_DIR"] = str(caches / "uv")
        env["PIP_CACHE_DIR"] = str(caches / "pip")

    lines: list[tuple[float, str]] = []
    started = time.monotonic()
    make = subprocess.Popen(
        ["make", "run"],
        cwd=dest,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def read_output() -> None:
        assert make.stdout is not None
        for line in make.stdout:
            lines.append((time.monotonic() - started, line.rstrip("\n")))
            print(f"{lines[-1][0]:7.1f}s | {lines[-1][1]}", file=sys.stderr, flush=True)

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()

    url = f"http://127.0.0.1:{args.port}/sign-in/"
    first_page = demo_ready = None
    try:
        while time.monotonic() - started < args.timeout and make.poll() is None:
            if first_page is None and sign_in_page_answers(url):
                first_page = time.monotonic() - started
                print(f"{first_page:7.1f}s | (benchmark) {url} answers 200 with the sign-in form", file=sys.stderr)
                if args.no_demo_wait:
                    break
            if first_page is not None and any("demo families ready" in text for _, text in lines):
                demo_ready = next(t for t, text in lines if "demo families ready" in text)
                break
            time.sleep(0.25)
    finally:
        stop_started = time.monotonic()
        _stop(make)
        # make may exit before `make run`'s Python does: give it the time to stop what it started.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any("earlyhelp.devstack" in cmd for _, cmd in _leftovers(dest)):
            time.sleep(0.5)
        reader.join(5)
        stopped_in = time.monotonic() - stop_started
        time.sleep(1)
        left = _leftovers(dest)
        for pid, _cmd in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if caches is not None:
            shutil.rmtree(caches, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(dest, ignore_errors=True)

    print(f"# make run on a fresh clone of {commit[:12]} ({'warm' if args.warm_cache else 'empty'} package caches)")
    print()
    print("| seconds from `make run` | stage (the line `make run` printed) |")
    print("|---:|---|")
    for t, text in lines:
        if text.startswith("[earlyhelp]"):
            print(f"| {t:.1f} | {text.removeprefix('[earlyhelp] ')} |")
    if first_page is not None:
        print(f"| **{first_page:.1f}** | **first page: the sign-in page answers 200** |")
    if demo_ready is not None:
        print(f"| {demo_ready:.1f} | demo families loaded |")
    print()
    print(f"Stopped in {stopped_in:.1f} s; processes left running afterwards: {len(left)}.")
    for pid, cmd in left:
        print(f"- killed leftover {pid}: {cmd[:200]}")
    if first_page is None:
        print(f"The sign-in page never answered (make exited with {make.returncode}); see the output above.")
        return 1
    return 0 if not left else 1


if __name__ == "__main__":
    raise SystemExit(main())
