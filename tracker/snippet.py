"""GET /hr.js and /hr-widget.js: the browser snippet and its chat widget, served by the collector that
they talk to. Both are built files (js-snippet/dist, committed), so the service needs no Node."""

from pathlib import Path

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("snippet", __name__)

CACHE_SECONDS = 300  # browsers recheck the snippet every 5 minutes
CORE = "hr.min.js"  # the snippet a site embeds
WIDGET = "widget.min.js"  # an ES module hr.js imports when an invitation arrives


def default_dir() -> str:
    return str(Path(__file__).resolve().parent.parent / "js-snippet" / "dist")


def _serve(name: str):
    response = send_from_directory(
        current_app.config["SNIPPET_DIR"], name, mimetype="text/javascript", max_age=CACHE_SECONDS
    )
    # Any page may load them; the widget is imported as a module, which needs CORS.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/hr.js")
def script():
    return _serve(CORE)


@bp.get("/hr-widget.js")
def widget():
    return _serve(WIDGET)
