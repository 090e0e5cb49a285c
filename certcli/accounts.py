"""Holder accounts: registration, login sessions, lockout, service terms (R10, R11)."""
from __future__ import annotations

import hashlib
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
from certcli.passwords import _dummy_hash, hash_password, password_work, verify_password  # noqa: F401 - re-exported
from certcli.store import Store, iso, lock_rows, parse_instant

MIN_PASSWORD_LENGTH = 8
MAX_NAME_LENGTH = rules.MAX_NAME_LENGTH

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
    """The name as it is kept (:func:`certcli.rules.check_name`)."""
    return rules.check_name(name)


# The password hash of an account an administrator reset (``admin account reset``): no
# password matches it, and the next registration with its ID document replaces it.
RESET_MARK = "!reset"


@dataclass(frozen=True)
class Registration:
    account: Account
    replaced: str | None = None  # None: a new account; else why an existing one was replaced


def names_with_certificates(conn, id_type: str, id_number: str) -> set[str]:
    """The name keys (:func:`certcli.rules.name_key`) of the qualification certificates
    issued to this ID document: the names a holder can register with and see them."""
    rows = conn.execute("SELECT DISTINCT name FROM certificates WHERE id_type = ? AND id_number = ? "
                        "AND kind != 'membership'", (id_type, id_number)).fetchall()
    return {rules.name_key(row[0]) for row in rows}


def register(store: Store, *, id_type: str, id_number: str, name: str, password: str, now: datetime) -> Account:
    """The registered account (:func:`register_holder`)."""
    return register_holder(store, id_type=id_type, id_number=id_number, name=name, password=password,
                           now=now).account


def register_holder(store: Store, *, id_type: str, id_number: str, name: str, password: str,
                    now: datetime) -> Registration:
    """A new account, or (R9: the name or ID number was corrected, so the holder registers
    again) a replacement for the account of the same ID document when that account sees
    no certificate and the new details do, or when an administrator reset it.  An account
    that sees certificates is never taken over this way (AlreadyRegistered)."""
    id_number = rules.normalize_id_number(id_type, id_number)
    name = check_name(name)
    check_password_strength(password)
    password_hash = hash_password(password)
    with store.transaction() as conn:
        existing = conn.execute("SELECT id, name, password_hash FROM accounts WHERE id_type = ? AND id_number = ?",
                                (id_type, id_number)).fetchone()
        if existing is None:
            account_id = conn.execute(
                "INSERT INTO accounts (id_type, id_number, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?) "
                "RETURNING id", (id_type, id_number, name, password_hash, iso(now)),
            ).fetchall()[0][0]
            audit.append(conn, now=now, actor=f"holder:{account_id}", action="register",
                         subject=rules.mask_id_number(id_number))
            return Registration(Account(account_id, id_type, id_number, name, None))
        account_id, old_name, old_hash = existing[0], existing[1], existing[2]
        replaced = _replacement(conn, id_type, id_number, old_name, name, old_hash)
        conn.execute("UPDATE accounts SET name = ?, password_hash = ?, created_at = ?, failed_logins = 0, "
                     "locked_until = NULL, terms_version = NULL, terms_accepted_at = NULL WHERE id = ?",
                     (name, password_hash, iso(now), account_id))
        conn.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,))
        audit.append(conn, now=now, actor=f"holder:{account_id}", action="account_replaced",
                     subject=rules.mask_id_number(id_number), reason=replaced, old_name=rules.mask_name(old_name),
                     new_name=rules.mask_name(name))
    return Registration(Account(account_id, id_type, id_number, name, None), replaced)


def _replacement(conn, id_type: str, id_number: str, old_name: str, new_name: str, old_hash: str) -> str:
    """Why the existing account may be replaced, or AlreadyRegistered (with what would help)."""
    if old_hash == RESET_MARK:
        return "reset_by_administrator"
    held = names_with_certificates(conn, id_type, id_number)
    if rules.name_key(old_name) in held:
        raise AlreadyRegistered(id_type=id_type, reason="account_has_certificates")
    if rules.name_key(new_name) not in held:
        raise AlreadyRegistered(id_type=id_type, reason="name_matches_no_certificate")
    return "details_corrected"


# --- Administrators: look at an account, reset it (disputes) ------------------------------

def find_for_admin(store: Store, id_number: str, id_type: str | None = None) -> dict:
    """One account by ID document (``admin account show``): NotFound, or ambiguous
    (the same number under two ID types) as BadInput asking for --id-type."""
    from certcli.errors import NotFound

    number = (id_number or "").strip().upper()
    if id_type:
        number = rules.normalize_id_number(id_type, number) if id_type in rules.ID_TYPES else number
        rows = store.all("SELECT * FROM accounts WHERE id_type = ? AND id_number = ?", (id_type, number))
    else:
        rows = store.all("SELECT * FROM accounts WHERE id_number = ?", (number,))
    if not rows:
        raise NotFound(what="account", value=rules.mask_id_number(number) if number else "")
    if len(rows) > 1:
        raise BadInput(field="--id-type", reason="ambiguous_id_number", known=sorted(r["id_type"] for r in rows))
    return rows[0]


def describe_for_admin(store: Store, row: dict, now: datetime) -> dict:
    """What an administrator needs to settle a dispute about an account (the viewing is audited)."""
    audit.record(store, now=now, actor="admin", action="account_viewed", subject=rules.mask_id_number(row["id_number"]),
                 account_id=row["id"], id_type=row["id_type"])
    held = names_with_certificates(store.conn, row["id_type"], row["id_number"])
    certificates = store.all("SELECT certificate_no, name, qualification, status FROM certificates "
                             "WHERE id_type = ? AND id_number = ? AND kind != 'membership' ORDER BY issued_on, "
                             "certificate_no", (row["id_type"], row["id_number"]))
    sessions = store.one("SELECT COUNT(*) AS n, MAX(last_seen_at) AS last FROM sessions WHERE account_id = ?",
                         (row["id"],))
    locked_until = parse_instant(row["locked_until"])
    return {
        "account_id": row["id"], "id_type": row["id_type"],
        "id_number_masked": rules.mask_id_number(row["id_number"]), "name": row["name"],
        "registered_at": row["created_at"], "reset": row["password_hash"] == RESET_MARK,
        "terms_version": row["terms_version"], "terms_accepted_at": row["terms_accepted_at"],
        "locked_until": row["locked_until"] if locked_until is not None and now < locked_until else None,
        "failed_logins": row["failed_logins"], "sessions": sessions["n"], "last_seen_at": sessions["last"],
        "matches_certificates": rules.name_key(row["name"]) in held,
        "certificates": [{**c, "name_matches": rules.name_key(c["name"]) == rules.name_key(row["name"])}
                         for c in certificates],
    }


def reset_for_admin(store: Store, row: dict, *, reason: str | None, now: datetime) -> dict:
    """Free an account's ID document (``admin account reset``): its password stops working,
    its sessions end, and the next registration with that document replaces it (whatever
    name it gives; the certificates it then sees are those of the name it registers)."""
    with store.transaction() as conn:
        conn.execute("UPDATE accounts SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE id = ?",
                     (RESET_MARK, row["id"]))
        ended = conn.execute("DELETE FROM sessions WHERE account_id = ?", (row["id"],)).rowcount
        audit.append(conn, now=now, actor="admin", action="account_reset",
                     subject=rules.mask_id_number(row["id_number"]), account_id=row["id"], id_type=row["id_type"],
                     name=rules.mask_name(row["name"]), reason=reason or None)
    return {"account_id": row["id"], "id_type": row["id_type"],
            "id_number_masked": rules.mask_id_number(row["id_number"]), "name": row["name"], "reset": True,
            "sessions_ended": max(ended, 0)}


def _find_account(store: Store, id_type: str | None, id_number: str, lock: str = "") -> dict | None:
    """``lock``: :func:`certcli.store.lock_rows`, when the caller updates the row it read."""
    number = (id_number or "").strip().upper()
    if id_type:
        return store.one("SELECT * FROM accounts WHERE id_type = ? AND id_number = ?" + lock, (id_type, number))
    # members log in with --cert-number, which forces the initial-password change
    rows = store.all("SELECT * FROM accounts WHERE id_number = ? AND id_type != 'member'" + lock, (number,))
    return rows[0] if len(rows) == 1 else None


def login(store: Store, home: Path | TokenSession, *, id_number: str, password: str, now: datetime,
          id_type: str | None = None) -> Account:
    """Check the password (with lockout) and open a session stored in the home.

    scrypt runs before the write transaction (inside, it held the write lock: one login at a
    time, every writer waiting).  The transaction reads the account again and rules on that:
    a lockout begun meanwhile refuses even the right password, failures count on the count
    read under the lock, and the check stands only for the hash it was made against (else it
    is made again).  So parallel guesses get no more answers than serial ones."""
    for _attempt in range(3):
        row = _find_account(store, id_type, id_number)
        if row is None:
            verify_password(_dummy_hash(), password)
            raise BadCredentials()
        rules.check_not_locked(parse_instant(row["locked_until"]), now)
        matches = verify_password(row["password_hash"], password)
        with store.transaction() as conn:
            checked, row = row, _find_account(store, id_type, id_number, lock_rows(conn))   # read, then write
            if row is None or (row["id"], row["password_hash"]) != (checked["id"], checked["password_hash"]):
                continue    # changed while the password was checked: check it again
            rules.check_not_locked(parse_instant(row["locked_until"]), now)
            if not matches:
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
        break
    else:
        raise BadCredentials()      # the account kept changing under the check
    if error is not None:  # raised after COMMIT so the failure count is kept
        raise error
    _session(home).write(token)
    return Account.from_row(row)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- Where the session token is kept ----------------------------------------
# ``home`` in login/logout/current_account is the home folder (the CLI: the token
# in its session file, 0600) or a TokenSession (``certcli serve``: the bearer token
# of one request).  The store keeps only the token's hash either way.

class TokenSession:
    """The session token of one HTTP request (``Authorization: Bearer``); login puts
    the new token here for the response, logout clears it."""

    def __init__(self, token: str | None = None):
        self.token = token or None

    def read(self) -> str | None:
        return self.token

    def write(self, token: str) -> None:
        self.token = token

    def clear(self) -> None:
        self.token = None


class _HomeSession:
    """The home's session file."""

    def __init__(self, home: Path):
        self.path = session_file(home)

    def read(self) -> str | None:
        try:
            return json.loads(self.path.read_text())["token"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, token: str) -> None:
        write_private(self.path, json.dumps({"token": token}).encode())

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _session(home: Path | TokenSession) -> TokenSession | _HomeSession:
    return home if isinstance(home, TokenSession) else _HomeSession(home)


def _read_token(home: Path | TokenSession) -> str | None:
    return _session(home).read()


def logout(store: Store, home: Path | TokenSession) -> bool:
    token = _read_token(home)
    _session(home).clear()
    if token is None:
        return False
    with store.transaction() as conn:
        conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))
    return True


def current_account(store: Store, home: Path | TokenSession, now: datetime) -> Account:
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
                "INSERT INTO terms (version, text_zh, text_en, published_at) VALUES (1, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
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
