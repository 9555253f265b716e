"""The `llm` agent type against an OpenAI-compatible server started on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kai.config import Settings
from kai.egress.policy import EgressPolicy
from kai.errors import ErrorCode, KaiError
from kai.models.agent_event import AgentEventType
from kai.networks import parse_networks
from kai.runtimes.base import AgentHandle, CommandFailed, RuntimeUnavailable
from kai.runtimes.llm import LlmRuntime
from kai.services.agent_config import REDACTED
from tests.support.apps import running_app, services_of
from tests.support.fake_openai import FakeOpenAI
from tests.support.graphql_client import GraphQLClient, nodes
from tests.support.servers import free_port, serve_app

AGENT_FIELDS = "id name type configuration state"
CREATE = f"""
mutation Create($input: AgentConfigInput!) {{ createAgent(input: $input) {{ {AGENT_FIELDS} }} }}
"""
UPDATE = f"""
mutation Update($id: ID!, $input: AgentConfigPatch!) {{
  updateAgent(id: $id, input: $input) {{ {AGENT_FIELDS} }}
}}
"""
AGENT = f"query Agent($id: ID!) {{ agent(id: $id) {{ {AGENT_FIELDS} }} }}"
AGENTS = f"query {{ agents {{ edges {{ node {{ {AGENT_FIELDS} }} }} }} }}"
STATUS = "query Status($id: ID!) { agentStatus(id: $id) { id state configuration } }"
AGENT_TYPES = "query { agentTypes { name configSchema taskTypes } }"
COMMAND = """
mutation Command($agentId: ID!, $command: AgentCommandInput!) {
  sendCommand(agentId: $agentId, command: $command) { success result error }
}
"""
HELLO = [{"role": "user", "content": "Say hello"}]
# The fake endpoint listens on loopback, which users' URLs may reach only when allowed.
LOOPBACK = EgressPolicy(parse_networks(["127.0.0.0/8"]))


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    # Requested before `app`, so it stops after the app has closed its HTTP client.
    server = FakeOpenAI()
    async with serve_app(server.app()) as url:
        server.base_url = f"{url}/v1"
        yield server


@pytest.fixture
async def runtime() -> AsyncIterator[LlmRuntime]:
    llm = LlmRuntime(egress=LOOPBACK, connect_timeout=2, read_timeout=5)
    yield llm
    await llm.aclose()


def config_for(fake: FakeOpenAI, **extra: Any) -> dict[str, Any]:
    return {"baseUrl": fake.base_url, "model": "fake-model", "apiKey": fake.api_key, **extra}


def handle_for(configuration: dict[str, Any]) -> AgentHandle:
    return AgentHandle(
        id="agt_1", owner_id="usr_1", name="llm-1", type="llm", configuration=configuration
    )


async def collect(stream: AsyncIterator[str], *, into: list[str]) -> None:
    async for delta in stream:
        into.append(delta)


async def signed_in(client: GraphQLClient) -> str:
    return str((await client.register("owner@example.com"))["accessToken"])


async def create_llm(
    client: GraphQLClient, token: str, configuration: dict[str, Any]
) -> dict[str, Any]:
    input = {"name": "llm-1", "type": "llm", "configuration": configuration}
    return (await client.execute(CREATE, {"input": input}, token=token)).ok()["createAgent"]  # type: ignore[no-any-return]


async def chat(client: GraphQLClient, token: str, agent_id: str, **params: Any) -> Any:
    params.setdefault("messages", HELLO)
    command = {"command": "chat", "params": params}
    return await client.execute(COMMAND, {"agentId": agent_id, "command": command}, token=token)


# Through the API ---------------------------------------------------------------------------


async def test_llm_type_is_listed_with_its_schema_and_prompt_task(client: GraphQLClient) -> None:
    token = await signed_in(client)

    types = (await client.execute(AGENT_TYPES, token=token)).ok()["agentTypes"]

    llm = next(t for t in types if t["name"] == "llm")
    assert llm["taskTypes"] == ["prompt"]
    assert llm["configSchema"]["required"] == ["baseUrl", "model"]
    assert llm["configSchema"]["additionalProperties"] is False


async def test_llm_agent_pointing_at_an_endpoint_starts_running(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    token = await signed_in(client)

    agent = await create_llm(client, token, config_for(fake))

    assert agent["type"] == "llm"
    assert agent["state"] == "RUNNING"


async def test_chat_command_returns_the_content_and_sends_the_configuration(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    configuration = config_for(fake, systemPrompt="Be brief.", temperature=0.2, maxTokens=64)
    agent = await create_llm(client, token, configuration)

    result = (await chat(client, token, agent["id"])).ok()["sendCommand"]

    assert result["success"] is True
    assert result["result"]["content"] == "Hello, world!"
    assert result["result"]["model"] == "fake-model"
    assert result["result"]["usage"]["completion_tokens"] == 4
    [sent] = fake.requests
    assert sent.authorization == f"Bearer {fake.api_key}"
    assert sent.body == {
        "model": "fake-model",
        "messages": [{"role": "system", "content": "Be brief."}, *HELLO],
        "stream": False,
        "temperature": 0.2,
        "max_tokens": 64,
    }


async def test_streamed_prompt_yields_the_chunks_and_stores_them_as_events(
    fake: FakeOpenAI, app: Any, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    agent = await create_llm(client, token, config_for(fake, systemPrompt="Be brief."))
    services = services_of(app)
    row = await services.agents.get(agent_id=agent["id"])
    assert row is not None

    chunks = [c async for c in services.commands.prompt(agent=row, prompt="Hi", options=None)]
    events = await services.events.after(agent_id=agent["id"], after=0)

    assert [c.delta for c in chunks] == [*fake.chunks, ""]
    assert [c.done for c in chunks] == [False] * len(fake.chunks) + [True]
    stored = [e.data for e in events if e.type is AgentEventType.STREAM_CHUNK]
    # Stored joined (kai/services/prompt_events.py): the same text, in fewer events.
    assert "".join(d["delta"] for d in stored) == "".join(c.delta for c in chunks)
    assert [d["done"] for d in stored] == [False] * (len(stored) - 1) + [True]
    assert len(stored) <= len(chunks)
    assert {d["streamId"] for d in stored} == {chunks[0].stream_id}
    [sent] = fake.requests
    assert sent.body["stream"] is True
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]


async def test_a_malformed_stream_fails_the_prompt_and_is_an_error_event(
    fake: FakeOpenAI, app: Any, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    agent = await create_llm(client, token, config_for(fake))
    services = services_of(app)
    row = await services.agents.get(agent_id=agent["id"])
    assert row is not None
    fake.malformed = True

    with pytest.raises(KaiError, match="malformed") as raised:
        async for _ in services.commands.prompt(agent=row, prompt="Hi", options=None):
            pass
    events = await services.events.after(agent_id=agent["id"], after=0)

    assert raised.value.code is ErrorCode.AGENT_UNAVAILABLE
    assert [e.type for e in events][-1] is AgentEventType.ERROR


async def test_endpoint_answering_500_makes_the_agent_unavailable(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    agent = await create_llm(client, token, config_for(fake))
    fake.fail_status = 500

    result = await chat(client, token, agent["id"])

    assert result.codes == ["AGENT_UNAVAILABLE"]
    assert "500" in result.errors[0]["message"]


async def test_endpoint_refusing_the_key_fails_the_command_with_its_message(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    agent = await create_llm(client, token, config_for(fake, apiKey="sk-wrong-key"))

    result = (await chat(client, token, agent["id"])).ok()["sendCommand"]

    assert result["success"] is False
    assert "401" in result["error"]
    assert "Incorrect API key provided" in result["error"]
    # The fake quotes the key it refused, as OpenAI does: the caller must not see it.
    assert "sk-wrong-key" not in result["error"]


async def test_unknown_command_fails_and_names_the_one_it_knows(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    agent = await create_llm(client, token, config_for(fake))
    command = {"command": "summarize", "params": {}}

    result = await client.execute(
        COMMAND, {"agentId": agent["id"], "command": command}, token=token
    )

    sent = result.ok()["sendCommand"]
    assert sent["success"] is False
    assert "'summarize'" in sent["error"]
    assert "'chat'" in sent["error"]
    assert fake.requests == []


async def test_endpoint_down_makes_the_agent_unavailable(app: Any, client: GraphQLClient) -> None:
    token = await signed_in(client)
    closed = f"http://127.0.0.1:{free_port()}/v1"
    agent = await create_llm(client, token, {"baseUrl": closed, "model": "m"})
    row = await services_of(app).agents.get(agent_id=agent["id"])
    assert row is not None

    result = await chat(client, token, agent["id"])
    with pytest.raises(KaiError) as raised:
        async for _ in services_of(app).commands.prompt(agent=row, prompt="Hi", options=None):
            pass

    assert agent["state"] == "RUNNING"
    assert result.codes == ["AGENT_UNAVAILABLE"]
    assert "unreachable" in result.errors[0]["message"]
    assert raised.value.code is ErrorCode.AGENT_UNAVAILABLE


@pytest.mark.parametrize(
    ("configuration", "field"),
    [
        ({"baseUrl": "http://x/v1", "model": "m", "temperature": 3}, "temperature"),
        ({"baseUrl": "http://x/v1", "model": "m", "temperature": "hot"}, "temperature"),
        ({"baseUrl": "http://x/v1", "model": "m", "maxTokens": 0}, "maxTokens"),
        ({"baseUrl": "http://x/v1", "model": "m", "maxTokens": 1.5}, "maxTokens"),
        ({"baseUrl": "ftp://x/v1", "model": "m"}, "baseUrl"),
        ({"baseUrl": "not a url", "model": "m"}, "baseUrl"),
        ({"baseUrl": "http://x/v1", "model": ""}, "model"),
        ({"baseUrl": "http://x/v1", "model": "m", "apiKey": 7}, "apiKey"),
        ({"baseUrl": "http://x/v1"}, "model"),
        ({"baseUrl": "http://x/v1", "model": "m", "topP": 1}, None),
    ],
    ids=[
        "temperature-high",
        "temperature-text",
        "max-tokens-zero",
        "max-tokens-fraction",
        "base-url-ftp",
        "base-url-text",
        "model-empty",
        "api-key-number",
        "model-missing",
        "extra-property",
    ],
)
async def test_bad_llm_configuration_names_the_field(
    client: GraphQLClient, configuration: dict[str, Any], field: str | None
) -> None:
    token = await signed_in(client)
    input = {"name": "llm-1", "type": "llm", "configuration": configuration}

    result = await client.execute(CREATE, {"input": input}, token=token)

    assert result.codes == ["BAD_USER_INPUT"]
    expected = f"input.configuration.{field}" if field else "input.configuration"
    assert result.errors[0]["extensions"]["field"] == expected


async def test_api_key_is_never_returned_and_survives_being_sent_back_redacted(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    created = await create_llm(client, token, config_for(fake))
    agent_id = created["id"]

    read = (await client.execute(AGENT, {"id": agent_id}, token=token)).ok()["agent"]
    listed = nodes((await client.execute(AGENTS, token=token)).ok()["agents"])
    status = (await client.execute(STATUS, {"id": agent_id}, token=token)).ok()["agentStatus"]
    # A client that edits what it read sends the redaction marker back.
    patch = {"configuration": {**read["configuration"], "temperature": 1.5}}
    updated = await client.execute(UPDATE, {"id": agent_id, "input": patch}, token=token)
    answer = (await chat(client, token, agent_id)).ok()["sendCommand"]

    returned = [created, read, *listed, status, updated.ok()["updateAgent"]]
    for value in returned:
        assert value["configuration"]["apiKey"] == REDACTED
    assert fake.api_key is not None
    assert fake.api_key not in json.dumps([*returned, answer])
    assert answer["success"] is True
    assert fake.requests[-1].authorization == f"Bearer {fake.api_key}"
    assert fake.requests[-1].body["temperature"] == 1.5


async def test_a_redacted_api_key_is_not_kept_when_the_base_url_changes(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    """A stored secret is bound to the endpoint it was given for (docs/security.md E3)."""
    token = await signed_in(client)
    agent_id = (await create_llm(client, token, config_for(fake)))["id"]
    read = (await client.execute(AGENT, {"id": agent_id}, token=token)).ok()["agent"]
    elsewhere = {**read["configuration"], "baseUrl": "https://elsewhere.example.test/v1"}

    refused = await client.execute(
        UPDATE, {"id": agent_id, "input": {"configuration": elsewhere}}, token=token
    )
    assert refused.codes == ["BAD_USER_INPUT"], refused.body
    assert refused.errors[0]["extensions"]["field"] == "input.configuration.apiKey"
    # Nothing changed: the agent still calls its own endpoint with its own key.
    answer = (await chat(client, token, agent_id)).ok()["sendCommand"]
    assert answer["success"] is True
    assert fake.requests[-1].authorization == f"Bearer {fake.api_key}"

    # With the key sent again, the move is taken.
    moved = await client.execute(
        UPDATE,
        {"id": agent_id, "input": {"configuration": {**elsewhere, "apiKey": "new-key"}}},
        token=token,
    )
    assert moved.ok()["updateAgent"]["configuration"]["baseUrl"] == elsewhere["baseUrl"]


async def test_stopping_the_app_closes_the_http_client(settings: Settings) -> None:
    async with running_app(settings) as app:
        runtime = services_of(app).agents.runtimes.get("llm")
        assert isinstance(runtime, LlmRuntime)
        assert not runtime.closed

    assert runtime.closed


# The runtime directly ------------------------------------------------------------------------


async def test_prompt_options_override_temperature_and_max_tokens(
    fake: FakeOpenAI, runtime: LlmRuntime
) -> None:
    agent = handle_for(config_for(fake, temperature=0.7, maxTokens=10))

    deltas = [d async for d in runtime.prompt(agent, "Hi", {"temperature": 0, "maxTokens": 5})]

    assert "".join(deltas) == "Hello, world!"
    assert fake.requests[0].body["temperature"] == 0
    assert fake.requests[0].body["max_tokens"] == 5


async def test_prompt_options_out_of_range_fail_naming_the_option(
    fake: FakeOpenAI, runtime: LlmRuntime
) -> None:
    agent = handle_for(config_for(fake))

    with pytest.raises(CommandFailed, match=r"options\.temperature"):
        async for _ in runtime.prompt(agent, "Hi", {"temperature": 9}):
            pass

    assert fake.requests == []


async def test_malformed_stream_is_command_failed(fake: FakeOpenAI, runtime: LlmRuntime) -> None:
    fake.malformed = True

    with pytest.raises(CommandFailed, match="malformed"):
        async for _ in runtime.prompt(handle_for(config_for(fake)), "Hi", None):
            pass


async def test_no_key_configured_sends_no_authorization(
    fake: FakeOpenAI, runtime: LlmRuntime
) -> None:
    fake.api_key = None
    agent = handle_for({"baseUrl": fake.base_url, "model": "m"})

    answer = await runtime.command(agent, "chat", {"messages": HELLO})

    assert answer["content"] == "Hello, world!"
    assert fake.requests[0].authorization is None


@pytest.mark.parametrize(
    "messages",
    [None, [], "hello", [{"role": "user"}], [{"role": "", "content": "x"}], [{"content": 1}]],
    ids=["missing", "empty", "text", "no-content", "empty-role", "no-role"],
)
async def test_chat_with_bad_messages_fails_before_calling_the_endpoint(
    fake: FakeOpenAI, runtime: LlmRuntime, messages: Any
) -> None:
    with pytest.raises(CommandFailed, match=r"params\.messages"):
        await runtime.command(handle_for(config_for(fake)), "chat", {"messages": messages})

    assert fake.requests == []


async def test_chat_keeps_a_system_message_the_caller_sent(
    fake: FakeOpenAI, runtime: LlmRuntime
) -> None:
    agent = handle_for(config_for(fake, systemPrompt="Configured."))
    messages = [{"role": "system", "content": "Mine."}, *HELLO]

    await runtime.command(agent, "chat", {"messages": messages})

    assert fake.requests[0].body["messages"] == messages


async def test_prompt_task_reports_progress_and_returns_the_content(
    fake: FakeOpenAI, runtime: LlmRuntime
) -> None:
    progress: list[float] = []

    async def report(value: float) -> None:
        progress.append(value)

    agent = handle_for(config_for(fake, systemPrompt="Be brief."))

    from_prompt = await runtime.run_task(agent, "prompt", {"prompt": "Hi"}, report)
    from_messages = await runtime.run_task(agent, "prompt", {"messages": HELLO}, report)

    assert from_prompt == from_messages == "Hello, world!"
    assert progress == [0.0, 1.0, 0.0, 1.0]
    assert fake.requests[0].body["stream"] is True
    assert fake.requests[0].body["messages"][1] == {"role": "user", "content": "Hi"}
    assert fake.requests[1].body["messages"][1:] == HELLO


@pytest.mark.parametrize(
    ("task_type", "payload", "match"),
    [
        ("echo", {"prompt": "Hi"}, "Unknown task type"),
        ("prompt", "Hi", "payload"),
        ("prompt", {"prompt": "  "}, "payload.prompt"),
        ("prompt", {"messages": [{"role": "user"}]}, r"payload\.messages\.0"),
        ("prompt", {"prompt": "Hi", "maxTokens": 0}, r"payload\.maxTokens"),
    ],
    ids=["unknown-type", "not-an-object", "blank-prompt", "bad-message", "bad-max-tokens"],
)
async def test_prompt_task_with_bad_input_fails_before_calling_the_endpoint(
    fake: FakeOpenAI, runtime: LlmRuntime, task_type: str, payload: Any, match: str
) -> None:
    async def report(value: float) -> None:
        return None

    with pytest.raises(CommandFailed, match=match):
        await runtime.run_task(handle_for(config_for(fake)), task_type, payload, report)

    assert fake.requests == []


async def test_prompt_task_against_a_failing_endpoint_is_unavailable(
    fake: FakeOpenAI, runtime: LlmRuntime
) -> None:
    fake.fail_status = 503

    async def report(value: float) -> None:
        return None

    with pytest.raises(RuntimeUnavailable, match="503"):
        await runtime.run_task(handle_for(config_for(fake)), "prompt", {"prompt": "Hi"}, report)


async def test_a_stream_cut_before_it_finished_is_command_failed(
    fake: FakeOpenAI, runtime: LlmRuntime
) -> None:
    fake.truncated = True
    deltas: list[str] = []

    with pytest.raises(CommandFailed, match="ended before it finished"):
        await collect(runtime.prompt(handle_for(config_for(fake)), "Hi", None), into=deltas)

    assert deltas == fake.chunks


async def test_a_server_ignoring_stream_true_still_answers_the_prompt(
    fake: FakeOpenAI, runtime: LlmRuntime
) -> None:
    fake.ignore_stream = True

    deltas = [d async for d in runtime.prompt(handle_for(config_for(fake)), "Hi", None)]

    assert deltas == ["Hello, world!"]


async def test_a_stream_silent_past_the_read_timeout_is_unavailable(fake: FakeOpenAI) -> None:
    fake.chunk_delay = 1.0
    runtime = LlmRuntime(egress=LOOPBACK, connect_timeout=2, read_timeout=0.1)
    try:
        with pytest.raises(RuntimeUnavailable, match="ReadTimeout"):
            async for _ in runtime.prompt(handle_for(config_for(fake)), "Hi", None):
                pass
    finally:
        await runtime.aclose()
