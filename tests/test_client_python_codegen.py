"""The generated client (packages/kai-sdk/src/kai_sdk/client/aio and .../sync) is what
ariadne-codegen makes of graphql.schema and packages/kai-sdk/graphql today, as
graphql.schema is what the server serves (tests/test_schema.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.support.servers import ROOT

GENERATE = ROOT / "packages" / "kai-sdk" / "codegen" / "generate.py"


def test_the_committed_client_is_what_codegen_writes() -> None:
    assert os.environ.get("UV") or shutil.which("uv"), "generate.py runs ariadne-codegen with uv"
    # ariadne-codegen has an environment of its own (packages/kai-sdk/codegen/pyproject.toml):
    # the first run installs it.
    done = subprocess.run(
        [sys.executable, str(GENERATE), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, (
        f"{done.stdout[-20000:]}\n{done.stderr[-5000:]}\n"
        "run `uv run python packages/kai-sdk/codegen/generate.py` and commit the result"
    )
