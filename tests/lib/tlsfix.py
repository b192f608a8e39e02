"""TLS on loopback for the test suites: a CA made on the spot (cryptography),
server certificates it signs, and a TLS front (TlsFront) that terminates TLS
on 127.0.0.1 and relays each connection's bytes to a plain TCP server (the
AWS double), counting handshakes done and refused."""

import datetime
import ipaddress
import os
import socket
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from relay import relay


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class Ca:
    """A self-signed CA; cert() signs server certificates. Files in dirpath."""

    def __init__(self, dirpath, cn="ebssh test CA"):
        self.dir = dirpath
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(_name(cn))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.path = os.path.join(dirpath, "ca.pem")
        with open(self.path, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def server_cert(self, name, dns=(), ips=()):
        """Writes name.pem (certificate) and name.key; returns their paths."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        crt = os.path.join(self.dir, name + ".pem")
        keyp = os.path.join(self.dir, name + ".key")
        with open(crt, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(keyp, "wb") as f:
            f.write(_pem_key(key))
        return crt, keyp


class TlsFront:
    """Listens on 127.0.0.1 (a free port), does the TLS handshake with the
    certificate given (set_cert changes it), then relays bytes both ways to
    backend (host, port). handshakes / refused count finished and failed
    handshakes; refusals keeps the failures' texts."""

    def __init__(self, backend, cert, key):
        self.backend = backend
        self.handshakes = 0
        self.refused = 0
        self.refusals = []
        self.lock = threading.Lock()
        self.set_cert(cert, key)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "https://127.0.0.1:%d" % self.port
        threading.Thread(target=self._accept, daemon=True).start()

    def set_cert(self, cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.ctx = ctx

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(10)
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.lock:
                self.refused += 1
                self.refusals.append(str(e))
            conn.close()
            return
        with self.lock:
            self.handshakes += 1
        try:
            back = socket.create_connection(self.backend, timeout=10)
        except OSError:
            tls.close()
            return

        relay(tls, back)

    def close(self):
        self.sock.close()
