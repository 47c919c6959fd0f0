"""The signatures of models that give labels: the classifier and the tagger."""

import numbers

import numpy as np
import tensorflow as tf

from seqkit.export.graph import Graph, lengths


class LabelGraph(Graph):
    """What the classifier and the tagger share: classes as strings, labels from probabilities."""

    def __init__(self, spec):
        super().__init__(spec)
        self.classes = [str(c) for c in spec.classes]
        self.label_dtype = tf.string

    def labels(self, probabilities):
        # A constant made in the graph (not captured), so that ONNX converters keep it inside.
        classes = tf.constant(self.classes, dtype=self.label_dtype)
        return tf.gather(classes, tf.argmax(probabilities, axis=-1, output_type=tf.int32))

    def step_endpoint(self, padding_label):
        """The ``step`` signature: labels and probabilities after one step, and the states."""

        def step(x, states):
            probabilities, new, real = self.advance(x, states)
            labels = self.labels(probabilities)
            if padding_label is not None:
                labels = tf.where(real, labels, padding_label)
            return {"labels": labels, "probabilities": probabilities, **new}

        return step, [self.input_spec(step=True), self.state_specs()]

    def manifest(self):
        return {**super().manifest(), "classes": self.classes}


class ClassifierGraph(LabelGraph):
    """``serving_default`` (labels), ``predict_proba`` and, read forward only, ``step``.

    Integer classes (``y`` of ints within int64's range, not bools) stay integers: the
    labels are int64, the integers ``predict`` gives; any other classes are given as their
    strings.
    """

    def __init__(self, spec):
        super().__init__(spec)
        int64 = np.iinfo(np.int64)
        if all(isinstance(c, numbers.Integral) and not isinstance(c, (bool, np.bool_))
               and int64.min <= c <= int64.max for c in spec.classes):
            self.classes = [int(c) for c in spec.classes]
            self.label_dtype = tf.int64

    def endpoints(self):
        def predict_proba(sequences):
            encoded, _ = self.encode(sequences, "sequences")
            return {"probabilities": self.network(encoded, training=False)}

        def serving_default(sequences):
            return {"labels": self.labels(predict_proba(sequences)["probabilities"])}

        spec = [self.input_spec()]
        endpoints = {"serving_default": (serving_default, spec),
                     "predict_proba": (predict_proba, spec)}
        if self.streaming:
            endpoints["step"] = self.step_endpoint(None)
        return endpoints


class TaggerGraph(LabelGraph):
    """Per-step labels (Viterbi-decoded with a CRF) and probabilities; ``step`` without a CRF."""

    @property
    def streaming(self):
        # With a CRF, the best label of a step depends on the steps after it.
        return super().streaming and self.spec.decoder is None

    def endpoints(self):
        decoder = self.spec.decoder

        def tag(inputs):
            encoded, real = self.encode(inputs, "tokens" if self.spec.tokens else "sequences")
            return self.network(encoded, training=False), real, lengths(real)

        def predict_proba(inputs):
            probabilities, real, n = tag(inputs)
            if decoder is not None:
                probabilities = decoder.marginals(probabilities, real)
            return {"probabilities": probabilities * tf.cast(real, probabilities.dtype)[..., None],
                    "lengths": n}

        def serving_default(inputs):
            scores, real, n = tag(inputs)
            if decoder is None:
                labels = self.labels(scores)
            else:
                labels = tf.gather(tf.constant(self.classes), decoder.decode(scores, real))
            return {"labels": tf.where(real, labels, ""), "lengths": n}

        spec = [self.input_spec()]
        endpoints = {"serving_default": (serving_default, spec),
                     "predict_proba": (predict_proba, spec)}
        if self.streaming:
            endpoints["step"] = self.step_endpoint("")
        return endpoints
