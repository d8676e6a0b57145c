"""Scoring of one chunk of customers, from Arrow in to Arrow out, without pandas.

:class:`ChunkScorer` holds what every chunk of a run shares (the compiled model, the usable
reason rules, the tier settings) and turns a chunk read from the warehouse into the rows of
``churn_scores``: ``churn_proba`` from the compiled model, the threshold tier, ``act``, up to
three reasons and ``revenue_at_risk``, and counts the rows per categorical feature whose value the
model never saw in training. It is safe to call from several threads at once.

:meth:`ChunkScorer.score_arrow` is the function an engine runs on each chunk (or any batch of
rows: every column is computed row by row), Arrow in and Arrow out: the scores and, per
categorical feature, a flag for each row whose value is unseen; :meth:`ChunkScorer.split` turns
the result back into a :class:`ScoredChunk` where the chunk is committed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from forecast.config import ChurnConfig
from forecast.engines.compiled import FeatureArrays, compile_churn_model
from forecast.io import scores
from forecast.io.warehouse import quote
from forecast.models.churn import ChurnModel
from forecast.models.reasons import (
    additive_contributions,
    choose_reasons,
    explain_churn,
    holds_matrix,
    reason_texts,
    usable_rules,
)
from forecast.schemas import CHURN_PROBA, CUSTOMER_ID, CUTOFF, TIER

TIER_NAMES = pa.array(["high", "medium", "low"], pa.string())
REVENUE = "_revenue"
UNSEEN = "_unseen_"
_ARROW_TYPES = {"VARCHAR": pa.string(), "DATE": pa.date32(), "DOUBLE": pa.float64(),
                "BOOLEAN": pa.bool_()}


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk's ``churn_scores`` rows and, per categorical feature, its rows whose value was
    not seen in training."""

    scores: pa.Table
    unseen: dict[str, int]


class ChunkScorer:
    """Scores chunks of one run.

    Args:
        model: the fitted churn model.
        config: tier thresholds (``capacity`` is applied later, over the whole run).
        reasons: ``all``, ``at_risk`` (``churn_proba >= tier_medium``) or ``none``.
        revenue_column: the trailing-12-month revenue column, or None.
    """

    def __init__(self, model: ChurnModel, config: ChurnConfig, reasons: str,
                 revenue_column: str | None):
        self.model = model
        self.config = config
        self.reasons = reasons
        self.revenue_column = revenue_column
        self.compiled = compile_churn_model(model)
        self.rules = usable_rules(model)
        self.additive = getattr(model, "attribution_", None) is not None
        # A model fitted before categories_seen_ existed: the categories its encoders know.
        seen = getattr(model, "categories_seen_", None) or dict(
            zip(self.compiled.categorical, self.compiled.vocabularies, strict=True))
        self.seen = {name: pa.array(seen[name], pa.string()) for name in self.compiled.categorical}

    def select_sql(self, source_columns: tuple[str, ...]) -> str:
        """The SELECT list a chunk is read with: keys, features typed as the model reads them,
        and the revenue column."""
        parts = [f"CAST({quote(CUSTOMER_ID)} AS VARCHAR) AS {quote(CUSTOMER_ID)}",
                 f"CAST({quote(CUTOFF)} AS DATE) AS {quote(CUTOFF)}" if CUTOFF in source_columns
                 else f"CAST(NULL AS DATE) AS {quote(CUTOFF)}"]
        # NaN for missing numbers here, in parallel, so the Arrow columns convert without a copy.
        parts += [f"coalesce(CAST({quote(c)} AS DOUBLE), 'NaN'::DOUBLE) AS {quote(c)}"
                  for c in self.compiled.numeric]
        parts += [f"CAST({quote(c)} AS VARCHAR) AS {quote(c)}"
                  for c in self.compiled.categorical]
        revenue = ("NULL" if self.revenue_column is None
                   else f"CAST({quote(self.revenue_column)} AS DOUBLE)")
        return ", ".join(parts + [f"{revenue} AS {REVENUE}"])

    def score_chunk(self, table: pa.Table) -> ScoredChunk:
        """:meth:`score` and :meth:`unseen_categories` of a chunk read with :meth:`select_sql`."""
        return ScoredChunk(self.score(table), self.unseen_categories(table))

    @property
    def schema(self) -> pa.Schema:
        """The columns of :meth:`score_arrow`: the scores (the tier as text), then one
        ``_unseen_<k>`` flag per categorical feature."""
        fields = [pa.field(c, _ARROW_TYPES[t]) for c, t in scores.SCORE_COLUMNS.items()]
        fields += [pa.field(f"{UNSEEN}{k}", pa.bool_()) for k in range(len(self.seen))]
        return pa.schema(fields)

    def score_arrow(self, table: pa.Table) -> pa.Table:
        """:meth:`score` of rows read with :meth:`select_sql`, with a flag per categorical
        feature for the rows whose value was not seen in training (see :attr:`schema`)."""
        out = self.score(table)
        for k, flags in enumerate(self.unseen_flags(table).values()):
            out = out.append_column(f"{UNSEEN}{k}", flags)
        return out

    def split(self, table: pa.Table) -> ScoredChunk:
        """A chunk's :meth:`score_arrow` rows as its scores and its unseen-category counts."""
        names = list(self.seen)
        counts = {name: pc.sum(table.column(f"{UNSEEN}{k}")).as_py() or 0
                  for k, name in enumerate(names)}
        return ScoredChunk(table.select(list(scores.SCORE_COLUMNS)), counts)

    def unseen_flags(self, table: pa.Table) -> dict[str, pa.Array]:
        """Per categorical feature, True on the rows holding a value not seen in training
        (missing values are not)."""
        flags = {}
        for name, seen in self.seen.items():
            column = pc.cast(table.column(name), pa.string())
            unknown = pc.invert(pc.is_in(column, value_set=seen))
            flags[name] = pc.and_(pc.is_valid(column), unknown)
        return flags

    def unseen_categories(self, table: pa.Table) -> dict[str, int]:
        """Rows per categorical feature holding a value not seen in training (missing values
        are not counted), every categorical feature listed."""
        counts = {}
        for name, seen in self.seen.items():
            column = table.column(name)
            known = pc.sum(pc.is_in(column, value_set=seen)).as_py() or 0
            counts[name] = table.num_rows - column.null_count - known
        return counts

    def score(self, table: pa.Table) -> pa.Table:
        """The ``churn_scores`` columns (:data:`forecast.io.scores.SCORE_COLUMNS`) of a chunk
        read with :meth:`select_sql`."""
        features = self.compiled.arrays_from_arrow(table)
        proba = self.compiled.predict(features) if table.num_rows else np.empty(0)
        tier = np.where(proba >= self.config.tier_high, 0,
                        np.where(proba >= self.config.tier_medium, 1, 2)).astype(np.int8)
        revenue = table.column(REVENUE).to_numpy(zero_copy_only=False).astype(float)
        at_risk = proba * np.clip(revenue, 0, None)
        columns = {
            CUSTOMER_ID: table.column(CUSTOMER_ID), CUTOFF: table.column(CUTOFF),
            CHURN_PROBA: pa.array(proba, pa.float64()),
            TIER: pa.DictionaryArray.from_arrays(pa.array(tier), TIER_NAMES),
            "act": pa.array(proba >= self.model.threshold_, pa.bool_()),
        }
        for name, texts in zip(scores.REASON_COLUMNS,
                               self.explain(table, features, self._reason_rows(proba)),
                               strict=True):
            columns[name] = pa.array(texts, pa.string())
        columns[scores.REVENUE_AT_RISK] = pa.array(at_risk, pa.float64())
        return pa.table(columns)

    def _reason_rows(self, proba: np.ndarray) -> np.ndarray:
        if self.reasons == "all":
            return np.arange(len(proba))
        if self.reasons == "at_risk":
            return np.flatnonzero(proba >= self.config.tier_medium)
        return np.array([], dtype=int)

    def explain(self, table: pa.Table, features: FeatureArrays, rows: np.ndarray
                ) -> list[np.ndarray]:
        """``reason_1..3`` for every row of the chunk: reasons for ``rows``, None elsewhere."""
        out = [np.full(table.num_rows, None, dtype=object) for _ in scores.REASON_COLUMNS]
        if not len(rows):
            return out
        columns = self._columns(table, features, rows)
        if self.additive:
            contribution = additive_contributions(self.model.attribution_, columns, self.rules)
            reference = self.model.reference_values_
            holds = holds_matrix(self.rules, columns, reference)
            chosen = choose_reasons(contribution, holds, self.rules, scores.N_REASONS)
            texts = reason_texts(self.rules, columns, reference, chosen)
        else:  # a model fitted before attributions existed: re-predict per rule
            frame = pd.DataFrame(columns)
            explained = explain_churn(self.model, frame, n_reasons=scores.N_REASONS)
            texts = [explained[c].to_numpy(dtype=object) for c in scores.REASON_COLUMNS]
        for column, values in zip(out, texts, strict=True):
            column[rows] = values
        return out

    def _columns(self, table: pa.Table, features: FeatureArrays, rows: np.ndarray) -> dict:
        """The model's features of ``rows`` as arrays (numbers as floats, categories as
        objects with None for missing)."""
        columns = {name: features.numeric[i, rows]
                   for i, name in enumerate(self.compiled.numeric)}
        taken = pa.array(rows, pa.int64())
        for name in self.compiled.categorical:
            columns[name] = table.column(name).take(taken).to_numpy(zero_copy_only=False)
        return columns
