"""Sign-in, sign-out and password pages, including abuse and bad input."""

from storefront.accounts.models import User
from storefront.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD


def test_operator_signs_in_to_the_back_office(client, operator):
    response = login(client, "op@example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/products").status_code == 200


def test_seller_signs_in_to_their_back_office(client, seller):
    response = login(client, "seller@example.com")
    assert response.headers["Location"] == "/me"


def test_wrong_password_is_refused_without_saying_which_part(client, operator):
    response = login(client, "op@example.com", "wrong password")
    assert response.status_code == 422
    assert "Wrong email or password." in response.get_data(as_text=True)
    response = login(client, "nobody@example.com")
    assert response.status_code == 422
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_empty_login_form_gets_field_errors(client):
    response = client.post("/login", data={})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


def test_next_goes_back_to_the_page_but_never_off_site(client, operator):
    page = client.post(
        "/login?next=/admin/categories",
        data={"login": "op@example.com", "password": PASSWORD},
    )
    assert page.headers["Location"] == "/admin/categories"
    client.post("/logout")
    for target in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        response = client.post(
            f"/login?next={target}",
            data={"login": "op@example.com", "password": PASSWORD},
        )
        assert response.headers["Location"] == "/admin/", target
        client.post("/logout")


def test_login_is_rate_limited(client, operator):
    statuses = [login(client, "op@example.com", "guess").status_code for _ in range(11)]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    response = login(client, "op@example.com")  # even the right password waits
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_logout_ends_every_session_of_the_user(app, operator):
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "op@example.com")
    login(laptop, "op@example.com")
    stolen_cookie = phone.get_cookie("session").value
    assert laptop.get("/admin/products").status_code == 200

    assert phone.post("/logout").status_code == 302
    assert phone.get("/admin/products").status_code == 302  # to the login page
    assert laptop.get("/admin/products").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen_cookie)
    assert replay.get("/admin/products").status_code == 302


def test_logout_needs_a_post(as_operator):
    assert as_operator.get("/logout").status_code == 405


def test_password_change_signs_out_other_devices_only(app, operator):
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "op@example.com")
    login(laptop, "op@example.com")
    response = phone.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "a new password",
            "confirm": "a new password",
        },
    )
    assert response.status_code == 302
    assert phone.get("/admin/products").status_code == 200
    assert laptop.get("/admin/products").status_code == 302
    assert login(laptop, "op@example.com", "a new password").status_code == 302


def test_password_change_bad_input(as_operator, app):
    with app.app_context():
        before = db.session.scalar(db.select(User.password_hash))
    cases = [
        (
            {"current": "wrong one!", "new": "new password", "confirm": "new password"},
            "current password is incorrect",
        ),
        ({"current": PASSWORD, "new": "short", "confirm": "short"}, "at least 8"),
        (
            {"current": PASSWORD, "new": "qwertyuiop", "confirm": "qwertyuiop"},
            "most common passwords",
        ),
        (
            {"current": PASSWORD, "new": "new password", "confirm": "other password"},
            "passwords do not match",
        ),
    ]
    for data, message in cases:
        response = as_operator.post("/account/password", data=data)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(User.password_hash)) == before


def test_create_operator_command(runner, app):
    result = runner.invoke(
        args=[
            "create-operator",
            "--email",
            "Boss@Example.com",
            "--name",
            "Boss",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "boss@example.com" in result.output
    again = runner.invoke(
        args=[
            "create-operator",
            "--email",
            "boss@example.com",
            "--name",
            "B",
            "--password",
            PASSWORD,
        ]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    weak = runner.invoke(
        args=[
            "create-operator",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--password",
            "short",
        ]
    )
    assert weak.exit_code != 0 and "at least 8" in weak.output
    with app.app_context():
        users = db.session.scalars(db.select(User)).all()
    assert [(u.email, u.is_operator) for u in users] == [("boss@example.com", True)]
