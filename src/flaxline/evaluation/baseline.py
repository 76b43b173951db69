"""The scikit-learn baseline every report is compared with: TF-IDF n-grams + logistic regression."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline


def fit_tfidf_logistic_regression(
    texts: Sequence[str],
    labels: np.ndarray,
    *,
    ngram_max: int = 2,
    min_df: int = 1,
    sublinear_tf: bool = True,
    C: float = 1.0,
    max_iter: int = 2000,
) -> Pipeline:
    """Fit the baseline on the training texts."""
    model = Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, ngram_max), min_df=min_df, sublinear_tf=sublinear_tf)),
            ("classifier", LogisticRegression(C=C, max_iter=max_iter)),
        ]
    )
    return model.fit(list(texts), labels)
