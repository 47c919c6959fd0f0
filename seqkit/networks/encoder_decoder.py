"""Encoder-decoder (sequence-to-sequence) networks: teacher forcing in training, their own
outputs fed back at inference."""

import weakref

import keras
import numpy as np

from seqkit._validation import check_int, check_shape
from seqkit.exceptions import InvalidInputError, InvalidParameterError
from seqkit.networks.feedback import FeedbackRNN
from seqkit.networks.masking import PaddingMask, _masked
from seqkit.networks.recurrent import _common, _run_stack, _seed, _stack_from, _stack_layers


def _bridge(finals, bidirectional):
    """Encoder final states as decoder initial states: per layer, the two directions'
    states concatenated when the encoder is bidirectional."""
    if not bidirectional:
        return finals
    bridged = []
    for states in finals:
        half = len(states) // 2
        bridged.append([
            keras.layers.Concatenate()([forward, backward])
            for forward, backward in zip(states[:half], states[half:])
        ])
    return bridged


def _encoded_states(padding_mask, stack, encoder_inputs):
    """The decoder's initial states, per layer: the encoder's final states (bridged)."""
    h, mask = _masked(padding_mask, encoder_inputs)
    _, finals = _run_stack(h, stack, mask=mask)
    return _bridge(finals, isinstance(stack[0][1], keras.layers.Bidirectional))


def build_encoder_decoder(
    n_features,
    n_targets,
    horizon,
    *,
    cell="peephole_lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    dropout=0.0,
    n_future_covariates=0,
    seed=None,
    cell_kwargs=None,
):
    """Encoder-decoder (sequence-to-sequence) network, for training with teacher forcing.

    The encoder reads the input sequence; the final states of its layer ``k``
    are the initial states of decoder layer ``k``. The decoder's input at step
    ``j`` is the previous target ``y_{j-1}`` (``y_0`` being a given start value,
    e.g. the last observed value of a series) next to the known covariates of
    step ``j``: build it with :func:`teacher_forcing_inputs`. At inference there
    are no true previous targets; :func:`predict_autoregressive` feeds the
    model's own outputs back instead (multi-step forecasting).

    Parameters
    ----------
    n_features : int
        Features per encoder step.
    n_targets : int
        Size of each output step.
    horizon : int
        Number of output steps, ``>= 1``.
    cell, units, num_layers, dropout, seed, cell_kwargs
        As in :func:`build_many_to_one`; the encoder and the decoder both have
        ``num_layers`` layers.
    bidirectional : bool, default False
        Bidirectional encoder; the decoder then has ``2 * units`` units and
        starts from the two directions' states concatenated.
    n_future_covariates : int, default 0
        Known inputs of each output step (calendar features, planned values).

    Returns
    -------
    keras.Model
        Inputs ``encoder_inputs`` ``(batch, time, n_features)`` (NaN-padded) and
        ``decoder_inputs`` ``(batch, horizon, n_targets + n_future_covariates)``;
        output ``(batch, horizon, n_targets)``, linear.
    """
    owner = "build_encoder_decoder"
    params = _common(owner, cell, units, num_layers, dropout, seed, cell_kwargs)
    n_features = check_int(n_features, "n_features", owner, minimum=1)
    n_targets = check_int(n_targets, "n_targets", owner, minimum=1)
    horizon = check_int(horizon, "horizon", owner, minimum=1)
    n_future_covariates = check_int(n_future_covariates, "n_future_covariates", owner, minimum=0)
    bidirectional = bool(bidirectional)
    encoder_inputs = keras.Input((None, n_features), name="encoder_inputs")
    decoder_inputs = keras.Input((horizon, n_targets + n_future_covariates),
                                 name="decoder_inputs")
    encoder = _stack_layers(params, prefix="encoder", return_sequences=False,
                            bidirectional=bidirectional)
    states = _encoded_states(PaddingMask(name="padding_mask"), encoder, encoder_inputs)
    decoder = _stack_layers(
        {**params, "seed": _seed(params["seed"], params["num_layers"])}, prefix="decoder",
        return_sequences=True, units=params["units"] * (2 if bidirectional else 1),
    )
    h, _ = _run_stack(decoder_inputs, decoder, initial_states=states)
    outputs = keras.layers.Dense(n_targets, name="readout")(h)
    return keras.Model([encoder_inputs, decoder_inputs], outputs, name="encoder_decoder")


def teacher_forcing_inputs(y, start, future_covariates=None):
    """Decoder inputs for training an encoder-decoder with teacher forcing.

    Step ``j`` gets the true previous target ``y_{j-1}`` (``start`` for
    ``j = 0``) followed by the covariates of step ``j``.

    Parameters
    ----------
    y : array-like of shape (batch, horizon, n_targets)
        The targets.
    start : array-like of shape (batch, n_targets)
        The value before the first target (e.g. the last observed value).
    future_covariates : array-like of shape (batch, horizon, n_covariates) or None

    Returns
    -------
    numpy.ndarray of shape (batch, horizon, n_targets + n_covariates), float32
    """
    owner = "teacher_forcing_inputs"
    y = np.asarray(y, dtype="float32")
    if y.ndim != 3:
        raise InvalidInputError(
            f"The 'y' argument of {owner} must be 3-D (batch, horizon, n_targets). "
            f"Got shape {y.shape}."
        )
    start = check_shape(np.asarray(start, dtype="float32"), "start", owner,
                        (y.shape[0], y.shape[2]))
    shifted = np.concatenate([start[:, None, :], y[:, :-1]], axis=1)
    if future_covariates is None:
        return shifted
    covariates = check_shape(np.asarray(future_covariates, dtype="float32"), "future_covariates",
                             owner, (y.shape[0], y.shape[1], None))
    return np.concatenate([shifted, covariates], axis=-1)


_AUTOREGRESSIVE = weakref.WeakKeyDictionary()


def autoregressive_model(model):
    """The inference twin of an encoder-decoder: its own outputs fed back, weights shared.

    Parameters
    ----------
    model : keras.Model
        A model from :func:`build_encoder_decoder` (trained or not).

    Returns
    -------
    keras.Model
        Inputs ``encoder_inputs`` ``(batch, time, n_features)``, ``start``
        ``(batch, n_targets)`` and, when the model has future covariates,
        ``future_covariates`` ``(batch, horizon, n_future_covariates)``; output
        ``(batch, horizon, n_targets)``. Built once per model and cached.
        Exportable like any Keras model.
    """
    if model in _AUTOREGRESSIVE:
        return _AUTOREGRESSIVE[model]
    layers = {layer.name: layer for layer in model.layers}
    if not {"encoder_1", "decoder_1", "readout", "decoder_inputs", "padding_mask"} <= set(layers):
        raise InvalidParameterError(
            "The 'model' parameter of autoregressive_model must be built by "
            f"build_encoder_decoder. Got a model named {model.name!r} with layers "
            f"{sorted(layers)} instead."
        )
    # The trained encoder and decoder layers; no dropout at inference.
    encoder = [(None, layer) for _, layer in _stack_from(layers, "encoder")]
    readout = model.get_layer("readout")
    encoder_shape, (_, horizon, width) = (tuple(t.shape) for t in model.inputs)
    encoder_inputs = keras.Input(encoder_shape[1:], name="encoder_inputs")
    start = keras.Input((readout.units,), name="start")
    inputs = [encoder_inputs, start]
    step_inputs = None
    if width > readout.units:
        step_inputs = keras.Input((horizon, width - readout.units), name="future_covariates")
        inputs.append(step_inputs)
    states = _encoded_states(layers["padding_mask"], encoder, encoder_inputs)
    decoder = FeedbackRNN([layer.cell for _, layer in _stack_from(layers, "decoder")], readout,
                          horizon, name="decoder")
    outputs = decoder(first_input=start, initial_state=[s for layer in states for s in layer],
                      step_inputs=step_inputs)
    _AUTOREGRESSIVE[model] = keras.Model(inputs, outputs, name="autoregressive_decoder")
    return _AUTOREGRESSIVE[model]


def predict_autoregressive(model, encoder_inputs, start, future_covariates=None, batch_size=256):
    """Run an encoder-decoder at inference: every output fed back as the next decoder input.

    Parameters
    ----------
    model : keras.Model
        A model from :func:`build_encoder_decoder`.
    encoder_inputs : array-like of shape (batch, time, n_features)
        NaN-padded input sequences.
    start : array-like of shape (batch, n_targets)
        The decoder's first input (e.g. the last observed targets), as in training.
    future_covariates : array-like of shape (batch, horizon, n_future_covariates) or None
        Required when the model was built with ``n_future_covariates > 0``.
    batch_size : int, default 256

    Returns
    -------
    numpy.ndarray of shape (batch, horizon, n_targets)
    """
    owner = "predict_autoregressive"
    generator = autoregressive_model(model)
    expected = [tuple(t.shape) for t in generator.inputs]
    encoder_inputs = np.asarray(encoder_inputs, dtype="float32")
    if encoder_inputs.ndim != 3:
        raise InvalidInputError(
            f"The 'encoder_inputs' argument of {owner} must be 3-D (batch, time, n_features). "
            f"Got shape {encoder_inputs.shape}."
        )
    batch = encoder_inputs.shape[0]
    arrays = [check_shape(encoder_inputs, "encoder_inputs", owner, (batch, None, expected[0][2])),
              check_shape(np.asarray(start, dtype="float32"), "start", owner,
                          (batch, expected[1][1]))]
    if len(expected) == 3:
        if future_covariates is None:
            raise InvalidInputError(
                f"The 'future_covariates' argument of {owner} is required: the model was built "
                f"with n_future_covariates={expected[2][2]}. Got None."
            )
        arrays.append(check_shape(np.asarray(future_covariates, dtype="float32"),
                                  "future_covariates", owner, (batch, *expected[2][1:])))
    elif future_covariates is not None:
        raise InvalidInputError(
            f"The 'future_covariates' argument of {owner} must be None: the model was built "
            "with n_future_covariates=0. Got an array of shape "
            f"{np.shape(future_covariates)}."
        )
    return generator.predict(arrays, batch_size=batch_size, verbose=0)
