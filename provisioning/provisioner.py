"""Per-device identities for the fleet: store key, MQTT credentials, ACL, certificates, edge.yaml.

Everything lives under one root directory (keep it on the operator's machine, not on a device):

    registry.json                       who was provisioned, when, and what was revoked
    broker/passwd, broker/acl           Mosquitto password file and ACL (copy to the broker)
    broker/clients-ca.pem, crl.pem      site CAs and their CRLs, for client-certificate listeners
    broker/server.crt, server.key       the broker's TLS certificate (server-cert)
    pki/broker-ca/, pki/sites/<site>/   CA keys (0600)
    devices/<site>/<device>/            what goes onto the box: store.key, mqtt.password,
                                        client.crt/.key, broker-ca.crt, edge.yaml
    services/<name>/mqtt.password       central's broker password
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from common.config import ID_PATTERN, parse_edge_config
from common.crypto import generate_master_key
from provisioning.acl import render_acl
from provisioning.certs import build_crl, issue_certificate, load_or_create_ca
from provisioning.files import SECRET_MODE, write_file
from provisioning.passwords import generate_password, hash_password, read_password_file, render_password_file
from provisioning.registry import Account, Registry, RegistryError, device_username

DEFAULT_INSTALL_DIR = Path("/etc/anpr")
PLAIN_PORT, TLS_PORT = 1883, 8883


def _check_id(value: str, what: str) -> str:
    if not re.match(ID_PATTERN, value):
        raise ValueError(f"{what} {value!r} must be 1-64 characters of letters, digits, '_', '.', '-'")
    return value


@dataclass(frozen=True)
class DeviceBundle:
    account: Account
    directory: Path
    files: list[Path]


class Provisioner:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.registry = Registry(self.root / "registry.json")
        self.broker_dir = self.root / "broker"
        self.password_file = self.broker_dir / "passwd"
        self.acl_file = self.broker_dir / "acl"
        self.clients_ca_file = self.broker_dir / "clients-ca.pem"
        self.crl_file = self.broker_dir / "crl.pem"
        self.broker_ca_dir = self.root / "pki" / "broker-ca"

    def device_dir(self, site_id: str, device_id: str) -> Path:
        return self.root / "devices" / site_id / device_id

    # --- commands ---------------------------------------------------------------------------------

    def add_device(
        self,
        site_id: str,
        device_id: str,
        *,
        broker_host: str = "127.0.0.1",
        broker_port: int | None = None,
        tls: bool = False,
        client_cert: bool = False,
        install_dir: Path = DEFAULT_INSTALL_DIR,
        use_tool: bool = True,
    ) -> DeviceBundle:
        """Create a device identity; a client certificate implies TLS and replaces the password login."""
        _check_id(site_id, "site id")
        _check_id(device_id, "device id")
        username = device_username(site_id, device_id)
        existing = self.registry.accounts.get(username)
        if existing is not None and existing.revoked_at is None:
            raise RegistryError(f"device {username} is already provisioned; revoke it first to re-issue")
        tls = tls or client_cert
        directory = self.device_dir(site_id, device_id)
        files = [write_file(directory / "store.key", generate_master_key(), SECRET_MODE)]
        password = generate_password()
        files.append(write_file(directory / "mqtt.password", password + "\n", SECRET_MODE))
        serial: str | None = None
        if client_cert:
            ca = load_or_create_ca(self.root / "pki" / "sites" / site_id, f"anpr site {site_id} CA")
            cert_pem, key_pem, serial_number = issue_certificate(ca, username)
            serial = format(serial_number, "x")
            files.append(write_file(directory / "client.crt", cert_pem))
            files.append(write_file(directory / "client.key", key_pem, SECRET_MODE))
        if tls:
            broker_ca = load_or_create_ca(self.broker_ca_dir, "anpr broker CA")
            files.append(write_file(directory / "broker-ca.crt", broker_ca.pem))
        account = Account(
            username=username,
            role="device",
            created_at=datetime.now(UTC).isoformat(),
            site_id=site_id,
            device_id=device_id,
            cert_serial=serial,
        )
        mqtt: dict[str, Any] = {
            "enabled": True,
            "host": broker_host,
            "port": broker_port or (TLS_PORT if tls else PLAIN_PORT),
        }
        if not client_cert:  # with a certificate the broker takes the identity from its CN
            mqtt |= {"username": username, "password_file": str(install_dir / "mqtt.password")}
        if tls:
            mqtt |= {"tls": True, "ca_file": str(install_dir / "broker-ca.crt")}
        if client_cert:
            mqtt |= {
                "cert_file": str(install_dir / "client.crt"),
                "key_file": str(install_dir / "client.key"),
            }
        snippet = {
            "site_id": site_id,
            "device_id": device_id,
            "store": {"key_file": str(install_dir / "store.key")},
            "mqtt": mqtt,
        }
        parse_edge_config(snippet, f"edge.yaml for {username}")  # never hand out a config the agent refuses
        header = (
            f"# edge.yaml for {username}, written by `python -m provisioning add-device`.\n"
            f"# Copy this directory's files to {install_dir} on the device (keep the 0600 modes).\n"
        )
        files.append(write_file(directory / "edge.yaml", header + yaml.safe_dump(snippet, sort_keys=False)))

        hashes = read_password_file(self.password_file)
        hashes[username] = hash_password(username, password, use_tool=use_tool)
        self.registry.accounts[username] = account
        self._write_broker_files(hashes)
        return DeviceBundle(account, directory, files)

    def add_central(self, name: str = "central", *, use_tool: bool = True) -> Path:
        """An account for central's ingest: reads every device topic, writes config topics."""
        _check_id(name, "service name")
        existing = self.registry.accounts.get(name)
        if existing is not None and existing.revoked_at is None:
            raise RegistryError(f"service {name} is already provisioned; revoke it first to re-issue")
        password = generate_password()
        path = write_file(self.root / "services" / name / "mqtt.password", password + "\n", SECRET_MODE)
        hashes = read_password_file(self.password_file)
        hashes[name] = hash_password(name, password, use_tool=use_tool)
        self.registry.accounts[name] = Account(name, "central", datetime.now(UTC).isoformat())
        self._write_broker_files(hashes)
        return path

    def revoke(self, username: str) -> Account:
        """Remove the login and ACL entries, and revoke the client certificate in the CRL."""
        account = self.registry.accounts.get(username)
        if account is None:
            raise RegistryError(f"no account {username!r} in {self.registry.path}")
        if account.revoked_at is not None:
            raise RegistryError(f"{username} was already revoked at {account.revoked_at}")
        revoked = account.revoked()
        self.registry.accounts[username] = revoked
        hashes = read_password_file(self.password_file)
        hashes.pop(username, None)
        self._write_broker_files(hashes)
        return revoked

    def server_cert(self, hostnames: list[str]) -> tuple[Path, Path]:
        """The broker's TLS certificate, signed by the broker CA that devices trust."""
        if not hostnames:
            raise ValueError("give at least one hostname or IP address for the broker certificate")
        broker_ca = load_or_create_ca(self.broker_ca_dir, "anpr broker CA")
        cert_pem, key_pem, _ = issue_certificate(broker_ca, hostnames[0], server_names=hostnames)
        write_file(self.broker_dir / "broker-ca.crt", broker_ca.pem)
        return (
            write_file(self.broker_dir / "server.crt", cert_pem),
            write_file(self.broker_dir / "server.key", key_pem, SECRET_MODE),
        )

    def accounts(self) -> list[Account]:
        return sorted(self.registry.accounts.values(), key=lambda a: a.username)

    # --- broker files -----------------------------------------------------------------------------

    def _write_broker_files(self, hashes: dict[str, str]) -> None:
        active = {a.username for a in self.registry.active()}
        stray = set(hashes) - active
        if stray:
            raise RegistryError(
                f"{self.password_file} has logins the registry does not know: {sorted(stray)}"
            )
        write_file(self.password_file, render_password_file(hashes), SECRET_MODE)
        write_file(self.acl_file, render_acl(self.registry.accounts.values()))
        self._write_client_pki()
        self.registry.save()

    def _write_client_pki(self) -> None:
        sites_dir = self.root / "pki" / "sites"
        if not sites_dir.is_dir():
            return
        bundle: list[bytes] = []
        crls: list[bytes] = []
        for site_dir in sorted(p for p in sites_dir.iterdir() if (p / "ca.crt").exists()):
            ca = load_or_create_ca(site_dir, "")
            revoked = [
                int(a.cert_serial, 16)
                for a in self.registry.accounts.values()
                if a.site_id == site_dir.name and a.cert_serial and a.revoked_at is not None
            ]
            bundle.append(ca.pem)
            crls.append(build_crl(ca, revoked))
        write_file(self.clients_ca_file, b"".join(bundle))
        write_file(self.crl_file, b"".join(crls))
