"""``import seqkit`` makes Keras know every object seqkit registers, without importing Keras."""

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from seqkit import crf, networks, quantiles, training
from seqkit._keras_objects import KERAS_OBJECTS, _stand_in
from seqkit.cells import ElmanRNN, ElmanRNNCell, PeepholeLSTM, PeepholeLSTMCell
from tests.helpers.exports import SUBPROCESS_ENV

PACKAGE = Path(__file__).resolve().parents[1] / "seqkit"


def _decorated_registrations():
    """``{"seqkit>Name": module}`` for each class or function of seqkit's source decorated
    with ``register_keras_serializable``."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                continue
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if ast.unparse(call).endswith("register_keras_serializable"):
                    package = ast.literal_eval(
                        next(k.value for k in decorator.keywords if k.arg == "package"))
                    found[f"{package}>{node.name}"] = module.removesuffix(".__init__")
    return found


def test_the_list_holds_every_registration_and_its_module():
    assert _decorated_registrations() == KERAS_OBJECTS
    registered = keras.saving.get_custom_objects()
    for name, module in KERAS_OBJECTS.items():  # imported here: the real classes took over
        __import__(module)
        assert registered[name].__module__ == module, name
        assert keras.saving.get_registered_name(registered[name]) == name


def test_a_stand_in_builds_the_real_object():
    layer = ElmanRNN(3, return_sequences=True, name="rnn")
    built = _stand_in("seqkit>ElmanRNN", "seqkit.cells.elman").from_config(layer.get_config())
    assert type(built) is ElmanRNN
    assert built.get_config() == layer.get_config()


def test_import_seqkit_loads_neither_keras_nor_tensorflow():
    script = ("import sys, seqkit, seqkit.datasets, seqkit.exceptions\n"
              "print(sorted({'keras', 'tensorflow'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=SUBPROCESS_ENV, timeout=120, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


def _crf_model(compiled=False):
    model = crf.add_crf(networks.build_many_to_many(2, 3, cell="elman", units=3,
                                                    output_activation=None, seed=0))
    if compiled:
        model.compile(loss=crf.CRFLoss(model.get_layer("crf")))
    return model


def _pinball_model():
    model = networks.build_many_to_one(2, 6, cell="elman", units=3, seed=0)
    model.compile(loss=quantiles.PinballLoss((0.1, 0.5, 0.9)))
    return model


def _masked_loss_model():
    model = networks.build_many_to_one(2, 6, cell="elman", units=3, seed=0)
    model.compile(loss=quantiles.MaskedLoss((0.1, 0.5, 0.9)))
    return model


def _smoothed_loss_model():
    model = networks.build_many_to_one(2, 3, cell="elman", units=3, seed=0,
                                       output_activation="softmax")
    model.compile(loss=training.SmoothedSparseCrossentropy(0.1))
    return model


# registered name -> (a model that holds it, an input of that model)
MODELS = {
    "seqkit>ElmanRNN": (lambda: keras.Sequential([keras.Input((None, 1)), ElmanRNN(1)]),
                        np.ones((2, 3, 1), "float32")),
    "seqkit>PeepholeLSTM": (lambda: keras.Sequential([keras.Input((None, 2)), PeepholeLSTM(3)]),
                            np.ones((2, 3, 2), "float32")),
    "seqkit>ElmanRNNCell": (
        lambda: keras.Sequential([keras.Input((None, 2)), keras.layers.RNN(ElmanRNNCell(3))]),
        np.ones((2, 3, 2), "float32")),
    "seqkit>PeepholeLSTMCell": (
        lambda: keras.Sequential([keras.Input((None, 2)),
                                  keras.layers.RNN(PeepholeLSTMCell(3))]),
        np.ones((2, 3, 2), "float32")),
    "seqkit>PaddingMask": (
        lambda: networks.build_many_to_one(2, 2, cell="elman", units=3, seed=0),
        np.array([[[0.1, 0.2], [0.3, 0.4], [np.nan, np.nan]]] * 2, "float32")),
    "seqkit>TokenMask": (
        lambda: networks.build_many_to_many(None, 2, cell="elman", units=3, vocab_size=9,
                                            subword_features=1, subword_vocab_size=5, seed=0),
        np.array([[[3, 1], [4, 2], [0, 0]], [[5, 4], [0, 0], [0, 0]]], "int32")),
    "seqkit>FeedbackRNN": (
        lambda: networks.build_one_to_many(2, 2, 3, cell="elman", units=3, seed=0),
        np.ones((2, 2), "float32")),
    "seqkit>CarriedOutput": (
        lambda: networks.stateful_twin(networks.build_many_to_many(2, 2, cell="elman",
                                                                   units=3, seed=0)),
        [np.ones((2, 3, 2), "float32"), np.full((2, 3), 0.5, "float32")]),
    "seqkit>LinearChainCRF": (_crf_model, np.ones((2, 3, 2), "float32")),
    "seqkit>CRFLoss": (lambda: _crf_model(compiled=True), np.ones((2, 3, 2), "float32")),
    "seqkit>PinballLoss": (lambda: _pinball_model(), np.ones((2, 3, 2), "float32")),
    "seqkit>MaskedLoss": (_masked_loss_model, np.ones((2, 3, 2), "float32")),
    "seqkit>SmoothedSparseCrossentropy": (_smoothed_loss_model, np.ones((2, 3, 2), "float32")),
    "seqkit>StepPooling": (
        lambda: networks.build_many_to_one(2, 2, cell="elman", units=3, step_pooling=2, seed=0),
        np.ones((2, 5, 2), "float32")),
    "seqkit>ConvBranch": (
        lambda: networks.build_many_to_one(2, 2, cell="elman", units=3, conv_branch=True, seed=0),
        np.ones((2, 9, 2), "float32")),
}


def _registered_names(path):
    """Every ``registered_name`` in the config of the ``.keras`` file at ``path``."""
    with zipfile.ZipFile(path) as archive:
        text = archive.read("config.json").decode()
    names = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("registered_name"), str):
                names.add(node["registered_name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(text))
    return names


@pytest.mark.slow  # starts a process that imports TensorFlow
def test_saved_models_load_in_a_new_process_after_import_seqkit_alone(tmp_path):
    assert set(MODELS) == set(KERAS_OBJECTS)
    jobs = {}
    for name, (build, x) in MODELS.items():
        model, stem = build(), name.partition(">")[2]
        model.save(tmp_path / f"{stem}.keras")
        assert name in _registered_names(tmp_path / f"{stem}.keras")
        want = model.predict(x, verbose=0)
        np.savez(tmp_path / f"{stem}-x.npz", *(x if isinstance(x, list) else [x]))
        np.savez(tmp_path / f"{stem}-want.npz", *(want if isinstance(want, list) else [want]))
        jobs[stem] = str(tmp_path / stem)
    script = f"""
import sys
import seqkit, keras
import numpy as np
assert "seqkit.cells" not in sys.modules  # nothing imported seqkit's layers so far
for stem, base in {jobs!r}.items():
    model = keras.models.load_model(base + ".keras")
    xs = list(np.load(base + "-x.npz").values())
    got = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    np.savez(base + "-got.npz", *(got if isinstance(got, list) else [got]))
    if stem == "CRFLoss":
        print(type(model.loss).__module__, type(model.loss).__name__)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=SUBPROCESS_ENV, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["seqkit.crf", "CRFLoss"]
    for stem, base in jobs.items():
        want, got = np.load(base + "-want.npz"), np.load(base + "-got.npz")
        assert list(want) == list(got), stem
        for key in want:
            np.testing.assert_allclose(got[key], want[key], atol=1e-6, err_msg=stem)
