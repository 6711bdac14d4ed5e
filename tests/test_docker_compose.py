"""docker/compose.yaml and docker/Dockerfile agree with the code (no Docker engine needed).

Every DISTILLGUARD_ variable is a real Settings field and is read back as given; the broker
address is one the Kafka service advertises; the stream replicas share one consumer group;
the DuckDB store is on a mounted volume; commands are real CLI commands; the image installs
everything the code loads at run time.
"""

from __future__ import annotations

import base64
import fnmatch
import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import click
import prefect
import pytest
import typer.main
import yaml

from distillguard.cli import app
from distillguard.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
SERVICES: dict = COMPOSE["services"]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
DISTILLGUARD_SERVICES = [name for name, s in SERVICES.items() if str(s.get("image", "")).startswith("distillguard")]
ENV_NAME = re.compile(r"^DISTILLGUARD_([A-Z0-9_]+?)__([A-Z0-9_]+)$")


def env_of(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def settings_of(service: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings a container of ``service`` reads: its environment only."""
    import os

    for key in list(os.environ):
        if key.startswith("DISTILLGUARD_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(ROOT / "docker")  # no distillguard.toml there
    for key, value in env_of(service).items():
        monkeypatch.setenv(key, value)
    return Settings()


def volume_mounts(service: str) -> list[tuple[str, str]]:
    """``(source, target)`` of each volume of a service (short syntax)."""
    out = []
    for item in SERVICES[service].get("volumes", []):
        item = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", item)  # compose interpolation: its default
        source, target = item.split(":")[:2]
        out.append((source, target))
    return out


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def test_the_expected_services_are_there():
    assert {"kafka", "kafka-init", "postgres", "prefect-server", "scheduler", "stream"} <= set(SERVICES)
    assert {"scheduler", "stream"} <= set(DISTILLGUARD_SERVICES)
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"


def test_kafka_is_the_apache_image_in_kraft_mode_without_zookeeper():
    kafka = SERVICES["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = env_of("kafka")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("zookeeper" in str(s.get("image", "")).lower() for s in SERVICES.values())
    assert not any("ZOOKEEPER" in key for key in env)
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16  # a Kafka cluster id is a 16-byte UUID
    controller = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split("@", 1)[1]
    controller_ports = [item.rsplit(":", 1)[1] for item in env["KAFKA_LISTENERS"].split(",") if item.startswith("CONTROLLER")]
    assert controller in {f"kafka:{port}" for port in controller_ports}


def test_every_distillguard_variable_is_a_settings_field_and_is_read_as_given(monkeypatch):
    sections = Settings.model_fields
    seen = 0
    for service in DISTILLGUARD_SERVICES:
        env = {k: v for k, v in env_of(service).items() if k.startswith("DISTILLGUARD_")}
        assert env, f"{service} sets no DISTILLGUARD_ variable"
        settings = settings_of(service, monkeypatch)
        for key, value in env.items():
            match = ENV_NAME.match(key)
            assert match, f"{service}: {key} is not DISTILLGUARD_<SECTION>__<FIELD>"
            section, field = match.group(1).lower(), match.group(2).lower()
            assert section in sections, f"{service}: {key}: Settings has no section {section!r}"
            model = sections[section].annotation
            assert field in model.model_fields, f"{service}: {key}: Settings.{section} has no field {field!r}"
            read = getattr(getattr(settings, section), field)
            assert str(read) == value, f"{service}: {key}={value!r} is read as {read!r}"
            seen += 1
    assert seen >= 10


def test_the_bootstrap_server_is_an_address_kafka_advertises_on_the_compose_network(monkeypatch):
    kafka_env = env_of("kafka")
    advertised = {}
    for listener in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(","):
        name, address = listener.split("://")
        advertised[name] = address
    listening = {item.split("://")[0]: int(item.rsplit(":", 1)[1]) for item in kafka_env["KAFKA_LISTENERS"].split(",")}
    protocols = dict(item.split(":") for item in kafka_env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    kafka_names = {"kafka", SERVICES["kafka"].get("hostname", "kafka")}
    for service in DISTILLGUARD_SERVICES:
        settings = settings_of(service, monkeypatch)
        for server in settings.kafka.bootstrap_servers.split(","):
            host, port = host_port(server)
            assert host in kafka_names, f"{service} points at {host}, not the kafka service"
            listener = next((n for n, a in advertised.items() if a == server), None)
            assert listener, f"{service}: {server} is not an advertised listener ({advertised})"
            assert listening[listener] == port
            assert protocols[listener] == settings.kafka.security_protocol


def test_the_published_kafka_port_is_the_host_listener():
    kafka_env = env_of("kafka")
    host_listener = next(a for a in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",") if a.startswith("HOST://"))
    _, port = host_port(host_listener.split("://")[1])
    assert f"{port}:{port}" in SERVICES["kafka"]["ports"]


def test_stream_replicas_share_one_consumer_group_over_enough_partitions(monkeypatch):
    stream = SERVICES["stream"]
    replicas = stream.get("deploy", {}).get("replicas", 1)
    assert replicas >= 2
    # One service, one environment: every replica reads the same group id and topic.
    settings = settings_of("stream", monkeypatch)
    assert "DISTILLGUARD_KAFKA__GROUP_ID" in env_of("stream")
    assert settings.kafka.group_id
    assert "container_name" not in stream  # a fixed name would stop compose from scaling it
    init = " ".join(SERVICES["kafka-init"]["command"])
    created = dict(re.findall(r"--topic (\S+) --partitions (\d+)", init))
    assert int(created[settings.kafka.topic_events]) >= replicas
    for topic in (settings.kafka.topic_dead_letter, settings.kafka.topic_alerts, settings.kafka.topic_accounts):
        assert topic in created, f"topic {topic} the code uses is not created"


def test_the_store_and_checkpoints_are_on_one_shared_named_volume(monkeypatch):
    named = set(COMPOSE.get("volumes", {}))
    sources = set()
    for service in DISTILLGUARD_SERVICES:
        settings = settings_of(service, monkeypatch)
        mounts = volume_mounts(service)
        for path in (settings.store.db_path, settings.store.snapshot_path, settings.stream.checkpoint_dir):
            if path is None:
                continue
            assert path.is_absolute(), f"{service}: {path} depends on the working directory"
            mount = next(((s, t) for s, t in mounts if Path(path).is_relative_to(t) and t != "/data/incoming"), None)
            assert mount, f"{service}: {path} is not on a mounted volume ({mounts})"
            assert mount[0] in named, f"{service}: {mount[0]} is not a named volume"
            sources.add(mount[0])
    assert len(sources) == 1, f"the scheduler and the consumers must share one store volume, got {sources}"
    workdir = re.findall(r"^WORKDIR\s+(\S+)", DOCKERFILE, re.MULTILINE)[-1]
    assert any(t == workdir for _, t in volume_mounts("scheduler"))


def test_prefect_server_runs_on_postgres_at_the_installed_prefect_version():
    server = SERVICES["prefect-server"]
    assert server["image"].startswith(f"prefecthq/prefect:{prefect.__version__}-")
    url = urlparse(env_of("prefect-server")["PREFECT_API_DATABASE_CONNECTION_URL"])
    assert url.scheme.startswith("postgresql")
    pg = env_of("postgres")
    assert (url.hostname, url.username, url.password, url.path.lstrip("/")) == (
        "postgres", pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"])
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    port = server["command"][server["command"].index("--port") + 1]
    assert f"{port}:{port}" in server["ports"]
    api = urlparse(env_of("scheduler")["PREFECT_API_URL"])
    assert (api.hostname, str(api.port), api.path) == ("prefect-server", port, "/api")


def _cli_command(args: list[str]) -> tuple[click.Command, list[str]]:
    group = typer.main.get_command(app)
    return group.commands.get(args[0]), args[1:]


def test_the_scheduler_runs_a_real_cli_command_with_valid_options():
    command, rest = _cli_command(SERVICES["scheduler"]["command"])
    assert command is not None
    ctx = command.make_context("serve", list(rest))  # raises on an unknown option
    assert ctx.params["stream"] is False  # the always-on consumers are the stream service
    assert [str(p) for p in ctx.params["logs"]] == ["/data/incoming"]
    assert any(t == "/data/incoming" for _, t in volume_mounts("scheduler"))


def test_the_simulate_service_runs_a_real_cli_command(monkeypatch):
    command, rest = _cli_command(SERVICES["simulate"]["command"])
    ctx = command.make_context("simulate", list(rest))
    assert ctx.params["to_kafka"] == settings_of("simulate", monkeypatch).kafka.topic_events


def test_the_stream_service_runs_a_real_cli_command():
    command, rest = _cli_command(SERVICES["stream"]["command"])
    if command is None:
        pytest.skip("the `distillguard stream` command is not written yet (stream helper's part)")
    command.make_context("stream", list(rest))


def test_the_image_is_python_311_slim_and_installs_every_package_dir():
    assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.MULTILINE)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dirs = {"distillguard", *pyproject["tool"]["setuptools"]["package-dir"].values()}
    copied = {Path(shlex.split(line)[1]).name for line in re.findall(r"^COPY .*$", DOCKERFILE, re.MULTILINE)}
    assert dirs <= copied, f"the image does not copy {dirs - copied}"
    assert re.search(r"pip install \.(\s|$)", DOCKERFILE)
    entry = re.search(r'^ENTRYPOINT \["(\w+)"\]', DOCKERFILE, re.MULTILINE).group(1)
    assert entry in pyproject["project"]["scripts"]


def test_every_sql_file_is_package_data_so_the_image_has_it():
    """The image installs the repository without -e: SQL files must be declared package data
    (each folder of sql/ is a listed package whose patterns match its files)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    packages = set(pyproject["tool"]["setuptools"]["packages"])
    sql_dir = ROOT / "sql"
    missing = []
    for p in sorted(sql_dir.rglob("*.sql")):
        package = ".".join(["distillguard.sql", *p.relative_to(sql_dir).parent.parts])
        if package not in packages or not any(fnmatch.fnmatch(p.name, pat) for pat in package_data.get(package, [])):
            missing.append(str(p.relative_to(sql_dir)))
    assert not missing, f"not package data (add to [tool.setuptools.package-data] in pyproject.toml): {missing}"
