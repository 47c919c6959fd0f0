"""Training and evaluation steps on every replica of a model's ``tf.distribute``
strategy (one replica without a strategy), and the running results they leave in the
model's metrics."""

import math

import numpy as np
import tensorflow as tf


def _results(model):
    return {name: float(value) for name, value in model.get_metrics_result().items()}


def _loss_tracker(model):
    """The model's running mean of the loss, which Keras' ``train_step`` updates."""
    return next(metric for metric in model.metrics if metric.name == "loss")


class _ReplicaSteps:
    """Training and evaluation steps run on every replica of the model's strategy.

    Each replica takes its contiguous share of a batch (``np.array_split``), so a
    batch is global: its samples are split over all replicas of all workers. The
    metrics are read outside the replicas, where TensorFlow sums them over the
    replicas. Without a distribution strategy there is one replica and this is
    plain Keras training.

    Notes
    -----
    The training step is Keras' ``train_step`` but for one factor: a replica's
    loss counts in the gradient by its share of the batch. Keras divides each
    replica's mean loss by the number of replicas ``N``, which averages the
    replicas' means; when a batch does not split evenly (the last one, mostly)
    that weighs samples unequally, and the result drifts from one-process
    training (measured: 1e-3 in the weights after one epoch). With the factor
    ``N n_r / n`` (``n_r`` of the batch's ``n`` samples on the replica) the
    gradient is the batch's mean exactly.

    Keras 3.15's own ``Model.fit`` and ``Model.evaluate`` fail under a
    ``MultiWorkerMirroredStrategy`` of more than one worker (keras-team/keras#20585:
    they reduce the first batch of data, then the scalar logs over ``axis=0``,
    across workers); calling ``strategy.run`` here avoids both.
    """

    def __init__(self, model, *, batch_size, epochs, train_rows, validation_rows=0):
        self.model = model
        self.strategy = model.distribute_strategy
        self.loss_tracker = _loss_tracker(model)
        self._train = self._compiled(self._train_step)
        self._test = self._compiled(lambda data: model.test_step(data[:3]))
        short = epochs * math.ceil(train_rows / batch_size) < ANY_ROWS_BELOW_STEPS
        # The steps still to trace for any number of rows on their first call.
        self._any_rows = {
            step: short and _two_batch_sizes(rows, batch_size)
            for step, rows in ((self._train, train_rows), (self._test, validation_rows))
        }

    def _compiled(self, step):
        def run(data):
            self.strategy.run(step, args=(data,))

        # No AutoGraph: the step has no Python control flow over tensors to convert.
        return tf.function(run, reduce_retracing=True, autograph=False)

    def _train_step(self, data):
        x, y, sample_weight, share = data
        model = self.model
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x, y, y_pred, sample_weight, training=True)
            scaled = model.optimizer.scale_loss(loss * share)
        weights = model.trainable_weights
        model.optimizer.apply(tape.gradient(scaled, weights), weights)
        replicas = self.strategy.num_replicas_in_sync
        self.loss_tracker.update_state(loss * replicas, sample_weight=tf.shape(y)[0])
        model.compute_metrics(x, y, y_pred, sample_weight)

    def _shared(self, inputs, y, sample_weight):
        def share(context):
            n, i = context.num_replicas_in_sync, context.replica_id_in_sync_group

            def part(a):
                return None if a is None else np.array_split(a, n)[i]

            rows = part(y)
            return (_unwrap([part(a) for a in inputs]), rows, part(sample_weight),
                    np.array(n * rows.shape[0] / y.shape[0], "float32"))

        return self.strategy.experimental_distribute_values_from_function(share)

    def _call(self, step, data):
        if self._any_rows[step]:
            self._any_rows[step] = False
            specs = _specs_for_any_rows(data)
            if specs is not None:
                step.get_concrete_function(specs)
        step(data)

    def train(self, inputs, y, sample_weight):
        """One optimisation step on a batch; returns the epoch's logs so far."""
        self._call(self._train, self._shared(inputs, y, sample_weight))
        return _results(self.model)

    def evaluate(self, inputs, y, sample_weight, batch_size):
        """The loss and metrics on ``(inputs, y)``, as ``Model.evaluate`` computes them."""
        self.model.reset_metrics()
        for start in range(0, y.shape[0], batch_size):
            rows = slice(start, start + batch_size)
            self._call(self._test, self._shared(
                [a[rows] for a in inputs], y[rows],
                None if sample_weight is None else sample_weight[rows]))
        return _results(self.model)


ANY_ROWS_BELOW_STEPS = 200
"""A fit of fewer training steps than this (epochs times batches) whose epochs end on a
shorter batch traces its training step once for any number of rows, and its validation
step likewise; longer fits keep each batch size's static shape.

Why: ``reduce_retracing`` traces a step again for the last, shorter batch (2-3 s for
the default classifier), but the graph traced for any number of rows runs each step
slower, more so the longer the sequences (TensorFlow's loops over time meet an unknown
batch at run time). Measured in fresh processes, interleaved, 3 rounds: the default
``SequenceClassifier`` with 64 units on JapaneseVowels, 10 epochs of 17 batches (170
steps), took 9.3 s against 13.0 s (medians; the first epoch 4.8 s against 8.8 s, each later one
about 0.45 s against 0.42 s); with Keras' LSTM 10.9 s against 12.6 s (later epochs
0.54 s against 0.40 s). BasicMotions (100 steps a sequence) in 60 epochs of 16, 16 and
8 sequences (180 steps) took as long either way: its first epoch 4.1 s against 7.1 s,
each later one 0.24-0.37 s against 0.20-0.26 s."""


def _two_batch_sizes(rows, batch_size):
    """Whether ``rows`` samples cut into batches of ``batch_size`` give two batch sizes."""
    return rows > batch_size and rows % batch_size != 0


def _specs_for_any_rows(data):
    """``data``'s tensor specs with the first axis of every array (not of a scalar)
    unknown; None when ``data`` holds anything but numeric NumPy arrays (a strategy's
    per-replica values, strings)."""
    leaves = [a for a in tf.nest.flatten(data) if a is not None]
    if not all(isinstance(a, np.ndarray) and a.dtype.kind in "biuf" for a in leaves):
        return None
    return tf.nest.map_structure(
        lambda a: None if a is None else tf.TensorSpec((None,) * min(a.ndim, 1) + a.shape[1:],
                                                       a.dtype), data)


def _unwrap(arrays):
    return arrays if len(arrays) > 1 else arrays[0]
