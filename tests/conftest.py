"""Fixtures: one real embedded Redis per test session, flushed around every test; app, client, runner."""

import pytest
import redis as redis_lib
from click.testing import CliRunner
from werkzeug.serving import make_server

from handrail.app import create_app
from handrail.embedded_redis import EmbeddedRedis
from tests.servers import serving

ADMIN_TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server):
    connection = redis_lib.Redis.from_url(redis_server.url)
    connection.flushall()
    yield connection
    connection.flushall()
    connection.close()


@pytest.fixture
def app(redis, redis_server):
    app = create_app({"REDIS_URL": redis_server.url, "ADMIN_TOKEN": ADMIN_TOKEN, "TESTING": True})
    yield app
    app.extensions["redis"].close()
    app.extensions["redis_streaming"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin():
    """Headers of an admin API call."""
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a loopback port, for clients that speak HTTP themselves."""
    with serving(make_server("127.0.0.1", 0, app, threaded=True)) as server:
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def site(redis):
    from tracker import sites

    return sites.create(redis, "Test shop", ["http://shop.test"])


from tests.browser import browser  # noqa: E402,F401  (a fixture: real Chromium)
