import io
import zipfile

import pytest

from flaxline.data.delimited import read_split_files
from flaxline.data.glue import SST2_DEV_ROWS, download_glue_sst2, split_glue_sst2
from flaxline.errors import InputError


def fake_glue_archive(train_rows: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        rows = [f"phrase number {i} \t{i % 2}" for i in range(train_rows)]
        bundle.writestr("SST-2/train.tsv", "sentence\tlabel\n" + "\n".join(rows) + "\n")
        bundle.writestr("SST-2/dev.tsv", "sentence\tlabel\na fine film \t1\na dull one \t0\n")
        bundle.writestr("SST-2/test.tsv", "index\tsentence\n0\tunlabelled\n")
    return buffer.getvalue()


def test_glue_train_is_split_and_glue_dev_becomes_test(tmp_path):
    split_glue_sst2(fake_glue_archive(SST2_DEV_ROWS + 100), tmp_path)
    frame = read_split_files(
        tmp_path, {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}, delimiter="\t", quoting=False
    )
    assert frame["split"].value_counts().to_dict() == {"validation": SST2_DEV_ROWS, "train": 100, "test": 2}
    assert frame.loc[frame["split"] == "test", "sentence"].tolist() == ["a fine film ", "a dull one "]
    assert frame["sentence"].nunique() == len(frame)


def test_offline_download_is_one_clear_error(tmp_path):
    with pytest.raises(
        InputError,
        match=r"SST-2 files are missing and http://127\.0\.0\.1:9/SST-2\.zip could not be downloaded "
        r".*put train\.tsv, dev\.tsv, test\.tsv there by hand",
    ):
        download_glue_sst2(tmp_path, url="http://127.0.0.1:9/SST-2.zip", timeout=5)
