"""The child processes a test starts keep their bytecode in .data/pycache (tests/bytecode.py, ADR 0070)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.bytecode import PYCACHE, cached_bytecode
from tests.conftest import ROOT


def test_a_child_process_writes_and_reads_its_bytecode_under_the_cache_even_when_told_not_to(tmp_path):
    (tmp_path / "probe_module.py").write_text("VALUE = 41 + 1\n")
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    env = cached_bytecode({**base, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tmp_path)})
    assert "PYTHONDONTWRITEBYTECODE" not in env
    code = "import json, sys, probe_module; print(json.dumps([sys.flags.dont_write_bytecode, sys.pycache_prefix]))"
    for _ in range(2):  # the first run writes it, the second finds it
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        assert json.loads(out.stdout) == [0, str(PYCACHE)]
    # Python's cache mirrors the source's absolute path under the prefix; nothing is written beside the source.
    written = list((PYCACHE / str(tmp_path).lstrip(os.sep)).glob("probe_module.*.pyc"))
    assert len(written) == 1
    assert not (tmp_path / "__pycache__").exists()
