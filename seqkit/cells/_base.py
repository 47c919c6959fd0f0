"""What the seqkit cells and layers share: arguments, config, the fast-path dispatch."""

import difflib
import functools
import inspect

import keras
from keras import activations, constraints, initializers, ops, regularizers

# Keras exports no public mix-in for the per-sequence dropout masks that
# ``keras.layers.RNN`` prepares; its own SimpleRNNCell and LSTMCell use this one.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from seqkit._validation import check_float, check_int
from seqkit.cells import _graph, _inputs
from seqkit.exceptions import InvalidParameterError

_WEIGHT_ARGS = tuple(
    f"{part}_{kind}"
    for part in ("kernel", "recurrent", "bias")
    for kind in ("initializer", "regularizer", "constraint")
)
_SERIALIZERS = {
    "initializer": initializers.serialize,
    "regularizer": regularizers.serialize,
    "constraint": constraints.serialize,
}


_GETTERS = {
    "activation": activations.get,
    "initializer": initializers.get,
    "regularizer": regularizers.get,
    "constraint": constraints.get,
}


def get_keras_object(kind, value, name, owner):
    """Resolve ``value`` with Keras' ``<kind>s.get``, naming the parameter when it fails."""
    try:
        return _GETTERS[kind](value)
    except (ValueError, TypeError) as err:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a Keras {kind} or its name. "
            f"Got {value!r} instead ({err})."
        ) from None


class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Arguments and serialization shared by :class:`ElmanRNNCell` and :class:`PeepholeLSTMCell`.

    Subclasses build their weights and define ``call``, ``fast_path_supported``
    and ``fast_sequence``.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = check_int(units, "units", owner, minimum=1)
        self.activation = get_keras_object("activation", activation, "activation", owner)
        self.use_bias = bool(use_bias)
        given = {
            "kernel_initializer": kernel_initializer,
            "recurrent_initializer": recurrent_initializer,
            "bias_initializer": bias_initializer,
            "kernel_regularizer": kernel_regularizer,
            "recurrent_regularizer": recurrent_regularizer,
            "bias_regularizer": bias_regularizer,
            "kernel_constraint": kernel_constraint,
            "recurrent_constraint": recurrent_constraint,
            "bias_constraint": bias_constraint,
        }
        for name, value in given.items():
            setattr(self, name, get_keras_object(name.split("_")[1], value, name, owner))
        for name, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            setattr(self, name, check_float(value, name, owner, low=0.0, high=1.0,
                                            high_inclusive=False))
        self.seed = check_int(seed, "seed", owner, minimum=0, allow_none=True)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _add(self, name, shape, part, initializer=None):
        """Add a weight using the initializer, regularizer and constraint of ``part``."""
        return self.add_weight(
            shape=shape,
            name=name,
            initializer=initializer or getattr(self, f"{part}_initializer"),
            regularizer=getattr(self, f"{part}_regularizer"),
            constraint=getattr(self, f"{part}_constraint"),
        )

    def _dropped(self, inputs, h_prev, training):
        """Apply the per-sequence dropout masks that ``keras.layers.RNN`` prepared."""
        dp_mask = self.get_dropout_mask(inputs)
        rec_dp_mask = self.get_recurrent_dropout_mask(h_prev)
        if training and dp_mask is not None:
            inputs = inputs * dp_mask
        if training and rec_dp_mask is not None:
            h_prev = h_prev * rec_dp_mask
        return inputs, h_prev

    def _bias_or_zeros(self, width):
        return self.bias if self.use_bias else ops.zeros((width,), dtype=self.compute_dtype)

    def _activation_name(self, activation):
        name = activations.serialize(activation)
        return name if isinstance(name, str) else None

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        for name in _WEIGHT_ARGS:
            config[name] = _SERIALIZERS[name.split("_")[1]](getattr(self, name))
        return {**super().get_config(), **config}


_LAYER_KEYS = ("name", "trainable", "dtype")
_LAYER_ONLY_KEYS = ("activity_regularizer", "autocast", "input_dim", "input_shape")
"""``keras.layers.Layer`` arguments that go to the layer alone, as in ``keras.layers.LSTM``
(the activity regularizer sees the layer's output, not every step of the cell)."""


@functools.cache
def _arguments(cell_class):
    """Names of the ``__init__`` arguments of a cell class and its seqkit bases."""
    names = set()
    for klass in cell_class.__mro__:
        if issubclass(klass, RecurrentCell):
            names.update(inspect.signature(klass.__init__).parameters)
    return frozenset(names - {"self", "kwargs"})


@functools.cache
def _layer_arguments(layer_class):
    """Names a seqkit layer class takes: its own, its cell's, and Keras' layer arguments."""
    own = {name for klass in layer_class.__mro__ if issubclass(klass, RecurrentLayer)
           for name in inspect.signature(klass.__init__).parameters}
    return (_arguments(layer_class.cell_class) | set(_LAYER_KEYS + _LAYER_ONLY_KEYS)
            | own - {"self", "kwargs"})


class RecurrentLayer(keras.layers.RNN):
    """A ``keras.layers.RNN`` over one seqkit cell, with a compiled fast path.

    The layer takes the cell's arguments directly (as ``keras.layers.SimpleRNN``
    does) plus the usual RNN-layer arguments. When the cell supports it and
    ``fast_path=True``, the recurrence runs in :mod:`seqkit.cells._fast`;
    otherwise through the cell's ``call``, step by step. Both give the same
    numbers. Inside :func:`seqkit.cells.shape_agnostic_inference`, inference
    calls take the fast path's uncompiled twin (:mod:`seqkit.cells._graph`):
    no XLA compile per ``(batch, length)`` shape.
    """

    cell_class = None

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        fast_path=True,
        **kwargs,
    ):
        layer_kwargs = {k: kwargs.pop(k) for k in _LAYER_KEYS + _LAYER_ONLY_KEYS if k in kwargs}
        self._check_known(kwargs)
        cell = self.cell_class(
            units,
            dtype=layer_kwargs.get("dtype"),
            trainable=layer_kwargs.get("trainable", True),
            name="cell",
            **kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **layer_kwargs,
        )
        self.fast_path = bool(fast_path)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def _built_features(self):
        kernel = getattr(self.cell, "kernel", None) if self.built else None
        return None if kernel is None else int(kernel.shape[0])

    def _check_known(self, kwargs):
        """Refuse arguments neither the layer nor its cell takes, naming the layer (the
        cell would name itself, which the user never made)."""
        known = _layer_arguments(type(self))
        unknown = {k: v for k, v in kwargs.items() if k not in known}
        if unknown:
            hints = [f"{name!r} for {close[0]!r}" for name in unknown
                     if (close := difflib.get_close_matches(name, known, n=1))]
            raise InvalidParameterError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {unknown}."
                + (f" Did you mean {', '.join(hints)}?" if hints else ""))

    def __getattr__(self, name):
        # Only reached when normal lookup fails: expose the cell's arguments
        # (layer.units, layer.activation, ...) as Keras' built-in layers do.
        cell = self.__dict__.get("cell")
        if cell is not None and name in _arguments(type(cell)):
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __call__(self, *args, **kwargs):
        # Check the call arguments here, before Keras' Layer.__call__, so that a refusal is
        # seqkit's own error and not one raised from inside Keras or TensorFlow.
        names = ("sequences", "initial_state", "mask")
        given = {**dict(zip(names, args)), **{k: kwargs[k] for k in names if k in kwargs}}
        if "sequences" in given:
            checked = dict(zip(names, _inputs.check_call(
                given["sequences"], given.get("initial_state"), given.get("mask"),
                self.state_size, type(self).__name__, features=self._built_features(),
            )))
            args = tuple(checked[name] for name in names[:len(args)]) + args[len(names):]
            kwargs = {k: checked[k] if k in checked else v for k, v in kwargs.items()}
        return super().__call__(*args, **kwargs)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        sequences, initial_state, mask = _inputs.prepared(
            sequences, initial_state, mask, self.compute_dtype
        )
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        if initial_state_shape is not None:
            shapes = initial_state_shape
            if not shapes or not isinstance(shapes[0], (list, tuple)):
                shapes = [shapes]  # one state, given bare
            batch = _inputs.state_batch(self.state_size, tuple(sequences_shape), shapes,
                                        type(self).__name__)
            sequences_shape = (batch, *tuple(sequences_shape)[1:])
        return super().compute_output_shape(sequences_shape)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not (
            self.fast_path and not self.unroll and not self.recurrent_dropout
            and self.cell.fast_path_supported()
        ):
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if training and self.cell.dropout:
            dp_mask = self.cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * ops.expand_dims(dp_mask, axis=1)
        x = ops.transpose(sequences, (1, 0, 2))
        if mask is not None:
            mask = ops.expand_dims(ops.transpose(ops.cast(mask, "bool"), (1, 0)), -1)
        if self.go_backwards:
            x = ops.flip(x, axis=0)
            mask = None if mask is None else ops.flip(mask, axis=0)
        outputs, states = self.cell.fast_sequence(
            x, list(initial_state), mask, bool(training), self.return_sequences,
            compiled=not _graph.active(training=bool(training)),
        )
        # Keras' rule for outputs at masked steps: repeat the last real output
        # (zeros before the first), or zeros with zero_output_for_mask.
        if self.return_sequences:
            if mask is not None:
                seen = ops.cumsum(ops.cast(mask, "int32"), axis=0) > 0
                shown = mask if self.zero_output_for_mask else seen
                outputs = ops.where(shown, outputs, ops.zeros_like(outputs))
            return outputs[-1], ops.transpose(outputs, (1, 0, 2)), states
        last = states[0]
        if mask is not None:
            shown = mask[-1] if self.zero_output_for_mask else ops.any(mask, axis=0)
            last = ops.where(shown, last, ops.zeros_like(last))
        return last, last[:, None], states

    def get_config(self):
        config = super().get_config()
        cell_config = self.cell.get_config()
        for key in _LAYER_KEYS:
            cell_config.pop(key, None)
        config.pop("cell")
        return {**config, **cell_config, "fast_path": self.fast_path}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
