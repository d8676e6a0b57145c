"""The engine seam: the local engine's two primitives, Prophet on the engine in force (never
kept on the model), seeded Prophet intervals, the ``engine:`` config section and ``--engine``."""

from __future__ import annotations

import pickle
import threading
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

from forecast.cli import main
from forecast.config import EngineConfig, parse_config
from forecast.engine import Engine, LocalEngine, current_engine, use_engine
from forecast.engines import check_spark
from forecast.errors import ConfigError
from forecast.models.prophet_model import ProphetForecaster
from forecast.models.prophet_series import series_seed


def group_total(group: pd.DataFrame, scale: float) -> pd.DataFrame:
    """One row per group: its key, its rows in order and a scaled total."""
    return pd.DataFrame({"g": [group["g"].iloc[0]], "order": [",".join(map(str, group["x"]))],
                         "total": [scale * group["x"].sum()], "index0": [group.index[0]]})


def weekly(n_series: int = 3, n_weeks: int = 80, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2022-01-07", periods=n_weeks, freq="W-FRI")
    wave = 1 + 0.2 * np.sin(2 * np.pi * np.arange(n_weeks) / 52)
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": ds,
                                    "y": 50.0 * (i + 1) * wave + rng.normal(0, 3, n_weeks)})
                      for i in range(n_series)], ignore_index=True)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_local_map_groups_gives_each_group_in_its_row_order(n_jobs):
    data = pd.DataFrame({"g": ["b", "a", "b", "c", "a"], "x": [1, 2, 3, 4, 5]})
    out = LocalEngine(n_jobs=n_jobs).map_groups(data, ["g"], partial(group_total, scale=2.0))
    out = out.sort_values("g").reset_index(drop=True)
    assert out["g"].tolist() == ["a", "b", "c"]
    assert out["order"].tolist() == ["2,5", "1,3", "4"]
    assert out["total"].tolist() == [14.0, 8.0, 8.0]
    assert (out["index0"] == 0).all()  # each group with a fresh index


class Parts:
    """An ArrowSource whose parts record the thread that read them."""

    def __init__(self, parts):
        self.parts = parts
        self.readers: set[int] = set()

    def read(self, part: int) -> pa.Table:
        self.readers.add(threading.get_ident())
        return pa.table({"part": [part] * 3, "x": [1.0, 2.0, 3.0]})

    def export(self, folder: str, part: str, row: str) -> str:  # pragma: no cover
        raise NotImplementedError


def double(table: pa.Table) -> pa.Table:
    return table.set_column(1, "x", pa.compute.multiply(table.column("x"), 2))


def test_local_map_arrow_reads_here_and_yields_results_in_part_order():
    source = Parts([3, 0, 7, 1, 5])
    results = list(LocalEngine(threads=2).map_arrow(source, double))
    assert [part for part, _ in results] == [3, 0, 7, 1, 5]
    assert all(t.column("part").to_pylist() == [p] * 3 for p, t in results)
    assert all(t.column("x").to_pylist() == [2.0, 4.0, 6.0] for _, t in results)
    assert source.readers == {threading.get_ident()}


def test_prophet_intervals_are_the_same_on_every_fit():
    frame = weekly()
    runs = [ProphetForecaster(n_jobs=1, uncertainty_samples=60).fit(frame).predict(6)
            for _ in range(2)]
    pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)
    width = runs[0]["yhat_hi_80"] - runs[0]["yhat_lo_80"]
    assert (width > 0).all()
    # Each series and each origin (a backtest fold) has its own seed.
    origin = pd.Timestamp("2023-07-14")
    assert len({series_seed(f"s{i}", origin) for i in range(3)}) == 3
    assert series_seed("s0", origin) != series_seed("s0", origin - pd.Timedelta(weeks=1))
    assert series_seed("s0", origin) == series_seed("s0", origin.to_pydatetime())


class CountingEngine(LocalEngine):
    """A local engine in one process that counts its map_groups calls."""

    def __init__(self):
        super().__init__(n_jobs=1)
        self.calls = 0

    def map_groups(self, data, by, fn, schema=None):
        self.calls += 1
        return super().map_groups(data, by, fn, schema)


def test_prophet_runs_on_the_engine_in_force_and_never_keeps_it():
    frame = weekly(n_series=2, n_weeks=60)
    engine = CountingEngine()
    assert isinstance(engine, Engine) and current_engine() is None
    with use_engine(engine):
        model = ProphetForecaster(uncertainty_samples=20).fit(frame)
        on_engine = model.predict(4)
    assert engine.calls == 2 and current_engine() is None
    assert not any(isinstance(v, Engine) for v in vars(model).values())
    assert b"CountingEngine" not in pickle.dumps(model)
    # The same numbers without an engine (this machine, n_jobs processes).
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(model)).predict(4), on_engine)


def test_engine_section_of_a_config(tmp_path):
    config = parse_config({"workspace": "ws", "engine": {
        "kind": "spark", "master": "local[2]", "exchange_dir": "exchange",
        "py_files": ["dist/forecast.whl", "s3://bucket/lib.zip"],
        "conf": {"spark.executor.memory": "2g", "spark.sql.ansi.enabled": True}}}, tmp_path)
    engine = config.engine
    assert engine.exchange_dir == str(tmp_path / "exchange") and engine.local_master
    assert engine.py_files == (str(tmp_path / "dist" / "forecast.whl"), "s3://bucket/lib.zip")
    assert engine.conf == {"spark.executor.memory": "2g", "spark.sql.ansi.enabled": "true"}
    assert not engine.remote and config.with_engine("local").engine.kind == "local"
    assert config.with_engine(None) is config
    remote = parse_config({"workspace": "ws", "engine": {
        "kind": "spark", "master": "sc://cluster:15002", "exchange_dir": "s3://bucket/x"}},
        tmp_path).engine
    assert remote.remote and not remote.local_master and remote.exchange_dir == "s3://bucket/x"
    assert parse_config({"workspace": "ws"}, tmp_path).engine.kind == "local"
    with pytest.raises(ConfigError, match="engine.kind"):
        parse_config({"workspace": "ws", "engine": {"kind": "dask"}}, tmp_path)
    with pytest.raises(ConfigError, match="engine.mastr"):
        parse_config({"workspace": "ws", "engine": {"mastr": "local"}}, tmp_path)


def test_a_spark_engine_that_cannot_start_says_what_to_install(monkeypatch):
    import importlib.util
    import shutil

    config = EngineConfig(kind="spark", master="local[2]")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pyspark is not installed.*\[spark\]"):
        check_spark(config)
    monkeypatch.undo()
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ConfigError, match="openjdk-17-jre-headless"):
        check_spark(config)
    check_spark(EngineConfig(kind="spark", master="sc://cluster:15002"))  # a client: no Java


@pytest.mark.parametrize("command", [["train", "revenue"], ["predict", "revenue"],
                                     ["score", "churn"]])
def test_commands_that_run_on_an_engine_take_engine(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "--engine [local|spark]" in result.output


def test_a_pipeline_step_runs_with_its_configs_engine(tmp_path, monkeypatch):
    import importlib.util

    from forecast.engines import on_engine

    seen = []

    @on_engine
    def step(config, value):
        """A step."""
        seen.append((current_engine(), value))
        return value

    config = parse_config({"workspace": "ws"}, tmp_path)
    assert step(config, 3) == 3 and seen == [(None, 3)] and step.__doc__ == "A step."
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="pyspark is not installed"):
        step(config.with_engine("spark"), 4)
    assert len(seen) == 1
