"""A home set up with the CLI itself, as a user would: keys, a roster, a holder
with one processed annotation and a downloaded, verified PDF."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.common import NOW_ISO, PASSPHRASE, PASSWORD, base_env, log, run_cli
from bench.rosters import certificate_numbers, person, write_roster

ROSTER_ROWS = 30
HOLDER = 0  # the first holder of the roster; their first certificate is ministry-sealed


@dataclass
class CliHome:
    home: Path
    env: dict
    certificate_no: str
    pdf: Path
    bundle: Path
    root_pem: Path
    workdir: Path


def root_pem_from_bundle(bundle_pem: bytes) -> bytes:
    """The first certificate in the trust bundle with CA=true is the issuer root."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    for cert in x509.load_pem_x509_certificates(bundle_pem):
        try:
            if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                return cert.public_bytes(Encoding.PEM)
        except x509.ExtensionNotFound:
            continue
    raise RuntimeError("no CA certificate in the trust bundle")


def setup(workdir: Path, pycache: Path) -> CliHome:
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    env = base_env(pycache, CERTCLI_HOME=str(home), CERTCLI_NOW=NOW_ISO, CERTCLI_KEY_PASSPHRASE=PASSPHRASE,
                   CERTCLI_PASSWORD=PASSWORD)
    roster = write_roster(workdir / "roster.csv", ROSTER_ROWS)
    name, id_number = person(HOLDER)
    number = certificate_numbers(HOLDER)[0]
    pdf, bundle = workdir / f"{number}.pdf", workdir / "bundle.pem"
    steps = [
        ["admin", "init"], ["admin", "issue", str(roster)],
        ["register", "--name", name, "--id-number", id_number], ["login", "--id-number", id_number],
        ["agree", "--yes"], ["list"], ["info", number], ["annotate", number], ["admin", "process"],
        ["download", number, "-o", str(pdf)], ["verify", str(pdf)], ["admin", "trust", "-o", str(bundle)],
    ]
    for args in steps:
        log(f"cli home: certcli {' '.join(args[:2])}")
        run_cli(args, env, cwd=workdir)
    root_pem = workdir / "root.pem"
    root_pem.write_bytes(root_pem_from_bundle(bundle.read_bytes()))
    return CliHome(home, env, number, pdf, bundle, root_pem, workdir)
