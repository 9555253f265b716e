"""kai-sdk as its own distribution: its wheel installs websockets and nothing of the server."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDK_SOURCES = ROOT / "packages" / "kai-sdk" / "src" / "kai_sdk"

# Run in the fresh virtualenv, isolated (-I: no PYTHONPATH, no user site, not the cwd).
PROBE = """
import importlib.metadata, json, sys

import kai_sdk

assert kai_sdk.RemoteAgent.__module__ == "kai_sdk.agent"
loaded = {name.partition(".")[0] for name in sys.modules} - {"__main__"}
try:
    import kai  # noqa: F401
except ModuleNotFoundError:
    server = False
else:
    server = True
print(json.dumps({
    "distributions": sorted(d.metadata["Name"] for d in importlib.metadata.distributions()),
    "third_party": sorted(loaded - set(sys.stdlib_module_names) - {"kai_sdk", "websockets"}),
    "server": server,
    "file": kai_sdk.__file__,
}))
"""


def _uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is needed to build and install the kai-sdk wheel"
    return uv


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_no_sdk_module_imports_the_server() -> None:
    sources = sorted(SDK_SOURCES.glob("*.py"))
    assert sources
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.partition(".")[0] != "kai", f"{source.name} imports {name}"


def test_the_wheel_installs_alone_with_websockets(tmp_path: Path) -> None:
    uv = _uv()
    dist = tmp_path / "dist"
    _run(
        uv, "build", "--quiet", "--package", "kai-sdk", "--wheel", "--out-dir", str(dist), cwd=ROOT
    )
    wheels = sorted(dist.glob("kai_sdk-*.whl"))
    assert len(wheels) == 1, sorted(dist.iterdir())

    # Outside the checkout: nothing of the workspace is found by accident.
    venv = tmp_path / "venv"
    _run(uv, "venv", "--quiet", "--python", sys.executable, str(venv), cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(uv, "pip", "install", "--quiet", "--python", str(python), str(wheels[0]), cwd=tmp_path)

    probe = json.loads(_run(str(python), "-I", "-c", PROBE, cwd=tmp_path).stdout)

    assert {name.lower().replace("_", "-") for name in probe["distributions"]} == {
        "kai-sdk",
        "websockets",
    }
    assert probe["third_party"] == []
    assert probe["server"] is False
    assert venv.resolve() in Path(probe["file"]).resolve().parents
    assert Path(probe["file"]).with_name("py.typed").exists()

    # The example agent needs nothing but the SDK.
    example = _run(
        str(python), "-I", str(ROOT / "examples" / "echo_remote.py"), "--help", cwd=tmp_path
    )
    assert "--agent-id" in example.stdout


def test_the_sdk_loads_without_the_server() -> None:
    """In this environment too, where the server is installed: the SDK leaves it unloaded."""
    code = (
        "import sys, kai_sdk, kai_sdk.agent, kai_sdk.transport, kai_sdk.usage; "
        "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'kai'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
