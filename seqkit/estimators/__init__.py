"""scikit-learn estimators built on seqkit's recurrent networks."""

from seqkit.estimators.classification import SequenceClassifier
from seqkit.estimators.forecasting import SequenceForecaster
from seqkit.estimators.tagging import SequenceTagger

__all__ = ["SequenceClassifier", "SequenceForecaster", "SequenceTagger"]
