"""Schema checks of the Kubernetes manifests in deploy/flink/kubernetes/, which no cluster here
ever applies: without these, a misspelled field or a wrong type would first show up on someone's
cluster, and an unknown field under a custom resource would not show up at all (Kubernetes prunes
it unless field validation is strict).

Core kinds (PersistentVolumeClaim, Job, the pod templates, object metadata) are checked against
the strict JSON schemas kubernetes-validate bundles, at the oldest and newest Kubernetes it knows.
The FlinkDeployment is checked against the operator's own CRD, fetched by `make k8s-schemas`
from Maven Central (deploy/flink/kubernetes/pom.xml); those tests are skipped when it is missing,
except in CI. A schema says nothing about whether the job runs: see deploy/README.md.
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

from pipeline.runners import FLINK_MINOR
from tests.utils.paths import REPO_ROOT, built_by_make

MANIFESTS = REPO_ROOT / "deploy" / "flink" / "kubernetes"
SCHEMA_POM = MANIFESTS / "pom.xml"
FLINK_DEPLOYMENT = ("flink.apache.org/v1beta1", "FlinkDeployment")
# The oldest and newest Kubernetes whose schemas kubernetes-validate bundles: a field that one of
# them lacks or types differently fails here rather than on a cluster of that version.
K8S_VERSIONS = (all_versions()[0], kubernetes_validate.latest_version())
# Edits a copy of a good document into a bad one, for the tests that show a check can fail.
Breakage = Callable[[dict[str, Any]], None]


def _documents() -> list[tuple[str, dict[str, Any]]]:
    """Every document of every manifest, with its file name, so none escapes the checks."""
    found = [(path.name, doc)
             for path in sorted(MANIFESTS.glob("*.yaml"))
             for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert found, f"no manifests in {MANIFESTS}"
    return found


DOCUMENTS = _documents()
CORE = [(name, doc) for name, doc in DOCUMENTS
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
    job = copy.deepcopy(_only([doc for _, doc in CORE], "Job"))
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
