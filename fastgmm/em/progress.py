"""What a fit reports as it goes: the ``progress`` line on stderr and the record a
``callback`` receives after every iteration (``em.loop.Reporter`` drives both)."""

import math
import shutil
import sys
import time
from dataclasses import dataclass

# Seconds between two progress lines when stderr is not a terminal (a log file, a CI log, a
# notebook's captured stream): at most a few lines per second, whatever the iteration time.
LOG_INTERVAL = 0.5
# Seconds between two rewrites of the line on a terminal.
TERMINAL_INTERVAL = 0.1


@dataclass(frozen=True)
class IterationInfo:
    """What the ``callback`` of a fit receives after every iteration.

    Attributes
    ----------
    init : int
        Index of the initialisation (restart) the iteration belongs to, from 0 to
        ``n_init - 1`` (0 for a ``warm_start`` continuation), as in the ``verbose`` output.
    n_iter : int
        Number of the iteration within its initialisation, from 1: a fit stopped here
        has ``n_iter_ == n_iter``.
    lower_bound : float
        The lower bound the iteration computed: the value ``lower_bounds_`` records.
    change : float
        ``lower_bound`` minus the previous iteration's (``inf`` on the first iteration
        of a fresh start, as in scikit-learn's ``verbose`` output).
    converged : bool
        Whether this iteration ends its run as converged (``|change| < tol`` and no
        degenerate component repaired).
    elapsed_seconds : float
        Wall time since the fit's first initialisation began.
    """

    init: int
    n_iter: int
    lower_bound: float
    change: float
    converged: bool
    elapsed_seconds: float


def _per_iteration(seconds):
    return f"{seconds * 1e3:.3g} ms/iter" if seconds < 1 else f"{seconds:.3g} s/iter"


class ProgressLine:
    """The ``progress=True`` display on stderr (looked up at every write, so redirections
    made after the fit began are followed; nothing is written where it is None).

    On a terminal one line is rewritten in place with ``'\\r'`` (cut to the terminal's
    width, at most every ``TERMINAL_INTERVAL`` seconds) and each initialisation ends
    its line; elsewhere every update is a line of its own, at most one per
    ``LOG_INTERVAL`` seconds.  The last iteration of every initialisation and the
    closing summary are always written.
    """

    def __init__(self, description, n_init, max_iter):
        self.description = description
        self.n_init = n_init
        self.max_iter = max_iter
        self._open = 0  # characters of an unfinished terminal line
        self._last_write = -math.inf

    # -- writing -----------------------------------------------------------------------------

    def _write(self, text, final):
        """Show ``text``: a line of its own, or on a terminal the current line (which
        ``final`` ends)."""
        stream = sys.stderr
        if stream is None:
            return
        self._last_write = time.perf_counter()
        try:
            terminal = stream.isatty()
        except (AttributeError, ValueError):  # a closed or minimal stream
            terminal = False
        if not terminal:
            stream.write(text + "\n")
        else:
            width = shutil.get_terminal_size().columns - 1
            text = text[:width] if width > 0 else text
            padding = " " * max(self._open - len(text), 0)
            stream.write("\r" + text + padding + ("\n" if final else ""))
            self._open = 0 if final else len(text)
        stream.flush()

    def _due(self):
        try:
            terminal = sys.stderr.isatty()
        except (AttributeError, ValueError):
            terminal = False
        interval = TERMINAL_INTERVAL if terminal else LOG_INTERVAL
        return time.perf_counter() - self._last_write >= interval

    def _finish_line(self):
        if self._open and sys.stderr is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self._open = 0

    # -- the fit's events ----------------------------------------------------------------------

    def init_begins(self, init, how):
        """Initialisation ``init`` (from 0) starts; ``how``: its ``init_params`` or 'warm start'."""
        self._prefix = f"fastgmm: init {init + 1}/{self.n_init} ({how})"
        self._seconds = 0.0
        self._write(f"{self._prefix}, {self.description}: initialising", final=False)

    def iteration_ends(self, n_iter, lower_bound, change, seconds, outcome=None):
        """Show iteration ``n_iter`` (``seconds`` long) if it is due; always with an
        ``outcome`` ('converged', ...), which marks the initialisation's last iteration."""
        self._seconds += seconds
        if outcome is None and not self._due():
            return
        text = (
            f"{self._prefix} iter {n_iter}/{self.max_iter} lower bound {lower_bound:.8g} "
            f"change {change:+.2e} {_per_iteration(self._seconds / n_iter)}"
        )
        if outcome is not None:
            text += f", {outcome}"
        self._write(text, final=outcome is not None)

    def init_ends(self):
        """The initialisation is over (its last iteration was shown, if it had one)."""
        self._finish_line()

    def fit_ends(self, outcome, n_iter, seconds, best_init, n_runs):
        """The closing summary: the kept run's ``outcome`` and ``n_iter``, the fit's time."""
        kept = f", best of {n_runs} inits: init {best_init + 1}" if n_runs > 1 else ""
        self._write(f"fastgmm: {outcome}, n_iter {n_iter}{kept}, {seconds:.3g} s", final=True)

    def abort(self):
        """The fit raised: end an unfinished line so that the traceback starts on its own."""
        self._finish_line()
