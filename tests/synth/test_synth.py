"""The synthetic company: determinism, contracts, and that the truths it was built with show.

Two sizes: a small company (300 customers, 2 years, one customer block) for byte-level checks,
and a medium one (4,500 customers, 3 years, three blocks) for statistics and chunking.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from forecast.config import SynthOptions
from forecast.io.chunked import ChunkedTableWriter
from forecast.schemas import CUSTOMERS, FUNNEL_STAGES, OPPORTUNITIES, ORDERS, SURVEYS, TARGETS
from forecast.synth import generate_company
from forecast.synth.calendar import spring_festival

END = date(2026, 10, 31)
SMALL = SynthOptions(customers=300, years=2, seed=11, end_date=END, formats=("parquet", "csv"))
MEDIUM = SynthOptions(customers=4500, years=3, seed=5, end_date=END, chunk_customers=10_000)
TABLES = ("orders", "customers", "surveys", "opportunities", "targets", "products", "reps",
          "ground_truth/customers")


def read(out: Path, name: str) -> pd.DataFrame:
    return pq.read_table(out / f"{name}.parquet").to_pandas()


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list]:
    out = tmp_path_factory.mktemp("medium")
    calls: list[tuple[int, int]] = []
    summary = generate_company(MEDIUM, out, progress=lambda d, t: calls.append((d, t)))
    return out, summary, calls


@pytest.fixture(scope="module")
def frames(medium) -> dict[str, pd.DataFrame]:
    out = medium[0]
    data = {name: read(out, name) for name in TABLES}
    data["truth"] = data.pop("ground_truth/customers")
    for frame in data.values():
        for column in frame.columns:
            if "date" in column or column in ("decline_start", "period"):
                frame[column] = pd.to_datetime(frame[column])
    return data


@pytest.fixture(scope="module")
def seasonality(medium) -> dict:
    return json.loads((medium[0] / "ground_truth" / "seasonality.json").read_text())


# Determinism and chunking ---------------------------------------------------------------------

def test_same_options_give_byte_identical_files(tmp_path: Path) -> None:
    first = generate_company(SMALL, tmp_path / "a")
    generate_company(SMALL, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) == 2 * 8 + 2  # 8 tables in 2 formats, seasonality.json, manifest.json
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert "seconds" not in json.dumps(manifest)
    assert manifest["rows"] == first["rows"]
    assert manifest["options"]["customers"] == 300


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate_company(SMALL, tmp_path / "a")
    generate_company(SMALL.model_copy(update={"seed": 12}), tmp_path / "b")
    a, b = read(tmp_path / "a", "orders"), read(tmp_path / "b", "orders")
    assert len(a) != len(b) or not a["amount"].equals(b["amount"])


def test_chunk_size_does_not_change_the_data(tmp_path: Path, medium) -> None:
    calls: list[tuple[int, int]] = []
    options = MEDIUM.model_copy(update={"chunk_customers": 100})
    generate_company(options, tmp_path, progress=lambda d, t: calls.append((d, t)))
    for name in TABLES:
        pd.testing.assert_frame_equal(read(tmp_path, name), read(medium[0], name), check_exact=True)
    assert calls == [(2048, 4500), (4096, 4500), (4500, 4500)]  # one chunk per block
    assert medium[2] == [(4500, 4500)]  # one chunk holding all three blocks


def test_summary_is_json_and_matches_the_files(medium) -> None:
    out, summary, _ = medium
    json.dumps(summary)
    assert summary["customers"] == 4500 and summary["out_dir"] == str(out)
    assert summary["seconds"] > 0
    for name, path in summary["files"].items():
        assert Path(path).is_file(), name
    assert summary["rows"]["orders"] == pq.read_metadata(summary["files"]["orders"]).num_rows
    assert summary["rows"]["customers"] == 4500


# Contracts ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, table, without", [
    ("orders", ORDERS, ("store",)), ("customers", CUSTOMERS, ()), ("surveys", SURVEYS, ()),
    ("opportunities", OPPORTUNITIES, ()), ("targets", TARGETS, ()),
])
def test_columns_and_types_are_canonical(medium, name: str, table, without) -> None:
    path = medium[0] / f"{name}.parquet"
    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    expected = [(c.name, c.dtype) for c in table.columns if c.name not in without]
    assert [(row[0], row[1]) for row in described] == expected
    arrow = {"VARCHAR": "string", "DATE": "date32[day]", "DOUBLE": "double", "BOOLEAN": "bool"}
    schema = pq.read_schema(path)
    assert [(f.name, str(f.type)) for f in schema] == [(n, arrow[t]) for n, t in expected]


def test_csv_holds_the_same_rows_as_parquet(tmp_path: Path) -> None:
    generate_company(SMALL, tmp_path)
    for name in ("orders", "customers", "targets", "ground_truth/customers"):
        parquet = pq.read_table(tmp_path / f"{name}.parquet")
        options = pacsv.ConvertOptions(column_types=parquet.schema, strings_can_be_null=True)
        csv = pacsv.read_csv(tmp_path / f"{name}.csv", convert_options=options)
        assert csv.equals(parquet), name
        lines = (tmp_path / f"{name}.csv").read_text().splitlines()
        assert lines.count(lines[0]) == 1 and len(lines) == parquet.num_rows + 1


def test_writer_writes_header_once_and_cleans_up_on_failure(tmp_path: Path) -> None:
    schema = pa.schema([("a", pa.int64()), ("b", pa.string())])
    chunk = pa.table({"a": [1, 2], "b": ["x", None]}, schema=schema)
    with ChunkedTableWriter(tmp_path / "t.csv", schema, "csv") as writer:
        writer.write(chunk)
        writer.write(chunk)
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines == ['"a","b"', '1,"x"', "2,", '1,"x"', "2,"]
    with ChunkedTableWriter(tmp_path / "empty.parquet", schema):
        pass
    assert pq.read_table(tmp_path / "empty.parquet").schema == schema
    encoded = chunk.set_column(1, "b", chunk["b"].dictionary_encode())
    with ChunkedTableWriter(tmp_path / "encoded.parquet", schema, dictionary=["b"]) as writer:
        writer.write(encoded)
        writer.write(chunk)
    back = pq.read_table(tmp_path / "encoded.parquet")
    assert back.schema == schema and back["b"].to_pylist() == ["x", None, "x", None]
    with pytest.raises(RuntimeError), ChunkedTableWriter(tmp_path / "failed.parquet", schema) as w:
        w.write(chunk)
        raise RuntimeError("boom")
    assert not list(tmp_path.glob("failed*"))


def test_organisation_and_catalogue(frames) -> None:
    reps, products, customers = frames["reps"], frames["products"], frames["customers"]
    assert set(reps["region"]) == {"North", "East", "South", "West", "Central", "Northeast"}
    assert reps.groupby("region")["team"].nunique().between(2, 3).all()
    assert reps.groupby("team")["rep_id"].nunique().between(4, 8).all()
    assert (reps["team"].str.split("-").str[0] == reps["region"]).all()
    assert products.groupby("product_line")["product_id"].nunique().between(5, 20).all()
    margin = 1 - products["unit_cost"] / products["list_price"]
    assert margin.between(0.19, 0.61).all()
    shares = customers["segment"].value_counts(normalize=True)
    assert abs(shares["key account"] - 0.05) < 0.015
    assert abs(shares["mid-market"] - 0.25) < 0.03
    assert abs(shares["small"] - 0.70) < 0.03
    assert customers["industry"].nunique() == 8
    assert customers["customer_id"].is_unique and customers["customer_id"].str.len().eq(8).all()
    owners = customers.merge(reps, on="rep_id", suffixes=("", "_rep"))
    assert len(owners) == len(customers) and (owners["region"] == owners["region_rep"]).all()


def test_order_lines(frames) -> None:
    orders = frames["orders"]
    sales = orders[~orders["order_id"].str.startswith("R")]
    per_order = sales.groupby("order_id").agg(
        lines=("product_id", "size"), days=("order_date", "nunique"),
        customers=("customer_id", "nunique"))
    assert per_order["lines"].between(1, 3).all()
    assert (per_order["days"] == 1).all() and (per_order["customers"] == 1).all()
    # Each product at most once per order, so no two lines are identical (ingest would
    # quarantine them as duplicates).
    assert not orders.duplicated(["order_id", "product_id"]).any()
    assert np.allclose(orders["amount"], (orders["quantity"] * orders["unit_price"]).round(2))
    assert (sales["quantity"] >= 1).all() and (sales["unit_price"] > 0).all()
    assert 15 <= len(orders) / len(frames["customers"]) <= 30  # demo size: >= 30,000 rows
    primary = orders.merge(frames["customers"][["customer_id", "channel"]], on="customer_id")
    assert 0.74 < (primary["channel_x"] == primary["channel_y"]).mean() < 0.86
    team_of_rep = frames["reps"].set_index("rep_id")["team"]
    assert (orders["rep_id"].map(team_of_rep) == orders["team"]).all()


def test_promotions_match_ground_truth(frames, seasonality) -> None:
    orders = frames["orders"].merge(frames["products"], on=["product_id", "product_line"])
    expected = pd.Series(False, index=orders.index)
    for promo in seasonality["promotions"]:
        in_window = orders["order_date"].between(promo["start"], promo["end"])
        expected |= in_window & orders["product_line"].isin(promo["product_lines"])
    sales = ~orders["order_id"].str.startswith("R")
    assert (orders.loc[sales, "promo"] == expected[sales]).all()
    ratio = orders["unit_price"] / orders["list_price"]
    assert ratio[orders["promo"] & sales].median() < 0.9 < ratio[~orders["promo"] & sales].median()


# Ground truth against the data ----------------------------------------------------------------

def test_nothing_happens_outside_a_customer_lifetime(frames) -> None:
    truth = frames["truth"]
    for name, column in (("orders", "order_date"), ("surveys", "survey_date")):
        events = frames[name].merge(truth, on="customer_id")
        assert (events[column] >= events["signup_date"]).all(), name
        churned = events[events["churned"]]
        assert (churned[column] < churned["churn_date"]).all(), name
    assert truth["churn_date"].notna().eq(truth["churned"]).all()
    assert (truth.loc[truth["churned"], "churn_date"] <= pd.Timestamp(END)).all()


def test_customers_start_before_and_during_the_data(frames) -> None:
    truth = frames["truth"]
    start = pd.Timestamp(END) - pd.DateOffset(years=3) + pd.Timedelta(days=1)
    assert 0.34 < (truth["signup_date"] < start).mean() < 0.42
    new = truth[truth["signup_date"] >= start]
    assert new["signup_date"].dt.to_period("M").nunique() == 36  # new customers every month


def test_churn_follows_segment_and_shows_in_behaviour(frames) -> None:
    truth = frames["truth"].merge(frames["customers"][["customer_id", "segment"]])
    share = truth.groupby("segment")["churned"].mean()
    assert share["small"] > share["mid-market"] > share["key account"]
    churned = truth[truth["churned"] & (truth["churn_date"] > pd.Timestamp("2024-08-01"))]
    assert churned["drivers"].notna().all() and len(churned) > 300
    orders = frames["orders"].merge(churned, on="customer_id")
    first = orders.groupby("customer_id")["order_date"].transform("min")
    recent = orders["order_date"] >= orders["churn_date"] - pd.Timedelta(days=90)
    days_before = (orders["churn_date"] - first).dt.days.clip(lower=91)
    earlier_days = (days_before - 90).groupby(orders["customer_id"]).first().sum()
    earlier_rate = (~recent).sum() / earlier_days
    recent_rate = recent.sum() / (90 * orders["customer_id"].nunique())
    assert recent_rate < 0.75 * earlier_rate


def test_satisfaction_drivers_lower_the_scores(frames) -> None:
    truth = frames["truth"]
    declining = truth[truth["churned"] & truth["drivers"].str.contains("satisfaction", na=False)]
    surveys = frames["surveys"].merge(declining, on="customer_id")
    late = surveys["survey_date"] >= surveys["churn_date"] - pd.Timedelta(days=45)
    early = surveys["survey_date"] < surveys["decline_start"]
    assert surveys.loc[early, "score"].mean() - surveys.loc[late, "score"].mean() > 1.0
    gaps = frames["surveys"].groupby("customer_id")["survey_date"].diff().dt.days.dropna()
    assert gaps.between(70, 110).all()
    latest = frames["surveys"].sort_values("survey_date").groupby("customer_id")["score"].last()
    customers = frames["customers"].set_index("customer_id")
    assert (customers.loc[latest.index, "satisfaction"] == latest).all()


def test_returns_reference_earlier_orders(frames) -> None:
    orders = frames["orders"]
    is_return = orders["order_id"].str.startswith("R")
    returns, sales = orders[is_return].reset_index(), orders[~is_return]
    assert 0.01 < is_return.mean() < 0.04
    assert (returns["quantity"] < 0).all() and (returns["amount"] < 0).all()
    assert (orders.loc[orders["amount"] < 0, "order_id"].str.startswith("R")).all()
    matched = returns.assign(order_id=returns["order_id"].str[1:]).merge(
        sales, on=["order_id", "customer_id", "product_id"], suffixes=("", "_sale"))
    lag = (matched["order_date"] - matched["order_date_sale"]).dt.days
    fits = lag.between(3, 30) & (-matched["quantity"] <= matched["quantity_sale"])
    assert fits.groupby(matched["index"]).any().reindex(returns["index"], fill_value=False).all()


def test_opportunities_move_through_the_funnel(frames) -> None:
    opps = frames["opportunities"]
    order = {stage: i for i, stage in enumerate(FUNNEL_STAGES)}
    opps = opps.assign(rank=opps["stage"].map(order))
    for _, deal in opps.groupby("opportunity_id"):
        ranks = deal["rank"].tolist()
        open_ranks = [r for r in ranks if r < 4]
        assert open_ranks == list(range(len(open_ranks)))
        assert deal["stage_date"].is_monotonic_increasing
    finals = opps[opps["rank"] >= 4]
    assert finals["opportunity_id"].is_unique
    lost_at = opps[opps["opportunity_id"].isin(finals.loc[finals["stage"] == "lost",
                                                          "opportunity_id"])]
    assert lost_at.groupby("opportunity_id")["rank"].apply(lambda r: r[r < 4].max()).nunique() == 4
    still_open = set(opps["opportunity_id"]) - set(finals["opportunity_id"])
    assert still_open
    days = opps.sort_values(["opportunity_id", "rank"]).groupby("opportunity_id")["stage_date"]
    in_stage = days.diff().dt.days.dropna()
    assert in_stage.between(0, 40).all() and 5 <= in_stage.median() <= 40
    size = opps.merge(frames["truth"], on="customer_id").groupby("segment")["amount"].median()
    assert size["key account"] > size["mid-market"] > size["small"]
    assert (opps["expected_close_date"] >= opps["stage_date"]).all()


def test_targets_cover_every_team_month_and_follow_revenue(frames) -> None:
    targets, orders = frames["targets"], frames["orders"]
    months = pd.period_range(orders["order_date"].min(), periods=36 + 3, freq="M")
    teams = set(frames["reps"]["team"])
    assert len(targets) == len(months) * len(teams)
    assert set(targets["period"].dt.to_period("M")) == set(months)
    assert set(targets["team"]) == teams and targets["rep_id"].isna().all()
    assert (targets["target"] == targets["target"].round()).all() and (targets["target"] > 0).all()
    month = orders["order_date"].dt.to_period("M")
    realised = orders.groupby([orders["team"], month])["amount"].sum()
    target = targets.set_index(["team", targets["period"].dt.to_period("M")])["target"]
    first_year = [(t, m) for t in teams for m in months[:12]]
    ratio = target[first_year] / realised[first_year]
    assert ratio.between(0.9 - 1e-3, 1.15 + 1e-3).all()
    later = [(t, m) for t in teams for m in months[12:]]
    prior = realised[[(t, m - 12) for t, m in later]].to_numpy()
    assert np.median(target[later].to_numpy() / prior) == pytest.approx(1.08, abs=0.02)


# Seasonality recovered --------------------------------------------------------------------------

def test_spring_festival_drop_and_stock_up(frames, seasonality) -> None:
    daily = frames["orders"].groupby("order_date")["amount"].sum()
    windows = {(w["name"], w["start"][:4]): w for w in seasonality["holidays"]}
    checked = 0
    for year in (2024, 2025, 2026):
        festival = windows[("Spring Festival", str(year))]
        assert date.fromisoformat(festival["start"]) == spring_festival(year)
        assert festival["factor"] == 0.4
        stock_up = windows[("Spring Festival stock-up", str(year))]
        festival_revenue = daily[festival["start"]:festival["end"]].sum()
        stock_up_revenue = daily[stock_up["start"]:stock_up["end"]].sum()
        assert festival_revenue / stock_up_revenue < 0.4  # truth: 7 x 0.4 / (14 x 1.25) = 0.16
        checked += 1
    assert checked == 3
    assert spring_festival(2025) == date(2025, 1, 29)


def test_monthly_shape_follows_the_true_factors(frames, seasonality) -> None:
    orders, truth = frames["orders"], frames["truth"]
    months = pd.period_range(orders["order_date"].min(), orders["order_date"].max(), freq="M")
    # Expected orders without seasonality: base rates x days active in the month x trend.
    churn = truth["churn_date"].fillna(pd.Timestamp("2100-01-01"))
    exposure = []
    for month in months:
        first, last = month.start_time, month.end_time.normalize()
        days = ((churn - pd.Timedelta(days=1)).clip(upper=last)
                - truth["signup_date"].clip(lower=first)).dt.days + 1
        exposure.append((truth["base_rate"] * days.clip(lower=0)).sum())
    growth = seasonality["trend"]["growth_per_year"] ** (np.arange(len(months)) / 12)
    monthly = np.asarray(seasonality["monthly"])
    by_month = orders.groupby(orders["order_date"].dt.to_period("M"))
    for observed, least in ((by_month["amount"].sum(), 0.8), (by_month.size(), 0.85)):
        rate = observed.reindex(months).to_numpy() / np.asarray(exposure) / growth
        shape = pd.Series(rate, index=months.month).groupby(level=0).mean().sort_index()
        assert np.corrcoef(shape.to_numpy(), monthly)[0, 1] > least
        assert shape.idxmin() == 2 and shape.idxmax() == 12  # February low, December high


def test_weekends_are_quiet_offline_but_not_online(frames, seasonality) -> None:
    orders = frames["orders"]
    weekend = orders["order_date"].dt.day_of_week >= 5
    share = weekend.groupby(orders["channel"]).mean()
    assert share["offline"] < 0.2 < share["online"]
    assert seasonality["weekday"]["offline"][6] < seasonality["weekday"]["online"][6]


def test_golden_week_and_shopping_festivals(frames) -> None:
    orders = frames["orders"]
    daily = orders.groupby(["channel", "order_date"]).size()
    for year in (2024, 2025):
        golden = pd.date_range(f"{year}-10-01", f"{year}-10-07")
        before = pd.date_range(f"{year}-09-10", f"{year}-09-30")
        offline = daily["offline"]
        assert offline.reindex(golden, fill_value=0).mean() < 0.7 * offline.reindex(before).mean()
        online = daily["online"]
        around = online.reindex(pd.date_range(f"{year}-11-01", f"{year}-11-21")).drop(
            pd.Timestamp(f"{year}-11-11"))
        assert online[pd.Timestamp(f"{year}-11-11")] > 1.8 * around.mean()


def test_end_date_and_years_define_the_period(frames) -> None:
    orders = frames["orders"]
    assert orders["order_date"].max() <= pd.Timestamp(END)
    assert orders["order_date"].min() >= pd.Timestamp(END - timedelta(days=3 * 366))
