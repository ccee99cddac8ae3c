"""A private PostgreSQL cluster for development and tests.

The server refuses to run as root, so when we are root every server-side command (initdb, pg_ctl)
runs as the ``postgres`` user via ``runuser``; otherwise it runs as the current user. The cluster
listens on 127.0.0.1 only and keeps its unix socket inside its data directory.

Every connection gives a password (SCRAM-SHA-256, on TCP and on the socket alike): any local
process could otherwise log in as the superuser and undo the event store's append-only triggers.
The cluster has three login roles, their passwords generated at initdb and kept in
``<data dir>/rollout-credentials.json`` (mode 0600, readable by its owner only):

- ``postgres``, the superuser: creates the roles and databases (``dsn``, ``dsn_for``);
- ``rollout_owner`` owns the database and runs the migrations (``owner_dsn``);
- ``rollout_app`` is the application: appends to and reads the events, no more (``app_dsn``;
  store/privileges.py says what else it may do once the owner has migrated).

A data directory made before passwords (whose pg_hba trusted local connections) is converted on
its first start: passwords are set, the file written and pg_hba.conf replaced.

    with LocalPostgres(fsync=False) as pg:
        conn = await asyncpg.connect(pg.app_dsn)
"""

from __future__ import annotations

import asyncio
import atexit
import glob
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Coroutine, TypeVar

import asyncpg

from devstack.ports import free_port
from store.roles import APP_ROLE, OWNER_ROLE, ensure_login_role, hand_over_database, set_password

T = TypeVar("T")
SERVER_USER = "postgres"
SUPERUSER = "postgres"
CREDENTIALS = "rollout-credentials.json"
HBA = """# written by devstack.postgres: every connection gives a password; none is trusted
local  all  all                scram-sha-256
host   all  all  127.0.0.1/32  scram-sha-256
"""


class PostgresError(RuntimeError):
    pass


def find_bin_dir() -> Path:
    """The bin directory of the highest PostgreSQL version under /usr/lib/postgresql (Debian
    layout), else the directory holding ``pg_ctl`` on PATH."""

    def version(path: str) -> tuple[int, ...]:
        found = re.search(r"/postgresql/([\d.]+)/bin", path)
        return tuple(int(p) for p in found.group(1).split(".") if p) if found else (0,)

    candidates = [p for p in glob.glob("/usr/lib/postgresql/*/bin") if os.access(os.path.join(p, "initdb"), os.X_OK)]
    if candidates:
        return Path(max(candidates, key=version))
    on_path = shutil.which("pg_ctl")
    if on_path and os.access(os.path.join(os.path.dirname(on_path), "initdb"), os.X_OK):
        return Path(on_path).parent
    raise PostgresError("PostgreSQL server binaries not found (run scripts/bootstrap, which installs the "
                        "Debian 'postgresql' package)")


class LocalPostgres:
    """Start with ``start()`` or as a context manager (``with`` or ``async with``); ``dsn`` is the
    connection string of the created database. A data directory we created is deleted on stop."""

    def __init__(self, data_dir: str | Path | None = None, port: int | None = None, *,
                 database: str = "rollout", fsync: bool = True, start_timeout: float = 60.0) -> None:
        self.bin_dir = find_bin_dir()
        self.temporary = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.port = port
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", database):
            raise ValueError(f"unsupported database name {database!r}")
        self.database = database
        self.fsync = fsync
        self.start_timeout = start_timeout
        self.as_root = os.geteuid() == 0
        self._running = False
        self.passwords: dict[str, str] = {}

    # -- public --------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def dsn(self) -> str:
        """The superuser's DSN of the database: for creating databases and roles, never for
        running the product."""
        return self.dsn_for(self.database)

    @property
    def owner_dsn(self) -> str:
        """The owner's: for migrations."""
        return self.dsn_for(self.database, OWNER_ROLE)

    @property
    def app_dsn(self) -> str:
        """The application's: what workers, the API and the CLI connect with."""
        return self.dsn_for(self.database, APP_ROLE)

    def dsn_for(self, database: str, role: str = SUPERUSER) -> str:
        return f"postgresql://{role}:{self.passwords[role]}@{self.host}:{self.port}/{database}"

    @property
    def credentials_file(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / CREDENTIALS

    @property
    def log_file(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "server.log"

    def start(self) -> "LocalPostgres":
        if self._running:
            return self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        if self.data_dir is None:
            # Under /tmp, not the caller's home: the postgres user must be able to reach it.
            self.data_dir = Path(tempfile.mkdtemp(prefix="rollout-pg-", dir="/tmp"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        if self.as_root:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            self.credentials_file.unlink(missing_ok=True)
            self._initdb()
        trusting = not self.credentials_file.exists()  # initialised before passwords: convert it
        if not trusting:
            self.passwords = json.loads(self.credentials_file.read_text())
            self._write_hba()
        pick_port = self.port is None
        for attempt in range(3):
            if pick_port:
                self.port = free_port()
            self._write_config()
            try:
                self._server(["pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
                              "-t", str(int(self.start_timeout)), "start"], what="start")
                break
            except PostgresError as error:
                # Someone took the free port between our check and the server's bind: try another.
                if not (pick_port and attempt < 2 and "already in use" in str(error)):
                    raise
        self._running = True
        atexit.register(self.stop)
        if trusting:
            self._require_passwords()
        run_sync(self._ensure_roles())
        self._create_database()
        run_sync(self._hand_over())

    def stop(self) -> None:
        if self._running:
            self._running = False
            atexit.unregister(self.stop)
            try:
                self._server(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], what="stop")
            finally:
                if self.temporary and self.data_dir is not None:
                    shutil.rmtree(self.data_dir, ignore_errors=True)
        elif self.temporary and self.data_dir is not None and self.data_dir.exists():
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "LocalPostgres":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> "LocalPostgres":
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # -- internals -----------------------------------------------------------------------------

    def _server(self, argv: list[str], *, what: str) -> subprocess.CompletedProcess[str]:
        """Run a server-side binary as the postgres user when we are root."""
        command = [str(self.bin_dir / argv[0]), *argv[1:]]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, cwd="/tmp", capture_output=True, text=True,
                                env={**os.environ, "LC_ALL": "C", "LANG": "C"})
        if result.returncode != 0:
            log = ""
            if self.data_dir is not None and self.log_file.exists():
                log = "\n--- server.log ---\n" + self.log_file.read_text(errors="replace")[-4000:]
            raise PostgresError(f"PostgreSQL {what} failed ({' '.join(command)}):\n"
                                f"{result.stdout}{result.stderr}{log}")
        return result

    def _initdb(self) -> None:
        passwords = _new_passwords()
        # Outside the data directory, which initdb wants empty; readable by the server's user only.
        fd, pwfile = tempfile.mkstemp(prefix="rollout-pw-", dir="/tmp")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(passwords[SUPERUSER] + "\n")
            self._give_to_server_user(Path(pwfile))
            argv = ["initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=scram-sha-256",
                    f"--pwfile={pwfile}", "-E", "UTF8", "--no-locale"]
            if not self.fsync:
                argv.append("--no-sync")
            self._server(argv, what="initdb")
        finally:
            os.unlink(pwfile)
        self._save_passwords(passwords)

    def _save_passwords(self, passwords: dict[str, str]) -> None:
        fd = os.open(self.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            os.fchmod(out.fileno(), 0o600)
            json.dump(passwords, out)
        self.passwords = passwords

    def _require_passwords(self) -> None:
        """Convert a cluster that trusted local connections: set the superuser's password while
        its old pg_hba.conf still lets us in, keep the passwords, then trust no one."""
        passwords = _new_passwords()

        async def set_superuser_password() -> None:
            conn = await asyncpg.connect(host=self.host, port=self.port, user=SUPERUSER,
                                         database="postgres")
            try:
                await set_password(conn, SUPERUSER, passwords[SUPERUSER])
            finally:
                await conn.close()

        try:
            run_sync(set_superuser_password())
        except asyncpg.InvalidAuthorizationSpecificationError as refused:
            raise PostgresError(f"the cluster under {self.data_dir} asks for passwords but "
                                f"{CREDENTIALS} is gone ({refused}); restore the file, or move the "
                                "directory aside to start afresh") from None
        self._save_passwords(passwords)
        self._write_hba()
        self._server(["pg_ctl", "-D", str(self.data_dir), "reload"], what="reload")

    async def _ensure_roles(self) -> None:
        conn = await asyncpg.connect(self.dsn_for("postgres"))
        try:
            for role in (OWNER_ROLE, APP_ROLE):
                await ensure_login_role(conn, role, self.passwords[role])
        finally:
            await conn.close()

    async def _hand_over(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await hand_over_database(conn, owner=OWNER_ROLE, app=APP_ROLE)
        finally:
            await conn.close()

    def _write_hba(self) -> None:
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(HBA)
        self._give_to_server_user(hba)

    def _give_to_server_user(self, path: Path) -> None:
        if self.as_root:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _write_config(self) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data_dir}'",
            "max_connections": "200",
            "fsync": "on" if self.fsync else "off",
            "synchronous_commit": "on" if self.fsync else "off",
            "full_page_writes": "on" if self.fsync else "off",
        }
        # postgresql.auto.conf is read last and belongs to the server user already.
        conf = self.data_dir / "postgresql.auto.conf"
        text = "# written by devstack.postgres\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
        conf.write_text(text)
        self._give_to_server_user(conf)

    def _create_database(self) -> None:
        created = subprocess.run([str(self.bin_dir / "createdb"), "-h", self.host, "-p", str(self.port),
                                  "-U", SUPERUSER, "-O", OWNER_ROLE, self.database],
                                 capture_output=True, text=True, cwd="/tmp",
                                 env={**os.environ, "PGPASSWORD": self.passwords[SUPERUSER]})
        if created.returncode != 0 and "already exists" not in created.stderr:
            raise PostgresError(f"createdb {self.database} failed: {created.stderr}")


def _new_passwords() -> dict[str, str]:
    return {role: secrets.token_urlsafe(24) for role in (SUPERUSER, OWNER_ROLE, APP_ROLE)}


def run_sync(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from synchronous code, even inside a running event loop."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()
