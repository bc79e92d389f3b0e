"""A matplotlib figure on the Agg canvas, for every PNG the pipeline writes.

The object API (no pyplot) needs no display, keeps no global figure state and imports
in a fraction of pyplot's time, which a report command notices.
"""

DPI = 100


def agg_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig
