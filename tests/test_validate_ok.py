"""The valid baseline, and the commands' plain success paths."""

from __future__ import annotations

from conftest import Repo


def test_valid_repository_passes(repo: Repo, hubops) -> None:  # type: ignore[no-untyped-def]
    result = hubops("validate", "tenants")
    assert result.code == 0, result.text
    assert "Valid: 1 tenant." in result.out
    assert "error" not in result.text
    for secret in repo.secret_values():
        assert secret not in result.text
