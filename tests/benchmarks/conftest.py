"""The benchmark modules import one another as top-level modules (``python benchmarks/x.py``
puts ``benchmarks/`` on ``sys.path``); the tests of their readers import them the same way."""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))


@pytest.fixture
def fresh_workers():
    """Shut joblib's reusable worker processes down before and after a test: a worker keeps
    the standard error it was started with, which is an earlier test's captured one."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
    yield
    get_reusable_executor().shutdown(wait=True)
