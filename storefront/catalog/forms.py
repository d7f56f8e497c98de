"""Operator forms for products, photos and categories."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from storefront.catalog.services import ProductData
from storefront.forms import MoneyField, PercentField, WholeNumberField

MAX_STOCK = 1_000_000


def stock_field():
    return WholeNumberField(
        _l("Stock"),
        validators=[
            InputRequired(_l("Enter how many are in stock.")),
            NumberRange(0, MAX_STOCK, _l("Enter a whole number from 0 to 1,000,000.")),
        ],
    )


def price_field():
    return MoneyField(_l("Price"), validators=[InputRequired(_l("Enter a price."))])


class ProductForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    slug = StringField(
        _l("Web address"),
        default="",
        validators=[Optional(), Length(max=60)],
        description=_l(
            "Lower-case letters, digits and hyphens. "
            "Leave empty to make one from the name."
        ),
    )
    description = TextAreaField(
        _l("Description"), default="", validators=[Length(max=5000)]
    )
    price = price_field()
    compare_at_price = MoneyField(
        _l("Original price"),
        description=_l(
            "Optional. Shown struck through; must be higher than the price."
        ),
    )
    stock = stock_field()
    category_id = SelectField(_l("Category"), coerce=int, validate_choice=True)
    active = BooleanField(_l("On sale"), default=True)
    commission_bp = PercentField(
        _l("Commission %"),
        description=_l("Optional. Empty uses the default rate."),
    )

    def validate_compare_at_price(self, field):
        price = self.price.data
        if field.data is not None and price is not None and field.data <= price:
            raise ValidationError(
                _l("The original price must be higher than the price.")
            )

    def product_data(self) -> ProductData:
        return ProductData(
            name=self.name.data.strip(),
            description=self.description.data.strip(),
            price=self.price.data,
            compare_at_price=self.compare_at_price.data,
            stock=self.stock.data,
            category_id=self.category_id.data or None,
            active=self.active.data,
            commission_bp=self.commission_bp.data,
        )


class QuickEditForm(FlaskForm):
    """Price and stock edited in place in the product list."""

    price = price_field()
    stock = stock_field()


class ImageForm(FlaskForm):
    image = FileField(_l("Photo"), validators=[FileRequired(_l("Choose a photo."))])


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    slug = StringField(
        _l("Web address"), default="", validators=[Optional(), Length(max=60)]
    )


class RenameCategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
