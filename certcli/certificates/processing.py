"""R4 processing: render and sign every pending request, on the administrator's side.

Workers (one per core) each load the font and the seal keys once, then render
and sign PDFs; the parent alone writes to the store, in short transactions of
one batch, so a crash loses at most the batch in flight and a re-run picks up
what is still pending.  A document is stored before its annotation is marked
completed, in the same transaction: a holder is never served half a PDF.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from certcli import audit, catalog, rules
from certcli.store import Store, iso, parse_instant

WRITE_BATCH = 100
PARALLEL_THRESHOLD = 16  # below this a pool costs more than it saves


@dataclass(frozen=True)
class Job:
    annotation_id: int
    annotation_no: str
    kind: str
    scenario: str | None
    scenario_label: str | None
    valid_until: str | None
    certificate_no: str
    name: str
    id_type: str
    id_number: str
    qualification: str
    level: str
    specialty: str | None
    issued_on: str
    issuer: str
    seal: str
    seal_id: str


@dataclass
class ProcessReport:
    pending: int = 0
    completed: int = 0
    failed: int = 0
    workers: int = 1
    failures: list[dict] | None = None


def pending_jobs(store: Store, limit: int | None = None) -> list[Job]:
    sql = ("SELECT a.id AS annotation_id, a.annotation_no, a.kind, a.scenario, s.label_zh AS scenario_label, "
           "a.valid_until, c.certificate_no, c.name, c.id_type, c.id_number, c.qualification, c.level, "
           "c.specialty, c.issued_on, c.issuer, c.seal, c.seal_id "
           "FROM annotations a JOIN certificates c ON c.id = a.certificate_id "
           "LEFT JOIN scenarios s ON s.code = a.scenario "
           "WHERE a.status = 'pending' AND c.status = 'valid' ORDER BY a.applied_at, a.id")
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [Job(**row) for row in store.all(sql)]


def seal_names(seal: str, issuer: str) -> tuple[str, str]:
    """(text on the seal ring, caption under the star) — R7."""
    if seal == "ministry":
        return "中华人民共和国人力资源和社会保障部", "专业技术人员职业资格证书专用章"
    return issuer, "电子证书专用章"


def seal_display_name(seal: str, issuer: str) -> str:
    ring, caption = seal_names(seal, issuer)
    return ring + caption


ID_TYPE_LABELS = {"resident_id": "居民身份证", "passport": "护照", "hk_macao_permit": "港澳居民来往内地通行证",
                  "taiwan_permit": "台湾居民来往大陆通行证", "foreign_permanent": "外国人永久居留身份证", "other": "其他证件"}


def format_valid_until(valid_until: datetime) -> str:
    return valid_until.astimezone(rules.CST).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


def make_document(job: Job, seal, signer, now: datetime) -> bytes:
    """Render and sign one certificate.  ``seal`` is a LoadedSeal, ``signer`` its PdfSealSigner."""
    from certcli.documents import qrpayload
    from certcli.documents import render

    until = parse_instant(job.valid_until)
    claims = qrpayload.QrClaims(
        certificate_no=job.certificate_no,
        qualification_code=catalog.qualification_code(job.qualification),
        masked_name=rules.mask_name(job.name),
        valid_from=None if until is None else now,
        valid_until=until,
        key_id=seal.info.key_id,
    )
    ring, caption = seal_names(job.seal, job.issuer)
    annotation = None
    if job.kind == "annotation":
        annotation = render.AnnotationBox(scenario_label=job.scenario_label or job.scenario or "",
                                          valid_until_text=format_valid_until(until),
                                          annotation_id=job.annotation_no)
    page = render.CertificatePage(
        certificate_no=job.certificate_no, name=job.name,
        id_type_label=ID_TYPE_LABELS.get(job.id_type, job.id_type),
        id_number_masked=rules.mask_id_number(job.id_number), qualification=job.qualification,
        level=job.level, specialty=job.specialty, issued_on=job.issued_on, issuer=job.issuer,
        seal_ring_text=ring, seal_caption=caption, annotation=annotation,
        qr_payload=qrpayload.encode(claims, seal.private_key),
    )
    return signer.sign(render.render_certificate(page), signing_time=now)


class _Signers:
    """Seal keys loaded once per process, each with its pyHanko signer."""

    def __init__(self, keys_dir: Path, passphrase: bytes):
        from certcli.pki.keys import IssuerKeys

        self.keys = IssuerKeys(keys_dir)
        self.passphrase = passphrase
        self.loaded: dict[str, tuple] = {}

    def get(self, seal_id: str):
        if seal_id not in self.loaded:
            from certcli.documents.signing import PdfSealSigner

            seal = self.keys.load_seal(seal_id, self.passphrase)
            self.loaded[seal_id] = (seal, PdfSealSigner(seal))
        return self.loaded[seal_id]


_WORKER: dict = {}


def _init_worker(keys_dir: str, passphrase: bytes, now: datetime) -> None:
    _WORKER["signers"] = _Signers(Path(keys_dir), passphrase)
    _WORKER["now"] = now


def _work(job: Job) -> tuple[int, bytes | None, str | None]:
    try:
        seal, signer = _WORKER["signers"].get(job.seal_id)
        return job.annotation_id, make_document(job, seal, signer, _WORKER["now"]), None
    except Exception as error:  # noqa: BLE001 - recorded as this job's failure, the batch goes on
        code = getattr(error, "code", type(error).__name__)
        return job.annotation_id, None, str(code)


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
    jobs = pending_jobs(store, limit)
    report = ProcessReport(pending=len(jobs), failures=[])
    from certcli.membership.documents import process_member_documents

    process_member_documents(store, keys_dir, passphrase, now=now, report=report)  # membership e-certificates
    if not jobs:
        return report
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
    if not batch:
        return
    with store.transaction() as conn:
        for annotation_id, pdf, failure in batch:
            if pdf is None:
                conn.execute("UPDATE annotations SET status = 'failed', failure_reason = ? "
                             "WHERE id = ? AND status = 'pending'", (failure, annotation_id))
                report.failed += 1
                audit.append(conn, now=now, actor="admin", action="process_failed", subject=str(annotation_id),
                             reason=failure)
                if len(report.failures) < 100:
                    report.failures.append({"annotation_id": annotation_id, "reason": failure})
                continue
            digest = store_document(conn, pdf, now)
            changed = conn.execute(
                "UPDATE annotations SET status = 'completed', completed_at = ?, document_sha256 = ? "
                "WHERE id = ? AND status = 'pending'", (iso(now), digest, annotation_id)).rowcount
            if changed:
                audit.append(conn, now=now, actor="admin", action="process", subject=str(annotation_id),
                             document_sha256=digest)
            report.completed += changed
