"""The app factory: one Flask app for the collector, inbox, APIs, console and demo shop."""

import redis
from flask import Flask, jsonify, redirect, request
from redis.backoff import NoBackoff
from redis.retry import Retry
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from demo import shop
from dispatch import agents, agents_api
from dispatch import api as tasks_api
from dispatch import chat_api
from dispatch import console, coupons_api, customers_api, dead_letters_api
from handrail import auth, config, replays
from handrail.sessions import ConsoleSessions
from rules import api as rules_api
from rules import do_not_contact_api
from rules import page as rules_page
from reports import page as reports_page
from scorer import api as sessions_api
from scorer import replay_api
from scorer import live
from tracker import api as sites_api
from tracker import collector, errors, inbox, openapi, sites, snippet, sse
from tracker.defaults import REDIS_TIMEOUT

JSON_PREFIXES = ("/v1/", "/api/", "/console/feed")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask("handrail")
    config.load(app, test_config)
    url = app.config["REDIS_URL"]
    # Requests fail fast when Redis is away (a 503 the snippet retries), never hang a worker...
    app.extensions["redis"] = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=1.0, retry=Retry(NoBackoff(), 0),
        health_check_interval=30)
    # The collector's own: a hung Redis (connections taken, nothing answered) is a 503 within REDIS_TIMEOUT,
    # which the snippet retries; a write that was applied after all is dropped then as a repeated messageId.
    app.extensions["redis_collector"] = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT, retry=Retry(NoBackoff(), 0),
        health_check_interval=30)
    # ...while the server-sent event streams wait on blocking reads of several seconds.
    # (redis-py 8 reads with a 5 s timeout by default: as long as one blocking read, so give it more.)
    app.extensions["redis_streaming"] = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT,
                                                             socket_timeout=sse.BLOCK / 1000 + 10)
    app.extensions["sites"] = sites.Cache()
    app.wsgi_app = collector.Collector(app, app.wsgi_app)  # the collector's POSTs, before Flask: see its docstring
    if app.config["PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXIES"]))
    app.session_interface = ConsoleSessions()
    auth.init_app(app)
    for blueprint in (collector.bp, openapi.bp, inbox.bp, snippet.bp, sites_api.bp, sessions_api.bp, rules_api.bp,
                      tasks_api.bp, agents_api.bp, do_not_contact_api.bp, console.bp, rules_page.bp, shop.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(replay_api.bp)
    app.config["REPLAY_JOB"] = replays.JOB  # the live rules' replay and the outreach's: scorer/ cannot import dispatch
    app.register_blueprint(dead_letters_api.bp)
    app.register_blueprint(chat_api.bp)
    app.register_blueprint(customers_api.bp)
    app.register_blueprint(coupons_api.bp)
    app.register_blueprint(reports_page.bp)
    app.extensions["agents_on_shift"] = agents.on_shift  # what a replay is set against; scorer/ cannot import dispatch
    app.extensions["live_session_of"] = live.of_user  # a customer's open cart for the lookup; dispatch/ cannot import scorer

    @app.get("/healthz")
    def healthz():
        try:
            app.extensions["redis"].ping()
        except redis.RedisError as error:
            return jsonify(ok=False, error=f"redis: {error}"), 503
        return jsonify(ok=True)

    @app.get("/")
    def home():
        return redirect("/console/")

    @app.errorhandler(HTTPException)
    def _error(error: HTTPException):
        if not request.path.startswith(JSON_PREFIXES):
            return error
        if error.response is not None:  # already a JSON answer (tracker.errors.bad_request)
            return error.response
        message = error.description
        if isinstance(error, RequestEntityTooLarge):
            message = f"body: larger than the limit of {app.config['MAX_CONTENT_LENGTH']} bytes"
        return errors.response(error.code, message)

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def _redis_down(error):
        response = errors.response(503, errors.UNAVAILABLE)
        response.headers["Retry-After"] = "5"
        return response

    return app
