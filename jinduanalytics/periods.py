"""Calendar periods: the one rule that buckets dates into months, quarters or years."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ._checks import check_choice

__all__ = ["PERIODS", "period_start"]

#: The periods an analysis can count by.
PERIODS = ("month", "quarter", "year")


def period_start(dates, period: str = "month") -> pa.Array:
    """The first day of each date's month, quarter or year (date32; nulls stay null).

    Parameters
    ----------
    dates : pyarrow array or chunked array of dates
    period : {"month", "quarter", "year"}

    Examples
    --------
    >>> import datetime as dt
    >>> period_start(pa.array([dt.date(2024, 5, 17)]), "quarter").to_pylist()
    [datetime.date(2024, 4, 1)]
    """
    check_choice("period", period, PERIODS)
    if isinstance(dates, pa.ChunkedArray):
        dates = dates.combine_chunks()
    valid = dates.is_valid().to_numpy(zero_copy_only=False)
    days = dates.cast(pa.date32()).fill_null(0).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    months = days.astype("datetime64[M]").astype(np.int64)
    if period == "quarter":
        months = months - months % 3
    elif period == "year":
        months = months - months % 12
    start = months.astype("datetime64[M]").astype("datetime64[D]")
    return pa.array(start, pa.date32(), mask=~valid)
