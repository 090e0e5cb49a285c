"""The server's scrypt (certcli.server.state): libsodium's when PyNaCl is there, always
hashlib's bytes, on a fixed pool of threads."""
from __future__ import annotations

import hashlib
import threading

import pytest

from certcli import accounts, passwords
from certcli.server.options import ServeOptions
from certcli.server.state import ServerState, fastest_scrypt, hashlib_scrypt

# RFC 7914 §12
VECTORS = [
    (b"", b"", 16, 1, 1, 64, "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
                             "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"),
    (b"password", b"NaCl", 1024, 8, 16, 64, "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
                                            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"),
]


@pytest.mark.parametrize("vector", VECTORS)
def test_the_servers_scrypt_gives_the_rfc_7914_answers(vector):
    *arguments, expected = vector
    assert fastest_scrypt()(*arguments).hex() == expected
    assert hashlib_scrypt(*arguments).hex() == expected


def test_login_strength_hashes_agree_with_hashlib():
    salt = bytes(range(16))
    assert fastest_scrypt()("密码 password".encode(), salt, 2**14, 8, 1, 32) == \
        hashlib.scrypt("密码 password".encode(), salt=salt, n=2**14, r=8, p=1, maxmem=64 * 2**20, dklen=32)


def test_a_started_server_computes_every_scrypt_on_its_pool(tmp_path):
    server = ServerState(ServeOptions(home=str(tmp_path)))
    seen = []
    server.start()
    try:
        compute = server._compute
        server._compute = lambda *a: (seen.append(threading.current_thread().name), compute(*a))[1]
        stored = accounts.hash_password("a password of the server")
        assert accounts.verify_password(stored, "a password of the server")
        assert not accounts.verify_password(stored, "another password")
    finally:
        server.stop()
    assert len(seen) == 3 and all(name.startswith("certcli-scrypt") for name in seen)
    assert accounts.verify_password(stored, "a password of the server")   # hashlib again, same answer
    assert passwords._scrypt_runner is None
