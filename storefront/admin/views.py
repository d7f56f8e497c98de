"""Operator back office: products, photos, categories. Operators only."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from storefront.admin import bp
from storefront.catalog import services as catalog
from storefront.catalog.forms import (
    CategoryForm,
    ImageForm,
    ProductForm,
    QuickEditForm,
    RenameCategoryForm,
)
from storefront.catalog.models import Category, Product, ProductImage
from storefront.database import MAX_ID
from storefront.errors import DomainError
from storefront.extensions import db, login_manager
from storefront.htmx import is_partial, render

ADMIN_PAGE_SIZE = 30
#: Status filter of the product list: query value → ``active`` value.
STATUS_FILTERS = {"": None, "on": True, "off": False}


@bp.before_request
def operators_only():
    """Anonymous visitors are sent to sign in; signed-in non-operators get a 403."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_operator:
        abort(403)


def category_choices(form) -> None:
    form.category_id.choices = [(0, _("No category"))] + [
        (c.id, c.name) for c in catalog.categories()
    ]


@bp.get("/products")
def products():
    """Products with search-as-you-type (``q``), category (``c``) and status
    (``s``: on/off) filters; htmx requests get only the result list."""
    status = request.args.get("s", "")
    if status not in STATUS_FILTERS:
        abort(400)
    category_id = request.args.get("c", type=int)
    if category_id is not None and not 0 < category_id <= MAX_ID:
        abort(400)
    page = db.paginate(
        catalog.product_search(
            request.args.get("q", ""), category_id, STATUS_FILTERS[status]
        ),
        per_page=ADMIN_PAGE_SIZE,
        count=True,
    )
    return render(
        "admin/products.html",
        "product_results",
        page=page,
        categories=catalog.categories(),
        quick_form=QuickEditForm(),
    )


@bp.route("/products/new", methods=["GET", "POST"])
def new_product():
    """Create a product, then go on to its page to add photos."""
    form = ProductForm()
    category_choices(form)
    if form.validate_on_submit():
        try:
            product = catalog.create_product(
                form.product_data(), form.slug.data.strip()
            )
        except DomainError as error:
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Product created. Add a photo or two."))
            return redirect(url_for("admin.edit_product", product_id=product.id))
    return product_form_page(form, None)


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
def edit_product(product_id: int):
    """Edit a product's details (not its web address, which links depend on)."""
    product = db.get_or_404(Product, product_id)
    form = ProductForm(obj=product)
    category_choices(form)
    if form.validate_on_submit():
        try:
            catalog.update_product(product, form.product_data())
        except DomainError as error:
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect(url_for("admin.edit_product", product_id=product.id))
    return product_form_page(form, product)


def product_form_page(form: ProductForm, product: Product | None):
    status = 422 if form.is_submitted() else 200
    return render(
        "admin/product_form.html",
        status=status,
        form=form,
        product=product,
        image_form=ImageForm(),
    )


@bp.post("/products/<int:product_id>/quick")
def quick_edit(product_id: int):
    """Price and stock edited in place in the list; answers with the row."""
    product = db.get_or_404(Product, product_id)
    form = QuickEditForm()
    if not form.validate_on_submit():
        return product_row(product, form, 422)
    catalog.set_price_and_stock(product, form.price.data, form.stock.data)
    db.session.commit()
    return product_row(product, QuickEditForm(formdata=None), 200, saved=True)


@bp.post("/products/<int:product_id>/active")
def toggle_active(product_id: int):
    """Put a product on or off sale; answers with the row (htmx) or the list."""
    product = db.get_or_404(Product, product_id)
    catalog.set_active(product, not product.active)
    db.session.commit()
    return product_row(product, QuickEditForm(formdata=None), 200)


def product_row(product: Product, form: QuickEditForm, status: int, saved=False):
    """The product's row for htmx; without JavaScript, back to the list."""
    if not is_partial():
        if status == 422:
            flash(_("Enter a valid price and a stock from 0 to 1,000,000."), "error")
        return redirect(url_for("admin.products"))
    return render(
        "admin/_product_row.html",
        product=product,
        quick_form=form,
        status=status,
        saved=saved,
    )


@bp.post("/products/<int:product_id>/images")
def upload_image(product_id: int):
    """Add a photo; a bad or oversized file is refused with a message and nothing
    is stored."""
    product = db.get_or_404(Product, product_id)
    image_form = ImageForm()
    if image_form.validate_on_submit():
        try:
            catalog.add_image(product, image_form.image.data.read())
        except DomainError as error:
            image_form.image.errors.append(str(error))
        else:
            db.session.commit()
            return redirect(url_for("admin.edit_product", product_id=product.id))
    form = ProductForm(obj=product, formdata=None)
    category_choices(form)
    return render(
        "admin/product_form.html",
        status=422,
        form=form,
        product=product,
        image_form=image_form,
    )


def load_image(product_id: int, image_id: int) -> ProductImage:
    image = db.get_or_404(ProductImage, image_id)
    if image.product_id != product_id:
        abort(404)
    return image


@bp.post("/products/<int:product_id>/images/<int:image_id>/delete")
def delete_image(product_id: int, image_id: int):
    """Remove a photo and its files."""
    catalog.remove_image(load_image(product_id, image_id))
    db.session.commit()
    return redirect(url_for("admin.edit_product", product_id=product_id))


@bp.post("/products/<int:product_id>/images/<int:image_id>/cover")
def cover_image(product_id: int, image_id: int):
    """Make a photo the cover."""
    catalog.move_image_first(load_image(product_id, image_id))
    db.session.commit()
    return redirect(url_for("admin.edit_product", product_id=product_id))


@bp.route("/categories", methods=["GET", "POST"])
def categories():
    """List categories and add one."""
    form = CategoryForm()
    status = 200
    if form.validate_on_submit():
        try:
            catalog.create_category(form.name.data, form.slug.data.strip())
        except DomainError as error:
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Category added."))
            return redirect(url_for("admin.categories"))
    if form.is_submitted():
        status = 422
    return categories_page(form, status)


def categories_page(form, status: int, rename_errors: dict | None = None):
    counts = dict(
        db.session.execute(
            select(Product.category_id, db.func.count(Product.id)).group_by(
                Product.category_id
            )
        ).all()
    )
    return render(
        "admin/categories.html",
        status=status,
        form=form,
        categories=catalog.categories(),
        counts=counts,
        rename_errors=rename_errors or {},
    )


@bp.post("/categories/<int:category_id>")
def rename_category(category_id: int):
    """Rename a category (its web address stays)."""
    category = db.get_or_404(Category, category_id)
    form = RenameCategoryForm()
    if form.validate_on_submit():
        catalog.rename_category(category, form.name.data)
        db.session.commit()
        flash(_("Category renamed."))
        return redirect(url_for("admin.categories"))
    errors = {category.id: [e for errs in form.errors.values() for e in errs]}
    return categories_page(CategoryForm(formdata=None), 422, errors)


@bp.post("/categories/<int:category_id>/delete")
def delete_category(category_id: int):
    """Delete an empty category; one still in use is refused with a message."""
    category = db.get_or_404(Category, category_id)
    try:
        catalog.delete_category(category)
    except DomainError as error:
        flash(str(error), "error")
        return categories_page(CategoryForm(formdata=None), 409)
    db.session.commit()
    flash(_("Category deleted."))
    return redirect(url_for("admin.categories"))
