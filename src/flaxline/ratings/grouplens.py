"""Reading MovieLens in the GroupLens CSV layout, and fetching ``ml-latest-small`` for users who have no copy.

A folder holds ``ratings.csv`` (``userId, movieId, rating, timestamp``; a ``split`` column is kept
when present) and, optionally, ``movies.csv`` (``movieId, title, ...``), whose titles are joined to
the ratings. Files are read with the project's delimited reader, so every record comes back, a
malformed one with its ``parse_error``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from flaxline.data.delimited import read_delimited
from flaxline.data.download import download
from flaxline.errors import InputError

ML_LATEST_SMALL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
RATINGS, MOVIES = "ratings.csv", "movies.csv"


def read_grouplens(folder: str | Path) -> pd.DataFrame:
    """The ratings of ``folder`` (text cells, as in the file), with each movie's ``title`` when movies.csv is there."""
    folder = Path(folder)
    ratings = read_delimited(folder / RATINGS, fallback_encodings=())
    movies_path = folder / MOVIES
    if movies_path.is_file():
        movies = read_delimited(movies_path, fallback_encodings=())
        for column in ("movieId", "title"):
            if column not in movies:
                raise InputError(f"{movies_path}: column {column!r} is missing; the columns are {list(movies.columns)}")
        titles = movies.drop_duplicates("movieId").set_index("movieId")["title"]
        if "movieId" in ratings:
            ratings["title"] = ratings["movieId"].map(titles).fillna("")
    ratings.attrs.update(source=str(folder / RATINGS))
    return ratings


def download_movielens(folder: str | Path, url: str = ML_LATEST_SMALL, timeout: float = 60.0) -> None:
    """Fetch ``ml-latest-small`` into ``folder`` (its ratings.csv and movies.csv); one clear line when offline."""
    folder = Path(folder)
    remedy = f"put the GroupLens files ({RATINGS}, optionally {MOVIES}) there by hand"
    archive = download(url, f"{folder}: {RATINGS} is missing", remedy, timeout)
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        for name in (RATINGS, MOVIES):
            member = next((m for m in bundle.namelist() if m.endswith(f"/{name}") or m == name), None)
            if member is None:
                raise InputError(f"{url}: the archive holds no {name}")
            partial = folder / f".{name}.part"
            partial.write_bytes(bundle.read(member))
            partial.rename(folder / name)
