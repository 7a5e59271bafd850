"""The classes that saved files name, found by name.

A saved file says which class it holds (``"GaussianMixture"``, ...).  The model
classes register themselves here as they are defined (``@register`` in
``fastgmm.models``), so that this layer builds them on load without importing the
layer above it.
"""

MODEL_CLASSES = {}  # class name -> class, in the order they were registered


def register(cls):
    """Class decorator: ``cls`` can be saved and loaded under its ``__name__``."""
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def model_class(class_name):
    """The registered class named ``class_name`` (a KeyError if there is none)."""
    return MODEL_CLASSES[class_name]


def class_name_of(model_or_class):
    """The registered class that a model (or class) is or derives from, by name; a
    TypeError for anything else.  A subclass is saved as the class it derives from."""
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    for name, known in MODEL_CLASSES.items():
        if issubclass(cls, known):
            return name
    names = list(MODEL_CLASSES)
    expected = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    raise TypeError(f"Expected a fastgmm {expected}, got {cls.__module__}.{cls.__qualname__}.")
