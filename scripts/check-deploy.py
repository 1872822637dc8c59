"""Checks deploy/ offline: the Kubernetes objects, the compose file and the Dockerfile.

Run by scripts/check-deploy.sh inside its virtual environment (PyYAML and kubernetes-validate).
Prints one line per problem and exits 1 when there is any.
"""

import re
import shlex
import sys
from pathlib import Path

import kubernetes_validate
import yaml

# Kubernetes versions whose API schemas the built-in objects must satisfy: an older one still in
# wide use and the newest that kubernetes-validate bundles.
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
# librdkafka 2.0.2's default max.poll.interval.ms, used when the ConfigMap does not set it.
DEFAULT_MAX_POLL_INTERVAL_MS = 300000
# The worker's watchdog exits this long after ingest.shutdown.timeout.ms (RunCommand.swift).
WATCHDOG_MARGIN_MS = 2000
RUNTIME_PACKAGES = {"librdkafka1", "libpq5", "libsqlite3-0", "ca-certificates"}
SECRET_WORDS = ("password", "secret", "token", "sasl.oauthbearer.config")


class Problems:
    def __init__(self):
        self.lines = []

    def add(self, where, message):
        self.lines.append(f"{where}: {message}")

    def check(self, condition, where, message):
        if not condition:
            self.add(where, message)
        return condition


def dig(value, *path):
    """Returns value[path[0]][path[1]]..., or None where a step is missing."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return None
        elif not isinstance(value, dict):
            return None
        value = value[step] if isinstance(step, int) else value.get(step)
    return value


def parse_properties(text):
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        if separator:
            settings[key.strip()] = value.strip()
    return settings


# MARK: - Kubernetes


def load_objects(directory, problems):
    objects = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as error:
            problems.add(path, f"invalid YAML: {error}")
            continue
        for document in documents:
            if document is None:
                continue
            if not problems.check(isinstance(document, dict) and "kind" in document, path, "a document is not an object with a kind"):
                continue
            objects.append((path, document))
    return objects


def check_schemas(objects, problems):
    for path, document in objects:
        if document["apiVersion"].startswith(("keda.sh/", "kustomize.config.k8s.io/")):
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(document, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.add(path, f"{document['kind']} is invalid for Kubernetes {version}: {error.message} at {list(error.path)}")
            except kubernetes_validate.SchemaNotFoundError:
                problems.add(path, f"{document['apiVersion']} {document['kind']} is not an API of Kubernetes {version}")


def by_kind(objects, kind):
    found = [(path, document) for path, document in objects if document["kind"] == kind]
    return found


def check_kubernetes(directory, problems):
    objects = load_objects(directory, problems)
    check_schemas(objects, problems)
    kinds = {document["kind"] for _, document in objects}
    missing = [kind for kind in ["ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "ScaledObject",
                                 "TriggerAuthentication", "Kustomization"] if kind not in kinds]
    for kind in missing:
        problems.add(directory, f"no {kind}")
    if missing:
        return

    config_path, config_map = by_kind(objects, "ConfigMap")[0]
    deployment_path, deployment = by_kind(objects, "Deployment")[0]
    settings = check_config_map(config_path, config_map, problems)
    check_deployment(deployment_path, deployment, config_map, settings, problems)
    check_selectors(objects, deployment, problems)
    for path, scaled in by_kind(objects, "ScaledObject"):
        check_scaled_object(path, scaled, deployment, settings, objects, problems)
    for path, authentication in by_kind(objects, "TriggerAuthentication"):
        for reference in dig(authentication, "spec", "secretTargetRef") or []:
            problems.check(reference.get("name") and reference.get("key"), path, f"secretTargetRef {reference} needs a name and a key")
    path, kustomization = by_kind(objects, "Kustomization")[0]
    listed = set(kustomization.get("resources", []))
    for file in sorted({p.name for p, _ in objects if p.name != "kustomization.yaml"}):
        problems.check(file in listed, path, f"{file} is not listed under resources")


def check_config_map(path, config_map, problems):
    text = dig(config_map, "data", "status-ingest.properties")
    if not problems.check(isinstance(text, str), path, "data.status-ingest.properties is missing"):
        return {}
    settings = parse_properties(text)
    for key, value in settings.items():
        if any(word in key.lower() for word in SECRET_WORDS):
            problems.check(value == "", path, f"{key} has a value: secrets belong in the Secret, not the ConfigMap")
        problems.check(not re.search(r"://[^/@\s]*:[^/@\s]*@", value), path, f"{key} has a password in its URL")
    for key in ["ingest.shutdown.timeout.ms", "metrics.port", "ingest.topic.partitions", "kafka.group.id", "ingest.topic"]:
        problems.check(key in settings, path, f"{key} should be set explicitly: other objects depend on it")
    problems.check(settings.get("metrics.host") in ("0.0.0.0", "::"), path, "metrics.host must be 0.0.0.0 or :: so probes reach the pod")
    problems.check(settings.get("metrics.port") != "0", path, "metrics.port=0 turns off the probes' endpoints")
    problems.check(settings.get("kafka.bootstrap.servers") != "embedded", path, "kafka.bootstrap.servers=embedded is for trials only")
    problems.check(settings.get("store.url", "").startswith(("postgresql://", "postgres://")), path, "store.url must be PostgreSQL: pods share it")
    return settings


def check_deployment(path, deployment, config_map, settings, problems):
    pod = dig(deployment, "spec", "template", "spec")
    containers = pod.get("containers", [])
    container = containers[0]

    shutdown_ms = int(settings.get("ingest.shutdown.timeout.ms", "30000"))
    grace = pod.get("terminationGracePeriodSeconds", 30)
    problems.check(
        grace * 1000 > shutdown_ms + WATCHDOG_MARGIN_MS, path,
        f"terminationGracePeriodSeconds={grace} must exceed ingest.shutdown.timeout.ms={shutdown_ms} plus {WATCHDOG_MARGIN_MS} ms")
    problems.check(dig(deployment, "spec", "strategy", "rollingUpdate", "maxSurge") == 0, path,
                   "rollingUpdate.maxSurge must be 0: a surge pod can own no partition and never become ready")

    port = int(settings.get("metrics.port", "9464"))
    ports = {entry.get("name"): entry.get("containerPort") for entry in container.get("ports", [])}
    problems.check(ports.get("metrics") == port, path, f"container port 'metrics' must be metrics.port={port}")
    for probe, expected in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
        problems.check(dig(container, probe, "httpGet", "path") == expected, path, f"{probe} must GET {expected}")
        problems.check(dig(container, probe, "httpGet", "port") in ("metrics", port), path, f"{probe} must use the metrics port")
    stuck_ms = int(settings.get("health.stuck.after.ms", "0")) or 3 * int(settings.get("kafka.max.poll.interval.ms", DEFAULT_MAX_POLL_INTERVAL_MS))
    problems.check(stuck_ms >= 60000, path, f"health.stuck.after.ms gives {stuck_ms} ms: under a minute restarts workers in long transactions")

    for kind in ("requests", "limits"):
        problems.check(dig(container, "resources", kind, "memory"), path, f"resources.{kind}.memory is missing")
    problems.check(dig(container, "resources", "requests", "cpu"), path, "resources.requests.cpu is missing")
    problems.check(dig(pod, "securityContext", "runAsNonRoot") is True, path, "the pod must set runAsNonRoot: true")

    environment = {entry["name"]: entry for entry in container.get("env", [])}
    for name in ("PGPASSWORD", "STATUS_INGEST_KAFKA_SASL_USERNAME", "STATUS_INGEST_KAFKA_SASL_PASSWORD"):
        problems.check(dig(environment.get(name), "valueFrom", "secretKeyRef", "name"), path, f"{name} must come from a secretKeyRef")
    for name, entry in environment.items():
        if any(word.upper() in name for word in ("PASSWORD", "SECRET", "TOKEN")):
            problems.check("value" not in entry, path, f"{name} has a literal value: take it from a Secret")

    config_name = dig(config_map, "metadata", "name")
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    mounted = [mount for mount in container.get("volumeMounts", []) if dig(volumes.get(mount["name"]), "configMap", "name") == config_name]
    if problems.check(mounted, path, f"the ConfigMap {config_name} is not mounted"):
        expected = mounted[0]["mountPath"].rstrip("/") + "/status-ingest.properties"
        problems.check(dig(environment.get("STATUS_INGEST_CONFIG"), "value") == expected, path,
                       f"STATUS_INGEST_CONFIG must be {expected}, where the ConfigMap is mounted")


def check_selectors(objects, deployment, problems):
    labels = dig(deployment, "spec", "template", "metadata", "labels") or {}
    match = dig(deployment, "spec", "selector", "matchLabels") or {}
    problems.check(match.items() <= labels.items(), "Deployment", "spec.selector does not match the pod labels")
    for path, service in by_kind(objects, "Service"):
        selector = dig(service, "spec", "selector") or {}
        problems.check(selector and selector.items() <= labels.items(), path, "the Service selects no worker pod")
        for entry in dig(service, "spec", "ports") or []:
            problems.check(entry.get("targetPort") in ("metrics", 9464), path, "the Service must target the metrics port")
    for path, budget in by_kind(objects, "PodDisruptionBudget"):
        selector = dig(budget, "spec", "selector", "matchLabels") or {}
        problems.check(selector and selector.items() <= labels.items(), path, "the PodDisruptionBudget selects no worker pod")


def check_scaled_object(path, scaled, deployment, settings, objects, problems):
    spec = scaled.get("spec") or {}
    problems.check(dig(spec, "scaleTargetRef", "name") == dig(deployment, "metadata", "name"), path, "scaleTargetRef must name the Deployment")
    partitions = int(settings.get("ingest.topic.partitions", "0"))
    maximum = spec.get("maxReplicaCount")
    minimum = spec.get("minReplicaCount", 0)
    if problems.check(isinstance(maximum, int), path, "maxReplicaCount must be set"):
        problems.check(maximum <= partitions, path, f"maxReplicaCount={maximum} exceeds the {partitions} partitions of the input topic")
        problems.check(1 <= minimum <= maximum, path, f"minReplicaCount={minimum} must be from 1 to maxReplicaCount")
    triggers = spec.get("triggers") or []
    kafka = [trigger for trigger in triggers if trigger.get("type") == "kafka"]
    if not problems.check(kafka, path, "no trigger of type kafka"):
        return
    metadata = kafka[0].get("metadata") or {}
    problems.check(metadata.get("consumerGroup") == settings.get("kafka.group.id"), path, "consumerGroup must be kafka.group.id")
    problems.check(metadata.get("topic") == settings.get("ingest.topic"), path, "topic must be ingest.topic")
    problems.check(metadata.get("bootstrapServers") == settings.get("kafka.bootstrap.servers"), path, "bootstrapServers must match the ConfigMap")
    problems.check(str(metadata.get("lagThreshold", "")).isdigit(), path, "lagThreshold must be a whole number in quotes")
    reference = dig(kafka[0], "authenticationRef", "name")
    if reference:
        names = {dig(document, "metadata", "name") for _, document in by_kind(objects, "TriggerAuthentication")}
        problems.check(reference in names, path, f"authenticationRef {reference} names no TriggerAuthentication")


# MARK: - Compose


def check_compose(path, problems):
    before = len(problems.lines)
    try:
        compose = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        problems.add(path, f"invalid YAML: {error}")
        return
    services = compose.get("services") or {}
    for name in ("kafka", "postgres", "init-topics", "init-store", "worker"):
        problems.check(name in services, path, f"no service {name}")
    if len(problems.lines) > before:
        return

    kafka = services["kafka"]
    problems.check(str(kafka.get("image", "")).startswith("apache/kafka:"), path, "kafka must use the apache/kafka image")
    environment = kafka.get("environment") or {}
    problems.check("controller" in str(environment.get("KAFKA_PROCESS_ROLES", "")), path, "kafka must run in KRaft mode (KAFKA_PROCESS_ROLES)")
    problems.check(not any("ZOOKEEPER" in key for key in environment), path, "kafka must not use ZooKeeper")

    for name, service in services.items():
        problems.check("image" in service or "build" in service, path, f"service {name} has no image or build")
        for port in service.get("ports", []):
            problems.check(str(port).startswith("127.0.0.1:"), path, f"service {name} publishes {port} beyond loopback")
        for dependency, condition in (service.get("depends_on") or {}).items():
            problems.check(dependency in services, path, f"service {name} depends on unknown service {dependency}")
            if dependency in services and condition.get("condition") == "service_healthy":
                problems.check("healthcheck" in services[dependency], path, f"{name} waits for {dependency} to be healthy, which has no healthcheck")

    topics_script = " ".join(str(part) for part in services["init-topics"].get("command", []))
    problems.check("task-status-updates" in topics_script and "task-status-updates.dlq" in topics_script, path,
                   "init-topics must create the input and the dead-letter topic")
    problems.check(topics_script.count("--partitions") == 1, path, "init-topics must create both topics with one partition count")
    problems.check(services["init-store"].get("command") == ["store", "migrate"], path, "init-store must run store migrate")

    worker = services["worker"]
    conditions = {name: value.get("condition") for name, value in (worker.get("depends_on") or {}).items()}
    for init in ("init-topics", "init-store"):
        problems.check(conditions.get(init) == "service_completed_successfully", path, f"worker must wait for {init} to complete")
    grace = str(worker.get("stop_grace_period", "10s"))
    seconds = int(grace.rstrip("s")) if re.fullmatch(r"\d+s", grace) else 0
    problems.check(seconds * 1000 > 30000 + WATCHDOG_MARGIN_MS, path, f"worker stop_grace_period={grace} must exceed the 30 s shutdown timeout")
    worker_environment = worker.get("environment") or {}
    problems.check(worker_environment.get("STATUS_INGEST_KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092", path, "worker must use the kafka service")
    problems.check("@" in str(worker_environment.get("STATUS_INGEST_STORE_URL", "")) and ":" not in
                   str(worker_environment.get("STATUS_INGEST_STORE_URL", "")).split("://", 1)[-1].split("@")[0], path,
                   "the store URL must carry no password (PGPASSWORD has it)")


# MARK: - Dockerfile


def dockerfile_instructions(text):
    """Yields (instruction, arguments) with continuation lines joined and comments dropped."""
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not logical and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        logical += stripped[:-1] + " " if stripped.endswith("\\") else stripped
        if not stripped.endswith("\\"):
            instruction, _, arguments = logical.partition(" ")
            yield instruction.upper(), arguments.strip()
            logical = ""


def check_dockerfile(path, repository, problems):
    stages = []
    for instruction, arguments in dockerfile_instructions(path.read_text()):
        if instruction == "FROM":
            stages.append({"from": arguments, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((instruction, arguments))
        elif instruction != "ARG":
            problems.add(path, f"{instruction} before the first FROM")
    if not problems.check(len(stages) >= 2, path, "expected a build stage and a runtime stage"):
        return
    problems.check(re.match(r"swift:(\$\{SWIFT_VERSION\}|6\.\d+)", stages[0]["from"]), path, "the build stage must use the official swift:6.x image")
    problems.check(stages[-1]["from"].startswith("debian:bookworm-slim"), path, "the runtime stage must be debian:bookworm-slim")

    runtime = stages[-1]["instructions"]
    installed = set()
    for stage in stages:
        for instruction, arguments in stage["instructions"]:
            if instruction == "RUN" and "apt-get install" in arguments:
                problems.check("--no-install-recommends" in arguments, path, "apt-get install without --no-install-recommends")
                problems.check("rm -rf /var/lib/apt/lists" in arguments, path, "apt-get install without removing /var/lib/apt/lists")
                if stage is stages[-1]:
                    words = shlex.split(arguments.split("apt-get install", 1)[1].split("&&", 1)[0])
                    installed |= {word for word in words if not word.startswith("-")}
    problems.check(installed == RUNTIME_PACKAGES, path, f"the runtime installs {sorted(installed)}, expected {sorted(RUNTIME_PACKAGES)}")

    users = [arguments for instruction, arguments in runtime if instruction == "USER"]
    problems.check(users and users[-1].split(":")[0] not in ("root", "0"), path, "the runtime stage must end as a non-root USER")
    healthchecks = [arguments for instruction, arguments in runtime if instruction == "HEALTHCHECK"]
    problems.check(healthchecks and "/healthz" in healthchecks[-1], path, "the runtime stage needs a HEALTHCHECK on /healthz")
    for instruction, arguments in runtime:
        if instruction in ("ENTRYPOINT", "CMD"):
            problems.check(arguments.startswith("["), path, f"{instruction} should use the exec form so the worker receives SIGTERM")
    copies = [arguments for instruction, arguments in runtime if instruction == "COPY"]
    problems.check(any("config/status-ingest.properties" in arguments for arguments in copies), path, "the runtime must copy the config file")
    problems.check(any(arguments.startswith("--from=") for arguments in copies), path, "the runtime must copy the binary from the build stage")

    for stage in stages:
        for instruction, arguments in stage["instructions"]:
            if instruction == "COPY" and not arguments.startswith("--from="):
                for source in shlex.split(arguments)[:-1]:
                    problems.check((repository / source).exists(), path, f"COPY source {source} does not exist in the repository")


def main():
    deploy = Path(sys.argv[1] if len(sys.argv) > 1 else "deploy")
    problems = Problems()
    check_kubernetes(deploy / "k8s", problems)
    check_compose(deploy / "compose.yaml", problems)
    check_dockerfile(deploy / "Dockerfile", deploy.resolve().parent, problems)
    for line in problems.lines:
        print(line)
    if problems.lines:
        print(f"deploy check: {len(problems.lines)} problems")
        return 1
    print(f"deploy check: passed (Kubernetes schemas {', '.join(KUBERNETES_VERSIONS)}; compose; Dockerfile)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
