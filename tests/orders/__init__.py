"""Cart, checkout and order pages: shared helpers for the tests here."""

from sqlalchemy import func, select

from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders.models import Order
from tests.conftest import EN, PHONE_UA  # noqa: F401

CUSTOMER = {
    "name": "Wang Fang",
    "phone": "139 1234 5678",
    "address": "Room 301, 8 Garden Road, Xuhui, Shanghai",
    "note": "",
    "payment_method": "transfer",
}
KEY = "k3y-for-this-checkout-form-0001"


def add(client, product_id: int, quantity: int | str = 1, headers=None):
    return client.post(
        "/cart/add",
        data={"product_id": product_id, "quantity": quantity},
        headers=headers or EN,
    )


def checkout(client, key: str = KEY, headers=None, **changes):
    data = {**CUSTOMER, "checkout_key": key, **changes}
    return client.post("/checkout", data=data, headers={**EN, **(headers or {})})


def cart_of(client) -> dict | None:
    with client.session_transaction() as session:
        return session.get("cart")


def orders(app) -> list[Order]:
    with app.app_context():
        statement = select(Order).order_by(Order.id)
        found = db.session.scalars(statement).all()
        for order in found:
            order.lines  # noqa: B018  (loaded before the session closes)
        db.session.expunge_all()
        return list(found)


def order_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Order.id)))


def stock(app, product_id: int) -> int:
    with app.app_context():
        return db.session.get(Product, product_id).stock


def change(app, product_id: int, **fields) -> None:
    with app.app_context():
        product = db.session.get(Product, product_id)
        for name, value in fields.items():
            setattr(product, name, value)
        db.session.commit()
