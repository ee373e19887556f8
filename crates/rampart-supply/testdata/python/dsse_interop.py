"""The Python side of Rampart's DSSE / in-toto interop tests (crates/rampart-cli/tests/it/supply.rs).

Uses in-toto 3.1.0 (`in_toto.models.metadata.Envelope`, a securesystemslib DSSE envelope)
and securesystemslib 1.6.0 (`SSlibKey`, `CryptoSigner`) with pyca/cryptography keys.
Nothing here re-implements DSSE: PAE, signing and verification are the libraries' own.

  verify ENVELOPE PUB.pem BLOB PREDICATE_TYPE   verify a Rampart envelope; exit 0 OK, 1 rejected
  sign ecdsa|ed25519 OUTDIR BLOB PREDICATE_TYPE  write OUTDIR/py.intoto.json, py.pub, py.key
                                                 (PKCS#8, encrypted with b"py-pass")
  loadkey KEY.pem PASSPHRASE PUB.pem             load a Rampart private key with cryptography;
                                                 exit 0 when its public key equals PUB.pem
"""

import hashlib
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from in_toto.models.metadata import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"


def spki_keyid(public_key):
    """Rampart's keyid convention, computed independently: hex SHA-256 of the SPKI DER."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def verify(envelope_path, pub_path, blob_path, predicate_type):
    with open(pub_path, "rb") as f:
        public_key = serialization.load_pem_public_key(f.read())
    # securesystemslib matches signatures to keys by keyid before verifying.
    key = SSlibKey.from_crypto(public_key, keyid=spki_keyid(public_key))
    with open(envelope_path) as f:
        envelope = Envelope.from_dict(json.load(f))
    try:
        envelope.verify([key], 1)
    except Exception as e:  # VerificationError and friends
        print(f"rejected: {type(e).__name__}: {e}")
        return 1
    if envelope.payload_type != PAYLOAD_TYPE:
        print(f"rejected: payloadType {envelope.payload_type}")
        return 1
    statement = json.loads(envelope.payload)
    if statement.get("_type") != STATEMENT_V1:
        print(f"rejected: _type {statement.get('_type')}")
        return 1
    if statement.get("predicateType") != predicate_type:
        print(f"rejected: predicateType {statement.get('predicateType')}")
        return 1
    want = sha256_file(blob_path)
    if not any(s.get("digest", {}).get("sha256") == want for s in statement.get("subject", [])):
        print("rejected: no subject has the blob's sha256")
        return 1
    print(f"OK {key.keytype} {key.scheme}")
    return 0


def sign(kind, outdir, blob_path, predicate_type):
    if kind == "ecdsa":
        private_key = ec.generate_private_key(ec.SECP256R1())
    else:
        private_key = ed25519.Ed25519PrivateKey.generate()
    public_key = private_key.public_key()
    signer = CryptoSigner(private_key, SSlibKey.from_crypto(public_key, keyid="python-signer"))
    statement = {
        "_type": STATEMENT_V1,
        "subject": [{"name": blob_path.rsplit("/", 1)[-1], "digest": {"sha256": sha256_file(blob_path)}}],
        "predicateType": predicate_type,
        "predicate": {"builder": {"id": "python-in-toto"}},
    }
    envelope = Envelope(
        payload=json.dumps(statement, sort_keys=True).encode(),
        payload_type=PAYLOAD_TYPE,
        signatures={},
    )
    envelope.create_signature(signer)
    with open(f"{outdir}/py.intoto.json", "w") as f:
        json.dump(envelope.to_dict(), f)
    with open(f"{outdir}/py.pub", "wb") as f:
        f.write(
            public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    with open(f"{outdir}/py.key", "wb") as f:
        f.write(
            private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"py-pass"),
            )
        )
    print("signed")
    return 0


def loadkey(key_path, passphrase, pub_path):
    with open(key_path, "rb") as f:
        private_key = serialization.load_pem_private_key(f.read(), passphrase.encode() or None)
    with open(pub_path, "rb") as f:
        expected = serialization.load_pem_public_key(f.read())
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if private_key.public_key().public_bytes(*fmt) != expected.public_bytes(*fmt):
        print("public keys differ")
        return 1
    print(f"OK {type(private_key).__name__}")
    return 0


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    sys.exit({"verify": verify, "sign": sign, "loadkey": loadkey}[cmd](*args))
