"""A visitor opens a shop on a phone, fills it, and shares it to a friend's phone."""

import re

from playwright.sync_api import expect

from tests.live_server import flask_command


def test_visitor_opens_a_shop_curates_and_shares_it(live_server, phone, artifacts):
    """Sign up as a seller, add three products, write a note, reorder, open the
    share panel; a second phone opening the shared link sees the shop with the
    note and carries the seller's referral cookie."""
    flask_command(live_server.env, "demo")  # a catalog to pick from
    seller = phone().new_page()
    seller.goto("/join")
    seller.get_by_label("Your name").fill("Zhou Lan")
    seller.get_by_label("Mobile number or email").fill("139 0013 9000")
    seller.get_by_label("Password").fill("a long enough password")
    seller.get_by_label("Shop name").fill("Lan's Larder")
    seller.get_by_role("button", name="Open my shop").tap()
    expect(seller).to_have_url(re.compile(r"/me/catalog$"))

    seller.get_by_role("searchbox").fill("tea")
    expect(seller).to_have_url(re.compile(r"q=tea"))
    picks = ["Jasmine tea", "Longjing green tea", "Linen tea towel"]
    for name in picks:
        row = seller.locator("#catalog-results li", has_text=name)
        row.get_by_role("button", name=re.compile("^Add")).tap()
        expect(row.get_by_text("In your shop")).to_be_visible()

    seller.get_by_role("link", name="My products").first.tap()
    items = seller.locator("#curation li.item")
    expect(items).to_have_count(3)
    first = items.nth(0)
    expect(first).to_contain_text("Jasmine tea")
    first.get_by_label("Your note").fill("My desk tea.\nFloral, never bitter.")
    first.get_by_role("button", name="Save note").tap()
    expect(
        seller.locator("#curation li.item").nth(0).get_by_text("Saved.")
    ).to_be_visible()
    seller.locator("#curation li.item").nth(0).get_by_role(
        "button", name=re.compile("^Move down")
    ).tap()
    expect(seller.locator("#curation li.item").nth(1)).to_contain_text("Jasmine tea")
    expect(seller.locator("#curation li.item").nth(0)).to_contain_text("Longjing")

    seller.get_by_role("link", name="Share").first.tap()
    link = seller.locator("[data-share-link]")
    expect(link).to_be_visible()
    shared = link.input_value()
    assert shared == f"{live_server.url}/s/lan-s-larder"
    expect(seller.locator(".share-qr svg")).to_be_visible()
    seller.screenshot(path=artifacts / "seller-journey-share.png", full_page=True)

    friend_phone = phone()
    friend = friend_phone.new_page()
    friend.goto(shared)
    expect(friend.get_by_role("heading", name="Lan's Larder")).to_be_visible()
    expect(friend.get_by_text("My desk tea.")).to_be_visible()
    cards = friend.locator("li.card .name")
    names = cards.all_inner_texts()
    assert [n.split(" ", 1)[1] for n in names] == [
        "Longjing green tea",
        "Jasmine tea",
        "Linen tea towel",
    ]
    cookies = {c["name"]: c for c in friend_phone.cookies()}
    assert "ref" in cookies and cookies["ref"]["httpOnly"]
    friend.screenshot(path=artifacts / "seller-journey-friend.png", full_page=True)
