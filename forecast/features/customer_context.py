"""SQL of what a customer snapshot adds to its order-line statistics at one cutoff: the label
window's buyers, product-line presence (and breadth past 64 lines), surveys, opportunities and
customer attributes.

Each piece is a subquery joined on ``customer_id`` to the rows of one cutoff, so both plans of
:mod:`forecast.features.customers` use it as is: the one-cutoff plan once, the many-cutoff plan
(:mod:`forecast.features.customer_slices`) once per cutoff. These tables are small beside the
order lines, or read only the lines of a short date range (the label window; a row group
dated elsewhere is skipped), so one GROUP BY per cutoff costs less than composing pieces of
time as the order-line statistics do. Their columns join the statistics under the names
:func:`forecast.features.customers.feature_expressions` reads:

- ``future_buyer``: a purchase in ``[cutoff, cutoff + horizon)``;
- ``lines_known``: some order line before the cutoff names a product line (product-line
  features are counts where it does, NULL where it does not, decided on the past alone);
- ``lines_total``, ``lines_recent``, ``lines_previous``: product-line breadth, here only for
  data sets with more product lines than a bitmask holds (else the line statistics carry it);
- ``last_survey``, ``latest_score``, ``previous_score``: the latest survey day and the two latest
  scores before the cutoff (surveys of one day in source order);
- ``open_count``, ``open_amount``: opportunities whose latest stage before the cutoff is
  neither won nor lost, and their latest amounts;
- ``customer_segment``, ``customer_region``, ``customer_industry``: the ``customers`` table's
  attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from forecast.config import CustomerFeaturesConfig
from forecast.features import customer_sql as q
from forecast.io.sql import Params
from forecast.schemas import FUNNEL_STAGES


def future_buyers(horizon_days: int, day: date, p: Params) -> str:
    """Customers with a purchase in the label window ``[day, day + horizon_days)``."""
    cutoff = p(day)
    return f"""SELECT DISTINCT customer_id
    FROM orders
    WHERE customer_id IS NOT NULL AND amount > 0
        AND order_date >= {cutoff} AND order_date < {cutoff} + {horizon_days}"""


def product_line_presence(day: date, p: Params) -> str:
    """One row: whether any customer's order line before ``day`` names a product line (EXISTS
    stops at the first one)."""
    return (f"SELECT EXISTS (SELECT 1 FROM orders WHERE customer_id IS NOT NULL "
            f"AND product_line IS NOT NULL AND order_date < {p(day)}) AS known")


def breadth(config: CustomerFeaturesConfig, day: date, p: Params) -> str:
    """Product-line breadth per customer before ``day`` by a (customer, product line) GROUP BY,
    for data sets with more product lines than a bitmask holds."""
    w, cutoff = config.product_window_days, p(day)
    return f"""SELECT customer_id, count(*) AS lines_total,
        count(*) FILTER (WHERE last_day >= {cutoff} - {w}) AS lines_recent,
        count(*) FILTER (WHERE in_previous) AS lines_previous
    FROM (
        SELECT customer_id, product_line, max(order_date) AS last_day,
            bool_or(order_date >= {cutoff} - {2 * w} AND order_date < {cutoff} - {w})
                AS in_previous
        FROM orders
        WHERE customer_id IS NOT NULL AND order_date < {cutoff} AND amount > 0
            AND product_line IS NOT NULL
        GROUP BY customer_id, product_line) AS line_recency
    GROUP BY customer_id"""


def survey_scores(day: date, lineage: bool, p: Params) -> str:
    """The latest survey day and the two latest scores before ``day`` per customer."""
    key = q.latest_key("survey_date", lineage)
    return f"""SELECT customer_id, last_survey,
        last_scores[1] AS latest_score, last_scores[2] AS previous_score
    FROM (
        SELECT customer_id, max(survey_date) AS last_survey,
            arg_max(score, {key}, 2) AS last_scores
        FROM surveys
        WHERE customer_id IS NOT NULL AND score IS NOT NULL AND survey_date < {p(day)}
        GROUP BY customer_id)"""


def open_opportunities(day: date, p: Params) -> str:
    """Per customer, the count and latest amounts of the opportunities open at ``day``."""
    ranks = " ".join(f"WHEN {p(s)} THEN {i + 1}" for i, s in enumerate(FUNNEL_STAGES))
    # Stages entered the same day are ordered by funnel position, so "won" beats "proposal".
    key = f"((stage_date - {q.EPOCH_SQL}) * 8 + CASE lower(trim(stage)) {ranks} ELSE 0 END)"
    closed = ", ".join(p(stage) for stage in ("won", "lost"))
    return f"""SELECT customer_id, count(*) AS open_count, coalesce(sum(amount), 0) AS open_amount
    FROM (
        SELECT customer_id, opportunity_id,
            arg_max(lower(trim(stage)), {key}) AS stage, arg_max(amount, {key}) AS amount
        FROM opportunities
        WHERE customer_id IS NOT NULL AND stage IS NOT NULL AND stage_date < {p(day)}
        GROUP BY customer_id, opportunity_id)
    WHERE stage NOT IN ({closed})
    GROUP BY customer_id"""


def customer_attributes_cte(sources: q.SnapshotSources) -> str:
    """``customer_attributes``: one row per customer of the ``customers`` table, its attributes
    prefixed ``customer_``."""
    columns = ", ".join(f"max({c}) AS customer_{c}" for c in sorted(sources.customer_columns))
    return f"""customer_attributes AS (
    SELECT customer_id, {columns}
    FROM customers WHERE customer_id IS NOT NULL
    GROUP BY customer_id)"""


def context_parts(config: CustomerFeaturesConfig, sources: q.SnapshotSources,
                  days: list[date], p: Params,
                  line_breadth: Callable[[date], str] | None = None) -> tuple[list[str], list[str]]:
    """The columns and joins that add the context of the cutoffs ``days`` to rows aliased ``a``
    (see the module docstring): for one cutoff, each piece joined on the customer; for
    several, each piece's subqueries stacked with their cutoff and joined on (customer,
    cutoff). ``line_breadth``: the subquery of breadth past 64 product lines at a cutoff
    (default :func:`breadth`). The ``customer_attributes`` CTE must be in the statement when
    the ``customers`` table has attributes."""
    many = len(days) > 1
    using = "USING (customer_id, cutoff)" if many else "USING (customer_id)"

    def stacked(piece: Callable[[date], str]) -> str:
        if not many:
            return piece(days[0])
        return "\n    UNION ALL ".join(f"SELECT {p(d)} AS cutoff, * FROM ({piece(d)})" for d in days)

    columns = ["f.customer_id IS NOT NULL AS future_buyer"]
    buyers = stacked(lambda d: future_buyers(config.horizon_days, d, p))
    joins = [f"LEFT JOIN ({buyers}) AS f {using}"]
    if sources.has("product_line"):
        columns.append("pl.known AS lines_known")
        presence = stacked(lambda d: product_line_presence(d, p))
        joins.append(f"JOIN ({presence}) AS pl USING (cutoff)" if many
                     else f"CROSS JOIN ({presence}) AS pl")
        if not sources.product_lines:
            columns += [f"b.{c}" for c in ("lines_total", "lines_recent", "lines_previous")]
            lines = stacked(line_breadth or (lambda d: breadth(config, d, p)))
            joins.append(f"LEFT JOIN ({lines}) AS b {using}")
    if sources.surveys:
        columns += ["s.last_survey", "s.latest_score", "s.previous_score"]
        lineage = "surveys" in sources.lineage
        joins.append(f"LEFT JOIN ({stacked(lambda d: survey_scores(d, lineage, p))}) AS s "
                     f"{using}")
    if sources.opportunities:
        columns += ["o.open_count", "o.open_amount"]
        joins.append(f"LEFT JOIN ({stacked(lambda d: open_opportunities(d, p))}) AS o {using}")
    if sources.customer_columns:
        columns += [f"ca.customer_{c}" for c in sorted(sources.customer_columns)]
        joins.append("LEFT JOIN customer_attributes AS ca USING (customer_id)")
    return columns, joins
