"""Fetching GLUE SST-2 for users who do not have the files yet.

The official archive holds ``train.tsv`` (67,349 labelled phrases) and ``dev.tsv`` (872
sentences, the split papers report on; its test split has no labels). flaxline's layout keeps
model selection off the reported split: GLUE's train is split into ``train.tsv`` and
``dev.tsv`` (6,735 rows, stratified, seed 0) and GLUE's dev becomes ``test.tsv``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sklearn.model_selection import train_test_split

from flaxline.data.download import download

SST2_URL = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"
SST2_FILES = ("train.tsv", "dev.tsv", "test.tsv")
SST2_DEV_ROWS = 6735


def split_glue_sst2(archive: bytes, directory: Path) -> None:
    """Write train.tsv, dev.tsv and test.tsv into ``directory`` from the GLUE SST-2 zip archive."""
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        glue_train = bundle.read("SST-2/train.tsv").decode("utf-8").splitlines()
        glue_dev = bundle.read("SST-2/dev.tsv").decode("utf-8")
    header, rows = glue_train[0], [row for row in glue_train[1:] if row]
    labels = [row.rsplit("\t", 1)[1] for row in rows]
    train, dev = train_test_split(rows, test_size=SST2_DEV_ROWS, stratify=labels, random_state=0)
    directory.mkdir(parents=True, exist_ok=True)
    for name, part in (("train.tsv", train), ("dev.tsv", dev)):
        (directory / name).write_text("\n".join([header, *part]) + "\n", encoding="utf-8")
    (directory / "test.tsv").write_text(glue_dev, encoding="utf-8")


def download_glue_sst2(directory: str | Path, url: str = SST2_URL, timeout: float = 60.0) -> None:
    """Download the official archive and lay out the three files; one clear error when offline."""
    directory = Path(directory)
    remedy = f"put {', '.join(SST2_FILES)} there by hand"
    split_glue_sst2(download(url, f"{directory}: SST-2 files are missing", remedy, timeout), directory)


DOWNLOADERS = {"glue_sst2": download_glue_sst2}
