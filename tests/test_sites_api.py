"""POST /api/sites (tracker/api.py): a site and its write key."""

import json

from tracker import stream


def test_created_site_write_key_works_on_the_collector(client, admin, redis):
    """The write key POST /api/sites returns is accepted by /v1/batch at once."""
    response = client.post("/api/sites", json={"name": "My shop", "origins": ["https://shop.example"]}, headers=admin)
    assert response.status_code == 201
    site = response.json
    assert site["name"] == "My shop" and site["origins"] == ["https://shop.example"]
    assert site["write_key"].startswith("wk_")
    body = {"writeKey": site["write_key"], "batch": [{"type": "page", "anonymousId": "a", "name": "Home"}]}
    accepted = client.post("/v1/batch", data=json.dumps(body), content_type="text/plain")
    assert accepted.status_code == 200
    assert sum(redis.xlen(key) for key in stream.all_keys(4)) == 1


def test_origins_may_be_left_out(client, admin):
    """A site with only a name is created with no origins."""
    response = client.post("/api/sites", json={"name": "Bare"}, headers=admin)
    assert response.status_code == 201 and response.json["origins"] == []


def test_each_site_gets_its_own_write_key(client, admin):
    """Two sites never share a write key."""
    first = client.post("/api/sites", json={"name": "A"}, headers=admin).json
    second = client.post("/api/sites", json={"name": "B"}, headers=admin).json
    assert first["write_key"] != second["write_key"] and first["id"] != second["id"]


def test_without_bearer_token_is_401(client):
    """No admin token: 401 with a JSON error saying which header is needed."""
    response = client.post("/api/sites", json={"name": "My shop"})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json["error"]


def test_wrong_bearer_token_is_401(client):
    """A wrong admin token is refused like a missing one."""
    response = client.post("/api/sites", json={"name": "My shop"}, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_missing_name_is_400_naming_the_field(client, admin):
    """A body without a name is refused with a 400 that names 'name'."""
    response = client.post("/api/sites", json={"origins": []}, headers=admin)
    assert response.status_code == 400
    assert response.json["error"].startswith("name:")


def test_bad_origin_url_is_400_naming_its_place(client, admin):
    """An origin that is not an http(s) URL is refused with its position in the list."""
    response = client.post("/api/sites", json={"name": "Shop", "origins": ["https://ok.example", "shop dot com"]},
                           headers=admin)
    assert response.status_code == 400
    assert "origins[1]" in response.json["error"] and "URL" in response.json["error"]


def test_body_that_is_not_a_json_object_is_400_with_an_example(client, admin):
    """A non-JSON body is refused with an example of a valid one."""
    response = client.post("/api/sites", data="name=Shop", content_type="text/plain", headers=admin)
    assert response.status_code == 400
    assert '"name"' in response.json["error"] and '"origins"' in response.json["error"]
