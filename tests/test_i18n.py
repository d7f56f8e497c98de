"""Translations: every message has Simplified Chinese, and both languages render."""

import os
import re
import tempfile
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests import factories

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "storefront" / "translations"
#: The app calls the language "zh_CN", but Babel names that locale "zh_Hans_CN"
#: and Flask-Babel looks for the catalog under that name.
ZH_PO = TRANSLATIONS / str(Locale.parse("zh_CN")) / "LC_MESSAGES" / "messages.po"
#: As `pybabel extract -k _l`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}
#: Directories not searched for messages. Babel's default also skips every
#: directory whose name starts with "_", which would miss templates/_partials.
SKIPPED_DIRS = {"node_modules", "__pycache__"}
#: A named placeholder such as %(n)d or %(total)s.
PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs():
    """Compile each catalog whose .mo is missing or older than its .po (as
    ``make`` does), written aside and moved into place for parallel workers."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        fd, draft = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as target:
            write_mo(target, catalog)
        os.chmod(draft, 0o644)
        os.replace(draft, mo)


def keep_dir(path: str) -> bool:
    name = os.path.basename(path)
    return not name.startswith(".") and name not in SKIPPED_DIRS


def extracted_messages() -> dict[tuple[str, str | None], tuple[str, bool]]:
    """Every message the code marks for translation, as babel.cfg says, keyed by
    (msgid, context): where it is first used, and whether it has a plural."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=keep_dir,
    ):
        plural = isinstance(message, tuple)
        msgid = message[0] if plural else message
        if msgid:
            found.setdefault((msgid, context), (f"{filename}:{lineno}", plural))
    return found


def untranslated(entry, plural: bool, num_plurals: int) -> str | None:
    """Why ``entry`` does not translate the message, or None when it does."""
    if entry is None:
        return "not in the catalog"
    if entry.fuzzy:
        return "fuzzy"
    if plural != entry.pluralizable:
        return "plural in the code but not in the catalog, or the other way round"
    if plural and (len(entry.string) != num_plurals or not all(entry.string)):
        return "plural forms not all filled"
    if not entry.string:
        return "empty"
    return None


def zh_catalog():
    with ZH_PO.open("rb") as source:
        return read_po(source)


def page(client, path: str, headers: dict | None = None) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


# The catalog


def test_every_message_has_a_chinese_translation():
    catalog = zh_catalog()
    missing = []
    for (msgid, context), (where, plural) in sorted(extracted_messages().items()):
        entry = catalog.get(msgid, context=context)
        if why := untranslated(entry, plural, catalog.num_plurals):
            missing.append(f"{where}: {msgid!r} ({why})")
    assert not missing, (
        "Untranslated messages; extract them (`make translations`) and translate "
        f"them in {ZH_PO.relative_to(ROOT)}:\n" + "\n".join(missing)
    )


def test_chinese_has_one_plural_form():
    catalog = zh_catalog()
    assert catalog.plural_forms == "nplurals=1; plural=0;"
    assert not catalog.fuzzy


def test_translations_keep_their_placeholders():
    wrong = []
    for entry in zh_catalog():
        if not entry.id:
            continue
        ids = entry.id if entry.pluralizable else (entry.id,)
        strings = entry.string if entry.pluralizable else (entry.string,)
        wanted = {p for msgid in ids for p in PLACEHOLDER.findall(msgid)}
        # A bare "%" too: templates %-format every translation.
        percent = PLACEHOLDER.sub("", ids[0]).count("%")
        for string in filter(None, strings):
            if (
                set(PLACEHOLDER.findall(string)) != wanted
                or PLACEHOLDER.sub("", string).count("%") != percent
            ):
                wrong.append(f"{entry.id!r} -> {string!r}")
    assert not wrong, "Placeholders differ:\n" + "\n".join(wrong)


def test_the_catalog_passes_the_checks_of_pybabel_compile():
    # `make` compiles with these checks and stops on any error, e.g. a plural
    # translation naming a number its singular message does not.
    errors = [
        f"{m.id!r}: {e}" for m, problems in zh_catalog().check() for e in problems
    ]
    assert not errors, "\n".join(errors)


# Choosing the language


def test_chinese_for_a_chinese_browser(client):
    html = page(client, "/", ZH)
    assert "登录" in html
    assert "Sign in" not in html


def test_chinese_page_is_marked_zh_cn(client):
    html = page(client, "/", ZH)
    assert '<html lang="zh-CN">' in html
    assert re.search(r'value="zh_CN"[^>]*aria-current="true"', html)


def test_english_for_an_english_browser(client):
    html = page(client, "/", EN)
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "登录" not in html
    assert re.search(r'value="en"[^>]*aria-current="true"', html)


def test_traditional_chinese_browser_gets_simplified_chinese(client):
    html = page(client, "/", {"Accept-Language": "zh-TW,zh;q=0.9"})
    assert "登录" in html


@pytest.mark.parametrize(
    ("choice", "browser", "shown", "hidden"),
    [("zh_CN", EN, "登录", "Sign in"), ("en", ZH, "Sign in", "登录")],
)
def test_chosen_language_overrides_the_browser(client, choice, browser, shown, hidden):
    response = client.post("/lang", data={"lang": choice, "next": "/?page=1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/?page=1"
    assert client.get_cookie("lang").value == choice

    html = page(client, "/", browser)
    assert shown in html
    assert hidden not in html


def test_unknown_language_is_ignored(client):
    response = client.post("/lang", data={"lang": "fr", "next": "/"})
    assert response.status_code == 302
    assert client.get_cookie("lang") is None
    assert "登录" in page(client, "/", ZH)

    client.post("/lang", data={"lang": "zh_CN", "next": "/"})
    client.post("/lang", data={"lang": "xx", "next": "/"})
    assert client.get_cookie("lang").value == "zh_CN"

    client.set_cookie("lang", "fr")  # a forged cookie falls back to the browser's
    assert "Sign in" in page(client, "/", EN)


@pytest.mark.parametrize(
    ("headers", "texts"),
    [
        (ZH, ["找不到该页面", "返回店铺"]),
        (EN, ["We could not find that page", "Back to the shop"]),
    ],
)
def test_not_found_page_in_both_languages(client, headers, texts):
    response = client.get("/no-such-page", headers=headers)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    for text in texts:
        assert text in html


# Prices


def product_path(app, **fields) -> str:
    with app.app_context():
        return f"/p/{factories.product(**fields).slug}"


@pytest.mark.parametrize(
    ("headers", "price"),
    [(ZH, "<strong>¥128.00</strong>"), (EN, "<strong>CN¥128.00</strong>")],
)
def test_money_is_formatted_for_the_locale(app, client, headers, price):
    path = product_path(app, price=12800)
    assert price in page(client, path, headers)


@pytest.mark.parametrize(
    ("stock", "headers", "badge"),
    [
        (0, ZH, "已售罄"),
        (0, EN, "Sold out"),
        (3, ZH, "仅剩 3 件"),
        (3, EN, "Only 3 left"),
    ],
)
def test_stock_badges_are_translated(app, client, stock, headers, badge):
    path = product_path(app, stock=stock)
    assert badge in page(client, path, headers)


def test_lazy_translations_print_as_escaped_text(app):
    """A lazy translation is text wherever a template prints it, not markup:
    flask-babel's lazy strings claim ``__html__``, which Jinja would trust."""
    from flask import render_template_string
    from flask_babel import lazy_gettext

    with app.test_request_context(headers=EN):
        html = render_template_string(
            "<p>{{ hint }}</p>", hint=lazy_gettext("Your link is /s/<address>.")
        )
    assert html == "<p>Your link is /s/&lt;address&gt;.</p>"
