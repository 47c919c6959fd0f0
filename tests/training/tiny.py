"""Tiny data and compiled networks for the training tests."""

import numpy as np

from seqkit import networks, training


def tiny_data(n=8, steps=6, features=4, per_step=True, seed=0):
    """``n`` sequences of ``steps`` steps; targets per step (a running sum) or per sequence."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, features)).astype("float32")
    y = np.cumsum(x[..., :1], axis=1) / 3 if per_step else x[:, :, :1].mean(axis=1)
    return x, y.astype("float32")


def tiny_model(cell="gru", per_step=True, compile_kwargs=None, **kwargs):
    """A compiled regression network, 4 features, 4 units, 1 output (per step or not)."""
    build = networks.build_many_to_many if per_step else networks.build_many_to_one
    model = build(4, 1, cell=cell, units=4, output_activation=None, **kwargs)
    return training.compile_model(model, **{"loss": "mse", "learning_rate": 0.01,
                                            **(compile_kwargs or {})})


def flat_weights(model):
    """All of the model's weights, as one flat array."""
    return np.concatenate([w.ravel() for w in model.get_weights()])
