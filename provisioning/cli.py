"""`python -m provisioning`: device identities, central's account, the broker's files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provisioning import layout
from provisioning.broker_config import BrokerLayout, render_broker_config
from provisioning.files import write_file
from provisioning.passwords import PasswordFileError
from provisioning.provisioner import DEFAULT_INSTALL_DIR, Provisioner
from provisioning.registry import RegistryError, device_username


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m provisioning", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def with_root(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--out",
            "--dir",
            dest="root",
            type=Path,
            required=True,
            help="provisioning directory (registry, broker files, device bundles)",
        )
        return p

    add = with_root(sub.add_parser("add-device", help="create a device identity and its files"))
    add.add_argument("--site", required=True)
    add.add_argument("--device", required=True)
    add.add_argument("--broker-host", default="127.0.0.1", help="broker address the device connects to")
    add.add_argument(
        "--broker-port",
        type=int,
        default=None,
        help=f"default {layout.PLAIN_PORT}, {layout.TLS_PORT} with --tls, {layout.CLIENT_CERT_PORT} with "
        "--client-cert (the broker's listeners)",
    )
    add.add_argument("--tls", action="store_true", help="connect over TLS with a password")
    add.add_argument(
        "--client-cert",
        action="store_true",
        help="issue a client certificate from the site CA (implies TLS, no password login)",
    )
    add.add_argument(
        "--install-dir",
        type=Path,
        default=DEFAULT_INSTALL_DIR,
        help="where the files will live on the device; edge.yaml points there",
    )
    add.add_argument(
        "--no-mosquitto-passwd",
        action="store_true",
        help="hash passwords in Python even if mosquitto_passwd is installed",
    )

    rotate = with_root(
        sub.add_parser(
            "rotate",
            help="new MQTT password (and client certificate, the old one revoked) for a device; "
            "keeps its store key",
        )
    )
    rotate.add_argument("--site", required=True)
    rotate.add_argument("--device", required=True)
    rotate.add_argument("--no-mosquitto-passwd", action="store_true")

    central = with_root(sub.add_parser("add-central", help="create central's broker account"))
    central.add_argument(
        "--name", default="central", help="one account per central replica (client ids are bound to logins)"
    )
    central.add_argument("--no-mosquitto-passwd", action="store_true")

    integration = with_root(
        sub.add_parser("add-integration", help="create a read-only login (events, decisions, status)")
    )
    integration.add_argument("--name", required=True, help="the login is integration-NAME")
    integration.add_argument("--site", default=None, help="only this site (default: every site)")
    integration.add_argument(
        "--can-open-gates", action="store_true",
        help="may also press the boxes' Home Assistant open-gate buttons (publish their command topic)",
    )
    integration.add_argument("--no-mosquitto-passwd", action="store_true")
    rotate_integration = with_root(
        sub.add_parser("rotate-integration", help="new password for an integration login")
    )
    rotate_integration.add_argument("--name", required=True)
    rotate_integration.add_argument("--no-mosquitto-passwd", action="store_true")

    with_root(sub.add_parser("list", help="list accounts"))

    revoke = with_root(sub.add_parser("revoke", help="remove a device's login, ACL and certificate"))
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--username", help="any account, e.g. central or integration-NAME")
    target.add_argument("--site", help="with --device")
    revoke.add_argument("--device")

    server = with_root(sub.add_parser("server-cert", help="issue the broker's TLS certificate"))
    server.add_argument("--hostname", action="append", required=True, help="repeat for more names or IPs")

    conf = with_root(sub.add_parser("broker-config", help="write broker/mosquitto.conf for these files"))
    conf.add_argument(
        "--files-dir",
        type=Path,
        default=None,
        help="where the broker files will be on the broker host (default: this directory)",
    )
    conf.add_argument("--persistence-dir", type=Path, default=Path("/var/lib/mosquitto"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        provisioner = Provisioner(args.root)
        if args.command == "add-device":
            bundle = provisioner.add_device(
                args.site,
                args.device,
                broker_host=args.broker_host,
                broker_port=args.broker_port,
                tls=args.tls,
                client_cert=args.client_cert,
                install_dir=args.install_dir,
                use_tool=not args.no_mosquitto_passwd,
            )
            print(f"provisioned {bundle.account.username} in {bundle.directory}")
            for path in bundle.files:
                print(f"  {path}")
            print(
                f"broker files updated: {provisioner.password_file}, {provisioner.acl_file} "
                "(copy them to the broker and send it SIGHUP)"
            )
        elif args.command == "rotate":
            bundle = provisioner.rotate(args.site, args.device, use_tool=not args.no_mosquitto_passwd)
            print(f"rotated the MQTT login of {bundle.account.username}; store key and edge.yaml unchanged")
            for path in bundle.files:
                print(f"  {path}")
            broker = (
                "restart it (it reads the CRL at start)" if bundle.account.cert_serial else "send it SIGHUP"
            )
            print(
                f"copy the broker files to the broker and {broker}, then these files to the device "
                "and restart anpr-edge"
            )
        elif args.command == "add-central":
            path = provisioner.add_central(args.name, use_tool=not args.no_mosquitto_passwd)
            print(f"central account {args.name}: password in {path}")
        elif args.command == "add-integration":
            path = provisioner.add_integration(
                args.name, args.site, can_open_gates=args.can_open_gates,
                use_tool=not args.no_mosquitto_passwd,
            )
            print(f"integration login integration-{args.name} (read-only): password in {path}; "
                  "copy the broker files to the broker and send it SIGHUP")
        elif args.command == "rotate-integration":
            path = provisioner.rotate_integration(args.name, use_tool=not args.no_mosquitto_passwd)
            print(f"rotated integration-{args.name}: new password in {path}; copy the broker files and "
                  "send the broker SIGHUP")
        elif args.command == "list":
            for account in provisioner.accounts():
                state = f"revoked {account.revoked_at}" if account.revoked_at else "active"
                cert = f" cert {account.cert_serial}" if account.cert_serial else ""
                rotated = f" rotated {account.rotated_at}" if account.rotated_at else ""
                when = f"created {account.created_at}{rotated}"
                print(f"{account.username}\t{account.role}\t{state}\t{when}{cert}")
        elif args.command == "revoke":
            if args.username is None and args.device is None:
                raise RegistryError("revoke --site needs --device")
            username = args.username or device_username(args.site, args.device)
            account = provisioner.revoke(username)
            print(f"revoked {account.username}; copy the broker files and send the broker SIGHUP")
        elif args.command == "server-cert":
            cert, key = provisioner.server_cert(args.hostname)
            print(f"broker certificate {cert}, key {key}")
        elif args.command == "broker-config":
            layout = BrokerLayout(
                files_dir=args.files_dir or provisioner.broker_dir.resolve(),
                persistence_dir=args.persistence_dir,
            )
            path = write_file(provisioner.broker_dir / "mosquitto.conf", render_broker_config(layout))
            print(f"wrote {path}")
    except (RegistryError, PasswordFileError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
