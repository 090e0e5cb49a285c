"""Password hashing (R10): scrypt at N=2^14, r=8, p=1 for every stored password, every
login attempt and every guess at a public oracle (certcli.oracles), so each costs the same."""
from __future__ import annotations

import hashlib
import hmac
import secrets

# scrypt with N=2^14, r=8: 16 MiB of memory per guess, ~50 ms here.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_scrypt_runner = None     # see run_scrypt_in


def run_scrypt_in(runner) -> None:
    """Compute every scrypt as ``runner(secret, salt, n, r, p, dklen)`` (hashlib's bytes), or
    with hashlib here again (None): ``certcli serve`` uses its scrypt threads (certcli.server.state)."""
    global _scrypt_runner
    _scrypt_runner = runner


def _scrypt(secret: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    if _scrypt_runner is not None:
        return _scrypt_runner(secret, salt, n, r, p, dklen)
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=dklen)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password.encode(), salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def password_work(text: str) -> None:
    """One scrypt at the login's cost, its result thrown away: what every guess at a
    public oracle pays (certcli.oracles), so it costs what a login attempt costs."""
    _scrypt(text.encode(), b"certcli guess", dklen=32, **_SCRYPT)


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = _scrypt(password.encode(), bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                        dklen=len(digest) // 2)
    return hmac.compare_digest(candidate.hex(), digest)


# A hash to check against when the account does not exist, so that a wrong ID
# number takes as long as a wrong password and does not reveal who is registered.
_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH
