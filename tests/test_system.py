"""`config` and `services`: the deployment as configured, secrets redacted, and each backing
service checked now; for config.read (DEVELOPER and ADMIN), refused and audited for others."""

from __future__ import annotations

import dataclasses
import json
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from kai.config import Settings, release
from kai.db import create_engine
from kai.services.system import REDACTED, settings_view
from tests.support.apps import services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.servers import free_port

CONFIG = "{ config { environment version publicUrl settings } }"
SERVICES = "{ services { role kind ok latencyMs version detail } }"
SET_ROLE = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id } }"
ROLES = [
    "database",
    "broker",
    "tasks",
    "blobs",
    "vectors",
    "embeddings",
    "scanner",
    "mail",
    "tracing",
]


async def _tokens(client: GraphQLClient) -> dict[str, str]:
    """ADMIN (the first user), DEVELOPER and USER access tokens."""
    admin = await client.register("admin@example.com")
    developer = await client.register("dev@example.com")
    user = await client.register("user@example.com")
    promoted = await client.execute(
        SET_ROLE,
        {"id": developer["user"]["id"], "role": "DEVELOPER"},
        token=admin["accessToken"],
    )
    promoted.ok()
    return {
        "ADMIN": admin["accessToken"],
        "DEVELOPER": developer["accessToken"],
        "USER": user["accessToken"],
    }


async def test_config_is_for_config_read_and_names_every_setting(client: GraphQLClient) -> None:
    tokens = await _tokens(client)

    for role in ("ADMIN", "DEVELOPER"):
        config = (await client.execute(CONFIG, token=tokens[role])).ok()["config"]
        assert config["environment"] == "development"
        assert config["version"] == release()
        assert config["publicUrl"] == "https://kai.example.test"
        names = {f"KAI_{name.upper()}" for name in Settings.model_fields}
        assert set(config["settings"]) == names
        assert config["settings"]["KAI_JWT_SECRET"] == REDACTED
    refused = await client.execute(CONFIG, token=tokens["USER"])
    assert refused.codes == ["FORBIDDEN"]
    audit = await client.execute(
        '{ auditLog(action: "config.read", granted: false) { edges { node { action } } } }',
        token=tokens["ADMIN"],
    )
    assert audit.ok()["auditLog"]["edges"], "the refusal is audited"


async def test_services_checks_each_role_now(client: GraphQLClient, app: Any) -> None:
    tokens = await _tokens(client)

    found = (await client.execute(SERVICES, token=tokens["DEVELOPER"])).ok()["services"]
    by_role = {service["role"]: service for service in found}
    assert [service["role"] for service in found] == ROLES
    database = by_role["database"]
    dialect = services_of(app).engine.dialect.name
    assert database["kind"] == ("sqlite" if dialect == "sqlite" else "postgresql")
    assert database["ok"] is True
    assert database["latencyMs"] >= 0
    assert database["version"] and database["version"][0].isdigit()
    assert by_role["blobs"] == {**by_role["blobs"], "kind": "local", "ok": True}
    assert by_role["blobs"]["latencyMs"] is not None
    # Nothing to reach: in-process queue, the log as mail, no tracing.
    for role, kind in (("tasks", "in-process"), ("mail", "log"), ("tracing", "none")):
        assert by_role[role] == {
            "role": role,
            "kind": kind,
            "ok": True,
            "latencyMs": None,
            "version": None,
            "detail": None,
        }
    assert (await client.execute(SERVICES, token=tokens["USER"])).codes == ["FORBIDDEN"]


async def test_a_service_that_is_down_says_why_in_one_line(client: GraphQLClient, app: Any) -> None:
    tokens = await _tokens(client)
    services = services_of(app)
    unreachable = create_engine(f"postgresql+asyncpg://kai@127.0.0.1:{free_port()}/kai")
    app.state.services = dataclasses.replace(services, engine=unreachable)
    app.state.graphql.services = app.state.services
    try:
        found = (await client.execute(SERVICES, token=tokens["ADMIN"])).ok()["services"]
    finally:
        app.state.graphql.services = services
        app.state.services = services
        await unreachable.dispose()
    database = found[0]
    assert database["role"] == "database" and database["ok"] is False
    assert database["detail"] and "\n" not in database["detail"]
    assert database["version"] is None


# --- redaction, with generated secrets -------------------------------------------------

# Each secret starts with a marker no setting's own text has, so finding one in the view
# can only mean it leaked.
SECRET_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-_.~!$&'()*+,;=").map(
    lambda tail: f"SeCrEt-{tail}"
)


@settings(max_examples=200, deadline=None)
@given(
    jwt=SECRET_TEXT,
    key=SECRET_TEXT,
    password=SECRET_TEXT,
    token=SECRET_TEXT,
)
def test_no_secret_reaches_the_view(jwt: str, key: str, password: str, token: str) -> None:
    quoted = password.replace("@", "%40").replace(":", "%3A").replace("/", "%2F")
    configured = Settings(
        _env_file=None,
        jwt_secret=SecretStr(jwt * 4),
        embeddings_api_key=SecretStr(key),
        qdrant_api_key=SecretStr(key),
        metrics_token=SecretStr(token),
        database_url=f"postgresql://kai:{quoted}@db.internal:5432/kai",
        redis_url=f"redis://default:{quoted}@redis.internal:6379/0",
        smtp_url=f"smtp://mailer:{quoted}@smtp.internal:587",
    )
    text = json.dumps(settings_view(configured))
    for secret in (jwt * 4, key, token, quoted):
        assert secret not in text
    view = settings_view(configured)
    assert view["KAI_DATABASE_URL"] == f"postgresql+asyncpg://kai:{REDACTED}@db.internal:5432/kai"
    assert view["KAI_REDIS_URL"].startswith(f"redis://default:{REDACTED}@redis.internal")
