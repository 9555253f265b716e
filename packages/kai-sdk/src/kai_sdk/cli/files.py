"""`kai files upload|download|list|search|delete`, with progress bars on a terminal."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import closing
from pathlib import Path

from kai_sdk.cli import output, pages
from kai_sdk.cli.connect import CliClient, agent_id, client
from kai_sdk.cli.exits import CliError, not_found
from kai_sdk.cli.output import Column
from kai_sdk.cli.progress import Bar, byte_counter
from kai_sdk.client.sync import FileFilter, FileOrder, FileOrderField, OrderDirection
from kai_sdk.client.sync.fragments import FileFields

SORTS = {
    "uploaded": (FileOrderField.UPLOADED_AT, OrderDirection.DESC),
    "name": (FileOrderField.NAME, OrderDirection.ASC),
    "size": (FileOrderField.SIZE, OrderDirection.DESC),
}


def columns(args: argparse.Namespace) -> list[Column]:
    return [
        Column("ID", lambda f: f.id),
        Column("NAME", lambda f: f.original_name, shrink=True),
        Column("SIZE", lambda f: output.size(f.size)),
        Column("TYPE", lambda f: f.mime_type, shrink=True, optional=True),
        Column("AGENT", lambda f: f.agent.name if f.agent else None, shrink=True, optional=True),
        Column("UPLOADED", lambda f: output.when(f.uploaded_at, args)),
    ]


def upload(args: argparse.Namespace) -> int:
    paths = [Path(path) for path in args.paths]
    for path in paths:
        if not path.is_file():
            raise CliError(f"{path}: no such file")
    uploaded: list[FileFields] = []
    with client(args) as kai:
        agent = agent_id(kai, args.agent) if args.agent else None
        for path in paths:
            bar = Bar(path.name)
            total = path.stat().st_size
            try:
                uploaded.append(
                    kai.upload(path, agent_id=agent, progress=byte_counter(bar, total, output.size))
                )
            finally:
                bar.close()
    if args.json:
        output.emit_json(uploaded if len(paths) > 1 else uploaded[0])
    else:
        output.table(uploaded, columns(args))
    return 0


def download(args: argparse.Namespace) -> int:
    with client(args) as kai:
        record = kai.file(args.file).file
        if record is None:
            raise not_found(f"no file {args.file!r}")
        if args.output == "-":
            with closing(kai.iter_download(record)) as chunks:
                for chunk in chunks:
                    sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return 0
        target = Path(args.output or Path(record.original_name).name or record.id)
        if target.is_dir():
            target = target / (Path(record.original_name).name or record.id)
        if target.exists() and not args.force:
            raise CliError(f"{target} exists; --force replaces it")
        written = _download_to(kai, record, target)
    if args.json:
        output.emit_json({"file": record, "path": str(target), "bytes": written})
    else:
        print(f"{target}: {output.size(written)}")
    return 0


def _download_to(kai: CliClient, record: FileFields, target: Path) -> int:
    """Writes the file beside the target, then renames it over it once it is whole and
    checked (size and SHA-256)."""
    partial = target.with_name(f".{target.name}.part")
    bar = Bar(target.name)
    heard = byte_counter(bar, record.size, output.size)
    written = 0
    try:
        with partial.open("wb") as out, closing(kai.iter_download(record)) as chunks:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
                heard(written)
        os.replace(partial, target)
    except OSError as exc:
        raise CliError(f"{target}: {exc.strerror or exc}") from None
    finally:
        bar.close()
        partial.unlink(missing_ok=True)
    return written


def list_files(args: argparse.Namespace) -> int:
    field, direction = SORTS[args.sort]
    if args.reverse:
        direction = OrderDirection.ASC if direction is OrderDirection.DESC else OrderDirection.DESC
    order = FileOrder(field=field, direction=direction)
    with client(args) as kai:
        filter_ = FileFilter(
            agent_id=agent_id(kai, args.agent) if args.agent else None,
            name_contains=args.name,
            mime_types=args.type,
        )
        files: list[FileFields] = pages.nodes(
            args,
            lambda first, after: (
                kai.files(
                    filter_=filter_, order_by=order, first=first, after=after, with_total=True
                ).files
            ),
            lambda: kai.iter_files(filter_, order),
        )
    if args.json:
        output.emit_json(files)
    else:
        output.table(files, columns(args))
    return 0


def search(args: argparse.Namespace) -> int:
    with client(args) as kai:
        agent = agent_id(kai, args.agent) if args.agent else None
        hits = kai.search(args.query, agent_id=agent, limit=args.limit).search
    if args.json:
        output.emit_json(hits)
        return 0
    output.table(
        hits,
        [
            Column("SCORE", lambda h: f"{h.score:.3f}"),
            Column("FILE", lambda h: h.file.id),
            Column("NAME", lambda h: h.file.original_name, shrink=True),
            Column("PASSAGE", lambda h: h.chunk, shrink=True),
        ],
    )
    return 0


def delete(args: argparse.Namespace) -> int:
    with client(args) as kai:
        deleted = kai.delete_file(args.file).delete_file
    if args.json:
        output.emit_json({"deleted": deleted})
    else:
        print(f"file {deleted} deleted")
    return 0
