"""The house rules (one home for each idea), checked over the source tree with `ast`.

(a) Only cli/ imports `cli`: the command line is an edge, nothing is built on it.
(b) Only devstack/ itself, tests/ and benchmarks/ import `devstack`: it launches local servers, and
    the CLI reaches it through the `rollout.local_machine` entry point, so a deployed worker or API
    never loads it.
(c) SQL text lives only under store/, so every query of the product has one home beside the
    tables it reads (a bare `SELECT 1` or an advisory lock included).

Every .py file outside tests/, .venv/, .git/ and var/ is read. Each rule has a self-test that
writes a module breaking it into a temporary tree, so a checker that finds nothing cannot pass
unnoticed (as tests/security/test_sql_parameters.py does for the SQL parameters).
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = {"tests", ".venv", ".git", "var"}
DEVSTACK_USERS = {"devstack", "tests", "benchmarks"}
SQL_ALLOWED = {"store"}
SQL = re.compile(r"\bSELECT\s+(1\b|pg_\w+\()|\bSELECT\b.*?\bFROM\s+[\w(\"{]|\bINSERT\s+INTO\s|\bUPDATE\s+[\w.\"]+\s+SET\s"
                 r"|\bDELETE\s+FROM\s|\b(CREATE|ALTER|DROP)\s+TABLE\s", re.IGNORECASE | re.DOTALL)
"""The statement shapes; keywords in any case. Documentation strings are not looked at, so prose
that happens to say "select ... from" does not count."""


def sources(root: Path) -> list[tuple[Path, ast.Module]]:
    return [(path.relative_to(root), ast.parse(path.read_text(), filename=str(path)))
            for path in sorted(root.rglob("*.py"))
            if path.relative_to(root).parts[0] not in NOT_SOURCE]


def imported(path: Path, tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) for every import, relative ones resolved against the file's package, and
    for `importlib.import_module` / `__import__` of a constant name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            package = list(path.parent.parts)[:len(path.parent.parts) - node.level + 1] \
                if node.level else []
            if node.module:
                found.append((node.lineno, ".".join([*package, node.module])))
            else:
                found += [(node.lineno, ".".join([*package, alias.name])) for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__")):
            found.append((node.lineno, node.args[0].value))
    return found


def import_findings(root: Path, package: str, allowed: set[str]) -> list[str]:
    """Imports of `package` from files outside the top-level folders `allowed`."""
    return [f"{path}:{line}: imports {module}"
            for path, tree in sources(root) if path.parts[0] not in allowed
            for line, module in imported(path, tree) if module.split(".")[0] == package]


def strings(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, text) of each string in the code that is not documentation: literals, f-strings
    (with `{}` where a value goes), and `+` joins of them. Adjacent literals are one node already;
    a string standing alone as a statement is a docstring (of a module, class, function or an
    attribute) and is skipped."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def text(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = text(node.left), text(node.right)
            return None if left is None or right is None else left + right
        return None

    found = []
    for node in ast.walk(tree):
        parent = parents.get(node)
        if (isinstance(parent, (ast.JoinedStr, ast.FormattedValue, ast.Expr))
                or (isinstance(parent, ast.BinOp) and text(parent) is not None)):
            continue  # a part of a larger string, or documentation
        value = text(node)
        if value is not None:
            found.append((node.lineno, value))
    return sorted(found)


def sql_strings(root: Path) -> list[tuple[Path, int, str]]:
    return [(path, line, value) for path, tree in sources(root)
            for line, value in strings(tree) if SQL.search(value)]


def sql_findings(root: Path) -> list[str]:
    return [f"{path}:{line}: SQL outside store/: {' '.join(value.split())[:80]!r}"
            for path, line, value in sql_strings(root) if path.parts[0] not in SQL_ALLOWED]


# --- the rules over this tree ------------------------------------------------------------------

def test_only_cli_imports_cli():
    found = import_findings(ROOT, "cli", {"cli"})
    assert not found, "cli/ is an edge; these modules import it:\n" + "\n".join(found)


def test_only_devstack_tests_and_benchmarks_import_devstack():
    found = import_findings(ROOT, "devstack", DEVSTACK_USERS)
    assert not found, ("devstack/ is for local machines (the CLI reaches it through the "
                       "rollout.local_machine entry point); these modules import it:\n"
                       + "\n".join(found))


def test_sql_lives_only_under_store():
    in_store = [found for found in sql_strings(ROOT) if found[0].parts[0] == "store"]
    assert len(in_store) >= 80, "the check no longer sees the store's own statements"
    found = sql_findings(ROOT)
    assert not found, "SQL belongs in a module under store/:\n" + "\n".join(found)


# --- the checks can fail -------------------------------------------------------------------------

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(source))
    return tmp_path


def test_the_cli_check_finds_an_import_of_cli(tmp_path):
    root = _tree(tmp_path, {
        "cli/database.py": "from cli import output\n",
        "api/routes/x.py": "import json\n\nfrom cli.database import with_pool\n",
        "api/pages/y.py": "from ...cli import database\n",
        "rollouts/z.py": "import importlib\n\nimportlib.import_module('cli.database')\n",
    })
    assert import_findings(root, "cli", {"cli"}) == [
        "api/pages/y.py:1: imports cli", "api/routes/x.py:3: imports cli.database",
        "rollouts/z.py:3: imports cli.database"]


def test_the_devstack_check_finds_an_import_of_devstack(tmp_path):
    root = _tree(tmp_path, {
        "devstack/machine.py": "from devstack.postgres import LocalPostgres\n",
        "benchmarks/bare.py": "from devstack.temporal import LocalTemporal\n",
        "runtime/worker.py": "def start():\n    import devstack.postgres\n",
        "worker.py": "from devstack import machine\n",
    })
    assert import_findings(root, "devstack", DEVSTACK_USERS) == [
        "runtime/worker.py:2: imports devstack.postgres", "worker.py:1: imports devstack"]


def test_the_sql_check_finds_sql_outside_the_store(tmp_path):
    root = _tree(tmp_path, {
        "store/reads.py": 'SITES = "SELECT site_id FROM sites WHERE initiative_id = $1"\n',
        "devstack/postgres.py": 'EXISTS = "select 1 from pg_database where datname = $1"\n',
        "report/split.py": '''\
            """Select the sites from a cohort, and update the board set for it (prose)."""

            COUNT = ("SELECT count(*) "
                     "FROM events")
            ''',
        "rollouts/fstring.py": '''\
            def query(columns):
                """Rows to insert into the table."""
                return f"select {columns} from tasks WHERE kind = $1"
            ''',
        "api/joined.py": 'SQL = "DELETE " + "FROM tasks WHERE task_id = $1"\n',
        "simulation/write.py": '''\
            WRITE = "INSERT INTO outbox (id) VALUES ($1)"
            """Attribute docstring: UPDATE sites SET is prose here."""
            MOVE = """
                UPDATE sites SET stage = $2 WHERE stream_id = $1"""
            SCHEMA = "create table scratch (id int)"
            ''',
    })
    assert [f.split(": SQL")[0] for f in sql_findings(root)] == [
        "api/joined.py:1", "devstack/postgres.py:1", "report/split.py:3", "rollouts/fstring.py:3", "simulation/write.py:1",
        "simulation/write.py:3", "simulation/write.py:5"]
