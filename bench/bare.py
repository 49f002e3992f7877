"""The baseline: a bare Flask app with the collector's routes that read the body and answer success.

Served by the same gunicorn settings as the collector, it measures what Flask and gunicorn cost on
this machine, so the collector's figures can be read against it.
"""

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask("bare")

    @app.post("/v1/track")
    def track():
        request.get_data(cache=False)
        return jsonify(success=True)

    @app.post("/v1/batch")
    def batch():
        request.get_data(cache=False)
        return jsonify(success=True)

    @app.get("/healthz")
    def healthz():
        return jsonify(ok=True)

    return app
