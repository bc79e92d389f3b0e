"""The stack's own certificate authority and the server certificate both servers present.

Made at the first start beyond loopback, with `cryptography`: clients verify the stack against
`ca.crt` (MLflow's MLFLOW_TRACKING_SERVER_CERT_PATH, libpq's sslrootcert), so no public CA and
no DNS entry are needed. A server certificate that does not name the configured host is made
again, signed by the same CA, so clients keep the CA file they have.
"""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from pipeline.stack.files import write_private

CA_DAYS = 3650
SERVER_DAYS = 825  # the longest validity browsers accept for a server certificate
LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")


@dataclass
class StackCertificates:
    folder: Path  # ca.crt, ca.key, server.crt, server.key

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def certificate(self) -> Path:
        return self.folder / "server.crt"

    @property
    def key(self) -> Path:
        return self.folder / "server.key"

    def ensure(self, host: str, other_names: list[str] = ()) -> None:
        """A CA (once) and a server certificate for `host`, `other_names` and loopback, made
        again when it lacks a name, nears its end or was signed by another CA."""
        if not self.ca_file.exists() or _expires_soon(self.ca_file):
            _write_ca(self.folder)
        wanted = [host, *other_names]
        if (
            not self.certificate.exists()
            or not set(wanted) <= names_in(self.certificate)
            or _expires_soon(self.certificate)
            or not _signed_by(self.certificate, self.ca_file)
        ):
            _write_server_certificate(self.folder, wanted)


RENEW_BEFORE = datetime.timedelta(days=30)


def _load(certificate: Path):
    from cryptography import x509

    return x509.load_pem_x509_certificate(certificate.read_bytes())


def _expires_soon(certificate: Path) -> bool:
    return (
        _load(certificate).not_valid_after_utc < datetime.datetime.now(datetime.UTC) + RENEW_BEFORE
    )


def _signed_by(certificate: Path, ca_file: Path) -> bool:
    try:
        _load(certificate).verify_directly_issued_by(_load(ca_file))
        return True
    except (ValueError, TypeError, Exception):  # cryptography's InvalidSignature among them
        return False


def names_in(certificate: Path) -> set[str]:
    """The DNS names and IP addresses a certificate is valid for."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} | set(
        names.get_values_for_type(x509.DNSName)
    )


def _subject_name(host: str):
    try:
        return _x509().IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return _x509().DNSName(host)


def _x509():
    from cryptography import x509

    return x509


def _new_key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_cert(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _builder(subject, issuer, public_key, days: int):
    x509 = _x509()
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def _write_ca(folder: Path) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    x509 = _x509()
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mnist-pipeline stack CA")])
    cert = (
        _builder(name, name, key.public_key(), CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        # Python 3.13's default TLS context checks these (VERIFY_X509_STRICT).
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    write_private(folder / "ca.key", _pem_key(key))
    write_private(folder / "ca.crt", _pem_cert(cert))


def _write_server_certificate(folder: Path, hosts: list[str]) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    x509 = _x509()
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    key = _new_key()
    names = [_subject_name(name) for name in dict.fromkeys([*hosts, *LOOPBACK_NAMES])]
    cert = (
        _builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]),
            ca_cert.subject,
            key.public_key(),
            SERVER_DAYS,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_private(folder / "server.key", _pem_key(key))
    write_private(folder / "server.crt", _pem_cert(cert))
