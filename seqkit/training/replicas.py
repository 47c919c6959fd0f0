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
        short = epochs * math.ceil(train_rows / batch_size) < ANY_ROWS_BELOW_STEPS
        self._train = _Step(self._on_replicas(self._train_step), batch_size=batch_size,
                            rows=train_rows, short=short)
        self._test = _Step(self._on_replicas(lambda data: model.test_step(data[:3])),
                           batch_size=batch_size, rows=validation_rows, short=short)

    def _on_replicas(self, step):
        def run(data):
            self.strategy.run(step, args=(data,))

        return run

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

    def train(self, inputs, y, sample_weight):
        """One optimisation step on a batch; returns the epoch's logs so far."""
        self._train(self._shared(inputs, y, sample_weight), y.shape[0])
        return _results(self.model)

    def evaluate(self, inputs, y, sample_weight, batch_size):
        """The loss and metrics on ``(inputs, y)``, as ``Model.evaluate`` computes them."""
        self.model.reset_metrics()
        for start in range(0, y.shape[0], batch_size):
            rows = slice(start, start + batch_size)
            self._test(self._shared([a[rows] for a in inputs], y[rows],
                                    None if sample_weight is None else sample_weight[rows]),
                       y[rows].shape[0])
        return _results(self.model)


def _compiled(run):
    # No AutoGraph: the steps have no Python control flow over tensors to convert.
    return tf.function(run, reduce_retracing=True, autograph=False)


class _Step:
    """A training or evaluation step, traced for the batches of one fit.

    ``reduce_retracing`` traces a step again for an epoch's last, shorter
    batch (2-3 s for the default classifier). Where an epoch ends on one,
    the first call therefore traces the step for any number of rows, and
    every batch runs that graph, unless it would run each step slower:
    TensorFlow's own gradient of a loop over time (Keras' recurrent layers,
    a CRF's loss) works out broadcast shapes at every time step when the
    batch size is unknown (:func:`_loops_work_out_shapes`). Then, in a fit of
    :data:`ANY_ROWS_BELOW_STEPS` training steps or more, full batches run a
    graph traced for their static shape, and only the shorter batch the
    graph for any rows: two traces, as ``reduce_retracing`` makes. seqkit's
    own layers differentiate their loops by hand and compile them with XLA
    per concrete shape, so their graph for any rows costs nothing per step.
    Only numeric NumPy inputs are traced for any rows; a strategy's
    per-replica values and strings keep ``reduce_retracing``.
    """

    def __init__(self, run, *, batch_size, rows, short):
        self._static = _compiled(run)
        self._run, self._batch_size, self._short = run, batch_size, short
        self._undecided = rows > batch_size and rows % batch_size != 0
        self._any_rows = None  # the function traced for any number of rows, once decided
        self._full_batches_too = False

    def __call__(self, data, rows):
        if self._undecided:
            self._undecided = False
            specs = _specs_for_any_rows(data)
            if specs is not None:
                self._any_rows = _compiled(self._run)
                traced = self._any_rows.get_concrete_function(specs)
                self._full_batches_too = self._short or not _loops_work_out_shapes(traced)
        if self._any_rows is not None and (self._full_batches_too or rows != self._batch_size):
            self._any_rows(data)
        else:
            self._static(data)

    def tracing_count(self):
        """How many times the step was traced."""
        return sum(f.experimental_get_tracing_count()
                   for f in (self._static, self._any_rows) if f is not None)


ANY_ROWS_BELOW_STEPS = 200
"""A fit of fewer training steps than this (epochs times batches) runs every batch on the
steps traced for any number of rows, even where that graph runs each step slower (see
:class:`_Step`): the trace it saves costs more than the slower steps.

Measured in fresh processes, interleaved, medians of 3 rounds, with / without tracing
for any rows: the default ``SequenceClassifier`` with 64 units on JapaneseVowels, 10
epochs of 17 batches (170 steps), took 9.3 / 13.0 s, with Keras' LSTM 10.9 / 12.6 s (its
later epochs 0.54 / 0.40 s). In 30 epochs (510 steps) the default took 20.5 / 28.1 s
(the first epoch 9.1 / 14.5 s), while Keras' LSTM, traced for each batch size either
way, took 25.0 / 25.7 s."""


def _loops_work_out_shapes(function):
    """Whether a traced ``function`` runs ``BroadcastGradientArgs`` inside a while loop's
    body: TensorFlow's gradient of a loop over a batch of unknown size does, at every
    step of the loop, with the reductions and reshapes that follow it (measured on Keras'
    LSTM, 64 units, batch 16: its training step took 1.5 times as long as with the batch
    size known, for 26 or 100 steps; its forward pass alone as long)."""
    graph = function.graph.as_graph_def()
    bodies = {node.attr["body"].func.name
              for nodes in [graph.node, *(f.node_def for f in graph.library.function)]
              for node in nodes if node.op in ("While", "StatelessWhile")}
    return any(node.op == "BroadcastGradientArgs"
               for f in graph.library.function if f.signature.name in bodies
               for node in f.node_def)


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
