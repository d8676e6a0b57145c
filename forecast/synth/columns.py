"""Arrow schemas of the generated tables and vectorised builders of their columns."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forecast.schemas import CUSTOMERS, OPPORTUNITIES, ORDERS, SURVEYS, TARGETS, Table

ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "DOUBLE": pa.float64(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
}


def canonical_schema(table: Table, without: Sequence[str] = ()) -> pa.Schema:
    """Arrow schema of a canonical table, in canonical column order.

    Generated tables may hold string columns dictionary-encoded; the files have this schema.
    """
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.dtype]) for c in table.columns if c.name not in without]
    )


ORDERS_SCHEMA = canonical_schema(ORDERS, without=("store",))
CUSTOMERS_SCHEMA = canonical_schema(CUSTOMERS)
SURVEYS_SCHEMA = canonical_schema(SURVEYS)
OPPORTUNITIES_SCHEMA = canonical_schema(OPPORTUNITIES)
TARGETS_SCHEMA = canonical_schema(TARGETS)
TRUTH_SCHEMA = pa.schema([
    pa.field("customer_id", pa.string()),
    pa.field("signup_date", pa.date32()),
    pa.field("churned", pa.bool_()),
    pa.field("churn_date", pa.date32()),
    pa.field("decline_start", pa.date32()),
    pa.field("drivers", pa.string()),
    pa.field("base_rate", pa.float64()),
])


@lru_cache(maxsize=64)
def vocabulary(values: tuple[str, ...]) -> pa.Array:
    return pa.array(values, pa.string())


def take_strings(values: tuple[str, ...], index: np.ndarray) -> pa.Array:
    """``values[index]`` as an Arrow string array."""
    return vocabulary(values).take(pa.array(index, pa.int64()))


def labels(values: tuple[str, ...], index: np.ndarray) -> pa.DictionaryArray:
    """``values[index]`` dictionary-encoded: far cheaper to build and to write than plain
    strings, and the writer stores it so that it reads back as plain strings."""
    indices = pa.array(np.asarray(index, dtype=np.int32), pa.int32())
    return pa.DictionaryArray.from_arrays(indices, vocabulary(values))


def dates(start_epoch: int, day_index: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Date32 array of day indices counted from the day ``start_epoch``; ``missing`` -> null."""
    epoch_days = (start_epoch + np.asarray(day_index, dtype=np.int64)).astype(np.int32)
    return pa.array(epoch_days, pa.int32(), mask=missing).cast(pa.date32())


def numbered(prefix: str, numbers: np.ndarray, width: int = 0) -> pa.Array:
    """Strings ``prefix`` + number, the number zero-padded to ``width`` digits."""
    digits = pc.cast(pa.array(numbers, pa.int64()), pa.string())
    if width:
        digits = pc.utf8_lpad(digits, width=width, padding="0")
    return pc.binary_replace_slice(digits, 0, 0, prefix)


def customer_ids(first: int, count: int, width: int) -> pa.Array:
    """Ids "C0000001"... of ``count`` customers starting at zero-based index ``first``."""
    return numbered("C", np.arange(first + 1, first + count + 1), width)


def choose(probabilities: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw: index of the first column whose cumulative share exceeds u.

    Args:
        probabilities: (rows, categories) non-negative weights; rows need not sum to one.
        uniform: (rows,) uniform draws on [0, 1).
    """
    cumulative = np.cumsum(probabilities, axis=1)
    threshold = uniform * cumulative[:, -1]
    picked = (cumulative <= threshold[:, None]).sum(axis=1)
    return np.minimum(picked, probabilities.shape[1] - 1)
