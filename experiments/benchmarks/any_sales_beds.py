"""The test beds of the any-sales-data benchmark: the kinds of sales data nobody tuned for.

Each bed is a regular series frame ``unique_id, ds, y`` (zeros where nothing sold, no rows
before a series' first sale), a frequency, a horizon in periods and the forecast origins the
tool is run at, as a user with that history would run it:

- intermittent: generated items of the four Syntetos-Boylan demand classes (daily); Superstore
  weekly sales by sub-category x region; Online Retail II daily sales by country;
- regular seasonal: Superstore's sales by category x region per month and per quarter, a
  quarter ahead (the data planners keep in spreadsheets);
- short history, long horizon: Walmart's 45 stores and the demo company's total at 26, 39 and
  52 weeks of history, forecasting 39 weeks; a generated customer base that decays after an
  acquisition burst, 20 to 30 weeks old, forecasting 26 weeks;
- discontinued and new: generated seasonal series of which some stop and some start late;
  Favorita stores (daily transactions) around the months when three of them opened.

The real-data beds read ``../shared/data``; :func:`available` says which beds can be built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forecast.schemas import DS, UNIQUE_ID, Y
from forecast.synth import beds

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass(frozen=True)
class Bed:
    """One test bed: the full data, the forecast origins and the horizon."""

    name: str
    kind: str  # "intermittent", "seasonal", "short", "new"
    freq: str
    h: int
    origins: tuple[pd.Timestamp, ...]
    frame: pd.DataFrame
    note: str = ""


def _grid(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Each series on a regular grid from its first sale to the frame's end, zero-filled."""
    frame = frame.groupby([UNIQUE_ID, DS], as_index=False)[Y].sum()
    end = frame[DS].max()
    first = frame.groupby(UNIQUE_ID)[DS].min()
    index = pd.MultiIndex.from_tuples(
        [(uid, ds) for uid, start in first.items()
         for ds in pd.date_range(start, end, freq=freq)], names=[UNIQUE_ID, DS])
    return (frame.set_index([UNIQUE_ID, DS])[Y].reindex(index, fill_value=0.0)
            .reset_index().sort_values([UNIQUE_ID, DS], ignore_index=True))


def _week_ending_friday(day: pd.Series) -> pd.Series:
    """The Friday that ends each day's week (Saturday to Friday)."""
    return day + pd.to_timedelta((4 - day.dt.dayofweek) % 7, unit="D")


def _last_origins(frame: pd.DataFrame, freq: str, h: int, n: int) -> tuple[pd.Timestamp, ...]:
    offset = pd.tseries.frequencies.to_offset(freq)
    end = frame[DS].max()
    return tuple(end - (h * k) * offset for k in range(n, 0, -1))


def _rolling(frame: pd.DataFrame, name: str, kind: str, freq: str, h: int, note: str) -> Bed:
    """A bed scored at its last three origins, a horizon apart."""
    return Bed(name, kind, freq, h, _last_origins(frame, freq, h, 3), frame, note)


def synth_intermittent() -> Bed:
    frame = beds.intermittent_demand(n_series=40, n_days=730, seed=0)[[UNIQUE_ID, DS, Y]]
    return _rolling(frame, "synth_intermittent", "intermittent", "D", 28,
                    "40 generated daily items, 10 per Syntetos-Boylan class")


def superstore_weekly() -> Bed:
    raw = pd.read_csv(DATA / "superstore" / "superstore.csv", encoding="utf-8-sig",
                      usecols=["Order Date", "Region", "Sub-Category", "Sales"])
    week = _week_ending_friday(pd.to_datetime(raw["Order Date"], format="%d/%m/%y"))
    frame = pd.DataFrame({UNIQUE_ID: raw["Sub-Category"] + "/" + raw["Region"], DS: week,
                          Y: raw["Sales"].astype(float)})
    frame = _grid(frame, "W-FRI")
    return _rolling(frame, "superstore_weekly", "intermittent", "W-FRI", 13,
                    "Superstore weekly sales, 17 sub-categories x 4 regions")


def online_retail_daily() -> Bed:
    raw = pd.read_csv(DATA / "online_retail_ii" / "online_retail_II_10countries.csv",
                      usecols=["Quantity", "InvoiceDate", "Price", "Country"])
    frame = pd.DataFrame({UNIQUE_ID: raw["Country"],
                          DS: pd.to_datetime(raw["InvoiceDate"]).dt.normalize(),
                          Y: (raw["Quantity"] * raw["Price"]).astype(float)})
    frame = _grid(frame, "D")
    return _rolling(frame, "online_retail_daily", "intermittent", "D", 28,
                    "Online Retail II daily sales by country (returns netted)")


def online_retail_products() -> Bed:
    raw = pd.read_csv(DATA / "online_retail_ii" / "online_retail_II_10countries.csv",
                      usecols=["StockCode", "Quantity", "InvoiceDate", "Price"])
    week = _week_ending_friday(pd.to_datetime(raw["InvoiceDate"]).dt.normalize())
    frame = pd.DataFrame({UNIQUE_ID: raw["StockCode"].astype(str), DS: week,
                          Y: (raw["Quantity"] * raw["Price"]).astype(float)})
    frame = _grid(frame, "W-FRI")
    return _rolling(frame, "online_retail_products", "intermittent", "W-FRI", 13,
                    "Online Retail II weekly sales by product (stock code; returns netted), "
                    "new products arriving throughout")


def _first_weeks(frame: pd.DataFrame, histories: tuple[int, ...], h: int, name: str,
                 note: str) -> Bed:
    start = frame[DS].min()
    origins = tuple(start + (n - 1) * pd.offsets.Week(weekday=start.dayofweek)
                    for n in histories)
    frame = frame[frame[DS] <= origins[-1] + h * pd.offsets.Week(weekday=start.dayofweek)]
    freq = f"W-{start.strftime('%a').upper()}"
    return Bed(name, "short", freq, h, origins, frame.reset_index(drop=True), note)


def _superstore_by(freq: str) -> pd.DataFrame:
    """Superstore's sales per region x category and calendar month or quarter (``freq``
    ``MS`` or ``QS``), dated on the period's first day; the last period, which the orders stop
    partway through, left out."""
    raw = pd.read_csv(DATA / "superstore" / "superstore.csv", encoding="utf-8-sig",
                      usecols=["Order Date", "Region", "Category", "Sales"])
    day = pd.to_datetime(raw["Order Date"], format="%d/%m/%y")
    frame = pd.DataFrame({UNIQUE_ID: raw["Category"] + "/" + raw["Region"],
                          DS: day.dt.to_period(freq[0]).dt.to_timestamp(),
                          Y: raw["Sales"].astype(float)})
    return _grid(frame[frame[DS] < frame[DS].max()], freq)


def superstore_monthly() -> Bed:
    frame = _superstore_by("MS")
    return Bed("superstore_monthly", "seasonal", "MS", 3, _last_origins(frame, "MS", 3, 4),
               frame, "Superstore monthly sales, 3 categories x 4 regions, a quarter ahead")


def superstore_quarterly() -> Bed:
    frame = _superstore_by("QS")
    return Bed("superstore_quarterly", "seasonal", "QS", 1, _last_origins(frame, "QS", 1, 4),
               frame, "Superstore quarterly sales, 3 categories x 4 regions, a quarter ahead")


def walmart_young() -> Bed:
    raw = pd.read_csv(DATA / "walmart_weekly" / "walmart_store_sales_weekly.csv",
                      usecols=["Store", "Date", "Weekly_Sales"])
    frame = pd.DataFrame({UNIQUE_ID: "store_" + raw["Store"].astype(str),
                          DS: pd.to_datetime(raw["Date"]),
                          Y: raw["Weekly_Sales"].astype(float)})
    frame = frame.sort_values([UNIQUE_ID, DS], ignore_index=True)
    return _first_weeks(frame, (26, 39, 52), 39, "walmart_young",
                        "Walmart's 45 stores at 26, 39 and 52 weeks of history, 39 weeks ahead")


def demo_young() -> Bed:
    import tempfile

    from forecast.config.features import SynthOptions
    from forecast.synth.company import generate_company

    with tempfile.TemporaryDirectory() as tmp:
        written = generate_company(SynthOptions(customers=2000, years=3, seed=0), Path(tmp))
        orders = pd.read_parquet(written["files"]["orders"], columns=["order_date", "amount"])
    week = _week_ending_friday(pd.to_datetime(orders["order_date"]))
    frame = pd.DataFrame({UNIQUE_ID: "total", DS: week, Y: orders["amount"].astype(float)})
    frame = _grid(frame, "W-FRI")
    return _first_weeks(frame, (26, 39, 52), 39, "demo_young",
                        "the demo company's weekly total at 26, 39 and 52 weeks, 39 weeks ahead")


def decaying() -> Bed:
    frame = beds.decaying_base(n_weeks=56, seed=0)
    return _first_weeks(frame, (20, 25, 30), 26, "decaying_base",
                        "a customer base that decays after an acquisition burst, 26 weeks ahead")


def stopping_and_new() -> Bed:
    # The origins are 39, 26 and 13 weeks before the end. The stopped series stop 41 to 52
    # weeks before it, so the first origin meets one quiet for only 2 weeks; the new series
    # start 21 to 52 weeks before it, so each origin meets new series 4 to 39 weeks old (a
    # series that starts inside a scored horizon is not scored there: nobody knew of it).
    frame = beds.stopping_and_new(n_series=12, n_weeks=156, seed=0, stop_weeks=(41, 45, 48, 52),
                                  new_weeks=(21, 30, 43, 52))[[UNIQUE_ID, DS, Y]]
    return _rolling(frame, "stopping_and_new", "new", "W-FRI", 13,
                    "generated seasonal series: 4 stopped 41-52 weeks before the end, 4 started "
                    "21-52 weeks before it (4-39 weeks old at the origins)")


def favorita_new_stores() -> Bed:
    raw = pd.read_csv(DATA / "favorita" / "transactions.csv", parse_dates=["date"])
    keep = raw["store_nbr"].isin([1, 2, 3, 4, 5, 6, 21, 22, 42])
    raw = raw[keep & (raw["date"] >= "2015-01-01") & (raw["date"] <= "2015-12-13")]
    frame = pd.DataFrame({UNIQUE_ID: "store_" + raw["store_nbr"].astype(str), DS: raw["date"],
                          Y: raw["transactions"].astype(float)})
    frame = _grid(frame, "D")
    origins = tuple(pd.Timestamp(d) for d in ("2015-09-15", "2015-10-15", "2015-11-15"))
    return Bed("favorita_new_stores", "new", "D", 28, origins, frame,
               "Favorita daily transactions of 6 old stores and 3 opened Jul-Oct 2015")


BEDS: dict[str, Callable[[], Bed]] = {
    "synth_intermittent": synth_intermittent, "superstore_weekly": superstore_weekly,
    "online_retail_daily": online_retail_daily,
    "online_retail_products": online_retail_products, "superstore_monthly": superstore_monthly,
    "superstore_quarterly": superstore_quarterly, "walmart_young": walmart_young,
    "demo_young": demo_young, "decaying_base": decaying, "stopping_and_new": stopping_and_new,
    "favorita_new_stores": favorita_new_stores,
}
_NEEDS = {"superstore_weekly": "superstore", "superstore_monthly": "superstore",
          "superstore_quarterly": "superstore", "online_retail_daily": "online_retail_ii",
          "online_retail_products": "online_retail_ii",
          "walmart_young": "walmart_weekly", "favorita_new_stores": "favorita"}


def available() -> list[str]:
    """The beds whose data is here."""
    return [name for name in BEDS if name not in _NEEDS or (DATA / _NEEDS[name]).is_dir()]
