"""Commands run as ``flask --app storefront <command>``."""

import os
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from storefront.accounts.models import Role
from storefront.accounts.services import AccountError, create_user
from storefront.extensions import db


@click.command("create-operator")
@click.option("--email", prompt=True, help="Sign-in email of the operator.")
@click.option("--name", prompt=True, help="Name shown in the back office.")
@click.password_option(help="At least 8 characters; asked for when left out.")
@with_appcontext
def create_operator(email: str, name: str, password: str) -> None:
    """Create an operator account (the shop's owner, with access to /admin)."""
    try:
        user = create_user(email, name, password, Role.OPERATOR)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"operator: {user.email} created; sign in at /login")


@click.command("demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Skip when the database already holds accounts other than the demo's.",
)
@click.option(
    "--base-url",
    default=lambda: f"http://127.0.0.1:{os.environ.get('PORT', '8000')}",
    show_default="http://127.0.0.1:$PORT",
    help="Where the shop is served, for the printed links.",
)
@with_appcontext
def demo(if_empty: bool, base_url: str) -> None:
    """Load the demo shop (idempotent) and print its URLs and logins."""
    from storefront.demo import has_foreign_data, load_demo

    if if_empty and has_foreign_data():
        click.echo("The database already has its own data; demo data not loaded.")
        return
    for line in load_demo(base_url.rstrip("/")):
        click.echo(line)


@click.command("sweep")
@with_appcontext
def sweep() -> None:
    """Fail group-buys past their deadline (cancelling or refunding their
    orders), cancel unpaid orders past their time (returning their stock) and
    make commission available once the after-sale window has passed. Safe to
    run every minute from cron or a systemd timer."""
    from storefront.groupbuy.services import expire_due
    from storefront.ledger.services import settle_due
    from storefront.orders.services import expire_unpaid

    failed = 0
    while batch := expire_due():  # groups first: their orders are refunded
        failed += batch
        db.session.commit()
    expired = expire_unpaid()
    db.session.commit()
    released = 0
    while settled := settle_due():  # in batches, each its own transaction
        released += settled
        db.session.commit()
    click.echo(f"group-buys failed at their deadline: {failed}")
    click.echo(f"expired unpaid orders: {expired}")
    click.echo(f"orders whose commission became available: {released}")


@click.command("reconcile")
@with_appcontext
def reconcile() -> None:
    """Check every invariant of the referral ledger; exit 1 listing each
    problem when any fails."""
    from storefront.ledger.reconcile import problems, summary

    found = problems()
    checked = summary()
    if found:
        click.echo(f"The ledger does not reconcile ({checked}):", err=True)
        for problem in found:
            click.echo(f"- {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"The ledger reconciles: {checked}.")


@click.command("backup")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup(folder: Path) -> None:
    """Copy the database (safely, while the shop serves), the uploaded photos
    and the secret key into the new FOLDER. See README, Backups, to restore."""
    from storefront.backup import BackupError
    from storefront.backup import backup as copy

    try:
        copied = copy(folder)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    key = "secret key" if copied.secret_key else "the secret key is in your settings"
    click.echo(
        f"backup: {copied.folder}: database {copied.size / 1e6:.1f} MB "
        f"({copied.tables} tables, {copied.orders} orders, integrity ok), "
        f"{copied.files} uploaded files, {key}"
    )


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_operator)
    app.cli.add_command(demo)
    app.cli.add_command(sweep)
    app.cli.add_command(reconcile)
    app.cli.add_command(backup)
