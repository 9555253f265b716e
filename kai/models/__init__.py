"""SQLModel tables, one module per area. Importing this registers them all on the metadata."""

from sqlmodel import SQLModel

from kai.models.api_key import ApiKey
from kai.models.audit import AuditEntry
from kai.models.magic_link import MagicLink
from kai.models.session import AuthSession
from kai.models.user import Role, User

metadata = SQLModel.metadata

__all__ = ["ApiKey", "AuditEntry", "AuthSession", "MagicLink", "Role", "User", "metadata"]
