"""``mimamori users reset-totp`` and ``mimamori users token create|list|revoke`` (for administrators)."""

from __future__ import annotations

import json

import typer

from mimamori.cli.context import database
from mimamori.services import accounts

token_app = typer.Typer(help="Personal API tokens of a user.", no_args_is_help=True)


def reset_totp(email: str) -> None:
    """Remove a user's two-factor secret: they set up a new one at their next login (a lost phone)."""
    user = accounts.reset_totp(database(), email)
    typer.echo(f"two-factor reset for {user.email}; a new secret is set up at the next login")


@token_app.command("create")
def token_create(
    email: str,
    name: str = typer.Option(..., "--name", help="What the token is for."),
    scope: list[str] = typer.Option(
        ["read"], "--scope", help="read or write (repeatable; write implies read)."
    ),
    expires_in_days: int | None = typer.Option(None, "--expires-in-days", min=1, max=accounts.MAX_TOKEN_DAYS),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create an API token acting as EMAIL; prints its value once."""
    db = database()
    user = accounts.user_by_email(db, email)
    record, value = accounts.create_token(db, user, name, scope, expires_in_days=expires_in_days)
    if as_json:
        typer.echo(json.dumps({**accounts.token_to_dict(record), "token": value}))
    else:
        typer.echo(f"token {record.id} ({' '.join(record.scopes)})\n{value}\n(shown once; keep it secret)")


@token_app.command("list")
def token_list(email: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """List a user's API tokens (prefix, scopes, expiry, last use; never the value)."""
    db = database()
    rows = [accounts.token_to_dict(t) for t in accounts.list_tokens(db, accounts.user_by_email(db, email))]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        state = "revoked" if r["revoked_at"] else f"expires {r['expires_at'] or 'never'}"
        scopes = ",".join(str(s) for s in r["scopes"])  # type: ignore[attr-defined]
        typer.echo(
            f"{r['id']}\t{r['prefix']}…\t{scopes}\t{r['name']}\t{state}\tlast used {r['last_used_at']}"
        )


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke an API token by id (any user's)."""
    accounts.revoke_token(database(), None, token_id)
    typer.echo(f"token {token_id} revoked")
