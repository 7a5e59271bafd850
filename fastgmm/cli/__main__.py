"""``python -m fastgmm.cli``: the command line, as ``fastgmm`` and ``python -m fastgmm``."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
