"""kAI overrides or reads private parts of Strawberry, graphql-core, taskiq-redis,
broadcaster and aiosqlite (each listed in one module's SEAMS). These tests fail when the
library's side of any of them changes, so that an upgrade names the override to reread,
instead of breaking it quietly."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import textwrap
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from kai import aiosqlite_seams
from kai.egress import client as egress_client
from kai.events import link
from kai.graphql import event_projection, extension_runner, strawberry_seams
from kai.graphql.extensions import overlapping_fields
from kai.schema import selections
from kai.workers import redis_stream_broker

# The digest of each seam's source in the version kAI was written against. When a test
# below fails after an upgrade: read the library's new code, adjust kAI's override, then
# record the new digest here.
REVIEWED = {
    "strawberry.subscriptions.protocols.graphql_transport_ws.handlers"
    ":BaseGraphQLTransportWSHandler._get_pre_execution_close_reason": "2cd123d31a64dfef",
    "strawberry.subscriptions.protocols.graphql_ws.handlers"
    ":BaseGraphQLWSHandler.handle_async_results": "68ece88c99e42b78",
    "strawberry.subscriptions.protocols.graphql_ws.handlers"
    ":BaseGraphQLWSHandler.cleanup_operation": "7d5b3ec6f0eac821",
    "strawberry.http.base:BaseView._get_stream_transport_from_headers": "e88bd75a7858937d",
    "strawberry.http.base:BaseView._get_stream_transport": "b3174c02d99b53a5",
    "strawberry.http.async_base_view"
    ":AsyncBaseHTTPView._create_streaming_response": "aeaf390718d7ce6c",
    "strawberry.schema.schema:Schema.__init__": "e3dbffbd1df805ea",
    "strawberry.schema.base:BaseSchema.remove_field_suggestion": "854bceba90e6e912",
    "strawberry.types.execution:ExecutionContext.__post_init__": "7ef2ee9ca3e446ac",
    "strawberry.types.execution:ExecutionContext.operation_name": "4326a0c55fc7898f",
    "strawberry.schema.base:BaseSchema._process_errors": "df3d46e3efaf35e0",
    "strawberry.http.async_base_view:AsyncBaseHTTPView._check_websocket_origin": "6f2073b3dceef8b8",
    "strawberry.subscriptions.protocols.graphql_transport_ws.handlers"
    ":BaseGraphQLTransportWSHandler.handle_subscribe": "a35ad9adbee7d508",
    "strawberry.subscriptions.protocols.graphql_transport_ws.handlers"
    ":BaseGraphQLTransportWSHandler.run_operation": "e86f2efc37443654",
    "taskiq_redis.redis_broker:RedisStreamBroker.__init__": "cfe55b7513cf52a3",
    "taskiq_redis.redis_broker:RedisStreamBroker.listen": "3f4b2703c41219da",
    "taskiq_redis.redis_broker:RedisStreamBroker._ack_generator": "f9b9c1779a65730c",
    "taskiq_redis.redis_broker:RedisStreamBroker._declare_consumer_group": "2272ce946fb8585f",
    "broadcaster._base:Broadcast.__init__": "1a2f8677d2cf9e5e",
    "broadcaster._base:Broadcast._create_backend": "f0fb798f24dcfc7d",
    "taskiq_redis.redis_broker:RedisStreamBroker.startup": "7883ebab98b5d1bf",
    "aiosqlite.core:Connection.stop": "027c23f7ea88797e",
    "aiosqlite.core:Connection.close": "fc2f5eed157028d0",
    "httpx._transports.default:AsyncHTTPTransport.__init__": "f2b5ed3e833ce232",
    "httpcore._async.connection_pool:AsyncConnectionPool.__init__": "f479a1be35ab52fd",
    "graphql.validation.rules.overlapping_fields_can_be_merged:find_conflict": "78d89b7f04c84c9d",
    "strawberry.schema.schema_converter:GraphQLCoreConverter.from_resolver": "7f3336bf8073d24c",
    "graphql.execution.executor:Executor.build_per_event_executor": "7cc9071077ce0e95",
    "graphql.execution.collect_fields:collect_fields": "d41c7aeb4cad40fc",
    "graphql.execution.collect_fields:collect_subfields": "1657a3c68d283391",
    "graphql.execution.execute:map_source_to_response_event": "6eb8cb26326da419",
    "graphql.execution.execute:execute_subscription_event": "e9908f304bb0bc7d",
    "strawberry.types.info:Info.field_name": "77edbabeb56349d8",
    "strawberry.schema.schema:Schema.create_extensions_runner": "55c1cb85d85cb13d",
    "strawberry.extensions.runner:SchemaExtensionsRunner.on_stream_result": "280600827c7ee6c1",
    "strawberry.extensions.runner:SchemaExtensionsRunner.get_extensions_results": (
        "5636ddeadf143c63"
    ),
    "strawberry.extensions.context:ExtensionContextManagerBase.get_hook": "c8564f7acc99876d",
}

SEAMS = (
    *strawberry_seams.SEAMS,
    *redis_stream_broker.SEAMS,
    *link.SEAMS,
    *aiosqlite_seams.SEAMS,
    *egress_client.SEAMS,
    *overlapping_fields.SEAMS,
    *event_projection.SEAMS,
    *selections.SEAMS,
    *extension_runner.SEAMS,
)


def seam_source(seam: str) -> str:
    """The source of "module:Class.attribute", as the class itself defines it."""
    module_name, _, path = seam.partition(":")
    owner_name, _, attribute = path.rpartition(".")
    owner = importlib.import_module(module_name)
    for part in owner_name.split(".") if owner_name else ():  # "module:function": the module
        owner = getattr(owner, part)
    found = vars(owner).get(attribute)  # its own, not inherited: that is what was read
    assert found is not None, f"{seam} is gone"
    function: Any = found.__func__ if isinstance(found, staticmethod | classmethod) else found
    function = function.fget if isinstance(function, property) else function
    return textwrap.dedent(inspect.getsource(function))


def digest(seam: str) -> str:
    return hashlib.sha256(seam_source(seam).encode()).hexdigest()[:16]


def test_every_seam_in_the_code_is_reviewed_here() -> None:
    assert sorted(SEAMS) == sorted(REVIEWED)


@pytest.mark.parametrize("seam", sorted(REVIEWED))
def test_the_library_side_of_each_seam_is_as_reviewed(seam: str) -> None:
    assert digest(seam) == REVIEWED[seam], (
        f"{seam} changed in the installed library: reread kAI's override of it "
        "(in the module whose SEAMS names it), "
        "then record the new digest in tests/test_library_seams.py"
    )


@pytest.mark.parametrize(
    "distribution",
    [
        "strawberry-graphql",
        "taskiq-redis",
        "broadcaster",
        "aiosqlite",
        "httpx",
        "httpcore",
        "graphql-core",
    ],
)
def test_libraries_with_seams_are_pinned_to_the_reviewed_minor_version(
    distribution: str,
) -> None:
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    pin = re.search(rf'"{distribution}(?:\[\w+\])?~=(\d+)\.(\d+)\.\d+"', pyproject)
    assert pin, f"{distribution} is not pinned with ~= to a minor version in pyproject.toml"
    installed = version(distribution).split(".")
    assert installed[:2] == [pin.group(1), pin.group(2)]


def test_a_changed_library_function_changes_its_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    seam = "strawberry.schema.base:BaseSchema.remove_field_suggestion"
    before = digest(seam)
    monkeypatch.setattr(inspect, "getsource", lambda _: "def changed(): pass\n")
    assert digest(seam) != before
