"""R4 processing: render and sign every pending document request, on the
administrator's side: annotation documents (and exempt copies) and member
certificates, through one pipeline.

Each kind only says what its documents show (:class:`~certcli.documents.page.PageData`,
read from the store here and in :mod:`certcli.membership.documents`); one page
builder renders them, one seal-signer cache signs them, and one result writer
records them: the same ``process`` / ``process_failed`` audit entries, the same
failure recording (the error's code and message) and one cap on the failures
reported.

Workers (one per core) each load the font and the seal keys once, then render
and sign PDFs; the parent alone writes to the store, in short transactions of
one batch, so a crash loses at most the batch in flight and a re-run picks up
what is still pending.  A document is stored before its request is marked
completed, in the same transaction: a holder is never served half a PDF.

Several runs at once (on one machine, or on many sharing a PostgreSQL store) share
the queue: a run signs only requests it claimed, a batch at a time, and records a
result only for a request it still holds (:mod:`certcli.certificates.claims`).
"""
from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from certcli import audit
from certcli.certificates import claims, registry
from certcli.documents.page import Annotation, PageData, make_document
from certcli.documents.signers import SealSigners
from certcli.errors import CertcliError
from certcli.membership import documents as member_documents
from certcli.store import Store, iso, parse_instant

WRITE_BATCH = 100
# requests a run claims at a time, per signing process (two batches in flight with a pool):
# small, so that runs started together share even a short queue
CLAIM_PER_WORKER, MIN_CLAIM = 8, 16
POLL_SECONDS = 0.25         # how often a run with nothing to claim looks again while others hold requests
_UNCLAIMED = "claimed_by = NULL, claim_expires = NULL"
PARALLEL_THRESHOLD = 16  # below this a pool costs more than it saves
MAX_REPORTED_FAILURES = 100
MAX_FAILURE_MESSAGE = 500

# kind of request -> (its table, the key naming it in a report's failures)
REQUESTS = {"annotation": ("annotations", "annotation_id"),
            "member_document": ("member_documents", "member_document_id")}


@dataclass(frozen=True)
class Job:
    """One document to render and sign: the request it completes, and what it shows."""

    kind: str          # a key of REQUESTS
    request_id: int
    page: PageData


@dataclass
class ProcessReport:
    pending: int = 0
    completed: int = 0
    failed: int = 0
    workers: int = 1
    failures: list[dict] | None = None
    # seals whose certificate ended too soon to sign, rotated before anything was signed
    rotated_before_signing: list[dict] = field(default_factory=list)


def annotation_jobs(store: Store, limit: int | None = None, *, claimed_by: str | None = None) -> list[Job]:
    """Pending annotation requests (and exempt copies) of valid certificates, oldest first
    (with ``claimed_by``: only those that claim token holds)."""
    sql = ("SELECT a.id, a.annotation_no, a.kind, a.scenario, s.label_zh AS scenario_label, a.valid_until, "
           "c.certificate_no, c.name, c.id_type, c.id_number, c.qualification, c.level, c.specialty, "
           "c.issued_on, c.issuer, c.seal, c.seal_id "
           "FROM annotations a JOIN certificates c ON c.id = a.certificate_id "
           "LEFT JOIN scenarios s ON s.code = a.scenario "
           "WHERE a.status = 'pending' AND c.status = 'valid'" + (" AND a.claimed_by = ?" if claimed_by else "")
           + " ORDER BY a.applied_at, a.id")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = store.all(sql, (claimed_by,) if claimed_by else ())
    return [Job("annotation", row["id"], _annotation_page(row)) for row in rows]


def _annotation_page(row: dict) -> PageData:
    annotation = None
    if row["kind"] == "annotation":
        annotation = Annotation(number=row["annotation_no"],
                                scenario_label=row["scenario_label"] or row["scenario"] or "",
                                valid_until=parse_instant(row["valid_until"]))
    return PageData(certificate_no=row["certificate_no"], name=row["name"], id_type=row["id_type"],
                    id_number=row["id_number"], qualification=row["qualification"], level=row["level"],
                    specialty=row["specialty"], issued_on=row["issued_on"], issuer=row["issuer"],
                    seal=row["seal"], seal_id=row["seal_id"], annotation=annotation)


def pending_jobs(store: Store, limit: int | None = None) -> list[Job]:
    """Every pending document request, at most ``limit``: member certificates
    (few) first, then annotation documents, oldest first."""
    members = [Job("member_document", request_id, page)
               for request_id, page in member_documents.pending_member_pages(store, limit)]
    rest = None if limit is None else max(0, limit - len(members))
    return members + (annotation_jobs(store, rest) if rest != 0 else [])


def with_verify_url(jobs: list[Job], store: Store) -> list[Job]:
    """Every page's QR code carries ``URL#PAYLOAD`` when the issuer set a verify URL
    (``admin config --verify-url``, :mod:`certcli.settings`); else the bare payload."""
    from dataclasses import replace

    from certcli.settings import verify_url

    url = verify_url(store)
    return [replace(job, page=replace(job.page, qr_url=url)) for job in jobs] if url else jobs


_WORKER: dict = {}


def _init_worker(keys_dir: str, passphrase: bytes, now: datetime, parent: int | None = None) -> None:
    if parent is not None:     # a pool worker: it must not outlive a killed run
        from certcli.pools import exit_with_parent

        exit_with_parent(parent)
    _WORKER["signers"] = SealSigners(Path(keys_dir), passphrase, now)  # refuses a key that may not sign now
    _WORKER["now"] = now


def _work(job: Job) -> tuple[str, int, bytes | None, tuple[str, str] | None, tuple | None]:
    """``(kind, request_id, pdf, None, facts)``, or ``(kind, request_id, None, (code, message), None)``;
    ``facts`` are the document's registry facts (:func:`certcli.certificates.registry.pdf_facts`),
    found here in the worker so the one writer does not pay for them."""
    try:
        seal, signer = _WORKER["signers"].get(job.page.seal_id)
        pdf = make_document(job.page, seal, signer, _WORKER["now"])
        return job.kind, job.request_id, pdf, None, registry.pdf_facts(pdf)
    except Exception as error:  # noqa: BLE001 - recorded as this job's failure, the batch goes on
        return job.kind, job.request_id, None, failure_of(error), None


def failure_of(error: BaseException) -> tuple[str, str]:
    """``(code, message)``: the error's stable code (its class name when it has
    none) and what it says, so a failure can be told apart from another of its class."""
    code = str(getattr(error, "code", "") or type(error).__name__)
    # ours: the English message from the catalog (str() of a CertcliError holds only its code and data)
    message = error.message("en") if isinstance(error, CertcliError) else str(error).strip() or code
    if not message.startswith(code):
        message = f"{code}: {message}"
    return code, message[:MAX_FAILURE_MESSAGE]


def process_pending(
    store: Store,
    keys_dir: Path,
    passphrase: bytes,
    *,
    now: datetime,
    workers: int | None = None,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    claim_seconds: float = claims.DEFAULT_CLAIM_SECONDS,
) -> ProcessReport:
    """Sign every pending request this run can claim (:mod:`certcli.certificates.claims`),
    a batch at a time, until none is left: several runs at once, on one machine or many
    sharing a PostgreSQL store, each sign different requests.  A run also waits for
    requests other runs hold, and takes over those whose claim expires (a killed run's).
    ``claim_seconds``: the lease of a claim, renewed while the run works on it."""
    member_documents.fail_requests_of_revoked(store)  # nothing is signed for a revoked certificate
    registry.ensure_backfilled(store, now)             # a store from before the registry: once
    claims.release_dead(store)                         # runs of this machine that were killed
    pending = claims.claimable(store)
    report = ProcessReport(pending=pending if limit is None else min(pending, limit), failures=[])
    workers = workers or os.cpu_count() or 1
    report.workers = 1 if report.pending < PARALLEL_THRESHOLD else min(workers, report.pending)
    run = _Run(store, Path(keys_dir), passphrase, now, report, claim_seconds, progress)
    try:
        run.loop(limit)
    except BaseException:
        run.close(failed=True)
        raise
    run.close(failed=False)
    return report


class _Run:
    """One ``admin process`` run: claim a batch, sign it (in a pool of ``report.workers``
    processes, the next batch already queued behind it), record what it still holds."""

    def __init__(self, store, keys_dir, passphrase, now, report, claim_seconds, progress):
        self.store, self.keys_dir, self.passphrase, self.now = store, keys_dir, passphrase, now
        self.report, self.claim_seconds, self.progress = report, claim_seconds, progress
        self.claimant = claims.Claimant.this_process()
        self.renewed = time.monotonic()
        self.pool = None
        self.seals: set[str] = set()
        self._started: set[tuple[str, int]] = set()
        self.done = 0
        self.batch = min(WRITE_BATCH, max(MIN_CLAIM, CLAIM_PER_WORKER * report.workers))

    def loop(self, limit: int | None) -> None:
        remaining, exhausted, in_flight = limit, False, deque()
        depth = 1 if self.report.workers == 1 else 2    # batches signing at once: keeps the pool busy
        while True:
            while len(in_flight) < depth and not exhausted and (remaining is None or remaining > 0):
                size = self.batch if remaining is None else min(self.batch, remaining)
                got = claims.claim(self.store, self.claimant, size, self.claim_seconds)
                exhausted = not got
                if remaining is not None:
                    remaining -= sum(map(len, got.values()))
                jobs = self._jobs()
                if jobs:
                    in_flight.append((jobs, self._start(jobs)))
            if in_flight:
                jobs, handle = in_flight.popleft()
                self._write(self._collect(jobs, handle))
                continue
            if remaining is not None and remaining <= 0:
                return
            # nothing to claim now: wait while other runs hold requests (a killed run's claims expire)
            if not claims.release_dead(self.store):
                others = claims.others(self.store, self.claimant)
                if not others.count:
                    return
                time.sleep(min(POLL_SECONDS, max(0.05, others.first_expiry_seconds)))
            exhausted = False

    def _jobs(self) -> list[Job]:
        """The pages of the requests claimed and not yet started."""
        token = self.claimant.token
        jobs = [Job("member_document", request_id, page) for request_id, page
                in member_documents.pending_member_pages(self.store, claimed_by=token)]
        jobs += annotation_jobs(self.store, claimed_by=token)
        jobs = [job for job in jobs if (job.kind, job.request_id) not in self._started]
        self._started.update((job.kind, job.request_id) for job in jobs)
        new_seals = {job.page.seal_id for job in jobs} - self.seals
        if new_seals:
            # never sign with a key that may not sign now: rotate its seal first, or sign nothing
            from certcli.certificates.seals import renew_for_signing
            from certcli.pki.keys import IssuerKeys

            self.report.rotated_before_signing += renew_for_signing(
                IssuerKeys(self.keys_dir), lambda: self.store, new_seals, self.passphrase, self.now)
            self.seals |= new_seals
        return with_verify_url(jobs, self.store)

    def _start(self, jobs: list[Job]):
        """Hand ``jobs`` to the pool (futures of chunks), or None to sign them here."""
        workers = self.report.workers
        if workers == 1:
            if "signers" not in _WORKER:
                _init_worker(str(self.keys_dir), self.passphrase, self.now)
            return None
        if self.pool is None:
            # multiprocessing's pool machinery loads only when there is a pool to run.
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # fork: workers inherit the imported modules instead of importing them again.
            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                            initializer=_init_worker,
                                            initargs=(str(self.keys_dir), self.passphrase, self.now,
                                                      os.getpid()))
        size = max(1, min(32, len(jobs) // (workers * 4)))
        return [self.pool.submit(_work_all, jobs[i:i + size]) for i in range(0, len(jobs), size)]

    def _collect(self, jobs: list[Job], handle) -> list[tuple]:
        results: list[tuple] = []
        if handle is None:
            for job in jobs:
                results.append(_work(job))
                self._tick(1)
            return results
        from concurrent.futures import TimeoutError as Pending

        for future in handle:
            while True:
                try:
                    chunk = future.result(timeout=self._renew_every())
                    break
                except Pending:
                    self._renew_if_due()
            results += chunk
            self._tick(len(chunk))
        return results

    def _tick(self, count: int) -> None:
        self.done += count
        self._renew_if_due()
        if self.progress:
            self.progress(min(self.done, self.report.pending), self.report.pending)

    def _renew_every(self) -> float:
        return max(0.2, self.claim_seconds / 3)

    def _renew_if_due(self) -> None:
        if time.monotonic() - self.renewed >= self._renew_every():
            claims.renew(self.store, self.claimant, self.claim_seconds)
            self.renewed = time.monotonic()

    def _write(self, results: list[tuple]) -> None:
        for start in range(0, len(results), WRITE_BATCH):
            self._renew_if_due()
            _store_results(self.store, results[start:start + WRITE_BATCH], self.report, self.now, self.claimant)

    def close(self, failed: bool) -> None:
        try:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            _WORKER.clear()      # the serial path's signers are this run's (its home's keys, its clock) only
            try:
                claims.release(self.store, self.claimant)   # what this run claimed and did not finish
            except Exception:  # noqa: BLE001 - after a failure: report that one; the leases expire
                if not failed:
                    raise


def _work_all(jobs: list[Job]) -> list[tuple]:
    return [_work(job) for job in jobs]


def store_document(conn, pdf: bytes, now: datetime) -> str:
    """Content-addressed: the same PDF bytes are stored once, under their SHA-256."""
    digest = hashlib.sha256(pdf).hexdigest()
    conn.execute("INSERT INTO documents (sha256, pdf, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                 (digest, pdf, iso(now)))
    return digest


def _store_results(store: Store, batch: list[tuple], report: ProcessReport, now: datetime,
                   claimant: claims.Claimant) -> None:
    """The one result writer, for every kind of request: a document is stored and
    its request completed (audit ``process``), or the request is marked failed
    with the error's code and message (audit ``process_failed``).  Only requests
    ``claimant`` still holds are recorded: one whose lease ran out and another run
    took is that run's to record, so none is completed twice."""
    if not batch:
        return
    with store.transaction() as conn:
        holding = {kind: claims.held(conn, store, claimant, table) for kind, (table, _) in REQUESTS.items()}
        for kind, request_id, pdf, failure, facts in batch:
            table, id_key = REQUESTS[kind]
            if request_id not in holding[kind]:
                continue
            if pdf is None:
                code, message = failure
                failed = conn.execute(f"UPDATE {table} SET status = 'failed', failure_reason = ?, {_UNCLAIMED} "
                                      "WHERE id = ? AND status = 'pending'", (message, request_id)).rowcount
                if failed:
                    audit.append(conn, now=now, actor="admin", action="process_failed", subject=str(request_id),
                                 kind=kind, reason=code, message=message)
                report.failed += failed
                if failed and len(report.failures) < MAX_REPORTED_FAILURES:
                    report.failures.append({id_key: request_id, "reason": code, "message": message})
                continue
            digest = store_document(conn, pdf, now)
            completed = conn.execute(
                f"UPDATE {table} SET status = 'completed', completed_at = ?, document_sha256 = ?, {_UNCLAIMED} "
                "WHERE id = ? AND status = 'pending'", (iso(now), digest, request_id)).rowcount
            if completed:
                # the issued-document registry, in the transaction that completes the request
                registry.record_completed(conn, table, request_id, pdf, now, digest, facts)
                audit.append(conn, now=now, actor="admin", action="process", subject=str(request_id),
                             kind=kind, document_sha256=digest)
            report.completed += completed
