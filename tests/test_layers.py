"""The package's layering, checked: the import contract of ``pyproject.toml`` and no proxy dispatch by name.

* ``lint-imports`` (import-linter) keeps the ``[tool.importlinter]`` contracts: no module of the algorithms
  (``searches``, ``scoring``, ``analysis``, ``train``) or of the core (``supernet``, ``spaces``, ``proxies``,
  ``bench``, ``data``) imports the results layer or the faces (``runs``, ``experiments``, ``cli``, ``api``,
  ``widgets``), and the core never imports the algorithms -- directly or through a chain of imports, imports
  inside functions and under ``if TYPE_CHECKING:`` included (grimp sees every import statement).
* The contracts are not vacuous: they still name every module above (a contract edited down to nothing
  would pass ``lint-imports`` silently).
* Outside ``zcpt_analysis/proxies/`` no code compares anything with a registered proxy name: a proxy's
  special behaviour belongs to the proxy (its registry entry), not to ``if proxy == "nwot"`` in a search, a
  spec or a table. See :func:`test_no_proxy_name_comparisons_outside_proxies` for exactly what is flagged.
"""
from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "zcpt_analysis"

ALGORITHMS = ("searches", "scoring", "train", "proxy_study")  # scoring/ holds analysis and iterative
CORE = ("supernet", "spaces", "proxies", "bench", "data")
RESULTS_AND_FACES = ("runs", "experiments", "cli", "api", "widgets")

# Proxy names that are also ordinary words of this code base ("params" is a record field and a benchmark
# column, "flops" a benchmark column, "plain" the plain forward pass of the supernet, ...). A comparison
# with one of them that is genuinely not about a proxy may say so with ALLOW_MARK on its line; the mark
# is not honoured for any other proxy name (``proxy == "nwot"  # not-a-proxy-name`` still fails).
AMBIGUOUS_NAMES = frozenset({"params", "flops", "plain", "ensemble", "swap", "zen"})
ALLOW_MARK = "# not-a-proxy-name"


def _lint_imports() -> subprocess.CompletedProcess:
    # import-linter has no ``python -m`` entry point; this is what the ``lint-imports`` script runs, with
    # the interpreter of this test run (a venv or a conda env alike). No cache: nothing is written into
    # the checkout, and the graph of this package takes well under a second to build.
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", code, "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_import_contracts_are_kept():
    if importlib.util.find_spec("importlinter") is None:
        pytest.fail("import-linter is not installed: pip install -e '.[test]' (or make setup)")
    result = _lint_imports()
    assert result.returncode == 0, (
        f"lint-imports failed (exit {result.returncode}); the layer contract of pyproject.toml "
        f"[tool.importlinter] is broken:\n{result.stdout}\n{result.stderr}")


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    linter = config["tool"]["importlinter"]
    assert linter["root_package"] == "zcpt_analysis"
    return linter["contracts"]


def _forbids(contracts: list[dict], source: str, forbidden: str) -> bool:
    """Whether some forbidden contract that counts indirect imports forbids ``source`` importing ``forbidden``."""
    def named(module: str, modules: list[str]) -> bool:  # a module is covered by itself or by a package above it
        return any(module == m or module.startswith(m + ".") for m in modules)

    def flag(contract: dict, key: str, default: bool) -> bool:  # import-linter also reads "True"/"false" strings
        return str(contract.get(key, default)).lower() == "true"

    return any(c.get("type") == "forbidden" and not flag(c, "allow_indirect_imports", False)
               and flag(c, "as_packages", True)  # so that naming a package covers its modules
               and named(source, c.get("source_modules", [])) and named(forbidden, c.get("forbidden_modules", []))
               and not c.get("ignore_imports")  # an exemption list would need its own review here
               for c in contracts)


@pytest.mark.parametrize("sources, forbidden", [(ALGORITHMS + CORE, RESULTS_AND_FACES),
                                                (CORE, ALGORITHMS)],
                         ids=["results-above-algorithms", "algorithms-above-core"])
def test_contracts_name_every_layer(sources, forbidden):
    contracts = _contracts()
    missing = [f"zcpt_analysis.{s} -> zcpt_analysis.{f}" for s in sources for f in forbidden
               if not _forbids(contracts, f"zcpt_analysis.{s}", f"zcpt_analysis.{f}")]
    assert not missing, "pyproject.toml [tool.importlinter] no longer forbids: " + ", ".join(missing)


def test_type_checking_imports_count():
    # Strict reading of "directly or through a chain": imports under `if TYPE_CHECKING:` are imports too.
    assert tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"].get(
        "exclude_type_checking_imports", False) is False


# ---------------------------------------------------------------------------------------------- proxy names

def _proxy_names() -> frozenset[str]:
    from zcpt_analysis.proxies import proxy_names

    names = frozenset(proxy_names())
    assert {"nwot", "synflow", "snip"} <= names, names  # the registry really was filled
    return names


def _strings(node: ast.AST) -> set[str]:
    """The string literals ``node`` stands for: a str constant, the elements of a tuple/list/set literal, the keys
    of a dict literal, ``frozenset(...)``/``set(...)``/``tuple(...)`` of such, and ``a + b`` / ``a | b`` of such."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"frozenset", "set", "tuple",
                                                                                             "list", "dict"}
            and len(node.args) == 1):
        return _strings(node.args[0])
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.BitOr)):
        return _strings(node.left) | _strings(node.right)
    return set()


def _target_name(node: ast.AST) -> str | None:
    """``NAME`` for ``NAME``, ``self.NAME``, ``cls.NAME``, ``Class.NAME``: how a named constant is referred to."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _named_constants(tree: ast.Module, names: frozenset[str]) -> dict[str, set[str]]:
    """Module- and class-level constants bound to a literal collection holding proxy names (``AUTO_BATCHED =
    ("nwot", "synflow")``, a dict keyed by proxy names): a membership test in one is a name comparison too."""
    found: dict[str, set[str]] = {}
    bodies = [tree.body] + [n.body for n in tree.body if isinstance(n, ast.ClassDef)]
    for body in bodies:
        for stmt in body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(
                stmt, ast.AnnAssign) and stmt.value is not None else []
            for target in targets:
                hit = _strings(stmt.value) & names if isinstance(target, ast.Name) else set()
                if hit and not isinstance(stmt.value, ast.Constant):
                    found[target.id] = hit
    return found


def _imported_constants(tree: ast.Module, module: str, is_package: bool,
                        constants: dict[str, dict[str, set[str]]]) -> dict[str, set[str]]:
    """The named constants of other package modules that this module imports by name."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            hit = constants.get(source, {}).get(alias.name)
            if hit:
                found[alias.asname or alias.name] = hit
    return found


def _comparisons(path: Path, module: str, names: frozenset[str], constants: dict[str, dict[str, set[str]]]):
    """(line, proxy names, source) of every name comparison in ``path``, the module ``module`` (see
    :func:`test_no_proxy_name_comparisons_outside_proxies`); ``constants``: module -> its named constants."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    named = {**_imported_constants(tree, module, path.name == "__init__.py", constants), **constants.get(module, {})}

    def literal(node: ast.AST) -> set[str]:
        return _strings(node) & names

    for node in ast.walk(tree):
        hit: set[str] = set()
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, operands, operands[1:]):
                if isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)):
                    hit |= literal(left) | literal(right)
                elif isinstance(op, (ast.In, ast.NotIn)):
                    # x in ("nwot", ...) / x in {"nwot": ...} / x in AUTO_BATCHED / "nwot" in proxies
                    hit |= literal(right) | named.get(_target_name(right) or "", set())
                    if isinstance(left, ast.Constant):
                        hit |= literal(left)
        elif isinstance(node, ast.match_case):
            for pattern in ast.walk(node.pattern):
                if isinstance(pattern, ast.MatchValue):
                    hit |= literal(pattern.value)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
            hit |= literal(node.value)  # {"nwot": a, "synflow": b}[proxy]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and isinstance(node.func.value, ast.Dict)):
            hit |= literal(node.func.value)  # {"nwot": a, ...}.get(proxy)
        if not hit:
            continue
        shown = node.pattern if isinstance(node, ast.match_case) else node  # a match_case has no position
        line = text.splitlines()[shown.lineno - 1]
        if ALLOW_MARK in line and hit <= AMBIGUOUS_NAMES:
            continue
        yield shown.lineno, sorted(hit), " ".join((ast.get_source_segment(text, shown) or line.strip()).split())


def _package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "proxies")


def proxy_name_comparisons() -> list[str]:
    """``file:line: names: code`` for every proxy-name comparison outside ``zcpt_analysis/proxies/``."""
    names = _proxy_names()
    files = _package_files()
    constants = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found = _named_constants(ast.parse(path.read_text(encoding="utf-8")), names)
        if found:
            constants[_module_of(path)] = found
    return [f"{path.relative_to(ROOT)}:{line}: {', '.join(hit)}: {code}"
            for path in files for line, hit, code in sorted(_comparisons(path, _module_of(path), names, constants))]


def test_no_proxy_name_comparisons_outside_proxies():
    """No code outside ``zcpt_analysis/proxies/`` compares anything with a registered proxy name
    (``zcpt_analysis.proxies.proxy_names()``). Flagged, anywhere in the package outside ``proxies/``:

    * ``==``, ``!=``, ``is``, ``is not`` with a proxy-name string literal on either side;
    * ``in`` / ``not in`` in a tuple, list, set or dict literal holding a proxy name (``proxy in ("nwot",
      "synflow")``), in a module- or class-level constant bound to one (``proxy not in self.AUTO_BATCHED``, a dict
      keyed by proxy names), whether defined in that file or imported by name from another package module, and a
      proxy-name literal tested for membership (``"nwot" in proxies``);
    * ``match`` cases on a proxy name (``case "nwot":``);
    * lookups in a dict literal keyed by proxy names (``{"nwot": a, "synflow": b}[proxy]`` and ``.get(proxy)``).

    Not flagged: a proxy name as a dict key, an argument, a default value or an element of a list of proxies
    to run (``TABLE3_CPU_PROXIES``), and lookups in a named table (``PUBLISHED[proxy]``): those are data about
    proxies, not behaviour chosen by a name. Some proxy names are also ordinary words here (AMBIGUOUS_NAMES);
    none collides in a comparison today, and one that does and is not about a proxy carries ALLOW_MARK.
    """
    found = proxy_name_comparisons()
    assert not found, (f"{len(found)} comparison(s) with a proxy name outside zcpt_analysis/proxies/ -- give the proxy "
                       "the behaviour (its registry entry) instead of testing its name:\n" + "\n".join(found))


def test_scan_sees_what_it_must(tmp_path):
    """The scanner itself: each form of name comparison is found, data about proxies is not."""
    names = frozenset({"nwot", "synflow", "params"})
    sample = tmp_path / "sample.py"
    sample.write_text(
        'AUTO = ("nwot", "synflow")\n'                       # 1  definition: data
        'TABLE = {"nwot": 1}\n'                              # 2  definition: data
        'def f(proxy, spec, proxies, record):\n'             # 3
        '    if proxy == "nwot": pass\n'                     # 4  flagged
        '    if "synflow" != spec.proxy: pass\n'             # 5  flagged
        '    if proxy in ("nwot", "x"): pass\n'              # 6  flagged
        '    if spec.proxy not in AUTO: pass\n'              # 7  flagged (named constant)
        '    if "nwot" in proxies: pass\n'                   # 8  flagged
        '    x = {"nwot": 1, "synflow": 2}[proxy]\n'         # 9  flagged
        '    y = {"nwot": 1}.get(proxy)\n'                   # 10 flagged
        '    match proxy:\n'                                 # 11
        '        case "synflow" | "snip": pass\n'            # 12 flagged
        '    z = TABLE[proxy]\n'                             # 13 data lookup
        '    w = {"params": 3}\n'                            # 14 dict key
        '    if key == "params":  # not-a-proxy-name\n'      # 15 allowed: an ordinary word, marked
        '        pass\n'                                     # 16
        '    if key == "nwot":  # not-a-proxy-name\n'        # 17 flagged: the mark is for ambiguous words only
        '        pass\n'
        '    run(proxy="nwot", proxies=["nwot"])\n', encoding="utf-8")  # 19 arguments: data
    constants = {"sample": _named_constants(ast.parse(sample.read_text(encoding="utf-8")), names)}
    assert constants == {"sample": {"AUTO": {"nwot", "synflow"}, "TABLE": {"nwot"}}}
    lines = sorted(line for line, _, _ in _comparisons(sample, "sample", names, constants))
    assert lines == [4, 5, 6, 7, 8, 9, 10, 12, 17]
