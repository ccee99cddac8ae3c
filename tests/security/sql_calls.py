"""Static check that SQL text is built from constants only, so every value goes in as a parameter.

For each database call (`execute`, `fetch`, `fetchrow`, `fetchval`, `executemany`, `copy_*`,
`prepare`, `cursor`) in the product's code, the SQL argument must be *constant*: a string
literal; an f-string, `%`, `.format()` or `+` whose parts are all constant; a conditional choosing
between constants; a number forced by `int(...)`; or a name bound only to constants (in the
function, the module, or a project module it is imported from). A function parameter is constant
when every call of that function in its module passes a constant. Anything else is a finding.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("store", "api", "rollouts", "runtime", "simulation", "audit", "report", "cli", "activities",
           "devstack", "worker.py")
SQL_METHODS = {"execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_from_query",
               "copy_to_table", "copy_records_to_table", "copy_from_table", "prepare", "cursor"}


@dataclass(frozen=True)
class SqlCall:
    where: str
    """path:line"""
    method: str
    sql: str
    """The SQL argument's source text."""
    constant: bool


def files() -> list[Path]:
    found: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


@dataclass
class _Module:
    path: Path
    tree: ast.Module
    parents: dict = field(default_factory=dict)


class Checker:
    def __init__(self) -> None:
        self._modules: dict[Path, _Module] = {}
        self._busy: set = set()

    def module(self, path: Path) -> _Module:
        if path not in self._modules:
            tree = ast.parse(path.read_text(), filename=str(path))
            parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
            self._modules[path] = _Module(path, tree, parents)
        return self._modules[path]

    def calls(self, path: Path) -> list[SqlCall]:
        m = self.module(path)
        found = []
        for node in ast.walk(m.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SQL_METHODS):
                continue
            sql = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg in ("query", "table_name")), None)
            if sql is None:
                continue
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            found.append(SqlCall(f"{shown}:{node.lineno}", node.func.attr,
                                 ast.unparse(sql), self.constant(m, sql)))
        return found

    # --- what counts as constant ---------------------------------------------------------------

    def constant(self, m: _Module, node: ast.AST) -> bool:
        key = (m.path, id(node))
        if key in self._busy:
            return False
        self._busy.add(key)
        try:
            return self._constant(m, node)
        finally:
            self._busy.discard(key)

    def _constant(self, m: _Module, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (str, int, float)) or node.value is None
        if isinstance(node, ast.JoinedStr):
            return all(self.constant(m, v.value if isinstance(v, ast.FormattedValue) else v)
                       for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            return self.constant(m, node.left) and self.constant(m, node.right)
        if isinstance(node, ast.IfExp):
            return self.constant(m, node.body) and self.constant(m, node.orelse)
        if isinstance(node, (ast.Tuple, ast.List)):
            return all(self.constant(m, e) for e in node.elts)
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "int":
                return True  # a number cannot carry SQL
            if isinstance(f, ast.Attribute) and f.attr == "format":
                return self.constant(m, f.value) and all(
                    self.constant(m, a) for a in [*node.args, *(k.value for k in node.keywords)])
            return self._returns_constant(m, node, None)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call) and isinstance(
                node.slice, ast.Constant):
            return self._returns_constant(m, node.value, node.slice.value)
        if isinstance(node, ast.Name):
            return self._name_constant(m, node)
        return False

    def _name_constant(self, m: _Module, name: ast.Name) -> bool:
        function = self._enclosing_function(m, name)
        while function is not None:
            values = _assigned(function, name.id)
            if values:
                return all(self.constant(m, v) for v in values)
            if name.id in _parameters(function):
                return self._parameter_constant(m, function, name.id)
            function = self._enclosing_function(m, function)
        values = _assigned(m.tree, name.id, top_level=True)
        if values:
            return all(self.constant(m, v) for v in values)
        source = _imported_from(m.tree, name.id)
        if source is not None:
            module, original = source
            return self._name_constant(self.module(module), ast.Name(id=original))
        return False

    def _parameter_constant(self, m: _Module, function, parameter: str) -> bool:
        """Every call of the function within its module passes a constant for it."""
        args = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        index = args.index(parameter) if parameter in args else None
        calls = [n for n in ast.walk(m.tree) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name) and n.func.id == function.name]
        if not calls:
            return False
        for call in calls:
            given = next((k.value for k in call.keywords if k.arg == parameter), None)
            if given is None and index is not None and index < len(call.args):
                given = call.args[index]
            if given is None and not _has_default(function, parameter):
                return False
            if given is not None and not self.constant(m, given):
                return False
        return True

    def _returns_constant(self, m: _Module, call: ast.Call, index: int | None) -> bool:
        """A call of a function of this module every `return` of which gives a constant (or a
        tuple whose element `index` is constant)."""
        if not isinstance(call.func, ast.Name):
            return False
        function = next((n for n in m.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                         and n.name == call.func.id), None)
        if function is None:
            return False
        returns = [n for n in _own_nodes(function) if isinstance(n, ast.Return)]
        if not returns:
            return False
        for r in returns:
            value = r.value
            if index is not None:
                if not isinstance(value, ast.Tuple) or index >= len(value.elts):
                    return False
                value = value.elts[index]
            if value is None or not self.constant(m, value):
                return False
        return True

    def _enclosing_function(self, m: _Module, node: ast.AST):
        node = m.parents.get(node)
        while node is not None and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node = m.parents.get(node)
        return node


def _assigned(scope: ast.AST, name: str, top_level: bool = False) -> list[ast.AST]:
    """The values a name is bound to in this scope (not in nested functions); a binding that is
    not a plain assignment (a loop variable, an unpacked tuple) counts as non-constant."""
    values: list[ast.AST] = []
    body = scope.body if top_level else list(_own_nodes(scope))
    nodes = body if not top_level else [n for stmt in body for n in _own_nodes(stmt, True)]
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    values.append(node.value)
                elif isinstance(target, ast.Tuple) and any(
                        isinstance(t, ast.Name) and t.id == name for t in target.elts):
                    index = next(i for i, t in enumerate(target.elts)
                                 if isinstance(t, ast.Name) and t.id == name)
                    values.append(ast.Subscript(node.value, ast.Constant(index)))
                elif any(isinstance(t, ast.Name) and t.id == name for t in ast.walk(target)):
                    values.append(ast.Name(id="<unpacked>"))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(
                node.target, ast.Name) and node.target.id == name and node.value is not None:
            values.append(node.value if isinstance(node, ast.AnnAssign) else
                          ast.BinOp(ast.Name(id=name), ast.Add(), node.value))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)) and any(
                isinstance(t, ast.Name) and t.id == name for t in ast.walk(node.target)):
            values.append(ast.Name(id="<loop>"))
        elif isinstance(node, ast.NamedExpr) and node.target.id == name:
            values.append(node.value)
    return values


def _own_nodes(scope: ast.AST, include_self: bool = False):
    """Nodes of a scope, not descending into nested functions or classes."""
    stack = [scope] if include_self else list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _parameters(function) -> set[str]:
    a = function.args
    return {p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)} | {
        p.arg for p in (a.vararg, a.kwarg) if p is not None}


def _has_default(function, parameter: str) -> bool:
    a = function.args
    positional = [*a.posonlyargs, *a.args]
    with_default = positional[len(positional) - len(a.defaults):]
    return any(p.arg == parameter for p in with_default) or any(
        p.arg == parameter and d is not None for p, d in zip(a.kwonlyargs, a.kw_defaults))


def _imported_from(tree: ast.Module, name: str) -> tuple[Path, str] | None:
    """The project module a top-level `from x import name` takes it from."""
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    path = ROOT.joinpath(*node.module.split(".")).with_suffix(".py")
                    if path.is_file():
                        return path, alias.name
    return None
