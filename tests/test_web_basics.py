"""Health, readiness and problem bodies."""

from sqlalchemy import text

from connector.db import make_engine
from connector.web.app import create_app


def test_healthz_answers_while_the_process_lives(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ready_when_the_schema_is_at_head(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"


def test_readyz_is_503_before_migrations(settings, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    app = create_app(settings, engine=engine)
    response = app.test_client().get("/readyz")
    engine.dispose()
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert "backorder db upgrade" in response.json["detail"]


def test_readyz_is_503_when_the_database_is_unreachable(settings):
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    app = create_app(settings, engine=engine)
    response = app.test_client().get("/readyz")
    engine.dispose()
    assert response.status_code == 503
    assert response.json["detail"] == "the database is not reachable"


def test_an_unknown_route_gets_a_problem_body(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert set(response.json) >= {"type", "title", "status", "detail"}
    assert response.json["status"] == 404


def test_a_wrong_method_gets_a_problem_body_and_allow_header(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json["title"] == "Method Not Allowed"
    assert "GET" in response.headers["Allow"]


def test_trailing_slash_is_served_not_redirected(client):
    assert client.get("/healthz/").status_code == 200


def test_every_response_carries_a_request_id(client):
    given = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert given.headers["X-Request-Id"] == "abc-123"
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 32


def test_the_database_is_untouched_by_health_checks(client, engine):
    client.get("/readyz")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM merchants")).scalar() == 0
