"""The TensorFlow functions of an export, built from a :class:`~seqkit.export.spec.ServingSpec`.

:class:`Graph` holds what every kind shares: the input specs, the
preprocessing (written once in :mod:`seqkit.preprocessing` and
:mod:`seqkit.subwords`, the same code ``predict`` runs) and the streaming
step. One subclass per kind (:mod:`seqkit.export.labels`,
:mod:`seqkit.export.forecaster`) defines the signatures.
"""

import abc

import tensorflow as tf

from seqkit import padding, preprocessing


def lengths(real):
    """Real steps of each sequence, ``(batch,)`` int32, from ``real`` ``(batch, time)``."""
    return tf.reduce_sum(tf.cast(real, tf.int32), axis=1)


class Graph(abc.ABC):
    """The TensorFlow functions of one fitted model's export.

    Parameters
    ----------
    spec : ServingSpec
        What the model serves; ``spec.network`` may be a copy of the
        estimator's network (see :func:`seqkit.export.export_onnx`).
    """

    def __init__(self, spec):
        self.spec = spec
        self.network = spec.network
        self.resources = []
        self.table = None
        if spec.tokens:
            self.table = preprocessing.token_table(spec.vocabulary)
            self.resources.append(self.table)
        self.n_features = spec.n_features

    @property
    def streaming(self):
        """Whether a ``step`` signature exists: a network read forward only."""
        from seqkit.exceptions import InvalidParameterError
        from seqkit.networks import recurrent_states

        try:
            recurrent_states(self.network)
        except InvalidParameterError:  # bidirectional, convolutional branch, pooled steps
            return False
        return True

    def input_spec(self, name="sequences", width=None, step=False):
        """The ``TensorSpec`` of the main input, whole sequences or one ``step``."""
        if self.spec.tokens:
            return tf.TensorSpec([None] if step else [None, None], tf.string,
                                 name="x" if step else "tokens")
        shape = [None, width or self.n_features]
        return tf.TensorSpec(shape if step else [None, None, shape[1]], tf.float32,
                             name="x" if step else name)

    def encode(self, inputs, name=None):
        """Network input for raw ``inputs`` and where they are real (not padding).

        Whole sequences (``name`` given) are first checked to be padded at
        their end only (:func:`seqkit.padding.check_padded`). Numeric
        steps are standardised when the model scales them (NaN stays NaN: the
        network masks it); tokens become ids, ``""`` the padding id, with
        their sub-word feature ids when the network takes them.
        """
        if name is not None:
            inputs = padding.check_padded(inputs, name)
        if self.spec.tokens:
            ids = preprocessing.lookup_ids(self.table, inputs)
            real = tf.not_equal(ids, padding.PAD_ID)
            if self.spec.subword_buckets:
                from seqkit.subwords import subword_ids

                ids = tf.concat([ids[..., None], subword_ids(inputs, self.spec.subword_buckets)],
                                -1)
            return ids, real
        real = padding.real_steps(inputs)
        if self.spec.scaling is not None:
            inputs = tf.cast(preprocessing.standardize(tf.cast(inputs, tf.float64),
                                                       *self.spec.scaling), tf.float32)
        return inputs, real

    def _twin(self):
        """The network's stateful twin (:func:`seqkit.networks.stateful_twin`) and its states."""
        from seqkit.networks import recurrent_states, stateful_twin

        if not hasattr(self, "_stateful"):
            self._stateful = stateful_twin(self.network), recurrent_states(self.network)
        return self._stateful

    def state_specs(self):
        """``TensorSpec`` of each state the ``step`` signature takes and returns."""
        return {name: tf.TensorSpec([None, size], tf.float32, name=name)
                for name, size in self._twin()[1].items()}

    def advance(self, x, states):
        """Run one step ``x`` from ``states`` through the stateful twin.

        Returns the network's output after the step (per-step outputs without
        their time axis), the new states by name, and whether the step was
        real. A padding step keeps the states, and the output is that of the
        last real step.
        """
        twin, names = self._twin()
        x, real = self.encode(x[:, None])
        output, *after = twin([x, *(states[name] for name in names)], training=False)
        if len(output.shape) == 3:
            output = output[:, 0]
        return output, dict(zip(names, after)), real[:, 0]

    @abc.abstractmethod
    def endpoints(self):
        """``{name: (function, input specs)}`` of every signature."""

    def manifest(self):
        """What the manifest says about this kind, besides the signatures."""
        names = self.spec.feature_names
        return {"kind": self.spec.kind, "input": "tokens" if self.spec.tokens else "sequences",
                "n_features": self.n_features,
                "feature_names": None if names is None else list(names)}
