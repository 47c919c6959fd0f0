"""The fast path's backward pass as one op that refuses to be differentiated again."""

import tensorflow as tf

from seqkit.exceptions import HigherOrderGradientError


def first_order_only(backward, d_seq, d_last, x, states, weights):
    """``backward(d_seq, d_last, x, states, weights)``, whose own gradient raises
    :class:`~seqkit.exceptions.HigherOrderGradientError`.

    Why: a tape that records the backward pass (a gradient penalty, a
    Hessian-vector product, forward-mode ``jvp``) would see only its explicit
    uses of ``x`` and the weights, not those through the stored activations, and
    give wrong second derivatives without a word (a compiled backward loop fails
    instead, deep in TensorFlow). Here the tape sees one op, whose gradient says
    what to do.
    """
    n_states = len(d_last)

    @tf.custom_gradient
    def run(*tensors):
        # Untaped: an eager tape would record the call of the compiled loop inside.
        tensors = [tf.stop_gradient(t) for t in tensors]
        d_seq_, tensors = (tensors[0], tensors[1:]) if d_seq is not None else (None, tensors)
        d_last_, (x_, *rest) = tensors[:n_states], tensors[n_states:]

        def refuse(*_, **__):
            raise HigherOrderGradientError(
                "A gradient of a gradient (a gradient penalty, a Hessian-vector product, "
                "forward-mode jvp) was asked of an ElmanRNN or PeepholeLSTM on its fast path, "
                "whose backward pass is hand-written and not itself differentiable. Build "
                "the layer with fast_path=False: Keras then differentiates its loop to any "
                "order.")

        return backward(d_seq_, d_last_, x_, rest[:n_states], rest[n_states:]), refuse

    return run(*([] if d_seq is None else [d_seq]), *d_last, x, *states, *weights)
