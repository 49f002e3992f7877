"""The demo shop: a few products, a cart in the browser, a checkout whose test card is declined.

Nothing is stored on the server: the cart lives in the visitor's localStorage and the payment is
decided in the page (demo/static/shop.js), which reports each step to Handrail through the snippet.
"""
import re

from flask import Blueprint, abort, current_app, render_template

bp = Blueprint("shop", __name__, url_prefix="/shop", template_folder="templates", static_folder="static")

PRODUCTS = [
    {"product_id": "1001", "sku": "espresso-machine", "name": "Espresso machine", "price": 349.00,
     "blurb": "Dual boiler, 58 mm portafilter, ready in four minutes."},
    {"product_id": "1002", "sku": "grinder", "name": "Burr grinder", "price": 189.00,
     "blurb": "Flat steel burrs, stepless adjustment from espresso to filter."},
    {"product_id": "1003", "sku": "beans-1kg", "name": "House beans, 1 kg", "price": 24.50,
     "blurb": "Brazil and Ethiopia, roasted every Tuesday. Chocolate, stone fruit."},
    {"product_id": "1004", "sku": "milk-jug", "name": "Milk jug, 350 ml", "price": 19.90,
     "blurb": "Stainless steel with a sharp spout for latte art."},
]
BY_SKU = {p["sku"]: p for p in PRODUCTS}
ORDER_ID = re.compile(r"[A-Za-z0-9-]{1,40}")  # what shop.js generates, with room to spare


def eur(amount):
    return f"€{amount:,.2f}"


@bp.context_processor
def page_settings():
    # Scoped to this blueprint's templates: nothing leaks into the rest of the app.
    return {"write_key": current_app.config.get("DEMO_WRITE_KEY", ""), "eur": eur}


@bp.get("/")
def index():
    return render_template("shop/index.html", products=PRODUCTS)


@bp.get("/product/<sku>")
def product(sku):
    if sku not in BY_SKU:
        abort(404, f"No such product: {sku}")
    return render_template("shop/product.html", product=BY_SKU[sku])


@bp.get("/cart")
def cart():
    return render_template("shop/cart.html")


@bp.get("/checkout/shipping")
def shipping():
    return render_template("shop/shipping.html")


@bp.get("/checkout/payment")
def payment():
    return render_template("shop/payment.html")


@bp.get("/order/<order_id>")
def order(order_id):
    if not ORDER_ID.fullmatch(order_id):
        abort(404, f"No such order: {order_id}")
    return render_template("shop/order.html", order_id=order_id)
