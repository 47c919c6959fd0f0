"""Training and evaluation steps on every replica of a model's ``tf.distribute``
strategy (one replica without a strategy), and the running results they leave in the
model's metrics."""

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

    def __init__(self, model):
        self.model = model
        self.strategy = model.distribute_strategy
        self.loss_tracker = _loss_tracker(model)
        self._train = self._compiled(self._train_step)
        self._test = self._compiled(lambda data: model.test_step(data[:3]))

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

    def train(self, inputs, y, sample_weight):
        """One optimisation step on a batch; returns the epoch's logs so far."""
        self._train(self._shared(inputs, y, sample_weight))
        return _results(self.model)

    def evaluate(self, inputs, y, sample_weight, batch_size):
        """The loss and metrics on ``(inputs, y)``, as ``Model.evaluate`` computes them."""
        self.model.reset_metrics()
        for start in range(0, y.shape[0], batch_size):
            rows = slice(start, start + batch_size)
            self._test(self._shared([a[rows] for a in inputs], y[rows],
                                    None if sample_weight is None else sample_weight[rows]))
        return _results(self.model)


def _unwrap(arrays):
    return arrays if len(arrays) > 1 else arrays[0]
