"""The browser every phone journey and page measurement uses: Debian's Chromium
through Playwright (``playwright install`` cannot download here), at a phone's
viewport."""

#: Debian's Chromium and the flags it needs here: no sandbox in a container, no
#: GPU, no update checks or other traffic of its own (which a page weight would
#: count).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
#: A mid-size phone held upright (an iPhone 12-14's CSS viewport).
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-US",
}
