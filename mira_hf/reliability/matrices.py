"""Inputs → matrices: per-record score lists (arrays, lists, Arrow, datasets columns) and source codes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mira_hf._util.arrow import rows_column, source_codes
from mira_hf.errors import ConfigurationError


def _arrow_of(values: Any) -> pa.Array | pa.ChunkedArray | None:
    """The Arrow array behind ``values`` when it has one (Arrow arrays, ``datasets`` columns), else ``None``."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    source = getattr(values, "source", None)
    name = getattr(values, "column_name", None)
    if name is not None and hasattr(source, "select_columns") and hasattr(source, "with_format"):
        return rows_column(source, name)  # a datasets Column: its dataset's rows, zero-copy when unmapped
    return None


def _list_array_to_matrix(arr: pa.Array | pa.ChunkedArray, n_dims: int | None, what: str) -> np.ndarray:
    """Arrow ``list<number>`` → ``(rows, n_dims)`` float64; a null or empty row becomes all-NaN."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or pa.types.is_fixed_size_list(arr.type)):
        raise ConfigurationError(f"{what} must hold one list of scores per record; got Arrow type {arr.type}.")
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
    if n_dims is None:
        n_dims = int(lengths.max()) if len(lengths) else 0
    bad = np.flatnonzero((lengths != n_dims) & (lengths != 0))
    if bad.size:
        i = int(bad[0])
        raise ConfigurationError(
            f"{what}[{i}] has {int(lengths[i])} scores but the rubric has {n_dims} slots; give one value per slot "
            f"(None or NaN where missing) or pass the matching `rubric=`.",
            code="MIRA-E205",
            cli=f"{what}[{i}] has {int(lengths[i])} scores but the rubric has {n_dims} slots; give every row one "
            "score per slot (null where missing).",
        )
    try:
        flat = pc.fill_null(arr.flatten().cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise ConfigurationError(f"{what} must contain numbers (None or NaN where missing): {e}") from None
    out = np.full((len(arr), n_dims), np.nan)
    out[lengths == n_dims] = flat.reshape(-1, n_dims) if n_dims else flat.reshape(0, 0)
    return out


def score_matrix(values: Any, n_dims: int | None = None, *, what: str = "scores") -> np.ndarray:
    """Per-record score lists → a ``(rows, n_dims)`` float64 matrix with NaN where a value is missing.

    Accepts a 2-D array, a list of lists (``None``/NaN for missing, a ``None`` or empty row for "no scores"),
    a ``pyarrow`` list array, or a ``datasets`` column.

    Example:
        >>> score_matrix([[7, None], None], 2)
        array([[ 7., nan],
               [nan, nan]])
    """
    arrow = _arrow_of(values)
    if arrow is not None:
        return _list_array_to_matrix(arrow, n_dims, what)
    if isinstance(values, np.ndarray) and values.dtype != object:
        if values.ndim != 2 or (n_dims is not None and values.shape[1] != n_dims):
            raise ConfigurationError(
                f"{what} has shape {values.shape}; expected (records, {n_dims if n_dims is not None else 'slots'})."
            )
        return values.astype(np.float64, copy=False)
    if not isinstance(values, (list, tuple, np.ndarray)):
        values = list(values)
    try:
        out = np.array(values, dtype=np.float64)
        if out.ndim == 2 and (n_dims is None or out.shape[1] == n_dims):
            return out
        if out.ndim == 1 and out.size == 0:
            return np.empty((0, n_dims or 0))
    except (ValueError, TypeError):
        pass  # ragged rows, None rows or bad values: Arrow says exactly which
    try:
        arrow = pa.array(list(values), type=pa.list_(pa.float64()))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
        raise ConfigurationError(
            f"{what} must be one list of numbers per record (None or NaN where missing): {e}"
        ) from None
    return _list_array_to_matrix(arrow, n_dims, what)


def _encode_sources(sources: Any, n_rows: int, what: str = "sources") -> tuple[np.ndarray, list[str]]:
    """Strings per record → (integer code per record, sorted unique names), one per record and none null."""
    arrow = _arrow_of(sources)
    if arrow is None:
        arrow = pa.array(list(sources) if not isinstance(sources, (list, np.ndarray)) else sources)
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    if len(arrow) != n_rows:
        raise ConfigurationError(f"{what} has {len(arrow)} values but there are {n_rows} records; give one per record.")
    if arrow.null_count:
        i = int(np.flatnonzero(arrow.is_null().to_numpy(zero_copy_only=False))[0])
        raise ConfigurationError(f"{what}[{i}] is null; every record needs a source name.")
    return source_codes(arrow, what)
