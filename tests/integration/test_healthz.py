"""/healthz: JSON saying whether the database and the data store are reachable."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.test import Client


@pytest.mark.django_db
def test_healthy_instance_answers_200_json(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["data_store"]["status"] == "ok"


@pytest.mark.django_db
def test_missing_data_store_answers_503(client: Client, settings, tmp_path: Path) -> None:
    settings.SAFESTATS_DATA_DIR = tmp_path / "gone"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["data_store"] == {
        "status": "failed",
        "detail": "the data store folder does not exist",
    }
    assert body["checks"]["database"]["status"] == "ok"
    assert str(tmp_path) not in response.content.decode()  # no paths leak


@pytest.mark.django_db
def test_data_store_that_is_a_file_answers_503(client: Client, settings, tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    settings.SAFESTATS_DATA_DIR = blocker
    assert client.get("/healthz").status_code == 503


@pytest.mark.django_db
def test_unreachable_database_answers_503(client: Client, monkeypatch) -> None:
    # The database server is outside our system: make its driver fail as a dead server would.
    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == {
        "status": "failed",
        "detail": "cannot query the database (OperationalError)",
    }
    assert "connection refused" not in response.content.decode()
