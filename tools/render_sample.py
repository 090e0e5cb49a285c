#!/usr/bin/env python3
"""Render a sample certificate to docs/sample-certificate.png (and optionally a PDF).

    python tools/render_sample.py [--pdf out.pdf] [--png docs/sample-certificate.png]
                                  [--exempt] [--photo] [--dpi 100]

Needs poppler's ``pdftoppm`` for the PNG.
"""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from certcli.documents.render import AnnotationBox, CertificatePage, render_certificate  # noqa: E402

SAMPLE_QR = ("CQ1:" + "eyJjIjoiWkoyMDIyLTAwMDEyMyIsImgiOiIxMTAxKioqKioqKioqKjEyM1giLCJ2IjoiMjAyNi0wNS0zMFQwMD"
             "owMCswODowMCJ9.MEUCIQDk3d9vQ8bXwz5l0fP3kq2J7yXcR9sV1nHfGmT4aLpYbQIgUu8Zs6Fh0rW2yq3"
             "N5K9eT7cJxV1mHp4dLs8oQa2bC0")


def sample_page(exempt: bool = False, photo: bytes | None = None) -> CertificatePage:
    return CertificatePage(
        certificate_no="ZJ2022-11010000123",
        name="王䶮𠮷",
        id_type_label="居民身份证",
        id_number_masked="1101**********123X",
        qualification="经济专业技术资格",
        level="中级",
        specialty="人力资源管理",
        issued_on="2022-01-14",
        issuer="人力资源和社会保障部",
        seal_ring_text="中华人民共和国人力资源和社会保障部",
        seal_caption="专业技术人员职业资格证书专用章",
        annotation=None if exempt else AnnotationBox(
            scenario_label="本人调用", valid_until_text="2026年05月29日（北京时间）",
            annotation_id="A2026-000123"),
        qr_payload=SAMPLE_QR,
        photo_jpeg=photo,
    )


def sample_photo() -> bytes:
    from PIL import Image, ImageDraw
    img = Image.new("RGB", (260, 350), (220, 232, 245))
    d = ImageDraw.Draw(img)
    d.ellipse((80, 60, 180, 180), fill=(120, 100, 90))
    d.rounded_rectangle((40, 200, 220, 380), 60, fill=(40, 50, 80))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pdf", type=Path)
    ap.add_argument("--png", type=Path, default=REPO / "docs" / "sample-certificate.png")
    ap.add_argument("--exempt", action="store_true")
    ap.add_argument("--photo", action="store_true")
    ap.add_argument("--dpi", type=int, default=100)
    args = ap.parse_args(argv)

    pdf = render_certificate(sample_page(args.exempt, sample_photo() if args.photo else None))
    if args.pdf:
        args.pdf.write_bytes(pdf)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "sample.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(args.dpi), "-png", "-singlefile", str(src),
                        str(Path(tmp) / "page")], check=True)
        args.png.parent.mkdir(parents=True, exist_ok=True)
        args.png.write_bytes((Path(tmp) / "page.png").read_bytes())
    print(args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
