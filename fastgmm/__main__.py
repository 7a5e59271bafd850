"""``python -m fastgmm``: the command line of ``fastgmm.cli``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
