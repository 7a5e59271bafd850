"""Regenerate the README's and the guide's figures in docs/images/ from the built-in demo data.

    python docs/make_figures.py            # needs fastgmm[plot]

Writes ``plot_mixture.png``, ``plot_selection.png`` and ``plot_convergence.png``
(100 dpi, well under 150 KB each) next to this script, in ``images/``. The data
are ``fastgmm.cli.demo_data`` (the tutorial's three 2-D Gaussians, fixed seed)
and every fit has a fixed ``random_state``, so a rerun gives the same pictures.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt  # noqa: E402

import fastgmm  # noqa: E402
from fastgmm.cli import demo_data  # noqa: E402
from fastgmm.plotting import plot_convergence, plot_mixture, plot_selection  # noqa: E402

IMAGES = Path(__file__).resolve().parent / "images"
DPI = 100


def save(ax, name):
    """Write ``ax``'s figure to images/<name>.png and close it."""
    figure = ax.figure
    figure.tight_layout()
    path = IMAGES / f"{name}.png"
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


def mixture_figure():
    """A million points (drawn as a density image) and the fitted components' ellipses."""
    X, _ = demo_data(1_000_000)
    model = fastgmm.GaussianMixture(3, random_state=0).fit(X)
    _, ax = plt.subplots(figsize=(6, 5))
    plot_mixture(model, X, ax=ax)
    ax.set_title("plot_mixture: 1,000,000 points, 3 components")
    ax.legend(loc="upper right", fontsize="small")
    save(ax, "plot_mixture")


def selection_figure():
    """BIC, AIC and lower bound for 1-7 components and the four covariance types."""
    X, _ = demo_data(2_000)
    selection = fastgmm.select_n_components(
        X,
        range(1, 8),
        covariance_types=("full", "tied", "diag", "spherical"),
        n_init=3,
        random_state=0,
    )
    criteria_ax, _ = plot_selection(selection)
    criteria_ax.figure.suptitle("plot_selection: select_n_components on 2,000 points")
    save(criteria_ax, "plot_selection")


def convergence_figure():
    """The lower bound per iteration of a fit from a random start (k-means converges at once)."""
    X, _ = demo_data(2_000)
    model = fastgmm.GaussianMixture(
        3, init_params="random", tol=1e-6, max_iter=500, random_state=1
    ).fit(X)
    _, ax = plt.subplots(figsize=(6, 4))
    plot_convergence(model, ax=ax)
    ax.set_title(f"plot_convergence: {model.n_iter_} EM iterations from a random start")
    save(ax, "plot_convergence")


def main():
    IMAGES.mkdir(exist_ok=True)
    mixture_figure()
    selection_figure()
    convergence_figure()


if __name__ == "__main__":
    main()
