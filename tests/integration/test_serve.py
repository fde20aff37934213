"""The real server: ``safestats serve`` (gunicorn + WhiteNoise) and ``safestats demo``."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SAFESTATS, free_port, run_safestats, safestats_env, try_safestats
from tests.unit.test_settings import PRODUCTION

pytestmark = pytest.mark.slow


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(
            urllib.request.Request(url, headers=headers or {}), timeout=10
        ) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_until_up(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"server exited {process.returncode}:\n{out}\n{err}")
        try:
            fetch(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"server did not answer at {url}")


def start(args: list[str], home: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(SAFESTATS), *args],
        env=safestats_env(home, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return out + err


@dataclass(frozen=True)
class Server:
    url: str
    home: Path
    database: str  # the vendor the server's process should be using


@pytest.fixture
def production_server(tmp_path: Path, process_database: dict[str, str]) -> Iterator[Server]:
    home = tmp_path / "prod"
    env = {
        **PRODUCTION,
        **process_database,
        "SAFESTATS_ALLOWED_HOSTS": "127.0.0.1",
        "SAFESTATS_BEHIND_PROXY": "true",
    }
    run_safestats(home, "migrate", "--no-input", **env)
    port = free_port()
    process = start(["serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"], home, **env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/healthz", process)
        yield Server(url=url, home=home, database="postgresql" if process_database else "sqlite")
    finally:
        stop(process)


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = try_safestats(tmp_path / "new", "serve", **PRODUCTION)
    assert result.returncode != 0
    assert "Run `safestats migrate` first" in result.stderr


def test_production_server_answers_health_over_http(production_server: Server) -> None:
    status, _, body = fetch(f"{production_server.url}/healthz")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health["checks"]["database"]["detail"] == f"{production_server.database} answered"


def test_production_server_sends_pages_to_https_with_hsts(production_server: Server) -> None:
    status, headers, _ = fetch(f"{production_server.url}/")
    assert status == 301
    assert headers["Location"].startswith("https://127.0.0.1:")
    # Behind the TLS-terminating proxy the same page is served, with HSTS.
    status, headers, body = fetch(f"{production_server.url}/", {"X-Forwarded-Proto": "https"})
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "upgrade-insecure-requests" in headers["Content-Security-Policy"]
    assert b"Community safety data for London" in body


def test_production_server_serves_hashed_static_files(production_server: Server) -> None:
    # The manifest maps our stylesheet to a content-hashed name served with a long cache.
    manifest = json.loads((production_server.home / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["web/dist/application.css"]
    status, headers, body = fetch(
        f"{production_server.url}/static/{hashed}", {"X-Forwarded-Proto": "https"}
    )
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert "max-age=315360000" in headers["Cache-Control"]
    assert b".govuk-template" in body


def test_demo_serves_the_start_page_and_keeps_its_instance(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    port = free_port()
    process = start(["demo", "--port", str(port)], home)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/healthz", process)
        status, headers, body = fetch(f"{url}/")
        assert status == 200
        assert b"Community safety data for London" in body
        assert b"Demonstration instance" in body
        assert headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in headers  # plain HTTP on localhost
    finally:
        output = stop(process)
    assert f"open http://127.0.0.1:{port}/" in output

    secrets_before = (home / "demo-secrets.json").read_text()
    run_safestats(
        home,
        "createsuperuser",
        "--no-input",
        "--email",
        "kept@example.org",
        "--full_name",
        "Kept",
        SAFESTATS_MODE="demo",
        DJANGO_SUPERUSER_PASSWORD="a long demo passphrase",
    )
    again = run_safestats(home, "demo", "--prepare-only")
    assert "Demo instance ready." in again.stdout
    assert (home / "demo-secrets.json").read_text() == secrets_before
    shown = run_safestats(
        home,
        "shell",
        "-c",
        "from safestats.accounts.models import User; "
        "print(User.objects.filter(email='kept@example.org').count(), User.objects.count())",
        SAFESTATS_MODE="demo",
    )
    # The account made between the runs is kept, and the demo accounts are not re-created.
    assert shown.stdout.strip().splitlines()[-1] == "1 5"


def test_demo_refuses_to_run_in_production_mode(tmp_path: Path) -> None:
    result = try_safestats(tmp_path, "demo", "--prepare-only", **PRODUCTION)
    assert result.returncode != 0
    assert "runs only in demo mode" in result.stderr
