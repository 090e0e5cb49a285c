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
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from certcli import audit
from certcli.certificates import registry
from certcli.documents.page import (ID_TYPE_LABELS, Annotation, PageData,  # noqa: F401 - re-exported
                                    format_valid_until, make_document, seal_display_name, seal_names)
from certcli.documents.signers import SealSigners
from certcli.errors import CertcliError
from certcli.membership import documents as member_documents
from certcli.store import Store, iso, parse_instant

WRITE_BATCH = 100
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


def annotation_jobs(store: Store, limit: int | None = None) -> list[Job]:
    """Pending annotation requests (and exempt copies) of valid certificates, oldest first."""
    sql = ("SELECT a.id, a.annotation_no, a.kind, a.scenario, s.label_zh AS scenario_label, a.valid_until, "
           "c.certificate_no, c.name, c.id_type, c.id_number, c.qualification, c.level, c.specialty, "
           "c.issued_on, c.issuer, c.seal, c.seal_id "
           "FROM annotations a JOIN certificates c ON c.id = a.certificate_id "
           "LEFT JOIN scenarios s ON s.code = a.scenario "
           "WHERE a.status = 'pending' AND c.status = 'valid' ORDER BY a.applied_at, a.id")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [Job("annotation", row["id"], _annotation_page(row)) for row in store.all(sql)]


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


def _init_worker(keys_dir: str, passphrase: bytes, now: datetime) -> None:
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
) -> ProcessReport:
    member_documents.fail_requests_of_revoked(store)  # nothing is signed for a revoked certificate
    registry.ensure_backfilled(store, now)             # a store from before the registry: once
    jobs = with_verify_url(pending_jobs(store, limit), store)
    report = ProcessReport(pending=len(jobs), failures=[])
    if not jobs:
        return report
    # never sign with a key that may not sign now: rotate its seal first, or sign nothing
    from certcli.certificates.seals import renew_for_signing
    from certcli.pki.keys import IssuerKeys

    report.rotated_before_signing = renew_for_signing(IssuerKeys(Path(keys_dir)), lambda: store,
                                                      {job.page.seal_id for job in jobs}, passphrase, now)
    workers = workers or os.cpu_count() or 1
    workers = 1 if len(jobs) < PARALLEL_THRESHOLD else min(workers, len(jobs))
    report.workers = workers
    results = _results(jobs, keys_dir, passphrase, now, workers)
    batch: list[tuple] = []
    for done, result in enumerate(results, start=1):
        batch.append(result)
        if len(batch) >= WRITE_BATCH:
            _store_results(store, batch, report, now)
            batch = []
        if progress:
            progress(done, len(jobs))
    _store_results(store, batch, report, now)
    return report


def _results(jobs, keys_dir, passphrase, now, workers):
    if workers == 1:
        _init_worker(str(keys_dir), passphrase, now)
        yield from map(_work, jobs)
        return
    # multiprocessing's pool machinery loads only when there is a pool to run.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork: workers inherit the imported modules instead of importing them again.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(str(keys_dir), passphrase, now)) as pool:
        yield from pool.map(_work, jobs, chunksize=max(1, min(32, len(jobs) // (workers * 8))))


def store_document(conn, pdf: bytes, now: datetime) -> str:
    """Content-addressed: the same PDF bytes are stored once, under their SHA-256."""
    digest = hashlib.sha256(pdf).hexdigest()
    conn.execute("INSERT OR IGNORE INTO documents (sha256, pdf, created_at) VALUES (?, ?, ?)",
                 (digest, pdf, iso(now)))
    return digest


def _store_results(store: Store, batch: list[tuple], report: ProcessReport, now: datetime) -> None:
    """The one result writer, for every kind of request: a document is stored and
    its request completed (audit ``process``), or the request is marked failed
    with the error's code and message (audit ``process_failed``)."""
    if not batch:
        return
    with store.transaction() as conn:
        for kind, request_id, pdf, failure, facts in batch:
            table, id_key = REQUESTS[kind]
            if pdf is None:
                code, message = failure
                failed = conn.execute(f"UPDATE {table} SET status = 'failed', failure_reason = ? "
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
                f"UPDATE {table} SET status = 'completed', completed_at = ?, document_sha256 = ? "
                "WHERE id = ? AND status = 'pending'", (iso(now), digest, request_id)).rowcount
            if completed:
                # the issued-document registry, in the transaction that completes the request
                registry.record_completed(conn, table, request_id, pdf, now, digest, facts)
                audit.append(conn, now=now, actor="admin", action="process", subject=str(request_id),
                             kind=kind, document_sha256=digest)
            report.completed += completed
