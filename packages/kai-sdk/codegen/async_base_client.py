"""The base class of the generated async client.

ariadne-codegen copies this file into the generated package (as async_base_client.py):
the transport itself is written by hand in kai_sdk/client/transport.py (sign-in and token
refresh, typed errors, multipart uploads, graphql-transport-ws); this class only hands it
the generated package's own UNSET and Upload.
"""

from kai_sdk.client.async_transport import AsyncTransport

from .base_model import UNSET, Upload


class AsyncBaseClient(AsyncTransport):
    """kAI's async transport, for the generated AsyncGraphQLClient."""

    unset = UNSET
    upload_type = Upload
