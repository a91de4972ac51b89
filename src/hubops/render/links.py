"""Markdown links to partners' user guides that cannot carry anything but a link.

The name is catalog text and the URL comes from the catalog (or a plan file,
which anyone can edit), so both are treated as untrusted: the name is
escaped for Markdown and HTML (`escape.markdown_text`; GitHub renders both
in a comment), and only
an absolute https URL becomes a link, percent-encoded so that no character
of it can end the link or start markup. Anything else is shown as the bare
name.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from hubops.render.escape import markdown_text

# Characters a URL may keep as they are; everything else (spaces, quotes,
# brackets, parentheses, angle brackets, backslashes, controls, non-ASCII) is encoded.
_URL_SAFE = "/:@!$&'*+,;=?#%~-._"


def safe_url(url: str | None) -> str | None:
    """The URL percent-encoded for a Markdown link, or None unless it is absolute https."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname or not url.startswith("https://"):
        return None
    return quote(url, safe=_URL_SAFE)


def markdown_link(name: str, url: str | None) -> str:
    text = markdown_text(name)
    target = safe_url(url)
    return f"[{text}]({target})" if target else text
