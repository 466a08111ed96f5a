"""Fit/transform scalers: learn min-max or z-score statistics once, apply them anywhere.

:func:`~ml_infra_utils.normalize` and :func:`~ml_infra_utils.standardize` scale
a dataset by its own statistics. A model, though, must see validation and
production data scaled exactly as its training data was, or statistics of the
held-out data leak into it. The scalers here follow scikit-learn's estimator
interface: ``fit`` on training data, ``transform`` anything, and
``inverse_transform`` back.

- 1-D input (a sequence of numbers) is one feature and comes back 1-D; 2-D input
  (a sequence of equal-length rows) scales each column, as scikit-learn does.
- ``partial_fit(chunk)`` learns from data that does not fit in memory; the
  state merges exactly (min/max) or with Chan's parallel formula (mean and
  spread), so chunked fitting matches a one-pass fit to ~1e-15 relative.
- ``to_dict()``/``from_dict()`` save a scaler as plain JSON-able data.

A scaler is not safe to *fit* from several threads at once; once fitted,
``transform`` only reads its state and may run concurrently.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self, overload

from ml_infra_utils._errors import (
    EmptyInputError,
    InfiniteValueError,
    InputTypeError,
    InvalidParameterError,
    NotFittedError,
    ShapeError,
)
from ml_infra_utils._repr import short_repr
from ml_infra_utils._sequences import as_real_columns, check_flag

from ._kernels import (
    FLOAT_MAX,
    beyond_float_error,
    check_ddof,
    check_feature_range,
    lerp_values,
    moments,
    two_sum,
    unit_scale,
)

__all__ = ["MinMaxScaler", "StandardScaler"]

_FORMAT_VERSION = 1


class _Scaler:
    """What both scalers share: input handling, fitted checks, save and load."""

    _state_keys: ClassVar[tuple[str, ...]]

    def __init__(self) -> None:
        self._n_samples = 0
        self._n_features = 0

    # -------------------------------------------------------------- fitting
    def fit(self, data: Iterable[float] | Iterable[Sequence[float]]) -> Self:
        """Learn the statistics of *data*, forgetting anything learnt before.

        Raises:
            EmptyInputError: For empty data.
            InvalidParameterError: For a ``StandardScaler`` with ``ddof`` at
                least the number of samples (no degrees of freedom left).
        """
        columns, _ = self._columns(data)
        self._check_fit_size(columns)
        self._learn(columns, fresh=True)
        return self

    def partial_fit(self, data: Iterable[float] | Iterable[Sequence[float]]) -> Self:
        """Update the statistics with one more chunk of data (empty chunks are fine).

        Raises:
            ShapeError: When the chunk has a different number of features than
                the data seen so far.
        """
        columns, _ = self._columns(data)
        if columns:
            self._learn(columns, fresh=False)
        return self

    def _check_fit_size(self, columns: list[list[float | int]]) -> None:
        """Refuse a whole-data fit on too little data (before any state changes)."""
        if not columns:
            msg = f"Cannot fit a {type(self).__name__} on empty data"
            raise EmptyInputError(msg)

    def _learn(self, columns: list[list[float | int]], *, fresh: bool) -> None:
        # _merge computes the new state completely before it stores any of it,
        # so a chunk that raises leaves the scaler as it was.
        seen = 0 if fresh else self._n_samples
        if seen:
            self._check_width(len(columns))
        self._merge(columns, seen)
        self._n_samples = seen + len(columns[0])
        self._n_features = len(columns)

    # -------------------------------------------------------------- applying
    @overload
    def transform(self, data: Iterable[float]) -> list[float]: ...
    @overload
    def transform(self, data: Iterable[Sequence[float]]) -> list[list[float]]: ...
    def transform(
        self, data: Iterable[float] | Iterable[Sequence[float]]
    ) -> list[float] | list[list[float]]:
        """Scale *data* with the learnt statistics; the output has its shape.

        Raises:
            NotFittedError: Before ``fit`` or ``partial_fit``.
            ShapeError: When *data* has a different number of features.
        """
        self._check_fitted()
        columns, two_d = self._columns(data)
        return self._shape(self._apply(columns, inverse=False), two_d)

    @overload
    def fit_transform(self, data: Iterable[float]) -> list[float]: ...
    @overload
    def fit_transform(self, data: Iterable[Sequence[float]]) -> list[list[float]]: ...
    def fit_transform(
        self, data: Iterable[float] | Iterable[Sequence[float]]
    ) -> list[float] | list[list[float]]:
        """``fit(data)`` then ``transform(data)``, checking the input only once."""
        columns, two_d = self._columns(data)
        self._check_fit_size(columns)
        self._learn(columns, fresh=True)
        return self._shape(self._apply(columns, inverse=False), two_d)

    @overload
    def inverse_transform(self, data: Iterable[float]) -> list[float]: ...
    @overload
    def inverse_transform(
        self, data: Iterable[Sequence[float]]
    ) -> list[list[float]]: ...
    def inverse_transform(
        self, data: Iterable[float] | Iterable[Sequence[float]]
    ) -> list[float] | list[list[float]]:
        """Map scaled data back to the original units.

        Raises:
            NotFittedError: Before ``fit`` or ``partial_fit``.
            ShapeError: When *data* has a different number of features.
        """
        self._check_fitted()
        columns, two_d = self._columns(data)
        return self._shape(self._apply(columns, inverse=True), two_d)

    def _apply(
        self, columns: list[list[float | int]], *, inverse: bool
    ) -> list[list[float]]:
        if not columns:
            return []
        self._check_width(len(columns))
        # Per-feature constants are computed once per call, not once per column.
        prepared = self._prepare()
        return [
            self._scale_column(j, c, inverse, prepared) for j, c in enumerate(columns)
        ]

    @staticmethod
    def _shape(
        columns: list[list[float]], two_d: bool
    ) -> list[float] | list[list[float]]:
        if not columns:
            return []
        if two_d:
            return list(map(list, zip(*columns, strict=True)))
        return columns[0]

    # -------------------------------------------------------------- attributes
    @property
    def n_features_in_(self) -> int:
        """The number of features (columns) seen in fitting."""
        self._check_fitted()
        return self._n_features

    @property
    def n_samples_seen_(self) -> int:
        """The number of samples (rows) fitted so far."""
        self._check_fitted()
        return self._n_samples

    # -------------------------------------------------------------- save, load
    def to_dict(self) -> dict[str, Any]:
        """The scaler's parameters and fitted state as JSON-serialisable data.

        ``from_dict(to_dict())`` gives a scaler that transforms bit for bit as
        this one does and keeps merging chunks exactly. The envelope is the
        one of every saved object of the package (``ConfusionCounts`` too):
        ``"format"`` (``"ml_infra_utils.<class name>"``) and ``"version"``.
        """
        state = None
        if self._n_samples:
            state = {"n_samples_seen": self._n_samples, **self._state()}
        return {
            "format": _format_of(type(self)),
            "version": _FORMAT_VERSION,
            "params": self._params(),
            "state": state,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a scaler saved with :meth:`to_dict`.

        Raises:
            InvalidParameterError: When *data* is not a saved scaler of this
                class, or its state is inconsistent.
        """
        saved: object = data
        if not isinstance(saved, Mapping):
            msg = f"from_dict needs a dict from to_dict(), got {type(saved).__name__}"
            raise InputTypeError(msg)
        keys = {"format", "version", "params", "state"}
        # {"type": "<class name>", ...} is how the first development versions
        # saved a scaler; it still loads.
        legacy = {"type", "version", "params", "state"}
        if not (
            (set(data) == keys and data["format"] == _format_of(cls))
            or (set(data) == legacy and data["type"] == cls.__name__)
        ):
            msg = (
                f"not a saved {cls.__name__}: expected the keys {sorted(keys)} "
                f"with format {_format_of(cls)!r}, got {short_repr(dict(data))}"
            )
            raise InvalidParameterError(msg)
        if type(data["version"]) is not int or data["version"] != _FORMAT_VERSION:
            version = short_repr(data["version"])
            msg = f"unsupported {cls.__name__} format version {version}"
            raise InvalidParameterError(msg)
        params = data["params"]
        expected = set(cls()._params())
        if not isinstance(params, Mapping) or set(params) != expected:
            msg = (
                f"params must be a dict with the keys {sorted(expected)}: "
                f"{short_repr(params)}"
            )
            raise InvalidParameterError(msg)
        scaler = cls(**dict(params))
        state = data["state"]
        if state is not None:
            scaler._load(state)
        return scaler

    def _load(self, state: object) -> None:
        expected = {"n_samples_seen", *self._state_keys}
        if not isinstance(state, Mapping) or set(state) != expected:
            msg = (
                f"state must be a dict with the keys {sorted(expected)}, "
                f"got {short_repr(state)}"
            )
            raise InvalidParameterError(msg)
        n = state["n_samples_seen"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            msg = f"n_samples_seen must be an int >= 1, got {short_repr(n)}"
            raise InvalidParameterError(msg)
        lists = {key: _float_list(key, state[key]) for key in self._state_keys}
        widths = {len(v) for v in lists.values()}
        if len(widths) != 1 or 0 in widths:
            msg = (
                "the state lists must be non-empty and of one length, "
                f"got {short_repr(state)}"
            )
            raise InvalidParameterError(msg)
        self._set_state(lists)
        self._n_samples = n
        self._n_features = widths.pop()

    # -------------------------------------------------------------- helpers
    def _columns(
        self, data: Iterable[float] | Iterable[Sequence[float]]
    ) -> tuple[list[list[float | int]], bool]:
        columns, two_d = as_real_columns(data, name="data")
        bad = []
        for j, column in enumerate(columns):
            try:
                total = sum(column)
            except OverflowError:  # an int too large for a float among floats
                total = math.inf
            if total - total != 0 or (
                type(total) is int and max(map(abs, column)) > FLOAT_MAX
            ):
                bad.append(j)
        if bad:
            _reject_infinite(columns, bad, two_d, type(self).__name__)
        return columns, two_d

    def _check_fitted(self) -> None:
        if not self._n_samples:
            msg = (
                f"This {type(self).__name__} is not fitted yet; call fit or "
                "partial_fit first"
            )
            raise NotFittedError(msg)

    def _check_width(self, width: int) -> None:
        if width != self._n_features:
            msg = (
                f"data has {width} feature{'s' * (width != 1)}, but this "
                f"{type(self).__name__} was fitted on {self._n_features}"
            )
            raise ShapeError(msg)

    def _merge(self, columns: list[list[float | int]], seen: int) -> None:
        raise NotImplementedError  # pragma: no cover

    def _prepare(self) -> list[float]:
        """What :meth:`_scale_column` needs of every feature, computed once."""
        return []

    def _scale_column(
        self, j: int, column: list[float | int], inverse: bool, prepared: list[float]
    ) -> list[float]:
        raise NotImplementedError  # pragma: no cover

    def _params(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover

    def _state(self) -> dict[str, list[float]]:
        raise NotImplementedError  # pragma: no cover

    def _set_state(self, lists: dict[str, list[float]]) -> None:
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"


def _format_of(cls: type) -> str:
    return f"ml_infra_utils.{cls.__name__}"


def _reject_infinite(
    columns: list[list[float | int]], bad: list[int], two_d: bool, what: str
) -> None:
    """Raise for the first value beyond the float range, in reading order."""
    for i in range(len(columns[0])):
        for j in bad:
            value = columns[j][i]
            if not -FLOAT_MAX <= value <= FLOAT_MAX:
                where = f"data[{i}][{j}]" if two_d else f"data[{i}]"
                raise beyond_float_error(value, where, what)
    # A sum that overflowed, or met inf + -inf, with every value finite is fine.


def _float_list(key: str, value: object) -> list[float]:
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int | float)
        and not isinstance(v, bool)
        and -FLOAT_MAX <= v <= FLOAT_MAX
        for v in value
    ):
        msg = f"{key} must be a list of finite numbers, got {short_repr(value)}"
        raise InvalidParameterError(msg)
    return [float(v) for v in value]


class MinMaxScaler(_Scaler):
    """Scale each feature to *feature_range* by the minimum and maximum seen in fitting.

    ``transform`` computes ``(x - data_min) / (data_max - data_min)`` and maps it
    onto *feature_range* exactly as :func:`~ml_infra_utils.normalize` does, so
    the training minimum and maximum land exactly on the range ends (scikit-
    learn's ``x * scale_ + min_`` misses them by an ulp about a third of the
    time). Values outside the training range scale beyond *feature_range*
    unless ``clip=True``. A feature that was constant in fitting maps its
    value to ``feature_range[0]`` (as scikit-learn; only an exactly zero range
    counts as constant).

    Args:
        feature_range: ``(low, high)``, finite with ``low < high``.
        clip: Clamp transformed values to *feature_range*.

    Attributes:
        data_min_: Per feature minimum seen in fitting.
        data_max_: Per feature maximum seen in fitting.
        data_range_: ``data_max_ - data_min_`` per feature.
        n_features_in_: The number of features.
        n_samples_seen_: The number of samples fitted.

    Examples:
        >>> scaler = MinMaxScaler().fit([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
        >>> scaler.transform([[2.0, 40.0]])
        [[0.5, 1.5]]
        >>> scaler.inverse_transform([[0.5, 1.5]])
        [[2.0, 40.0]]
        >>> MinMaxScaler(feature_range=(-1, 1)).fit_transform([0, 5, 10])
        [-1.0, 0.0, 1.0]
    """

    _state_keys = ("data_min", "data_max")

    def __init__(
        self, *, feature_range: tuple[float, float] = (0.0, 1.0), clip: bool = False
    ) -> None:
        super().__init__()
        self.feature_range = check_feature_range(feature_range)
        self.clip = check_flag("clip", clip)
        self._min: list[float | int] = []
        self._max: list[float | int] = []

    def _merge(self, columns: list[list[float | int]], seen: int) -> None:
        lows = [min(c) for c in columns]
        highs = [max(c) for c in columns]
        if seen:
            lows = [min(a, b) for a, b in zip(self._min, lows, strict=True)]
            highs = [max(a, b) for a, b in zip(self._max, highs, strict=True)]
        self._min = lows
        self._max = highs

    def _scale_column(
        self,
        j: int,
        column: list[float | int],
        inverse: bool,
        prepared: list[float],  # noqa: ARG002 - MinMaxScaler needs none
    ) -> list[float]:
        lo, hi = self._min[j], self._max[j]
        low, high = self.feature_range
        unit = low == 0.0 and high == 1.0
        if inverse:
            ts = column if unit else [(y - low) / (high - low) for y in column]
            if lo == hi:
                return [float(lo + t) for t in ts]  # floats, as every transform
            return lerp_values([float(t) for t in ts], float(lo), float(hi))
        # A constant feature gets a unit range, as in scikit-learn.
        ts = [float(x - lo) for x in column] if lo == hi else unit_scale(column, lo, hi)
        if unit and not self.clip:
            return ts
        return lerp_values(ts, low, high, clip=self.clip)

    @property
    def data_min_(self) -> list[float]:
        """Per feature minimum seen in fitting."""
        self._check_fitted()
        return [float(v) for v in self._min]

    @property
    def data_max_(self) -> list[float]:
        """Per feature maximum seen in fitting."""
        self._check_fitted()
        return [float(v) for v in self._max]

    @property
    def data_range_(self) -> list[float]:
        """Per feature ``data_max_ - data_min_``."""
        self._check_fitted()
        return [float(hi - lo) for lo, hi in zip(self._min, self._max, strict=True)]

    def _params(self) -> dict[str, Any]:
        return {"feature_range": self.feature_range, "clip": self.clip}

    def to_dict(self) -> dict[str, Any]:
        """The scaler's parameters and fitted state as JSON-serialisable data.

        Examples:
            >>> MinMaxScaler().fit([1, 3]).to_dict()
            {'format': 'ml_infra_utils.MinMaxScaler', 'version': 1, 'params': \
{'feature_range': [0.0, 1.0], 'clip': False}, 'state': {'n_samples_seen': 2, \
'data_min': [1.0], 'data_max': [3.0]}}
        """
        result = super().to_dict()
        result["params"]["feature_range"] = list(self.feature_range)
        return result

    def _state(self) -> dict[str, list[float]]:
        return {"data_min": self.data_min_, "data_max": self.data_max_}

    def _set_state(self, lists: dict[str, list[float]]) -> None:
        lows, highs = lists["data_min"], lists["data_max"]
        if any(lo > hi for lo, hi in zip(lows, highs, strict=True)):
            msg = f"data_min must not exceed data_max, got {lows} and {highs}"
            raise InvalidParameterError(msg)
        self._min, self._max = list(lows), list(highs)


class StandardScaler(_Scaler):
    """Scale each feature to zero mean and unit variance learnt in fitting.

    ``transform`` computes ``(x - mean_) / scale_`` with
    ``scale_ = sqrt(sum((x - mean)**2) / (n - ddof))``: the population standard
    deviation by default, as scikit-learn's ``StandardScaler``. The statistics
    are computed as in :func:`~ml_infra_utils.standardize`, and chunks merge
    with Chan et al.'s parallel formula around a fixed shift, so
    ``partial_fit`` over chunks matches a one-pass ``fit`` to ~1e-15 relative.
    A feature that was constant in fitting gets ``scale_ = 1.0`` (as
    scikit-learn; only an exactly constant feature counts), so it transforms
    to ``x - mean_``.

    Args:
        ddof: Delta degrees of freedom of the variance, an ``int >= 0``.
        with_mean: Subtract the mean.
        with_std: Divide by the standard deviation.

    Attributes:
        mean_: Per feature mean.
        var_: Per feature variance (with *ddof*).
        scale_: Per feature divisor: ``sqrt(var_)``, or 1.0 for a constant feature.
        n_features_in_: The number of features.
        n_samples_seen_: The number of samples fitted.

    Examples:
        >>> scaler = StandardScaler().fit([[0.0, 10.0], [2.0, 30.0]])
        >>> scaler.mean_, scaler.scale_
        ([1.0, 20.0], [1.0, 10.0])
        >>> scaler.transform([[1.0, 40.0]])
        [[0.0, 2.0]]
        >>> chunked = StandardScaler().partial_fit([1.0, 3.0]).partial_fit([5.0, 7.0])
        >>> chunked.mean_, chunked.scale_
        ([4.0], [2.23606797749979])
    """

    _state_keys = ("mean", "mean_low", "dev_norm")

    def __init__(
        self, *, ddof: int = 0, with_mean: bool = True, with_std: bool = True
    ) -> None:
        super().__init__()
        self.ddof = check_ddof(ddof)
        self.with_mean = check_flag("with_mean", with_mean)
        self.with_std = check_flag("with_std", with_std)
        # Per feature: the mean is shift + rel (rel small, so the mean keeps
        # more precision than one float), root = sqrt(sum of squared deviations).
        self._shift: list[float] = []
        self._rel: list[float] = []
        self._root: list[float] = []

    def _merge(self, columns: list[list[float | int]], seen: int) -> None:
        n_a = seen
        n_b = len(columns[0])
        n = n_a + n_b
        shifts, rels, roots = [], [], []
        for j, column in enumerate(columns):
            k, dm, root, e = moments(tuple(column))
            if e:
                try:
                    root = math.ldexp(root, e)
                except OverflowError:
                    msg = (
                        f"the spread of feature {j} overflows the float range; "
                        "rescale the data first"
                    )
                    raise InfiniteValueError(msg) from None
                k, dm = math.ldexp(k, e), math.ldexp(dm, e)
            if not n_a:
                k, dm = two_sum(k, dm)
                shifts.append(k)
                rels.append(dm)
                roots.append(root)
                continue
            # Chan et al.: merge (n_a, mean_a, M2_a) with (n_b, mean_b, M2_b),
            # means taken relative to a shift near them so they stay small and
            # exact, and M2 carried as its square root (no over- or underflow).
            delta = ((k - self._shift[j]) + dm) - self._rel[j]
            rel = self._rel[j] + delta * (n_b / n)
            # Keep (shift, rel) canonical: shift the rounded mean, rel the rest.
            shift, rel = two_sum(self._shift[j], rel)
            shifts.append(shift)
            rels.append(rel)
            roots.append(
                math.hypot(self._root[j], root, delta * math.sqrt(n_a * n_b / n))
            )
        self._shift, self._rel, self._root = shifts, rels, roots

    def _scales(self) -> list[float]:
        n = self._n_samples - self.ddof
        if n <= 0 and any(self._root):
            msg = (
                f"ddof={self.ddof} needs more than {self.ddof} samples, this "
                f"StandardScaler has seen {self._n_samples}"
            )
            raise InvalidParameterError(msg)
        return [r / math.sqrt(n) if r else 1.0 for r in self._root]

    def _check_fit_size(self, columns: list[list[float | int]]) -> None:
        super()._check_fit_size(columns)
        n = len(columns[0])
        if n <= self.ddof:
            msg = (
                f"StandardScaler(ddof={self.ddof}) needs more than {self.ddof} "
                f"samples to fit, got {n}"
            )
            raise InvalidParameterError(msg)

    def _prepare(self) -> list[float]:
        return self._scales() if self.with_std else []

    def _scale_column(
        self, j: int, column: list[float | int], inverse: bool, prepared: list[float]
    ) -> list[float]:
        s = prepared[j] if self.with_std else 1.0
        inv = 1.0 / s  # as in standardize: within an ulp of dividing, and faster
        k, rel = self._shift[j], self._rel[j]
        m = k + rel
        if not self.with_mean:
            if inverse:
                return [x * s for x in column]
            return (
                [x / s for x in column]
                if inv == math.inf
                else [x * inv for x in column]
            )
        if math.ulp(m) > s * 2.0**-50 or inv == math.inf:
            # Far from 0 relative to the spread (or subnormal: 1/s overflows):
            # keep both parts of the mean, and divide.
            if inverse:
                return [(z * s + rel) + k for z in column]
            return [((x - k) - rel) / s for x in column]
        if inverse:
            return [z * s + m for z in column]
        return [(x - m) * inv for x in column]

    @property
    def mean_(self) -> list[float]:
        """Per feature mean."""
        self._check_fitted()
        return list(self._shift)  # the mean rounded to a float

    @property
    def var_(self) -> list[float]:
        """Per feature variance, dividing by ``n_samples_seen_ - ddof``."""
        self._check_fitted()
        return [
            s * s if r else 0.0 for s, r in zip(self._scales(), self._root, strict=True)
        ]

    @property
    def scale_(self) -> list[float]:
        """Per feature divisor: the standard deviation, or 1.0 if it is 0."""
        self._check_fitted()
        return self._scales()

    def _params(self) -> dict[str, Any]:
        return {
            "ddof": self.ddof,
            "with_mean": self.with_mean,
            "with_std": self.with_std,
        }

    def _state(self) -> dict[str, list[float]]:
        # (shift, rel) is kept as (the mean rounded to a float, its residual).
        return {
            "mean": list(self._shift),
            "mean_low": list(self._rel),
            "dev_norm": list(self._root),
        }

    def _set_state(self, lists: dict[str, list[float]]) -> None:
        if any(r < 0 for r in lists["dev_norm"]):
            msg = f"dev_norm must not be negative, got {lists['dev_norm']}"
            raise InvalidParameterError(msg)
        pairs = [
            two_sum(k, r) for k, r in zip(lists["mean"], lists["mean_low"], strict=True)
        ]
        self._shift = [k for k, _ in pairs]
        self._rel = [r for _, r in pairs]
        self._root = list(lists["dev_norm"])
