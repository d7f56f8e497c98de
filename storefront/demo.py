"""The demo shop: an operator, three sellers and a catalog with generated photos.

Loading twice changes nothing: every row is looked up by its email or slug first.
"""

import colorsys
import hashlib
from datetime import datetime, timedelta
from io import BytesIO

from PIL import Image, ImageDraw
from sqlalchemy import insert, select

from storefront.accounts.models import Role, User
from storefront.accounts.services import create_user, find_user
from storefront.catalog import services as catalog
from storefront.catalog.models import Category, Product
from storefront.extensions import db
from storefront.phones import normalise_phone
from storefront.settings import get_setting, set_setting
from storefront.shops import services as shops
from storefront.shops.models import Shop, Visit
from storefront.timeutil import utcnow

OPERATOR = ("operator@example.com", "Operator 运营", "operator-demo")
SELLERS = [
    ("mei@example.com", "李梅 Li Mei", "seller-demo"),
    ("qiang@example.com", "王强 Wang Qiang", "seller-demo"),
    ("sarah@example.com", "Sarah Chen 陈莎", "seller-demo"),
]
#: What a customer paying by transfer is told (the operator changes it in
#: /admin/settings).
PAYMENT_INSTRUCTIONS = (
    "演示商店：请勿真实付款。\n"
    "转账至：杭州示例贸易有限公司，工商银行 6222 0000 1234 5678，备注订单号。\n"
    "Demo shop: please do not pay.\n"
    "Transfer to Hangzhou Example Trading Co., ICBC 6222 0000 1234 5678, "
    "with the order number as the note."
)
#: Each seller's shop: slug, name, bio, contact, hue of the avatar, the slug of
#: the shop that recruited it, and (product slug, note, featured) picks.
SHOPS = [
    (
        "mei",
        "梅子的茶与零食 Mei's tea & snacks",
        "在杭州喝了十年茶，只推荐自己每天在喝的。\nTen years of tea in Hangzhou; "
        "I only share what I drink every day.",
        "WeChat: meizi_tea",
        0.3,
        None,
        [
            (
                "longjing-green-tea",
                "今年的明前龙井，豆香很足，冲三泡还有味。\n"
                "This spring's pick: nutty, still sweet on the third brew.",
                True,
            ),
            ("jasmine-tea", "办公室必备，下午来一杯很提神。", True),
            ("walnut-kernels", "给爸妈买了两次，薄皮一捏就开。", False),
            ("dried-mango", "Kids love these; no added sugar.", False),
            ("oolong-tieguanyin", "兰花香明显，适合刚开始喝乌龙的朋友。", False),
            ("white-tea-bai-mudan", "放几年更好喝，到货我再提醒大家。", False),
            ("sesame-candy", "", False),
            ("ceramic-mug", "配龙井正好，手感很好。", False),
        ],
    ),
    (
        "qiang",
        "强哥严选 Qiang's picks",
        "上班族的家居好物。Home things that make a small flat nicer.",
        "WeChat: qiangge88",
        0.6,
        "mei",
        [
            ("silk-pillowcase", "换了之后头发不打结，老婆说好。", True),
            (
                "aroma-candle",
                "Soy wax, burns clean, the cedar one is my favourite.",
                False,
            ),
            ("storage-basket", "", False),
            ("linen-towel", "吸水快，擦茶具不掉毛。", False),
            ("navel-oranges", "赣南老家的橙子，年年回购。", True),
            ("lychee", "季节限定，冷链到家还是冰的。", False),
        ],
    ),
    (
        "sarah",
        "Sarah's baby & beauty",
        "两个孩子的妈妈，分享我真的在用的。A mum of two sharing what I use.",
        "WeChat: sarah_c",
        0.9,
        "qiang",
        [
            ("baby-wipes", "厚实不起球，一次囤六包。", True),
            ("cotton-bodysuit", "A 类纯棉，洗了很多次还是软的。", False),
            ("silk-face-mask", "换季补水，敷完第二天上妆很服帖。", True),
            ("hand-cream", "Osmanthus, not greasy; lives in my bag.", False),
            ("picture-book", "睡前每天读一本，中英双语。", False),
            ("blueberries", "下一季一到就上。", False),
        ],
    ),
]
#: Demo orders: checkout key, shop slug (None: a house sale), customer, phone,
#: {product slug: quantity}, method, and the steps taken since.
ORDERS = [
    ("demo-1", "mei", "张伟", "13800138001", {"longjing-green-tea": 1}, "transfer", []),
    (
        "demo-2",
        "mei",
        "王芳",
        "13800138002",
        {"jasmine-tea": 2, "walnut-kernels": 1},
        "transfer",
        ["paid"],
    ),
    (
        "demo-3",
        "qiang",
        "刘洋",
        "13800138003",
        {"silk-pillowcase": 1},
        "cod",
        ["paid", "shipped"],
    ),
    (
        "demo-4",
        "sarah",
        "陈静",
        "13800138004",
        {"baby-wipes": 2, "hand-cream": 1},
        "transfer",
        ["paid", "shipped", "completed"],
    ),
    (
        "demo-5",
        "mei",
        "杨磊",
        "13800138005",
        {"dried-mango": 1},
        "transfer",
        ["cancelled"],
    ),
    (
        "demo-6",
        "qiang",
        "赵敏",
        "13800138006",
        {"aroma-candle": 2},
        "transfer",
        ["paid", "refunded"],
    ),
    (
        "demo-7",
        "sarah",
        "Emma Li",
        "13800138007",
        {"silk-face-mask": 2},
        "transfer",
        ["paid", "shipped", "part-refunded"],
    ),
    ("demo-8", None, "孙强", "13800138008", {"navel-oranges": 1}, "cod", ["paid"]),
    # Past the after-sale window: commission available, paid out, clawed back.
    (
        "demo-9",
        "mei",
        "周杰",
        "13800138009",
        {"longjing-green-tea": 2, "silk-pillowcase": 1},
        "transfer",
        ["paid", "shipped", "completed", "settled", "payout"],
    ),
    (
        "demo-10",
        "qiang",
        "吴婷",
        "13800138010",
        {"hand-cream": 3, "jasmine-tea": 2},
        "transfer",
        ["paid", "shipped", "completed", "settled", "part-refunded"],
    ),
    (
        "demo-11",
        "sarah",
        "Lucy Zhang",
        "13800138011",
        {"silk-face-mask": 3, "walnut-kernels": 2},
        "transfer",
        ["paid", "shipped", "completed", "settled"],
    ),
]
#: Group-buy offers: product slug, group price (fen), group size, hours to fill.
GROUP_OFFERS = [
    ("longjing-green-tea", 9900, 3, 24),
    ("navel-oranges", 4590, 3, 24),
]
#: Demo groups: product slug, shop slug, hours since it opened, the members'
#: (checkout key, name, phone) with the leader first, the keys of the orders
#: marked paid, and whether it is then expired (the sweep, past its deadline).
GROUPS = [
    # Open: two of three seats taken through Mei's link, hours left to fill.
    (
        "longjing-green-tea",
        "mei",
        2,
        [
            ("demo-group-1a", "林晓", "13900139001"),
            ("demo-group-1b", "Amy Xu", "13900139002"),
        ],
        ["demo-group-1a"],
        False,
    ),
    # Succeeded: full, its orders free to ship once paid.
    (
        "navel-oranges",
        "qiang",
        5,
        [
            ("demo-group-2a", "黄磊", "13900139003"),
            ("demo-group-2b", "何静", "13900139004"),
            ("demo-group-2c", "Tom Wu", "13900139005"),
        ],
        ["demo-group-2a", "demo-group-2b"],
        False,
    ),
    # Failed: one seat short at the deadline; the paid order is refunded, the
    # unpaid one cancelled.
    (
        "longjing-green-tea",
        "sarah",
        30,
        [
            ("demo-group-3a", "郭敏", "13900139006"),
            ("demo-group-3b", "Nina Ma", "13900139007"),
        ],
        ["demo-group-3a"],
        True,
    ),
]
#: Days of visit history generated for the charts.
VISIT_DAYS = 120
#: Completed orders of each shop's history, spread over those days.
HISTORY_ORDERS = 30

#: slug, name, hue of its photos (0-1)
CATEGORIES = [
    ("tea", "茶叶 Tea", 0.28),
    ("snacks", "零食 Snacks", 0.08),
    ("beauty", "美妆 Beauty", 0.92),
    ("home", "家居 Home", 0.58),
    ("fruit", "水果 Fruit", 0.14),
    ("baby", "母婴 Baby", 0.75),
]

#: category, slug, name, price (fen), was price, stock, description
PRODUCTS = [
    (
        "tea",
        "longjing-green-tea",
        "西湖龙井 Longjing green tea",
        12800,
        15800,
        40,
        "明前头采，豆香清爽。First spring pick, 100 g tin.",
    ),
    (
        "tea",
        "pu-erh-cake",
        "云南普洱茶饼 Yunnan pu-erh cake",
        16800,
        None,
        25,
        "七年陈熟普，357 克。Seven-year ripe pu-erh, 357 g cake.",
    ),
    (
        "tea",
        "jasmine-tea",
        "茉莉花茶 Jasmine tea",
        4500,
        None,
        120,
        "福州茉莉窨制七次。Scented seven times with Fuzhou jasmine.",
    ),
    (
        "tea",
        "oolong-tieguanyin",
        "安溪铁观音 Tieguanyin oolong",
        9800,
        11800,
        60,
        "清香型，兰花香。Light roast with an orchid finish.",
    ),
    (
        "tea",
        "white-tea-bai-mudan",
        "福鼎白牡丹 Bai Mudan white tea",
        8800,
        None,
        0,
        "暂时售罄，下周到货。Sold out for now; back next week.",
    ),
    (
        "tea",
        "chrysanthemum-tea",
        "胎菊 Chrysanthemum buds",
        3600,
        None,
        200,
        "桐乡胎菊，泡水清香。Tongxiang buds, gentle and floral.",
    ),
    (
        "snacks",
        "beef-jerky",
        "内蒙古风干牛肉 Inner Mongolia beef jerky",
        6900,
        7900,
        80,
        "手撕，500 克。Hand-torn, 500 g.",
    ),
    (
        "snacks",
        "walnut-kernels",
        "新疆纸皮核桃 Xinjiang walnuts",
        5900,
        None,
        150,
        "薄皮好剥。Paper-thin shells, 1 kg.",
    ),
    (
        "snacks",
        "sesame-candy",
        "黑芝麻糖 Black sesame candy",
        2800,
        None,
        300,
        "古法熬制，不粘牙。Slow-cooked, never sticky.",
    ),
    (
        "snacks",
        "dried-mango",
        "泰国芒果干 Dried mango",
        3900,
        4900,
        4,
        "无添加糖。No added sugar, 250 g.",
    ),
    (
        "snacks",
        "spicy-tofu",
        "麻辣豆干 Spicy dried tofu",
        1900,
        None,
        500,
        "重庆风味。Chongqing style, 20 packs.",
    ),
    (
        "snacks",
        "rice-crackers",
        "米饼 Rice crackers",
        1500,
        None,
        260,
        "宝宝也能吃的原味米饼。Plain, gentle enough for toddlers.",
    ),
    (
        "beauty",
        "silk-face-mask",
        "蚕丝面膜 Silk face masks",
        9900,
        12900,
        70,
        "十片装，补水。Ten sheets, hydrating.",
    ),
    (
        "beauty",
        "hand-cream",
        "护手霜 Hand cream",
        3900,
        None,
        140,
        "桂花香，不油腻。Osmanthus scent, not greasy.",
    ),
    (
        "beauty",
        "lip-balm",
        "蜂蜜润唇膏 Honey lip balm",
        2500,
        None,
        3,
        "天然蜂蜡。Natural beeswax.",
    ),
    (
        "beauty",
        "sunscreen",
        "清爽防晒乳 Light sunscreen SPF50",
        12900,
        None,
        45,
        "通勤防晒。For the daily commute.",
    ),
    (
        "beauty",
        "bamboo-comb",
        "竹梳 Bamboo comb",
        2900,
        None,
        90,
        "手工打磨。Hand-polished.",
    ),
    (
        "home",
        "ceramic-mug",
        "景德镇陶瓷杯 Jingdezhen mug",
        5800,
        None,
        35,
        "手绘青花。Hand-painted blue and white.",
    ),
    (
        "home",
        "linen-towel",
        "亚麻茶巾 Linen tea towel",
        3200,
        None,
        110,
        "吸水不掉毛。Absorbent, lint-free.",
    ),
    (
        "home",
        "aroma-candle",
        "香薰蜡烛 Scented candle",
        7800,
        9800,
        28,
        "大豆蜡，四十小时。Soy wax, 40 hours.",
    ),
    (
        "home",
        "storage-basket",
        "藤编收纳篮 Rattan basket",
        8900,
        None,
        15,
        "手工编织。Hand-woven.",
    ),
    (
        "home",
        "silk-pillowcase",
        "真丝枕套 Silk pillowcase",
        19800,
        25800,
        20,
        "22 姆米桑蚕丝。22 momme mulberry silk.",
    ),
    (
        "fruit",
        "navel-oranges",
        "赣南脐橙 Gannan navel oranges",
        5990,
        None,
        90,
        "5 斤装，产地直发。2.5 kg, shipped from the orchard.",
    ),
    (
        "fruit",
        "kiwi-fruit",
        "猕猴桃 Kiwi fruit",
        4990,
        None,
        75,
        "陕西周至，12 个。Zhouzhi, Shaanxi; 12 fruits.",
    ),
    (
        "fruit",
        "lychee",
        "妃子笑荔枝 Feizixiao lychee",
        8800,
        9900,
        30,
        "冷链到家。Cold-chain delivery.",
    ),
    (
        "fruit",
        "dried-dates",
        "和田大枣 Hotan red dates",
        4500,
        None,
        160,
        "特级，1 公斤。Top grade, 1 kg.",
    ),
    (
        "fruit",
        "blueberries",
        "蓝莓 Blueberries",
        6900,
        None,
        0,
        "本季已售完。Sold out this season.",
    ),
    (
        "baby",
        "cotton-bodysuit",
        "纯棉连体衣 Cotton bodysuit",
        7900,
        None,
        60,
        "A 类纯棉。Class A cotton.",
    ),
    (
        "baby",
        "baby-wipes",
        "婴儿湿巾 Baby wipes",
        3900,
        4500,
        220,
        "80 抽 × 6 包。80 wipes × 6 packs.",
    ),
    (
        "baby",
        "teething-ring",
        "牙胶 Teething ring",
        2900,
        None,
        85,
        "食品级硅胶。Food-grade silicone.",
    ),
    (
        "baby",
        "picture-book",
        "中英绘本 Bilingual picture book",
        4800,
        None,
        55,
        "睡前故事。Bedtime stories in Chinese and English.",
    ),
    (
        "baby",
        "bath-thermometer",
        "洗澡温度计 Bath thermometer",
        2500,
        None,
        40,
        "小鸭造型。Duck shaped.",
    ),
]


def has_foreign_data() -> bool:
    """True when the database holds accounts the demo did not make."""
    demo_emails = {OPERATOR[0], *(s[0] for s in SELLERS)}
    emails = set(db.session.scalars(select(User.email)))
    return bool(emails - demo_emails)


def ensure_user(email: str, name: str, password: str, role: Role) -> User:
    return find_user(email) or create_user(email, name, password, role)


def demo_photo(seed: str, hue: float) -> bytes:
    """A 720 px square PNG: a soft gradient in the category's hue and a few shapes
    placed by the product's slug, so each product looks different."""
    digest = hashlib.sha256(seed.encode()).digest()
    size = 720
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):
        light = 0.93 - 0.25 * y / size
        r, g, b = colorsys.hls_to_rgb(hue, light, 0.55)
        draw.line([(0, y), (size, y)], fill=(int(r * 255), int(g * 255), int(b * 255)))
    for i in range(3):
        x, y, radius = (
            digest[i * 3] * 2 + 100,
            digest[i * 3 + 1] * 2 + 100,
            60 + digest[i * 3 + 2] // 3,
        )
        shade = colorsys.hls_to_rgb((hue + 0.05 * i) % 1, 0.45 + 0.1 * i, 0.6)
        fill = tuple(int(c * 255) for c in shade)
        box = [x - radius, y - radius, x + radius, y + radius]
        if digest[10 + i] % 2:
            draw.ellipse(box, fill=fill)
        else:
            draw.rounded_rectangle(box, radius=radius // 3, fill=fill)
    buffer = BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def load_demo(base_url: str) -> list[str]:
    """Create whatever of the demo is missing and return lines to print: the shop
    URLs and one login per line."""
    ensure_user(*OPERATOR, Role.OPERATOR)
    for seller in SELLERS:
        ensure_user(*seller, Role.SELLER)
    hues = {}
    for slug, name, hue in CATEGORIES:
        hues[slug] = hue
        if not db.session.scalar(select(Category).filter_by(slug=slug)):
            catalog.create_category(name, slug)
    category_ids = dict(db.session.execute(select(Category.slug, Category.id)).all())
    for category, slug, name, price, was, stock, description in PRODUCTS:
        product = db.session.scalar(select(Product).filter_by(slug=slug))
        if product is None:
            data = catalog.ProductData(
                name=name,
                description=description,
                price=price,
                compare_at_price=was,
                stock=stock,
                category_id=category_ids[category],
                active=True,
                commission_bp=1500 if category == "beauty" else None,
            )
            product = catalog.create_product(data, slug)
        if not product.images:
            catalog.add_image(product, demo_photo(slug, hues[category]))
    if not get_setting("PAYMENT_INSTRUCTIONS"):
        set_setting("PAYMENT_INSTRUCTIONS", PAYMENT_INSTRUCTIONS)
    load_shops()
    load_visits()
    load_history()
    load_orders()
    load_groups()
    db.session.commit()
    lines = [
        f"shop: {base_url}/",
        f"product: {base_url}/p/{PRODUCTS[0][1]}",
        *(f"seller shop: {base_url}/s/{shop[0]}" for shop in SHOPS),
        f"admin: {base_url}/admin",
        f"operator: {OPERATOR[0]} password: {OPERATOR[2]}",
    ]
    lines += [f"seller: {email} password: {password}" for email, _, password in SELLERS]
    return lines


def load_shops() -> None:
    """Each seller's shop, with a photo, picks, notes and who recruited whom."""
    for (email, _name, _pw), shop_row in zip(SELLERS, SHOPS, strict=True):
        slug, name, bio, contact, hue, recruiter, picks = shop_row
        owner = find_user(email)
        shop = db.session.scalar(select(Shop).filter_by(owner_id=owner.id))
        if shop is not None:
            continue
        shop = shops.open_shop(owner, name)
        shops.update_profile(shop, name, slug, bio, contact)
        shops.set_avatar(shop, demo_photo(email, hue))
        if recruiter:
            shops.set_recruiter(shop, shops.find_shop(recruiter)[0])
        for product_slug, note, featured in picks:
            product = db.session.scalar(select(Product).filter_by(slug=product_slug))
            item = shops.add_product(shop, product)
            shops.set_note(item, note)
            shops.set_featured(item, featured)


def demo_visitors(
    shop_id: int, day, products: list[int]
) -> list[tuple[str, int | None]]:
    """The demo's visitors of one shop on one day and the product each landed
    on (None: the shop page): busier weekends and a rise lately."""
    age = (utcnow().date() - day).days
    growth = 1 + (VISIT_DAYS - age) / 30
    weekend = 1.6 if day.weekday() >= 5 else 1
    seed = hashlib.sha256(f"{shop_id}:{day}".encode()).digest()
    return [
        (
            f"demo{shop_id}x{seed[1 + n % 8]}x{n}",
            products[seed[n % 32] % len(products)] if n % 3 else None,
        )
        for n in range(int((4 + seed[0] % 6) * growth * weekend))
    ]


def load_visits() -> None:
    """A few months of visits to every shop up to today, some from QR codes and
    some through regular customers' shares, so the charts have a shape. Loading
    again the same day adds nothing; another day adds that day's visits."""
    today = utcnow().date()
    rows = []
    for shop in db.session.scalars(select(Shop)):
        products = [item.product_id for item in shop.items]
        sharers = [
            shops.customer_code(normalise_phone(phone))
            for _name, phone in regulars(shop)[:3]
        ]
        for age in range(VISIT_DAYS):
            day = today - timedelta(days=age)
            for n, (visitor, product) in enumerate(
                demo_visitors(shop.id, day, products)
            ):
                rows.append(
                    {
                        "shop_id": shop.id,
                        "product_id": product,
                        "visitor": visitor,
                        "day": day,
                        "once": f"{shop.id}:{product or 0}:{visitor}:{day}",
                        "channel": "qr" if n % 5 == 2 else "link",
                        "sharer": sharers[n % 3] if n % 7 == 3 else None,
                    }
                )
    known = set(db.session.scalars(select(Visit.once)))
    fresh = [row for row in rows if row["once"] not in known]
    if fresh:
        db.session.execute(insert(Visit), fresh)
        shops.remember_visitors()


#: Each shop's regular customers (surnames, given names) for its order history.
SURNAMES = "李王张刘陈杨黄赵吴周"
GIVEN = "明华丽强静敏军洁磊艳"


def regulars(shop: Shop) -> list[tuple[str, str]]:
    """Ten customers of ``shop``: name and phone, the same each time."""
    return [
        (
            SURNAMES[(shop.id + n) % 10] + GIVEN[(shop.id * 3 + n) % 10],
            f"1390{shop.id:03d}{n:04d}",
        )
        for n in range(10)
    ]


def load_history() -> None:
    """Months of completed orders in every shop from its regular customers,
    some buying again and again, each from one of that day's visitors: the
    dashboard's conversion, order value and repeat purchases have a history.

    Stock taken by these orders is put back (it was restocked since), and
    their commission is settled as the sweep would have long ago.
    """
    from storefront.ledger import services as ledger
    from storefront.orders import services as orders
    from storefront.orders.models import PaymentMethod

    operator = find_user(OPERATOR[0])
    today = utcnow().date()
    placed = False
    for shop in db.session.scalars(select(Shop).order_by(Shop.id)):
        products = [
            item.product
            for item in shop.items
            if item.product.active and item.product.stock >= 2
        ]
        customers = regulars(shop)
        for n in range(HISTORY_ORDERS):
            key = f"demo-history-{shop.slug}-{n}"
            if orders.order_by_key(key) is not None:
                continue
            seed = hashlib.sha256(key.encode()).digest()
            age = VISIT_DAYS - 1 - n * (VISIT_DAYS - 10) // HISTORY_ORDERS - seed[0] % 3
            day = today - timedelta(days=age)
            visitors = demo_visitors(shop.id, day, [i.product_id for i in shop.items])
            name, phone = customers[min(seed[1] % 16, 9)]  # the first few come back
            product = products[seed[2] % len(products)]
            quantity = 1 + seed[3] % 2
            order = orders.place_order(
                {product.id: quantity},
                orders.Customer(
                    name,
                    phone,
                    "上海市徐汇区漕溪北路 200 号",
                    visitor=visitors[seed[4] % len(visitors)][0],
                ),
                PaymentMethod.TRANSFER,
                shop,
                key,
            )
            orders.mark_paid(order, operator)
            orders.ship(order, "顺丰 SF Express", f"SF{seed.hex()[:10]}", operator)
            orders.complete(order, operator)
            product.stock += quantity
            at = datetime.combine(day, datetime.min.time()) + timedelta(
                hours=2 + seed[5] % 12, minutes=seed[6] % 60
            )
            order.created_at = at
            order.number = f"{day:%y%m%d}-{order.number[7:]}"
            for event in order.events:
                event.at = at
            placed = True
    if placed:
        days = get_setting("AFTER_SALE_DAYS")
        while ledger.settle_due(utcnow() + timedelta(days=days, minutes=1)):
            pass


def load_orders() -> None:
    """Orders in every state, most through the sellers' shops."""
    from storefront.ledger import services as ledger
    from storefront.orders import services as orders
    from storefront.orders.models import PaymentMethod

    operator = find_user(OPERATOR[0])
    for key, shop_slug, name, phone, items, method, steps in ORDERS:
        if orders.order_by_key(key) is not None:
            continue
        quantities = {
            db.session.scalar(select(Product.id).filter_by(slug=slug)): quantity
            for slug, quantity in items.items()
        }
        shop = shops.find_shop(shop_slug)[0] if shop_slug else None
        customer = orders.Customer(name, phone, "浙江省杭州市西湖区文三路 100 号")
        order = orders.place_order(
            quantities, customer, PaymentMethod(method), shop, key
        )
        for step in steps:
            if step == "paid":
                orders.mark_paid(order, operator)
            elif step == "shipped":
                orders.ship(order, "顺丰 SF Express", f"SF{key[-1] * 10}", operator)
            elif step == "completed":
                orders.complete(order, operator)
            elif step == "cancelled":
                orders.cancel(order, operator)
            elif step == "refunded":
                orders.refund_all(order, operator)
            elif step == "part-refunded":
                orders.refund(order, {order.lines[0].id: 1}, operator)
            elif step == "settled":  # as the sweep will once the window passes
                days = get_setting("AFTER_SALE_DAYS")
                ledger.settle_due(utcnow() + timedelta(days=days, minutes=1))
            elif step == "payout":
                available = ledger.balances(shop)[ledger.A.AVAILABLE]
                ledger.record_payout(
                    shop, available, "微信支付 WeChat Pay", f"WX{key}", operator, key
                )


def load_groups() -> None:
    """Group-buy offers, and a group in every state, made through the
    services with the clock set back to when each group opened."""
    from storefront.groupbuy import services as groups
    from storefront.groupbuy.models import GroupOffer
    from storefront.orders import services as orders
    from storefront.orders.models import PaymentMethod

    now = utcnow()
    offers = {}
    for slug, price, size, hours in GROUP_OFFERS:
        product = db.session.scalar(select(Product).filter_by(slug=slug))
        offer = db.session.scalar(
            select(GroupOffer).filter_by(product_id=product.id).order_by(GroupOffer.id)
        )
        if offer is None:
            offer = groups.save_offer(
                groups.OfferData(
                    product_id=product.id,
                    group_price=price,
                    size=size,
                    window_hours=hours,
                    per_customer=2,
                    starts_at=now - timedelta(days=7),
                    ends_at=now + timedelta(days=60),
                    active=True,
                )
            )
        offers[slug] = offer
    operator = find_user(OPERATOR[0])
    for slug, shop_slug, age, members, paid, expire in GROUPS:
        if orders.order_by_key(members[0][0]) is not None:
            continue
        opened = now - timedelta(hours=age)
        placed = []
        for n, (key, name, phone) in enumerate(members):
            seat = groups.Seat(
                orders.Customer(name, phone, "浙江省杭州市西湖区文三路 100 号"),
                1,
                PaymentMethod.TRANSFER,
                key,
            )
            when = opened + timedelta(minutes=20 * n)
            if n == 0:
                shop = shops.find_shop(shop_slug)[0]
                order = groups.start_group(offers[slug], seat, shop, when)
                group = groups.group_of(order).group
            else:
                order = groups.join_group(group, seat, when)
            order.created_at = order.events[0].at = when
            placed.append(order)
        for order in placed:
            if order.checkout_key in paid:
                orders.mark_paid(order, operator)
                order.events[-1].at = order.created_at + timedelta(minutes=10)
        if expire:
            groups.expire(group, now)
