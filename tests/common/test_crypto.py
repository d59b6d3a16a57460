"""Store crypto: sealed values bound to their row, a keyed plate index, and careful key handling."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest

from common.crypto import (
    MASTER_KEY_BYTES,
    STORE_KEY_CREDENTIAL,
    DecryptionError,
    KeyFileError,
    StoreKeys,
    associated_data,
    load_or_create_key_file,
    load_store_key,
)


@pytest.fixture
def keys() -> StoreKeys:
    return StoreKeys.derive(os.urandom(MASTER_KEY_BYTES))


def test_sealed_value_opens_with_its_event_and_column(keys: StoreKeys) -> None:
    event_id = uuid.uuid4()
    sealed = keys.cipher.seal("А123ВС77".encode(), associated_data(event_id, "plate"))
    assert keys.cipher.open(sealed, associated_data(event_id, "plate")) == "А123ВС77".encode()
    assert "А123ВС77".encode() not in sealed


def test_each_seal_uses_a_fresh_nonce(keys: StoreKeys) -> None:
    aad = associated_data(uuid.uuid4(), "plate")
    first, second = keys.cipher.seal(b"A123BC77", aad), keys.cipher.seal(b"A123BC77", aad)
    assert first != second
    assert first[1:13] != second[1:13]
    assert len(first) == len(b"A123BC77") + keys.cipher.overhead


def test_a_value_moved_to_another_event_or_column_does_not_open(keys: StoreKeys) -> None:
    event_id = uuid.uuid4()
    sealed = keys.cipher.seal(b"A123BC77", associated_data(event_id, "plate"))
    with pytest.raises(DecryptionError, match="failed authentication"):
        keys.cipher.open(sealed, associated_data(uuid.uuid4(), "plate"))
    with pytest.raises(DecryptionError):
        keys.cipher.open(sealed, associated_data(event_id, "crop"))


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_any_changed_byte_is_detected(keys: StoreKeys, position: int) -> None:
    aad = associated_data(uuid.uuid4(), "crop")
    sealed = bytearray(keys.cipher.seal(b"\xff\xd8" + bytes(100) + b"\xff\xd9", aad))
    sealed[position] ^= 0x80
    with pytest.raises(DecryptionError):
        keys.cipher.open(bytes(sealed), aad)


def test_truncated_values_are_refused(keys: StoreKeys) -> None:
    aad = associated_data(uuid.uuid4(), "plate")
    with pytest.raises(DecryptionError, match="truncated"):
        keys.cipher.open(keys.cipher.seal(b"x", aad)[:20], aad)


def test_another_master_key_cannot_open_the_values(keys: StoreKeys) -> None:
    aad = associated_data(uuid.uuid4(), "plate")
    other = StoreKeys.derive(os.urandom(MASTER_KEY_BYTES))
    with pytest.raises(DecryptionError):
        other.cipher.open(keys.cipher.seal(b"A123BC77", aad), aad)
    assert other.check_value != keys.check_value


def test_derived_keys_are_deterministic_and_independent() -> None:
    master = bytes(range(32))
    first, second = StoreKeys.derive(master), StoreKeys.derive(master)
    assert first.check_value == second.check_value
    assert first.index.of("A123BC77") == second.index.of("A123BC77")
    assert master not in (first.check_value, first.index.of("A123BC77"))
    with pytest.raises(KeyFileError, match="exactly 32 bytes"):
        StoreKeys.derive(master[:16])


def test_blind_index_is_one_value_per_plate_in_any_spelling(keys: StoreKeys) -> None:
    spellings = ["А123ВС77", "A123BC77", "a123bc77", "А 123 ВС 77", "A-123-BC-77"]
    assert len({keys.index.of(s) for s in spellings}) == 1
    assert keys.index.of("А123ВС77") != keys.index.of("А123ВС78")
    assert len(keys.index.of("А123ВС77")) == 32


def test_blind_index_depends_on_the_key(keys: StoreKeys) -> None:
    other = StoreKeys.derive(os.urandom(MASTER_KEY_BYTES))
    assert keys.index.of("А123ВС77") != other.index.of("А123ВС77")


def test_blind_index_refuses_text_that_is_no_plate(keys: StoreKeys) -> None:
    with pytest.raises(ValueError, match="no plate characters"):
        keys.index.of(" - ")
    with pytest.raises(ValueError, match="characters no plate carries"):
        keys.index.of("A123@77")


def test_a_missing_key_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "edge" / "store.key"
    key = load_or_create_key_file(path)
    assert len(key) == MASTER_KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == key
    assert load_or_create_key_file(path) == key  # the second run reads, never replaces
    assert [p.name for p in path.parent.iterdir()] == ["store.key"]  # no temporary file left


def test_a_missing_key_file_is_an_error_when_creating_is_not_allowed(tmp_path: Path) -> None:
    path = tmp_path / "store.key"
    with pytest.raises(KeyFileError, match="missing but data encrypted with it exists"):
        load_or_create_key_file(path, create=False)
    assert not path.exists()


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.key"
    path.write_bytes(os.urandom(32))
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match=r"readable by other users \(mode 0644\).*chmod 600"):
        load_or_create_key_file(path)


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_a_key_file_of_the_wrong_length_is_refused(tmp_path: Path, length: int) -> None:
    path = tmp_path / "store.key"
    path.write_bytes(os.urandom(length))
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=f"exactly 32 raw bytes, this file has {length}"):
        load_or_create_key_file(path)


def test_a_systemd_credential_is_preferred_to_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    secret = os.urandom(32)
    (credentials / STORE_KEY_CREDENTIAL).write_bytes(secret)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    key_file = tmp_path / "store.key"
    assert load_store_key(key_file) == secret
    assert not key_file.exists()  # nothing is created beside a credential


def test_a_credential_of_the_wrong_length_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / STORE_KEY_CREDENTIAL).write_bytes(b"too short")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    with pytest.raises(KeyFileError, match="exactly 32 raw bytes"):
        load_store_key(tmp_path / "store.key")


def test_without_a_credential_the_key_file_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "empty"))
    key_file = tmp_path / "store.key"
    key = load_store_key(key_file)
    assert key_file.read_bytes() == key
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert load_store_key(key_file) == key
