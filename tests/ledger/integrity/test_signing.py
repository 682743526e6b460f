"""ledger.signing: key ids, Ed25519 keys, key files and password-sealed keys."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import KeyMaterialError
from ledger.integrity.signing import (
    SigningKey,
    decode_public_key,
    decrypt_private_key,
    encrypt_private_key,
    key_id,
    load_private_key_file,
    note_key_id,
    public_raw,
    verify_signature,
    write_private_key_file,
)

FAST_N = 2**10  # scrypt cost for tests; the default costs about 0.1 s per derivation


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey(
        Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"signing tests").digest())
    )


@pytest.fixture(scope="module")
def sealed(key: SigningKey) -> str:
    return encrypt_private_key(key, "correct horse", n=FAST_N)


class TestKeyIds:
    def test_key_id_of_the_spec_vectors_first_key(
        self, spec_lines: list[bytes]
    ) -> None:
        genesis = json.loads(spec_lines[0])
        public = decode_public_key(genesis["data"]["public_key"])
        assert key_id(public) == "04747aa6434c663e"
        assert genesis["key"] == key_id(public)

    def test_key_id_matches_the_trusted_key_id_file(self, spec_vectors: Path) -> None:
        genesis = json.loads(
            (spec_vectors / "valid" / "events.jsonl").read_text().split("\n")[0]
        )
        trusted = (spec_vectors / "valid-side" / "trusted-key-id").read_text().strip()
        assert key_id(decode_public_key(genesis["data"]["public_key"])) == trusted

    def test_esign_key_registration_states_its_own_id(
        self, spec_lines: list[bytes]
    ) -> None:
        data = json.loads(spec_lines[1])["data"]
        assert key_id(decode_public_key(data["public_key"])) == data["key_id"]

    @given(st.binary(min_size=32, max_size=32))
    def test_key_id_is_first_8_bytes_of_sha256_in_lowercase_hex(
        self, raw: bytes
    ) -> None:
        kid = key_id(raw)
        assert kid == hashlib.sha256(raw).hexdigest()[:16]
        assert len(kid) == 16
        assert kid == kid.lower()

    def test_note_key_id_follows_c2sp_signed_note(self, key: SigningKey) -> None:
        origin = "qms.example.gov.cn/ledger"
        expected = hashlib.sha256(
            origin.encode() + b"\x0a" + b"\x01" + key.public_raw
        ).digest()[:4]
        assert note_key_id(origin, key.public_raw) == expected

    def test_signing_key_properties(self, key: SigningKey) -> None:
        assert key.public_raw == public_raw(key.private)
        assert len(key.public_raw) == 32
        assert base64.b64decode(key.public_b64) == key.public_raw
        assert key.key_id == key_id(key.public_raw)


class TestDecodePublicKey:
    def test_decodes_padded_base64_of_32_bytes(self, key: SigningKey) -> None:
        assert decode_public_key(key.public_b64) == key.public_raw

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("not base64!", "not base64"),
            (base64.b64encode(bytes(31)).decode(), "31 bytes"),
            (base64.b64encode(bytes(33)).decode(), "33 bytes"),
            (base64.b64encode(bytes(32)).decode().rstrip("="), "not base64"),
            ("", "0 bytes"),
        ],
    )
    def test_rejects_anything_else(self, text: str, reason: str) -> None:
        with pytest.raises(KeyMaterialError, match=reason):
            decode_public_key(text)


class TestSignVerify:
    @given(st.binary(max_size=200))
    def test_signature_verifies_for_its_message_only(self, message: bytes) -> None:
        key = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(32)))
        signature = key.sign(message)
        assert len(signature) == 64
        assert verify_signature(key.public_raw, signature, message)
        assert not verify_signature(key.public_raw, signature, message + b"\x00")

    def test_generated_keys_differ(self) -> None:
        one, two = SigningKey.generate(), SigningKey.generate()
        assert one.public_raw != two.public_raw
        signature = one.sign(b"m")
        assert verify_signature(one.public_raw, signature, b"m")
        assert not verify_signature(two.public_raw, signature, b"m")

    def test_a_flipped_signature_bit_fails(self, key: SigningKey) -> None:
        signature = bytearray(key.sign(b"m"))
        for i in range(0, len(signature) * 8, 37):
            flipped = bytearray(signature)
            flipped[i // 8] ^= 1 << (i % 8)
            assert not verify_signature(key.public_raw, bytes(flipped), b"m")

    @pytest.mark.parametrize(
        ("public", "signature"),
        [
            pytest.param(bytes(31), bytes(64), id="short-public-key"),
            pytest.param(None, bytes(63), id="short-signature"),
            pytest.param(None, b"", id="empty-signature"),
        ],
    )
    def test_malformed_input_does_not_verify(
        self, key: SigningKey, public: bytes | None, signature: bytes
    ) -> None:
        assert not verify_signature(public or key.public_raw, signature, b"m")


class TestKeyFiles:
    def test_written_key_loads_back(self, tmp_path: Path, key: SigningKey) -> None:
        path = tmp_path / "instance" / "signing-key.pem"
        write_private_key_file(path, key)
        assert load_private_key_file(path).public_raw == key.public_raw
        assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")

    def test_key_file_is_owner_only(self, tmp_path: Path, key: SigningKey) -> None:
        path = tmp_path / "signing-key.pem"
        old = os.umask(0)
        try:
            write_private_key_file(path, key)
        finally:
            os.umask(old)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def test_refuses_to_overwrite_a_key_file(
        self, tmp_path: Path, key: SigningKey
    ) -> None:
        path = tmp_path / "signing-key.pem"
        path.write_bytes(b"keep me")
        with pytest.raises(KeyMaterialError, match="cannot create key file"):
            write_private_key_file(path, key)
        assert path.read_bytes() == b"keep me"

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(KeyMaterialError, match="cannot read signing key file"):
            load_private_key_file(tmp_path / "absent.pem")

    def test_garbage_file(self, tmp_path: Path) -> None:
        path = tmp_path / "garbage.pem"
        path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n")
        with pytest.raises(KeyMaterialError, match="no unencrypted PEM private key"):
            load_private_key_file(path)

    def test_password_protected_pem(self, tmp_path: Path, key: SigningKey) -> None:
        path = tmp_path / "encrypted.pem"
        path.write_bytes(
            key.private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            )
        )
        with pytest.raises(KeyMaterialError, match="no unencrypted PEM private key"):
            load_private_key_file(path)

    @pytest.mark.parametrize(
        "other",
        [
            pytest.param(lambda: ec.generate_private_key(ec.SECP256R1()), id="ec-p256"),
            pytest.param(x25519.X25519PrivateKey.generate, id="x25519"),
        ],
    )
    def test_non_ed25519_key(self, tmp_path: Path, other: object) -> None:
        path = tmp_path / "other.pem"
        private = other()  # type: ignore[operator]  # a key factory
        path.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        with pytest.raises(KeyMaterialError, match="not an Ed25519 key"):
            load_private_key_file(path)


class TestSealedKeys:
    def test_round_trip(self, key: SigningKey, sealed: str) -> None:
        opened = decrypt_private_key(sealed, "correct horse")
        assert opened.public_raw == key.public_raw
        assert opened.sign(b"m") == key.sign(b"m")

    def test_sealed_form_names_its_parameters_and_key(
        self, key: SigningKey, sealed: str
    ) -> None:
        box = json.loads(sealed)
        assert box["v"] == 1
        assert box["kdf"] == "scrypt"
        assert (box["n"], box["r"], box["p"]) == (FAST_N, 8, 1)
        assert box["key_id"] == key.key_id
        raw = key.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        assert raw not in base64.b64decode(box["ciphertext"])

    def test_sealing_twice_gives_different_blobs(
        self, key: SigningKey, sealed: str
    ) -> None:
        again = encrypt_private_key(key, "correct horse", n=FAST_N)
        assert again != sealed
        assert json.loads(again)["salt"] != json.loads(sealed)["salt"]

    def test_unicode_password(self, key: SigningKey) -> None:
        sealed = encrypt_private_key(key, "密码 pässwörd 😀", n=FAST_N)
        assert decrypt_private_key(sealed, "密码 pässwörd 😀").key_id == key.key_id

    @pytest.mark.parametrize(
        "password", ["wrong", "", "correct horse ", "Correct horse"]
    )
    def test_wrong_password(self, sealed: str, password: str) -> None:
        with pytest.raises(KeyMaterialError, match="wrong password"):
            decrypt_private_key(sealed, password)

    @pytest.mark.parametrize("member", ["ciphertext", "nonce", "salt"])
    def test_a_flipped_bit_of_the_sealed_blob_fails(
        self, sealed: str, member: str
    ) -> None:
        box = json.loads(sealed)
        raw = bytearray(base64.b64decode(box[member]))
        raw[len(raw) // 2] ^= 0x01
        box[member] = base64.b64encode(bytes(raw)).decode()
        with pytest.raises(KeyMaterialError):
            decrypt_private_key(json.dumps(box), "correct horse")

    def test_moved_to_another_key_id_fails(self, sealed: str) -> None:
        box = json.loads(sealed)
        box["key_id"] = "0" * 16
        with pytest.raises(KeyMaterialError):
            decrypt_private_key(json.dumps(box), "correct horse")

    @pytest.mark.parametrize(
        ("member", "value"),
        [
            ("n", 3),
            ("n", 0),
            ("n", "many"),
            ("r", 0),
            ("p", 0),
            ("nonce", "AAAA"),
            ("salt", None),
            ("ciphertext", "%%%"),
        ],
    )
    def test_damaged_parameters(self, sealed: str, member: str, value: object) -> None:
        box = json.loads(sealed)
        box[member] = value
        with pytest.raises(KeyMaterialError):
            decrypt_private_key(json.dumps(box), "correct horse")

    @pytest.mark.parametrize("member", ["salt", "nonce", "ciphertext", "n", "key_id"])
    def test_missing_member(self, sealed: str, member: str) -> None:
        box = json.loads(sealed)
        del box[member]
        with pytest.raises(KeyMaterialError, match="damaged"):
            decrypt_private_key(json.dumps(box), "correct horse")

    @pytest.mark.parametrize("text", ["", "not json", "[]", "null", "{}"])
    def test_not_a_sealed_key(self, text: str) -> None:
        with pytest.raises(KeyMaterialError, match="damaged"):
            decrypt_private_key(text, "correct horse")

    def test_blob_holding_another_key_than_its_id_fails(self, key: SigningKey) -> None:
        """A blob sealed with the right associated data but a different private key."""
        other = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
        salt, nonce = bytes(16), bytes(12)
        derived = Scrypt(salt=salt, length=32, n=FAST_N, r=8, p=1).derive(b"pw")
        raw = other.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        cipher = AESGCM(derived).encrypt(nonce, raw, key.key_id.encode())
        b64 = base64.b64encode
        box = {
            "v": 1,
            "kdf": "scrypt",
            "n": FAST_N,
            "r": 8,
            "p": 1,
            "salt": b64(salt).decode(),
            "nonce": b64(nonce).decode(),
            "key_id": key.key_id,
            "ciphertext": b64(cipher).decode(),
        }
        with pytest.raises(KeyMaterialError, match="does not match its key id"):
            decrypt_private_key(json.dumps(box), "pw")
