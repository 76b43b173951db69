import gzip
import http.client
import io

import numpy as np
import pytest
from kedro.io.core import DatasetError
from PIL import Image
from sklearn.datasets import load_digits

from flaxline.datasets.images import IdxImageDataset, ImageFolderDataset, SklearnDigitsDataset
from flaxline.errors import InputError
from flaxline.images import idx
from flaxline.images.digits import read_sklearn_digits
from flaxline.images.folder import read_image_folder
from flaxline.images.idx import IDX_SPLITS, download_idx, read_idx, read_idx_images, write_idx

COLUMNS = ["row", "label", "image", "height", "width", "channels", "source", "read_error"]
IDX_FILES = [name for files in IDX_SPLITS.values() for name in files.values()]


def one_line_error(error: pytest.ExceptionInfo, path) -> str:
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def pixels(frame, index: int) -> np.ndarray:
    row = frame.iloc[index]
    return np.frombuffer(row["image"], np.uint8).reshape(row["height"], row["width"], row["channels"])


def write_split(folder, prefix: str, images: np.ndarray, labels: np.ndarray) -> dict[str, str]:
    names = {"images": f"{prefix}-images.gz", "labels": f"{prefix}-labels"}
    write_idx(folder / names["images"], images)
    write_idx(folder / names["labels"], labels)
    return names


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


# IDX files


@pytest.mark.parametrize("name", ["data.idx", "data.idx.gz"])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_idx_round_trip(tmp_path, name, dtype):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    assert (tmp_path / name).read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\0\0")
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_idx_is_big_endian_as_published(tmp_path):
    write_idx(tmp_path / "labels", np.array([1, 258], dtype=np.int32))
    assert (tmp_path / "labels").read_bytes() == b"\0\0\x0c\x01" + b"\0\0\0\x02" + b"\0\0\0\x01" + b"\0\0\x01\x02"


def test_gzip_is_told_by_its_magic_bytes_not_the_name(tmp_path):
    write_idx(tmp_path / "zipped.gz", np.arange(5, dtype=np.uint8))
    (tmp_path / "zipped-no-suffix").write_bytes((tmp_path / "zipped.gz").read_bytes())
    write_idx(tmp_path / "plain", np.arange(5, dtype=np.uint8))
    (tmp_path / "plain.gz").write_bytes((tmp_path / "plain").read_bytes())
    for name in ("zipped-no-suffix", "plain.gz"):
        np.testing.assert_array_equal(read_idx(tmp_path / name), np.arange(5))


HEADER = b"\0\0\x08\x02" + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "file does not exist", id="missing"),
        pytest.param(b"", "file is empty", id="empty"),
        pytest.param(b"\x89PNG\r\n\x1a\n", "not an IDX file: bad magic 89 50 4e 47", id="png"),
        pytest.param(b"\0\0\x07\x01\0\0\0\x01\0", "not an IDX file: bad magic 00 00 07 01", id="unknown type"),
        pytest.param(b"\0\0\x08", "not an IDX file: bad magic 00 00 08", id="short magic"),
        pytest.param(HEADER[:9], "the header declares 2 dimensions but ends after 9 bytes", id="short header"),
        pytest.param(HEADER + bytes(5), "truncated: dimensions [2, 3] need 6 bytes of data, found 5", id="short data"),
        pytest.param(HEADER + bytes(8), "2 trailing bytes after the data of dimensions [2, 3]", id="trailing"),
        pytest.param(b"\x1f\x8b" + bytes(20), "corrupt gzip data", id="bad gzip"),
        pytest.param(gzip.compress(HEADER + bytes(6))[:-12], "corrupt gzip data", id="cut gzip"),
        pytest.param(gzip.compress(HEADER + bytes(5)), "truncated: dimensions [2, 3] need 6 bytes", id="short gzipped"),
    ],
)
def test_idx_problems_are_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "broken-idx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as error:
        read_idx(path)
    assert message in one_line_error(error, path)


def test_a_folder_is_not_an_idx_file(tmp_path):
    with pytest.raises(InputError) as error:
        read_idx(tmp_path)
    assert one_line_error(error, tmp_path) == f"{tmp_path}: is not a file"


def test_idx_cannot_hold_int64(tmp_path):
    with pytest.raises(InputError) as error:
        write_idx(tmp_path / "labels", np.arange(3, dtype=np.int64))
    assert "not int64" in one_line_error(error, tmp_path / "labels")
    assert not (tmp_path / "labels").exists()


def test_idx_images_become_raw_rows_with_a_split_column(tmp_path):
    train = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2)
    test = np.full((2, 2, 2, 3), 7, dtype=np.uint8)
    splits = {
        "train": write_split(tmp_path, "train", train, np.array([2, 0, 1], dtype=np.uint8)),
        "test": write_split(tmp_path, "test", test, np.array([1, 1], dtype=np.int8)),
    }
    frame = read_idx_images(tmp_path, splits, label_names=["cat", "dog", "bird"])
    assert list(frame.columns) == [*COLUMNS, "split"]
    assert frame["split"].tolist() == ["train"] * 3 + ["test"] * 2
    assert frame["row"].tolist() == [1, 2, 3, 1, 2]
    assert frame["label"].tolist() == ["bird", "cat", "dog", "dog", "dog"]
    sources = [f"train-images.gz[{i}]" for i in range(3)] + [f"test-images.gz[{i}]" for i in range(2)]
    assert frame["source"].tolist() == sources
    assert frame["channels"].tolist() == [1, 1, 1, 3, 3]
    assert (frame["height"] == 2).all() and (frame["width"] == 2).all() and (frame["read_error"] == "").all()
    np.testing.assert_array_equal(pixels(frame, 1), train[1, :, :, None])
    np.testing.assert_array_equal(pixels(frame, 4), test[1])
    assert {frame[column].dtype for column in ("row", "height", "width", "channels")} == {np.dtype("int64")}
    assert frame.attrs["source"] == str(tmp_path)


def test_idx_labels_without_names_are_their_decimal_text(tmp_path):
    splits = {"all": write_split(tmp_path, "all", np.zeros((3, 1, 1), np.uint8), np.array([9, 0, 12], np.uint8))}
    assert read_idx_images(tmp_path, splits)["label"].tolist() == ["9", "0", "12"]


PAIR = np.zeros((2, 1, 1), np.uint8), np.array([0, 1], np.uint8)
IDX_PAIR_PROBLEMS = {
    "images not ubyte": ((PAIR[0].astype(np.int16), PAIR[1]), "images", "must be unsigned bytes"),
    "images 2-D": ((PAIR[0][:, 0], PAIR[1]), "images", "must be [count, height, width(, channels)]"),
    "fewer labels": ((PAIR[0], PAIR[1][:1]), "labels", "1 labels for the 2 images of bad-images.gz"),
    "labels 2-D": ((PAIR[0], PAIR[1][:, None]), "labels", "labels must be one integer per image"),
    "labels floats": ((PAIR[0], PAIR[1].astype(np.float32)), "labels", "labels must be one integer per image"),
    "label outside names": ((PAIR[0], np.array([0, 2], np.uint8)), "labels", "label 2 at index 1 is outside the 2"),
    "negative label": ((PAIR[0], np.array([-1, 0], np.int8)), "labels", "label -1 at index 0 is outside"),
}


@pytest.mark.parametrize("problem", list(IDX_PAIR_PROBLEMS))
def test_idx_image_problems_are_one_line_naming_the_file(tmp_path, problem):
    (images, labels), culprit, message = IDX_PAIR_PROBLEMS[problem]
    splits = {"train": write_split(tmp_path, "bad", images, labels)}
    with pytest.raises(InputError) as error:
        read_idx_images(tmp_path, splits, label_names=["a", "b"])
    assert message in one_line_error(error, tmp_path / splits["train"][culprit])


@pytest.mark.parametrize("splits", [{}, ["train"], {"train": "train.idx"}, {"train": {"images": "x"}}])
def test_malformed_splits_are_one_line_naming_the_folder(tmp_path, splits):
    with pytest.raises(InputError) as error:
        read_idx_images(tmp_path, splits)
    assert "must" in one_line_error(error, tmp_path)


# Downloads


def test_offline_download_is_one_clear_error(tmp_path):
    with pytest.raises(InputError) as error:
        download_idx(tmp_path / "mnist", "mnist", timeout=5, base_url="http://127.0.0.1:9/")
    message = one_line_error(error, tmp_path / "mnist")
    assert "mnist files are missing and http://127.0.0.1:9/train-images-idx3-ubyte.gz could not be" in message
    assert message.endswith(f"put {', '.join(IDX_FILES)} there by hand")
    assert not list((tmp_path / "mnist").iterdir())


def test_unknown_download_names_the_known_ones(tmp_path):
    with pytest.raises(InputError) as error:
        download_idx(tmp_path, "cifar10")
    assert one_line_error(error, tmp_path).endswith("unknown IDX download 'cifar10'; known: mnist, fashion_mnist")


@pytest.fixture
def published(tmp_path, monkeypatch):
    """Small stand-ins of the four published files in a folder served by file:// URLs, and their shapes."""
    served = tmp_path / "served"
    served.mkdir()
    arrays = {}
    for split, count in (("train", 3), ("test", 2)):
        arrays[IDX_SPLITS[split]["images"]] = np.full((count, 2, 2), count, np.uint8)
        arrays[IDX_SPLITS[split]["labels"]] = np.arange(count, dtype=np.uint8)
    for name, array in arrays.items():
        write_idx(served / name, array)
        monkeypatch.setitem(idx.IDX_SHAPES, name, array.shape)
    monkeypatch.setitem(idx.DOWNLOADS["mnist"], "base_url", served.as_uri() + "/")
    return served


def test_download_fetches_only_missing_files_and_leaves_no_partial_ones(tmp_path, published):
    target = tmp_path / "data"
    target.mkdir()
    kept = IDX_SPLITS["test"]["labels"]
    write_idx(target / kept, np.array([1, 0], np.uint8))
    download_idx(target, "mnist")
    assert sorted(path.name for path in target.iterdir()) == sorted(IDX_FILES)
    for name in IDX_FILES:
        if name != kept:
            assert (target / name).read_bytes() == (published / name).read_bytes()
    np.testing.assert_array_equal(read_idx(target / kept), [1, 0])


def test_a_cut_download_leaves_no_file_that_looks_complete(tmp_path, published, monkeypatch):
    def cut_copy(response, out):
        out.write(response.read(10))
        raise http.client.IncompleteRead(b"", 100)

    monkeypatch.setattr(idx.shutil, "copyfileobj", cut_copy)
    with pytest.raises(InputError) as error:
        download_idx(tmp_path / "data", "mnist")
    message = one_line_error(error, tmp_path / "data")
    assert "train-images-idx3-ubyte.gz could not be downloaded (IncompleteRead" in message
    assert not list((tmp_path / "data").iterdir())


def test_a_downloaded_file_of_the_wrong_shape_says_how_to_retry(tmp_path, published, monkeypatch):
    monkeypatch.setitem(idx.IDX_SHAPES, "train-images-idx3-ubyte.gz", (60000, 28, 28))
    with pytest.raises(InputError) as error:
        download_idx(tmp_path, "mnist")
    message = one_line_error(error, tmp_path / "train-images-idx3-ubyte.gz")
    assert message.endswith("shape (3, 2, 2), not the published (60000, 28, 28); delete it to download it again")


# Image folders


@pytest.fixture
def image_folder(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    rgb = np.random.default_rng(0).integers(0, 256, (2, 5, 3), dtype=np.uint8)
    root = tmp_path / "images"
    for name in ("cat", "dog", "empty"):
        (root / name).mkdir(parents=True)
    (root / "dog" / "2-gray.png").write_bytes(png_bytes(gray))
    (root / "dog" / "1-rgb.PNG").write_bytes(png_bytes(rgb))
    (root / "dog" / "3-truncated.png").write_bytes(png_bytes(rgb)[:60])
    (root / "dog" / ".DS_Store").write_bytes(b"hidden")
    (root / "dog" / "nested").mkdir()
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "cat" / "junk.png").write_bytes(b"not a png at all")
    (root / "cat" / "rgba.png").write_bytes(png_bytes(np.full((1, 2, 4), 9, np.uint8)))
    Image.fromarray(rgb).convert("P").save(root / "cat" / "palette.gif")
    (root / "loose.png").write_bytes(png_bytes(gray))
    return root, gray, rgb


def test_every_file_of_an_image_folder_is_a_row(image_folder):
    root, gray, rgb = image_folder
    frame = read_image_folder(root)
    assert list(frame.columns) == COLUMNS
    assert frame["source"].tolist() == [
        "cat/junk.png",
        "cat/notes.txt",
        "cat/palette.gif",
        "cat/rgba.png",
        "dog/1-rgb.PNG",
        "dog/2-gray.png",
        "dog/3-truncated.png",
        "dog/nested",
        "loose.png",
    ]
    assert frame["label"].tolist() == ["cat"] * 4 + ["dog"] * 4 + [""]
    assert frame["row"].tolist() == list(range(1, 10))
    assert frame["read_error"].tolist() == [
        "cannot identify image file",
        "not an image file (.txt)",
        "",
        "",
        "",
        "",
        "image file is truncated",
        "a folder, not an image file",
        "",
    ]
    failed = frame["read_error"] != ""
    assert (frame.loc[failed, "image"] == b"").all()
    assert (frame.loc[failed, ["height", "width", "channels"]] == 0).all().all()
    assert frame["channels"].tolist() == [0, 0, 3, 4, 3, 1, 0, 0, 1]
    np.testing.assert_array_equal(pixels(frame, 4), rgb)
    np.testing.assert_array_equal(pixels(frame, 5), gray[..., None])
    assert frame.attrs["source"] == str(root)


@pytest.mark.parametrize(("color_mode", "channels"), [("grayscale", [1, 1, 1, 1]), ("rgb", [3, 3, 3, 3])])
def test_color_modes_convert_every_image(image_folder, color_mode, channels):
    root, gray, rgb = image_folder
    frame = read_image_folder(root, color_mode=color_mode)
    decoded = frame[frame["read_error"] == ""]
    assert decoded["source"].tolist() == [
        "cat/palette.gif",
        "cat/rgba.png",
        "dog/1-rgb.PNG",
        "dog/2-gray.png",
        "loose.png",
    ]
    assert decoded["channels"].tolist() == [*channels, channels[0]]
    expected_rgb = np.asarray(Image.fromarray(rgb).convert("L"))[..., None] if color_mode == "grayscale" else rgb
    np.testing.assert_array_equal(pixels(frame, 4), expected_rgb)
    expected_gray = np.repeat(gray[..., None], 3, axis=2) if color_mode == "rgb" else gray[..., None]
    np.testing.assert_array_equal(pixels(frame, 5), expected_gray)


def test_only_the_given_extensions_are_images(image_folder):
    frame = read_image_folder(image_folder[0], extensions=(".gif",))
    assert frame.loc[frame["read_error"] == "", "source"].tolist() == ["cat/palette.gif"]
    assert frame.loc[frame["source"] == "loose.png", "read_error"].item() == "not an image file (.png)"


def test_pixels_wider_than_8_bits_are_a_read_error_not_clipped(tmp_path):
    (tmp_path / "scans").mkdir()
    Image.fromarray(np.array([[0, 1000]], np.uint16)).save(tmp_path / "scans" / "wide.png")
    frame = read_image_folder(tmp_path)
    assert frame["read_error"].item().startswith("I;16 pixels are wider than 8 bits")


def test_image_folder_problems_are_one_line_naming_it(tmp_path):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.png").write_bytes(png_bytes(np.zeros((1, 1), np.uint8)))
    (tmp_path / "file.png").write_bytes(b"")
    for path, message in [
        (tmp_path / "missing", "folder does not exist"),
        (tmp_path / "file.png", "is not a folder"),
        (tmp_path / "flat", "no class sub-folders"),
    ]:
        with pytest.raises(InputError) as error:
            read_image_folder(path)
        assert message in one_line_error(error, path)
    with pytest.raises(InputError) as error:
        read_image_folder(tmp_path, color_mode="cmyk")
    assert "unknown color_mode 'cmyk'; known: keep, grayscale, rgb" in one_line_error(error, tmp_path)


# scikit-learn's digits


def test_sklearn_digits_are_8x8_gray_rows_of_values_up_to_16():
    frame = read_sklearn_digits()
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 1797
    assert set(frame["height"]) == {8} and set(frame["width"]) == {8} and set(frame["channels"]) == {1}
    assert sorted(set(frame["label"])) == [str(digit) for digit in range(10)]
    values = np.frombuffer(b"".join(frame["image"]), np.uint8)
    assert values.size == 1797 * 64 and values.max() == 16
    digits = load_digits()
    np.testing.assert_array_equal(pixels(frame, 5)[..., 0], digits.images[5])
    assert frame["label"].iloc[5] == str(digits.target[5])
    assert frame["source"].iloc[5] == "sklearn.datasets.load_digits[5]"
    assert frame.attrs["source"] == "sklearn.datasets.load_digits"


# Kedro datasets


def test_idx_dataset_loads_the_default_split_files(tmp_path):
    for split, count in (("train", 3), ("test", 2)):
        write_idx(tmp_path / IDX_SPLITS[split]["images"], np.zeros((count, 2, 2), np.uint8))
        write_idx(tmp_path / IDX_SPLITS[split]["labels"], np.arange(count, dtype=np.uint8))
    dataset = IdxImageDataset(filepath=str(tmp_path), label_names=["T-shirt/top", "Trouser", "Pullover"])
    assert dataset.exists()
    frame = dataset.load()
    assert frame["split"].tolist() == ["train"] * 3 + ["test"] * 2
    assert frame["label"].tolist() == ["T-shirt/top", "Trouser", "Pullover", "T-shirt/top", "Trouser"]


def test_idx_dataset_downloads_missing_files_first(tmp_path, published):
    dataset = IdxImageDataset(filepath=str(tmp_path / "mnist"), download="mnist")
    assert not dataset.exists()
    assert dataset.load()["split"].value_counts().to_dict() == {"train": 3, "test": 2}
    assert dataset.exists()


def test_unknown_idx_download_is_refused_at_construction(tmp_path):
    with pytest.raises(DatasetError, match="unknown download 'emnist'; known: mnist, fashion_mnist"):
        IdxImageDataset(filepath=str(tmp_path), download="emnist")


def test_bad_idx_files_reach_kedro_with_the_input_error_as_cause(tmp_path):
    (tmp_path / IDX_SPLITS["train"]["images"]).write_bytes(b"not idx")
    with pytest.raises(DatasetError) as error:
        IdxImageDataset(filepath=str(tmp_path)).load()
    assert isinstance(error.value.__cause__, InputError)
    assert str(error.value.__cause__).startswith(f"{tmp_path / IDX_SPLITS['train']['images']}: not an IDX file")


def test_image_folder_dataset_loads_and_reports_a_missing_folder(image_folder, tmp_path):
    dataset = ImageFolderDataset(filepath=str(image_folder[0]), color_mode="grayscale")
    assert dataset.exists()
    assert set(dataset.load()["channels"]) == {0, 1}
    missing = ImageFolderDataset(filepath=str(tmp_path / "missing"))
    assert not missing.exists()
    with pytest.raises(DatasetError) as error:
        missing.load()
    assert isinstance(error.value.__cause__, InputError)
    assert str(error.value.__cause__) == f"{tmp_path / 'missing'}: folder does not exist"
    with pytest.raises(DatasetError, match="unknown color_mode 'hsv'"):
        ImageFolderDataset(filepath=str(tmp_path), color_mode="hsv")


def test_sklearn_digits_dataset_loads():
    dataset = SklearnDigitsDataset()
    assert dataset.exists()
    assert len(dataset.load()) == 1797


@pytest.mark.parametrize(
    "make",
    [
        lambda path: IdxImageDataset(filepath=str(path)),
        lambda path: ImageFolderDataset(filepath=str(path)),
        lambda path: SklearnDigitsDataset(),
    ],
)
def test_image_datasets_are_read_only(tmp_path, make):
    with pytest.raises(DatasetError, match="raw data is read-only"):
        make(tmp_path).save(read_sklearn_digits().head(1))
    assert not list(tmp_path.iterdir())
