"""The scikit-learn baselines every report is compared with, chosen by name: TF-IDF n-grams or pixels,
each into logistic regression. A baseline is fitted on the training rows and predicts class
indices for other rows (the split frames of ``flaxline.pipelines.split``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, PositiveFloat, PositiveInt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from flaxline.config import Settings
from flaxline.images.rows import images_array


class TfidfLogisticRegressionSpec(Settings):
    """TF-IDF of word 1- to ngram_max-grams, then logistic regression: the baseline of text tasks."""

    name: Literal["tfidf_logistic_regression"] = "tfidf_logistic_regression"
    ngram_max: PositiveInt = 2
    min_df: PositiveInt = 1
    sublinear_tf: bool = True
    C: PositiveFloat = 1.0
    max_iter: PositiveInt = 2000


class PixelLogisticRegressionSpec(Settings):
    """Standardised pixels, then logistic regression: the baseline of image tasks."""

    name: Literal["pixel_logistic_regression"] = "pixel_logistic_regression"
    C: PositiveFloat = 1.0
    max_iter: PositiveInt = 2000


BaselineSpec = Annotated[TfidfLogisticRegressionSpec | PixelLogisticRegressionSpec, Field(discriminator="name")]


def _texts(rows: pd.DataFrame) -> list[str]:
    return list(rows["text"])


def _pixels(rows: pd.DataFrame) -> np.ndarray:
    return images_array(rows).reshape(len(rows), -1).astype(np.float32)


def _tfidf_logistic_regression(spec: TfidfLogisticRegressionSpec) -> Pipeline:
    return make_pipeline(
        FunctionTransformer(_texts),
        TfidfVectorizer(ngram_range=(1, spec.ngram_max), min_df=spec.min_df, sublinear_tf=spec.sublinear_tf),
        LogisticRegression(C=spec.C, max_iter=spec.max_iter),
    )


def _pixel_logistic_regression(spec: PixelLogisticRegressionSpec) -> Pipeline:
    return make_pipeline(
        FunctionTransformer(_pixels), StandardScaler(), LogisticRegression(C=spec.C, max_iter=spec.max_iter)
    )


BASELINES: dict[str, Callable[[Any], Pipeline]] = {
    "tfidf_logistic_regression": _tfidf_logistic_regression,
    "pixel_logistic_regression": _pixel_logistic_regression,
}


def fit_baseline(spec: BaselineSpec, train_rows: pd.DataFrame, labels: np.ndarray) -> Pipeline:
    """The baseline ``spec`` names, fitted on the training rows; ``.predict(rows)`` gives class indices."""
    return BASELINES[spec.name](spec).fit(train_rows, labels)
