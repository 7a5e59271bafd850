"""The package's layers import downwards only, never in a circle (docs/design.md, "The map").

Every module of ``fastgmm`` belongs to one layer of ``LAYERS``; a module may import
modules of its own layer or of the layers below it, and the modules' imports (read
with ``ast``: at the top, inside functions and under ``TYPE_CHECKING`` alike) never form
a circle.  A new module fails here until it is given a layer, here and in the map.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fastgmm"
DESIGN = ROOT / "docs" / "design.md"

# Top to bottom.  An entry ending in "/" is a sub-package (all of its modules).
LAYERS = {
    "faces": [
        "__init__.py",
        "__main__.py",
        "cli/",
        "plotting.py",
        "model_selection.py",
        "_cache.py",
    ],
    "models": ["models/"],
    "io": ["io/"],
    "em": ["em/"],
    "data": ["data/"],
    "covariance": ["covariance/"],
    "kernels": ["_kernels/"],
    "ground": ["exceptions.py", "_typing.py", "_threads.py", "_version.py"],
}


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module):
    relative = MODULES[module].relative_to(PACKAGE).as_posix()
    for depth, (layer, places) in enumerate(LAYERS.items()):
        for place in places:
            if relative == place or (place.endswith("/") and relative.startswith(place)):
                return depth, layer
    return None


def resolve(module, node):
    """The fastgmm modules that one import statement of ``module`` loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in MODULES]
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if base not in MODULES:
        return []
    # ``from package import name``: the submodule if there is one, else the package itself.
    targets = {f"{base}.{alias.name}" for alias in node.names} & MODULES.keys()
    return sorted(targets) if len(targets) == len(node.names) else sorted(targets | {base})


def imports_of(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update(target for target in resolve(module, node) if target != module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_has_a_layer():
    assert [module for module in MODULES if layer_of(module) is None] == []


def test_the_map_in_docs_design_names_every_layer_and_place():
    text = DESIGN.read_text(encoding="utf-8")
    assert "## The map" in text
    map_section = text.split("## The map", 1)[1].split("\n## ", 1)[0]
    missing = [
        f"{layer}: {place}"
        for layer, places in LAYERS.items()
        for place in [layer, *places]
        if place not in map_section
    ]
    assert missing == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_the_layers(module):
    depth, layer = layer_of(module)
    upward = [
        f"{module} ({layer}) imports {target} ({layer_of(target)[1]})"
        for target in sorted(GRAPH[module])
        if layer_of(target)[0] < depth
    ]
    assert upward == []


def test_no_import_circles():
    # Depth-first search over the import graph; a back edge closes a circle.
    state, circles = {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_checks_see_imports():
    # The resolver finds what a module takes from others (so that the tests above can fail).
    assert "fastgmm.data.validation" in GRAPH["fastgmm.data.sources"]
    assert "fastgmm.data" in GRAPH["fastgmm.em.options"]
    assert "fastgmm._kernels.full" in GRAPH["fastgmm.covariance.full"]
    assert layer_of("fastgmm.models.base") == (1, "models")
