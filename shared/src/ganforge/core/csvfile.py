"""Reading a user's CSV file: every row complete, every error one line that names the file."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pandas as pd


def read_csv(path: str | os.PathLike[str], **options: Any) -> pd.DataFrame:
    """Read ``path`` with :func:`pandas.read_csv` after checking that it is a whole table.

    pandas fills a short row with missing values without a word, so a file cut
    mid-row (a killed export, a partial download) would pass as data with gaps.
    Here every non-blank row must have as many fields as the header.

    Raises:
        ValueError: one line naming the file: missing, a folder, not text,
            unparsable, empty, or a row whose field count differs from the header's.
    """
    source = Path(path)
    if source.is_dir():
        raise ValueError(f"{source} is a folder, not a CSV file")
    if not source.is_file():
        raise ValueError(f"no such CSV file: {source}")
    _check_row_lengths(source)
    try:
        return pd.read_csv(source, **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {source} as CSV: {_first_line(error)}") from None


def _check_row_lengths(source: Path) -> None:
    try:
        with source.open(newline="", encoding="utf-8") as stream:
            rows = csv.reader(stream)
            header = next(rows, None)
            if header is None:
                raise ValueError(f"cannot read {source} as CSV: the file is empty")
            for row in rows:
                if row and len(row) != len(header):
                    raise ValueError(
                        f"{source} line {rows.line_num} has {len(row)} fields, the header has "
                        f"{len(header)}: the file is truncated or malformed"
                    )
    except UnicodeDecodeError:
        raise ValueError(f"cannot read {source} as CSV: it is not UTF-8 text") from None
    except csv.Error as error:
        raise ValueError(f"cannot read {source} as CSV: {_first_line(error)}") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
