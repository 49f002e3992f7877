"""The rules editor at /rules: a product owner edits, checks, tries and saves the YAML, and rolls back.

The page is a shell; its script calls /api/rules* with the console's session (handrail/auth.py).
"""

from flask import Blueprint, current_app, redirect, render_template, url_for

bp = Blueprint("rules_page", __name__, template_folder="templates", static_folder="static",
               static_url_path="/rules/static")


@bp.get("/rules")
def editor():
    # The console's sign-in is the one sign-in (handrail.auth.console_actor): send a stranger there.
    if current_app.extensions["console_actor"](current_app.extensions["redis"]) is None:
        return redirect(url_for("console.login"))
    return render_template("rules/editor.html")
