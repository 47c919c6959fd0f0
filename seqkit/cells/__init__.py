"""Recurrent cells and their layers: Elman and peephole LSTM."""

from seqkit.cells._graph import shape_agnostic_inference, uncompiled_training
from seqkit.cells.elman import ElmanRNN, ElmanRNNCell
from seqkit.cells.peephole_lstm import PeepholeLSTM, PeepholeLSTMCell

__all__ = ["ElmanRNN", "ElmanRNNCell", "PeepholeLSTM", "PeepholeLSTMCell",
           "shape_agnostic_inference", "uncompiled_training"]
