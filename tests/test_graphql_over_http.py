"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): the media type of
each answer, negotiated from Accept, and the status codes that go with it.

The matrix is generated, not listed: Accept headers are built from media ranges and
qualities, and what each should get is worked out from their structure by the spec's rules
(RFC 9110's content negotiation), never by parsing the header the server parses. Each kind of
request is sent with a sample of those headers; over application/graphql-response+json the
expected status comes from the kind's class in the draft's list, over application/json from
what kAI answered before this media type (which clients and tests rely on).
graphql-http's own audit runs against a real `kai serve` in tests/test_clients_node.py.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kai.errors import ErrorCode
from kai.graphql import view
from kai.graphql.media_negotiation import CONTENT_TYPES, REQUEST_ERROR_STATUS, Media, negotiate
from kai.graphql.request_timeout import RequestTimedOut
from tests.support.apps import client_at, running_app
from tests.support.settings import make_settings

GR = "application/graphql-response+json"
JSON = "application/json"
GR_CONTENT_TYPE = "application/graphql-response+json; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"

# ---------------------------------------------------------------- Accept headers, generated

# Media ranges a client may list: the two JSON types, the wildcards that cover them, and
# types kAI does not answer in.
RANGES = (GR, JSON, "application/*", "*/*", "text/html", "text/plain", "multipart/mixed")
QUALITIES = (None, 1.0, 0.5, 0.0)  # None: no q parameter, which means 1


@dataclass(frozen=True)
class Accept:
    """An Accept header as the media ranges it lists, in order, each with its quality."""

    parts: tuple[tuple[str, float | None], ...]
    style: int = 0  # how it is written: spacing, case, how q is spelled

    def header(self) -> str:
        written = []
        for media, quality in self.parts:
            if self.style == 1:
                media = media.upper()
            q = "" if quality is None else (";q=", " ; Q=", "; q=")[self.style] + f"{quality:g}"
            written.append(media + q)
        return (", ", ",", " ,  ")[self.style].join(written)

    def __str__(self) -> str:
        return self.header()


def expected_media(parts: tuple[tuple[str, float | None], ...]) -> str | None:
    """The spec: answer in the highest priority media type listed that the server supports
    (RFC 9110: a type's quality is that of the most specific range that covers it; q=0 is
    "not acceptable"); with equal qualities, a type the client names beats one only a
    wildcard covers, then the one listed first; where one wildcard covers both, the
    server's choice, which is application/json (graphql-http audits 47DE: SHOULD for */*);
    nothing acceptable: None, a 406."""

    def preference(media: str) -> tuple[float, bool, int] | None:
        for exact, names in ((True, {media}), (False, {media.split("/")[0] + "/*", "*/*"})):
            covering = [(i, q) for i, (name, q) in enumerate(parts) if name in names]
            if covering:
                # The more specific of the two wildcards decides.
                i, q = min(covering, key=lambda found: parts[found[0]][0] == "*/*")
                weight = 1.0 if q is None else q
                return None if weight == 0 else (weight, exact, -i)
        return None

    weights = {media: w for media in (JSON, GR) if (w := preference(media)) is not None}
    if not weights:
        return None
    if len(weights) == 2 and weights[JSON] == weights[GR]:
        return JSON
    return max(weights, key=lambda media: weights[media])


def generated_accepts() -> list[Accept]:
    singles: list[tuple[tuple[str, float | None], ...]] = [
        ((media, q),) for media in RANGES for q in QUALITIES
    ]
    pairs: list[tuple[tuple[str, float | None], ...]] = [
        ((first, q1), (second, q2))
        for first, second in itertools.permutations(RANGES, 2)
        for q1 in QUALITIES
        for q2 in QUALITIES
    ]
    return [Accept(parts, i % 3) for i, parts in enumerate(singles + pairs)]


GENERATED = generated_accepts()

# Headers real clients send, and the spec's own examples: (header, what it should get).
ANCHORS: list[tuple[str | None, str | None]] = [
    (None, JSON),  # no Accept: as before
    ("", JSON),
    ("*/*", JSON),  # fetch, curl, httpx
    (f"{GR}, {JSON};q=0.9", GR),  # what the spec tells clients to send
    (f"{GR},{JSON};q=0.9", GR),  # Apollo Client 4
    (f"{GR}, application/graphql+json, {JSON}, text/event-stream, multipart/mixed", GR),  # urql
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSON),  # a browser
    (f"{JSON}; charset=utf-8", JSON),
    (f"{GR}; charset=UTF-8", GR),  # utf-8 is the only encoding kAI answers in
    (f"{GR}; charset=iso-8859-1, {JSON};q=0.5", JSON),
    (f"{GR}; charset=iso-8859-1", None),
    (f"{JSON}, text/event-stream;q=0.5", JSON),  # JSON preferred over the stream
    (f"{JSON};q=0, */*", GR),  # anything but application/json
    ("text/html", None),
    ("nonsense", None),
]


@pytest.mark.parametrize("accept", GENERATED, ids=str)
def test_the_media_type_is_the_one_accept_prefers(accept: Accept) -> None:
    chosen = negotiate(accept.header())

    assert (chosen.value if chosen else None) == expected_media(accept.parts)


@pytest.mark.parametrize(("accept", "media"), ANCHORS, ids=repr)
def test_the_media_type_for_real_clients_and_the_spec_examples(
    accept: str | None, media: str | None
) -> None:
    chosen = negotiate(accept)

    assert (chosen.value if chosen else None) == media


def test_the_generated_matrix_reaches_every_outcome() -> None:
    outcomes = {expected_media(accept.parts) for accept in GENERATED}

    assert outcomes == {JSON, GR, None}
    assert len(GENERATED) > 500


# ---------------------------------------------------------------- kinds of request

# The draft's "Status Codes" for application/graphql-response+json, by what happened.
GRAPHQL_RESPONSE_STATUS = {
    "executed": 200,  # the operation ran; field errors or not ("partial success")
    "json-unparsable": 400,  # "JSON parsing failure"
    "document-unparsable": 400,  # "Document parsing failure"
    "not-well-formed": 422,  # "Invalid parameters"
    "invalid-document": 422,  # "Document validation failure" (kAI's limits are rules too)
    "operation-undetermined": 422,  # "Operation cannot be determined"
    "variables-uncoercible": 422,  # "Variable coercion failure"
    "mutation-over-get": 405,  # with Allow: POST
    "method-not-allowed": 405,  # with Allow: GET, POST
    "unsupported-content-type": 415,
    # kAI's own: a subscription is a stream (Accept: text/event-stream) or on a WebSocket.
    "subscription-not-streamed": 422,
    # kAI's own: a multipart POST needs a header a hostile page cannot send (CSRF, G9).
    "csrf-refused": 400,
}
ALLOW = {"mutation-over-get": "POST", "method-not-allowed": "GET, POST"}
MULTIPART = "multipart/form-data; boundary=xyz"
MULTIPART_BODY = (
    b'--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
    b'{"query": "{ __typename }"}\r\n--xyz\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
    b"{}\r\n--xyz--\r\n"
)
COERCE = "query T($name: String!) { __type(name: $name) { name } }"


@dataclass(frozen=True)
class Kind:
    """A kind of request, what it is by the spec, and what application/json answered
    before (status, and whether the body had a `data` entry)."""

    name: str
    outcome: str
    legacy_status: int
    legacy_data: bool
    method: str = "POST"
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    content_type: str | None = "application/json"

    def request(self, accept: str | None) -> dict[str, Any]:
        headers = {} if self.content_type is None else {"content-type": self.content_type}
        if accept is not None:
            headers["accept"] = accept
        content = self.content
        if self.json is not None:
            content = httpx.Request("POST", "/", json=self.json).content
        return {
            "method": self.method,
            "url": "/graphql",
            "params": self.params,
            "content": content,
            "headers": headers,
        }


ALIASES = "{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"  # max_aliases: 15
TOKENS = "{ " + "__typename " * 2100 + "}"  # max_query_tokens: 2000

KINDS = [
    Kind("query", "executed", 200, True, json={"query": "{ __typename }"}),
    Kind("query-over-get", "executed", 200, True, "GET", params={"query": "{ __typename }"}),
    Kind(
        "field-error-beside-data",
        "executed",
        200,
        True,
        json={"query": '{ __typename agent(id: "agt_x") { id } }'},
    ),
    Kind(
        "field-error-null-data", "executed", 200, True, json={"query": "{ users { totalCount } }"}
    ),
    Kind("document-unparsable", "document-unparsable", 200, True, json={"query": "{"}),
    Kind("unknown-field", "invalid-document", 200, True, json={"query": "{ nope }"}),
    Kind("too-many-aliases", "invalid-document", 200, True, json={"query": ALIASES}),
    Kind("too-many-tokens", "invalid-document", 200, True, json={"query": TOKENS}),
    Kind(
        "variable-of-wrong-type",
        "variables-uncoercible",
        200,
        True,
        json={"query": COERCE, "variables": {"name": 5}},
    ),
    Kind("variable-missing", "variables-uncoercible", 200, True, json={"query": COERCE}),
    Kind(
        "operations-without-a-name",
        "operation-undetermined",
        200,
        True,
        json={"query": "query A { __typename } query B { __typename }"},
    ),
    Kind(
        "unknown-operation-name",
        "operation-undetermined",
        400,
        False,
        json={"query": "query A { __typename }", "operationName": "C"},
    ),
    Kind("query-missing", "not-well-formed", 400, False, json={"qeury": "{ __typename }"}),
    Kind("query-not-a-string", "not-well-formed", 400, False, json={"query": 7}),
    Kind(
        "variables-not-a-map",
        "not-well-formed",
        400,
        False,
        json={"query": "{ __typename }", "variables": "x"},
    ),
    Kind(
        "variables-not-json-in-get",
        "json-unparsable",
        400,
        False,
        "GET",
        params={"query": "{ __typename }", "variables": "{"},
    ),
    Kind(
        "extensions-not-a-map",
        "not-well-formed",
        400,
        False,
        json={"query": "{ __typename }", "extensions": [1]},
    ),
    Kind("a-batch", "not-well-formed", 400, False, json=[{"query": "{ __typename }"}]),
    Kind("body-a-bare-value", "not-well-formed", 400, False, content=b'"{ __typename }"'),
    Kind("json-unparsable", "json-unparsable", 400, False, content=b'{ "query": '),
    Kind(
        "mutation-over-get",
        "mutation-over-get",
        400,
        False,
        "GET",
        params={"query": "mutation { __typename }"},
    ),
    Kind(
        "subscription-not-streamed",
        "subscription-not-streamed",
        400,
        False,
        json={"query": 'subscription { taskUpdates(taskId: "tsk_x") { id } }'},
    ),
    Kind(
        "text-plain-body",
        "unsupported-content-type",
        415,
        False,
        content=b'{"query": "{ __typename }"}',
        content_type="text/plain",
    ),
    Kind(
        "no-content-type",
        "unsupported-content-type",
        415,
        False,
        content=b'{"query": "{ __typename }"}',
        content_type=None,
    ),
    Kind("head", "method-not-allowed", 405, False, "HEAD", content_type=None),
    Kind(
        "multipart-csrf", "csrf-refused", 400, False, content=MULTIPART_BODY, content_type=MULTIPART
    ),
]

# Of the generated headers, every single range and a sample of the pairs; and the anchors.
HTTP_ACCEPTS: list[str | None] = [
    *(
        accept.header()
        for i, accept in enumerate(GENERATED)
        if len(accept.parts) == 1 or i % 12 == 0
    ),
    *(accept for accept, _ in ANCHORS),
]
CODES = {code.value for code in ErrorCode}


def expected_answer(kind: Kind, accept: str | None) -> tuple[int, str, bool]:
    """(status, Content-Type, whether the body has `data`) by the rules above."""
    media = negotiate_by_structure(accept)
    if media is None:
        return 406, JSON_CONTENT_TYPE, False
    if media == JSON:
        return kind.legacy_status, JSON_CONTENT_TYPE, kind.legacy_data
    executed = kind.outcome == "executed"
    return GRAPHQL_RESPONSE_STATUS[kind.outcome], GR_CONTENT_TYPE, executed


def negotiate_by_structure(accept: str | None) -> str | None:
    """What `accept` should get: worked out from its parts for a generated header, from
    the anchors' stated answer otherwise."""
    for generated in GENERATED:
        if generated.header() == accept:
            return expected_media(generated.parts)
    return dict(ANCHORS)[accept]


@pytest.fixture
async def http(sqlite_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(sqlite_url, tmp_path / "data")
    async with running_app(settings) as app, client_at(app) as client:
        yield client.http


def mismatch(
    kind: Kind, accept: str | None, response: httpx.Response
) -> tuple[str, object, object] | None:
    status, content_type, has_data = expected_answer(kind, accept)
    body = response.json() if response.request.method != "HEAD" else {"errors": [{}]}
    got = (response.status_code, response.headers.get("content-type"), "data" in body)
    if got != (status, content_type, has_data and response.request.method != "HEAD"):
        return (repr(accept), got, (status, content_type, has_data))
    if "accept" not in response.headers.get("vary", "").lower():
        return (repr(accept), "no Vary: Accept", response.headers.get("vary"))
    allow = ALLOW.get(kind.outcome) if (status == 405) else None
    if response.headers.get("allow") != allow:
        return (repr(accept), f"Allow: {response.headers.get('allow')}", allow)
    if response.request.method != "HEAD" and not all(
        error.get("extensions", {}).get("code") in CODES for error in body.get("errors", [])
    ):
        return (repr(accept), f"an error without a code: {body}", "a code on each")
    return None


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
async def test_each_kind_of_request_under_each_accept(http: httpx.AsyncClient, kind: Kind) -> None:
    wrong = []
    for accept in HTTP_ACCEPTS:
        response = await http.request(**kind.request(accept))
        if (found := mismatch(kind, accept, response)) is not None:
            wrong.append(found)

    assert not wrong, "\n".join(f"Accept {a}: got {g}, expected {e}" for a, g, e in wrong)


def test_the_matrix_sends_every_kind_with_each_outcome_of_negotiation() -> None:
    outcomes = {negotiate_by_structure(accept) for accept in HTTP_ACCEPTS}

    assert outcomes == {JSON, GR, None}
    assert set(GRAPHQL_RESPONSE_STATUS) == {kind.outcome for kind in KINDS}


# ---------------------------------------------------------------- refusals beyond the matrix


async def test_a_rate_limited_request_is_429_with_retry_after_over_graphql_response_json(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        sqlite_url,
        tmp_path / "data",
        rate_limit_query_per_minute=1,
        rate_limit_anonymous_per_minute=1,
    )
    answers = {}
    async with running_app(settings) as app:
        for ip, accept in (("203.0.113.1", GR), ("203.0.113.2", JSON)):
            async with client_at(app, ip) as client:
                send = client.http.post
                await send("/graphql", json={"query": "{ __typename }"}, headers={"accept": accept})
                answers[accept] = await send(
                    "/graphql", json={"query": "{ __typename }"}, headers={"accept": accept}
                )

    refused = answers[GR]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == GR_CONTENT_TYPE
    assert refused.headers["retry-after"] == str(
        refused.json()["errors"][0]["extensions"]["retryAfter"]
    )
    assert "data" not in refused.json()
    legacy = answers[JSON]  # as before: a 200 whose data is null
    assert legacy.status_code == 200
    assert legacy.json()["data"] is None
    assert [e["extensions"]["code"] for e in legacy.json()["errors"]] == ["RATE_LIMITED"]


async def test_a_timed_out_request_is_503_in_either_media_type(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def timed_out(seconds: float, operation: Any, context: Any) -> Any:
        operation.close()  # never awaited: it "took" too long
        raise RequestTimedOut(seconds)

    monkeypatch.setattr(view, "within", timed_out)
    answers = {
        accept: await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"accept": accept}
        )
        for accept in (GR, JSON)
    }

    assert answers[GR].status_code == answers[JSON].status_code == 503
    assert answers[GR].headers["content-type"] == GR_CONTENT_TYPE
    assert answers[JSON].headers["content-type"] == JSON_CONTENT_TYPE
    assert answers[GR].json() == answers[JSON].json()
    assert answers[GR].json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


async def test_graphiql_is_served_whatever_the_negotiation(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"accept": "text/html"})
    nothing_to_run = await http.get("/graphql", headers={"accept": "image/png"})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # A GET without a query is not negotiated: Strawberry answers it as before.
    assert nothing_to_run.status_code == 400
    assert nothing_to_run.headers["content-type"] == JSON_CONTENT_TYPE


async def test_a_client_that_prefers_an_event_stream_is_refused_as_before(
    http: httpx.AsyncClient,
) -> None:
    refused = await http.post(
        "/graphql",
        content=b"{ nope",
        headers={"content-type": JSON, "accept": f"text/event-stream, {GR};q=0.5"},
    )

    assert refused.status_code == 400
    assert refused.headers["content-type"] == JSON_CONTENT_TYPE
    assert refused.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_every_error_code_has_a_status_for_a_request_error() -> None:
    assert set(REQUEST_ERROR_STATUS) == set(ErrorCode)
    assert all(400 <= status <= 599 for status in REQUEST_ERROR_STATUS.values())


def test_the_content_types_say_utf_8_where_the_spec_asks() -> None:
    assert CONTENT_TYPES[Media.GRAPHQL_RESPONSE] == GR_CONTENT_TYPE
    # RFC 8259 defines no charset for application/json: the header it always had.
    assert CONTENT_TYPES[Media.JSON] == JSON_CONTENT_TYPE
