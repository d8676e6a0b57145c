"""Config loading: strict keys, path resolution, shipped configs validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecast.config import load_config, parse_config
from forecast.errors import ConfigError
from forecast.pipeline import demo_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_configs_validate(path):
    config = load_config(path)
    assert config.sources
    assert all(s.path.is_absolute() for s in config.sources)


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    config = parse_config(
        {"workspace": "ws", "sources": [{"table": "orders", "path": "../o.csv",
                                         "columns": {"order_date": "d", "amount": "a"}}]},
        tmp_path / "cfg",
    )
    assert config.workspace == (tmp_path / "cfg" / "ws").resolve()
    assert config.sources[0].path == (tmp_path / "o.csv").resolve()


def test_environment_variables_expand_in_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("FORECAST_TEST_DATA", str(tmp_path / "d"))
    config = parse_config(
        {"workspace": "ws", "sources": [{"table": "orders", "path": "${FORECAST_TEST_DATA}/o.csv",
                                         "columns": {"order_date": "d", "amount": "a"}}]},
        tmp_path,
    )
    assert config.sources[0].path == tmp_path / "d" / "o.csv"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"columns": {"order_date": "d"}}, "needs column(s) ['amount'] mapped"),
        ({"columns": {"order_date": "d", "amount": "a", "weather": "w"}},
         "column(s) ['weather'] are not canonical"),
        ({"columns": {"order_date": "d", "quantity": "q"}, "derive_amount": True},
         "derive_amount needs both quantity and unit_price"),
        ({"columns": {"order_date": "d", "amount": "a"},
          "filters": [{"column": "c", "op": "in", "value": "x"}]}, "needs a non-empty list"),
    ],
)
def test_inconsistent_sources_are_rejected(tmp_path, source, message):
    raw = {"workspace": "ws", "sources": [{"table": "orders", "path": "o.csv", **source}]}
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        parse_config(raw, tmp_path)


def test_non_canonical_tables_need_types(tmp_path):
    raw = {"workspace": "ws", "sources": [{"table": "oil", "path": "oil.csv",
                                           "columns": {"date": "date", "price": "p"},
                                           "types": {"date": "DATE"}}]}
    with pytest.raises(ConfigError, match="give the type of \\['price'\\]"):
        parse_config(raw, tmp_path)


def test_repository_demo_config_matches_the_demo_command():
    shipped = load_config(CONFIGS / "demo.yaml")
    generated = demo_config(CONFIGS.parent / "data" / "demo", CONFIGS.parent / "workspaces" / "demo")
    assert shipped.workspace == generated.workspace.resolve()
    assert [(s.table, s.name, s.path, s.columns) for s in shipped.sources] == [
        (s.table, s.name, s.path.resolve(), s.columns) for s in generated.sources]
    assert shipped.country == generated.country
    assert shipped.features == generated.features
