"""The Mosquitto configuration for an anpr broker, rendered from one place.

Three listeners, each with its own authentication (per_listener_settings):
  plain    127.0.0.1 only, password login: central on the broker's own host, local tools
  tls      TLS, password login: devices that have a password but no client certificate
  certs    TLS with a client certificate; the certificate's CN (site/device) is the username
All three use the same ACL. deploy/mosquitto/anpr.conf is this rendering with /etc paths.

Every listener binds the client id to the login (`use_username_as_clientid`): whatever client id
a client sends, the broker uses its username (on the certificate listener, the certificate's
CN). So one account has one session: a device cannot take central's persistent session (and its
queued events) by connecting with central's client id, nor kick another device off by reusing
its id. Each central replica therefore needs its own broker account.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provisioning.layout import CLIENT_CERT_PORT, PLAIN_PORT, TLS_PORT


@dataclass(frozen=True)
class BrokerLayout:
    files_dir: Path  # passwd, acl, clients-ca.pem, crl.pem, server.crt, server.key
    persistence_dir: Path
    log_file: Path | None = None  # None: log to syslog-friendly stderr
    bind_plain: str = "127.0.0.1"
    plain_port: int | None = PLAIN_PORT
    tls_port: int | None = TLS_PORT
    cert_port: int | None = CLIENT_CERT_PORT
    run_as_root: bool = False  # tests run mosquitto as root; a real broker drops to the mosquitto user


def render_broker_config(layout: BrokerLayout) -> str:
    f = layout.files_dir
    lines = [
        "# anpr broker: rendered by provisioning.broker_config; see docs/mqtt.md",
        "per_listener_settings true",
        "persistence true",
        f"persistence_location {layout.persistence_dir}/",
        "autosave_interval 60",
        "# Devices catch up after outages with thousands of queued events for central's session.",
        "max_queued_messages 100000",
        "max_inflight_messages 100",
        "# Central's ingest and devices keep sessions across restarts (MQTT v5 session expiry).",
        "persistent_client_expiration 14d",
        f"log_dest {'file ' + str(layout.log_file) if layout.log_file else 'stderr'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
    ]
    if layout.run_as_root:
        lines.append("user root")
    if layout.plain_port is not None:
        lines += [
            "",
            "# Local listener: central on this host; nothing unauthenticated.",
            f"listener {layout.plain_port} {layout.bind_plain}",
            "allow_anonymous false",
            "use_username_as_clientid true",
            f"password_file {f / 'passwd'}",
            f"acl_file {f / 'acl'}",
        ]
    if layout.tls_port is not None:
        lines += [
            "",
            "# TLS with username and password.",
            f"listener {layout.tls_port}",
            f"certfile {f / 'server.crt'}",
            f"keyfile {f / 'server.key'}",
            "tls_version tlsv1.2",
            "allow_anonymous false",
            "use_username_as_clientid true",
            f"password_file {f / 'passwd'}",
            f"acl_file {f / 'acl'}",
        ]
    if layout.cert_port is not None:
        lines += [
            "",
            "# TLS with a client certificate from a site CA; revoked certificates are in the CRL.",
            f"listener {layout.cert_port}",
            f"certfile {f / 'server.crt'}",
            f"keyfile {f / 'server.key'}",
            f"cafile {f / 'clients-ca.pem'}",
            f"crlfile {f / 'crl.pem'}",
            "tls_version tlsv1.2",
            "require_certificate true",
            "use_identity_as_username true",
            "use_username_as_clientid true",
            "allow_anonymous false",
            f"acl_file {f / 'acl'}",
        ]
    return "\n".join(lines) + "\n"
