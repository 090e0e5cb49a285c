"""Holder accounts: registration, login sessions, lockout, service terms (R10, R11)."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from certcli import audit, rules
from certcli.errors import (
    AccountLocked,
    AlreadyRegistered,
    BadCredentials,
    BadInput,
    NotLoggedIn,
    TermsNotAccepted,
    WeakPassword,
)
from certcli.home import session_file, write_private
from certcli.store import Store, iso, parse_instant

MIN_PASSWORD_LENGTH = 8
MAX_NAME_LENGTH = 64

# scrypt with N=2^14, r=8: 16 MiB of memory per guess, ~50 ms here.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 2**20, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
        maxmem=64 * 2**20, dklen=len(digest) // 2,
    )
    return hmac.compare_digest(candidate.hex(), digest)


# A hash to check against when the account does not exist, so that a wrong ID
# number takes as long as a wrong password and does not reveal who is registered.
_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH


@dataclass(frozen=True)
class Account:
    id: int
    id_type: str
    id_number: str
    name: str
    terms_version: int | None

    @classmethod
    def from_row(cls, row: dict) -> "Account":
        return cls(row["id"], row["id_type"], row["id_number"], row["name"], row["terms_version"])


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(min_length=MIN_PASSWORD_LENGTH)


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(c.isspace() or ord(c) < 32 for c in name):
        raise BadInput(field="--name", reason="invalid_name")
    return name


def register(store: Store, *, id_type: str, id_number: str, name: str, password: str, now: datetime) -> Account:
    id_number = rules.normalize_id_number(id_type, id_number)
    name = check_name(name)
    check_password_strength(password)
    password_hash = hash_password(password)
    with store.transaction() as conn:
        if conn.execute(
            "SELECT 1 FROM accounts WHERE id_type = ? AND id_number = ?", (id_type, id_number)
        ).fetchone():
            raise AlreadyRegistered(id_type=id_type)
        cursor = conn.execute(
            "INSERT INTO accounts (id_type, id_number, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (id_type, id_number, name, password_hash, iso(now)),
        )
        audit.append(conn, now=now, actor=f"holder:{cursor.lastrowid}", action="register",
                     subject=rules.mask_id_number(id_number))
    return Account(cursor.lastrowid, id_type, id_number, name, None)


def _find_account(store: Store, id_type: str | None, id_number: str) -> dict | None:
    number = (id_number or "").strip().upper()
    if id_type:
        return store.one("SELECT * FROM accounts WHERE id_type = ? AND id_number = ?", (id_type, number))
    # members log in with --cert-number, which forces the initial-password change
    rows = store.all("SELECT * FROM accounts WHERE id_number = ? AND id_type != 'member'", (number,))
    return rows[0] if len(rows) == 1 else None


def login(store: Store, home: Path, *, id_number: str, password: str, now: datetime,
          id_type: str | None = None) -> Account:
    """Check the password (with lockout) and open a session stored in the home."""
    with store.transaction() as conn:
        row = _find_account(store, id_type, id_number)
        if row is None:
            verify_password(_dummy_hash(), password)
            raise BadCredentials()
        rules.check_not_locked(parse_instant(row["locked_until"]), now)
        if not verify_password(row["password_hash"], password):
            failed, locked_until = rules.after_failed_login(row["failed_logins"], now)
            conn.execute(
                "UPDATE accounts SET failed_logins = ?, locked_until = ? WHERE id = ?",
                (failed, iso(locked_until), row["id"]),
            )
            error = BadCredentials() if locked_until is None \
                else AccountLocked(until=locked_until)
            audit.append(conn, now=now, actor=f"holder:{row['id']}", action="login_failed",
                         locked=locked_until is not None)
        else:
            error = None
            conn.execute("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = ?", (row["id"],))
            token = secrets.token_urlsafe(32)
            conn.execute(
                "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                (_token_hash(token), row["id"], iso(now), iso(now)),
            )
            audit.append(conn, now=now, actor=f"holder:{row['id']}", action="login")
    if error is not None:  # raised after COMMIT so the failure count is kept
        raise error
    write_private(session_file(home), json.dumps({"token": token}).encode())
    return Account.from_row(row)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _read_token(home: Path) -> str | None:
    try:
        return json.loads((session_file(home)).read_text())["token"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def logout(store: Store, home: Path) -> bool:
    token = _read_token(home)
    (session_file(home)).unlink(missing_ok=True)
    if token is None:
        return False
    with store.transaction() as conn:
        conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))
    return True


def current_account(store: Store, home: Path, now: datetime) -> Account:
    """The logged-in holder; the session expires after 8 idle hours."""
    token = _read_token(home)
    if token is None:
        raise NotLoggedIn()
    token_hash = _token_hash(token)
    row = store.one(
        "SELECT a.*, s.last_seen_at FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?",
        (token_hash,),
    )
    if row is None:
        raise NotLoggedIn()
    if rules.session_expired(parse_instant(row["last_seen_at"]), now):
        with store.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))
        raise NotLoggedIn(reason="expired")
    with store.transaction() as conn:
        conn.execute("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", (iso(now), token_hash))
    return Account.from_row(row)


# --- Terms (R11) -------------------------------------------------------------

def _builtin_terms() -> tuple[str, str]:
    from importlib.resources import files

    data = json.loads(files("certcli.data").joinpath("terms.json").read_text(encoding="utf-8"))
    return data["zh"], data["en"]


def current_terms(store: Store, now: datetime) -> dict:
    row = store.one("SELECT * FROM terms ORDER BY version DESC LIMIT 1")
    if row is None:
        text_zh, text_en = _builtin_terms()
        with store.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO terms (version, text_zh, text_en, published_at) VALUES (1, ?, ?, ?)",
                (text_zh, text_en, iso(now)),
            )
        row = store.one("SELECT * FROM terms ORDER BY version DESC LIMIT 1")
    return row


def publish_terms(store: Store, *, text_zh: str, text_en: str, now: datetime) -> int:
    current = current_terms(store, now)
    with store.transaction() as conn:
        version = current["version"] + 1
        conn.execute(
            "INSERT INTO terms (version, text_zh, text_en, published_at) VALUES (?, ?, ?, ?)",
            (version, text_zh, text_en, iso(now)),
        )
        audit.append(conn, now=now, actor="admin", action="terms_published", version=version)
    return version


def accept_terms(store: Store, account: Account, now: datetime) -> int:
    version = current_terms(store, now)["version"]
    with store.transaction() as conn:
        conn.execute(
            "UPDATE accounts SET terms_version = ?, terms_accepted_at = ? WHERE id = ?",
            (version, iso(now), account.id),
        )
        audit.append(conn, now=now, actor=f"holder:{account.id}", action="terms_accepted", version=version)
    return version


def require_terms(store: Store, account: Account, now: datetime) -> None:
    version = current_terms(store, now)["version"]
    if account.terms_version != version:
        raise TermsNotAccepted(current_version=version)
