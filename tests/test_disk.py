"""A full disk or a read-only home: a clear error, nothing corrupted (issue 7)."""
import errno
import os
import sqlite3
import subprocess

import pytest

from conftest import cert_row, write_roster


@pytest.fixture
def tiny_home(tmp_path):
    """A home on a 1 MiB tmpfs (real ENOSPC); skipped where mounting is not allowed."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + done.stderr.decode(errors="replace"))
    yield mount_point / "home"
    subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_disk_full_during_import_is_a_clear_error_and_the_store_stays_consistent(cli, tiny_home, tmp_path):
    cli.home = tiny_home
    assert cli("admin", "init").code == 0
    rows = [cert_row(no=f"F{i:06d}", qualification="经济专业技术资格" * 3) for i in range(40000)]
    result = cli("admin", "issue", write_roster(tmp_path / "big.csv", rows))
    assert result.code == 7, result.out
    assert result.error_code == "store_unwritable"
    assert "Traceback" not in result.out + result.err
    db = sqlite3.connect(tiny_home / "certcli.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = db.execute("SELECT count(*) FROM certificates").fetchone()[0]
    assert stored % 5000 == 0  # whole batches only


def test_read_only_home_is_a_clear_error(cli, tiny_home, tmp_path):
    cli.home = tiny_home
    assert cli("admin", "init").code == 0
    assert cli("admin", "issue", write_roster(tmp_path / "r.csv", [cert_row()])).code == 0
    mount_point = tiny_home.parent
    assert subprocess.run(["mount", "-o", "remount,ro", str(mount_point)]).returncode == 0
    try:
        for command in (("admin", "revoke", "2022ECO110100001"), ("register", "--name", "王小明", "--id-number",
                                                                   "110101199003074477")):
            result = cli(*command)
            assert result.code == 7 and result.error_code == "store_unwritable", result.out
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(mount_point)])
    db = sqlite3.connect(tiny_home / "certcli.db")
    assert db.execute("SELECT status FROM certificates").fetchone()[0] == "valid"


def test_download_onto_a_full_disk_leaves_no_partial_file(issued, tmp_path, monkeypatch):
    issued("annotate", "2022ECO110100001")
    issued("admin", "process")
    target = tmp_path / "cert.pdf"
    real_replace = os.replace

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    result = issued("download", "2022ECO110100001", "-o", target)
    monkeypatch.setattr(os, "replace", real_replace)
    assert result.code == 6 and result.error_code == "file_error"  # the user's file, not the store
    assert str(target) in result.json["error"]["message"]
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
