import os
import sys

# The reference implementations (tests/_references.py) are imported by test
# modules in sub-folders too.
sys.path.insert(0, os.path.dirname(__file__))
