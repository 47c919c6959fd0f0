"""Networks that read a sequence: many-to-one (one output) and many-to-many (one per step).

The layers of such a network are made once (:func:`_sequence_network`) and
wired by :func:`_sequence_graph`, which :func:`seqkit.networks.stateful_twin`
and :func:`seqkit.networks.probed_twin` call again on the same layers, found by
name (:func:`_sequence_layers`), to give the network states in and out, or
probes on its first recurrent layer.
"""

import keras
import numpy as np

from seqkit._validation import check_int
from seqkit.cells._base import get_keras_object
from seqkit.exceptions import InputTypeError, InvalidParameterError
from seqkit.networks.conv import RECURRENT_DROPOUT, ConvBranch
from seqkit.networks.masking import PaddingMask, TokenMask, _masked
from seqkit.networks.pooling import StepPooling
from seqkit.networks.recurrent import (
    _common,
    _initial_state_layers,
    _run_stack,
    _stack_from,
    _stack_layers,
    _state_sizes,
    _states_from,
)


def _sequence_layers(model, owner):
    """The layers of a network of :func:`build_many_to_one` or :func:`build_many_to_many`, by
    name, and its recurrent stack; raise unless it is one."""
    if not isinstance(model, keras.Model):
        raise InputTypeError(
            f"The 'model' parameter of {owner} must be a keras.Model. Got "
            f"{type(model).__name__} instead."
        )
    layers = {layer.name: layer for layer in model.layers}
    stack = _stack_from(layers, "recurrent")
    if not stack or "readout" not in layers or not {"padding_mask", "embedding"} & set(layers):
        raise InvalidParameterError(
            f"The 'model' parameter of {owner} must be a network built by build_many_to_one or "
            f"build_many_to_many. Got a model named {model.name!r} with layers "
            f"{sorted(layers)} instead."
        )
    return layers, stack


def _sequence_graph(layers, stack, inputs, initial_states=None, top=None, first=None):
    """Wire a sequence network's layers on ``inputs``.

    Parameters
    ----------
    layers : dict
        The network's layers by name: ``"padding_mask"`` or ``"embedding"``
        (and ``"subword_embedding"``, ``"token_features"``, ``"padding_mask"``
        with sub-word features), ``"initial_state_k"`` with static features,
        ``"readout"``.
    stack : list
        The recurrent stack, ``(dropout, layer)`` pairs.
    inputs : list of KerasTensor
        ``[sequences]`` or ``[tokens]``, then ``static`` when the network has
        static features.
    initial_states : list or None
        Per layer, its initial states; None: the network's own (computed from
        ``static`` for the first layer, zeros elsewhere).
    top : callable or None
        ``top(h, finals, mask, initial_states)``, if given, replaces the last
        recurrent layer's output ``h`` before the read-out.
    first : callable or None
        ``first(h, initial_state=..., mask=...)``, if given, is called in
        place of the first recurrent layer (see
        :func:`~seqkit.networks.recurrent._run_stack`).

    Returns
    -------
    tuple
        The read-out's output and, per recurrent layer, its final states.
    """
    sequences = inputs[0]
    if "input_scaling" in layers:
        sequences = layers["input_scaling"](sequences)
    shapes = None
    if "conv_branch" in layers:  # every step, before any pooling
        steps, real = _masked(layers["padding_mask"], sequences)
        shapes = layers["conv_branch"](steps, mask=real)
    if "step_pooling" in layers:
        sequences = layers["step_pooling"](sequences)
    if "embedding" not in layers:
        h, mask = _masked(layers["padding_mask"], sequences)
    elif "subword_embedding" in layers:
        parts = layers["subword_embedding"](sequences[..., 1:])
        parts = keras.layers.Reshape((-1, parts.shape[-2] * parts.shape[-1]))(parts)
        h = layers["token_features"]([layers["embedding"](sequences[..., 0]), parts])
        h, mask = _masked(layers["padding_mask"], [h, sequences])
    else:
        h, mask = _masked(layers["embedding"], sequences)
    if initial_states is None and len(inputs) > 1:
        sizes = _state_sizes(stack[0][1])
        dense_layers = [layers[f"initial_state_{k + 1}"] for k in range(len(sizes))]
        initial_states = [_states_from(inputs[1], sizes, dense_layers)] + [None] * len(stack[1:])
    h, finals = _run_stack(h, stack, mask=mask, initial_states=initial_states, first=first)
    if top is not None:
        h = top(h, finals, mask, initial_states)
    if shapes is not None:
        if "recurrent_branch_dropout" in layers:  # absent from networks saved before it
            h = layers["recurrent_branch_dropout"](h)
        h = layers["conv_merge"]([h, shapes])
    return layers["readout"](h), finals


def _scaling_layer(input_scaling, n_features, owner):
    """A ``Normalization`` layer giving ``(x - mean) / scale`` per feature; NaN padding
    stays NaN, so the padding mask after it still finds it."""
    mean, scale = (np.asarray(part, dtype="float64").reshape(-1) for part in input_scaling)
    if mean.shape != (n_features,) or scale.shape != (n_features,) or not (
            np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
        raise InvalidParameterError(
            f"The 'input_scaling' parameter of {owner} must be a pair (mean, scale) of "
            f"{n_features} finite values each, every scale > 0. Got mean {mean.tolist()} and "
            f"scale {scale.tolist()}."
        )
    return keras.layers.Normalization(mean=mean, variance=scale**2, name="input_scaling")


def _sequence_network(
    owner, n_features, n_outputs, return_sequences, *, cell, units, num_layers, bidirectional,
    dropout, output_activation, n_static, static_units, vocab_size, embedding_dim, seed,
    cell_kwargs, subword_features=0, subword_vocab_size=None, input_scaling=None, step_pooling=1,
    conv_branch=False,
):
    params = _common(owner, cell, units, num_layers, dropout, seed, cell_kwargs)
    n_outputs = check_int(n_outputs, "n_outputs", owner, minimum=1)
    n_static = check_int(n_static, "n_static", owner, minimum=0)
    static_units = check_int(
        static_units, "static_units", owner, minimum=1, maximum=params["units"], allow_none=True
    )
    activation = get_keras_object("activation", output_activation, "output_activation", owner)
    if vocab_size is None:
        n_features = check_int(n_features, "n_features", owner, minimum=1)
        inputs = [keras.Input((None, n_features), name="sequences")]
        layers = {"padding_mask": PaddingMask(name="padding_mask")}
        if input_scaling is not None:
            layers["input_scaling"] = _scaling_layer(input_scaling, n_features, owner)
        if check_int(step_pooling, "step_pooling", owner, minimum=1) > 1:
            layers["step_pooling"] = StepPooling(step_pooling, name="step_pooling")
        if conv_branch:
            layers["conv_branch"] = ConvBranch(pool=not return_sequences, name="conv_branch")
            layers["conv_merge"] = keras.layers.Concatenate(name="conv_merge")
            layers["recurrent_branch_dropout"] = keras.layers.Dropout(
                RECURRENT_DROPOUT, seed=params["seed"], name="recurrent_branch_dropout")
    else:
        vocab_size = check_int(vocab_size, "vocab_size", owner, minimum=2)
        embedding_dim = check_int(embedding_dim, "embedding_dim", owner, minimum=1)
        subword_features = check_int(subword_features, "subword_features", owner, minimum=0)
        shape = (None, 1 + subword_features) if subword_features else (None,)
        inputs = [keras.Input(shape, dtype="int32", name="tokens")]
        layers = {"embedding": keras.layers.Embedding(
            vocab_size, embedding_dim, mask_zero=not subword_features, name="embedding"
        )}
        if subword_features:
            size = check_int(subword_vocab_size, "subword_vocab_size", owner, minimum=2)
            layers["subword_embedding"] = keras.layers.Embedding(
                size, embedding_dim, name="subword_embedding"
            )
            layers["token_features"] = keras.layers.Concatenate(name="token_features")
            layers["padding_mask"] = TokenMask(name="padding_mask")
    stack = _stack_layers(params, prefix="recurrent", return_sequences=return_sequences,
                          bidirectional=bool(bidirectional))
    if n_static:
        inputs.append(keras.Input((n_static,), name="static"))
        dense_layers = _initial_state_layers(_state_sizes(stack[0][1]), static_units,
                                             "initial_state")
        layers.update((dense.name, dense) for dense in dense_layers)
    layers["readout"] = keras.layers.Dense(n_outputs, activation=activation, name="readout")
    outputs, _ = _sequence_graph(layers, stack, inputs)
    return keras.Model(inputs if n_static else inputs[0], outputs,
                       name=owner.removeprefix("build_"))


def build_many_to_one(
    n_features,
    n_outputs,
    *,
    cell="peephole_lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    dropout=0.0,
    output_activation="softmax",
    n_static=0,
    static_units=None,
    vocab_size=None,
    embedding_dim=32,
    seed=None,
    cell_kwargs=None,
    input_scaling=None,
    step_pooling=1,
    conv_branch=False,
):
    """Many-to-one network: a sequence in, one vector out (classification or regression).

    For the Elman cell this is the lecture's network ``h_t = tanh(W x_t + U h_{t-1} + b)``,
    ``y = softmax(V h_T)``: the read-out is a ``Dense`` layer on the last state.

    Parameters
    ----------
    n_features : int
        Features per step. Ignored (may be None) when ``vocab_size`` is given.
    n_outputs : int
        Size of the output (classes, or regression targets).
    cell : {"elman", "peephole_lstm", "lstm", "gru"}, default "peephole_lstm"
    units : int, default 64
        Hidden size of every recurrent layer (of each direction when bidirectional).
    num_layers : int, default 1
        Stacked recurrent layers.
    bidirectional : bool, default False
        Wrap every recurrent layer in ``keras.layers.Bidirectional`` (outputs concatenated).
    dropout : float in [0, 1), default 0
        Dropout between stacked layers.
    output_activation : str, callable or None, default "softmax"
        Activation of the read-out; None or "linear" for regression.
    n_static : int, default 0
        If > 0, the model takes a second input ``(batch, n_static)`` of static features (e.g.
        of a whole series) that sets the initial state(s) of the first recurrent layer:
        ``s_0 = tanh(A z + a)``, one ``Dense`` per state (and direction).
    static_units : int or None, default None
        Set only the first ``static_units`` units of each initial state from the static
        features; the others start at zero. None: all units.
    vocab_size : int or None, default None
        If given, the input is int token ids ``(batch, time)``, 0 being padding and
        ``1 .. vocab_size - 1`` tokens, embedded with ``Embedding(mask_zero=True)``.
    embedding_dim : int, default 32
        Size of the token embedding.
    seed : int or None
        Seed of the dropout layers (weights are initialised from Keras' global seed, see
        ``keras.utils.set_random_seed``).
    cell_kwargs : dict or None
        Further arguments of every recurrent layer (see :func:`recurrent_layer`).
    input_scaling : (array, array) or None, default None
        ``(mean, scale)``, each ``(n_features,)``: numeric input enters as
        ``(x - mean) / scale`` (a ``Normalization`` layer named
        ``"input_scaling"``, so the network and its exports carry the
        training statistics). None: as given.
    step_pooling : int, default 1
        Numeric input only: the recurrent layers read the mean of each run of
        this many steps (:class:`~seqkit.networks.pooling.StepPooling`, layer
        ``"step_pooling"``), after ``input_scaling``; 1 reads every step.
    conv_branch : bool, default False
        Numeric input only: a fully convolutional branch reads every step
        (before ``step_pooling``), and its mean over time is
        concatenated with their output before the read-out (LSTM-FCN,
        :class:`~seqkit.networks.conv.ConvBranch`, layers ``"conv_branch"``
        and ``"conv_merge"``); in training, their output first passes a
        dropout of :data:`~seqkit.networks.conv.RECURRENT_DROPOUT` (layer
        ``"recurrent_branch_dropout"``), as in the paper.

    Returns
    -------
    keras.Model
        Input ``(batch, time, n_features)`` float, NaN-padded (or int token ids), plus the
        static input when ``n_static > 0``; output ``(batch, n_outputs)``.

    Examples
    --------
    >>> model = build_many_to_one(3, 2, cell="elman", units=8)
    >>> model(np.zeros((4, 10, 3), "float32")).shape
    TensorShape([4, 2])
    """
    return _sequence_network(
        "build_many_to_one", n_features, n_outputs, False, cell=cell, units=units,
        num_layers=num_layers, bidirectional=bidirectional, dropout=dropout,
        output_activation=output_activation, n_static=n_static, static_units=static_units,
        vocab_size=vocab_size, embedding_dim=embedding_dim, seed=seed, cell_kwargs=cell_kwargs,
        input_scaling=input_scaling, step_pooling=step_pooling, conv_branch=conv_branch,
    )


def build_many_to_many(
    n_features,
    n_outputs,
    *,
    cell="peephole_lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    dropout=0.0,
    output_activation="softmax",
    n_static=0,
    static_units=None,
    vocab_size=None,
    embedding_dim=32,
    seed=None,
    cell_kwargs=None,
    subword_features=0,
    subword_vocab_size=None,
    input_scaling=None,
    conv_branch=False,
):
    """Synchronised many-to-many network: one output per input step (sequence tagging).

    ``y_t = act(V h_t)`` at every step. The padding mask reaches the output, so a
    loss compiled on the model sums the per-step losses of the real steps only
    and divides by their number (Keras' masked mean: the lecture's
    ``sum_t L_t`` up to a factor per batch); padded steps count in neither.

    Parameters
    ----------
    n_features, n_outputs, cell, units, num_layers, bidirectional, dropout,
    output_activation, n_static, static_units, vocab_size, embedding_dim, seed, cell_kwargs, \
input_scaling
        As in :func:`build_many_to_one`.
    subword_features : int, default 0
        With ``vocab_size``: if > 0, the input is ``(batch, time, 1 +
        subword_features)`` int, column 0 the token ids (0 padding) and the
        others ids of features of each token (e.g. :func:`seqkit.subwords.subword_ids`),
        each embedded by one shared ``Embedding`` of ``embedding_dim``
        (layer ``"subword_embedding"``) and concatenated to the token's embedding.
    subword_vocab_size : int or None
        Number of sub-word feature ids (needed with ``subword_features``).
    conv_branch : bool, default False
        Numeric input only: a fully convolutional branch reads every step,
        and its features at each step are concatenated with the recurrent
        layers' output there before the read-out
        (:class:`~seqkit.networks.conv.ConvBranch` with ``pool=False``,
        layers ``"conv_branch"`` and ``"conv_merge"``); in training, their
        output first passes a dropout of
        :data:`~seqkit.networks.conv.RECURRENT_DROPOUT` at every step (layer
        ``"recurrent_branch_dropout"``).

    Returns
    -------
    keras.Model
        Output ``(batch, time, n_outputs)``.
    """
    return _sequence_network(
        "build_many_to_many", n_features, n_outputs, True, cell=cell, units=units,
        num_layers=num_layers, bidirectional=bidirectional, dropout=dropout,
        output_activation=output_activation, n_static=n_static, static_units=static_units,
        vocab_size=vocab_size, embedding_dim=embedding_dim, seed=seed, cell_kwargs=cell_kwargs,
        subword_features=subword_features, subword_vocab_size=subword_vocab_size,
        input_scaling=input_scaling, conv_branch=conv_branch,
    )
