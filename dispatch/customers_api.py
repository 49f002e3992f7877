"""GET /api/customers/lookup: what a contact centre's phone system asks when a known number rings (the
screen pop for inbound calls), and the console's customer search."""

from flask import Blueprint, abort, current_app, g, jsonify, request

from dispatch import contacts, customers
from tracker import sites as shop_sites
from tracker.errors import bad_request

bp = Blueprint("customers_api", __name__)


@bp.get("/api/customers/lookup")
def lookup():
    given = [kind for kind in customers.LOOKUP_KINDS if request.args.get(kind)]
    if len(given) != 1:
        return bad_request(400, "give exactly one of phone, email or user_id, like ?phone=%2B44%2020%207946%200958")
    kind = given[0]
    redis = current_app.extensions["redis"]
    sites = _sites(redis)
    try:
        found = customers.find(redis, sites, kind, request.args[kind][:200], current_app.config["PHONE_REGION"])
    except contacts.BadContact as error:
        return bad_request(400, f"{kind}: {error}")
    if not found:
        abort(404, f"No customer with {kind} {request.args[kind][:200]!r}.")
    live = current_app.extensions["live_session_of"]
    return jsonify(customers=[customers.profile(redis, site, user_id, live(redis, site, user_id))
                              for site, user_id in found])


def _sites(redis) -> list[str]:
    """The shops the caller may see: a site-limited agent's own, else every shop."""
    allowed = g.get("sites")
    if allowed is not None:
        return sorted(allowed)
    return [site["id"] for site in shop_sites.listing(redis)]
