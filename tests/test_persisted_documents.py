"""Persisted documents: Apollo's automatic persisted queries (APQ) over HTTP POST and GET,
graphql-transport-ws and graphql-sse, stored in the database for every replica and bounded;
the trusted-documents mode (H2), where only a manifest's documents run; and the console's
own manifest, built into the package, whose documents run by id in either mode."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import kai.app
from kai.aio import closing
from kai.config import Settings
from kai.graphql.extensions.persisted_documents import MAX_PERSISTED_CHARS
from kai.models.file import StoredFile
from tests.support.agents import CREATE, signed_in
from tests.support.apps import client_at, running_app, services_of
from tests.support.graphql_client import REGISTER, GraphQLClient
from tests.support.settings import make_settings
from tests.support.sse_client import SSEStream, codes
from tests.support.subscriptions import EVENTS, kai_server, owner_with_agent
from tests.support.uploads import UPLOAD
from tests.support.ws_client import ws_connect

ME = "query Me { me { email } }"
TYPENAME = "query Typename { __typename }"
GRAPHQL_TRANSPORT_WS = "graphql-transport-ws"
ALL_SEQS = "subscription Seqs($agentId: ID!) { agentEvents(agentId: $agentId, after: 0) { seq } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}}


async def post(client: GraphQLClient, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.http.post("/graphql", json=body, headers=headers)
    return response.status_code, response.json()


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


async def stored(app: Any) -> int:
    return await services_of(app).persisted_documents.count()


# --- Automatic persisted queries over HTTP ---------------------------------------------


async def test_an_unknown_hash_is_persisted_query_not_found_as_apollo_expects(
    app: Any, client: GraphQLClient
) -> None:
    status, body = await post(client, {"extensions": apq(TYPENAME)})

    assert status == 200
    assert body["errors"][0]["message"] == "PersistedQueryNotFound"
    assert error_codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert await stored(app) == 0


async def test_a_registered_document_runs_by_hash_alone_on_another_replica(
    settings: Settings,
) -> None:
    """Two apps on one database (each with its own process cache), as two replicas."""
    async with (
        running_app(settings) as first,
        running_app(settings) as second,
        client_at(first) as one,
        client_at(second) as other,
    ):
        token = await signed_in(one)
        registered = await post(one, {"query": ME, "extensions": apq(ME)}, token)
        assert registered == (200, {"data": {"me": {"email": "owner@example.com"}}})

        by_hash = await post(other, {"extensions": apq(ME)}, token)

        assert by_hash == (200, {"data": {"me": {"email": "owner@example.com"}}})
        assert await stored(first) == 1


async def test_a_hash_that_is_not_the_document_s_is_refused_and_nothing_is_stored(
    app: Any, client: GraphQLClient
) -> None:
    rng = random.Random(16)
    for _ in range(50):
        document = f"query Q{rng.randrange(10**9)} {{ __typename }}"
        wrong = "".join(rng.choice("0123456789abcdef") for _ in range(64))
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": wrong}}

        status, body = await post(client, {"query": document, "extensions": extensions})

        assert status == 200 and "data" in body and body["data"] is None
        assert body["errors"][0]["message"] == "provided sha does not match query"
        assert error_codes(body) == ["BAD_USER_INPUT"]
    assert await stored(app) == 0


@pytest.mark.parametrize(
    "persisted",
    [
        {"version": 2, "sha256Hash": sha256(TYPENAME)},
        {"version": 1, "sha256Hash": "not hex"},
        {"version": 1, "sha256Hash": sha256(TYPENAME)[:63]},
        {"version": 1},
        "a text",
        [],
    ],
)
async def test_a_malformed_persisted_query_extension_is_bad_user_input(
    client: GraphQLClient, persisted: Any
) -> None:
    status, body = await post(client, {"extensions": {"persistedQuery": persisted}})

    assert status == 200
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_only_documents_that_parse_and_validate_within_the_limits_are_stored(
    app: Any, client: GraphQLClient
) -> None:
    refused = {
        "{ me { email ": "GRAPHQL_PARSE_FAILED",
        "{ noSuchField }": "GRAPHQL_VALIDATION_FAILED",
        "{ " + "__typename " * 2100 + "}": "QUERY_TOO_COMPLEX",
        "mutation { logout } query Two { __typename }": "BAD_USER_INPUT",
    }
    for document, code in refused.items():
        _, body = await post(client, {"query": document, "extensions": apq(document)})
        assert error_codes(body) == [code], document

    assert await stored(app) == 0
    for document in refused:
        _, body = await post(client, {"extensions": apq(document)})
        assert error_codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_document_too_long_to_keep_runs_but_is_not_stored(
    app: Any, client: GraphQLClient
) -> None:
    long = TYPENAME + " " * MAX_PERSISTED_CHARS  # whitespace is not a token

    status, body = await post(client, {"query": long, "extensions": apq(long)})

    assert (status, body) == (200, {"data": {"__typename": "Query"}})
    assert await stored(app) == 0


async def test_a_flood_of_registrations_keeps_at_most_the_cap_the_latest_kept(
    database_url: str, tmp_path: Path
) -> None:
    """A stranger registering documents without end fills the table up to the cap only;
    the least recently used go first (rows counted, no clock read)."""
    settings = make_settings(database_url, tmp_path / "data", apq_max_documents=5)
    async with running_app(settings) as app, client_at(app) as client:
        documents = [f"query Generated{i} {{ __typename }}" for i in range(40)]
        for document in documents:
            _, body = await post(client, {"query": document, "extensions": apq(document)})
            assert body == {"data": {"__typename": "Query"}}
            assert await stored(app) <= 5

        assert await stored(app) == 5
    # Another replica, which has seen none of them: the table alone answers.
    async with running_app(settings) as replica, client_at(replica) as client:
        _, latest = await post(client, {"extensions": apq(documents[-1])})
        _, first = await post(client, {"extensions": apq(documents[0])})

    assert latest == {"data": {"__typename": "Query"}}
    assert error_codes(first) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_apq_over_get_as_apollo_sends_hashed_queries(app: Any, client: GraphQLClient) -> None:
    params = {"extensions": json.dumps(apq(TYPENAME)), "operationName": "Typename"}
    headers = {"accept": "*/*"}  # a browser's fetch: still not GraphiQL's page

    missed = await client.http.get("/graphql", params=params, headers=headers)
    assert missed.headers["content-type"].startswith("application/json")
    assert missed.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    registered = await client.http.get(
        "/graphql", params={**params, "query": TYPENAME}, headers=headers
    )
    assert registered.json() == {"data": {"__typename": "Query"}}

    hit = await client.http.get("/graphql", params=params, headers=headers)
    assert hit.json() == {"data": {"__typename": "Query"}}
    assert await stored(app) == 1


async def test_a_document_id_names_a_registered_document(client: GraphQLClient) -> None:
    await post(client, {"query": TYPENAME, "extensions": apq(TYPENAME)})

    for document_id in (f"sha256:{sha256(TYPENAME)}", sha256(TYPENAME)):
        assert await post(client, {"documentId": document_id}) == (
            200,
            {"data": {"__typename": "Query"}},
        )
    _, body = await post(client, {"documentId": "sha256:" + "0" * 64})
    assert error_codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]


# --- Automatic persisted queries over WebSocket and SSE ---------------------------------


async def test_apq_over_graphql_transport_ws_and_graphql_sse(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with kai_server(sqlite_url, tmp_path / "data") as server:
        token, agent_id = await owner_with_agent(server)
        variables = {"agentId": agent_id}
        async with ws_connect(server.url, GRAPHQL_TRANSPORT_WS, token=token) as ws:
            await ws.send(_subscribe("1", {"extensions": apq(ALL_SEQS), "variables": variables}))
            missed = await ws.until_complete("1")
            assert missed[0].codes == ["PERSISTED_QUERY_NOT_FOUND"]

            registering = {"query": ALL_SEQS, "extensions": apq(ALL_SEQS), "variables": variables}
            await ws.send(_subscribe("2", registering))
            assert await ws.results("2", 2, "agentEvents") == [{"seq": 1}, {"seq": 2}]

            await ws.send(_subscribe("3", {"extensions": apq(ALL_SEQS), "variables": variables}))
            assert await ws.results("3", 2, "agentEvents") == [{"seq": 1}, {"seq": 2}]
            await ws.send(_subscribe("4", {"extensions": apq(ME), "variables": {}}))
            refused = await ws.until_complete("4")
            assert refused[0].codes == ["PERSISTED_QUERY_NOT_FOUND"]

        body = {"extensions": apq(ALL_SEQS), "variables": variables}
        async with _sse(server.client.http, body, token) as stream:
            assert await stream.results(2, "agentEvents") == [{"seq": 1}, {"seq": 2}]
        assert await server.services.persisted_documents.count() == 1


# --- The trusted-documents mode (H2) ----------------------------------------------------

LISTED = [REGISTER, CREATE, ME, EVENTS]


def codegen_manifest(path: Path, documents: list[str]) -> Path:
    """A manifest as graphql-codegen's client preset writes it: `sha256:<hex>` -> text."""
    path.write_text(json.dumps({f"sha256:{sha256(d)}": d for d in documents}, indent=2))
    return path


async def test_H2_trusted_documents_mode_runs_only_listed_documents_on_every_transport(
    sqlite_url: str, tmp_path: Path
) -> None:
    manifests = [
        codegen_manifest(tmp_path / "console.json", LISTED[:2]),
        codegen_manifest(tmp_path / "cli.json", LISTED[2:]),
    ]
    unlisted = "query Agents { agents { totalCount } }"
    async with kai_server(sqlite_url, tmp_path / "data", trusted_documents=manifests) as server:
        client = server.client
        token, agent_id = await owner_with_agent(server)  # REGISTER and CREATE: full texts
        me = {"data": {"me": {"email": "owner@example.com"}}}

        # HTTP: by documentId (prefixed and bare), by APQ hash, by the full text.
        for body in (
            {"documentId": f"sha256:{sha256(ME)}"},
            {"documentId": sha256(ME)},
            {"extensions": apq(ME)},
            {"query": ME},
            {"query": ME, "extensions": apq(ME)},
        ):
            assert await post(client, body, token) == (200, me), body
        get = await client.http.get(
            "/graphql",
            params={"documentId": f"sha256:{sha256(ME)}"},
            headers={"authorization": f"Bearer {token}", "accept": "application/json"},
        )
        assert get.json() == me

        # Everything else is refused, and APQ registers nothing.
        for body in (
            {"query": unlisted},
            {"query": unlisted, "extensions": apq(unlisted)},
            {"extensions": apq(unlisted)},
            {"documentId": f"sha256:{sha256(unlisted)}"},
            {"documentId": "Agents"},
            {"query": ME + " "},  # not the listed text
        ):
            status, answer = await post(client, body, token)
            assert (status, error_codes(answer)) == (200, ["PERSISTED_QUERY_NOT_IN_LIST"]), body
            assert answer["data"] is None
        assert await server.services.persisted_documents.count() == 0

        # graphql-transport-ws: by documentId, by hash; an unlisted one refused.
        variables = {"agentId": agent_id, "after": 0}
        async with ws_connect(server.url, GRAPHQL_TRANSPORT_WS, token=token) as ws:
            await ws.send(_subscribe("1", {"documentId": sha256(EVENTS), "variables": variables}))
            assert [e["seq"] for e in await ws.results("1", 2, "agentEvents")] == [1, 2]
            await ws.send(_subscribe("2", {"extensions": apq(EVENTS), "variables": variables}))
            assert [e["seq"] for e in await ws.results("2", 2, "agentEvents")] == [1, 2]
            await ws.send(_subscribe("3", {"query": ALL_SEQS, "variables": variables}))
            refused = await ws.until_complete("3")
            assert refused[0].codes == ["PERSISTED_QUERY_NOT_IN_LIST"]
            await ws.alive()  # a refusal of one operation, not of the socket

        # graphql-sse: by documentId; an unlisted document refused.
        listed = {"documentId": f"sha256:{sha256(EVENTS)}", "variables": variables}
        async with _sse(client.http, listed, token) as stream:
            assert [e["seq"] for e in await stream.results(2, "agentEvents")] == [1, 2]
        async with _sse(client.http, {"query": ALL_SEQS, "variables": variables}, token) as stream:
            assert codes(await stream.errors()) == ["PERSISTED_QUERY_NOT_IN_LIST"]


async def test_H2_an_upload_names_its_listed_document_by_id(
    sqlite_url: str, tmp_path: Path
) -> None:
    manifest = codegen_manifest(tmp_path / "console.json", [REGISTER, UPLOAD])
    unlisted = UPLOAD.replace("mutation Upload", "mutation Sneaky")
    async with kai_server(sqlite_url, tmp_path / "data", trusted_documents=[manifest]) as server:
        token = (await server.client.register("uploader@example.com"))["accessToken"]

        async def send(operations: dict[str, Any]) -> dict[str, Any]:
            response = await server.client.http.post(
                "/graphql",
                data={
                    "operations": json.dumps({**operations, "variables": {"file": None}}),
                    "map": json.dumps({"0": ["variables.file"]}),
                },
                files={"0": ("notes.txt", b"listed upload\n", "text/plain")},
                headers={"authorization": f"Bearer {token}"},
            )
            answer: dict[str, Any] = response.json()
            return answer

        stored = await send({"documentId": f"sha256:{sha256(UPLOAD)}"})
        assert stored["data"]["uploadFile"]["originalName"] == "notes.txt", stored
        refused = await send({"query": unlisted})
        assert error_codes(refused) == ["PERSISTED_QUERY_NOT_IN_LIST"]
        named = await send({"documentId": f"sha256:{sha256(unlisted)}"})
        assert error_codes(named) == ["PERSISTED_QUERY_NOT_IN_LIST"]
        async with server.services.sessionmaker() as session:
            stored_files = await session.scalar(select(func.count()).select_from(StoredFile))
        assert stored_files == 1  # the refused uploads stored nothing


async def test_H2_a_manifest_that_contradicts_its_hashes_stops_the_start(
    sqlite_url: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "forged.json"
    manifest.write_text(json.dumps({f"sha256:{sha256(ME)}": "query { agents { totalCount } }"}))
    settings = make_settings(sqlite_url, tmp_path / "data", trusted_documents=[manifest])

    with pytest.raises(ValueError, match="not the SHA-256 of its document"):
        async with running_app(settings):
            pass


async def test_H2_a_manifest_for_another_schema_stops_the_start_naming_its_documents(
    sqlite_url: str, tmp_path: Path
) -> None:
    stale = "query Old { agents { id name } }"  # agents was a plain list before 1.0
    broken = "query Broken { me { id "
    manifest = codegen_manifest(tmp_path / "stale.json", [ME, stale, broken])
    settings = make_settings(sqlite_url, tmp_path / "data", trusted_documents=[manifest])

    with pytest.raises(ValueError, match="2 listed documents do not fit") as refused:
        async with running_app(settings):
            pass
    message = str(refused.value)
    assert f"sha256:{sha256(stale)}: Cannot query field 'id' on type 'AgentConnection'" in message
    assert f"sha256:{sha256(broken)}: Syntax Error" in message
    assert sha256(ME) not in message


def test_H2_trusted_documents_is_a_comma_separated_list_of_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAI_TRUSTED_DOCUMENTS", "a.json, b/c.json")

    assert Settings(_env_file=None).trusted_documents == [Path("a.json"), Path("b/c.json")]


def _subscribe(op_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"id": op_id, "type": "subscribe", "payload": payload}


@asynccontextmanager
async def _sse(
    http: httpx.AsyncClient, body: dict[str, Any], token: str
) -> AsyncIterator[SSEStream]:
    """A graphql-sse stream of a raw request body (one that may carry no query)."""
    headers = {"accept": "text/event-stream", "authorization": f"Bearer {token}"}
    async with http.stream("POST", "/graphql", json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async with closing(response.aiter_lines()) as lines:
            yield SSEStream(response, lines)


# --- The console's manifest, built in -----------------------------------------------------

CODEGEN_MANIFEST = Path(__file__).parent.parent / "console/src/gql/persisted-documents.json"


def console_document(operation: str) -> tuple[str, str]:
    """(id, text) of the console's document of `operation`, from the manifest built into
    the package (kai/console/persisted-documents.json)."""
    manifest = json.loads(kai.app.CONSOLE_MANIFEST.read_text())
    named = re.compile(rf"\b(query|mutation|subscription) {operation}\b")
    found = [(id_, text) for id_, text in manifest.items() if named.search(text)]
    assert len(found) == 1, f"{operation}: {found}"
    return found[0]


def test_the_package_ships_the_manifest_codegen_wrote_for_the_console() -> None:
    built = json.loads(kai.app.CONSOLE_MANIFEST.read_text())
    assert built == json.loads(CODEGEN_MANIFEST.read_text()), "run npm run all in console/"
    assert len(built) > 30
    assert all(id_ == f"sha256:{sha256(text)}" for id_, text in built.items())


async def test_without_trusted_documents_the_console_s_documents_run_by_id_unregistered(
    app: Any, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    document_id, text = console_document("ConsoleSessionPermissions")
    hex_hash = document_id.removeprefix("sha256:")

    for body in (
        {"documentId": document_id},
        {"documentId": hex_hash},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": hex_hash}}},
        {"query": text, "extensions": apq(text)},
    ):
        status, answer = await post(client, body, token)
        assert status == 200 and not answer.get("errors"), (body, answer)
        assert answer["data"]["session"]["permissions"], answer

    # Nothing was registered: they are the console's, not APQ's (whose cap they would share).
    assert await stored(app) == 0
    _, unknown = await post(client, {"documentId": f"sha256:{sha256(ME)}"}, token)
    assert error_codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_H2_the_console_s_documents_run_besides_the_listed_ones_on_every_transport(
    sqlite_url: str, tmp_path: Path
) -> None:
    manifest = codegen_manifest(tmp_path / "cli.json", [REGISTER, CREATE])
    async with kai_server(sqlite_url, tmp_path / "data", trusted_documents=[manifest]) as server:
        token, agent_id = await owner_with_agent(server)  # the CLI's manifest
        permissions, _ = console_document("ConsoleSessionPermissions")
        status, answer = await post(server.client, {"documentId": permissions}, token)
        assert status == 200 and answer["data"]["session"]["permissions"], answer
        # The console's text is as good as its id (the manifests list texts); others are not.
        _, me = await post(server.client, {"query": ME}, token)
        assert error_codes(me) == ["PERSISTED_QUERY_NOT_IN_LIST"]

        events, _ = console_document("ConsoleAgentEvents")
        variables = {"agentId": agent_id, "after": 0}
        async with ws_connect(server.url, GRAPHQL_TRANSPORT_WS, token=token) as ws:
            await ws.send(_subscribe("1", {"documentId": events, "variables": variables}))
            assert [e["seq"] for e in await ws.results("1", 2, "agentEvents")] == [1, 2]
        body = {"documentId": events, "variables": variables}
        async with _sse(server.client.http, body, token) as stream:
            assert [e["seq"] for e in await stream.results(2, "agentEvents")] == [1, 2]


async def test_a_stale_console_manifest_stops_the_start_naming_it(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = "query ConsoleOld { agents { id } }"
    built = codegen_manifest(tmp_path / "persisted-documents.json", [ME, stale])
    monkeypatch.setattr(kai.app, "CONSOLE_MANIFEST", built)

    for trusted_documents in ([], [codegen_manifest(tmp_path / "cli.json", [REGISTER])]):
        settings = make_settings(sqlite_url, tmp_path / "data", trusted_documents=trusted_documents)
        with pytest.raises(ValueError, match="1 listed documents do not fit") as refused:
            async with running_app(settings):
                pass
        assert str(refused.value).startswith("the console's manifest (persisted-documents.json")
        assert f"sha256:{sha256(stale)}: Cannot query field 'id'" in str(refused.value)


async def test_a_console_that_was_not_built_lists_nothing(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    permissions, _ = console_document("ConsoleSessionPermissions")
    monkeypatch.setattr(kai.app, "CONSOLE_MANIFEST", tmp_path / "absent.json")
    manifest = codegen_manifest(tmp_path / "cli.json", [REGISTER, ME])
    settings = make_settings(sqlite_url, tmp_path / "data", trusted_documents=[manifest])
    async with running_app(settings) as app, client_at(app) as client:
        token = (await client.register("lone@example.com"))["accessToken"]
        assert await post(client, {"extensions": apq(ME)}, token) == (
            200,
            {"data": {"me": {"email": "lone@example.com"}}},
        )
        _, answer = await post(client, {"documentId": permissions}, token)
        assert error_codes(answer) == ["PERSISTED_QUERY_NOT_IN_LIST"]
