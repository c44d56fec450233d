"""Shared helpers of bench/ingest and bench/latency: free ports, child processes with
TCP_NODELAY=1, a modic-node with a temporary configuration, Orthanc on loopback."""

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_NODE = REPO / "build" / "modic-node"
DEFAULT_SHARED = Path(os.environ.get("MODIC_SHARED_DIR", REPO.parent / "shared"))


def peer_env():
    """DCMTK reads TCP_NODELAY on accept/connect: without it loopback DICOM crawls."""
    env = dict(os.environ)
    env["TCP_NODELAY"] = "1"
    return env


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def echo(port, called_ae):
    return subprocess.run(["echoscu", "-aet", "BENCH", "-aec", called_ae, "127.0.0.1", str(port)],
                          env=peer_env(), capture_output=True).returncode == 0


def start(argv, log_path):
    log = open(log_path, "ab")
    return subprocess.Popen(argv, env=peer_env(), stdout=log, stderr=subprocess.STDOUT)


def stop(process, timeout=30):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Node:
    """build/modic-node serve with its own configuration and storage under `folder`."""

    def __init__(self, binary, folder, *, fsync=True, quiet_seconds=3600, destinations=(),
                 workers=2, log_level="info"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = self.folder / "node.toml"
        lines = [
            "[node]", 'ae_title = "MODICNODE"', f"port = {self.port}", 'storage_dir = "var"',
            "[study]", f"quiet_seconds = {quiet_seconds}",
            "[storage]", f"fsync = {'true' if fsync else 'false'}", "min_free_mb = 64",
            "[network]", "max_associations = 16", "max_associations_per_ae = 8",
            "[workers]", f"pool_size = {workers}",
            "[delivery]", "retry_initial_seconds = 1", "retry_max_seconds = 5",
            "[logging]", f'level = "{log_level}"',
            "[[peers]]", 'ae_title = "*"', 'host = "127.0.0.1"',
        ]
        for name, ae_title, port in destinations:
            lines += ["[[destinations]]", f'name = "{name}"', f'ae_title = "{ae_title}"',
                      'host = "127.0.0.1"', f"port = {port}"]
        self.config.write_text("\n".join(lines) + "\n")
        self.process = start([str(binary), "serve", "--config", str(self.config)],
                             self.folder / "node.log")
        if not wait_for(lambda: self.process.poll() is not None or echo(self.port, "MODICNODE"), 30):
            raise RuntimeError(f"modic-node did not start; see {self.folder / 'node.log'}")
        if self.process.poll() is not None:
            raise RuntimeError(f"modic-node exited; see {self.folder / 'node.log'}")

    def stop(self):
        stop(self.process)


class Orthanc:
    """Orthanc (Debian package) on free loopback ports, with the node as modality "node"."""

    def __init__(self, folder, node_port=None):
        self.folder = Path(folder)
        (self.folder / "db").mkdir(parents=True, exist_ok=True)
        self.http_port, self.dicom_port = free_port(), free_port()
        config = {
            "Name": "modic-bench", "StorageDirectory": str(self.folder / "db"),
            "IndexDirectory": str(self.folder / "db"), "HttpPort": self.http_port,
            "DicomPort": self.dicom_port, "DicomAet": "ORTHANC", "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False, "DicomCheckCalledAet": False, "Plugins": [],
            "DicomModalities": {"node": ["MODICNODE", "127.0.0.1", node_port or 1]},
        }
        (self.folder / "orthanc.json").write_text(json.dumps(config, indent=2))
        self.process = start(["Orthanc", str(self.folder / "orthanc.json")], self.folder / "orthanc.log")
        if not wait_for(self._up, 30, 0.1):
            raise RuntimeError(f"Orthanc did not start; see {self.folder / 'orthanc.log'}")

    def _up(self):
        try:
            self.get("/system")
            return True
        except OSError:
            return False

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=10) as reply:
            return json.loads(reply.read())

    def stop(self):
        stop(self.process)
