"""Reaching a Temporal cluster or Temporal Cloud is configuration only, and the health check
tells whether a process's database and Temporal answer."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from runtime.settings import load_settings
from runtime.temporal import connection_options


def test_the_dev_server_needs_no_tls():
    assert connection_options(load_settings({})) == {}


def test_an_api_key_means_temporal_cloud_over_tls():
    options = connection_options(load_settings({"ROLLOUT_TEMPORAL_API_KEY": "key-123"}))
    assert options["api_key"] == "key-123"
    assert options["tls"].client_cert is None and options["tls"].server_root_ca_cert is None


def test_mtls_reads_the_certificate_files(tmp_path):
    files = {}
    for name in ("ca", "cert", "key"):
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_bytes(f"-----BEGIN {name}-----".encode())
    options = connection_options(load_settings({
        "ROLLOUT_TEMPORAL_TLS": "true", "ROLLOUT_TEMPORAL_TLS_CA": str(files["ca"]),
        "ROLLOUT_TEMPORAL_TLS_CERT": str(files["cert"]), "ROLLOUT_TEMPORAL_TLS_KEY": str(files["key"])}))
    tls = options["tls"]
    assert (tls.server_root_ca_cert, tls.client_cert, tls.client_private_key) == (
        b"-----BEGIN ca-----", b"-----BEGIN cert-----", b"-----BEGIN key-----")
    assert "api_key" not in options


def test_a_missing_certificate_file_is_named(tmp_path):
    settings = load_settings({"ROLLOUT_TEMPORAL_TLS": "true",
                              "ROLLOUT_TEMPORAL_TLS_CA": str(tmp_path / "nope.pem")})
    with pytest.raises(ValueError, match=f"cannot read {tmp_path / 'nope.pem'}: No such file"):
        connection_options(settings)


def test_a_client_certificate_needs_its_key():
    with pytest.raises(ValidationError, match="TLS_CERT and ROLLOUT_TEMPORAL_TLS_KEY go together"):
        load_settings({"ROLLOUT_TEMPORAL_TLS_CERT": "/etc/cert.pem"})


def test_printed_settings_hide_the_api_key_and_the_database_password():
    shown = repr(load_settings({"ROLLOUT_TEMPORAL_API_KEY": "key-123",
                                "ROLLOUT_DATABASE_URL": "postgresql://app:s3cret@db/rollout"}))
    assert "key-123" not in shown and "s3cret" not in shown
    assert "postgresql://app:***@db/rollout" in shown


def health(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runtime.health"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})


@pytest.mark.postgres
def test_the_health_check_answers_for_database_and_temporal(postgres, temporal_dev):
    ok = health({"ROLLOUT_DATABASE_URL": postgres, "ROLLOUT_TEMPORAL_ADDRESS": temporal_dev.address})
    assert (ok.returncode, ok.stdout.strip()) == (0, "ok"), ok.stderr
    down = health({"ROLLOUT_DATABASE_URL": postgres, "ROLLOUT_TEMPORAL_ADDRESS": "127.0.0.1:9"})
    assert down.returncode == 1
    assert down.stderr.strip().startswith("Temporal unreachable at 127.0.0.1:9")
