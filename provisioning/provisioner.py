"""Per-device identities for the fleet: store key, MQTT credentials, ACL, certificates, edge.yaml.

Everything lives under one root directory (keep it on the operator's machine, not on a device):

    registry.json                       who was provisioned, when, and what was revoked
    broker/passwd, broker/acl           Mosquitto password file and ACL (copy to the broker)
    broker/clients-ca.pem, crl.pem      site CAs and their CRLs, for client-certificate listeners
    broker/server.crt, server.key       the broker's TLS certificate (server-cert)
    pki/broker-ca/, pki/sites/<site>/   CA keys (0600)
    devices/<site>/<device>/            what goes into /etc/anpr on the box, in the same layout
                                        (provisioning/layout.py): edge.yaml, mqtt-ca.crt,
                                        mqtt-client.crt, credentials/{store.key, mqtt.password,
                                        client.key}
    services/<name>/mqtt.password       central's broker password
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from common.config import ID_PATTERN, parse_edge_config
from common.crypto import generate_master_key
from provisioning import layout
from provisioning.acl import render_acl
from provisioning.certs import build_crl, issue_certificate, load_or_create_ca
from provisioning.files import SECRET_MODE, write_file
from provisioning.passwords import generate_password, hash_password, read_password_file, render_password_file
from provisioning.registry import Account, Registry, RegistryError, device_username

DEFAULT_INSTALL_DIR = layout.CONFIG_DIR


def _check_id(value: str, what: str) -> str:
    if not re.match(ID_PATTERN, value):
        raise ValueError(f"{what} {value!r} must be 1-64 characters of letters, digits, '_', '.', '-'")
    return value


@dataclass(frozen=True)
class DeviceBundle:
    account: Account
    directory: Path
    files: list[Path]


def _make_credentials_dir(bundle: Path) -> None:
    # The bundle is copied to the box as it is: its credentials/ must already be root-only there.
    path = bundle / layout.CREDENTIALS_DIR
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


@dataclass(frozen=True)
class _MqttLogin:
    password: str
    cert_serial: str | None
    files: list[Path]


def edge_snippet(
    site_id: str,
    device_id: str,
    *,
    broker_host: str,
    broker_port: int,
    tls: bool,
    client_cert: bool,
    install_dir: Path,
) -> dict[str, Any]:
    """The identity part of a device's edge.yaml; paths are where the bundle's files land on the box."""
    mqtt: dict[str, Any] = {"enabled": True, "host": broker_host, "port": broker_port}
    if not client_cert:  # with a certificate the broker takes the identity from its CN
        mqtt |= {
            "username": device_username(site_id, device_id),
            "password_file": str(install_dir / layout.MQTT_PASSWORD),
        }
    if tls:
        mqtt |= {"tls": True, "ca_file": str(install_dir / layout.BROKER_CA)}
    if client_cert:
        mqtt |= {
            "cert_file": str(install_dir / layout.CLIENT_CERT),
            "key_file": str(install_dir / layout.CLIENT_KEY),
        }
    return {
        "site_id": site_id,
        "device_id": device_id,
        "store": {"key_file": str(install_dir / layout.STORE_KEY)},
        "mqtt": mqtt,
    }


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
            raise RegistryError(
                f"device {username} is already provisioned; `rotate` renews its MQTT login and keeps its "
                "store key (revoke it first to start afresh with a new store key)"
            )
        tls = tls or client_cert
        directory = self.device_dir(site_id, device_id)
        _make_credentials_dir(directory)
        files = [write_file(directory / layout.STORE_KEY, generate_master_key(), SECRET_MODE)]
        login = self._issue_login(directory, site_id, device_id, client_cert=client_cert)
        files += login.files
        if tls:
            broker_ca = load_or_create_ca(self.broker_ca_dir, "anpr broker CA")
            files.append(write_file(directory / layout.BROKER_CA, broker_ca.pem))
        account = Account(
            username=username,
            role="device",
            created_at=datetime.now(UTC).isoformat(),
            site_id=site_id,
            device_id=device_id,
            cert_serial=login.cert_serial,
            # A re-added device keeps its old certificates in the CRL: they carry the same CN.
            revoked_serials=existing.all_serials() if existing is not None else (),
        )
        snippet = edge_snippet(
            site_id,
            device_id,
            broker_host=broker_host,
            broker_port=broker_port or layout.device_port(tls=tls, client_cert=client_cert),
            tls=tls,
            client_cert=client_cert,
            install_dir=install_dir,
        )
        parse_edge_config(snippet, f"edge.yaml for {username}")  # never hand out a config the agent refuses
        header = (
            f"# edge.yaml for {username}, written by `python -m provisioning add-device`.\n"
            f"# This directory mirrors {install_dir} on the device: copy it there as it is, keeping\n"
            f"# {layout.CREDENTIALS_DIR}/ root-only (0700, files 0600); the unit hands them to the agent.\n"
        )
        files.append(
            write_file(directory / layout.EDGE_CONFIG, header + yaml.safe_dump(snippet, sort_keys=False))
        )

        hashes = read_password_file(self.password_file)
        hashes[username] = hash_password(username, login.password, use_tool=use_tool)
        self.registry.accounts[username] = account
        self._write_broker_files(hashes)
        return DeviceBundle(account, directory, files)

    def rotate(self, site_id: str, device_id: str, *, use_tool: bool = True) -> DeviceBundle:
        """New MQTT credentials for an active device: a new password and, if it has one, a new client
        certificate (the old one goes into the CRL). The store key and edge.yaml stay as they are:
        a new store key could not read the box's existing event store."""
        username = device_username(site_id, device_id)
        account = self.registry.accounts.get(username)
        if account is None or account.role != "device":
            raise RegistryError(f"no device {username!r} in {self.registry.path}; add it with add-device")
        if account.revoked_at is not None:
            raise RegistryError(
                f"{username} was revoked at {account.revoked_at}; a revoked device gets a new identity "
                "with add-device"
            )
        directory = self.device_dir(site_id, device_id)
        _make_credentials_dir(directory)
        login = self._issue_login(directory, site_id, device_id, client_cert=account.cert_serial is not None)
        rotated = replace(
            account,
            cert_serial=login.cert_serial,
            revoked_serials=account.all_serials() if login.cert_serial else account.revoked_serials,
            rotated_at=datetime.now(UTC).isoformat(),
        )
        hashes = read_password_file(self.password_file)
        hashes[username] = hash_password(username, login.password, use_tool=use_tool)
        self.registry.accounts[username] = rotated
        self._write_broker_files(hashes)
        return DeviceBundle(rotated, directory, login.files)

    def _issue_login(self, directory: Path, site_id: str, device_id: str, *, client_cert: bool) -> _MqttLogin:
        """A new MQTT password (always: it is also the fallback login on the TLS listener) and, if
        asked, a client certificate from the site CA, written into the device bundle."""
        password = generate_password()
        files = [write_file(directory / layout.MQTT_PASSWORD, password + "\n", SECRET_MODE)]
        serial: str | None = None
        if client_cert:
            ca = load_or_create_ca(self.root / "pki" / "sites" / site_id, f"anpr site {site_id} CA")
            cert_pem, key_pem, serial_number = issue_certificate(ca, device_username(site_id, device_id))
            serial = format(serial_number, "x")
            files.append(write_file(directory / layout.CLIENT_CERT, cert_pem))
            files.append(write_file(directory / layout.CLIENT_KEY, key_pem, SECRET_MODE))
        return _MqttLogin(password, serial, files)

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

    def integration_password_path(self, name: str) -> Path:
        return self.root / "integrations" / name / "mqtt.password"

    def add_integration(
        self, name: str, site_id: str | None = None, *, can_open_gates: bool = False, use_tool: bool = True
    ) -> Path:
        """A read-only login for an integration: events, decisions and status of one site (or all);
        with `can_open_gates` it may also publish the boxes' Home Assistant open-gate commands."""
        _check_id(name, "integration name")
        if site_id is not None:
            _check_id(site_id, "site id")
        username = f"integration-{name}"
        existing = self.registry.accounts.get(username)
        if existing is not None and existing.revoked_at is None:
            raise RegistryError(f"integration {name} is already provisioned; rotate or revoke it")
        password = generate_password()
        path = write_file(self.integration_password_path(name), password + "\n", SECRET_MODE)
        hashes = read_password_file(self.password_file)
        hashes[username] = hash_password(username, password, use_tool=use_tool)
        self.registry.accounts[username] = Account(
            username, "integration", datetime.now(UTC).isoformat(), site_id=site_id,
            can_open_gates=can_open_gates,
        )
        self._write_broker_files(hashes)
        return path

    def rotate_integration(self, name: str, *, use_tool: bool = True) -> Path:
        """A new password for an active integration login; the old one stops working at the reload."""
        username = f"integration-{name}"
        account = self.registry.accounts.get(username)
        if account is None or account.role != "integration":
            raise RegistryError(f"no integration {name!r} in {self.registry.path}: use add-integration")
        if account.revoked_at is not None:
            raise RegistryError(f"{username} was revoked at {account.revoked_at}; add it again")
        password = generate_password()
        path = write_file(self.integration_password_path(name), password + "\n", SECRET_MODE)
        hashes = read_password_file(self.password_file)
        hashes[username] = hash_password(username, password, use_tool=use_tool)
        self.registry.accounts[username] = replace(account, rotated_at=datetime.now(UTC).isoformat())
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
                int(serial, 16)
                for a in self.registry.accounts.values()
                if a.site_id == site_dir.name
                for serial in a.crl_serials()
            ]
            bundle.append(ca.pem)
            crls.append(build_crl(ca, revoked))
        write_file(self.clients_ca_file, b"".join(bundle))
        write_file(self.crl_file, b"".join(crls))
