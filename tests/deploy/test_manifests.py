"""Schema checks of the Kubernetes manifests in deploy/flink/kubernetes/ and
deploy/crawlers/kubernetes/, which no cluster here ever applies: without these, a misspelled field
or a wrong type would first show up on someone's cluster, and an unknown field under a custom
resource would not show up at all (Kubernetes prunes it unless field validation is strict).

Core kinds (ConfigMap, PersistentVolumeClaim, Job, CronJob, Deployment, Service, the pod
templates, object metadata) are checked against the strict JSON schemas kubernetes-validate
bundles, at the oldest and newest Kubernetes it knows. The FlinkDeployment is checked against the
operator's own CRD, fetched by `make k8s-schemas` from Maven Central
(deploy/flink/kubernetes/pom.xml); those tests are skipped when it is missing, except in CI.

What no schema knows is checked too: that the manifests agree with each other, with the job
server's Flink, and with the code (the scheduler's single replica and stop grace, the settings'
variable names, where the profiles and their secret files are, the example profile itself). A
schema says nothing about whether the job or the crawls run: see deploy/README.md.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from crawlers.profiles import load_profile
from crawlers.scheduler import STOP_GRACE_S
from pipeline.config import CONFIG_VARIABLE, ENV_PREFIX, Settings
from pipeline.runners import FLINK_MINOR
from tests.utils.paths import REPO_ROOT, built_by_make

DEPLOY = REPO_ROOT / "deploy"
MANIFESTS = DEPLOY / "flink" / "kubernetes"
CRAWLER_MANIFESTS = DEPLOY / "crawlers" / "kubernetes"
SCHEMA_POM = MANIFESTS / "pom.xml"
FLINK_DEPLOYMENT = ("flink.apache.org/v1beta1", "FlinkDeployment")
# The oldest and newest Kubernetes whose schemas kubernetes-validate bundles: a field that one of
# them lacks or types differently fails here rather than on a cluster of that version.
K8S_VERSIONS = (all_versions()[0], kubernetes_validate.latest_version())
# Edits a copy of a good document into a bad one, for the tests that show a check can fail.
Breakage = Callable[[dict[str, Any]], None]


def _documents(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every document of every manifest in ``directory``, with its path under deploy/, so none
    escapes the checks."""
    found = [(str(path.relative_to(DEPLOY)), doc)
             for path in sorted(directory.glob("*.yaml"))
             for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert found, f"no manifests in {directory}"
    return found


DOCUMENTS = _documents(MANIFESTS)
CRAWLER_DOCUMENTS = _documents(CRAWLER_MANIFESTS)
CORE = [(name, doc) for name, doc in [*DOCUMENTS, *CRAWLER_DOCUMENTS]
        if (doc["apiVersion"], doc["kind"]) != FLINK_DEPLOYMENT]
FLINK = [doc for _, doc in DOCUMENTS if (doc["apiVersion"], doc["kind"]) == FLINK_DEPLOYMENT]


def _id(name: str, doc: dict[str, Any]) -> str:
    return f"{name}:{doc['kind']}/{doc['metadata']['name']}"


def _only(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The one document of ``kind``: the cross-file checks below assume a single one."""
    [doc] = [doc for doc in docs if doc["kind"] == kind]
    return doc


# --- core kinds: kubernetes-validate ---------------------------------------------------------


@pytest.mark.parametrize("k8s", K8S_VERSIONS)
@pytest.mark.parametrize(("name", "doc"), CORE, ids=[_id(n, d) for n, d in CORE])
def test_each_core_document_matches_the_strict_kubernetes_schema(
        name: str, doc: dict[str, Any], k8s: str) -> None:
    # Strict: an unknown field fails, as kubectl's default server-side field validation does. A
    # kind it has no schema for raises SchemaNotFoundError, so a new custom kind fails too.
    kubernetes_validate.validate(doc, k8s, strict=True)


@pytest.mark.parametrize("k8s", K8S_VERSIONS)
def test_the_flink_deployment_s_core_parts_match_the_strict_kubernetes_schema(k8s: str) -> None:
    # The CRD's schema leaves metadata to the API server, and its copy of the Pod schema
    # (Fabric8's) requires nothing, not even a container's name; the operator turns each pod
    # template into a real Pod, which Kubernetes then checks as one.
    assert FLINK, "no FlinkDeployment in the manifests"
    for doc in FLINK:
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": doc["metadata"]}, k8s,
            strict=True)
        for role in ("jobManager", "taskManager"):
            template = doc["spec"][role].get("podTemplate")
            if template is not None:
                kubernetes_validate.validate(template, k8s, strict=True)


def _case(breaks: Breakage, expected: str) -> Any:
    """A parameter named after the breakage, which reads better than the message it expects."""
    return pytest.param(breaks, expected, id=breaks.__name__.lstrip("_"))


def _misspelt_restart_policy(job: dict[str, Any]) -> None:
    pod = job["spec"]["template"]["spec"]
    pod["restartPolicyy"] = pod.pop("restartPolicy")


def _backoff_limit_as_text(job: dict[str, Any]) -> None:
    job["spec"]["backoffLimit"] = "0"


def _misspelt_secret_key_ref(job: dict[str, Any]) -> None:
    env = job["spec"]["template"]["spec"]["containers"][0]["env"][0]
    env["valueFrom"]["secretKeyReference"] = env["valueFrom"].pop("secretKeyRef")


@pytest.mark.parametrize(("breaks", "unexpected"), [
    _case(_misspelt_restart_policy, "restartPolicyy"),
    _case(_backoff_limit_as_text, "'0' is not of type"),
    _case(_misspelt_secret_key_ref, "secretKeyReference"),
])
def test_the_kubernetes_schema_rejects_a_broken_job(breaks: Breakage, unexpected: str) -> None:
    # The proof that the check above can fail: one wrong field, and the error names it.
    job = copy.deepcopy(_only([doc for _, doc in DOCUMENTS], "Job"))
    breaks(job)
    with pytest.raises(kubernetes_validate.ValidationError, match=re.escape(unexpected)):
        kubernetes_validate.validate(job, K8S_VERSIONS[-1], strict=True)


# --- the FlinkDeployment: the operator's CRD ------------------------------------------------


def _crd_path() -> Path:
    """Where `make k8s-schemas` unpacks the CRD: under the operator version the pom pins."""
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ET.parse(SCHEMA_POM).findtext("m:properties/m:flink-operator.version",
                                            namespaces=namespace)
    assert version, f"no flink-operator.version in {SCHEMA_POM}"
    return (REPO_ROOT / "var" / "k8s-schemas" / f"flink-kubernetes-operator-{version}"
            / "META-INF" / "fabric8" / "flinkdeployments.flink.apache.org-v1.yml")


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with unknown fields refused, as the API server's strict field validation does.

    A structural CRD schema that lists an object's properties means "these and no others": the
    server prunes the rest, or refuses them when validation is strict (kubectl's default). JSON
    Schema means "these, and anything else", so without this a misspelt field passes.
    """
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {key: _strict(value) for key, value in out["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = _strict(out[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in out:
            out[key] = [_strict(branch) for branch in out[key]]
    if (out.get("type") == "object" and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@pytest.fixture(scope="module")
def crd_validator() -> jsonschema.Draft4Validator:
    """The served version's schema, made strict.

    Draft 4, because OpenAPI 3.0 schemas keep its keywords (a boolean exclusiveMaximum, say).
    """
    crd = yaml.safe_load(built_by_make(_crd_path(), "make k8s-schemas").read_text())
    api_group, api_version = FLINK_DEPLOYMENT[0].split("/")
    assert (crd["spec"]["group"], crd["spec"]["names"]["kind"]) == (api_group,
                                                                     FLINK_DEPLOYMENT[1])
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == api_version and v["served"]]
    return jsonschema.Draft4Validator(_strict(served["schema"]["openAPIV3Schema"]))


def _crd_errors(validator: jsonschema.Draft4Validator, doc: dict[str, Any]) -> list[str]:
    """Every error, each with its path; apiVersion, kind and metadata are the server's own."""
    body = {key: value for key, value in doc.items()
            if key not in ("apiVersion", "kind", "metadata")}
    return sorted(f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
                  for error in validator.iter_errors(body))


@pytest.mark.integration
def test_the_flink_deployment_matches_the_operator_crd(
        crd_validator: jsonschema.Draft4Validator) -> None:
    assert FLINK, "no FlinkDeployment in the manifests"
    for doc in FLINK:
        assert _crd_errors(crd_validator, doc) == []


def _misspelt_memory(doc: dict[str, Any]) -> None:
    resource = doc["spec"]["taskManager"]["resource"]
    resource["memmory"] = resource.pop("memory")


def _cpu_as_words(doc: dict[str, Any]) -> None:
    doc["spec"]["jobManager"]["resource"]["cpu"] = "one"


def _flink_version_as_written_elsewhere(doc: dict[str, Any]) -> None:
    doc["spec"]["flinkVersion"] = FLINK_MINOR


def _misspelt_sidecar_port(doc: dict[str, Any]) -> None:
    sidecar = doc["spec"]["taskManager"]["podTemplate"]["spec"]["containers"][1]
    sidecar["ports"][0]["containerPorts"] = sidecar["ports"][0].pop("containerPort")


@pytest.mark.integration
@pytest.mark.parametrize(("breaks", "path"), [
    _case(_misspelt_memory, "spec.taskManager.resource: Additional properties"),
    _case(_cpu_as_words, "spec.jobManager.resource.cpu: 'one' is not of type 'number'"),
    _case(_flink_version_as_written_elsewhere, f"spec.flinkVersion: '{FLINK_MINOR}' is not one of"),
    _case(_misspelt_sidecar_port,
          "spec.taskManager.podTemplate.spec.containers.1.ports.0: Additional properties"),
])
def test_the_operator_crd_rejects_a_broken_flink_deployment(
        crd_validator: jsonschema.Draft4Validator, breaks: Breakage, path: str) -> None:
    # The proof that the CRD check can fail: one wrong field, one error, at that field.
    doc = copy.deepcopy(_only(FLINK, "FlinkDeployment"))
    breaks(doc)
    [error] = _crd_errors(crd_validator, doc)
    assert error.startswith(path)


# --- what no schema knows: the manifests agree with each other and with the job server -------


def test_the_cluster_runs_the_flink_the_job_server_was_built_for() -> None:
    # Beam's job server is built for one Flink minor (deploy/flink/job-server/pom.xml); a
    # cluster of another refuses or breaks the job it submits.
    deployment = _only(FLINK, "FlinkDeployment")["spec"]
    assert deployment["flinkVersion"] == "v" + FLINK_MINOR.replace(".", "_")
    repository, _, tag = deployment["image"].partition(":")
    assert repository == "flink"
    assert re.fullmatch(rf"{re.escape(FLINK_MINOR)}([.-].*)?", tag), tag


def test_the_driver_reaches_the_cluster_and_the_worker_pools_the_deployment_defines() -> None:
    # The operator names the REST service <name>-rest; the driver's --worker-pool is each task
    # manager's own sidecar, so its port must be the one the sidecar serves; and the driver puts
    # its settings and paths into the job, so the workers must run the driver's very image.
    docs = [doc for _, doc in DOCUMENTS]
    deployment = _only(docs, "FlinkDeployment")
    pod = _only(docs, "Job")["spec"]["template"]["spec"]
    [driver] = pod["containers"]
    command = " ".join(driver["command"])
    assert f"--flink-master {deployment['metadata']['name']}-rest:8081" in command
    [sidecar] = [c for c in deployment["spec"]["taskManager"]["podTemplate"]["spec"]["containers"]
                 if c["name"] != "flink-main-container"]
    [port] = sidecar["ports"]
    assert f"--worker-pool localhost:{port['containerPort']}" in command
    assert f"--service_port={port['containerPort']}" in sidecar["command"]
    images = {c["image"] for c in [*pod["initContainers"], driver, sidecar]}
    assert images == {driver["image"]}


# --- the crawl scheduler and its CronJob: what the code needs of them --------------------------


def _crawler(kind: str) -> dict[str, Any]:
    return _only([doc for _, doc in CRAWLER_DOCUMENTS], kind)


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Job, a CronJob or a Deployment."""
    spec = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


def _env(container: dict[str, Any]) -> dict[str, Any]:
    """A container's variables: the value, or where it comes from."""
    return {var["name"]: var.get("value", var.get("valueFrom"))
            for var in container.get("env", [])}


def _mounts(container: dict[str, Any]) -> dict[str, str]:
    """A container's mounts: path -> volume name."""
    return {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}


def _volumes(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {volume["name"]: volume for volume in pod.get("volumes", [])}


SCHEDULER_PODS = [pytest.param(kind, id=kind) for kind in ("Deployment", "CronJob")]


def _container(kind: str) -> dict[str, Any]:
    [container] = _pod(_crawler(kind))["containers"]
    return container


def test_one_scheduler_runs_at_a_time() -> None:
    # Two schedulers would both crawl every profile (the schedule in the store has no owner),
    # and a rolling update would run the old and the new pod side by side.
    spec = _crawler("Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def test_the_scheduler_serves_its_metrics_where_the_probes_and_prometheus_look() -> None:
    deployment, service = _crawler("Deployment"), _crawler("Service")
    container = _container("Deployment")
    command = container["command"]
    assert command[:2] == ["yuqing", "schedule"] and "--once" not in command
    options = dict(zip(command[2::2], command[3::2], strict=True))
    # The default address is 127.0.0.1, which neither the probes nor Prometheus reach.
    assert options["--metrics-address"] == "0.0.0.0"
    [port] = container["ports"]
    assert str(port["containerPort"]) == options["--metrics-port"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/metrics", "port": port["name"]}, probe
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    [service_port] = service["spec"]["ports"]
    assert service_port["targetPort"] == port["name"]
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(service_port["port"])
    assert annotations["prometheus.io/path"] == "/metrics"


@pytest.mark.parametrize("kind", SCHEDULER_PODS)
def test_a_stopped_scheduler_s_crawls_have_time_to_save_their_state(kind: str) -> None:
    # On SIGTERM `yuqing schedule` (and `--once`) asks its crawls to stop and kills any still
    # running STOP_GRACE_S later; Kubernetes must not kill it all first. Its default, 30 s, is
    # no more than STOP_GRACE_S.
    grace = _pod(_crawler(kind)).get("terminationGracePeriodSeconds", 30)
    assert grace > STOP_GRACE_S


def test_the_cronjob_looks_every_minute_and_never_runs_twice_at_once() -> None:
    cronjob = _crawler("CronJob")["spec"]
    assert cronjob["schedule"] == "* * * * *"
    assert cronjob["concurrencyPolicy"] == "Forbid"
    assert 10 <= cronjob["startingDeadlineSeconds"] < 60
    assert _container("CronJob")["command"] == ["yuqing", "schedule", "--once"]
    job, pod = cronjob["jobTemplate"]["spec"], _pod(_crawler("CronJob"))
    assert job["backoffLimit"] == 0 and pod["restartPolicy"] == "Never"
    # The deadline is a backstop: two rounds of crawls that each run into the crawl timeout,
    # and are then given STOP_GRACE_S, end before it.
    env = _env(_container("CronJob"))
    timeout_s = float(env.get("YUQING_CRAWL_TIMEOUT_S",
                              Settings.model_fields["crawl_timeout_s"].default))
    assert job["activeDeadlineSeconds"] > 2 * (timeout_s + STOP_GRACE_S)


def test_the_cronjob_keeps_data_dir_on_its_own_claim() -> None:
    # The lock files must be shared by a run and the one that overlaps it, and the logs must
    # outlast each run's pod.
    container, pod = _container("CronJob"), _pod(_crawler("CronJob"))
    volume = _volumes(pod)[_mounts(container)[_env(container)["YUQING_DATA_DIR"]]]
    claim = _crawler("PersistentVolumeClaim")
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


@pytest.mark.parametrize("kind", SCHEDULER_PODS)
def test_the_profiles_configmap_is_mounted_at_yuqing_profiles_dir(kind: str) -> None:
    # The scheduler keys each profile's job by its path as listed in the directory, not by the
    # symlink's target in the ConfigMap volume, so the volume is mounted as it is: no copy, and
    # no subPath (a subPath mount is never updated, and the scheduler rereads the directory).
    pod, container = _pod(_crawler(kind)), _container(kind)
    profiles_dir = _env(container)["YUQING_PROFILES_DIR"]
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == profiles_dir]
    assert mount.get("readOnly") is True
    assert "subPath" not in mount and "subPathExpr" not in mount
    volume = _volumes(pod)[mount["name"]]
    assert volume == {"name": mount["name"],
                      "configMap": {"name": _crawler("ConfigMap")["metadata"]["name"]}}
    assert "initContainers" not in pod


def test_the_deployment_and_the_cronjob_read_the_same_profiles_secrets_and_settings() -> None:
    deployment, cronjob = _container("Deployment"), _container("CronJob")
    skip = {"YUQING_CRAWL_TIMEOUT_S"}  # shorter for the CronJob, on purpose
    assert ({k: v for k, v in _env(deployment).items() if k not in skip}
            == {k: v for k, v in _env(cronjob).items() if k not in skip})
    assert deployment["image"] == cronjob["image"]

    def mounts(kind: str) -> dict[str, Any]:
        """Mount path -> what is mounted there; DATA_DIR differs on purpose (see each file)."""
        container, volumes = _container(kind), _volumes(_pod(_crawler(kind)))
        return {path: {k: v for k, v in volumes[name].items() if k != "name"}
                for path, name in _mounts(container).items()
                if path != _env(container)["YUQING_DATA_DIR"]}

    assert mounts("Deployment") == mounts("CronJob")


@pytest.mark.parametrize("kind", SCHEDULER_PODS)
def test_the_example_profile_loads_and_reads_its_secrets_from_the_pod(
        kind: str, tmp_path: Path) -> None:
    # The profile as the scheduler loads it, and every secret file it names inside the mounted
    # Secret (a variable it names would have to be in the container's env).
    container = _container(kind)
    volumes = _volumes(_pod(_crawler(kind)))
    secret_dirs = {Path(path) for path, name in _mounts(container).items()
                   if "secret" in volumes[name]}
    data = _crawler("ConfigMap")["data"]
    assert data, "no example profile"
    for file_name, text in data.items():
        path = tmp_path / file_name
        path.write_text(text, encoding="utf-8")
        profile = load_profile(path)
        assert profile.id == path.stem
        for secret in {**profile.secret_headers, **profile.cookies}.values():
            if secret.file is not None:
                assert secret.file.parent in secret_dirs, secret.file
            else:
                assert secret.env in _env(container), secret.env


def test_every_yuqing_variable_is_a_setting() -> None:
    # Yuqing exits with status 2 on a YUQING_* variable it does not know, so a misspelt one in
    # a manifest would stop the pod rather than be ignored.
    pods = [(name, _pod(doc)) for name, doc in [*DOCUMENTS, *CRAWLER_DOCUMENTS]
            if doc["kind"] in ("Job", "CronJob", "Deployment")]
    assert len(pods) >= 3, "the driver's Job, the scheduler and the CronJob"
    for name, pod in pods:
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            for variable in _env(container):
                if variable.upper().startswith(ENV_PREFIX) and variable != CONFIG_VARIABLE:
                    setting = variable[len(ENV_PREFIX):].lower()
                    assert setting in Settings.model_fields, f"{name}: {variable}"


def test_no_service_becomes_a_yuqing_variable() -> None:
    # Kubernetes puts <SERVICE>_SERVICE_HOST and the like into every new pod that keeps service
    # links; for a service named yuqing-… that is an unknown YUQING_* variable. Yuqing's own pods
    # turn the links off; the others (Flink's) are safe only if no service has such a name.
    services = [doc for _, doc in [*DOCUMENTS, *CRAWLER_DOCUMENTS] if doc["kind"] == "Service"]
    assert services
    for service in services:
        variable = service["metadata"]["name"].upper().replace("-", "_") + "_SERVICE_HOST"
        assert not variable.startswith(ENV_PREFIX), variable
    for doc in [_crawler("Deployment"), _crawler("CronJob")]:
        assert _pod(doc)["enableServiceLinks"] is False, doc["kind"]
