"""DataLoaders, one set per request (or per subscription event), named XByYLoader."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kai.loaders.agent import (
    AgentByIdLoader,
    CommandByIdLoader,
    CommandStatsByAgentIdLoader,
    LogsByAgentIdLoader,
)
from kai.loaders.approval import ApprovalByCommandIdLoader, ApprovalByTaskIdLoader
from kai.loaders.file import FilesByAgentIdLoader
from kai.loaders.schedule import ScheduleByIdLoader
from kai.loaders.task import TaskByIdLoader, TaskCountsByAgentIdLoader, TasksByAgentIdLoader
from kai.loaders.user import UserByIdLoader
from kai.services.agent_log import AgentLogService
from kai.services.agent_status import AgentStatusService
from kai.services.file import FileService
from kai.services.task import TaskService


@dataclass(slots=True)
class Loaders:
    user_by_id: UserByIdLoader
    command_stats_by_agent_id: CommandStatsByAgentIdLoader
    logs_by_agent_id: LogsByAgentIdLoader
    agent_by_id: AgentByIdLoader
    command_by_id: CommandByIdLoader
    task_by_id: TaskByIdLoader
    tasks_by_agent_id: TasksByAgentIdLoader
    task_counts_by_agent_id: TaskCountsByAgentIdLoader
    files_by_agent_id: FilesByAgentIdLoader
    schedule_by_id: ScheduleByIdLoader
    approval_by_command_id: ApprovalByCommandIdLoader
    approval_by_task_id: ApprovalByTaskIdLoader

    @classmethod
    def create(
        cls,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        status: AgentStatusService,
        logs: AgentLogService,
        tasks: TaskService,
        files: FileService,
    ) -> Loaders:
        return cls(
            user_by_id=UserByIdLoader(sessionmaker),
            command_stats_by_agent_id=CommandStatsByAgentIdLoader(status),
            logs_by_agent_id=LogsByAgentIdLoader(logs),
            agent_by_id=AgentByIdLoader(sessionmaker),
            command_by_id=CommandByIdLoader(sessionmaker),
            task_by_id=TaskByIdLoader(sessionmaker),
            tasks_by_agent_id=TasksByAgentIdLoader(tasks),
            task_counts_by_agent_id=TaskCountsByAgentIdLoader(tasks),
            files_by_agent_id=FilesByAgentIdLoader(files),
            schedule_by_id=ScheduleByIdLoader(sessionmaker),
            approval_by_command_id=ApprovalByCommandIdLoader(sessionmaker),
            approval_by_task_id=ApprovalByTaskIdLoader(sessionmaker),
        )
