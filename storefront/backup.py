"""A copy of everything the shop keeps, taken while it serves, and its restore.

``flask --app storefront backup DEST`` writes into the new folder DEST:

- ``storefront.db``: the SQLite database through SQLite's online backup API, a
  consistent snapshot even while workers write (it waits for no one and no one
  waits for it), checked with ``PRAGMA integrity_check``;
- ``uploads/``: product photos, avatars and the payment QR image;
- ``secret_key``: without it, sessions, referral cookies and customers' share
  codes made before the restore stop working.

Restoring is copying them back into an empty instance folder, then ``flask db
upgrade`` (a backup from an older version is brought up to date) and ``flask
reconcile``. PostgreSQL databases are copied with ``pg_dump`` instead (the
command says how); the files are the same.
"""

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from storefront.extensions import db

DATABASE = "storefront.db"
UPLOADS = "uploads"
SECRET_KEY = "secret_key"


class BackupError(Exception):
    """Nothing was written (or what was is removed): the reason says why."""


@dataclass(frozen=True)
class Copied:
    folder: Path
    tables: int
    orders: int
    files: int
    secret_key: bool
    size: int  #: bytes of the database copy


def backup(folder: Path) -> Copied:
    """Copy the database, uploads and secret key into ``folder`` (which must not
    exist yet, so an earlier backup is never overwritten)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            "This database is PostgreSQL: copy it with "
            f"pg_dump -Fc {url.database} > {folder}/storefront.dump, "
            f"and copy {current_app.config['UPLOAD_FOLDER']} and the secret key "
            "next to it (see README, Backups)."
        )
    if folder.exists():
        raise BackupError(f"{folder} exists already; name a new folder.")
    folder.mkdir(parents=True)
    try:
        copy = folder / DATABASE
        tables, orders = snapshot(url.database, copy)
        files, secret = copy_files(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Copied(folder, tables, orders, files, secret, copy.stat().st_size)


def snapshot(database: str, copy: Path) -> tuple[int, int]:
    """Copy ``database`` to ``copy`` with the online backup API and check the
    copy; returns its numbers of tables and orders."""
    source, target = sqlite3.connect(database), sqlite3.connect(copy)
    try:
        source.backup(target)
        (check,) = target.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            raise BackupError(f"The copy failed SQLite's integrity check: {check}")
        (tables,) = target.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ).fetchone()
        (orders,) = target.execute("SELECT count(*) FROM orders").fetchone()
    finally:
        source.close()
        target.close()
    return tables, orders


def copy_files(folder: Path) -> tuple[int, bool]:
    """Copy the uploads, and the secret key when it lives in the instance folder
    (one set in the configuration is the operator's to keep); returns how many
    files were uploaded and whether the key was copied."""
    uploads = Path(current_app.config["UPLOAD_FOLDER"])
    files = 0
    if uploads.is_dir():
        shutil.copytree(uploads, folder / UPLOADS)
        files = sum(1 for path in (folder / UPLOADS).rglob("*") if path.is_file())
    secret = Path(current_app.instance_path) / SECRET_KEY
    if secret.exists():
        shutil.copy2(secret, folder / SECRET_KEY)
    return files, secret.exists()
