"""The real `kubernetes` client against the fake API: the paths, verbs and Content-Types it really
sends for custom objects, and the answers a cluster gives (resourceVersion, 409, 404, 403, 401,
415, 422 with a Status body, dry runs, warnings)."""
from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from tests.istio.objects import destination_rule, virtual_service

from tests.istio.objects import TOKEN

GROUP = "networking.istio.io"
NS = "shop"


def status_of(raised) -> dict:
    return json.loads(raised.value.body)


def test_create_get_list_replace_delete_paths(kube, api):
    created = api.create_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", virtual_service())
    assert created["metadata"]["resourceVersion"] and created["metadata"]["generation"] == 1
    got = api.get_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews")
    assert got["spec"] == virtual_service()["spec"] and got["apiVersion"] == "networking.istio.io/v1"
    beta = api.get_namespaced_custom_object(GROUP, "v1beta1", NS, "virtualservices", "reviews")
    assert beta["apiVersion"] == "networking.istio.io/v1beta1" and beta["spec"] == got["spec"]
    listed = api.list_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", label_selector="app=reviews")
    assert listed["kind"] == "VirtualServiceList" and [i["metadata"]["name"] for i in listed["items"]] == ["reviews"]
    assert api.list_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", label_selector="app!=reviews")["items"] == []
    got["spec"]["hosts"] = ["reviews", "reviews.shop"]
    replaced = api.replace_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews", got)
    assert int(replaced["metadata"]["resourceVersion"]) > int(got["metadata"]["resourceVersion"])
    assert replaced["metadata"]["generation"] == 2
    api.delete_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews")
    with pytest.raises(ApiException) as raised:
        api.get_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews")
    assert raised.value.status == 404
    assert [(c.method, c.path, c.verb) for c in kube.calls][:3] == [
        ("POST", "/apis/networking.istio.io/v1/namespaces/shop/virtualservices", "create"),
        ("GET", "/apis/networking.istio.io/v1/namespaces/shop/virtualservices/reviews", "get"),
        ("GET", "/apis/networking.istio.io/v1beta1/namespaces/shop/virtualservices/reviews", "get")]


def test_merge_patch_is_the_default_and_json_patch_by_content_type(kube, api):
    kube.put(virtual_service())
    merged = api.patch_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews",
                                                {"metadata": {"labels": {"team": "shop"}}})
    assert merged["metadata"]["labels"] == {"app": "reviews", "team": "shop"}
    patched = api.patch_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews",
                                                 [{"op": "replace", "path": "/spec/http/1/route/1/weight", "value": 5},
                                                  {"op": "test", "path": "/spec/hosts/0", "value": "reviews"}],
                                                 _content_type="application/json-patch+json")
    assert patched["spec"]["http"][1]["route"][1]["weight"] == 5
    assert [c.content_type for c in kube.calls_to("patch")] == ["application/merge-patch+json", "application/json-patch+json"]


def test_patch_types_custom_resources_do_not_support(kube, api):
    kube.put(virtual_service())
    for content_type in ("application/strategic-merge-patch+json", "application/apply-patch+yaml"):
        with pytest.raises(ApiException) as raised:
            api.patch_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews", {"spec": {}},
                                               _content_type=content_type)
        assert raised.value.status == 415 and status_of(raised)["reason"] == "UnsupportedMediaType"


def test_failed_json_patch_test_is_422_and_changes_nothing(kube, api):
    before = kube.put(virtual_service())
    with pytest.raises(ApiException) as raised:
        api.patch_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews",
                                           [{"op": "add", "path": "/spec/http/1/route/0/weight", "value": 1},
                                            {"op": "test", "path": "/spec/hosts/0", "value": "ratings"}],
                                           _content_type="application/json-patch+json")
    assert raised.value.status == 422 and "testing value /spec/hosts/0 failed" in status_of(raised)["message"]
    assert kube.get("virtualservices", NS, "reviews") == before


def test_resource_version_moves_on_writes_and_stale_writes_conflict(kube, api):
    seeded = kube.put(virtual_service())
    version = seeded["metadata"]["resourceVersion"]
    same = api.patch_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews", {"spec": {"hosts": ["reviews"]}})
    assert same["metadata"]["resourceVersion"] == version  # a no-op is not a write
    changed = api.patch_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews",
                                                 {"metadata": {"resourceVersion": version}, "spec": {"gateways": ["edge"]}})
    assert int(changed["metadata"]["resourceVersion"]) > int(version)
    for body, content_type in (({"metadata": {"resourceVersion": version}, "spec": {"gateways": ["mesh"]}}, None),
                               ([{"op": "replace", "path": "/metadata/resourceVersion", "value": version}],
                                "application/json-patch+json")):
        with pytest.raises(ApiException) as raised:
            api.patch_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews", body,
                                               **({"_content_type": content_type} if content_type else {}))
        assert raised.value.status == 409 and status_of(raised)["reason"] == "Conflict"
        assert "the object has been modified" in status_of(raised)["message"]
    stale = {**seeded, "spec": {**seeded["spec"], "gateways": ["x"]}}
    with pytest.raises(ApiException) as raised:
        api.replace_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews", stale)
    assert raised.value.status == 409
    no_version = {**stale, "metadata": {k: v for k, v in stale["metadata"].items() if k != "resourceVersion"}}
    with pytest.raises(ApiException) as raised:
        api.replace_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews", no_version)
    assert raised.value.status == 422 and status_of(raised)["details"]["causes"][0]["field"] == "metadata.resourceVersion"
    assert kube.get("virtualservices", NS, "reviews")["spec"]["gateways"] == ["edge"]


def test_not_found_forbidden_and_unauthorized(kube, api, client_for):
    with pytest.raises(ApiException) as raised:
        api.get_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "nope")
    assert raised.value.status == 404
    assert status_of(raised)["message"] == 'virtualservices.networking.istio.io "nope" not found'
    with pytest.raises(ApiException) as raised:
        api.list_namespaced_custom_object(GROUP, "v1", "payments", "destinationrules")
    assert raised.value.status == 403 and status_of(raised)["message"] == (
        'destinationrules.networking.istio.io is forbidden: User "system:serviceaccount:shop:deployer" cannot list '
        'resource "destinationrules" in API group "networking.istio.io" in the namespace "payments"')
    for token in (None, "wrong-token"):
        with pytest.raises(ApiException) as raised:
            client_for(kube, token=token).get_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "x")
        assert raised.value.status == 401
    with pytest.raises(ApiException) as raised:
        api.get_namespaced_custom_object("networking.istio.io", "v2", NS, "virtualservices", "reviews")
    assert raised.value.status == 404


def test_server_side_dry_run_persists_nothing(kube, api):
    seeded = kube.put(virtual_service())
    answer = api.patch_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews",
                                                {"spec": {"gateways": ["edge"]}}, dry_run="All")
    assert answer["spec"]["gateways"] == ["edge"]
    assert kube.get("virtualservices", NS, "reviews") == seeded


def test_faults_and_the_runtime_retry(kube, tmp_path):
    from interlock_steps.runtime import Deadline, RetryPolicy
    from interlock_steps.runtime.retry_kubernetes import kubernetes_configuration
    import kubernetes
    from kubernetes.client import ApiClient, Configuration, CustomObjectsApi

    kube.put(virtual_service())
    kube.faults.fail("get", "virtualservices", 429, times=1, retry_after=0)
    kube.faults.fail("get", "virtualservices", 503, times=1)
    kube.faults.fail("patch", "virtualservices", 409, times=1)
    base = Configuration()
    kubernetes.config.load_kube_config(config_file=str(kube.kubeconfig(tmp_path / "k", token=TOKEN)), client_configuration=base)
    policy = RetryPolicy(total=3, backoff=0.01, jitter=0, timeout=5, deadline=30)
    api = CustomObjectsApi(ApiClient(kubernetes_configuration(policy, Deadline(30), idempotent=True, base=base)))
    assert api.get_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews")["metadata"]["name"] == "reviews"
    assert [c.status for c in kube.calls_to("get")] == [429, 503, 200]
    with pytest.raises(ApiException) as raised:  # a 409 is never retried blindly
        api.patch_namespaced_custom_object(GROUP, "v1", NS, "virtualservices", "reviews", {"spec": {}})
    assert raised.value.status == 409 and len(kube.calls_to("patch")) == 1


def test_destination_rules_are_served_too(kube, api):
    kube.put(destination_rule())
    rules = api.list_namespaced_custom_object(GROUP, "v1", NS, "destinationrules")["items"]
    assert [s["name"] for s in rules[0]["spec"]["subsets"]] == ["stable", "canary"]


def test_in_cluster_configuration_over_tls(tmp_path, monkeypatch):
    """The default access of the tasks: the ServiceAccount token and CA, the API over https."""
    from interlock.paths import REFERENCE
    from kubernetes.config import incluster_config
    from tests.fakes.kubernetes import Access, FakeKubernetes, istio_crds
    from tests.fakes.kubernetes.tls import self_signed

    cert, key = self_signed(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    access = Access(tokens={TOKEN: "system:serviceaccount:shop:deployer"})
    with FakeKubernetes(istio_crds(REFERENCE), access=access, tls=(cert, key)) as fake:
        fake.put(virtual_service())
        host, port = fake.url.removeprefix("https://").split(":")
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
        monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token_file))
        monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(cert))
        from kubernetes.client import ApiClient, Configuration, CustomObjectsApi

        configuration = Configuration()
        incluster_config.load_incluster_config(client_configuration=configuration)
        got = CustomObjectsApi(ApiClient(configuration)).get_namespaced_custom_object(GROUP, "v1", NS, "virtualservices",
                                                                                      "reviews")
        assert got["metadata"]["name"] == "reviews" and fake.calls[-1].user == "system:serviceaccount:shop:deployer"
