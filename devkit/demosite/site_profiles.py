"""The demo site's profiles, copied for a site running on another port.

The shipped profiles (``profiles/``) point at ``yuqing demo-site``'s default address; the demo,
the benches and the tests run the site on a free port and crawl copies pointed there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from crawlers.spiders import DEMO_SITE

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
PROFILES = ("demo-weibo.yaml", "demo-shop.toml", "demo-forum.yaml", "demo-feed.toml")


def profile_copies(port: int, directory: Path, names: Sequence[str] = PROFILES,
                   edits: Sequence[tuple[str, str]] = ()) -> list[Path]:
    """The demo profiles ``names``, pointed at the site on ``port`` instead of the default
    address, with each ``(old, new)`` of ``edits`` made to their text where it occurs."""
    copies = []
    for name in names:
        text = (PROFILES_DIR / name).read_text(encoding="utf-8").replace(
            DEMO_SITE, f"http://127.0.0.1:{port}")
        for old, new in edits:
            text = text.replace(old, new)
        copy = directory / name
        copy.write_text(text, encoding="utf-8")
        copies.append(copy)
    return copies
