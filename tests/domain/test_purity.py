import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_domain_pulls_in_no_io_library():
    """The acceptance check, verbatim, over every domain module."""
    modules = [p.stem for p in (ROOT / "domain").glob("*.py") if p.stem != "__init__"]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module('domain.' + m)\n"
            "bad = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'temporalio', 'asyncpg', 'socket_io', 'httpx', 'requests', 'fastapi', 'sqlite3'})\n"
            "assert not bad, bad\n"
            "import domain; assert not any(m.split('.')[0] in ('temporalio','asyncpg') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
