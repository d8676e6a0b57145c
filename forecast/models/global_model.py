"""One gradient-boosting model across all series (scikit-learn HistGradientBoostingRegressor).

Direct strategy: every lag and rolling feature looks back at least ``horizon`` periods, so a
single model forecasts all steps 1..horizon from data known at the forecast origin. Each series
is divided by its mean over the training window, so stores of very different size share one
model; the forecast is multiplied back. The seasonal naive with growth's own forecast from
``horizon`` back is a feature too (``lag_features.seasonal_growth``). Calendar and holiday
features, key columns (as categoricals) and exogenous regressors with their future values
complete the features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.errors import ValidationError
from forecast.features.holiday_features import (
    MAX_CATEGORIES,
    build_calendar_features,
    build_holiday_calendar,
)
from forecast.features.intermittency import stopped_series
from forecast.models.base import Forecaster, add_normal_intervals, future_dates
from forecast.models.baselines import season_length_for
from forecast.models.lag_features import (
    default_lags,
    default_windows,
    group_positions,
    lagged,
    per_row,
    periods_per_year,
    rolling_mean,
    seasonal_growth,
)
from forecast.periods import year_length
from forecast.schemas import DEFAULT_LEVELS, DS, FOLD, UNIQUE_ID, YHAT, BoostingLoss, H, Y


class GlobalForecaster(Forecaster):
    """HistGradientBoostingRegressor trained on all series at once (direct multi-step).

    Args:
        horizon: largest h the model will be asked for; every lag is at least this.
        lags: lags in periods, each >= horizon; None picks horizon..horizon+7, the seasonal lags
            at or past the horizon and the lags around one year.
        windows: rolling-mean windows (periods) ending ``horizon`` periods back; None by freq.
        season_length: periods per season; None by freq (7 daily, 52 weekly).
        exog: exogenous columns; None uses every numeric column other than y.
        key_columns: categorical key columns (region, store...); None uses every non-numeric column.
        id_as_category: use unique_id as a categorical; None when there are <= 250 series.
        scale: "mean" divides each series by its mean; "none" leaves it.
        scale_window: periods at the end of the training window the mean is taken over; None
            uses the whole window.
        relative_window: when set, the target and the lag features are also divided by each
            row's own level (the mean of this many periods ending ``horizon`` back), so trends
            in level do not push the target outside the range the trees saw.
        max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, loss:
            passed to HistGradientBoostingRegressor; ``absolute_error`` forecasts the median.
        holidays: optional frame ``holiday, ds`` (+ ``lower_window, upper_window``).
        country: optional ISO country code whose public holidays are added.
        freq: pandas frequency alias; inferred from the frame when None.
        max_train_rows: train on a seeded random sample of at most this many rows.
        random_state: seed of the sample and of the booster.
        n_threads: OpenMP threads of the booster; None keeps the library default. Use 1 on a
            loaded machine: spinning OpenMP threads slow boosting down many times over.
        holdout_intervals: calibrate intervals (conformal, one origin, so its steps pooled)
            on a model refit without the last ``horizon`` periods; doubles fit time. When
            False, intervals come from in-sample residuals and are much too narrow.
        growth_feature: add last year's value times the growth since (the seasonal naive with
            growth's forecast from ``horizon`` back, over a quarter's window; see
            ``lag_features.seasonal_growth``) as a feature, where the frequency has a year.
        learn_from_stopped: also train on the series that stopped selling
            (``features.intermittency.stopped_series``); by default their rows are left out of
            training (they are still forecast). Their quiet tail, seasonal lags still high and
            sales of zero, teaches the model that sales vanish, and a scale taken over a quiet
            window leaves their values unscaled: on generated seasonal series with four products
            stopped a year before, the forecasts of the four still selling were 40 % low.
    """

    across_series = True

    def __init__(
        self,
        horizon: int,
        lags: tuple[int, ...] | None = None,
        windows: tuple[int, ...] | None = None,
        season_length: int | None = None,
        exog: tuple[str, ...] | None = None,
        key_columns: tuple[str, ...] | None = None,
        id_as_category: bool | None = None,
        scale: str = "mean",
        scale_window: int | None = None,
        relative_window: int | None = None,
        max_iter: int = 400,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        loss: BoostingLoss = "absolute_error",
        holidays: pd.DataFrame | None = None,
        country: str | None = None,
        freq: str | None = None,
        max_train_rows: int | None = None,
        random_state: int = 0,
        n_threads: int | None = None,
        holdout_intervals: bool = True,
        growth_feature: bool = True,
        learn_from_stopped: bool = False,
    ):
        self.horizon = horizon
        self.lags = lags
        self.windows = windows
        self.season_length = season_length
        self.exog = exog
        self.key_columns = key_columns
        self.id_as_category = id_as_category
        self.scale = scale
        self.scale_window = scale_window
        self.relative_window = relative_window
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.loss = loss
        self.holidays = holidays
        self.country = country
        self.freq = freq
        self.max_train_rows = max_train_rows
        self.random_state = random_state
        self.n_threads = n_threads
        self.holdout_intervals = holdout_intervals
        self.growth_feature = growth_feature
        self.learn_from_stopped = learn_from_stopped

    def fit(self, frame: pd.DataFrame) -> GlobalForecaster:
        """Learn the booster from a long series frame; see :meth:`Forecaster.fit`."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(self.n_threads, user_api="openmp"):
            return super().fit(frame)

    def predict(self, h: int, future_exog=None, levels=DEFAULT_LEVELS) -> pd.DataFrame:
        """Forecast; see :meth:`Forecaster.predict`."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(self.n_threads, user_api="openmp"):
            return super().predict(h, future_exog, levels)

    def fit_predict(self, frame: pd.DataFrame, h: int, future_exog=None,
                    levels=DEFAULT_LEVELS) -> pd.DataFrame:
        """Fit and forecast; see :meth:`Forecaster.fit_predict`."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(self.n_threads, user_api="openmp"):
            return super().fit_predict(frame, h, future_exog, levels)

    def _fit(self, frame: pd.DataFrame) -> None:
        from sklearn.ensemble import HistGradientBoostingRegressor

        self._resolve_features(frame)
        self.scale_ = self._series_scale(frame)
        table = self._feature_table(frame)
        usable = frame[Y].notna().to_numpy() & table["_usable"].to_numpy()
        self.stopped_ = frozenset() if self.learn_from_stopped else stopped_series(
            frame, self.freq_)
        if self.stopped_:
            active = usable & ~frame[UNIQUE_ID].isin(self.stopped_).to_numpy()
            usable = active if active.any() else usable
        train = table[usable]
        if train.empty:
            raise ValidationError(f"series frame: no rows with {self.horizon} periods of history")
        if self.max_train_rows and len(train) > self.max_train_rows:
            train = train.sample(self.max_train_rows, random_state=self.random_state)
        self.feature_names_ = [c for c in table.columns
                               if not c.startswith("_") and train[c].notna().any()]
        self.model_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization, loss=self.loss,
            categorical_features="from_dtype", random_state=self.random_state,
        )
        self.model_.fit(train[self.feature_names_], train["_target"])
        check = train.sample(min(len(train), 20_000), random_state=self.random_state)
        residual = check["_target"] - self.model_.predict(check[self.feature_names_])
        self.residual_sd_ = float(np.sqrt(np.mean(residual**2)))
        keep = max(self.lags_) + max(self.windows_) + self.horizon
        self.history_ = frame.groupby(UNIQUE_ID, sort=False, observed=True).tail(keep)
        self.calibrator_ = self._holdout_calibrator(frame) if self.holdout_intervals else None

    def _holdout_calibrator(self, frame: pd.DataFrame):
        """Conformal calibrator from forecasts of the last ``horizon`` periods by a refit model
        (one origin: its steps are pooled, see ``models/conformal.py``)."""
        from sklearn.base import clone

        from forecast.models.conformal import CALIBRATED_LEVELS, ConformalCalibrator

        offset = pd.tseries.frequencies.to_offset(self.freq_)
        cutoff = self.last_ds_.max() - self.horizon * offset
        early, late = frame[frame[DS] <= cutoff], frame[frame[DS] > cutoff]
        try:
            inner = clone(self).set_params(holdout_intervals=False, freq=self.freq_).fit(early)
            forecast = inner.predict(self.horizon, late, levels=())
        except ValidationError:
            return None  # too little history to hold out a horizon: keep in-sample intervals
        forecast[H] = forecast.groupby(UNIQUE_ID, sort=False).cumcount() + 1
        rows = forecast.merge(late[[UNIQUE_ID, DS, Y]], on=[UNIQUE_ID, DS]).dropna(subset=[Y])
        if len(rows) < 20:
            return None
        return ConformalCalibrator(levels=CALIBRATED_LEVELS, min_samples=50).fit(
            rows.assign(**{FOLD: 0}))

    def _resolve_features(self, frame: pd.DataFrame) -> None:
        """The fitted feature choices: lags, windows, exogenous, key and id columns."""
        self.season_length_ = self.season_length or season_length_for(self.freq_)
        year = periods_per_year(self.freq_)
        self.lags_ = self.lags or default_lags(self.horizon, self.season_length_, year)
        if min(self.lags_) < self.horizon:
            raise ValidationError(f"lags {self.lags_} must all be >= horizon {self.horizon}")
        self.windows_ = self.windows or default_windows(self.freq_)
        # The growth feature's year (None: off, or a frequency without a year).
        self.growth_year_ = year_length(self.freq_) if self.growth_feature else None
        others = [c for c in frame.columns if c not in (UNIQUE_ID, DS, Y)]
        numeric = [c for c in others if pd.api.types.is_numeric_dtype(frame[c])]
        self.exog_ = list(self.exog) if self.exog is not None else numeric
        self.keys_ = list(self.key_columns) if self.key_columns is not None else [
            c for c in others if c not in numeric]
        missing = [c for c in self.exog_ + self.keys_ if c not in frame.columns]
        if missing:
            raise ValidationError(f"series frame: missing exogenous or key column(s) {missing}")
        use_id = self.id_as_category
        self.use_id_ = frame[UNIQUE_ID].nunique() <= MAX_CATEGORIES if use_id is None else use_id
        self.categories_ = {c: _top_categories(frame[c]) for c in self.keys_}
        if self.use_id_:
            self.categories_[UNIQUE_ID] = _top_categories(frame[UNIQUE_ID])
        self.calendar_ = build_holiday_calendar(frame[DS], self.holidays, self.country)
        self.scale_kind_ = self.scale

    def _series_scale(self, frame: pd.DataFrame) -> pd.Series:
        if self.scale_kind_ == "none":
            return pd.Series(1.0, index=self.last_ds_.index)
        window = self.scale_window
        rows = frame if window is None else frame.groupby(
            UNIQUE_ID, sort=False, observed=True).tail(window)
        scale = rows.groupby(UNIQUE_ID, sort=True, observed=True)[Y].mean().abs()
        return scale.where(scale > 0, 1.0).fillna(1.0)

    def _feature_table(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Features of every row of a regular frame sorted by ``unique_id, ds``."""
        ids = frame[UNIQUE_ID].to_numpy()
        values = frame[Y].to_numpy(dtype=float) / per_row(self.scale_, ids)
        position = group_positions(ids)
        columns: dict[str, np.ndarray] = {"age": position.astype(float)}
        for lag in self.lags_:
            columns[f"lag_{lag}"] = lagged(values, position, lag)
        for window in self.windows_:
            columns[f"mean_{window}"] = rolling_mean(values, position, self.horizon, window)
        seasonal = [k * self.season_length_ for k in range(1, 60)
                    if k * self.season_length_ >= self.horizon][:4]
        seasonal_lags = np.column_stack([lagged(values, position, k) for k in seasonal])
        count = np.sum(~np.isnan(seasonal_lags), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            columns["seasonal_mean"] = np.where(
                count > 0, np.nansum(seasonal_lags, axis=1) / count, np.nan)
        if self.growth_year_:
            columns["seasonal_growth"] = seasonal_growth(values, position, self.horizon,
                                                         self.growth_year_,
                                                         max(1, self.growth_year_ // 4))
        table = pd.DataFrame(columns, index=frame.index)
        table = pd.concat([table, build_calendar_features(frame[DS], self.freq_, self.calendar_)],
                          axis=1)
        for column in self.exog_:
            table[column] = frame[column].to_numpy(dtype=float)
        for column, categories in self.categories_.items():
            table[column] = pd.Categorical(frame[column].astype(str), categories=categories)
        level = np.ones(len(values))
        window = self.relative_window
        if window:
            level = rolling_mean(values, position, self.horizon, window)
            level = np.where(np.isfinite(level) & (level > 0), level, 1.0)
            relative = [c for c in table.columns if c.startswith(("lag_", "mean_", "seasonal"))]
            table[relative] = table[relative].to_numpy() / level[:, None]
            table["level"] = level
        table["_target"] = values / level
        table["_level"] = level
        table["_usable"] = position >= self.horizon
        return table

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        if h > self.horizon:
            raise ValidationError(f"h={h} exceeds the horizon {self.horizon} the model was fit for")
        future = future_dates(self.last_ds_, h, self.freq_)
        future = self._attach_exog(future, future_exog)
        static = self.history_.groupby(UNIQUE_ID, sort=False, observed=True)[self.keys_].last()
        if self.keys_:
            future = future.merge(static, left_on=UNIQUE_ID, right_index=True, how="left")
        combined = pd.concat([self.history_, future.assign(**{Y: np.nan})], ignore_index=True)
        combined = combined.sort_values([UNIQUE_ID, DS], kind="stable").reset_index(drop=True)
        table = self._feature_table(combined)
        ids = combined[UNIQUE_ID].to_numpy()
        is_future = combined[DS].to_numpy() > per_row(self.last_ds_, ids)
        rows = combined.loc[is_future, [UNIQUE_ID, DS]].reset_index(drop=True)
        scale = per_row(self.scale_, rows[UNIQUE_ID].to_numpy())
        scale = scale * table.loc[is_future, "_level"].to_numpy()
        rows[YHAT] = self.model_.predict(table.loc[is_future, self.feature_names_]) * scale
        rows = add_normal_intervals(rows, self.residual_sd_ * scale, levels)
        calibrated = set(self.calibrator_.levels) if self.calibrator_ is not None else set()
        if levels and set(levels) <= calibrated:
            rows[H] = rows.groupby(UNIQUE_ID, sort=False).cumcount() + 1
            rows = self.calibrator_.transform(rows).drop(columns=H)
        return rows

    def _attach_exog(self, future: pd.DataFrame, future_exog: pd.DataFrame | None):
        if not self.exog_:
            return future
        if future_exog is None:
            raise ValidationError(f"future_exog is needed with the future values of {self.exog_}")
        missing = [c for c in self.exog_ if c not in future_exog.columns]
        if missing:
            raise ValidationError(f"future_exog: missing column(s) {missing}")
        exog = future_exog[[UNIQUE_ID, DS, *self.exog_]]
        out = future.merge(exog, on=[UNIQUE_ID, DS], how="left")
        gaps = out[self.exog_].isna().all(axis=1)
        if gaps.any():
            example = out.loc[gaps, [UNIQUE_ID, DS]].head(3).to_dict("records")
            raise ValidationError(f"future_exog: no values for {int(gaps.sum())} forecast rows, "
                                  f"e.g. {example}")
        return out


def _top_categories(column: pd.Series) -> list[str]:
    counts = column.astype(str).value_counts()
    return sorted(counts.index[:MAX_CATEGORIES])


class HorizonBlocksForecaster(Forecaster):
    """Direct global models for blocks of steps, so near steps use recent history.

    A single direct model forecasting ``horizon`` steps only sees lags of at least ``horizon``,
    so its forecast of next week ignores the last quarter. Here block ``k`` (steps
    ``blocks[k-1] + 1 .. blocks[k]``) comes from a copy of ``base`` whose horizon, and so whose
    shortest lag, is ``blocks[k]``. Costs one fit per block.

    Args:
        base: the global model of the whole horizon (``base.horizon`` is the last block's end).
        blocks: ends of the earlier blocks, each shorter than ``base.horizon``; e.g. ``(7, 28)``
            for a 91-day horizon gives models for steps 1-7, 8-28 and 29-91.
        freq: pandas frequency alias; inferred from the frame when None.
    """

    across_series = True

    def __init__(self, base: GlobalForecaster, blocks=(), freq: str | None = None):
        self.base = base
        self.blocks = blocks
        self.freq = freq

    def _ends(self) -> list[int]:
        ends = sorted({int(b) for b in self.blocks} | {int(self.base.horizon)})
        if ends[0] < 1 or ends[-1] != int(self.base.horizon):
            raise ValidationError(f"blocks {tuple(self.blocks)} must be between 1 and the "
                                  f"horizon {self.base.horizon}")
        return ends

    def _fit(self, frame: pd.DataFrame) -> None:
        from sklearn.base import clone

        self.ends_ = self._ends()
        self.models_ = [clone(self.base).set_params(horizon=end, freq=self.freq_).fit(frame)
                        for end in self.ends_]

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        if h > self.ends_[-1]:
            raise ValidationError(f"h={h} exceeds the horizon {self.ends_[-1]} the model was fit "
                                  "for")
        pieces, start = [], 0
        for end, model in zip(self.ends_, self.models_):
            if start >= h:
                break
            piece = model.predict(min(end, h), future_exog, levels)
            step = piece.groupby(UNIQUE_ID, sort=False).cumcount().to_numpy() + 1
            pieces.append(piece[step > start])
            start = end
        return pd.concat(pieces, ignore_index=True).sort_values([UNIQUE_ID, DS], kind="stable")
