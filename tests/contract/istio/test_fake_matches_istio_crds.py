"""The fake checks objects against Istio's own CRD schemas (../shared/reference/istio/crd-all.gen.yaml):
what a cluster would refuse, the fake refuses with a 422 Status naming each field."""
from __future__ import annotations

import copy
import json

import pytest
from kubernetes.client.exceptions import ApiException

from interlock.paths import REFERENCE
from tests.fakes.kubernetes import load_crds
from tests.fakes.kubernetes.crds import ISTIO_CRDS_RELATIVE_PATH
from tests.fakes.kubernetes.schema import CEL_RULES, rules_in
from tests.istio.objects import destination_rule, virtual_service
from tests.reference import reference_or_skip

pytestmark = pytest.mark.reference
CRDS_PATH = REFERENCE / ISTIO_CRDS_RELATIVE_PATH


@pytest.fixture(autouse=True)
def _reference() -> None:
    reference_or_skip(CRDS_PATH, "Istio CRDs")


def test_every_cel_rule_of_the_networking_crds_is_implemented():
    crds = {c.kind: c for c in load_crds(CRDS_PATH)}
    for kind in ("VirtualService", "DestinationRule"):
        for version, schema in crds[kind].versions.items():
            unknown = sorted(set(rules_in(schema)) - set(CEL_RULES))
            assert unknown == [], f"{kind} {version}: CEL rules the fake cannot check: {unknown}"


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha3"])
def test_the_test_objects_are_valid_in_every_served_version(kube, version):
    for obj in (virtual_service(), destination_rule()):
        kube.put({**copy.deepcopy(obj), "apiVersion": f"networking.istio.io/{version}"})
    assert kube.unchecked_rules == set()


def _broken(change) -> dict:
    vs = virtual_service()
    change(vs)
    return vs


@pytest.mark.parametrize(("change", "reason", "field", "message"), [
    (lambda vs: vs["spec"]["http"][1]["route"][0].update(weight="90"), "FieldValueTypeInvalid",
     "spec.http[1].route[0].weight", "must be of type integer"),
    (lambda vs: vs["spec"]["http"][1]["route"][0].update(weight=2**31), "FieldValueInvalid",
     "spec.http[1].route[0].weight", "must be of type int32"),
    (lambda vs: vs["spec"]["http"][1]["route"][0]["destination"].pop("host"), "FieldValueRequired",
     "spec.http[1].route[0].destination.host", "Required value"),
    (lambda vs: vs["spec"]["http"][1].update(timeout="0.5ms"), "FieldValueInvalid", "spec.http[1].timeout",
     "must be a valid duration greater than 1ms"),
    (lambda vs: vs["spec"]["http"][1]["retries"].update(perTryTimeout="soon"), "FieldValueInvalid",
     "spec.http[1].retries.perTryTimeout", "must be a valid duration greater than 1ms"),
    (lambda vs: vs["spec"]["http"][0]["match"][0]["headers"]["x-admin"].update(prefix="1"), "FieldValueInvalid",
     "spec.http[0].match[0].headers[x-admin]", "must validate one and only one schema (oneOf)"),
    (lambda vs: vs["spec"]["http"][1]["route"][0]["destination"]["port"].update(number=-1), "FieldValueInvalid",
     "spec.http[1].route[0].destination.port.number", "should be greater than or equal to 0"),
    (lambda vs: vs["spec"].update(hosts="reviews"), "FieldValueTypeInvalid", "spec.hosts", "must be of type array"),
])
def test_schema_violations_answer_422_with_causes(kube, api, change, reason, field, message):
    with pytest.raises(ApiException) as raised:
        api.create_namespaced_custom_object("networking.istio.io", "v1", "shop", "virtualservices", _broken(change))
    status = json.loads(raised.value.body)
    assert raised.value.status == 422 and status["reason"] == "Invalid" and status["kind"] == "Status"
    assert status["message"].startswith('VirtualService.networking.istio.io "reviews" is invalid: ')
    assert {"reason": reason, "field": field} == {k: status["details"]["causes"][0][k] for k in ("reason", "field")}
    assert message in status["details"]["causes"][0]["message"]
    assert kube.get("virtualservices", "shop", "reviews") is None


def test_the_same_rules_hold_on_patch(kube, api):
    before = kube.put(virtual_service())
    with pytest.raises(ApiException) as raised:
        api.patch_namespaced_custom_object("networking.istio.io", "v1", "shop", "virtualservices", "reviews",
                                           [{"op": "add", "path": "/spec/http/1/route/1/weight", "value": "ten"}],
                                           _content_type="application/json-patch+json")
    assert raised.value.status == 422
    assert kube.get("virtualservices", "shop", "reviews") == before


def test_unknown_fields_are_pruned_with_a_warning_or_refused_when_strict(kube, api):
    vs = virtual_service()
    vs["spec"]["http"][1]["route"][0]["wieght"] = 90
    with pytest.raises(ApiException) as raised:
        api.create_namespaced_custom_object("networking.istio.io", "v1", "shop", "virtualservices", vs,
                                            field_validation="Strict")
    assert raised.value.status == 400
    assert 'unknown field "spec.http[1].route[0].wieght"' in json.loads(raised.value.body)["message"]
    data, _, headers = api.create_namespaced_custom_object_with_http_info(
        "networking.istio.io", "v1", "shop", "virtualservices", vs)
    assert "wieght" not in json.dumps(data)
    assert 'unknown field \\"spec.http[1].route[0].wieght\\"' in headers["Warning"]


def test_names_are_checked(kube, api):
    vs = virtual_service(name="Reviews_v2")
    with pytest.raises(ApiException) as raised:
        api.create_namespaced_custom_object("networking.istio.io", "v1", "shop", "virtualservices", vs)
    assert raised.value.status == 422
    assert json.loads(raised.value.body)["details"]["causes"][0]["field"] == "metadata.name"
