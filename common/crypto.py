"""Encryption at rest for plate data: the store key, sealed fields, and the blind plate index.

One 32-byte master key per device. Three independent keys are derived from it with HKDF-SHA256
(distinct `info` labels), so learning one reveals nothing about the others:

* the AES-256-GCM key that seals plate text and images (random 96-bit nonce per value; the
  associated data names the event and the column, so a ciphertext moved to another row or column
  fails authentication instead of decrypting to the wrong plate);
* the HMAC-SHA256 key of the blind index: a keyed hash of the plate's glyph form, so a store can
  find all events of one plate without decrypting any other;
* a key check value stored beside the data, so a wrong key is reported as such, not as garbage.

The master key comes from a systemd credential (`$CREDENTIALS_DIRECTORY/<name>`, see
common/credentials.py) when the service has one, else from a key file created with mode 0600 on
first use. It is never read from the configuration file: the configuration only names where the
key lives.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from common import credentials
from common.plates.normalize import normalize_plate

MASTER_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# Name of the systemd credential holding the master key (LoadCredential[Encrypted]=anpr-store-key:...).
STORE_KEY_CREDENTIAL = credentials.STORE_KEY

_SEAL_FORMAT = b"\x01"  # first byte of every sealed value: lets a later format coexist with this one
_AAD_PREFIX = b"anpr.store.v1\x00"
_HKDF_SALT = b"anpr.store.hkdf.v1"
_INFO_SEAL = b"anpr.store/aes-256-gcm/v1"
_INFO_INDEX = b"anpr.store/plate-index/hmac-sha256/v1"
_INFO_CHECK = b"anpr.store/key-check/v1"


class CryptoError(Exception):
    """Base of the errors raised by this module."""


class KeyFileError(CryptoError):
    """The store key cannot be loaded; the message says which file and what to do."""


class DecryptionError(CryptoError):
    """A sealed value did not authenticate: wrong key, tampering, or a value moved between rows."""


def _hkdf(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=info).derive(master)


def associated_data(event_id: uuid.UUID, column: str) -> bytes:
    """Associated data binding a sealed value to one event and one column."""
    return _AAD_PREFIX + event_id.bytes + column.encode("ascii")


class FieldCipher:
    """AES-256-GCM for single values; the output is format byte + nonce + ciphertext + tag."""

    overhead = len(_SEAL_FORMAT) + NONCE_BYTES + TAG_BYTES

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError(f"AES-256-GCM needs a 32-byte key, got {len(key)} bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return _SEAL_FORMAT + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < self.overhead or sealed[:1] != _SEAL_FORMAT:
            raise DecryptionError("sealed value is truncated or of an unknown format")
        nonce = sealed[1 : 1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + NONCE_BYTES :], aad)
        except InvalidTag as exc:
            raise DecryptionError(
                "sealed value failed authentication: wrong key, modified data, or a value moved between rows"
            ) from exc


class BlindIndex:
    """Keyed hash of a plate's glyph form: equal for equal plates, useless without the key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the blind index key must have at least 32 bytes")
        self._key = key

    def of(self, plate: str) -> bytes:
        # The glyph form (upper case, no separators, Cyrillic letters as Latin look-alikes): the
        # Cyrillic and Latin spellings of one plate must give one index value.
        glyphs = normalize_plate(plate)
        if not glyphs:
            raise ValueError(f"plate text {plate!r} has no plate characters")
        return hmac.new(self._key, glyphs.encode("ascii"), hashlib.sha256).digest()


@dataclass(frozen=True)
class StoreKeys:
    """The keys derived from one master key."""

    cipher: FieldCipher
    index: BlindIndex
    check_value: bytes

    @classmethod
    def derive(cls, master: bytes) -> StoreKeys:
        if not isinstance(master, bytes | bytearray) or len(master) != MASTER_KEY_BYTES:
            raise KeyFileError(f"the store master key must be exactly {MASTER_KEY_BYTES} bytes")
        master = bytes(master)
        return cls(
            cipher=FieldCipher(_hkdf(master, _INFO_SEAL)),
            index=BlindIndex(_hkdf(master, _INFO_INDEX)),
            check_value=_hkdf(master, _INFO_CHECK),
        )


def generate_master_key() -> bytes:
    return secrets.token_bytes(MASTER_KEY_BYTES)


def _check_length(data: bytes, where: Path) -> bytes:
    if len(data) != MASTER_KEY_BYTES:
        raise KeyFileError(
            f"{where}: a store key must be exactly {MASTER_KEY_BYTES} raw bytes, this file has {len(data)}; "
            "restore the right key file (a new key cannot read the existing database)"
        )
    return data


def _create_key_file(path: Path) -> bytes:
    """Write a new random key atomically: a reader never sees a half-written key file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = generate_master_key()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created the key first: then use theirs
    except FileExistsError:
        return read_key_file(path)
    finally:
        tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return key


def read_key_file(path: Path) -> bytes:
    """Read an existing key file, refusing one that others may read or of the wrong length."""
    try:
        info = path.stat()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the store key: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"{path}: the store key must be a regular file")
    if info.st_mode & 0o077:
        raise KeyFileError(
            f"{path}: the store key is readable by other users (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"run `chmod 600 {path}` and check who may have copied it"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the store key: {exc.strerror or exc}") from exc
    return _check_length(data, path)


def load_or_create_key_file(path: Path, create: bool = True) -> bytes:
    """The master key in `path`; a missing file is created with a fresh random key and mode 0600.

    With create=False (data sealed with the key already exists) a missing file is an error: a new
    key could not read that data, and writing one would hide the loss.
    """
    if not path.exists():
        if not create:
            raise KeyFileError(
                f"{path}: the store key is missing but data encrypted with it exists; restore the key "
                "file from its backup (or move the database away to start afresh)"
            )
        return _create_key_file(path)
    return read_key_file(path)


def load_store_key(key_file: Path, credential_name: str = STORE_KEY_CREDENTIAL, create: bool = True) -> bytes:
    """The store master key: the systemd credential when present, else the key file (created if
    missing and `create`).

    systemd owns the credential directory (readable only by the service), so a credential is
    checked for its length, not its mode.
    """
    credential = credentials.credential_path(credential_name)
    if credential is not None:
        try:
            data = credential.read_bytes()
        except OSError as exc:
            raise KeyFileError(f"{credential}: cannot read the store key credential: {exc.strerror}") from exc
        return _check_length(data, credential)
    return load_or_create_key_file(Path(key_file), create)
