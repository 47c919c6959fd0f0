"""Write the bundled data as files of the formats the pipelines read: a template for your own.

::

    python -m pipelines.examples my_data

writes into ``my_data/``:

- ``co2_panel.csv``: a long table of three weekly series (``unique_id``,
  ``ds``, ``y``), CO2 at Mauna Loa cut into consecutive stretches;
- ``airline.parquet`` and ``airline_future.parquet``: one monthly series
  without an id column, its columns named ``month`` and ``passengers``,
  the last 12 months in the second file;
- ``motions_TRAIN.ts`` and ``motions_TEST.ts``: UEA ``.ts`` files
  (BasicMotions, as distributed);
- ``vowels.csv``: a long table of sequences to classify (``unique_id``,
  ``ds``, a ``speaker`` label, 12 channels), from JapaneseVowels;
- ``ner.conll``: a CoNLL file, a token and its IOB2 tag per line, blank
  lines between sentences (the Japanese NER corpus);
- ``segmentation.parquet``: a long table of sequences with a label per step
  (``activity``), from BasicMotions.
"""

import argparse
import shutil
from pathlib import Path

import pandas as pd

from seqkit import datasets

__all__ = ["write_examples"]


def _co2_panel(path):
    y = datasets.load_series("co2")
    stretches = (y.iloc[start:start + 120] for start in (0, 120, 240))
    pd.concat([pd.DataFrame({"unique_id": f"co2-{i}", "ds": part.index, "y": part.to_numpy()})
               for i, part in enumerate(stretches)]).to_csv(path, index=False)


def _airline(path, future_path):
    y = datasets.load_series("airline")
    frame = pd.DataFrame({"month": y.index, "passengers": y.to_numpy()})
    frame.iloc[:-12].to_parquet(path)
    frame.iloc[-12:].to_parquet(future_path)


def _motions(folder):
    for path in datasets.verify("basic_motions"):
        shutil.copy(path, folder / path.name.replace("BasicMotions", "motions"))


def _steps(X, labels, label_column):
    """A long table of sequences: one row per step, labels per sequence or per step."""
    rows = []
    for i, (x, label) in enumerate(zip(X, labels, strict=True)):
        frame = pd.DataFrame(x, columns=[f"c{j}" for j in range(x.shape[1])])
        frame.insert(0, label_column, label)
        frame.insert(0, "ds", range(len(x)))
        frame.insert(0, "unique_id", f"s{i}")
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def _vowels(path):
    X, y, _, _ = datasets.load_classification("japanese_vowels")
    _steps(X, y, "speaker").to_csv(path, index=False)


def _ner(path):
    tokens, tags, test_tokens, test_tags = datasets.load_tagging("japanese_ner")
    lines = []
    for sentence, labels in zip(tokens + test_tokens, tags + test_tags, strict=True):
        lines += [f"{token}\t{tag}" for token, tag in zip(sentence, labels, strict=True)] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _segmentation(path):
    X, y, _, _ = datasets.load_tagging("basic_motions_segmentation")
    _steps(X, y, "activity").to_parquet(path)


def write_examples(folder):
    """Write the example files into ``folder`` (created if missing); return their paths.

    Parameters
    ----------
    folder : path-like

    Returns
    -------
    list of pathlib.Path
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _co2_panel(folder / "co2_panel.csv")
    _airline(folder / "airline.parquet", folder / "airline_future.parquet")
    _motions(folder)
    _vowels(folder / "vowels.csv")
    _ner(folder / "ner.conll")
    _segmentation(folder / "segmentation.parquet")
    return sorted(folder.iterdir())


def main(argv=None):
    """Write the example files into the folder given on the command line."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.examples",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="where to write them (created if missing)")
    args = parser.parse_args(argv)
    for path in write_examples(args.folder):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
