"""Malformed raw data through the real raw-data stage: each case ends in one error line naming
the file (and the column and row where there is one), or in every row kept or rejected with
its reason, or in the data-quality gate stopping the run. Cases run the data_processing pipeline
through Kedro's runner on a catalog of the project's own configuration; ``kedro run`` itself is
checked on one bad file in a subprocess."""

from __future__ import annotations

import copy
import gzip
import io
import re
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.io.core import DatasetError
from kedro.pipeline import pipeline
from kedro.runner import SequentialRunner

from flaxline import cli
from flaxline.errors import InputError, find_user_error
from flaxline.pipelines import text_processing
from flaxline.pipelines.text_processing.nodes import TextProcessingParams
from flaxline.settings import CONFIG_LOADER_ARGS
from flaxline.text.rows import REASONS
from tests.conftest import PROJECT_ROOT, kedro_run, make_small_project

CLASSES = ["negative", "neutral", "positive"]
HEADER = b"sentiment,confidence,text\n"
TWO_GOOD_ROWS = b"positive,0.9,what a good day\nnegative,0.8,what a bad day\n"
DIRECTORY = object()  # a case whose raw path is a folder
GATED = "positive,0.9,good\n negative ,0.8,bad\nneutral,0.7,meh\n"


def parquet(table: dict[str, pa.Array | list] | pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table if isinstance(table, pa.Table) else pa.table(table), buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Case:
    """``content`` is written to ``file_name`` (None: no file). The outcome is ``error``, a regex
    of the whole error line in which ``{file}`` stands for the path, or the ``kept`` count and
    the ``rejected`` count per reason."""

    name: str
    content: bytes | object | None
    error: str | None = None
    kept: int | None = None
    rejected: dict[str, int] = field(default_factory=dict)
    file_name: str = "raw.csv"
    options: dict = field(default_factory=dict)
    classes: tuple[str, ...] = tuple(CLASSES)
    parameters: dict = field(default_factory=dict)


CASES = [
    Case("empty file", b"", error=r"{file}: file is empty"),
    Case("blank lines only", b" \r\n\n\n", error=r"{file}: file is empty"),
    Case("header only", HEADER, error=r"{file}: the file has a header but no data rows"),
    Case(
        "missing text column",
        b"sentiment,confidence\npositive,1\n",
        error=r"{file}: column 'text' is missing; the columns are 'sentiment', 'confidence'",
    ),
    Case(
        "missing label column",
        b"confidence,text\n1,good\n",
        error=r"{file}: column 'sentiment' is missing; the columns are 'confidence', 'text'",
    ),
    Case(
        "missing confidence column (configured)",
        b"sentiment,text\npositive,good\n",
        error=r"{file}: column 'confidence' is missing; the columns are 'sentiment', 'text'",
    ),
    Case(
        "wrong delimiter",
        b"sentiment;confidence;text\npositive;1;good\n",
        error=r"{file}: line 1: one column only; the file seems delimited by ';', not ','",
    ),
    Case(
        "duplicate column names",
        b"sentiment,text,text\npositive,a,b\n",
        error=r"{file}: line 1: duplicate column names \['text'\]",
    ),
    Case(
        "reserved column name",
        b"sentiment,text,source_line\npositive,a,1\n",
        error=r"{file}: line 1: column names \['source_line'\] are reserved",
    ),
    Case(
        "binary garbage (NUL bytes)",
        HEADER + bytes(range(256)) * 4,
        error=r"{file}: line 2: NUL bytes; this is a binary or UTF-16 file, not delimited text",
    ),
    Case(
        "binary garbage without NUL bytes",
        HEADER + TWO_GOOD_ROWS + bytes(range(1, 256)),
        error=r"{file}: line 5: a carriage return \(\\r\) inside an unquoted field; lines must end in \\n or \\r\\n",
    ),
    Case(
        "old Mac line endings (CR only)",
        (HEADER + TWO_GOOD_ROWS).replace(b"\n", b"\r"),
        error=r"{file}: line 1: a carriage return \(\\r\) inside an unquoted field; lines must end in \\n or \\r\\n",
    ),
    Case(
        "UTF-16",
        (HEADER + TWO_GOOD_ROWS).decode().encode("utf-16"),
        error=r"{file}: line 1: NUL bytes; this is a binary or UTF-16 file, not delimited text",
    ),
    Case(
        "Latin-1 line, UTF-8 only",
        HEADER + TWO_GOOD_ROWS + "neutral,0.7,café crème\n".encode("latin-1"),
        error=r"{file}: line 4 is not valid utf-8 \(and no fallback encodings are configured\)",
        options={"fallback_encodings": []},
    ),
    Case(
        "Latin-1 line, Mac Roman fallback",
        HEADER + TWO_GOOD_ROWS + "neutral,0.7,café crème\n".encode("latin-1"),
        kept=3,
    ),
    Case("cp1252 quotes", HEADER + TWO_GOOD_ROWS + "neutral,0.7,“quoted” – text\n".encode("cp1252"), kept=3),
    Case("Shift-JIS line", HEADER + TWO_GOOD_ROWS + "neutral,0.7,日本語のテキスト\n".encode("shift_jis"), kept=3),
    Case("UTF-8 with a byte order mark", b"\xef\xbb\xbf" + HEADER + TWO_GOOD_ROWS, kept=2),
    Case(
        "a 1 MB line without a newline",
        b"x" * 1_000_000,
        error=r"{file}: column 'text' is missing; the columns are 'x{40}'…",
    ),
    Case("a 1 MB text field", HEADER + TWO_GOOD_ROWS + b"neutral,0.7," + b"word " * 200_000 + b"\n", kept=3),
    Case(
        "label outside the configured set",
        HEADER + TWO_GOOD_ROWS + b"angry,0.7,so angry\n",
        kept=2,
        rejected={"unknown_label": 1},
    ),
    Case(
        "NaN and empty labels",
        HEADER + TWO_GOOD_ROWS + b"NaN,0.7,one\nnan,0.7,two\n,0.7,three\n  ,0.7,four\n",
        kept=2,
        rejected={"unknown_label": 2, "missing_label": 2},
    ),
    Case(
        "a single class",
        HEADER + b"positive,0.9,good\npositive,0.8,fine\n",
        error=r"{file}: column 'sentiment': fewer than two classes among the kept rows; a classifier needs two",
    ),
    Case(
        "every row rejected",
        HEADER + b"angry,0.9,good\nhappy,0.8,fine\n",
        error=r"{file}: column 'sentiment': fewer than two classes among the kept rows; a classifier needs two",
    ),
    Case(
        "numbers where text is expected (text in a CSV)",
        HEADER + TWO_GOOD_ROWS + b"neutral,0.7,123\npositive,0.7,4.5e6\n",
        kept=4,
    ),
    Case(
        "missing and blank texts",
        HEADER + TWO_GOOD_ROWS + b"neutral,0.7,\nneutral,0.7,   \n",
        kept=2,
        rejected={"missing_text": 2},
    ),
    Case(
        "text that cleans to nothing",
        HEADER + TWO_GOOD_ROWS + "neutral,0.7,’¢_äŒÅ–\n".encode(),
        kept=2,
        rejected={"empty_after_cleaning": 1},
    ),
    Case(
        "invalid confidences",
        HEADER + TWO_GOOD_ROWS + b"neutral,high,a\nneutral,1.5,b\nneutral,nan,c\n",
        kept=2,
        rejected={"invalid_confidence": 3},
    ),
    Case(
        "wrong field counts",
        HEADER + TWO_GOOD_ROWS + b"neutral,0.7,a,b\nneutral\n",
        kept=2,
        rejected={"parse_error": 2},
    ),
    Case(
        "a quote never closed swallows the lines after it",
        HEADER + TWO_GOOD_ROWS + b'neutral,0.7,"open quote\npositive,0.9,would be a row\nnegative,0.9,another\n',
        kept=2,
        rejected={"parse_error": 1},
    ),
    Case(
        "copies and conflicting labels",
        HEADER + TWO_GOOD_ROWS + b"positive,0.5,What a good day\nneutral,0.5,tie\nnegative,0.5,tie\n",
        kept=2,
        rejected={"duplicate": 1, "conflicting_label": 2},
    ),
    Case("file does not exist", None, error=r"{file}: file does not exist"),
    Case("a directory instead of a file", DIRECTORY, error=r"{file}: is not a file"),
    Case(
        "parquet, numbers in the text column",
        parquet({"sentiment": ["positive", "negative"], "confidence": [0.9, 0.8], "text": [1, 2]}),
        error=r"{file}: column 'text' holds Int64 values; expected text",
        file_name="raw.parquet",
    ),
    Case(
        "parquet, bytes in the text column",
        parquet({"sentiment": ["positive"], "confidence": [0.9], "text": pa.array([b"\xff\xfe"], pa.binary())}),
        error=r"{file}: column 'text' row 1: bytes b'\\xff\\xfe'; expected text",
        file_name="raw.parquet",
    ),
    Case(
        "parquet, float labels",
        parquet({"sentiment": [0.0, 1.0], "confidence": [0.9, 0.8], "text": ["a", "b"]}),
        error=r"{file}: column 'sentiment' holds float64 values; expected text or integers",
        file_name="raw.parquet",
    ),
    Case(
        "parquet, missing label column",
        parquet({"label": ["positive"], "confidence": [0.9], "text": ["a"]}),
        error=r"{file}: column 'sentiment' is missing; the columns are 'label', 'confidence', 'text'",
        file_name="raw.parquet",
    ),
    Case(
        "parquet, duplicate column names",
        parquet(
            pa.Table.from_arrays(
                [pa.array(["positive"]), pa.array(["a"]), pa.array(["b"])], names=["sentiment", "text", "text"]
            )
        ),
        error=r"{file}: duplicate column names \['text'\]",
        file_name="raw.parquet",
    ),
    Case(
        "parquet, an empty file",
        b"",
        error=r"{file}: not a readable parquet file \(Parquet file size is 0 bytes\)",
        file_name="raw.parquet",
    ),
    Case(
        "parquet, a CSV file named .parquet",
        HEADER + TWO_GOOD_ROWS,
        error=r"{file}: not a readable parquet file \(Parquet magic bytes not found in footer\..*\)",
        file_name="raw.parquet",
    ),
    Case(
        "parquet, integer labels with a missing one",
        parquet(
            {
                "sentiment": pa.array([0, 1, None], pa.int64()),
                "confidence": [0.9, 0.8, 0.7],
                "text": ["good", "bad", "meh"],
            }
        ),
        kept=2,
        rejected={"missing_label": 1},
        file_name="raw.parquet",
        classes=("0", "1"),
    ),
    Case(
        "parquet, missing texts and NaN labels",
        parquet(
            {
                "sentiment": ["positive", "negative", None, "neutral"],
                "confidence": [0.9, None, 0.5, 0.7],
                "text": ["good", "bad", "no label", None],
            }
        ),
        kept=2,
        rejected={"missing_label": 1, "missing_text": 1},
        file_name="raw.parquet",
    ),
    Case(
        "labels spelt otherwise past the gate",
        HEADER + GATED.encode(),
        error=r"{file}: 1 of 3 rows \(33.3%\) rejected as unknown_label, above the limit of 5.0%; "
        r"the first is row 3 \(label ' negative '\).*",
        parameters={"max_rejected_fraction": {}},
    ),
    Case(
        "labels spelt otherwise, normalised",
        HEADER + GATED.encode(),
        kept=3,
        parameters={"max_rejected_fraction": {}, "label_normalization": "strip"},
    ),
    Case(
        "headerless and gzipped",
        gzip.compress(TWO_GOOD_ROWS),
        kept=2,
        options={"column_names": ["sentiment", "confidence", "text"]},
    ),
]


# Tiny files reject large shares of their rows: the gates are tested on their own below.
UNLIMITED = {reason: 1.0 for reason in REASONS}
PARAMETERS = {
    "columns": {"text": "text", "label": "sentiment", "confidence": "confidence"},
    "max_rejected_fraction": UNLIMITED,
}


@pytest.fixture(scope="module")
def catalog_config():
    return OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), **CONFIG_LOADER_ARGS)["catalog"]


def raw_entry(case: Case, path) -> dict:
    if case.file_name.endswith(".parquet"):
        return {"type": "flaxline.datasets.RawParquetDataset", "filepath": str(path)}
    return {"type": "flaxline.datasets.DelimitedTextDataset", "filepath": str(path), **case.options}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_ends_in_one_line_or_in_rows_accounted_for(case, catalog_config, tmp_path, monkeypatch):
    path = tmp_path / case.file_name
    if case.content is DIRECTORY:
        path.mkdir()
    elif case.content is not None:
        path.write_bytes(case.content)
    config = copy.deepcopy(catalog_config)
    config["tweets.raw"] = raw_entry(case, path)
    monkeypatch.chdir(tmp_path)  # the catalog's relative output paths land here
    catalog = DataCatalog.from_config(config)
    catalog["params:tweets.classes"] = MemoryDataset(list(case.classes))
    catalog["params:tweets.data_processing"] = MemoryDataset(
        TextProcessingParams.model_validate(PARAMETERS | case.parameters)
    )
    stage = pipeline(text_processing.create_pipeline(), namespace="tweets")

    if case.error is not None:
        with pytest.raises(Exception) as raised:
            SequentialRunner().run(stage, catalog)
        bad_input = find_user_error(raised.value)
        assert bad_input is not None, f"not reported as bad input: {raised.value!r}"
        assert re.fullmatch(case.error.replace("{file}", re.escape(str(path))), str(bad_input)), str(bad_input)
        return
    SequentialRunner().run(stage, catalog)
    kept, rejected, report = (catalog.load(f"tweets.{name}") for name in ("clean", "rejected", "cleaning_report"))
    assert (len(kept), dict(Counter(rejected["reason"]))) == (case.kept, case.rejected)
    assert report["raw_rows"] == len(kept) + len(rejected)


@pytest.mark.slow
def test_kedro_run_on_a_bad_file_prints_one_line_and_no_traceback(tmp_path):
    root = make_small_project(tmp_path, rows=10)
    raw = root / "data" / "01_raw" / "tweets_sample.csv"
    raw.write_bytes(b"sentiment;confidence;text\npositive;1;good\n")
    returncode, output = kedro_run(root, "--env", "test", "--pipelines", "data_processing")
    assert returncode == 1, output
    line = f"Error: {raw}: line 1: one column only; the file seems delimited by ';', not ','"
    assert line in output.splitlines(), output
    assert "Traceback" not in output and "╭" not in output, output


def raised_from(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause  # what `raise error from cause` records
    return error


def raising(error: Exception):
    def failing_run(**options):
        raise error

    return failing_run


def test_run_reports_bad_input_in_one_line_and_passes_the_options_on(monkeypatch):
    seen = {}

    def failing_run(**options):
        seen.update(options)
        raise raised_from(DatasetError("tweets.raw: raw.csv: line 3: bad"), InputError("raw.csv: line 3: bad"))

    monkeypatch.setattr(cli.kedro_run, "callback", failing_run)
    result = CliRunner().invoke(cli.cli, ["run", "--pipelines", "data_processing", "--env", "test"])
    assert (result.exit_code, result.output) == (1, "Error: raw.csv: line 3: bad\n")
    assert seen["pipelines"] == ["data_processing"] and seen["env"] == "test" and "traceback" not in seen


def test_the_traceback_switch_and_other_errors_keep_the_traceback(monkeypatch):
    bad_input = raised_from(DatasetError("tweets.raw: raw.csv: bad"), InputError("raw.csv: bad"))
    for error, arguments in ((bad_input, ["run", "--traceback"]), (RuntimeError("a bug"), ["run"])):
        monkeypatch.setattr(cli.kedro_run, "callback", raising(error))
        result = CliRunner().invoke(cli.cli, arguments)
        assert result.exception is error  # not caught: Python (rich, under Kedro's logging) prints its traceback
