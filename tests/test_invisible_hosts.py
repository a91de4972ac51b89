"""Webhook hosts with invisible or compatibility characters are checked as a resolver reads them.

A resolver maps a host name before looking it up (UTS 46: compatibility
forms folded, ignorable characters such as a soft hyphen or a zero-width
space dropped), so the offline check in `validate` maps it the same way; a
character that survives the mapping but shows nothing is refused outright.
"""

from __future__ import annotations

import pytest

from conftest import Repo

URL = "https://pos.acme.example/hooks/orders"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://127.0.0.1\u00ad/hooks", 'its host "127.0.0.1" is a loopback address'),
        ("https://local\u200bhost/x", 'its host "localhost" is local'),
        ("https://10.0.0.1\u2060/x", 'its host "10.0.0.1" is a private or reserved address'),
        ("https://\uff11\uff12\uff17.0.0.1/x", 'its host "127.0.0.1" is a loopback address'),
        ("https://LOCAL\ufeffHOST./x", 'its host "localhost" is local'),
        ("https://pos\u200d.acme.example/x", "its host contains invisible, control or other"),
        ("https://pos\u3000acme.example/x", "its host contains invisible, control or other"),
    ],
)
def test_webhook_host_is_checked_as_a_resolver_maps_it(
    repo: Repo, hubops, url: str, says: str
) -> None:  # type: ignore[no-untyped-def]
    repo.edit("api.yaml", URL, f'"{url}"')
    result = hubops("validate", "tenants")
    assert result.code == 1, result.text
    line = repo.line_of("api.yaml", "url:")
    assert (
        f"tenants/acme/api.yaml:{line}:8: error: webhook url is not allowed: {says}" in result.out
    )


def test_an_internationalised_public_host_stays_allowed(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    repo.edit("api.yaml", URL, '"https://b\u00fccher.example/hooks"')
    assert hubops("validate", "tenants").code == 0
