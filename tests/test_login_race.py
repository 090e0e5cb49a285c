"""Logins check the password (scrypt) outside the store's write lock (certcli.accounts.login),
so they run side by side; the lockout must still hold exactly: parallel guesses get no more
answers than serial ones."""
from __future__ import annotations

import threading
from datetime import datetime

from conftest import HOLDER_ID, NOW, PASSWORD

from certcli import accounts, rules
from certcli.errors import AccountLocked, BadCredentials
from certcli.store import open_store


def test_parallel_wrong_guesses_lock_the_account_after_exactly_the_allowed_few(cli):
    assert cli("admin", "init").code == 0
    assert cli("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    now = datetime.fromisoformat(NOW)
    guesses = 3 * rules.MAX_FAILED_LOGINS
    start = threading.Barrier(guesses)
    answers: list[str] = []

    def guess(number: int) -> None:
        store = open_store(cli.home)
        try:
            start.wait()
            accounts.login(store, accounts.TokenSession(), id_number=HOLDER_ID, password=f"wrong-{number}", now=now)
            answers.append("logged in")
        except (BadCredentials, AccountLocked) as error:
            answers.append(error.code)
        finally:
            store.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers.count("bad_credentials") == rules.MAX_FAILED_LOGINS - 1, answers
    assert answers.count("account_locked") == guesses - rules.MAX_FAILED_LOGINS + 1, answers
    store = open_store(cli.home)
    try:
        failed = store.all("SELECT action FROM audit_log WHERE action = 'login_failed'")
        assert len(failed) == rules.MAX_FAILED_LOGINS          # only answered guesses were counted
        try:                                                   # the right password is refused while locked
            accounts.login(store, accounts.TokenSession(), id_number=HOLDER_ID, password=PASSWORD, now=now)
            raise AssertionError("logged in while locked")
        except AccountLocked:
            pass
    finally:
        store.close()
