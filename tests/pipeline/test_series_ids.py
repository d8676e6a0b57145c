"""Series ids name one series: a store called like the company total is refused by name."""

from __future__ import annotations

import json

import duckdb
from click.testing import CliRunner

from forecast.cli import main


def _workspace(tmp_path, stores: list[str]):
    rows = ["store,date,amount"] + [f"{s},2024-01-{d:02d},{10 + d}" for s in stores
                                     for d in range(1, 29)]
    data = tmp_path / "orders.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({
        "workspace": str(tmp_path / "ws"),
        "sources": [{"table": "orders", "path": str(data),
                     "columns": {"store": "store", "order_date": "date", "amount": "amount"}}],
        "features": {"series": {"grains": [[], ["store"]], "freq": "D"}}}), encoding="utf-8")
    assert CliRunner().invoke(main, ["data", "ingest", "--config", str(config)]).exit_code == 0
    return config


def test_a_store_named_total_is_refused_with_its_name(tmp_path):
    config = _workspace(tmp_path, ["total", "north"])
    result = CliRunner().invoke(main, ["features", "series", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "'total' is a store and a total series" in result.output
    assert "Traceback" not in result.output
    with duckdb.connect(str(tmp_path / "ws" / "warehouse.duckdb"), read_only=True) as con:
        tables = {t for (t,) in con.execute("SHOW TABLES").fetchall()}
    assert "series" not in tables


def test_distinct_ids_build(tmp_path):
    config = _workspace(tmp_path, ["south", "north"])
    result = CliRunner().invoke(main, ["features", "series", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["series"] == 3
