"""Expiry dates of certificates and CRLs as Prometheus metrics, for node-exporter's textfile collector.

`python -m provisioning.expiry_metrics --out /var/lib/prometheus/node-exporter/anpr-expiry.prom FILE...`
reads each PEM file (a certificate, a bundle of them, or a CRL) and writes

    anpr_certificate_not_after_timestamp_seconds{path="...",subject="..."}  one per certificate
    anpr_crl_next_update_timestamp_seconds{path="..."}                     one per CRL
    anpr_expiry_file_readable{path="..."}                                  0 when a file is missing or bad

so the alert rules (deploy/monitoring/prometheus/anpr-alerts.yml) warn before the broker's
certificate, a box's client certificate, the CAs or the broker's CRL run out (an expired CRL makes
the broker refuse every client certificate). The file is replaced atomically: the collector never
reads half of it. systemd/anpr-expiry-metrics.timer runs it hourly on every host.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.S)


@dataclass(frozen=True)
class Expiry:
    metric: str
    path: Path
    timestamp: float
    subject: str | None = None


def read_expiries(path: Path) -> list[Expiry]:
    """Every certificate's notAfter and every CRL's nextUpdate in a PEM file; ValueError if none."""
    data = path.read_bytes()
    found: list[Expiry] = []
    for block in _PEM_BLOCK.finditer(data):
        kind = block.group(1)
        if kind == b"CERTIFICATE":
            cert = x509.load_pem_x509_certificate(block.group(0))
            found.append(
                Expiry(
                    "anpr_certificate_not_after_timestamp_seconds",
                    path,
                    cert.not_valid_after_utc.timestamp(),
                    cert.subject.rfc4514_string(),
                )
            )
        elif kind == b"X509 CRL":
            crl = x509.load_pem_x509_crl(block.group(0))
            if crl.next_update_utc is None:
                raise ValueError(f"{path}: the CRL has no nextUpdate")
            found.append(
                Expiry("anpr_crl_next_update_timestamp_seconds", path, crl.next_update_utc.timestamp())
            )
    if not found:
        raise ValueError(f"{path}: no PEM certificate or CRL")
    return found


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(paths: list[Path]) -> str:
    """The textfile: expiries of the readable files, and anpr_expiry_file_readable for all of them."""
    lines = {
        "anpr_certificate_not_after_timestamp_seconds": [
            "# HELP anpr_certificate_not_after_timestamp_seconds End of a certificate's validity (notAfter).",
            "# TYPE anpr_certificate_not_after_timestamp_seconds gauge",
        ],
        "anpr_crl_next_update_timestamp_seconds": [
            "# HELP anpr_crl_next_update_timestamp_seconds When a CRL must be replaced (nextUpdate).",
            "# TYPE anpr_crl_next_update_timestamp_seconds gauge",
        ],
        "anpr_expiry_file_readable": [
            "# HELP anpr_expiry_file_readable 1 when the file could be read as a certificate or CRL.",
            "# TYPE anpr_expiry_file_readable gauge",
        ],
    }
    for path in paths:
        try:
            expiries = read_expiries(path)
        except (OSError, ValueError) as error:
            print(f"expiry_metrics: {error}", file=sys.stderr)
            lines["anpr_expiry_file_readable"].append(
                f'anpr_expiry_file_readable{{path="{_label(str(path))}"}} 0'
            )
            continue
        lines["anpr_expiry_file_readable"].append(
            f'anpr_expiry_file_readable{{path="{_label(str(path))}"}} 1'
        )
        for expiry in expiries:
            labels = f'path="{_label(str(expiry.path))}"'
            if expiry.subject is not None:
                labels += f',subject="{_label(expiry.subject)}"'
            lines[expiry.metric].append(f"{expiry.metric}{{{labels}}} {expiry.timestamp:.0f}")
    return "\n".join(line for block in lines.values() for line in block) + "\n"


def write_atomically(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, prefix=f".{out.name}.", delete=False) as tmp:
        tmp.write(text)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m provisioning.expiry_metrics", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="the .prom file to write (textfile collector)"
    )
    parser.add_argument("files", type=Path, nargs="+", help="PEM certificates, bundles or CRLs")
    args = parser.parse_args(argv)
    write_atomically(args.out, render(args.files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
