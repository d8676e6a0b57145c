"""Text encodings of CSV files: which one a file is in, and where it stops being that.

Files are UTF-8 (with or without BOM) or, from Chinese Excel exports, GBK / GB18030 (GB18030 is a
superset of GBK and GB2312). Detection reads the start of the file:

- it decodes as UTF-8: UTF-8;
- it holds UTF-8 characters before the first byte UTF-8 rejects: a UTF-8 file with a bad byte;
- it decodes as GB18030 up to where UTF-8 fails and beyond, and its characters are pairs of high
  bytes (as Chinese text in GBK is; a stray Latin-1 byte before a letter also forms a valid GBK
  pair, but a lone one): GB18030;
- otherwise: not UTF-8, and the message names the first bad byte.

A bad byte is always reported as ``not valid <encoding> at byte N (line L)``: N counts from 0,
L is the file line the byte is on.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from forecast.errors import SourceError

SNIFF_BYTES = 4 << 20
_BLOCK = 1 << 20
_SAMPLE_CHARS = 20_000
HINT = "set `encoding:` in the source config to the file's real encoding (utf-8, gbk or gb18030)"


def _valid_prefix(data: bytes, encoding: str) -> tuple[str, int | None]:
    """The text ``data`` decodes to up to the first invalid byte, and that byte's offset (None
    when every byte decodes; an incomplete character at the end is not an error)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        return decoder.decode(data, final=False), None
    except UnicodeDecodeError as exc:
        return data[: exc.start].decode(encoding, errors="replace"), exc.start


def _looks_gbk(text: str) -> bool:
    """Chinese text in GBK is pairs of high bytes; a Latin-1 byte before a letter is not."""
    high = low = 0
    for char in (c for c in text[: _SAMPLE_CHARS * 4] if ord(c) > 127):
        encoded = char.encode("gb18030")
        if len(encoded) == 4 or encoded[-1] >= 0x80:
            high += 1
        else:
            low += 1
        if high + low >= _SAMPLE_CHARS:
            break
    return high > 0 and high >= low


def line_at(path: Path, offset: int) -> int:
    """The file line (from 1) byte ``offset`` is on."""
    newlines, read = 0, 0
    with open(path, "rb") as fh:
        while read < offset and (block := fh.read(min(_BLOCK, offset - read))):
            newlines += block.count(b"\n")
            read += len(block)
    return newlines + 1


def first_bad_byte(path: Path, encoding: str) -> int | None:
    """Offset of the first byte of a file that does not decode in ``encoding``; None if none."""
    decoder = codecs.getincrementaldecoder(encoding)()
    base = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            pending = len(decoder.getstate()[0])  # bytes of a character the last block cut
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return base - pending + exc.start
            if not block:
                return None
            base += len(block)


def not_valid(path: Path, encoding: str, offset: int, detected: bool = False) -> SourceError:
    """The error for a byte that does not decode."""
    name = "UTF-8" if encoding.startswith("utf-8") else encoding
    how = " (the encoding was detected from the start of the file)" if detected else ""
    return SourceError(
        f"{path}: not valid {name} at byte {offset} (line {line_at(path, offset)}){how}; {HINT}"
    )


def detect_encoding(path: Path) -> str:
    """The encoding of a CSV file, judged from its start (see the module docstring).

    Raises:
        SourceError: the start is neither UTF-8 nor GBK / GB18030, naming the first bad byte.
    """
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    text, bad = _valid_prefix(head, "utf-8")
    if bad is None:
        return "utf-8"
    utf8_chars = sum(1 for c in text if ord(c) > 127)
    gbk_text, gbk_bad = _valid_prefix(head, "gb18030")
    if utf8_chars < 2 and (gbk_bad is None or gbk_bad > bad) and _looks_gbk(gbk_text):
        return "gb18030"
    raise not_valid(path, "utf-8", bad)
