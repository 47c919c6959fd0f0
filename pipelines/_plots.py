"""The figures the pipelines save with each run.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no GUI
backend), so they render the same on a headless machine.
"""

import numpy as np
from matplotlib.figure import Figure


def learning_curves(history):
    """Per-epoch training and validation metrics, one panel per metric.

    Parameters
    ----------
    history : dict of str to list of float
        An estimator's ``history_`` (``loss``, ``val_loss``, ...).

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = [name for name in history if not name.startswith("val_")]
    figure = Figure(figsize=(5 * len(names), 3.5), layout="constrained")
    for axes, name in zip(np.atleast_1d(figure.subplots(1, len(names))), names):
        epochs = np.arange(1, len(history[name]) + 1)
        axes.plot(epochs, history[name], label="training")
        if f"val_{name}" in history:
            axes.plot(epochs, history[f"val_{name}"], label="validation")
        axes.set(xlabel="epoch", ylabel=name, title=name)
        axes.legend()
    return figure


def forecast(history, actual, point, lower, upper, baselines, *, coverage, context):
    """The end of the training series, the held-out values and the forecasts.

    Parameters
    ----------
    history, actual, point : pandas.Series
        Training series, held-out values and the forecast.
    lower, upper : pandas.Series or None
        The forecast's interval, if there is one.
    baselines : dict of str to pandas.Series
        Baseline forecasts, drawn dashed.
    coverage : float
        The interval's nominal coverage, for the legend.
    context : int
        How many training steps to show before the forecast.

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure = Figure(figsize=(10, 4), layout="constrained")
    axes = figure.subplots()
    tail = history.iloc[-context:]
    axes.plot(tail.index, tail.to_numpy(), color="black", label="history")
    axes.plot(actual.index, actual.to_numpy(), color="black", linestyle=":", label="actual")
    if lower is not None:
        axes.fill_between(
            point.index, lower.to_numpy(), upper.to_numpy(), alpha=0.25,
            label=f"{coverage:.0%} interval",
        )
    axes.plot(point.index, point.to_numpy(), linewidth=2, label="seqkit forecast")
    for name, values in baselines.items():
        axes.plot(values.index, values.to_numpy(), linestyle="--", label=name)
    axes.set(title=f"{history.name}: forecast of the last {len(actual)} steps", ylabel=history.name)
    axes.legend(loc="upper left", fontsize="small")
    return figure


def confusion_matrix(matrix, labels, *, title):
    """A confusion matrix with counts in the cells (rows true, columns predicted).

    Parameters
    ----------
    matrix : ndarray of shape (n_classes, n_classes)
    labels : sequence of str
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    size = 2.5 + 0.45 * len(labels)
    figure = Figure(figsize=(size + 1, size), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = np.arange(len(labels))
    axes.set_xticks(ticks, labels, rotation=45, ha="right")
    axes.set_yticks(ticks, labels)
    axes.set(xlabel="predicted", ylabel="true", title=title)
    threshold = matrix.max() / 2
    for (row, col), count in np.ndenumerate(matrix):
        color = "white" if count > threshold else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=color, fontsize="small")
    return figure
