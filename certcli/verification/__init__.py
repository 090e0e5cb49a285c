"""Verifying PDFs, QR payloads and lookups: checks, the PDF stage, the CMS stage."""
