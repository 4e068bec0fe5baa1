"""AccountRepository: the TOTP step compare-and-set, tokens and reset links by hash, password change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mimamori.domain.models import Role
from mimamori.errors import NotFoundError
from mimamori.storage import Repositories

from ..samples import T0


def test_totp_steps_only_move_forward(repos: Repositories) -> None:
    user = repos.users.add("soc@provider.example", "SOC", Role.ANALYST, "h")
    assert repos.accounts.totp(user.id) is None
    repos.accounts.start_totp(user.id, "JBSWY3DPEHPK3PXP", T0)
    record = repos.accounts.totp(user.id)
    assert record is not None
    assert not record.confirmed
    repos.accounts.confirm_totp(user.id, T0)
    assert repos.accounts.use_totp_step(user.id, 100)
    assert not repos.accounts.use_totp_step(user.id, 100)  # the same step twice
    assert not repos.accounts.use_totp_step(user.id, 99)
    assert repos.accounts.use_totp_step(user.id, 101)
    after = repos.accounts.totp(user.id)
    assert after is not None
    assert after.confirmed
    assert after.last_step == 101
    assert repos.accounts.delete_totp(user.id)
    assert not repos.accounts.delete_totp(user.id)


def test_tokens_resets_and_password(repos: Repositories) -> None:
    user = repos.users.add("a@provider.example", "A", Role.ANALYST, "old-hash")
    repos.users.record_login_failure(user.id, T0 + timedelta(hours=1))
    added = repos.accounts.add_token(
        user.id, "n", "mmr_abcdefgh", "f" * 64, scopes=("read",), now=T0, expires_at=None
    )
    assert repos.accounts.token_by_hash("f" * 64) == added
    assert repos.accounts.token_by_hash("e" * 64) is None
    repos.accounts.touch_token(added.id, T0 + timedelta(minutes=1))
    repos.accounts.revoke_token(added.id, T0 + timedelta(minutes=2))
    repos.accounts.revoke_token(added.id, T0 + timedelta(minutes=3))  # the first revocation time stays
    (listed,) = repos.accounts.tokens(user.id)
    assert listed.last_used_at == T0 + timedelta(minutes=1)
    assert listed.revoked_at == T0 + timedelta(minutes=2)
    with pytest.raises(NotFoundError):
        repos.accounts.token("missing")

    repos.accounts.add_reset(user.id, "1" * 64, T0, T0 + timedelta(hours=1))
    repos.accounts.add_reset(user.id, "2" * 64, T0, T0 + timedelta(hours=1))
    repos.accounts.use_resets(user.id, T0)
    for digest in ("1" * 64, "2" * 64):
        reset = repos.accounts.reset_by_hash(digest)
        assert reset is not None
        assert reset.used_at == T0

    repos.accounts.set_password_hash(user.id, "new-hash")
    assert repos.accounts.password_hash(user.id) == "new-hash"
    state = repos.users.login_state(user.id)
    assert state.failed_logins == 0
    assert state.locked_until is None
    with pytest.raises(NotFoundError):
        repos.accounts.set_password_hash("missing", "x")
