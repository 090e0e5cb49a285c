"""What ``certcli serve`` was asked for: one value object, passed to every uvicorn
worker process through the environment (``--workers N`` starts them afresh)."""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from typing import Optional

ENV = "CERTCLI_SERVE_OPTIONS"
UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class ServeOptions:
    home: str
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = 1
    tls_cert: Optional[str] = None
    tls_key: Optional[str] = None
    # per client address; None: no limit (e.g. for a benchmark)
    lookup_rate: Optional[tuple[int, int]] = (30, 60)   # public lookups: 30 a minute
    login_rate: Optional[tuple[int, int]] = (20, 60)    # register, login, member status: 20 a minute
    max_upload: int = 10 * 2**20                        # POST /api/v1/verify/pdf
    max_json: int = 64 * 2**10                          # every JSON body
    forwarded_allow_ips: str = "127.0.0.1"              # proxies whose X-Forwarded-For is believed
    lang: str = "en"                                    # answers without Accept-Language
    trust_bundle: Optional[str] = None                  # the file GET /trust.pem serves
    database_url: Optional[str] = None                  # --database-url: the PostgreSQL store (issue 15)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, environ=os.environ) -> "ServeOptions":
        data = json.loads(environ[ENV])
        for key in ("lookup_rate", "login_rate"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


def parse_rate(text: str) -> Optional[tuple[int, int]]:
    """``30/min``, ``5/s``, ``1000/h`` (count, seconds); ``off``/``0``/``none``: no limit.
    Raises ValueError for anything else."""
    text = (text or "").strip().lower()
    if text in ("off", "0", "none", "unlimited"):
        return None
    match = re.fullmatch(r"(\d{1,9})\s*/\s*(\d{0,6})\s*([a-z]+)", text)
    if not match or match.group(3) not in UNITS or int(match.group(1)) < 1 or match.group(2) in ("0", "00"):
        raise ValueError(text)
    seconds = int(match.group(2) or 1) * UNITS[match.group(3)]
    if seconds < 1:
        raise ValueError(text)
    return int(match.group(1)), seconds
