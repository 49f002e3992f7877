"""GET /hr.js: the browser snippet, served by the collector that it talks to."""

from pathlib import Path

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("snippet", __name__)

CACHE_SECONDS = 300  # browsers recheck the snippet every 5 minutes


def default_dir() -> str:
    return str(Path(__file__).resolve().parent.parent / "js-snippet")


@bp.get("/hr.js")
def script():
    response = send_from_directory(
        current_app.config["SNIPPET_DIR"], "hr.js", mimetype="application/javascript", max_age=CACHE_SECONDS
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
