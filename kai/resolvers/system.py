from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from kai.config import release
from kai.context import Info
from kai.schema.system import ServiceStatus, SystemConfig
from kai.services.system import check_services, settings_view


@strawberry.type
class SystemQuery:
    @strawberry.field(
        description="The deployment as configured (secrets redacted). Needs config.read."
    )
    async def config(self, info: Info) -> SystemConfig:
        await info.context.authorize("config.read")
        settings = info.context.services.settings
        return SystemConfig(
            environment=settings.env,
            version=release(),
            public_url=settings.public_url,
            settings=JSON(settings_view(settings)),
        )

    @strawberry.field(description="Each backing service, checked now. Needs config.read.")
    async def services(self, info: Info) -> list[ServiceStatus]:
        await info.context.authorize("config.read")
        checks = await check_services(info.context.services)
        return [ServiceStatus.of(check) for check in checks]
