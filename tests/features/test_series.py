"""Series frames: hand-computed values on tiny warehouses, and every shipped real-data config."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from forecast.config import ExogenousTable, SeriesConfig, load_config
from forecast.errors import ConfigError
from forecast.features.series import build_future_exogenous_sql, build_series_sql
from forecast.io.sql import Query
from forecast.io.warehouse import ensure_canonical_table, ensure_columns
from forecast.schemas import ORDERS

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
MON = date(2024, 1, 1)  # a Monday


def make_orders(rows: list[dict], extra: dict[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse whose canonical ``orders`` holds ``rows`` (dicts by column)."""
    con = duckdb.connect()
    ensure_canonical_table(con, ORDERS)
    if extra:
        ensure_columns(con, "orders", extra)
    for i, row in enumerate(rows):
        row = {"source": "test", "source_row": i, **row}
        cols = ", ".join(row)
        con.execute(f"INSERT INTO orders ({cols}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()))
    return con


def frame(con: duckdb.DuckDBPyConnection, query: Query) -> list[dict]:
    cursor = con.execute(*query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def build(con, country=None, **config) -> list[dict]:
    return frame(con, build_series_sql(con, SeriesConfig(**config), country))


def by_series(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["unique_id"], []).append(row)
    return out


def line(day: date, amount: float, **kw) -> dict:
    return {"order_date": day, "amount": amount, **kw}


def test_weekly_totals_measures_and_monday_weeks():
    con = make_orders([
        line(MON + timedelta(days=2), 10.0, order_id="A", quantity=2.0, unit_cost=3.0),
        line(MON + timedelta(days=2), 5.0, order_id="A", quantity=1.0, unit_cost=1.0),
        line(MON + timedelta(days=6), 7.0, order_id="B", quantity=1.0, unit_cost=2.0),
        line(MON + timedelta(days=13), 4.0, order_id="C", quantity=4.0, unit_cost=0.5),
    ])
    rows = build(con, freq="W")
    assert [(r["ds"], r["y"], r["revenue"], r["quantity"], r["orders"], r["margin"])
            for r in rows] == [
        (MON, 22.0, 22.0, 4.0, 2, (10 - 6) + (5 - 1) + (7 - 2)),
        (MON + timedelta(days=7), 4.0, 4.0, 4.0, 1, 4 - 2.0),
    ]
    assert {r["unique_id"] for r in rows} == {"total"}
    assert {r["grain"] for r in rows} == {"total"}
    assert all(r["days_in_period"] == 7 for r in rows)
    assert [r["week_of_year"] for r in rows] == [1, 2]


def test_zero_fill_starts_at_first_activity_and_runs_to_the_end():
    con = make_orders([
        line(MON, 1.0, region="A"),
        line(MON + timedelta(days=14), 3.0, region="A"),
        line(MON + timedelta(days=7), 2.0, region="B"),
        line(MON + timedelta(days=21), 4.0, region="B"),
    ])
    series = by_series(build(con, grains=[["region"]], freq="W"))
    assert [(r["ds"], r["y"]) for r in series["A"]] == [
        (MON, 1.0), (MON + timedelta(days=7), 0.0), (MON + timedelta(days=14), 3.0),
        (MON + timedelta(days=21), 0.0)]
    # B starts in its first active week, not at the start of the data.
    assert [(r["ds"], r["y"]) for r in series["B"]] == [
        (MON + timedelta(days=7), 2.0), (MON + timedelta(days=14), 0.0),
        (MON + timedelta(days=21), 4.0)]
    assert series["A"][1]["orders"] == 0 and series["A"][1]["quantity"] is None


def test_stopped_flags_series_without_orders_in_the_last_periods():
    con = make_orders([
        line(MON, 1.0, store="gone"),
        line(MON + timedelta(days=14), 1.0, store="quiet"),
        line(MON + timedelta(days=35), 1.0, store="live"),
    ])
    rows = build(con, grains=[["store"]], freq="W", stopped_after=3)
    stopped = {r["unique_id"]: r["stopped"] for r in rows}
    # Weeks 0..5: gone last active in week 0, quiet in week 2 (weeks 3, 4, 5 empty), live in 5.
    assert stopped == {"gone": True, "quiet": True, "live": False}
    rows = build(con, grains=[["store"]], freq="W", stopped_after=4)
    assert {r["unique_id"]: r["stopped"] for r in rows}["quiet"] is False
    assert {len(v) for k, v in by_series(rows).items() if k == "gone"} == {6}


def test_weekly_data_keep_their_friday_anchor():
    fridays = [date(2010, 2, 5) + timedelta(days=7 * k) for k in range(3)]
    con = make_orders([line(d, 100.0 + k, store="1") for k, d in enumerate(fridays)])
    rows = build(con, freq="W")
    assert [r["ds"] for r in rows] == fridays
    assert [r["y"] for r in rows] == [100.0, 101.0, 102.0]
    monday = build(con, freq="W", week_start="MON")
    assert [r["ds"] for r in monday] == [d - timedelta(days=4) for d in fridays]


def test_month_and_quarter_buckets():
    days = [date(2024, 1, 31), date(2024, 2, 1), date(2024, 3, 31), date(2024, 4, 30)]
    con = make_orders([line(d, float(i + 1)) for i, d in enumerate(days)])
    months = build(con, freq="M")
    assert [(r["ds"], r["y"], r["days_in_period"], r["month"], r["quarter"]) for r in months] == [
        (date(2024, 1, 1), 1.0, 31, 1, 1), (date(2024, 2, 1), 2.0, 29, 2, 1),
        (date(2024, 3, 1), 3.0, 31, 3, 1), (date(2024, 4, 1), 4.0, 30, 4, 2)]
    # The orders stop on April 30, a month into the second quarter: it is left out.
    quarters = build(con, freq="Q")
    assert [(r["ds"], r["y"], r["days_in_period"]) for r in quarters] == [
        (date(2024, 1, 1), 6.0, 91)]
    daily = build(con, freq="D")
    assert len(daily) == 91 and sum(r["y"] for r in daily) == 10.0


def test_a_last_period_the_orders_stop_partway_through_is_left_out():
    # Daily orders ending on a Wednesday: their last week held 3 days of 7, a fall of 57 % to a
    # model, and the last month 18 days of 30. Data dated on one day of each period are whole.
    days = [date(2024, 1, 1) + timedelta(days=k) for k in range(535)]  # to 2025-06-18 (Wed)
    con = make_orders([line(d, 100.0) for d in days])
    weeks = build(con, freq="W")
    assert weeks[-1]["ds"] == date(2025, 6, 9) and {r["y"] for r in weeks} == {700.0}
    months = build(con, freq="M")
    assert months[-1]["ds"] == date(2025, 5, 1) and months[-1]["y"] == 3100.0
    assert len(build(con, freq="D")) == 535
    fridays = make_orders([line(date(2024, 1, 5) + timedelta(days=7 * k), 1.0)
                           for k in range(10)])
    assert build(fridays, freq="W")[-1]["ds"] == date(2024, 1, 5) + timedelta(days=63)
    firsts = make_orders([line(date(2024, m, 1), 1.0) for m in range(1, 7)])
    assert build(firsts, freq="M")[-1]["ds"] == date(2024, 6, 1)
    # A shop closed on Sundays: its week ending on a Saturday is whole.
    open_days = [d for d in days[:-4] if d.isoweekday() != 7]  # to 2025-06-14 (Sat)
    assert build(make_orders([line(d, 1.0) for d in open_days]), freq="W")[-1]["ds"] == \
        date(2025, 6, 9)


def test_orders_spaced_wider_than_the_series_periods_are_measured():
    """Weekly data (Fridays) built into daily series leave six days in seven empty, read as no
    sales; monthly data into weekly series three weeks in four. Daily orders, or a shop closed
    on Sundays, are not spaced wider than a day."""
    from forecast.features.plan import order_spacing

    fridays = make_orders([line(date(2024, 1, 5) + timedelta(days=7 * k), 1.0)
                           for k in range(20)])
    gap, empty = order_spacing(fridays, "D", 1)
    assert gap == 7 and empty == pytest.approx(1 - 20 / 134)
    assert order_spacing(fridays, "W", 5) is None
    firsts = make_orders([line(date(2024, m, 1), 1.0) for m in range(1, 13)])
    gap, empty = order_spacing(firsts, "W", 1)
    assert 29 <= gap <= 31 and empty == pytest.approx(1 - 12 / 48)  # weeks Jan 1 - Nov 25
    assert order_spacing(firsts, "M", 1) is None
    open_days = [date(2024, 1, 1) + timedelta(days=k) for k in range(60)]
    shop = make_orders([line(d, 1.0) for d in open_days if d.isoweekday() != 7])
    assert order_spacing(shop, "D", 1) is None


def test_the_series_say_when_their_periods_are_finer_than_the_orders(tmp_path):
    from forecast.config import Config, FeaturesConfig
    from forecast.io import warehouse
    from forecast.pipeline import build_series

    with warehouse.connect(tmp_path, create=True) as con:
        ensure_canonical_table(con, ORDERS)
        for k in range(30):
            con.execute("INSERT INTO orders (order_date, amount, source, source_row) VALUES "
                        "(?, 1, 's', ?)", [date(2024, 1, 5) + timedelta(days=7 * k), k])
    daily = build_series(Config(workspace=tmp_path, features=FeaturesConfig(
        series=SeriesConfig(freq="D"))))
    assert daily.notes == (("the orders are dated about every 7 days, but the series are "
                            "daily: 85% of their days have no order and are read as no sales; "
                            "`features.series.freq: W` makes them weekly"),)
    weekly = build_series(Config(workspace=tmp_path, features=FeaturesConfig(
        series=SeriesConfig(freq="W"))))
    assert weekly.notes == ()


def test_order_counts_are_distinct_per_series_and_lines_without_id_count_once():
    con = make_orders([
        line(MON, 1.0, order_id="O1", product_line="a"),
        line(MON, 1.0, order_id="O1", product_line="b"),
        line(MON, 1.0, order_id="O1", product_line="b"),
        line(MON, 1.0, order_id="O2", product_line="b"),
        line(MON, 1.0, product_line="a"),
        line(MON, 1.0, product_line="a"),
    ])
    rows = build(con, grains=[[], ["product_line"]], freq="W", target="orders")
    assert {r["unique_id"]: (r["orders"], r["y"]) for r in rows} == {
        "total": (4, 4.0), "a": (3, 3.0), "b": (2, 2.0)}


def test_margin_from_cost_column_or_margin_column_and_null_without_cost():
    no_cost = make_orders([line(MON, 5.0, quantity=1.0)])
    assert build(no_cost)[0]["margin"] is None
    con = make_orders([line(MON, 5.0, quantity=2.0, profit=1.5),
                       line(MON, 3.0, quantity=1.0, profit=-0.5)], extra={"profit": "DOUBLE"})
    assert build(con, margin_column="profit")[0]["margin"] == 1.0
    with pytest.raises(ConfigError, match="margin"):
        build(no_cost, target="margin")
    with pytest.raises(ConfigError, match="quantity"):
        build(make_orders([line(MON, 5.0)]), target="quantity")


def test_grains_are_stacked_with_key_columns_and_unique_ids():
    con = make_orders([
        line(MON, 1.0, region="East", channel="online", product_line="Beverages"),
        line(MON, 2.0, region="East", channel="offline", product_line="Beverages"),
        line(MON, 4.0, region="West", channel="online", product_line="Snacks"),
        line(MON, 8.0, region=None, channel="online", product_line="Snacks"),
    ])
    rows = build(con, grains=[[], ["region"], ["region", "channel", "product_line"]])
    got = {(r["grain"], r["unique_id"]): (r["y"], r["region"], r["channel"], r["product_line"])
           for r in rows}
    assert got == {
        ("total", "total"): (15.0, None, None, None),
        ("region", "East"): (3.0, "East", None, None),
        ("region", "West"): (4.0, "West", None, None),
        ("region", "(none)"): (8.0, None, None, None),
        ("region/channel/product_line", "East|online|Beverages"):
            (1.0, "East", "online", "Beverages"),
        ("region/channel/product_line", "East|offline|Beverages"):
            (2.0, "East", "offline", "Beverages"),
        ("region/channel/product_line", "West|online|Snacks"): (4.0, "West", "online", "Snacks"),
        ("region/channel/product_line", "(none)|online|Snacks"): (8.0, None, "online", "Snacks"),
    }
    assert [r["grain"] for r in rows][:1] == ["total"]  # grains in config order
    orders = {r["unique_id"]: r["orders"] for r in rows}  # lines without order id: one each
    assert (orders["total"], orders["East"], orders["(none)"], orders["(none)|online|Snacks"]) \
        == (4, 2, 1, 1)


def test_any_orders_column_can_be_a_level_and_unknown_ones_are_named():
    con = make_orders([line(MON, 1.0, city="Quito"), line(MON, 2.0, city="Guayaquil")],
                      extra={"city": "VARCHAR"})
    assert {r["unique_id"] for r in build(con, grains=[["city"]])} == {"Quito", "Guayaquil"}
    with pytest.raises(ConfigError, match=r"'cty' is not in table orders.*available.*city"):
        build(con, grains=[["region", "cty"]])


def test_exogenous_order_columns_are_averaged_and_booleans_take_the_max():
    fri = date(2010, 2, 5)
    con = make_orders([
        line(fri, 10.0, store="1", temperature=40.0, holiday_flag=False),
        line(fri, 20.0, store="2", temperature=50.0, holiday_flag=True),
        line(fri + timedelta(days=7), 30.0, store="1", temperature=42.0, holiday_flag=False),
        line(fri + timedelta(days=14), 40.0, store="2", temperature=60.0, holiday_flag=False),
    ], extra={"temperature": "DOUBLE", "holiday_flag": "BOOLEAN"})
    rows = build(con, grains=[[], ["store"]], exogenous=["holiday_flag", "temperature"])
    got = {(r["unique_id"], r["ds"]): (r["temperature"], r["holiday_flag"]) for r in rows}
    assert got[("total", fri)] == (45.0, True)
    assert got[("1", fri)] == (40.0, False)
    assert got[("2", fri + timedelta(days=7))] == (None, None)  # zero-filled week: unknown
    with pytest.raises(ConfigError, match="'fuel' is not in table orders"):
        build(con, exogenous=["fuel"])
    with pytest.raises(ConfigError, match="numeric or boolean"):
        build(con, exogenous=["store"])


def oil_warehouse(days: int = 10) -> duckdb.DuckDBPyConnection:
    days = [MON + timedelta(days=k) for k in range(days)]
    con = make_orders([line(d, 1.0) for d in days])
    con.execute("CREATE TABLE oil (date DATE, oil_price DOUBLE)")
    # Mon 10, Tue missing, Wed NULL, Thu 16, Fri 20, weekend missing, Mon 30, then Jan 12 (Fri)
    con.execute("""INSERT INTO oil VALUES ('2024-01-01', 10), ('2024-01-03', NULL),
        ('2024-01-04', 16), ('2024-01-05', 20), ('2024-01-08', 30), ('2024-01-12', 40)""")
    return con


def test_exogenous_table_is_forward_filled_daily_and_averaged_per_period():
    con = oil_warehouse()
    oil = [ExogenousTable(table="oil", columns=["oil_price"])]
    daily = build(con, freq="D", exogenous_tables=oil)
    assert [r["oil_price"] for r in daily] == [10, 10, 10, 16, 20, 20, 20, 30, 30, 30]
    # Orders through Sunday: the second week is whole (one ending on Wednesday is left out).
    weekly = build(oil_warehouse(days=14), freq="W", exogenous_tables=oil)
    assert weekly[0]["oil_price"] == pytest.approx((10 * 3 + 16 + 20 * 3) / 7)
    assert weekly[1]["oil_price"] == pytest.approx((30 * 4 + 40) / 5)  # the table ends Fri
    with pytest.raises(ConfigError, match="'gas' is not in the warehouse"):
        build(con, exogenous_tables=[ExogenousTable(table="gas", columns=["price"])])
    with pytest.raises(ConfigError, match="no column 'brent'"):
        build(con, exogenous_tables=[ExogenousTable(table="oil", columns=["brent"])])


def test_future_features_cover_every_series_with_known_values():
    con = oil_warehouse()
    con.execute("UPDATE orders SET region = CASE WHEN order_date < '2024-01-05' THEN 'A' "
                "ELSE 'B' END")
    config = SeriesConfig(grains=[[], ["region"]], freq="D", stopped_after=2,
                          exogenous_tables=[ExogenousTable(table="oil", columns=["oil_price"])])
    rows = frame(con, build_future_exogenous_sql(con, config, "US", 5))
    series = by_series(rows)
    assert set(series) == {"total", "A", "B"}
    assert [r["ds"] for r in series["A"]] == [date(2024, 1, 11) + timedelta(days=k)
                                              for k in range(5)]
    assert [r["h"] for r in series["A"]] == [1, 2, 3, 4, 5]
    assert series["A"][0]["stopped"] is True and series["B"][0]["stopped"] is False
    # Oil is known up to Jan 12, not after; Jan 11 is forward-filled from Jan 8.
    assert [r["oil_price"] for r in series["B"]] == [30, 40, None, None, None]
    assert [r["holiday_count"] for r in series["B"]] == [0, 0, 0, 0, 1]  # MLK day, Jan 15
    history = frame(con, build_series_sql(con, config, "US"))
    assert set(history[0]) - set(rows[0]) == {"y", "revenue", "quantity", "orders", "margin"}
    with pytest.raises(ConfigError, match="at least 1"):
        build_future_exogenous_sql(con, config, "US", 0)


def test_holidays_from_the_data_sets_own_table():
    con = make_orders([line(date(2016, 12, 26) + timedelta(days=k), 1.0) for k in range(7)])
    con.execute("""CREATE TABLE holiday_events (date DATE, type VARCHAR, locale VARCHAR,
        locale_name VARCHAR, description VARCHAR, transferred BOOLEAN)""")
    con.execute("""INSERT INTO holiday_events VALUES
        ('2016-12-26', 'Bridge', 'National', 'Ecuador', 'Puente Navidad', false),
        ('2016-12-25', 'Holiday', 'National', 'Ecuador', 'Navidad', false),
        ('2016-12-27', 'Holiday', 'Local', 'Quito', 'Fundacion', false),
        ('2016-12-28', 'Holiday', 'National', 'Ecuador', 'Moved away', true),
        ('2016-12-29', 'Transfer', 'National', 'Ecuador', 'Moved here', false),
        ('2016-12-31', 'Work Day', 'National', 'Ecuador', 'Recupero', false),
        ('2017-01-01', 'Holiday', 'National', 'Ecuador', 'Primer dia del ano', false)""")
    daily = build(con, "EC", freq="D", holiday_table="holiday_events")
    assert [r["holiday_count"] for r in daily] == [1, 0, 0, 1, 0, 0, 1]
    weekly = build(con, "EC", freq="W", holiday_table="holiday_events")
    assert [(r["ds"], r["holiday_count"], r["is_holiday"]) for r in weekly] == [
        (date(2016, 12, 26), 3, True)]


def test_build_series_pipeline_writes_the_table_and_parquet(tmp_path):
    from forecast.config import Config, FeaturesConfig
    from forecast.io import warehouse
    from forecast.pipeline import build_series

    with warehouse.connect(tmp_path, create=True) as con:
        ensure_canonical_table(con, ORDERS)
        con.execute("INSERT INTO orders (order_date, amount, region, source, source_row) VALUES "
                    "('2024-02-05', 1, 'N', 's', 1), ('2024-02-19', 2, 'S', 's', 2)")
    config = Config(workspace=tmp_path, country="CN", features=FeaturesConfig(
        series=SeriesConfig(grains=[[], ["region"]], freq="W")))
    result = build_series(config)
    assert (result.rows, result.series) == (3 + 3 + 1, 3)
    import pyarrow.parquet as pq
    table = pq.read_table(result.parquet)
    assert table.num_rows == 7 and {"cny_before", "cny_window"} <= set(table.column_names)


# --- the shipped real-data configs -----------------------------------------------------------

def _ingested(name: str, tmp_path_factory) -> tuple:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found: {SHARED_DATA}")
    from forecast.io.ingest import ingest
    from forecast.pipeline import build_series

    config = load_config(REPO / "configs" / f"{name}.yaml").with_workspace(
        tmp_path_factory.mktemp(name))
    ingest(config)
    result = build_series(config)
    con = duckdb.connect(str(config.workspace / "warehouse.duckdb"), read_only=True)
    return config, result, con


def test_walmart_config_builds_45_stores_of_143_weeks(tmp_path_factory):
    config, result, con = _ingested("walmart", tmp_path_factory)
    csv = SHARED_DATA / "walmart_weekly" / "walmart_store_sales_weekly.csv"
    expected = con.execute(f"SELECT sum(Weekly_Sales) FROM read_csv('{csv}')").fetchall()[0][0]
    stores = con.execute("SELECT count(DISTINCT unique_id), count(*), "
                         "count(DISTINCT isodow(ds)), count(DISTINCT ds) FROM series "
                         "WHERE grain = 'store'").fetchall()[0]
    assert stores == (45, 45 * 143, 1, 143)
    total = con.execute("SELECT count(*), sum(y), max(isodow(ds)), count(temperature) "
                        "FROM series WHERE unique_id = 'total'").fetchall()[0]
    assert total[0] == 143 and total[1] == pytest.approx(expected) and total[2] == 5
    assert total[3] == 143 and result.series == 46
    assert con.execute("SELECT bool_or(holiday_flag) FROM series WHERE ds = '2010-02-12'"
                       ).fetchall()[0][0] is True
    con.close()


def test_favorita_config_builds_daily_store_city_region_series(tmp_path_factory):
    config, result, con = _ingested("favorita", tmp_path_factory)
    csv = SHARED_DATA / "favorita" / "transactions.csv"
    expected = con.execute(f"SELECT sum(transactions) FROM read_csv('{csv}')").fetchall()[0][0]
    grains = dict(con.execute("SELECT grain, count(DISTINCT unique_id) FROM series GROUP BY 1"
                              ).fetchall())
    assert grains["total"] == 1 and grains["region/city/store"] == 54
    assert grains["region/city"] >= grains["region"] > 1
    total = con.execute("SELECT sum(y), count(*), count(oil_price) FROM series "
                        "WHERE grain = 'total'").fetchall()[0]
    assert total[0] == pytest.approx(expected) and total[2] >= total[1] - 1
    # Stores that open late start at their first day, not on 2013-01-01.
    late = con.execute("SELECT count(*) FROM (SELECT unique_id, min(ds) AS first FROM series "
                       "WHERE grain = 'region/city/store' GROUP BY 1) WHERE first > '2013-06-01'"
                       ).fetchall()[0][0]
    assert late > 0
    assert con.execute("SELECT is_holiday FROM series WHERE unique_id = 'total' "
                       "AND ds = '2016-01-01'").fetchall()[0][0] is True
    con.close()


def test_superstore_config_builds_region_and_category_series(tmp_path_factory):
    config, result, con = _ingested("superstore", tmp_path_factory)
    grains = dict(con.execute("SELECT grain, count(DISTINCT unique_id) FROM series GROUP BY 1"
                              ).fetchall())
    assert grains == {"total": 1, "region": 4, "region/product_line": 12}
    # The orders stop partway through their last week, which is left out (and said so).
    assert result.notes and "incomplete" in result.notes[0]
    end = con.execute("SELECT max(ds) + 7 FROM series").fetchall()[0][0]
    sums = con.execute("SELECT (SELECT sum(amount) FROM orders WHERE order_date < $end), (SELECT "
                       "sum(profit) FROM orders WHERE order_date < $end), sum(y), sum(margin) "
                       "FROM series WHERE grain = 'total'", {"end": end}).fetchall()[0]
    assert sums[2] == pytest.approx(sums[0]) and sums[3] == pytest.approx(sums[1])
    con.close()


def test_online_retail_config_builds_country_series(tmp_path_factory):
    config, result, con = _ingested("online_retail", tmp_path_factory)
    assert result.notes and "incomplete" in result.notes[0]  # its last week is left out
    regions, total_rev, orders_rev = con.execute(
        "SELECT count(DISTINCT unique_id) FILTER (WHERE grain = 'region'), "
        "sum(y) FILTER (WHERE grain = 'total'), (SELECT sum(amount) FROM orders "
        "WHERE order_date < (SELECT max(ds) + 7 FROM series)) FROM series"
    ).fetchall()[0]
    assert regions == 10 and total_rev == pytest.approx(orders_rev)
    assert con.execute("SELECT count(DISTINCT isodow(ds)) FROM series").fetchall()[0][0] == 1
    con.close()


@pytest.mark.parametrize("empty, expected", [("zero", 0.0), ("missing", None)])
def test_a_period_without_rows_is_zero_or_unobserved(tmp_path, write_config, empty, expected):
    from click.testing import CliRunner

    from forecast.cli import main

    orders = tmp_path / "orders.csv"
    # Store A has no row on 2024-01-02 (closed); store B has every day.
    orders.write_text("date,store,amount\n2024-01-01,A,5\n2024-01-03,A,7\n"
                      "2024-01-01,B,1\n2024-01-02,B,2\n2024-01-03,B,3\n")
    path = write_config({
        "sources": [{"table": "orders", "path": str(orders),
                     "columns": {"order_date": "date", "store": "store", "amount": "amount"}}],
        "features": {"series": {"grains": [[], ["store"]], "freq": "D",
                                "empty_periods": empty}}})
    runner = CliRunner()
    assert runner.invoke(main, ["data", "ingest", "--config", str(path)]).exit_code == 0
    assert runner.invoke(main, ["features", "series", "--config", str(path)]).exit_code == 0
    con = duckdb.connect(str(tmp_path / "ws" / "warehouse.duckdb"), read_only=True)
    closed = con.execute("SELECT y FROM series WHERE unique_id = 'A' AND ds = '2024-01-02'"
                         ).fetchall()[0][0]
    total = con.execute("SELECT y FROM series WHERE unique_id = 'total' AND ds = '2024-01-02'"
                        ).fetchall()[0][0]
    con.close()
    assert closed == expected and total == 2.0
