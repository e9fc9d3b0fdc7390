"""A self-signed certificate for 127.0.0.1, so the fake can serve HTTPS as a cluster's API server
does (the in-cluster configuration of the `kubernetes` client only speaks https)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def self_signed(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) in `folder`, made by the openssl command; the certificate is its own CA."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl is not installed (apt-get install openssl)")
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key
