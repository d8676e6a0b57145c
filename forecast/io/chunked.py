"""Deterministic writers for tables produced chunk by chunk, and for small JSON documents.

The same tables written in the same chunks give byte-identical files: Parquet uses fixed zstd
compression and carries no timestamps; CSV has one header and pyarrow's fixed formatting.
Files are written under a temporary name and moved into place on a clean close, so a failed
run never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

TableFormat = Literal["parquet", "csv"]
PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 1


class ChunkedTableWriter:
    """Write a table to one Parquet or CSV file, one chunk at a time.

    String columns may come dictionary-encoded (``pa.DictionaryArray`` of strings): Parquet
    then stores the dictionary as it is, which is much faster than encoding plain strings, and
    readers still get plain strings back (the Arrow schema is not stored in the file, so every
    column reads back as the type of ``schema``). Parquet files carry no column statistics:
    chunked data seldom sorts so that row-group minima and maxima prune anything.

    Args:
        path: file to create; parent folders are made. Replaced on a clean close.
        schema: the columns and types of the file; chunks are selected and cast to it.
        format: "parquet" or "csv".
        dictionary: Parquet dictionary encoding: True for every column, or the columns to
            encode (leave out nearly unique ones such as ids and amounts: faster, same size).

    Example:
        >>> with ChunkedTableWriter(path, schema, "parquet") as writer:
        ...     for chunk in chunks:
        ...         writer.write(chunk)
    """

    def __init__(
        self,
        path: Path | str,
        schema: pa.Schema,
        format: TableFormat = "parquet",
        dictionary: bool | Sequence[str] = True,
    ):
        if format not in ("parquet", "csv"):
            raise ValueError(f"unknown table format {format!r}; expected 'parquet' or 'csv'")
        self.path = Path(path)
        self.schema = schema.remove_metadata()
        self.format = format
        self.dictionary = dictionary if isinstance(dictionary, bool) else list(dictionary)
        self.rows = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = self.path.with_name(self.path.name + ".partial")
        self._partial.unlink(missing_ok=True)
        self._writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
        self._file_schema = self.schema
        self._closed = False

    def _open(self, file_schema: pa.Schema) -> pq.ParquetWriter | pacsv.CSVWriter:
        self._file_schema = file_schema
        if self.format == "parquet":
            return pq.ParquetWriter(
                self._partial,
                file_schema,
                compression=PARQUET_COMPRESSION,
                compression_level=PARQUET_COMPRESSION_LEVEL,
                use_dictionary=self.dictionary,
                write_statistics=False,
                store_schema=False,
            )
        options = pacsv.WriteOptions(include_header=True)
        return pacsv.CSVWriter(self._partial, file_schema, write_options=options)

    def _schema_for(self, chunk: pa.Table) -> pa.Schema:
        """The file schema, keeping columns the first chunk has dictionary-encoded so."""
        if self.format != "parquet":
            return self.schema
        fields = []
        for field in self.schema:
            given = chunk.schema.field(field.name).type
            encoded = pa.types.is_dictionary(given) and given.value_type == field.type
            fields.append(field.with_type(given) if encoded else field)
        return pa.schema(fields)

    def write(self, table: pa.Table) -> None:
        """Append a chunk; its columns are selected and cast to the writer's schema."""
        if self._closed:
            raise ValueError(f"{self.path}: writer is closed")
        if table.num_rows == 0:
            return
        chunk = table.select(self.schema.names)
        if self._writer is None:
            self._writer = self._open(self._schema_for(chunk))
        chunk = chunk.cast(self._file_schema)
        self._writer.write_table(chunk)
        self.rows += chunk.num_rows

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._closed:
            return
        if self._writer is None:
            self._writer = self._open(self.schema)
        self._writer.close()
        self._closed = True
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        """Stop writing and remove the partial file."""
        if self._writer is not None and not self._closed:
            self._writer.close()
        self._closed = True
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> ChunkedTableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_table(path: Path | str, table: pa.Table, format: TableFormat = "parquet") -> int:
    """Write a whole table at once with the same settings as :class:`ChunkedTableWriter`.

    Returns:
        The number of rows written.
    """
    with ChunkedTableWriter(path, table.schema, format) as writer:
        writer.write(table)
    return writer.rows


def write_json(path: Path | str, document: Any) -> None:
    """Write a JSON document deterministically (sorted keys, two-space indent, final newline)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
