"""The library's floor plan holds: families are packages with a docstring, no module reaches into
another module's private names, no modules import each other in a circle, the README's map lists
every module, and importing the package (or one family) stays cheap.
"""
from __future__ import annotations

import ast
import fnmatch
import importlib
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pedagogy_lib.core.lazy import public_names

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "pedagogy_lib"
MODULES = sorted(p for p in LIB.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module name an ImportFrom refers to."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_uses(path: Path) -> list[str]:
    module = _dotted(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    problems, module_aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node)
            if not source.startswith("pedagogy_lib"):
                continue
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if _is_private(alias.name) and source != module:
                    problems.append(f"{module} imports the private name {alias.name} from {source}")
                if (LIB.parent / (target.replace(".", "/") + ".py")).exists() or \
                        (LIB.parent / target.replace(".", "/") / "__init__.py").exists():
                    module_aliases[alias.asname or alias.name] = target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pedagogy_lib") and alias.asname:
                    module_aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases and _is_private(node.attr)):
            problems.append(f"{module} uses {node.value.id}.{node.attr} (private to {module_aliases[node.value.id]})")
    return problems


def test_no_module_uses_another_modules_private_names():
    problems = [p for path in MODULES for p in _private_uses(path)]
    assert not problems, "\n".join(problems)


def test_the_private_name_check_would_catch_both_kinds(tmp_path, monkeypatch):
    fake = LIB / "smc" / "_layout_probe.py"
    try:
        fake.write_text("from ..lgssm.kalman import _run_filter\nfrom ..hmm import inference as h\nh._forward_numpy\n")
        found = _private_uses(fake)
    finally:
        fake.unlink()
    assert len(found) == 2 and "_run_filter" in found[0] and "h._forward_numpy" in found[1]


def _import_graph(package: Path) -> dict[str, set[str]]:
    """Each module of ``package`` (dotted, ``pkg.sub.mod``) and the modules of ``package`` it imports.

    Every import statement counts, at module level or inside a function: a warm-up that imports its
    family's public module in its body closes a circle as surely as a top-level import, and whether
    the circle bites depends on who is imported first. ``from X import n`` is an edge to ``X.n`` when
    that is a module, else to ``X``.
    """
    root = package.parent
    paths = {".".join(p.relative_to(root).with_suffix("").parts[:-1] if p.name == "__init__.py"
                      else p.relative_to(root).with_suffix("").parts): p
             for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    graph = {}
    for module, path in paths.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(module, path.name == "__init__.py", node)
                for alias in node.names:
                    target = f"{source}.{alias.name}"
                    edges.add(target if target in paths else source)
            elif isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
        graph[module] = {m for m in edges if m in paths and m != module}
    return graph


def _import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The sets of modules that import each other in a circle (strongly connected components of more
    than one module, Tarjan's algorithm), each sorted, in sorted order."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(circles)


def test_no_modules_of_the_library_import_each_other_in_a_circle():
    """The layers stay a stack: ``core`` at the bottom, a family's ``kernels`` below its readable
    modules, whose warm-ups call their own kernels on tiny arrays instead of importing the public
    functions back (``hmm/kernels.py`` shows how)."""
    circles = _import_circles(_import_graph(LIB))
    assert not circles, "modules that import each other in a circle:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_the_circle_check_would_catch_a_circle_through_a_function_level_import(tmp_path):
    pkg = tmp_path / "loopy"
    (pkg / "fam").mkdir(parents=True)
    files = {
        "__init__.py": '"""A package for the test."""\n',
        "base.py": "import math\n",
        "fam/__init__.py": "from loopy.base import math\n",
        "fam/kernels.py": "from ..base import math\n\ndef warmup():\n    from .public import run\n    run()\n",
        "fam/public.py": "from . import kernels\n\ndef run():\n    return kernels\n",
        "fam/other.py": "import loopy.fam.public\nfrom loopy.fam import kernels\n",
        "a.py": "from .b import f\n", "b.py": "import loopy.c as c\nf = 1\n", "c.py": "from loopy import a\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph = _import_graph(pkg)
    assert graph["loopy.fam.other"] == {"loopy.fam.public", "loopy.fam.kernels"}
    assert graph["loopy.fam"] == {"loopy.base"}
    assert _import_circles(graph) == [["loopy.a", "loopy.b", "loopy.c"], ["loopy.fam.kernels", "loopy.fam.public"]]
    (pkg / "fam/kernels.py").write_text("from ..base import math\n\ndef warmup():\n    return math\n")
    assert _import_circles(_import_graph(pkg)) == [["loopy.a", "loopy.b", "loopy.c"]]


def test_every_package_has_a_docstring_that_describes_it():
    for init in sorted(LIB.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.split()) >= 15, f"{init.relative_to(ROOT)} needs a docstring explaining the package"


def _readme_map() -> dict[str, list[str]]:
    """The README's library map, a list with one line per family: "- `family/` what it is: `module`, ...".

    Returns each family's module names as the line gives them (a name may be a pattern such as
    ``ch*``, for the exercise modules, one per notebook)."""
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("<!-- library map -->"):readme.index("<!-- end library map -->")]
    rows: dict[str, list[str]] = {}
    for line in (x for x in block.splitlines() if x.startswith("- `")):
        folder, *names = re.findall(r"`([^`]+)`", line)
        assert folder.endswith("/"), f"a README map line starts with its family's folder: {line[:70]}..."
        assert folder[:-1] not in rows, f"the family {folder} has two lines in the README map"
        rows[folder[:-1]] = names
    return rows


def test_the_readme_map_lists_every_module_and_nothing_else():
    rows = _readme_map()
    families = {p.parent.name for p in MODULES if p.parent != LIB}
    assert set(rows) == families, (f"families without a line in the README map: {sorted(families - set(rows))}; "
                                   f"lines of no family: {sorted(set(rows) - families)}")


def test_each_line_of_the_readme_map_is_one_whole_family():
    # a line names its family's modules, all of them, and nothing that is not one
    for family, names in _readme_map().items():
        modules = {p.stem for p in MODULES if p.parent.name == family and p.name != "__init__.py"}
        missing = sorted(m for m in modules if not any(fnmatch.fnmatchcase(m, n) for n in names))
        stale = [n for n in names if not any(fnmatch.fnmatchcase(m, n) for m in modules)]
        assert not missing and not stale, (f"the README map line of {family}/ misses {missing} "
                                           f"and names {stale}, which are not its modules")


def _loaded_after(code: str) -> dict:
    probe = (f"import sys, json\n{code}\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('matplotlib', 'scipy', 'numba', 'ipywidgets', 'pedagogy_lib'))))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_package_loads_no_family():
    loaded = _loaded_after("import pedagogy_lib")
    assert loaded == {"pedagogy_lib"}, sorted(loaded)


def test_every_family_is_reachable_as_an_attribute_of_the_package():
    """``pedagogy_lib.FAMILIES`` names every sub-package, so ``import pedagogy_lib as p; p.vi`` works
    for each (and only on first use imports it)."""
    # in a fresh interpreter: this process may hold another module of that name (a test fixture's)
    probe = ("import json, sys, pedagogy_lib as p; "
             "ok = [f for f in p.FAMILIES if getattr(p, f).__name__ == 'pedagogy_lib.' + f]; "
             "print(json.dumps([list(p.FAMILIES), ok]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    families, reachable = json.loads(out.stdout.strip().splitlines()[-1])
    packages = {p.name for p in LIB.iterdir() if (p / "__init__.py").is_file()}
    assert set(families) == packages, sorted(packages ^ set(families))
    assert reachable == families


FAMILY_INITS = sorted(LIB.glob("*/__init__.py"))


@pytest.mark.parametrize("init", FAMILY_INITS, ids=lambda p: p.parent.name)
def test_every_family_init_has_the_one_lazy_style(init):
    """After its docstring, a family's ``__init__.py`` is the import of ``attach`` and one call of it,
    so every family exposes its modules and their public names the same way."""
    body = ast.parse(init.read_text()).body[1:]
    assert len(body) == 2, f"{init.relative_to(ROOT)}: expected the attach import and one attach call"
    imp, assign = body
    assert isinstance(imp, ast.ImportFrom) and imp.module == "pedagogy_lib.core.lazy"
    assert [a.name for a in imp.names] == ["attach"]
    assert isinstance(assign, ast.Assign) and isinstance(assign.value, ast.Call)
    assert [t.id for t in assign.targets[0].elts] == ["__getattr__", "__dir__", "__all__"]
    assert assign.value.func.id == "attach"


@pytest.mark.parametrize("init", FAMILY_INITS, ids=lambda p: p.parent.name)
def test_a_family_loads_no_module_until_one_is_used_and_its_names_are_its_modules(init):
    family = init.parent.name
    call = ast.parse(init.read_text()).body[-1].value
    eager = [ast.literal_eval(k.value) for k in call.keywords if k.arg == "eager"]
    allowed = {f"pedagogy_lib.{family}", "pedagogy_lib.core", "pedagogy_lib.core.lazy",
               *(f"pedagogy_lib.{family}.{m}" for m in (eager[0] if eager else ()))}
    loaded = _loaded_after(f"import pedagogy_lib.{family}")
    # an eager module's own imports may load more (the checkers' machinery imports NumPy-side helpers)
    if not eager:
        assert {m for m in loaded if m.startswith("pedagogy_lib.")} <= allowed, sorted(loaded)
    package = importlib.import_module(f"pedagogy_lib.{family}")
    modules = [n for n in package.__all__ if (init.parent / f"{n}.py").is_file()]
    owners = {n: m for m in modules for n in public_names(init.parent / f"{m}.py")}
    for name in package.__all__:
        if name in modules:
            assert getattr(package, name).__name__ == f"{package.__name__}.{name}"
        else:
            module = importlib.import_module(f"{package.__name__}.{owners[name]}")
            assert getattr(package, name) is getattr(module, name), name
    assert set(package.__all__) <= set(dir(package))


def test_attach_refuses_a_name_two_modules_export(tmp_path, monkeypatch):
    from pedagogy_lib.core.lazy import attach
    pkg = tmp_path / "twin_family"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""A family for the test."""\n')
    (pkg / "a.py").write_text('__all__ = ["f"]\ndef f():\n    return 1\n')
    (pkg / "b.py").write_text('__all__ = ["f"]\ndef f():\n    return 2\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("twin_family")
    with pytest.raises(ValueError, match="'f' is exported by both 'a' and 'b'"):
        attach("twin_family", ["a", "b"])
    getattr_, _, names = attach("twin_family", ["a", "b"], module_only=("f",))
    assert names == ["a", "b"] and getattr_("a").f() == 1


@pytest.mark.parametrize("family", ["core", "discrete", "gaussian", "mixture", "factor", "recursions", "hmm",
                                    "lgssm", "smc", "em", "learning", "nn", "samplers", "vi", "harmonium",
                                    "deepgen", "diffusion", "contrastive", "assimilation", "graphical"])
def test_computation_never_imports_matplotlib_or_scipy_stats(family):
    loaded = _loaded_after(f"import pedagogy_lib.{family}")
    assert not any(m.startswith(("matplotlib", "ipywidgets")) for m in loaded), family
    assert "scipy.stats" not in loaded, family
    assert not any(m.startswith("pedagogy_lib.display") for m in loaded), family


def _is_kernel(node: ast.FunctionDef) -> bool:
    """Decorated with the library's numba decorators (``njit``, ``njit_inline``, ``njit_ieee``)."""
    return any((isinstance(d, ast.Name) and d.id.startswith("njit"))
               or (isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id.startswith("njit"))
               for d in node.decorator_list)


#: A kernel longer than this (``def`` to its last line, docstring included) or with more parameters is
#: split into inlined pieces with structured arguments.
KERNEL_MAX_LINES, KERNEL_MAX_PARAMS = 80, 12


def test_every_numba_kernel_lives_in_its_familys_kernels_module_under_a_public_name_and_is_short():
    """One place to look for speed: the compiled code of a family is ``<family>/kernels.py`` and
    nowhere else, its kernels have public names without a ``_numba`` suffix (the module says they are
    compiled), and none is over 80 lines or 12 parameters. The readable modules keep the NumPy twins."""
    misplaced, named, long = [], [], []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.FunctionDef) and _is_kernel(node)):
                continue
            where = f"{_dotted(path)}.{node.name}"
            if path.name != "kernels.py":
                misplaced.append(where)
            if node.name.startswith("_") or node.name.endswith("_numba"):
                named.append(where)
            lines = node.end_lineno - node.lineno + 1
            params = len(node.args.posonlyargs) + len(node.args.args) + len(node.args.kwonlyargs)
            if lines > KERNEL_MAX_LINES or params > KERNEL_MAX_PARAMS:
                long.append(f"{where} ({lines} lines, {params} parameters)")
    assert not misplaced, f"numba kernels outside a kernels.py: {misplaced}"
    assert not named, f"kernels with a private name or a _numba suffix: {named}"
    assert not long, f"kernels over {KERNEL_MAX_LINES} lines or {KERNEL_MAX_PARAMS} parameters: {long}"
    # and the rule has something to hold: every family with compiled code has its kernels module
    kernel_modules = {p.parent.name for p in LIB.glob("*/kernels.py")}
    assert {"core", "lgssm", "hmm", "smc", "samplers", "harmonium", "assimilation", "mixture", "nn",
            "graphical", "diffusion"} <= kernel_modules


def test_a_kernels_module_imports_no_readable_module_of_its_family():
    """The readable modules import their kernels (``from . import kernels``), never the other way round,
    not even in a warm-up's body (it calls the kernels on tiny arrays), so that the layers do not
    cycle. (The bottom layer, ``core``, is the exception: its kernels use its ``jit`` switch.)"""
    for path in sorted(LIB.glob("*/kernels.py")):
        if path.parent.name == "core":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module not in (None, "kernels"):
                raise AssertionError(f"{_dotted(path)} imports .{node.module} (line {node.lineno})")


def _scale_registry():
    sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
    sys.path.insert(0, str(ROOT / "tests" / "library"))
    import test_scales
    return test_scales


def test_every_public_function_has_a_scale_case_or_a_reason():
    """Issue 69: the scale test's registry covers every function in every family's ``__all__``: a case that
    sweeps it over 1e-150..1e150, or a one-line reason it needs none. A new public function fails here
    until it has one or the other."""
    scales = _scale_registry()
    import fuzz_cases
    entries = scales.registry()
    missing = [k for f in fuzz_cases.FAMILIES for k in fuzz_cases.public_functions(f) if k not in entries]
    assert not missing, ("public functions with no case in tests/library/test_scales.py and no reason in its "
                         f"NOT_SWEPT: {', '.join(missing)}")


def test_the_scale_registry_check_would_catch_a_new_function(monkeypatch):
    import fuzz_cases
    scales = _scale_registry()
    real = fuzz_cases.public_functions
    monkeypatch.setattr(fuzz_cases, "public_functions",
                        lambda family: real(family) + (["discrete.markov_chain.brand_new"] if family == "discrete" else []))
    with pytest.raises(AssertionError, match="brand_new"):
        test_every_public_function_has_a_scale_case_or_a_reason()
    assert "discrete.markov_chain.brand_new" not in scales.registry()


#: Characters that no source file holds: what a docstring's ``\b`` or ``\t`` becomes when a file is
#: written from a string that was not raw (``\boldsymbol`` -> backspace + "oldsymbol").
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def test_no_source_file_or_notebook_cell_holds_control_characters():
    found = []
    for folder in ("pedagogy_lib", "tests", "courseware", "tools", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for k, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
                if _CONTROL.search(line) or "\t" in line:
                    found.append(f"{path.relative_to(ROOT)}:{k}: {line.strip()[:60]!r}")
    for path in sorted((ROOT / "chapters").rglob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if _CONTROL.search("".join(cell["source"])):
                found.append(f"{path.relative_to(ROOT)}: cell {cell.get('id')}")
    assert not found, "control characters or tabs (a TeX escape written from a non-raw string?):\n" + \
        "\n".join(found[:20])
