"""Property: on any padded batch, ``predict`` and the export give the same answer or both refuse.

Hypothesis draws batches as a client sends them to an export: padded at the
end (NaN steps, or ``""`` tokens), with sequences of any length down to none,
and NaN, ``inf`` or padding sprinkled anywhere. The estimator gets the same
batch (numeric estimators take the padded array itself; the token tagger and
the forecaster take each row cut at its trailing padding, the form they read).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqkit import export
from tests.helpers.exports import fitted

pytestmark = pytest.mark.slow

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

WORDS = ["Ada", "Grace", "visited", "London", "met", "Turing", "unknown", ""]


@st.composite
def numeric_batches(draw, features, batch=3, steps=7):
    """A float32 array ``(batch, steps, features)``: real values, then NaN padding, with
    NaN, inf or all-NaN steps put anywhere.

    One shape throughout: the rows' lengths vary through their padding, and
    each new shape would cost a compilation of the network, in seconds.
    """
    values = draw(st.lists(st.floats(-3, 3, width=32), min_size=batch * steps * features,
                           max_size=batch * steps * features))
    x = np.array(values, np.float32).reshape(batch, steps, features)
    for row in range(batch):
        x[row, draw(st.integers(0, steps)):] = np.nan  # this row's padding
    for _ in range(draw(st.integers(0, 2))):
        row, step = draw(st.integers(0, batch - 1)), draw(st.integers(0, steps - 1))
        column = draw(st.sampled_from([slice(None), slice(0, 1)]))
        x[row, step, column] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return x


@st.composite
def token_batches(draw, batch=3, steps=5):
    """A str array ``(batch, steps)`` of tokens, ``""`` padding at the end and anywhere."""
    rows = draw(st.lists(st.lists(st.sampled_from(WORDS), max_size=steps), min_size=batch,
                         max_size=batch))
    return np.array([row + [""] * (steps - len(row)) for row in rows], dtype=str)


def _refusal(call):
    """``(outputs, None)`` of ``call()``, or ``(None, error)`` if it refuses with a ValueError."""
    try:
        return call(), None
    except ValueError as err:
        return None, err


def _agree(name, estimator_call, export_call, compare):
    got, refused = _refusal(export_call)
    want, estimator_refused = _refusal(estimator_call)
    assert (refused is None) == (estimator_refused is None), (
        f"{name}: the export {'refused' if refused else 'answered'} "
        f"({refused}), predict {'refused' if estimator_refused else 'answered'} "
        f"({estimator_refused})")
    if refused is None:
        compare(got, want)


def _trim(row, padding):
    """A row without its trailing padding steps."""
    n = len(row)
    while n and padding(row[n - 1]):
        n -= 1
    return row[:n]


@given(x=numeric_batches(features=2))
@SETTINGS
def test_classifier(exports, x):
    model = fitted("classifier")
    signature = export.load_saved_model(exports("classifier"), "predict_proba")
    _agree("classifier", lambda: model.predict_proba(x), lambda: signature(sequences=x),
           lambda got, want: np.testing.assert_allclose(got["probabilities"], want, atol=1e-5))


@given(x=numeric_batches(features=2))
@SETTINGS
def test_numeric_tagger(exports, x):
    model = fitted("bidirectional_tagger")
    signature = export.load_saved_model(exports("bidirectional_tagger"), "predict_proba")

    def compare(got, want):
        for row, probabilities in enumerate(want):
            np.testing.assert_allclose(got["probabilities"][row, : len(probabilities)],
                                       probabilities, atol=1e-5)
        np.testing.assert_array_equal(got["lengths"], [len(p) for p in want])

    _agree("numeric tagger", lambda: model.predict_proba(x), lambda: signature(sequences=x),
           compare)


@given(tokens=token_batches())
@SETTINGS
def test_token_tagger(exports, tokens):
    model = fitted("tagger")
    signature = export.load_saved_model(exports("tagger"))
    rows = [_trim(list(row), lambda token: token == "") for row in tokens]

    def compare(got, want):
        for row, labels in enumerate(want):
            np.testing.assert_array_equal(got["labels"][row, : len(labels)], labels)

    _agree("token tagger", lambda: model.predict(rows), lambda: signature(tokens=tokens),
           compare)


@given(history=numeric_batches(features=1, steps=10))
@SETTINGS
def test_forecaster(exports, history):
    model = fitted("streaming_forecaster")
    signature = export.load_saved_model(exports("streaming_forecaster"))
    histories = [_trim(row[:, 0], np.isnan) for row in history.astype(float)]
    _agree("forecaster", lambda: np.stack(model.predict(y=histories))[..., None],
           lambda: signature(history=history),
           lambda got, want: np.testing.assert_allclose(got["forecasts"], want, atol=1e-5))
