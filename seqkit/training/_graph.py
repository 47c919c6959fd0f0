"""What training reads from a Keras model: its layer graph, replayed with some layers
called differently; fresh inputs like its own; its recurrent layers. And a model's input
(or inputs) as a list."""

import keras

from seqkit.exceptions import InvalidParameterError


def _replay(model, inputs, call):
    """Run ``model``'s layer graph on ``inputs``, calling each layer as ``call(layer, *a, **kw)``.

    ``keras.models.clone_model(clone_function=lambda layer: layer, call_function=call)`` does
    the same walk but then refuses outputs that depend on tensors other than the model's
    inputs, which is the point here (state inputs, probe inputs); hence Keras' own walk.
    """
    return model._run_through_graph(inputs, operation_fn=lambda layer: layer, call_fn=call)


def _fresh_inputs(model):
    return [keras.Input(batch_shape=t.shape, dtype=t.dtype) for t in model.inputs]


def _recurrent_layers(model, owner, what, *, bidirectional=False):
    """The model's recurrent layers, after checking ``what`` can work with them (with
    ``bidirectional``, ``Bidirectional`` wrappers count as recurrent layers)."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional) and bidirectional:
            layers.append(layer)
        elif isinstance(layer, keras.layers.Bidirectional):
            raise InvalidParameterError(
                f"The 'model' parameter of {owner} must have only forward-running recurrent "
                f"layers for {what}. Got the Bidirectional layer {layer.name!r}."
            )
        if isinstance(layer, keras.layers.RNN):
            layers.append(layer)
    if not layers:
        raise InvalidParameterError(
            f"The 'model' parameter of {owner} must have a recurrent layer for {what}. Got "
            f"a model with layers {[layer.name for layer in model.layers]}."
        )
    return layers


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]
