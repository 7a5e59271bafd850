"""The classes that saved files name, found by name.

A saved file says which class it holds (one of ``format.CLASS_NAMES``).  The model
classes register themselves here as they are defined (``@register`` in
``fastgmm.models``), so that this layer builds them on load without importing the
layer above it.
"""

from .format import CLASS_NAMES

MODEL_CLASSES = {}  # class name -> class, in the order they were registered


def register(cls):
    """Class decorator: ``cls`` can be saved and loaded under its ``__name__``, one of the
    format's ``CLASS_NAMES`` (a new class needs its fields in ``format.py``, its checks in
    ``checks.py`` and its arrays in ``write.py`` and ``read.py`` first)."""
    if cls.__name__ not in CLASS_NAMES:
        raise ValueError(f"The saved-model format has no class {cls.__name__!r}: {CLASS_NAMES}")
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def model_class(class_name):
    """The registered class named ``class_name`` (a KeyError if there is none)."""
    return MODEL_CLASSES[class_name]


def class_name_of(model_or_class):
    """The registered class that a model (or class) is or derives from, by name; a
    TypeError for anything else.  A subclass is saved as the class it derives from."""
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    for name in CLASS_NAMES:
        if name in MODEL_CLASSES and issubclass(cls, MODEL_CLASSES[name]):
            return name
    raise TypeError(
        f"Expected a fastgmm {', '.join(CLASS_NAMES[:-1])} or {CLASS_NAMES[-1]}, got "
        f"{cls.__module__}.{cls.__qualname__}."
    )
