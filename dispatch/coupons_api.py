"""The coupons Handrail issued, for the shop's checkout: is this code good, and redeem it."""

from flask import Blueprint, abort, current_app, jsonify, request

from dispatch import coupons
from tracker.errors import bad_request

bp = Blueprint("coupons_api", __name__)


@bp.get("/api/coupons/<code>")
def show(code: str):
    found = coupons.show(current_app.extensions["redis"], code)
    if found is None:
        abort(404, f"No coupon {code[:64]!r}: Handrail did not issue it.")
    return jsonify(found)


@bp.post("/api/coupons/<code>/redeem")
def redeem(code: str):
    """Body: {"by": the shopper's anonymous or user id, "order_id": optional}. 409 when used by someone else
    or expired."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("by"), str) or not body["by"].strip():
        return bad_request(400, "by: give the id of the shopper redeeming the coupon, like {\"by\": \"user-42\"}")
    order_id = body.get("order_id")
    if order_id is not None and not isinstance(order_id, str):
        return bad_request(400, "order_id: must be text")
    redis = current_app.extensions["redis"]
    answer = coupons.redeem(redis, code, body["by"], order_id)
    if answer == coupons.UNKNOWN:
        abort(404, f"No coupon {code[:64]!r}: Handrail did not issue it.")
    found = coupons.show(redis, code)
    return jsonify(dict(found, redeemed=answer == coupons.OK)), 200 if answer == coupons.OK else 409
