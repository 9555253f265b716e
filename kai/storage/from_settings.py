"""The storage parts the settings ask for: embedded defaults, or the scale-out services."""

from __future__ import annotations

from kai.config import Settings
from kai.storage.blobs import BlobStore, LocalBlobStore
from kai.storage.embeddings import Embedder, OpenAIEmbedder, WordLlamaEmbedder
from kai.storage.s3 import S3BlobStore
from kai.storage.scanner import ClamdScanner, Scanner
from kai.storage.search_index import SearchIndex
from kai.storage.signing import DownloadSigner


def blob_store(settings: Settings) -> BlobStore:
    if settings.s3_bucket:
        # Credentials come from the usual AWS variables, files or instance roles.
        return S3BlobStore(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            prefix=settings.s3_prefix,
        )
    return LocalBlobStore(settings.resolved_files_dir)


def scanner(settings: Settings) -> Scanner | None:
    """clamd when configured; None (files marked SKIPPED) is for development only:
    production refuses to start without one unless KAI_SCANNER=none says so."""
    if not settings.scanning_enabled:
        return None
    assert settings.clamd_url is not None
    return ClamdScanner(settings.clamd_url, timeout=settings.clamd_timeout_seconds)


def embedder(settings: Settings) -> Embedder:
    if settings.embeddings_url:
        key = settings.embeddings_api_key
        return OpenAIEmbedder(
            settings.embeddings_url,
            model=settings.embeddings_model,
            api_key=key.get_secret_value() if key else None,
        )
    return WordLlamaEmbedder()


def search_index(settings: Settings) -> SearchIndex:
    key = settings.qdrant_api_key
    return SearchIndex(
        embedder=embedder(settings),
        location=settings.resolved_qdrant_location,
        api_key=key.get_secret_value() if key else None,
        collection=settings.qdrant_collection,
    )


def download_signer(settings: Settings) -> DownloadSigner:
    signing_key, _ = settings.signing_keys()
    return DownloadSigner(
        str(signing_key), public_url=settings.public_url, ttl_seconds=settings.download_url_ttl
    )


async def close_embedder(embedder: Embedder) -> None:
    if isinstance(embedder, OpenAIEmbedder):
        await embedder.aclose()
