"""``forecast tiers`` end to end: a hand-worked warehouse, the demo company and real data."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from forecast.cli import main
from forecast.config.tiers import DEFAULT_ACTIONS

REPO = Path(__file__).resolve().parents[2]

# Four customers; tiers as of 2024-07-01 with a 30-day revenue window and a 60-day RFM window
# (revenue [06-01, 07-01), prior [05-02, 06-01), RFM [05-02, 07-01)).
ORDERS = """order_id,date,customer,amount
o1,2024-06-10,A,100
o1,2024-06-10,A,50
o2,2024-05-10,A,40
C3,2024-06-20,A,-30
o9,2024-07-05,A,200
o4,2024-03-01,B,80
o5,2024-06-30,B,20
C6,2024-06-15,C,-25
,2024-06-05,D,10
,2024-06-05,D,15
o7,2024-06-12,,999
"""


def _tiny(tmp_path, write_config, **tiers) -> Path:
    """A warehouse of ORDERS, tiers over 30 and 60 days (+ ``tiers``); returns the config."""
    source = tmp_path / "orders.csv"
    source.write_text(ORDERS, encoding="utf-8")
    config = write_config({
        "sources": [{"table": "orders", "path": str(source), "columns": {
            "order_id": "order_id", "order_date": "date", "customer_id": "customer",
            "amount": "amount"}}],
        "tiers": {"revenue_days": 30, "rfm_days": 60, **tiers},
    })
    result = CliRunner().invoke(main, ["data", "ingest", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return config


@pytest.fixture
def tiny_workspace(tmp_path, write_config) -> Path:
    """A warehouse of ORDERS (churn scores are added by the tests that need them)."""
    return _tiny(tmp_path, write_config)


def _add_churn_scores(workspace: Path) -> None:
    with duckdb.connect(str(workspace / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE churn_scores (customer_id VARCHAR, cutoff DATE, "
                    "churn_proba DOUBLE, tier VARCHAR)")
        con.execute("""INSERT INTO churn_scores VALUES
            ('A', '2024-04-01', 0.1, 'low'), ('B', '2024-04-01', 0.1, 'low'),
            ('A', '2024-07-01', 0.8, 'high'), ('B', '2024-07-01', 0.05, 'low'),
            ('A', '2024-08-01', 0.3, 'medium'), ('C', '2024-08-01', 0.9, 'high')""")


def _run(config: Path, *args: str):
    return CliRunner().invoke(main, ["tiers", "--config", str(config), "--json", *args])



def test_the_note_says_which_unscored_customers_scoring_left_out_as_lapsed(tmp_path,
                                                                           write_config):
    """Regression: on Superstore 100 customers had 'no churn score: risk unknown', and nothing
    said that all of them had bought nothing in the year scoring looks back on."""
    config = _tiny(tmp_path, write_config)
    _add_churn_scores(tmp_path / "ws")
    text = yaml.safe_load(config.read_text())
    lapsed = write_config({**text, "churn": {"active_within_days": 20}}, name="lapsed.yaml")
    result = _run(lapsed, "--as-of", "2024-07-01")
    assert result.exit_code == 0, result.output
    # C (last order 16 days before) and D (26) have no score; D lies outside the 20 days.
    assert json.loads(result.stdout)["notes"][-1] == (
        "2 customers have no churn score at 2024-07-01: risk unknown (1 of them bought nothing "
        "in the 20 days before it, and churn.active_within_days scores recent buyers only)")

def test_tiers_of_a_hand_worked_warehouse(tiny_workspace, tmp_path):
    workspace = tmp_path / "ws"
    _add_churn_scores(workspace)
    result = _run(tiny_workspace, "--as-of", "2024-07-01")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["as_of"] == "2024-07-01" and payload["customers"] == 4
    # Net revenue in [06-01, 07-01): A 150 - 30, B 20, C -25, D 10 + 15.
    assert payload["revenue"] == 140.0
    # The latest cutoff on or before as_of is 07-01; 08-01 lies after it.
    assert payload["risk"] == {"table": "churn_scores", "cutoff": "2024-07-01", "unknown": 2}
    # Four customers, one with a repeat purchase: too few for the purchase model, said so.
    assert payload["notes"] == [
        ("no expected value next 30 days: the purchase model does not fit these customers "
         "(fewer than 10 customers with a repeat purchase); value tiers from revenue alone"),
        "2 customers have no churn score at 2024-07-01: risk unknown"]

    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        tiers = con.execute("SELECT * FROM customer_tiers").df().set_index("customer_id")
    # Lines are netted per order (D's two lines without an order id are one order of the day);
    # the cancellation C3 is revenue, not an order; o9 lies after as_of; C only returned goods.
    assert tiers.loc[list("ABCD"), "recency_days"].tolist() == [21, 1, 16, 26]
    assert tiers.loc[list("ABCD"), "frequency"].tolist() == [2, 1, 0, 1]
    assert tiers.loc[list("ABCD"), "monetary"].tolist() == [160.0, 20.0, -25.0, 25.0]
    assert tiers.loc[list("ABCD"), "revenue_prior"].tolist() == [40.0, 0.0, 0.0, 0.0]
    assert str(tiers.loc["B", "first_order"].date()) == "2024-03-01"
    # n = 4, so scores are 1 + floor(5w/4) = 1, 2, 3, 4 for w = 0..3 customers strictly worse.
    # R: D26 A21 C16 B1; F: C0, B1 and D1 (tied: both w = 1), A2; M: C-25 B20 D25 A160.
    assert tiers.loc[list("ABCD"), "rfm_score"].tolist() == ["244", "422", "311", "123"]
    assert tiers.loc[list("ABCD"), "rfm_segment"].tolist() == [
        "at risk", "potential loyalists", "about to sleep", "at risk"]
    # Positive revenue 165: shares before A 0, D 120/165 = .73, B 145/165 = .88.
    assert tiers.loc[list("ABCD"), "abc_class"].tolist() == ["A", "B", "C", "A"]
    # Median positive revenue is 25: new D (25) is potential, new B (20) is not.
    assert tiers.loc[list("ABCD"), "value_tier"].tolist() == [
        "key account", "regular", "regular", "potential"]
    assert tiers.loc[list("ABCD"), "risk_tier"].tolist() == ["high", "low", "unknown", "unknown"]
    assert tiers.loc["A", "action"] == "executive visit this week"
    assert tiers.loc["D", "action"] == DEFAULT_ACTIONS["potential|unknown"]

    values = {row["tier"]: row for row in payload["summary"]["value_tier"]}
    assert values["key account"]["revenue_share"] == round(120 / 140, 4)
    assert values["regular"]["revenue"] == -5.0 and values["regular"]["customers"] == 2
    cell = {row["tier"]: row for row in payload["summary"]["matrix"]}["key account|high"]
    assert cell == {"tier": "key account|high", "customers": 1, "customer_share": 0.25,
                    "revenue": 120.0, "revenue_share": round(120 / 140, 4),
                    "action": "executive visit this week"}


def test_files_hold_both_tables(tiny_workspace, tmp_path):
    result = _run(tiny_workspace, "--as-of", "2024-07-01")
    assert result.exit_code == 0, result.output
    out = tmp_path / "ws" / "outputs"
    assert json.loads(result.stdout)["files"] == [
        str(out / "customer_tiers.csv"), str(out / "tier_summary.csv"), str(out / "tiers.xlsx")]
    csv = pd.read_csv(out / "customer_tiers.csv")
    assert csv["customer_id"].tolist() == ["A", "D", "B", "C"]  # largest revenue first
    book = pd.read_excel(out / "tiers.xlsx", sheet_name=None)
    assert list(book) == ["tier_summary", "customer_tiers"]  # the summary first
    assert sorted(book["customer_tiers"]["customer_id"]) == ["A", "B", "C", "D"]
    assert len(book["tier_summary"]) == len(pd.read_csv(out / "tier_summary.csv")) == 32
    assert not list(out.glob("*.tmp"))


def test_measures_over_all_history_when_rfm_days_is_null(tmp_path):
    from forecast.config.tiers import TiersConfig
    from forecast.io.decision_queries import tier_measures_sql

    source = tmp_path / "orders.csv"
    source.write_text(ORDERS, encoding="utf-8")
    with duckdb.connect() as con:
        con.execute("CREATE TABLE orders AS SELECT order_id, date AS order_date, "
                    "customer AS customer_id, amount FROM read_csv(?, header = true)",
                    [str(source)])
        sql = tier_measures_sql(date(2024, 7, 1), TiersConfig(rfm_days=None, revenue_days=30))
        got = con.execute(*sql).df().set_index("customer_id")
    # B's order o4 of 03-01 now counts: two orders and 80 + 20.
    assert got["frequency"].tolist() == [2, 2, 0, 1]
    assert got["monetary"].tolist() == [160.0, 100.0, -25.0, 25.0]
    assert got["revenue"].tolist() == [120.0, 20.0, -25.0, 25.0]


def test_customers_beyond_excel_rows_leave_the_workbook_with_the_summary(
        tiny_workspace, tmp_path, monkeypatch):
    monkeypatch.setattr("forecast.pipeline.tiers.EXCEL_MAX_ROWS", 4)
    result = _run(tiny_workspace, "--as-of", "2024-07-01")
    assert result.exit_code == 0, result.output
    assert "4 customers do not fit in an Excel sheet" in json.loads(result.stdout)["notes"][-1]
    book = pd.read_excel(tmp_path / "ws" / "outputs" / "tiers.xlsx", sheet_name=None)
    assert list(book) == ["tier_summary"]


def test_expected_value_can_be_left_out(tmp_path, write_config):
    config = _tiny(tmp_path, write_config, expected_value=False)
    result = _run(config, "--as-of", "2024-07-01")
    assert result.exit_code == 0, result.output
    assert not any("expected value" in note for note in json.loads(result.stdout)["notes"])
    with duckdb.connect(str(tmp_path / "ws" / "warehouse.duckdb"), read_only=True) as con:
        columns = [c[0] for c in con.execute("DESCRIBE customer_tiers").fetchall()]
    assert "expected_value" not in columns and "p_alive" not in columns


def test_without_churn_scores_the_matrix_is_given_with_a_note(tiny_workspace):
    result = _run(tiny_workspace)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    # Default as_of: the day after the last order with a customer (o9 on 07-05).
    assert payload["as_of"] == "2024-07-06"
    assert payload["risk"] == {"table": None, "cutoff": None, "unknown": 4}
    assert "no churn_scores table" in payload["notes"][0]
    cells = {row["tier"]: row["customers"] for row in payload["summary"]["matrix"]}
    assert len(cells) == 12 and sum(cells.values()) == 4
    assert sum(n for key, n in cells.items() if key.endswith("|unknown")) == 4


def test_human_output_lists_tiers_and_actions(tiny_workspace):
    result = CliRunner().invoke(main, ["tiers", "--config", str(tiny_workspace),
                                       "--as-of", "2024-07-01"])
    assert result.exit_code == 0, result.output
    assert "tiered 4 customers as of 2024-07-01" in result.stdout
    assert "key account|unknown" in result.stdout
    assert DEFAULT_ACTIONS["key account|unknown"] in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--as-of", "2024-01-01"], "no order with a customer id before 2024-01-01"),
    (["--as-of", "01/07/2024"], "Invalid value for '--as-of'"),
])
def test_bad_as_of_is_a_message(tiny_workspace, args, message):
    result = _run(tiny_workspace, *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_missing_warehouse_or_customer_ids_is_a_message(tmp_path, write_config):
    config = write_config({})
    result = _run(config)
    assert result.exit_code == 2 and result.stderr.startswith("error: no warehouse")
    source = tmp_path / "series.csv"
    source.write_text("date,store,amount\n2024-01-02,1,3\n", encoding="utf-8")
    config = write_config({"sources": [{"table": "orders", "path": str(source), "columns": {
        "order_date": "date", "store": "store", "amount": "amount"}}]})
    assert CliRunner().invoke(main, ["data", "ingest", "--config", str(config)]).exit_code == 0
    result = _run(config)
    assert result.exit_code == 2 and "the orders hold no customer ids" in result.stderr


def _check_invariants(con: duckdb.DuckDBPyConnection, cutoffs=(0.8, 0.95)) -> pd.DataFrame:
    """Rules that hold on any data: quintiles that keep ties, Pareto classes, summary totals."""
    tiers = con.execute("SELECT * FROM customer_tiers").df()
    n = len(tiers)
    for score, value in (("r_score", -tiers["recency_days"]), ("f_score", tiers["frequency"])):
        assert (tiers.groupby(value)[score].nunique() == 1).all(), score  # ties score equal
        ranked = tiers[score].iloc[value.argsort(kind="stable").to_numpy()]
        assert ranked.is_monotonic_increasing, score  # a better value never scores lower
        for s in range(2, 6):  # a quintile boundary only moves down, to where a tie starts
            assert not (tiers[score] >= s).any() or (tiers[score] < s).sum() >= (s - 1) * n / 5
    positive = tiers[tiers["revenue"] > 0].sort_values("revenue", ascending=False)
    total = positive["revenue"].sum()
    a = positive[positive["abc_class"] == "A"]
    assert a["revenue"].sum() / total >= cutoffs[0]
    assert (a["revenue"].sum() - a["revenue"].iloc[-1]) / total < cutoffs[0]
    assert set(tiers.loc[tiers["revenue"] <= 0, "abc_class"]) <= {"C"}
    assert set(tiers.loc[tiers["revenue"] <= 0, "value_tier"]) <= {"regular"}
    assert tiers.loc[tiers["monetary"] <= 0, "m_score"].eq(1).all()
    summary = con.execute("SELECT * FROM tier_summary").df()
    for _, part in summary.groupby("dimension"):
        assert part["customers"].sum() == n
        assert part["revenue_share"].sum() == pytest.approx(1.0)
    return tiers


def test_tiers_of_the_demo_company(tmp_path):
    workspace = tmp_path / "demo"
    runner = CliRunner()
    demo = runner.invoke(main, ["demo", "--workspace", str(workspace), "--customers", "150",
                                "--until", "customer snapshots"])
    assert demo.exit_code == 0, demo.output
    result = runner.invoke(main, ["tiers", "--config", str(workspace / "demo.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        buyers, last = con.execute("SELECT count(DISTINCT customer_id), max(order_date) + 1 "
                                   "FROM orders WHERE customer_id IS NOT NULL").fetchone()
        assert payload["customers"] == buyers and payload["as_of"] == str(last)
        tiers = _check_invariants(con)
    key = tiers[tiers["value_tier"] == "key account"]
    assert key["revenue"].sum() / tiers["revenue"].clip(lower=0).sum() >= 0.5
    # The expected value next year beside the revenue of the last: every buyer has one.
    assert not any("expected value" in note for note in payload["notes"])
    assert tiers["expected_value"].notna().all() and (tiers["expected_value"] >= 0).all()
    assert tiers["p_alive"].between(0, 1).all()
    # A customer the model sees growing to the potential floor is potential, unless key.
    positive = tiers.loc[tiers["revenue"] > 0, "revenue"]
    floor = positive.quantile(0.5)
    rising = (tiers["revenue"] > 0) & (tiers["expected_value"] >= floor) & (
        tiers["expected_value"] >= 1.25 * tiers["revenue"])
    assert (tiers.loc[rising, "value_tier"] != "regular").all()


def _ingest(config: Path, workspace: Path) -> None:
    result = CliRunner().invoke(main, ["data", "ingest", "--config", str(config),
                                       "--workspace", str(workspace)])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_tiers_of_superstore(shared_data, tmp_path):
    workspace = tmp_path / "ws_superstore"
    _ingest(REPO / "configs" / "superstore.yaml", workspace)
    result = CliRunner().invoke(main, ["tiers", "--config", str(REPO / "configs" /
                                       "superstore.yaml"), "--workspace", str(workspace),
                                       "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    raw = pd.read_csv(shared_data / "superstore" / "superstore.csv", encoding="utf-8-sig")
    raw["day"] = pd.to_datetime(raw["Order Date"], format="%d/%m/%y")
    as_of = raw["day"].max() + pd.Timedelta(days=1)
    window = raw[raw["day"] >= as_of - pd.Timedelta(days=365)]
    assert payload["as_of"] == str(as_of.date())
    assert payload["customers"] == raw["Customer ID"].nunique()
    # Each line's amount is rounded to cents at ingest; a line written with an exact half cent
    # (12.645) is a binary number a hair above or below it, so it may go either way.
    sales = window["Sales"]
    halves = int(((sales * 100 % 1) - 0.5).abs().lt(1e-6).sum())
    assert payload["revenue"] == pytest.approx(sales.map(lambda v: round(v, 2)).sum(),
                                               abs=0.01 * (halves + 1))
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        tiers = _check_invariants(con).set_index("customer_id")
    orders = window.groupby("Customer ID")["Order ID"].nunique()
    rfm = raw[raw["day"] >= as_of - pd.Timedelta(days=730)].groupby("Customer ID")["Order ID"]
    assert tiers.loc[orders.index, "revenue"].gt(0).all()
    assert (tiers.loc[rfm.nunique().index, "frequency"] == rfm.nunique()).all()


@pytest.mark.slow
def test_tiers_of_online_retail_with_cancellations(shared_data, tmp_path):
    config = REPO / "configs" / "online_retail.yaml"
    workspace = tmp_path / "ws_online_retail"
    _ingest(config, workspace)
    result = CliRunner().invoke(main, ["tiers", "--config", str(config), "--workspace",
                                       str(workspace), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_II_10countries.csv",
                      dtype={"Invoice": str, "Customer ID": str})
    # Ingest quarantines lines without a customer; identical lines are real repeat purchases
    # (the config declares no unique key), so they load and count.
    raw = raw[raw["Customer ID"].notna()]
    # The file writes ids as floats (12417.0); ingest reads them as the whole numbers they are.
    raw["Customer ID"] = raw["Customer ID"].str.replace(r"\.0+$", "", regex=True)
    raw["day"] = pd.to_datetime(raw["InvoiceDate"]).dt.normalize()
    raw["amount"] = raw["Quantity"] * raw["Price"]
    as_of = raw["day"].max() + pd.Timedelta(days=1)
    assert payload["as_of"] == str(as_of.date())
    assert payload["customers"] == raw["Customer ID"].nunique()
    window = raw[raw["day"] >= as_of - pd.Timedelta(days=365)]
    assert payload["revenue"] == pytest.approx(window["amount"].sum(), abs=0.01)
    # Frequency counts invoices with a positive net amount: never the "C" cancellations.
    recent = raw[raw["day"] >= as_of - pd.Timedelta(days=730)]
    invoices = recent.groupby(["Customer ID", "Invoice"])["amount"].sum()
    expected = invoices[invoices > 0].groupby(level=0).size()
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        tiers = _check_invariants(con).set_index("customer_id")
    got = tiers["frequency"]
    assert (got.loc[expected.index] == expected).all()
    assert got.drop(expected.index).eq(0).all()


def test_measures_are_the_same_to_the_bit_whatever_order_the_rows_are_added_in():
    """The chain reruns a step whose output table changed, and a step after it when the table
    it reads changed: parallel double sums that differ in the last bit from run to run reran
    steps for nothing (and made a chain test fail now and then). Amounts whose double sums
    depend on the order of addition give one answer in any order, and in customer order."""
    from forecast.config.tiers import TiersConfig
    from forecast.io.decision_queries import tier_measures_sql

    amounts = [0.1, 0.2, 0.3, 1e16, -1e16, 0.7, 123.456, 1e-3] * 8
    assert sum(amounts) != sum(reversed(amounts))  # the doubles really depend on the order
    sql = tier_measures_sql(date(2024, 7, 1), TiersConfig(rfm_days=None, revenue_days=400))
    rows = [(f"o{i}", date(2024, 1, 1), f"c{i % 3}", a) for i, a in enumerate(amounts)]
    rows += [("x", date(2024, 1, 2), "c0", float("nan"))]
    results = []
    for order in (rows, list(reversed(rows))):
        with duckdb.connect() as con:
            con.execute("CREATE TABLE orders (order_id VARCHAR, order_date DATE, "
                        "customer_id VARCHAR, amount DOUBLE)")
            con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", order)
            results.append(con.execute(*sql).fetchall())
    assert [r[0] for r in results[0]] == ["c0", "c1", "c2"]
    assert repr(results[0]) == repr(results[1])
    assert math.isnan(results[0][0][5])  # a NaN amount stays NaN, never a number
