"""The house keeps its layers: imports point down the declared order and never form a cycle.

Every `import` and `from ... import` of the package is read with `ast` (at module level and
inside functions, where worldgen keeps its heavy imports), and `importlib.import_module` calls
with a literal name. A module may import from its own layer or any layer below; an import
that points up, a cycle between modules, a module in no layer, and a module that no entry point
reaches (dead code, or test support inside the product) each fail the suite.

Violations still to be mended are listed in KNOWN_VIOLATIONS. The list only shrinks: a new
violation fails, and so does an entry that no longer occurs (delete it when it is mended)."""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "worldgen"

# Lowest first. A pattern is a module name or `package.*` (every module below that package).
# docs/ARCHITECTURE.md ("Layers") says what belongs in each.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "worldgen.errors",
            "worldgen.compat",
            "worldgen.transforms",
            "worldgen.io",
            "worldgen.ade20k",
            "worldgen.console",
        ),
    ),
    ("spec", ("worldgen.spec", "worldgen.spec.*")),
    (
        "assets",
        (
            "worldgen.shapes",
            "worldgen.assets",
            "worldgen.motion",
            "worldgen.gltf_reader",
            "worldgen.character",
            "worldgen.character.*",
        ),
    ),
    ("world", ("worldgen.world", "worldgen.camera", "worldgen.world_checks")),
    ("passes", ("worldgen.passes.*", "worldgen.control")),
    ("paint", ("worldgen.paint", "worldgen.paint.*")),
    ("diffusion", ("worldgen.diffusion", "worldgen.diffusion.*")),
    (
        "delivery",
        (
            "worldgen.render",
            "worldgen.render.*",
            "worldgen.store",
            "worldgen.film",
            "worldgen.sound",
            "worldgen.sound.*",
            "worldgen.edit",
            "worldgen.edit.*",
            "worldgen.export",
            "worldgen.export.*",
        ),
    ),
    (
        "apps",
        (
            "worldgen.bench",
            "worldgen.bench.*",
            "worldgen.plan",
            "worldgen.plan.*",
            "worldgen.preview",
            "worldgen.preview.*",
        ),
    ),
    # the package itself is the library's front door (`from worldgen import World, render_film`)
    ("commands", ("worldgen", "worldgen.__main__", "worldgen.cli", "worldgen.doctor")),
]

# Where the package is entered: `import worldgen`, `python -m worldgen`, the `worldgen` script,
# and library modules that scripts outside the package use directly.
ENTRY_POINTS = (
    "worldgen",
    "worldgen.__main__",
    "worldgen.cli",
    "worldgen.plan.check",  # the judge of planned worlds (benchmarks/plan_quality.py)
)


def painter_modules() -> tuple[str, ...]:
    """Worldgen's own painters: the registry imports them by name ("module:attr" in
    worldgen.paint.registry.BUILT_IN_PAINTERS) when a render asks for one, as it enters a
    plugin's painter, so they are entry points rather than imports of the registry."""
    from worldgen.paint.registry import BUILT_IN_PAINTERS

    return tuple(sorted({target.partition(":")[0] for target, _ in BUILT_IN_PAINTERS.values()}))


# issue 12, step 2: mended by the painter contract, the render package and the diffusion split.
KNOWN_VIOLATIONS = {}


# ---------------------------------------------------------------------------------------------
# reading the package


def package_modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (a package is its __init__)."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST, module: str, is_package: bool):
    """(names, type_only) for every import statement in the tree, wherever it sits: `names`
    are what it may refer to, most specific first (`from a import b`: the module a.b, else a)."""

    def walk(node, type_only):
        for child in ast.iter_child_nodes(node):
            inner = type_only or _type_checking_block(child)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield (alias.name,), inner
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - child.level + 1]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module or ""
                for alias in child.names:
                    yield (f"{source}.{alias.name}", source), inner
            elif (
                isinstance(child, ast.Call)
                and child.args
                and isinstance(child.args[0], ast.Constant)
                and isinstance(child.args[0].value, str)
                and getattr(child.func, "attr", getattr(child.func, "id", None)) == "import_module"
            ):
                yield (child.args[0].value,), inner
            yield from walk(child, inner)

    yield from walk(tree, False)


def _resolve(names: tuple[str, ...], modules) -> str | None:
    """The first name that is a module, else the longest module its last name lies in."""
    for name in names:
        if name in modules:
            return name
    name = names[-1]
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path, package: str) -> dict[str, dict[str, bool]]:
    """module -> {imported module: type_only}. Imports of the package root are left out: every
    import of a submodule runs the root's __init__ anyway, and what modules take from the root
    itself is `__version__`."""
    modules = package_modules(root, package)
    graph: dict[str, dict[str, bool]] = {}
    for module, path in modules.items():
        edges: dict[str, bool] = {}
        tree = ast.parse(path.read_text(), filename=str(path))
        for names, type_only in _imports(tree, module, path.name == "__init__.py"):
            target = _resolve(names, modules)
            if target is None or target in (module, package):
                continue
            edges[target] = edges.get(target, True) and type_only
        graph[module] = edges
    return graph


# ---------------------------------------------------------------------------------------------
# the rules


def layer_of(module: str, layers=LAYERS) -> list[int]:
    return [
        i
        for i, (_, patterns) in enumerate(layers)
        if any(module == p or (p.endswith(".*") and fnmatch.fnmatchcase(module, p)) for p in patterns)
    ]


def cycles(graph: dict[str, dict[str, bool]]) -> list[tuple[str, ...]]:
    """Strongly connected groups of two or more modules over the imports that run
    (type-only imports cannot make an import cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []

    def visit(v: str) -> None:  # Tarjan; the package has ~100 modules, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w, type_only in graph.get(v, {}).items():
            if type_only:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(tuple(sorted(group)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def violations(root: Path = ROOT, package: str = PACKAGE, layers=LAYERS, entry_points=None) -> set[tuple]:
    graph = import_graph(root, package)
    if entry_points is None:
        entry_points = ENTRY_POINTS + painter_modules()
    found: set[tuple] = set()
    for group in cycles(graph):
        found.add(("cycle", group))
    for module in graph:
        places = layer_of(module, layers)
        if len(places) != 1:
            found.add(("layer", module, tuple(layers[i][0] for i in places)))
    for module, edges in graph.items():
        mine = layer_of(module, layers)
        for imported in edges:
            theirs = layer_of(imported, layers)
            if len(mine) == 1 and len(theirs) == 1 and theirs[0] > mine[0]:
                found.add(("up", module, imported))
    reached, todo = set(), [m for m in entry_points if m in graph]
    while todo:
        m = todo.pop()
        if m not in reached:
            reached.add(m)
            todo.extend(graph[m])
            todo.extend(p for p in _parents(m) if p in graph)  # importing a.b runs a's __init__
    for module in sorted(set(graph) - reached):
        found.add(("unreached", module))
    return found


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def _explain(items: set[tuple]) -> str:
    return "\n".join("  " + repr(v) for v in sorted(items, key=repr))


# ---------------------------------------------------------------------------------------------
# the tests


def test_every_pattern_names_modules():
    modules = package_modules(ROOT, PACKAGE)
    unused = [p for _, patterns in LAYERS for p in patterns if not any(layer_of(m, [("", (p,))]) for m in modules)]
    assert not unused, f"layer patterns that match no module (renamed or moved?): {unused}"


def _check(kind: str) -> None:
    found = {v for v in violations() if v[0] == kind}
    known = {v for v in KNOWN_VIOLATIONS if v[0] == kind}
    new, mended = found - known, known - found
    message = []
    if new:
        message.append(
            f"new {kind} violations (see docs/ARCHITECTURE.md, 'Where does my change go'):\n" + _explain(new)
        )
    if mended:
        message.append("KNOWN_VIOLATIONS entries that no longer occur (delete them):\n" + _explain(mended))
    assert not message, "\n".join(message)


def test_every_module_has_one_layer():
    _check("layer")


def test_no_import_cycles():
    _check("cycle")


def test_imports_point_down():
    _check("up")


def test_entry_points_reach_every_module():
    _check("unreached")


def test_the_checker_sees_what_it_should(tmp_path):
    """A planted package with an upward import inside a function, a cycle through a relative
    import, a type-only import, a module in no layer and an orphan: each is found, and nothing else."""
    pkg = tmp_path / "pkg"
    (pkg / "low").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("def f():\n    from pkg.high import h\n")
    (pkg / "low" / "b.py").write_text(
        "from . import c\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.high import h\n"
    )
    (pkg / "low" / "c.py").write_text("import pkg.low.b\n")
    (pkg / "high.py").write_text("import importlib\nfrom pkg.low import a, b\nimportlib.import_module('pkg.stray')\n")
    (pkg / "stray.py").write_text("")
    (pkg / "orphan.py").write_text("from pkg.low import a\n")
    layers = [("low", ("pkg.low", "pkg.low.*")), ("high", ("pkg", "pkg.high", "pkg.orphan"))]
    assert violations(tmp_path, "pkg", layers, ("pkg", "pkg.high")) == {
        ("up", "pkg.low.a", "pkg.high"),
        ("cycle", ("pkg.high", "pkg.low.a")),  # an import inside a function closes a cycle too
        ("up", "pkg.low.b", "pkg.high"),  # type-only: no cycle, but still a dependency upward
        ("cycle", ("pkg.low.b", "pkg.low.c")),
        ("layer", "pkg.stray", ()),
        ("unreached", "pkg.orphan"),
    }
