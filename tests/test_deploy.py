"""deploy/: the compose, nginx and Kubernetes files are valid and agree with each other and with
the README (issue #16, item 4).

Offline validators from PyPI (dev dependencies): the Compose specification's JSON schema as
vendored by ``check-jsonschema``, and ``kubernetes-validate`` (Kubernetes' schemas bundled).
nginx's own ``nginx -t`` runs when nginx is installed, and an end-to-end test puts the real
nginx.conf in front of two real gunicorn replicas, the second one fed by ``index unpack``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from helpapi.cli import build_cmd
from helpapi.pack import pack_generation
from helpapi.pack import unpack_generation

from .conftest import ROOT
from .conftest import _free_port

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
K8S_VERSION = "1.30.0"  # the oldest Kubernetes minor still commonly supported by cloud vendors
REPLICAS = ("helpapi-1", "helpapi-2")


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _k8s() -> dict[str, dict]:
    """Every Kubernetes object in deploy/k8s by kind."""
    docs = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc["kind"] not in docs, f"two {doc['kind']} objects"
            docs[doc["kind"]] = doc
    return docs


def _nginx() -> str:
    return (DEPLOY / "nginx.conf").read_text()


def _env(container: dict) -> dict:
    """Literal values by name; a value from the downward API is its field path."""
    return {
        e["name"]: e["value"] if "value" in e else e["valueFrom"]["fieldRef"]["fieldPath"]
        for e in container.get("env", [])
    }


def test_every_deploy_file_parses_as_yaml():
    files = sorted(DEPLOY.rglob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        assert list(yaml.safe_load_all(path.read_text())), path


def test_compose_file_matches_the_compose_specification():
    ref = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(ref.read_text("utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(_compose())]
    assert not errors


def test_compose_indexer_then_replicas_on_one_volume_behind_nginx():
    services = _compose()["services"]
    assert set(services) == {"indexer", *REPLICAS, "nginx"}
    indexer = services["indexer"]
    assert (ROOT / indexer["build"]["context"].replace("..", ".") / "Dockerfile").is_file()
    # The indexer runs the real command (options that exist) once and exits.
    assert indexer["entrypoint"][:3] == ["helpapi", "index", "build"]
    options = {o for p in build_cmd.params for o in p.opts}
    assert set(indexer["entrypoint"][3:]) <= options
    assert indexer["restart"] == "no"
    index_dir = indexer["environment"]["HELPAPI_INDEX_DIR"]
    assert f"index:{index_dir}" in indexer["volumes"]
    assert "index" in _compose()["volumes"]
    for name in REPLICAS:
        svc = services[name]
        assert svc["image"] == indexer["image"]
        assert svc["depends_on"]["indexer"]["condition"] == "service_completed_successfully"
        assert svc["environment"]["HELPAPI_INDEX_DIR"] == index_dir
        assert svc["environment"]["HELPAPI_BIND"].endswith(":8000")
        assert f"index:{index_dir}" in svc["volumes"]
        assert "/readyz" in " ".join(svc["healthcheck"]["test"])
    nginx = services["nginx"]
    assert all(nginx["depends_on"][n]["condition"] == "service_healthy" for n in REPLICAS)
    conf_mount = next(v for v in nginx["volumes"] if "nginx.conf" in v)
    assert (DEPLOY / conf_mount.split(":")[0]).resolve() == DEPLOY / "nginx.conf"


def test_nginx_upstreams_are_the_compose_replicas_and_slow_client_limits_are_set():
    conf = _nginx()
    upstream = re.search(r"upstream helpapi \{(.*?)\}", conf, re.S).group(1)
    assert re.findall(r"server ([\w-]+):(\d+)", upstream) == [(n, "8000") for n in REPLICAS]
    for directive in (
        r"client_header_timeout \d+s;",
        r"client_body_timeout \d+s;",
        r"send_timeout \d+s;",
        r"keepalive_timeout \d+s;",
        r"limit_conn perip \d+;",
        r"limit_req zone=\w+ burst=\d+",
        r"proxy_buffering on;",
        r"proxy_request_buffering on;",
        r"client_max_body_size 64k;",
        r"proxy_pass http://helpapi;",
    ):
        assert re.search(directive, conf), directive


def _test_conf(tmp: Path, ports: list[int], listen: int) -> Path:
    """deploy/nginx.conf with loopback upstreams and a free port, runnable unprivileged."""
    conf = _nginx()
    for name, port in zip(REPLICAS, ports, strict=True):
        conf = conf.replace(f"server {name}:8000", f"server 127.0.0.1:{port}")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    temps = "".join(
        f"    {kind}_temp_path {tmp}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", "http {\n" + temps, 1)
    path = tmp / "nginx.conf"
    path.write_text(conf)
    return path


def _nginx_args(tmp: Path, conf: Path) -> list[str]:
    return ["nginx", "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)]


needs_nginx = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")


@needs_nginx
def test_nginx_accepts_the_config(tmp_path):
    conf = _test_conf(tmp_path, [8001, 8002], 8080)
    res = subprocess.run(
        [*_nginx_args(tmp_path, conf), "-t", "-g", f"pid {tmp_path}/nginx.pid;"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr


def test_k8s_objects_match_the_kubernetes_schemas():
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_k8s_replicas_probes_volume_builders_and_service_agree():
    docs = _k8s()
    assert {"Deployment", "PersistentVolumeClaim", "Job", "CronJob", "Service"} <= set(docs)
    pvc = docs["PersistentVolumeClaim"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    dep = docs["Deployment"]
    assert dep["spec"]["replicas"] >= 2
    pod = dep["spec"]["template"]["spec"]
    (api,) = pod["containers"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    port_names = {p["name"]: p["containerPort"] for p in api["ports"]}
    assert api["readinessProbe"]["httpGet"]["port"] in port_names
    assert _env(api)["HELPAPI_BIND"].endswith(f":{port_names['http']}")
    # Each pod owns build leases under its own name, never a shared literal id.
    assert _env(api)["HELPAPI_INSTANCE_ID"] == "metadata.name"
    req, lim = api["resources"]["requests"], api["resources"]["limits"]
    assert req["memory"] and lim["memory"] and req["cpu"]
    builders = [
        docs["Job"]["spec"]["template"]["spec"],
        docs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"],
    ]
    assert docs["CronJob"]["spec"]["concurrencyPolicy"] == "Forbid"
    for spec in [pod, *builders]:
        (c,) = spec["containers"]
        assert c["image"] == api["image"]
        (vol,) = spec["volumes"]
        assert vol["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
        (mount,) = c["volumeMounts"]
        assert mount["name"] == vol["name"]
        assert mount["mountPath"] == _env(c)["HELPAPI_INDEX_DIR"]
    for spec in builders:
        assert spec["containers"][0]["command"][:3] == ["helpapi", "index", "build"]
    svc = docs["Service"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] in port_names


def _start_gunicorn(index_dir: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPAPI_")}
    env.update(
        HELPAPI_INDEX_DIR=str(index_dir), HELPAPI_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1"
    )
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.2)


def _get(url: str, data: bytes | None = None) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.e2e
@needs_nginx
def test_nginx_in_front_of_two_replicas_one_fed_by_unpack(server, corpus_index, tmp_path):
    """The CI -> artifact -> replica flow and the real nginx.conf, on loopback."""
    archive = pack_generation(corpus_index, tmp_path / "index.tar.gz").path
    replica_index = tmp_path / "replica-index"
    unpack_generation(Path(archive), replica_index)
    port2, listen = _free_port(), _free_port()
    log2 = tmp_path / "replica2.log"
    replica2 = _start_gunicorn(replica_index, port2, log2)
    nginx = None
    try:
        _wait(f"http://127.0.0.1:{port2}/readyz", replica2, log2)
        port1 = int(server.rsplit(":", 1)[1])
        ng = tmp_path / "nginx"
        ng.mkdir()
        conf = _test_conf(ng, [port1, port2], listen)
        with (ng / "stderr.log").open("wb") as err:
            nginx = subprocess.Popen(
                [*_nginx_args(ng, conf), "-g", f"pid {ng}/nginx.pid; daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        base = f"http://127.0.0.1:{listen}"
        _wait(base + "/healthz", nginx, ng / "error.log")
        status, body = _get(
            base + "/v1/search?q=%E3%83%91%E3%82%B9%E3%83%AF%E3%83%BC%E3%83%89&locale=ja-JP"
        )
        assert status == 200 and body["total"] > 0
        status, body = _get(base + "/v1/admin/reindex", data=b"x" * 100_000)
        assert status == 413 and body["error"]["code"] == "payload_too_large"
        # One replica gone: requests go to the other (proxy_next_upstream), none fails.
        replica2.send_signal(signal.SIGTERM)
        replica2.wait(timeout=30)
        statuses = [_get(base + f"/v1/search?q=password{i}&locale=de-DE")[0] for i in range(10)]
        assert statuses == [200] * 10
        # A client over its request rate gets 429 in helpapi's error shape.
        time.sleep(1)
        answers = [_get(base + "/healthz") for _ in range(120)]
        limited = [b for s, b in answers if s == 429]
        assert limited and limited[0]["error"]["code"] == "rate_limited"
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=10)
        if replica2.poll() is None:
            replica2.send_signal(signal.SIGTERM)
            replica2.wait(timeout=30)
