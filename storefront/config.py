"""Default settings.

Every name here can be overridden, in this order, by ``instance/config.py``, by an
environment variable with the ``STOREFRONT_`` prefix (``STOREFRONT_CURRENCY=USD``;
values are parsed as JSON when they can be) and by the test configuration.
"""

from datetime import timedelta

#: ``sqlite:///path`` or ``postgresql://user:pw@host/db``; empty means
#: ``instance/storefront.db``.
DATABASE_URL = ""
#: Failed statements are logged without their values (password hashes, tokens).
SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}
#: Generated into ``instance/secret_key`` on first run when not set.
SECRET_KEY = None

SHOP_NAME = "Storefront"
#: ISO 4217 code; every amount is stored in this currency's minor units.
CURRENCY = "CNY"
#: Locales offered in the UI; the first is used when the browser asks for none.
LANGUAGES = ["zh_CN", "en"]
BABEL_DEFAULT_LOCALE = "zh_CN"
BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"

#: Sessions are signed cookies; a login lasts this long on a phone.
PERMANENT_SESSION_LIFETIME = timedelta(days=30)
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
#: Also sent Secure whenever the request itself came over https.
SESSION_COOKIE_SECURE = False
#: Number of reverse proxies in front of the app whose X-Forwarded-* to trust.
PROXY_COUNT = 0

WTF_CSRF_TIME_LIMIT = None
#: Largest upload (bytes); bigger requests get a 413 page.
MAX_CONTENT_LENGTH = 8 * 1024 * 1024
#: Widths (px) each product image is resized to, as WebP.
IMAGE_WIDTHS = [360, 720, 1080]
#: Uploaded images larger than this many pixels are refused.
IMAGE_MAX_PIXELS = 40_000_000

#: Shop pages' product grids each worker keeps rendered (about 20 KB each).
SHOP_GRID_CACHE = 200
#: Whole shop pages (per language) each worker keeps for visitors who are not
#: signed in, compressed and not (about 30 KB each).
SHOP_PAGE_CACHE = 200

#: Where rate-limit counters live: "memory://" counts in each gunicorn process
#: (a limit then holds per process); "redis://host:6379" or
#: "redis+unix:///run/redis/redis.sock" shares them between processes and hosts.
RATELIMIT_STORAGE_URI = "memory://"
#: When Redis is away, count in each process meanwhile rather than fail pages
#: (and let through, with a logged error, the requests that found it gone).
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
RATELIMIT_SWALLOW_ERRORS = True
RATELIMIT_HEADERS_ENABLED = True
LOGIN_RATE_LIMIT = "10 per minute;50 per hour"

#: Commission, changeable in /admin/commissions: the default rate in basis
#: points (1000 = 10%; a product may have its own), the rate the seller's
#: recruiter earns on the same sale (0 turns level 2 off), the days after
#: completion before it can be paid out, and the smallest payout (minor units).
COMMISSION_BP = 1000
LEVEL2_COMMISSION_BP = 200
AFTER_SALE_DAYS = 7
MINIMUM_PAYOUT = 1000

#: Region assumed for mobile numbers typed without a country code.
PHONE_REGION = "CN"
#: New sellers' shops wait for the operator's approval (changeable in /admin).
SIGNUP_APPROVAL = False
SIGNUP_RATE_LIMIT = "10 per hour"

#: How long a referral link keeps crediting its seller.
REFERRAL_WINDOW_DAYS = 30
#: "last" (the latest shop link visited wins) or "first" (the first one holds).
REFERRAL_CLICK = "last"
#: Customer binding: "first-bind" (a phone stays with the first shop it bought
#: through), "override-on-click" (the latest attributed order rebinds it) or "off".
BINDING_POLICY = "first-bind"
BINDING_DAYS = 365

#: A font with Chinese glyphs for share posters (Debian: fonts-noto-cjk).
POSTER_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
POSTER_FONT_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"

#: Flat shipping fee and the order subtotal from which shipping is free (minor
#: units); the operator changes both in /admin/settings.
SHIPPING_FEE = 1000
FREE_SHIPPING_OVER = 9900
#: Payment methods offered at checkout: "transfer" and/or "cod".
PAYMENT_METHODS = ["transfer", "cod"]
#: What a customer paying by transfer is told (the operator's account, QR...).
PAYMENT_INSTRUCTIONS = ""
#: Unpaid orders are cancelled (and their stock returned) after this many hours.
UNPAID_ORDER_HOURS = 48
ORDER_LOOKUP_RATE_LIMIT = "10 per minute"
CHECKOUT_RATE_LIMIT = "20 per minute"
#: Most of one product a cart may hold.
MAX_QUANTITY = 99
PAYMENT_QR = ""  #: the payment QR image: its file name in UPLOAD_FOLDER, or ""
