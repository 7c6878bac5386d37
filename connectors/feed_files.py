"""Reading CSV and JSON Lines feed files, shared by the CLI import and the file-drop connector.

Design notes a caller must know:

* :func:`read_feed` streams: memory stays flat however large the file is.
* Encoding detection (unless ``encoding`` is given): a UTF-8 BOM means ``utf-8-sig``, a
  UTF-16 BOM ``utf-16``; otherwise the bytes are checked for strict UTF-8 in a streaming
  pass over the *whole* file (constant memory, stops at the first invalid byte) and the
  file is read as GB18030 if that check fails. Checking the whole file rather than a
  prefix means a GB18030 file whose first Chinese text appears late is still detected;
  the price is reading a valid UTF-8 file twice.
* Bytes that are invalid in the chosen encoding never abort the read: the affected line
  becomes an error row.
* Bad lines never stop the read: they come back as :class:`FeedRow` with ``data=None``
  and an ``error`` starting ``"line N: "``. A bad CSV header is the exception: it is
  reported as a single error row and nothing else is read, since no row can be mapped.
* Blank lines are skipped. CSV values are returned as read (strings, ``""`` kept).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from connectors.base import ConnectorError, FeedRow

__all__ = [
    "DELIMITERS",
    "FeedSource",
    "detect_encoding",
    "detect_format",
    "json_type_name",
    "read_feed",
]

FeedSource = str | os.PathLike[str] | bytes | IO[bytes]
Format = Literal["csv", "jsonl"]

DELIMITERS = (",", ";", "\t", "|")
_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_SCAN_CHUNK = 1 << 20
_ESCAPE = "mdm-feed-escape"
_ESCAPED = re.compile("[\udc00-\udcff]")


def _escape_undecodable(err: UnicodeError) -> tuple[str, int]:
    """Map undecodable bytes to lone surrogates, flagged later as an error row."""
    if not isinstance(err, UnicodeDecodeError):
        raise err
    bad = err.object[err.start : err.end]
    return "".join(chr(0xDC00 + b) for b in bad), err.end


codecs.register_error(_ESCAPE, _escape_undecodable)


def detect_format(filename: str | os.PathLike[str]) -> Format:
    """``"csv"`` or ``"jsonl"`` from the file extension; ConnectorError when unknown."""
    suffix = Path(filename).suffix.lower()
    try:
        return _EXTENSIONS[suffix]
    except KeyError:
        known = ", ".join(_EXTENSIONS)
        raise ConnectorError(
            f"cannot tell the format of {Path(filename).name!r} from its extension "
            f"(known: {known}); pass the format explicitly"
        ) from None


def detect_encoding(source: FeedSource) -> str:
    """The codec :func:`read_feed` would use for ``source`` (see the module notes)."""
    with _open_binary(source) as stream:
        return _sniff_encoding(stream)


def read_feed(
    source: FeedSource, *, fmt: str | None = None, encoding: str | None = None
) -> Iterator[FeedRow]:
    """Stream the records of a CSV or JSON Lines feed, one :class:`FeedRow` per record.

    ``source`` is a path, the file's bytes, or a binary file object (not closed here;
    a non-seekable stream is first copied to a temporary file). ``fmt`` defaults to
    :func:`detect_format` on the path or the file object's ``name``; it is required for
    bytes. An explicit ``encoding`` overrides detection. Format and encoding are checked
    at once; a file that cannot be opened raises ConnectorError on first iteration.
    """
    resolved = _resolve_format(source, fmt)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConnectorError(f"unknown encoding {encoding!r}") from None
    return _iter_feed(source, resolved, encoding)


def _resolve_format(source: FeedSource, fmt: str | None) -> Format:
    if fmt is not None:
        name = fmt.lower()
        if name not in ("csv", "jsonl"):
            raise ConnectorError(f"unknown feed format {fmt!r}; expected 'csv' or 'jsonl'")
        return "csv" if name == "csv" else "jsonl"
    if isinstance(source, (str, os.PathLike)):
        return detect_format(source)
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return detect_format(name)
    raise ConnectorError("the feed format is required when reading bytes or a nameless stream")


def _iter_feed(source: FeedSource, fmt: Format, encoding: str | None) -> Iterator[FeedRow]:
    with _open_binary(source) as stream:
        codec = encoding or _sniff_encoding(stream)
        text = io.TextIOWrapper(stream, encoding=codec, errors=_ESCAPE, newline="")
        try:
            parse = _csv_rows if fmt == "csv" else _jsonl_rows
            yield from parse(text, codec)
        finally:
            text.detach()  # leave closing the binary stream to _open_binary


@contextlib.contextmanager
def _open_binary(source: FeedSource) -> Iterator[IO[bytes]]:
    """A seekable binary stream positioned at the data; closed afterwards only if ours."""
    if isinstance(source, (bytes, bytearray)):
        yield io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as handle:
                yield handle
        except OSError as exc:  # opening, or an I/O error while reading
            reason = exc.strerror or str(exc)
            raise ConnectorError(f"cannot read {os.fspath(source)}: {reason}") from exc
    elif isinstance(source, io.BufferedIOBase) and source.seekable():
        yield source
    else:
        with tempfile.TemporaryFile() as spool:
            shutil.copyfileobj(source, spool)
            spool.seek(0)
            yield spool


def _sniff_encoding(stream: IO[bytes]) -> str:
    """BOM, else strict UTF-8 over the whole stream, else GB18030; restores the position."""
    start = stream.tell()
    try:
        head = stream.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"
        stream.seek(start)
        return "utf-8" if _is_utf8(stream) else "gb18030"
    finally:
        stream.seek(start)


def _is_utf8(stream: IO[bytes]) -> bool:
    # The incremental decoder carries a multibyte character cut at a chunk boundary over
    # to the next chunk instead of calling it invalid.
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        while chunk := stream.read(_SCAN_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _bad_bytes_row(line: int, raw: str, codec: str) -> FeedRow:
    """An error row; the undecodable bytes appear as ``\\xNN`` so ``raw`` stays valid text."""
    shown = _ESCAPED.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", raw)
    error = f"line {line}: contains bytes that are not valid {codec} (wrong encoding?)"
    return FeedRow(line, None, shown, error)


# --- CSV -------------------------------------------------------------------------------


class _LineTracker:
    """Feeds lines to ``csv.reader`` and remembers which physical lines each row used."""

    def __init__(self, lines: Iterator[str], consumed: int) -> None:
        self._lines = lines
        self._consumed = consumed
        self._buffer: list[str] = []

    def __iter__(self) -> _LineTracker:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._buffer.append(line)
        return line

    def take(self) -> tuple[int, str]:
        """(first physical line, raw text) of the row just parsed."""
        start = self._consumed + 1
        self._consumed += len(self._buffer)
        raw = "".join(self._buffer).rstrip("\r\n")
        self._buffer.clear()
        return start, raw


def _csv_rows(text: IO[str], codec: str) -> Iterator[FeedRow]:
    first, skipped = _first_content_line(text)
    if first is None:
        return
    tracker = _LineTracker(itertools.chain([first], text), skipped)
    records = _csv_records(tracker, _sniff_delimiter(first))
    header = next(records, None)
    if header is None:
        return
    names, error = _header_names(header, codec)
    if error is not None:
        yield error
        return
    for line, raw, fields in records:
        yield _csv_row(line, raw, fields, names, codec)


def _first_content_line(text: IO[str]) -> tuple[str | None, int]:
    """The first non-blank line and the number of blank lines before it."""
    skipped = 0
    for line in text:
        if line.strip():
            return line, skipped
        skipped += 1
    return None, skipped


def _sniff_delimiter(header_line: str) -> str:
    """The most frequent of :data:`DELIMITERS` outside quotes in the header (``,`` if none)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    best = max(DELIMITERS, key=unquoted.count)  # ties: the earlier delimiter wins
    return best if unquoted.count(best) else ","


def _csv_records(
    tracker: _LineTracker, delimiter: str
) -> Iterator[tuple[int, str, list[str] | str]]:
    """(start line, raw, fields) per non-blank record; fields is an error text on failure."""
    reader = csv.reader(tracker, delimiter=delimiter, quotechar='"', strict=False)
    while True:
        try:
            fields: list[str] | str = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader resynchronises on the next line
            fields = str(exc)
        line, raw = tracker.take()
        if raw.strip():
            yield line, raw, fields


def _header_names(
    header: tuple[int, str, list[str] | str], codec: str
) -> tuple[list[str], FeedRow | None]:
    line, raw, fields = header
    if isinstance(fields, str):
        return [], FeedRow(line, None, raw, f"line {line}: bad header: {fields}")
    if _ESCAPED.search(raw):
        return [], _bad_bytes_row(line, raw, codec)
    names = [name.strip().lstrip("\ufeff").strip() for name in fields]
    problem = _header_problem(names)
    if problem:
        return [], FeedRow(line, None, raw, f"line {line}: bad header: {problem}")
    return names, None


def _header_problem(names: list[str]) -> str | None:
    for position, name in enumerate(names, start=1):
        if not name:
            return f"column {position} has no name"
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return f"column name {name!r} appears more than once"
        seen.add(name)
    return None


def _csv_row(line: int, raw: str, fields: list[str] | str, names: list[str], codec: str) -> FeedRow:
    if isinstance(fields, str):
        return FeedRow(line, None, raw, f"line {line}: {fields}")
    if _ESCAPED.search(raw):
        return _bad_bytes_row(line, raw, codec)
    if len(fields) != len(names):
        error = f"line {line}: {len(fields)} fields, header has {len(names)}"
        return FeedRow(line, None, raw, error)
    return FeedRow(line, dict(zip(names, fields, strict=True)), raw)


# --- JSON Lines ------------------------------------------------------------------------

_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def json_type_name(value: Any) -> str:
    """The JSON name of a parsed value's type (``object``, ``array``, ``null`` ...)."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    return _JSON_KINDS.get(type(value), type(value).__name__)


def _jsonl_rows(text: IO[str], codec: str) -> Iterator[FeedRow]:
    for line, physical in enumerate(text, start=1):
        raw = physical.rstrip("\r\n")
        if line == 1:
            raw = raw.lstrip("\ufeff")
        if raw.strip():
            yield _jsonl_row(line, raw, codec)


def _jsonl_row(line: int, raw: str, codec: str) -> FeedRow:
    if _ESCAPED.search(raw):
        return _bad_bytes_row(line, raw, codec)
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        error = f"line {line}: invalid JSON: {exc.msg} (column {exc.colno})"
        return FeedRow(line, None, raw, error)
    except (ValueError, RecursionError) as exc:
        return FeedRow(line, None, raw, f"line {line}: invalid JSON: {exc}")
    if not isinstance(value, dict):
        kind = json_type_name(value)
        return FeedRow(line, None, raw, f"line {line}: expected a JSON object, got {kind}")
    return FeedRow(line, value, raw)
