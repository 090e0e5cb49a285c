"""What a roster file is, from its first bytes: a workbook whatever its name, a file that
is no roster (UTF-16 text, an old .xls, a web page), or text in UTF-8 or GB18030; and
its decoded lines, counting the bytes read for a progress bar."""
from __future__ import annotations

from typing import BinaryIO, Iterator


class _CountingLines:
    """Yields decoded lines and tracks bytes read, for a progress bar."""

    def __init__(self, raw: BinaryIO, encoding: str):
        self.raw, self.encoding, self.bytes_read = raw, encoding, 0

    def __iter__(self) -> Iterator[str]:
        for chunk in self.raw:
            self.bytes_read += len(chunk)
            # surrogateescape keeps undecodable bytes visible as lone surrogates, so the
            # row that holds them is rejected instead of the whole file.
            yield chunk.decode(self.encoding, errors="surrogateescape")


def detect_encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3:  # a character cut by the sample boundary
            return "utf-8"
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        return "utf-8"  # undecodable rows will be rejected one by one


_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old .xls format (and password-protected workbooks)


def sniff(head: bytes) -> str | None:
    """What a file's first bytes say it is: ``"xlsx"`` (a ZIP archive: a workbook, whatever
    its name), the :class:`BadRoster` reason for a file that is no roster, or None (text)."""
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        return "old_excel"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf16"
    if _utf16_without_bom(head[:4096]):
        return "utf16"
    if b"\x00" in head.split(b"\n", 1)[0]:  # no text file has a NUL in its first line
        return "not_text"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "web_page"  # HTML or XML: what some systems export as an "Excel" file
    return None


def _utf16_without_bom(head: bytes) -> bool:
    """A Latin header in UTF-16 has a NUL in every other byte; a Chinese one has none,
    but decodes to a known column name."""
    sample = head[:400 - len(head[:400]) % 2]
    if len(sample) >= 8:
        for nul, other in ((sample[1::2], sample[0::2]), (sample[0::2], sample[1::2])):
            if nul.count(0) >= 0.8 * len(nul) and other.count(0) <= 0.1 * len(other):
                return True
    for codec in ("utf-16-le", "utf-16-be"):
        first = head[:4096 - len(head[:4096]) % 2].decode(codec, errors="replace").split("\n", 1)[0]
        if any(name in first for name in ("certificate_no", "证书编号", "姓名", "证件号码")):
            return True
    return False
