"""The figures the pipelines save with each run.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no GUI
backend), so they render the same on a headless machine.
"""

import numpy as np
from matplotlib.figure import Figure


def learning_curves(history, *, title):
    """Per-epoch training and validation metrics, one panel per metric.

    Parameters
    ----------
    history : dict of str to list of float
        An estimator's ``history_`` (``loss``, ``val_loss``, ...).
    title : str
        The data set, named above the panels.

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
    validation = "" if any(name.startswith("val_") for name in history) else \
        " (no validation split)"
    figure.suptitle(f"{title}: learning curves{validation}")
    return figure


def gradient_norms(panels, *, title):
    """``||dLoss/dh_t||`` over the time steps, one panel per state of the weights.

    Parameters
    ----------
    panels : dict of str to array-like
        Panel title (e.g. ``"at initialisation"``) -> the norms from
        :func:`seqkit.training.gradient_norms_over_time`.
    title : str
        The data set, named above the panels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from seqkit.training import plot_gradient_norms

    figure = Figure(figsize=(5.5 * len(panels), 3.5), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(panels), sharey=True))
    for ax, (name, norms) in zip(axes, panels.items()):
        plot_gradient_norms(norms, ax=ax)
        ax.set_title(name)
    figure.suptitle(f"{title}: gradient reaching each time step")
    return figure


def per_entity_f1(table, *, title):
    """Entity-level F1 per entity type, a bar per model.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows per entity type (and the averages seqeval adds), columns
        ``(model, "f1-score")`` among others, as the tagging pipeline builds it.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    f1 = table.xs("f1-score", axis=1, level=1)
    f1 = f1.loc[[name for name in f1.index if not name.endswith(" avg")]]
    figure = Figure(figsize=(max(5.0, 0.9 * len(f1) + 2), 3.5), layout="constrained")
    axes = figure.subplots()
    width = 0.8 / len(f1.columns)
    positions = np.arange(len(f1))
    for i, model in enumerate(f1.columns):
        axes.bar(positions + (i - (len(f1.columns) - 1) / 2) * width, f1[model], width,
                 label=model)
    axes.set_xticks(positions, f1.index, rotation=30, ha="right")
    axes.set(ylabel="entity F1", ylim=(0, 1), title=f"{title}: entity F1 per type, test split")
    axes.legend(fontsize="small")
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


def backtest(results, history, *, context):
    """The forecasts of a backtest at each cut-off, over the first series.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`seqkit.model_selection.backtest` (the first series' rows
        are drawn: ``unique_id`` equal to ``history.name``, else the first id).
    history : pandas.Series
        That series, as it was backtested.
    context : int
        How many steps to show before the first cut-off.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ids = results["unique_id"].unique()
    rows = results[results["unique_id"] == (history.name if history.name in ids else ids[0])]
    figure = Figure(figsize=(10, 4), layout="constrained")
    axes = figure.subplots()
    first = history.index.get_loc(rows["cutoff"].iloc[0])
    shown = history.iloc[max(0, first - context):]
    axes.plot(shown.index, shown.to_numpy(), color="black", label="series")
    for number, (cutoff, window) in enumerate(rows.groupby("cutoff", sort=True)):
        axes.plot(window["ds"], window["y_pred"], linewidth=2,
                  label="forecasts at each cut-off" if number == 0 else None, color="C0")
        if "y_lower" in window:
            axes.fill_between(window["ds"], window["y_lower"], window["y_upper"], alpha=0.2,
                              color="C0")
        axes.axvline(cutoff, color="grey", linewidth=0.8, linestyle=":")
    axes.set(title=f"{history.name}: backtest, {rows['cutoff'].nunique()} cut-offs (dotted)",
             ylabel=history.name)
    axes.legend(loc="upper left", fontsize="small")
    return figure
