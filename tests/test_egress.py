"""E1, E2: URLs that users supply reach public addresses only, and what answers there is
not reflected back.

The address ranges below are written from the IANA special-purpose registries, not
from Python's `ipaddress` (which the policy uses), so that the two check each other.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kai.egress.client import egress_client
from kai.egress.policy import EgressPolicy, EgressRefused
from kai.networks import parse_networks
from kai.runtimes import llm as llm_module
from kai.runtimes.base import AgentHandle, CommandFailed, RuntimeUnavailable
from kai.runtimes.llm import LlmRuntime
from tests.support.apps import client_at, running_app
from tests.support.fake_openai import FakeOpenAI
from tests.support.servers import free_port, serve_app
from tests.support.settings import make_settings

NOT_PUBLIC_V4 = [
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",
    "100.64.0.0/10",  # shared (carrier-grade NAT), Alibaba Cloud's metadata
    "127.0.0.0/8",
    "169.254.0.0/16",  # link-local: 169.254.169.254 is the cloud metadata service
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the broadcast address
]
NOT_PUBLIC_V6 = [
    "::1/128",
    "::/128",
    "fc00::/7",  # unique-local: fd00:ec2::254 is AWS's IPv6 metadata service
    "fe80::/10",
    "ff00::/8",
    "2001:db8::/32",
]
# The IPv6 forms that carry an IPv4 address, each as a function of that address.
CARRIERS: dict[str, Callable[[ipaddress.IPv4Address], ipaddress.IPv6Address]] = {
    "IPv4-mapped": lambda v4: ipaddress.IPv6Address(f"::ffff:{v4}"),
    "NAT64": lambda v4: ipaddress.IPv6Address((0x64FF9B << 96) | int(v4)),
    "6to4": lambda v4: ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | 1),
}
NOTHING_ALLOWED = EgressPolicy()


def addresses_in(cidrs: list[str]) -> st.SearchStrategy[ipaddress.IPv4Address | Any]:
    networks = [ipaddress.ip_network(cidr) for cidr in cidrs]
    return st.sampled_from(networks).flatmap(
        lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: net[i])
    )


def public_v4() -> st.SearchStrategy[ipaddress.IPv4Address]:
    """Addresses of the networks left once every NOT_PUBLIC_V4 one is cut out: built, not
    filtered (drawn from all 2**32 and filtered, Hypothesis's favourite small integers fell
    in 0.0.0.0/8 so often that its filter_too_much health check failed now and then)."""
    public = [ipaddress.IPv4Network("0.0.0.0/0")]
    for cidr in NOT_PUBLIC_V4:
        blocked = ipaddress.IPv4Network(cidr)
        public = [
            part
            for net in public
            if not net.subnet_of(blocked)
            for part in (net.address_exclude(blocked) if blocked.subnet_of(net) else [net])
        ]
    return addresses_in([str(net) for net in public])


@settings(max_examples=400, deadline=None)
@given(addresses_in(NOT_PUBLIC_V4 + NOT_PUBLIC_V6))
def test_E1_every_address_that_is_not_public_is_refused(address: Any) -> None:
    assert NOTHING_ALLOWED.refusal(str(address)) is not None


@settings(max_examples=400, deadline=None)
@given(addresses_in(NOT_PUBLIC_V4), st.sampled_from(sorted(CARRIERS)))
def test_E1_an_ipv6_form_of_a_refused_ipv4_address_is_refused(address: Any, carrier: str) -> None:
    assert NOTHING_ALLOWED.refusal(str(CARRIERS[carrier](address))) is not None


@settings(max_examples=400, deadline=None)
@given(public_v4())
def test_E1_public_addresses_and_their_ipv6_forms_pass(address: ipaddress.IPv4Address) -> None:
    assert NOTHING_ALLOWED.refusal(str(address)) is None
    assert NOTHING_ALLOWED.refusal(str(CARRIERS["IPv4-mapped"](address))) is None
    assert NOTHING_ALLOWED.refusal(str(CARRIERS["NAT64"](address))) is None


def test_E1_an_allow_listed_network_passes_and_only_it() -> None:
    policy = EgressPolicy(parse_networks(["10.0.5.0/24", "fd12::/64"]))
    assert policy.refusal("10.0.5.9") is None
    assert policy.refusal("::ffff:10.0.5.9") is None
    assert policy.refusal("fd12::7") is None
    assert policy.refusal("10.0.6.1") == "private"
    assert policy.refusal("127.0.0.1") == "loopback"
    assert policy.refusal("169.254.169.254") is not None


# --- the client, against real sockets ----------------------------------------------------


@dataclass
class Listener:
    """A TCP server that counts the connections it accepts and answers each request with
    `answer` (then closes, so that every request opens a new connection)."""

    host: str
    port: int
    answer: bytes = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    accepted: int = 0
    server: asyncio.Server | None = field(default=None, repr=False)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(self.answer)
        await writer.drain()
        writer.close()
        await writer.wait_closed()


@asynccontextmanager
async def listening(host: str, port: int, answer: bytes | None = None) -> AsyncIterator[Listener]:
    listener = Listener(host, port)
    if answer is not None:
        listener.answer = answer
    listener.server = await asyncio.start_server(listener._serve, host, port)
    async with listener.server:
        yield listener


def resolving(table: dict[str, list[list[str]]]) -> Callable[[str, int], Any]:
    """A resolver that answers each name from `table`, one list of addresses per lookup
    (the last one repeated): a name whose answers change is DNS rebinding."""
    lookups: dict[str, int] = {}

    async def resolve(host: str, port: int) -> list[str]:
        answers = table[host]
        count = lookups[host] = lookups.get(host, 0) + 1
        return answers[min(count, len(answers)) - 1]

    return resolve


# 127.0.0.2 plays a public server: it is the one address the tests' policy allows.
OUTSIDE = EgressPolicy(parse_networks(["127.0.0.2/32"]))
TIMEOUT = httpx.Timeout(5.0)


@pytest.mark.parametrize(
    "answers",
    [["127.0.0.1"], ["::ffff:127.0.0.1"], ["127.0.0.2", "127.0.0.1"], ["0.0.0.0"]],
    ids=["loopback", "ipv4-mapped", "one-of-several", "unspecified"],
)
async def test_E1_a_name_resolving_to_a_refused_address_is_never_connected_to(
    answers: list[str],
) -> None:
    port = free_port()
    async with listening("127.0.0.1", port) as inside:
        resolver = resolving({"llm.example": [answers]})
        async with egress_client(OUTSIDE, timeout=TIMEOUT, resolver=resolver) as client:
            with pytest.raises(EgressRefused, match=r"llm\.example resolves to"):
                await client.get(f"http://llm.example:{port}/v1/models")
    assert inside.accepted == 0


async def test_E1_each_connection_is_checked_so_dns_rebinding_gains_nothing() -> None:
    port = free_port()
    async with listening("127.0.0.1", port) as inside, listening("127.0.0.2", port) as outside:
        # Public at the first lookup, loopback at the second: the second connection
        # (the first one was closed by the server) is refused.
        resolver = resolving({"rebind.example": [["127.0.0.2"], ["127.0.0.1"]]})
        async with egress_client(OUTSIDE, timeout=TIMEOUT, resolver=resolver) as client:
            assert (await client.get(f"http://rebind.example:{port}/")).text == "ok"
            with pytest.raises(
                EgressRefused, match=r"resolves to 127\.0\.0\.1, which is a loopback address"
            ):
                await client.get(f"http://rebind.example:{port}/")
    assert (outside.accepted, inside.accepted) == (1, 0)


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/", "http://inside.example:{port}/"])
async def test_E1_a_redirect_into_a_refused_address_is_not_followed(target: str) -> None:
    port = free_port()
    location = target.format(port=port)
    redirect = (
        f"HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n"
        "connection: close\r\n\r\n"
    ).encode()
    async with (
        listening("127.0.0.1", port) as inside,
        listening("127.0.0.2", port, answer=redirect) as outside,
    ):
        resolver = resolving({"public.example": [["127.0.0.2"]], "inside.example": [["10.0.0.1"]]})
        client = egress_client(OUTSIDE, timeout=TIMEOUT, resolver=resolver, follow_redirects=True)
        async with client:
            with pytest.raises(EgressRefused):
                await client.get(f"http://public.example:{port}/")
    assert (outside.accepted, inside.accepted) == (1, 0)


async def test_E1_proxies_from_the_environment_are_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Through a proxy, the address checked would be the proxy's, not the destination's.
    port = free_port()
    async with listening("127.0.0.2", port) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.2:{port}")
        monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.2:{port}")
        resolver = resolving({"inside.example": [["10.0.0.1"]]})
        async with egress_client(OUTSIDE, timeout=TIMEOUT, resolver=resolver) as client:
            with pytest.raises(EgressRefused):
                await client.get("http://inside.example/")
    assert proxy.accepted == 0


async def collect(stream: AsyncIterator[str], *, into: list[str]) -> None:
    async for delta in stream:
        into.append(delta)


# --- the llm agent type ------------------------------------------------------------------


def llm_agent(base_url: str, api_key: str = "sk-test") -> AgentHandle:
    configuration = {"baseUrl": base_url, "model": "m", "apiKey": api_key}
    return AgentHandle(
        id="agt_1", owner_id="usr_1", name="a", type="llm", configuration=configuration
    )


async def test_E1_an_llm_agent_cannot_make_the_server_call_its_own_network(
    tmp_path: Path, sqlite_url: str
) -> None:
    fake = FakeOpenAI()
    async with serve_app(fake.app()) as url:
        settings = make_settings(sqlite_url, tmp_path / "data", egress_allowed_networks=[])
        async with running_app(settings) as app, client_at(app) as client:
            token = (await client.register("owner@example.com"))["accessToken"]
            configuration = {"baseUrl": f"{url}/v1", "model": "m", "apiKey": fake.api_key}
            create = "mutation($i: AgentConfigInput!) { createAgent(input: $i) { id } }"
            agent = (
                await client.execute(
                    create,
                    {"i": {"name": "a", "type": "llm", "configuration": configuration}},
                    token=token,
                )
            ).ok()["createAgent"]
            command = """mutation($id: ID!, $c: AgentCommandInput!) {
              sendCommand(agentId: $id, command: $c) { success error } }"""
            chat = {"command": "chat", "params": {"messages": [{"role": "user", "content": "hi"}]}}
            result = (
                await client.execute(command, {"id": agent["id"], "c": chat}, token=token)
            ).ok()["sendCommand"]
    assert result["success"] is False
    assert "baseUrl is refused: 127.0.0.1 is a loopback address" in (result["error"])
    assert fake.requests == []


LEAK = "INTERNAL-ONLY-" + "x" * 40


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (500, f"<html><body><pre>{LEAK}</pre></body></html>", "text/html"),
        (404, f'{{"items": ["{LEAK}"]}}', "application/json"),
        (400, LEAK, "text/plain"),
    ],
    ids=["html-page", "foreign-json", "plain-text"],
)
async def test_E2_an_answer_that_is_not_an_openai_error_is_not_reflected(
    status: int, body: str, content_type: str
) -> None:
    port = free_port()
    answer = (
        f"HTTP/1.1 {status} Whatever\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n{body}"
    ).encode()
    runtime = LlmRuntime(egress=OUTSIDE, connect_timeout=2, read_timeout=5)
    try:
        async with listening("127.0.0.2", port, answer=answer):
            with pytest.raises((CommandFailed, RuntimeUnavailable)) as refused:
                await runtime.command(
                    llm_agent(f"http://127.0.0.2:{port}/v1"),
                    "chat",
                    {"messages": [{"role": "user", "content": "hi"}]},
                )
    finally:
        await runtime.aclose()
    message = str(refused.value)
    assert message == f"The LLM endpoint answered {status}: Whatever"
    assert LEAK not in message


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=3000))
def test_E2_an_openai_error_message_reaches_the_caller_as_one_short_clean_line(
    text: str,
) -> None:
    from kai.openai_errors import short_reason

    secret = "sk-" + "s" * 20
    line = short_reason(text + secret + text, secret=secret)
    assert len(line) <= 200
    assert secret not in line
    assert all(char.isprintable() for char in line)


@pytest.mark.parametrize(
    "body",
    [
        "data: " + "x" * 5000,  # one endless line
        'data: {"choices": [{"delta": {"content": "word "}}]}\n\n' * 200,  # endless deltas
    ],
    ids=["one-line", "many-deltas"],
)
async def test_E2_a_streamed_answer_is_cut_off_at_the_size_cap(
    body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llm_module, "MAX_BODY_BYTES", 1000)
    port = free_port()
    answer = (
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n{body}"
    ).encode()
    runtime = LlmRuntime(egress=OUTSIDE, connect_timeout=2, read_timeout=5)
    received: list[str] = []
    try:
        async with listening("127.0.0.2", port, answer=answer):
            stream = runtime.prompt(llm_agent(f"http://127.0.0.2:{port}/v1"), "hi", None)
            with pytest.raises(CommandFailed, match="larger than 1000 bytes"):
                await collect(stream, into=received)
    finally:
        await runtime.aclose()
    assert len("".join(received)) < 1000
