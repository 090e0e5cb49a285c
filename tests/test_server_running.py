"""Running ``certcli serve`` (SPEC §6) for real, each test on a copy of the prepared home
(``serve_template``, tests/conftest.py): the options it refuses to start with, a graceful
SIGTERM, two workers, HTTPS with a private CA."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta

import httpx

from serving import Server, certcli, copy_home

CERT = "2022ECO110100001"


# --- running it --------------------------------------------------------------------------------

def test_serve_refuses_what_it_must(tmp_path, serve_template):
    home = copy_home(serve_template, tmp_path / "home")
    public = certcli(home, "serve", "--host", "0.0.0.0", "--port", "1")
    assert public.code == 2 and "TLS" in public.json["error"]["message"]
    assert certcli(home, "serve", "--tls-cert", home / "x.pem").code == 2
    assert certcli(home, "serve", "--lookup-rate", "lots").code == 2
    missing = certcli(tmp_path / "nowhere", "serve", "--port", "1")
    assert missing.code == 7 and missing.error_code == "store_missing"
    with Server(home) as taken:
        again = certcli(home, "serve", "--port", taken.port, timeout=30)
        assert again.code == 8 and again.error_code == "serve_failed"


def test_sigterm_lets_the_request_in_flight_finish_and_exits_0(tmp_path, serve_template):
    home = copy_home(serve_template, tmp_path / "home")
    running = Server(home).wait_ready()
    outcome = {}

    def slow():  # a lookup takes at least 0.25 s (certcli.oracles)
        outcome["answer"] = httpx.get(f"{running.url}/api/v1/lookup", params={"number": CERT, "name": "王小明"},
                                      timeout=30)

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.2)  # the request is in flight (a lookup takes at least 0.25 s)
    started = time.monotonic()
    assert running.stop() == 0
    worker.join(10)
    assert time.monotonic() - started < 10
    assert outcome["answer"].status_code == 200 and outcome["answer"].json()["valid"] is True
    assert json.loads(running.stdout)["stopped_by"] == "SIGTERM"
    assert "Shutting down" in running.log()


def test_two_workers(tmp_path, serve_template):
    home = copy_home(serve_template, tmp_path / "home")
    with Server(home, "--workers", "2") as running:
        for _ in range(2):
            assert httpx.get(f"{running.url}/api/v1/verify/qr", timeout=30).status_code == 405
            assert httpx.post(f"{running.url}/api/v1/verify/qr", json={"payload": "x"}).json()["valid"] is False
    assert running.returncode == 0


def _tls_files(directory):
    """A private CA and a server certificate for 127.0.0.1 it signed (PEM files)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now().astimezone()
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certcli test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False),
                         critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = {"ca": directory / "ca.pem", "cert": directory / "server.pem", "key": directory / "server.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return files


def test_https_with_a_private_ca(tmp_path, serve_template):
    home = copy_home(serve_template, tmp_path / "home")
    files = _tls_files(tmp_path)
    running = Server(home, "--tls-cert", files["cert"], "--tls-key", files["key"], scheme="https")
    try:
        running.wait_ready(verify=False)
        import ssl

        answer = httpx.get(f"{running.url}/healthz", verify=ssl.create_default_context(cafile=str(files["ca"])))
        assert answer.status_code == 200 and answer.headers["strict-transport-security"].startswith("max-age=")
        trusted = certcli(tmp_path / "client", "--ca-bundle", files["ca"], "list", server=running.url)
        assert trusted.code == 3 and trusted.error_code == "not_logged_in"
        untrusted = certcli(tmp_path / "client", "list", server=running.url)
        assert untrusted.code == 8 and untrusted.error_code == "server_unreachable"
        assert "certificate" in untrusted.json["error"]["data"]["reason"].lower()
    finally:
        assert running.stop() == 0
