"""Real Node.js clients (tests/clients/) against a real `kai serve`: graphql-ws, graphql-sse,
urql and Apollo with uploads, typed by graphql-codegen from graphql.schema.

Each step is a test of its own, in order: codegen (validates the client documents against
graphql.schema, and lists them in the trusted-documents manifest
src/gql/persisted-documents.json), tsc --noEmit (strict; checks how the clients use the
generated types), the build, then each client's flows under `node --test` against one
server that runs only the manifest's documents (KAI_TRUSTED_DOCUMENTS): every client names
its documents by id or hash, and an unlisted document is refused on each transport
(tests/clients/src/trusted.test.ts). graphql-http's audit of the GraphQL-over-HTTP spec
(tests/clients/src/audit.ts), which sends documents of its own, runs against servers
without a manifest. A later step whose earlier step failed fails too, naming that step.
Without `node`/`npm` this module skips, or fails under CI, which must run it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import ROOT, clean_env, free_port, wait_healthy

pytestmark = pytest.mark.slow

CLIENTS = ROOT / "tests" / "clients"
LOCK = CLIENTS / "package-lock.json"
INSTALLED_LOCK = CLIENTS / "node_modules" / ".package-lock.json"
# What codegen lists: `sha256:<hex of the text>` -> the text of each client document.
MANIFEST = CLIENTS / "src" / "gql" / "persisted-documents.json"
MIN_NODE_MAJOR = 20
# The client flows, one `node --test` run each: tests/clients/src/<name>.test.ts.
FLOWS = ("ws", "sse", "urql", "apollo", "trusted")
STEP_ORDER = ("install", "codegen", "typecheck", "build")
STEP_TIMEOUT = {"install": 600.0, "codegen": 120.0, "typecheck": 120.0, "build": 120.0}
FLOW_TIMEOUT = 90.0
# Schema changes that break the clients, each caught by codegen (a selected field is gone)
# or by tsc (a field the clients use became nullable): (pattern, replacement, step, mention).
BREAKING_CHANGES = {
    "removed-field": (r"^(  )checksum: String!$", r"\1sha256: String!", "codegen", "checksum"),
    "nullable-result": (
        # Its described arguments put each on lines of their own, up to "  )".
        r"^(  sendCommand\((?s:.*?)\n  \)): CommandResult!$",
        r"\1: CommandResult",
        "typecheck",
        "'sendCommand' is possibly 'null'",
    ),
}
OUTPUT_TAIL = 12_000
AUDIT_TIMEOUT = 120.0
HTTP_PAGE = ROOT / "docs" / "http.md"
# graphql-http's audit (tests/clients/src/audit.ts): the audits kAI does not pass, by id,
# with the status graphql-http gives them and why. Every MUST passes. The section
# "graphql-http's audit" of docs/http.md lists the same ids.
AUDITS_NOT_PASSED = {
    "86EE": (
        "warn",  # SHOULD use a status code of 400 on variable coercion failure (+json)
        "422: the current draft's status for a variable coercion failure, and for a document "
        "that does not validate, which is what the audit's is (its $id is unused); "
        "graphql-http 1.23.1 checks the earlier draft's 400",
    ),
    "423L": (
        "notice",  # MAY use 400 status code on missing {query} parameter (+json)
        "422: the current draft's status for a request that is not well-formed",
    ),
}
# With production's introspection and GET settings (KAI_INTROSPECTION and KAI_ALLOW_GET off),
# the audits that test variables with a `__type` query, or a query over GET, are refused:
# by id, the status graphql-http gives each and the code kAI answers it with.
AUDITS_OFF_IN_PRODUCTION = {
    "28B9": ("error", "GRAPHQL_VALIDATION_FAILED"),  # MUST allow map {variables} (json)
    "2EA1": ("warn", "GRAPHQL_VALIDATION_FAILED"),  # SHOULD allow map {variables} (+json)
    "5A70": ("notice", "BAD_USER_INPUT"),  # MAY accept GET requests
    "D6D5": ("notice", "BAD_USER_INPUT"),  # MAY allow {variables} in GETs (+json)
    "6A70": ("notice", "BAD_USER_INPUT"),  # MAY allow {variables} in GETs (json)
}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the Node.js client tests (.ci/run installs Node.js)")
    pytest.skip(reason)


def _node_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAI_")}
    quiet = {"NO_COLOR": "1", "FORCE_COLOR": "0", "npm_config_update_notifier": "false"}
    return env | quiet | extra


def run(
    argv: list[str], *, timeout: float, env: dict[str, str], cwd: Path = CLIENTS
) -> tuple[int, str]:
    """(exit code, output) of `argv` in `cwd`; on timeout its whole process group (npm,
    node and node's test workers) is killed."""
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return -1, f"{output}\n[timed out after {timeout:g} s]"
    return process.returncode, output


def tail(output: str) -> str:
    return output if len(output) <= OUTPUT_TAIL else "…\n" + output[-OUTPUT_TAIL:]


class NodeProject:
    """The npm project in tests/clients; each step runs once per module, in order."""

    def __init__(self, node: str, npm: str) -> None:
        self.node = node
        self.npm = npm
        self.results: dict[str, tuple[int, str]] = {}

    def _argv(self, step: str) -> list[str]:
        if step == "install":
            return [self.npm, "ci", "--no-audit", "--no-fund"]
        return [self.npm, "run", "--silent", step]

    def _needs_install(self) -> bool:
        # Missing, or installed from an older lock than the one checked in.
        return not INSTALLED_LOCK.exists() or INSTALLED_LOCK.stat().st_mtime < LOCK.stat().st_mtime

    def step(self, name: str) -> str:
        """Runs `name` after the steps before it; fails naming the first that failed."""
        for earlier in STEP_ORDER[: STEP_ORDER.index(name)]:
            code, _ = self._run_once(earlier)
            if code != 0:
                pytest.fail(f"step `{earlier}` failed, so `{name}` cannot run (see its test)")
        code, output = self._run_once(name)
        if code != 0:
            command = " ".join(self._argv(name))
            pytest.fail(f"step `{name}` (`{command}` in tests/clients) failed:\n{tail(output)}")
        return output

    def _run_once(self, name: str) -> tuple[int, str]:
        if name not in self.results:
            if name == "install" and not self._needs_install():
                self.results[name] = (0, "node_modules is up to date with package-lock.json")
            else:
                self.results[name] = run(
                    self._argv(name), timeout=STEP_TIMEOUT[name], env=_node_env()
                )
        return self.results[name]


@pytest.fixture(scope="module")
def project() -> NodeProject:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("`node` and `npm` must be on PATH for the Node.js client tests")
    assert node is not None and npm is not None
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        _unavailable(f"the Node.js clients need Node.js {MIN_NODE_MAJOR} or newer, not {version}")
    return NodeProject(node, npm)


class KaiServer:
    """`kai serve` on SQLite, started by `start()` and waited for only when a flow needs it,
    so that it starts while the steps before run. Its log goes to a file, shown on failure."""

    def __init__(self, data: Path, **settings: str) -> None:
        self.env = clean_env(
            KAI_DATA_DIR=str(data / "data"),
            KAI_DATABASE_URL=f"sqlite+aiosqlite:///{data / 'kai.db'}",
            KAI_QDRANT_URL=":memory:",
            KAI_RATE_LIMIT_AUTH_PER_IP="10000",
            KAI_RATE_LIMIT_AUTH_PER_ACCOUNT="10000",
            **settings,
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data / "kai-serve.log"
        self.process: subprocess.Popen[str] | None = None
        self.healthy = False

    def start(self) -> KaiServer:
        """Starts it, once; does not wait for it."""
        if self.process is None:
            with self.log.open("w") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "kai.cli", "serve", "--port", str(self.port)],
                    env=self.env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
        return self

    def ready(self) -> str:
        self.start()
        assert self.process is not None
        if not self.healthy:
            try:
                wait_healthy(self.url, self.process, timeout=60)
            except RuntimeError:
                pytest.fail(f"kai serve did not start:\n{self.log_tail()}")
            self.healthy = True
        return self.url

    def log_tail(self) -> str:
        return tail(self.log.read_text(errors="replace"))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def kai(project: NodeProject, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KaiServer]:
    """One real `kai serve` for all the flows, running only the documents codegen listed;
    each flow registers its own user. It starts once codegen has written the manifest (the
    server reads it at start), while tsc and the build run."""
    server = KaiServer(
        tmp_path_factory.mktemp("kai-node-clients"), KAI_TRUSTED_DOCUMENTS=str(MANIFEST)
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def open_kai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KaiServer]:
    """A `kai serve` without trusted documents, for graphql-http's audit: it sends
    documents of its own, to audit the protocol rather than the list."""
    server = KaiServer(tmp_path_factory.mktemp("kai-audit-open"))
    try:
        yield server
    finally:
        server.stop()


def test_npm_ci_installs_from_the_lock(project: NodeProject, open_kai: KaiServer) -> None:
    # The audit's server needs no manifest: it starts now, to be ready by the audit.
    open_kai.start()
    project.step("install")


def test_codegen_validates_the_client_documents_against_graphql_schema(
    project: NodeProject, kai: KaiServer
) -> None:
    project.step("codegen")
    # The manifest is written: the flows' server starts now, while tsc and the build run.
    kai.start()

    assert (CLIENTS / "src" / "gql" / "graphql.ts").exists()
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert manifest, "codegen listed no document"
    for document_id, text in manifest.items():
        assert document_id == "sha256:" + hashlib.sha256(text.encode()).hexdigest(), document_id
    # Each generated document carries its id, which the clients send.
    generated = (CLIENTS / "src" / "gql" / "graphql.ts").read_text(encoding="utf-8")
    embedded = re.findall(r'"__meta__":\{"hash":"([^"]+)"\}', generated)
    assert sorted(embedded) == sorted(manifest)


def test_tsc_strict_typechecks_the_clients(project: NodeProject) -> None:
    project.step("typecheck")


def test_clients_build(project: NodeProject) -> None:
    project.step("build")


@pytest.mark.parametrize("flow", FLOWS)
def test_node_client_flows_against_kai_serve(
    project: NodeProject, kai: KaiServer, flow: str
) -> None:
    project.step("build")
    kai_url = kai.ready()
    argv = [project.node, "--test", "--test-reporter=spec", f"dist/{flow}.test.js"]

    code, output = run(argv, timeout=FLOW_TIMEOUT, env=_node_env(KAI_URL=kai_url))

    assert code == 0, (
        f"`{' '.join(argv)}` (KAI_URL={kai_url}) failed:\n{tail(output)}\n"
        f"--- kai serve log ---\n{kai.log_tail()}"
    )
    passed = re.search(r"^ℹ pass (\d+)$", output, re.MULTILINE)
    failed = re.search(r"^ℹ fail (\d+)$", output, re.MULTILINE)
    assert passed and int(passed.group(1)) > 0, f"no test passed:\n{tail(output)}"
    assert failed and int(failed.group(1)) == 0, tail(output)


def audit(project: NodeProject, kai: KaiServer) -> dict[str, dict[str, Any]]:
    """graphql-http's audit against `kai`: each audit's outcome by id."""
    project.step("build")
    kai_url = kai.ready()
    argv = [project.node, "dist/audit.js"]
    code, output = run(argv, timeout=AUDIT_TIMEOUT, env=_node_env(KAI_URL=kai_url))
    assert code == 0, f"`{' '.join(argv)}` (KAI_URL={kai_url}) failed:\n{tail(output)}"
    lines = output.splitlines()
    assert "[" in lines, f"no JSON array in the audit's output:\n{tail(output)}"
    results, _ = json.JSONDecoder().raw_decode("\n".join(lines[lines.index("[") :]))
    levels = {"MUST": "error", "SHOULD": "warn", "MAY": "notice"}
    for result in results:
        level = levels[result["name"].split(" ")[0]]  # each name begins with its level
        assert result["status"] in {"ok", level}, result
    # graphql-http 1.23.1 has 61 audits; a suite that ran nothing proves nothing.
    assert len(results) >= 60, results
    return {result["id"]: result for result in results}


def not_passed(results: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {id_: result["status"] for id_, result in results.items() if result["status"] != "ok"}


def test_graphql_http_audit_of_the_spec_against_kai_serve(
    project: NodeProject, open_kai: KaiServer
) -> None:
    results = audit(project, open_kai)

    failed_musts = [r for r in results.values() if r["status"] == "error"]
    assert not failed_musts, json.dumps(failed_musts, indent=2)
    expected = {id_: status for id_, (status, _) in AUDITS_NOT_PASSED.items()}
    assert not_passed(results) == expected, json.dumps(
        [r for r in results.values() if r["status"] != "ok"], indent=2
    )


def test_graphql_http_audit_with_introspection_and_get_queries_off(
    project: NodeProject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = tmp_path_factory.mktemp("kai-audit")
    server = KaiServer(data, KAI_INTROSPECTION="false", KAI_ALLOW_GET="false").start()
    try:
        results = audit(project, server)
    finally:
        server.stop()

    expected = {id_: status for id_, (status, _) in AUDITS_NOT_PASSED.items()}
    off = {id_: status for id_, (status, _) in AUDITS_OFF_IN_PRODUCTION.items()}
    assert not_passed(results) == expected | off, json.dumps(
        [r for r in results.values() if r["status"] != "ok"], indent=2
    )
    for id_, (_, code) in AUDITS_OFF_IN_PRODUCTION.items():
        assert results[id_]["answered"]["codes"] == [code], results[id_]


def test_the_docs_list_the_audits_kai_does_not_pass() -> None:
    """docs/http.md's "graphql-http's audit" names each audit kAI does not pass, as
    `- `<id>` ...`."""
    text = HTTP_PAGE.read_text(encoding="utf-8")
    heading = re.search(r"^(#+) graphql-http's audit$", text, re.MULTILINE)
    assert heading, 'docs/http.md has no "graphql-http\'s audit" section'
    rest = text[heading.end() :]
    end = re.search(rf"^#{{1,{len(heading.group(1))}}} ", rest, re.MULTILINE)
    section = rest[: end.start() if end else len(rest)]

    listed = set(re.findall(r"^- `([0-9A-Z]{4})`", section, re.MULTILINE))

    assert listed == set(AUDITS_NOT_PASSED) | set(AUDITS_OFF_IN_PRODUCTION)


@pytest.mark.parametrize("change", sorted(BREAKING_CHANGES))
def test_a_schema_change_that_breaks_the_clients_fails_the_build(
    project: NodeProject, tmp_path: Path, change: str
) -> None:
    """The clients' sources in a scratch copy, generated from a broken graphql.schema."""
    pattern, replacement, step, mention = BREAKING_CHANGES[change]
    project.step("install")
    schema, count = re.subn(
        pattern, replacement, (ROOT / "graphql.schema").read_text(), flags=re.MULTILINE
    )
    assert count == 1, f"graphql.schema no longer has {pattern!r}: update this test"
    (tmp_path / "broken.schema").write_text(schema)
    copy = tmp_path / "clients"
    copy.mkdir()
    for name in ("package.json", "codegen.ts", "tsconfig.json"):
        shutil.copy(CLIENTS / name, copy / name)
    shutil.copytree(CLIENTS / "src", copy / "src", ignore=shutil.ignore_patterns("gql"))
    (copy / "node_modules").symlink_to(CLIENTS / "node_modules", target_is_directory=True)
    env = _node_env(KAI_CLIENTS_SCHEMA=str(tmp_path / "broken.schema"))

    codegen = run([project.npm, "run", "--silent", "codegen"], timeout=120, env=env, cwd=copy)
    if step == "codegen":
        assert codegen[0] != 0, f"codegen accepted the broken schema:\n{tail(codegen[1])}"
        assert mention in codegen[1], tail(codegen[1])
        return
    assert codegen[0] == 0, tail(codegen[1])
    typecheck = run([project.npm, "run", "--silent", "typecheck"], timeout=120, env=env, cwd=copy)
    assert typecheck[0] != 0, f"tsc accepted the broken schema:\n{tail(typecheck[1])}"
    assert mention in typecheck[1], tail(typecheck[1])
