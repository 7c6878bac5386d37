"""File-drop source: CSV / JSON Lines files that a partner system drops into a directory.

Cursor: ``"<mtime_ns>:<file name>"`` of the last file returned. A fetch returns every
matching file whose ``(mtime_ns, name)`` sorts after the cursor, oldest first (name breaks
ties), so a file that is rewritten (its mtime moves forward) is delivered again, and a file
that appears with an *older* mtime than the cursor (e.g. copied with ``cp -p``) is missed.
Producers should write under a temporary name (hidden ``.name`` files are always ignored,
or a name outside ``pattern``) and rename the finished file into place.

Two views of the same pull:

* :meth:`FileDropConnector.fetch_files` yields one :class:`FetchResult` per file, with
  ``origin`` = the file path and ``cursor`` = that file's cursor, so a caller can record
  provenance and commit the cursor file by file.
* :meth:`FileDropConnector.fetch_changes` concatenates them into one result whose error
  messages are prefixed with the file name (``"orders.csv: line 7: ..."``).

Rows are read lazily. A file whose extension has no known format (and no ``format`` is
configured) yields one error row with ``line`` 0; a file that cannot be read at all
raises :class:`ConnectorError` while iterating, so its cursor is not committed.
"""

from __future__ import annotations

import codecs
import fnmatch
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.base import (
    ConnectorError,
    FeedRow,
    FetchResult,
    SourceConnector,
    register,
)
from connectors.feed_files import detect_format, read_feed


@dataclass(frozen=True, order=True)
class DroppedFile:
    """A file waiting in the drop directory; ordered as the cursor orders files."""

    mtime_ns: int
    name: str

    @property
    def cursor(self) -> str:
        return f"{self.mtime_ns}:{self.name}"


@register("file_drop")
class FileDropConnector(SourceConnector):
    """Config: ``directory`` (required), ``pattern`` (glob, default ``*``), ``format``
    (``csv``/``jsonl``, default from each file's extension), ``encoding`` (default:
    detected per file)."""

    config_keys = frozenset({"directory", "pattern", "format", "encoding"})

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        directory = self.config.get("directory")
        if not directory or not isinstance(directory, (str, os.PathLike)):
            raise ConnectorError("file_drop: 'directory' is required")
        self.directory = Path(directory)
        self.pattern: str = self.config.get("pattern") or "*"
        if not isinstance(self.pattern, str):
            raise ConnectorError("file_drop: 'pattern' must be a glob string such as '*.csv'")
        self.format: str | None = _check_format(self.config.get("format"))
        self.encoding: str | None = _check_encoding(self.config.get("encoding"))

    def pending_files(self, since: str | None) -> list[DroppedFile]:
        """Matching files after the cursor ``since``, in cursor order."""
        after = _parse_cursor(since)
        files = [f for f in self._list_files() if after is None or f > after]
        return sorted(files)

    def fetch_files(self, since: str | None) -> Iterator[FetchResult]:
        """One lazily read :class:`FetchResult` per new file, oldest first."""
        for dropped in self.pending_files(since):
            path = self.directory / dropped.name
            yield FetchResult(self._read(path), dropped.cursor, str(path))

    def fetch_changes(self, since: str | None) -> FetchResult:
        """All rows of all new files; the cursor is the last file's (or ``since``)."""
        pending = self.pending_files(since)
        cursor = pending[-1].cursor if pending else since
        origin = str(self.directory / self.pattern)
        return FetchResult(self._rows_of(pending), cursor, origin)

    def _rows_of(self, pending: list[DroppedFile]) -> Iterator[FeedRow]:
        for dropped in pending:
            for row in self._read(self.directory / dropped.name):
                if row.error is not None:
                    row.error = f"{dropped.name}: {row.error}"
                yield row

    def _read(self, path: Path) -> Iterator[FeedRow]:
        try:
            fmt = self.format or detect_format(path)
        except ConnectorError as exc:
            yield FeedRow(0, None, "", str(exc))
            return
        yield from read_feed(path, fmt=fmt, encoding=self.encoding)

    def _list_files(self) -> Iterator[DroppedFile]:
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            raise ConnectorError(f"drop directory {self.directory} does not exist") from None
        except OSError as exc:
            raise ConnectorError(f"cannot list {self.directory}: {exc.strerror}") from exc
        for entry in entries:
            dropped = self._match(entry)
            if dropped is not None:
                yield dropped

    def _match(self, entry: os.DirEntry[str]) -> DroppedFile | None:
        if entry.name.startswith(".") or not fnmatch.fnmatch(entry.name, self.pattern):
            return None
        try:
            if not entry.is_file():
                return None
            return DroppedFile(entry.stat().st_mtime_ns, entry.name)
        except FileNotFoundError:  # removed while listing
            return None


def _parse_cursor(since: str | None) -> DroppedFile | None:
    if since is None:
        return None
    mtime, _, name = since.partition(":")
    try:
        return DroppedFile(int(mtime), name)
    except ValueError:
        raise ConnectorError(f"file_drop: invalid cursor {since!r}") from None


def _check_format(fmt: Any) -> str | None:
    if fmt is None or fmt in ("csv", "jsonl"):
        return fmt
    raise ConnectorError(f"file_drop: unknown format {fmt!r}; expected 'csv' or 'jsonl'")


def _check_encoding(encoding: Any) -> str | None:
    if encoding is None:
        return None
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise ConnectorError(f"file_drop: unknown encoding {encoding!r}") from None
    return encoding
