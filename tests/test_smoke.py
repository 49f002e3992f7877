def test_healthz_answers_once_redis_is_up(client):
    """GET /healthz is open and says ok when Redis answers."""
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"ok": True}
