"""Products the order tests buy."""

import pytest

from tests import factories


@pytest.fixture
def tea(app) -> int:
    """Green tea at ¥12.50, 10 in stock; returns its id."""
    with app.app_context():
        return factories.product(name="Green tea", slug="green-tea").id


@pytest.fixture
def nuts(app) -> int:
    """Walnuts at ¥30.00, 3 in stock."""
    with app.app_context():
        return factories.product(name="Walnuts", slug="walnuts", price=3000, stock=3).id
