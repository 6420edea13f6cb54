# SPDX-License-Identifier: MIT
"""Real servers from Debian packages for the TLS, HTTP/2 and proxy tests and the benchmark:
nginx (nginx-light) as a TLS + HTTP/2 reverse proxy, tinyproxy as a forward proxy, and a small
PKI made with the openssl command.  Each runs from its own directory with its own config on free
ports and is stopped by the caller (context managers), never as a system service.

    pki = PKI(dir)                       ca = pki.ca("private")
    cert, key = pki.issue(ca, "svc", san="IP:127.0.0.1,DNS:localhost", start=None, end=None)
    with Nginx(dir, [(cert, key, "http://127.0.0.1:8080"), ...]) as ng:   # ng.urls[i], ng.log()
    with Tinyproxy(dir) as tp:           # tp.url, tp.requests() -> [(method, target)]
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from harness import free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
TINYPROXY = shutil.which("tinyproxy") or ("/usr/bin/tinyproxy" if os.path.exists("/usr/bin/tinyproxy") else None)
OPENSSL = shutil.which("openssl")

# what nginx records per request: the connection serial number, the request's number on it,
# the protocol, and the request
NGINX_LOG_FORMAT = "$connection $connection_requests $server_protocol $request_method $request_uri $status"


def _wait_port(port, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class PKI:
    """Certificate authorities and server certificates made with openssl (EC P-256)."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)

    def _run(self, *args):
        subprocess.run([OPENSSL] + list(args), check=True, capture_output=True, cwd=self.dir)

    def ca(self, name):
        key, cert = os.path.join(self.dir, name + "-ca.key"), os.path.join(self.dir, name + "-ca.pem")
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", cert, "-days", "3", "-subj", "/CN=atom-safety test CA " + name,
                  "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return {"name": name, "key": key, "cert": cert}

    def issue(self, ca, name, san="IP:127.0.0.1,DNS:localhost", start=None, end=None):
        """A server certificate signed by ca; start/end as YYYYMMDDHHMMSSZ (openssl ca) or None."""
        key, csr = os.path.join(self.dir, name + ".key"), os.path.join(self.dir, name + ".csr")
        cert = os.path.join(self.dir, name + ".pem")
        self._run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", csr, "-subj", "/CN=" + name, "-addext", "subjectAltName=" + san)
        db = os.path.join(self.dir, "db-" + name)
        os.makedirs(db, exist_ok=True)
        open(os.path.join(db, "index.txt"), "w").close()
        with open(os.path.join(db, "serial"), "w") as f:
            f.write("%02X\n" % (abs(hash(name)) % 200 + 16))
        cnf = os.path.join(db, "ca.cnf")
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index.txt\nnew_certs_dir=%s\nserial=%s/serial\n"
                    "default_md=sha256\npolicy=p\ncopy_extensions=copy\ndefault_days=2\n"
                    "[p]\ncommonName=supplied\n" % (db, db, db))
        args = ["ca", "-batch", "-config", cnf, "-cert", ca["cert"], "-keyfile", ca["key"], "-in", csr,
                "-out", cert, "-notext"]
        if start:
            args += ["-startdate", start]
        if end:
            args += ["-enddate", end]
        self._run(*args)
        return cert, key


class Nginx:
    """nginx as a TLS + HTTP/2 front: one server block per (cert, key, upstream URL), each on a
    free port, proxying to a plain-HTTP upstream (no upstream keep-alive: every request opens
    its own upstream connection, so the upstream's connection count is the requests in flight)."""

    def __init__(self, directory, sites, max_streams=128):
        self.dir = directory
        os.makedirs(os.path.join(directory, "tmp"), exist_ok=True)
        self.ports = [free_port() for _ in sites]
        self.urls = ["https://127.0.0.1:%d" % p for p in self.ports]
        self.access_log = os.path.join(directory, "access.log")
        servers = []
        for (cert, key, upstream), port in zip(sites, self.ports):
            servers.append("""
    server {
        listen 127.0.0.1:%d ssl http2;
        ssl_certificate %s;
        ssl_certificate_key %s;
        http2_max_concurrent_streams %d;
        location / {
            proxy_pass %s;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_buffering off;
        }
    }""" % (port, cert, key, max_streams, upstream))
        tmp = os.path.join(directory, "tmp")
        conf = """daemon off;
master_process off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 1024; }
http {
    log_format gate '%(fmt)s';
    access_log %(log)s gate;
    client_body_temp_path %(t)s/body;
    proxy_temp_path %(t)s/proxy;
    fastcgi_temp_path %(t)s/fastcgi;
    uwsgi_temp_path %(t)s/uwsgi;
    scgi_temp_path %(t)s/scgi;
    keepalive_requests 10000;
%(servers)s
}
""" % {"d": directory, "fmt": NGINX_LOG_FORMAT, "log": self.access_log, "t": tmp, "servers": "\n".join(servers)}
        self.conf = os.path.join(directory, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen([NGINX, "-p", directory, "-c", self.conf, "-e", os.path.join(directory, "error.log")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for p in self.ports:
            if not _wait_port(p, self.proc):
                _stop(self.proc)
                raise RuntimeError("nginx did not start: %s" % self.proc.stderr.read().decode(errors="replace"))

    def log(self):
        """[{"connection", "connection_requests", "protocol", "method", "uri", "status"}]"""
        out = []
        try:
            with open(self.access_log) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 6:
                        out.append({"connection": int(parts[0]), "connection_requests": int(parts[1]),
                                    "protocol": parts[2], "method": parts[3], "uri": parts[4],
                                    "status": int(parts[5])})
        except OSError:
            pass
        return out

    def clear_log(self):
        open(self.access_log, "w").close()

    def stop(self):
        _stop(self.proc)
        if self.proc.stderr:
            self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Tinyproxy:
    """tinyproxy as a forward proxy on a free port, logging every request it handles."""

    REQUEST = re.compile(r"Request \(file descriptor \d+\): (\S+) (\S+)")

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.logfile = os.path.join(directory, "tinyproxy.log")
        conf = os.path.join(directory, "tinyproxy.conf")
        with open(conf, "w") as f:
            # no ConnectPort line: CONNECT to any port (the test servers use free ports)
            f.write('Port %d\nListen 127.0.0.1\nTimeout 60\nLogFile "%s"\nLogLevel Info\nMaxClients 200\n'
                    'PidFile "%s/tinyproxy.pid"\nAllow 127.0.0.1\nDisableViaHeader Yes\n'
                    % (self.port, self.logfile, directory))
        self.proc = subprocess.Popen([TINYPROXY, "-d", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not _wait_port(self.port, self.proc):
            _stop(self.proc)
            raise RuntimeError("tinyproxy did not start: %s" % self.proc.stderr.read().decode(errors="replace"))

    def requests(self):
        """[(method, target)]: ("CONNECT", "127.0.0.1:443") or ("GET", "http://127.0.0.1:80/health")"""
        try:
            with open(self.logfile, errors="replace") as f:
                return [m.groups() for m in self.REQUEST.finditer(f.read())]
        except OSError:
            return []

    def clear(self):
        open(self.logfile, "w").close()

    def stop(self):
        _stop(self.proc)
        if self.proc.stderr:
            self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
