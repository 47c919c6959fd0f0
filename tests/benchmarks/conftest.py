"""The benchmark modules import one another as top-level modules (``python benchmarks/x.py``
puts ``benchmarks/`` on ``sys.path``); the tests of their readers import them the same way."""

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
