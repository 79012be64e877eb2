"""Spiders: each parses one kind of site into :class:`crawlers.items.CommentItem` and nothing else.

The demo spiders crawl the local demo site, so they drop the politeness delays that real sites
need; they take the site's root as the ``base_url`` spider argument.
"""

LOOPBACK_SETTINGS = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}
DEMO_SITE = "http://127.0.0.1:8080"
"""Where ``yuqing demo-site`` serves by default."""
