"""The one way a family's ``__init__.py`` exposes its public names: lazily, on first use.

Every family (``pedagogy_lib.hmm``, ``pedagogy_lib.vi``, ...) ends its ``__init__.py`` with ::

    __getattr__, __dir__, __all__ = attach(__name__, ["inference", "em"])

which makes the listed modules and every name in their ``__all__`` attributes of the family
(``pedagogy_lib.hmm.forward_filter``), imports nothing until one of them is used, and keeps
``from pedagogy_lib.hmm import *`` working. The names are read from each module's source (its
literal ``__all__``), so the family file never repeats them by hand.
"""
from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

__all__ = ["attach", "public_names"]


def public_names(path: Path) -> list[str]:
    """The names in the literal ``__all__ = [...]`` of the module at ``path``, read without
    importing it; an empty list if it has none."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "__all__"):
            value = ast.literal_eval(node.value)
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{path}: __all__ must be a literal list of strings")
            return list(value)
    return []


def attach(package: str, modules: list[str], *, module_only: tuple[str, ...] = (),
           eager: tuple[str, ...] = ()):
    """Lazy attributes for the family ``package`` made of ``modules``.

    Parameters
    ----------
    package : str
        The family's dotted name (its ``__name__``).
    modules : list of str
        Its public modules, in the order the family's docstring lists them.
    module_only : tuple of str
        Names that several modules export with different meanings (``log_likelihood`` of ICA and
        of NICE); they stay reachable only through their modules (``deepgen.ica.log_likelihood``).
    eager : tuple of str
        Modules imported at once, for an effect the family needs before anything else loads (the
        exercises' ``checker`` installs the import hook that seals every checker module).

    Returns
    -------
    (__getattr__, __dir__, __all__)
        The module-level functions and list to assign in the family's ``__init__.py``.

    Raises
    ------
    ValueError
        If a listed module does not exist, or two modules export the same name and it is not
        declared in ``module_only``.
    """
    folder = Path(sys.modules[package].__file__).parent
    owner: dict[str, str] = {}
    for module in modules:
        path = folder / f"{module}.py"
        if not path.is_file():
            path = folder / module / "__init__.py"
        if not path.is_file():
            raise ValueError(f"{package} lists a module {module!r} that does not exist")
        for name in public_names(path):
            if name in module_only or name in modules:   # a module's own name is the module
                continue
            if name in owner:
                raise ValueError(f"{package}: {name!r} is exported by both {owner[name]!r} and {module!r}")
            owner[name] = module
    everything = [*modules, *owner]
    for module in eager:
        importlib.import_module(f"{package}.{module}")

    home = {name: f"{package}.{module}" for name, module in owner.items()}

    def __getattr__(name: str):
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        if name in home:
            # a module already imported is read from sys.modules: import_module's own lookup costs
            # about 2 us, paid on every ``family.name`` of a call under a slider
            module = sys.modules.get(home[name]) or importlib.import_module(home[name])
            return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(everything))

    return __getattr__, __dir__, everything
