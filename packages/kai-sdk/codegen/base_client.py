"""The base class of the generated sync client.

ariadne-codegen copies this file into the generated package (as base_client.py): the
transport itself is written by hand in kai_sdk/client/transport.py (sign-in and token
refresh, typed errors, multipart uploads, graphql-transport-ws); this class only hands it
the generated package's own UNSET and Upload.
"""

from kai_sdk.client.sync_transport import SyncTransport

from .base_model import UNSET, Upload


class BaseClient(SyncTransport):
    """kAI's sync transport, for the generated GraphQLClient."""

    unset = UNSET
    upload_type = Upload
