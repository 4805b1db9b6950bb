from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from docrelay import metrics


def _families(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        families[family.name] = [(sample.labels, sample.value) for sample in family.samples]
    return families


def test_metrics_parse_and_include_queue_gauges(app_client: TestClient) -> None:
    families = _families(app_client)
    assert families["docrelay_queue_depth"] == [({}, 0.0)]
    assert families["docrelay_oldest_due_delivery_age_seconds"] == [({}, 0.0)]


def test_attempt_counter_is_exported(app_client: TestClient) -> None:
    metrics.observe_attempt("webhook", "delivered", 0.02)
    families = _families(app_client)
    samples = families["docrelay_delivery_attempts"]
    assert any(
        labels.get("kind") == "webhook" and labels.get("outcome") == "delivered" and value >= 1
        for labels, value in samples
    )
    assert "docrelay_delivery_attempt_duration_seconds" in families


def test_readyz_reports_database_and_migrations(app_client: TestClient) -> None:
    response = app_client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"
