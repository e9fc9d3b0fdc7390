"""istio-set-weights and istio-rollback in-process against the fake API: validation before acting,
only weights change, optimistic concurrency, idempotence, RBAC from the sample Role."""
from __future__ import annotations

import json

import pytest

from interlock_steps.istio import rollback, set_weights

from .objects import NAMESPACE, NAME, USER, virtual_service, weights, without_weights


def stored(kube):
    return kube.get("virtualservices", NAMESPACE, NAME)


def patches(kube):
    return [c for c in kube.calls_to("patch", "virtualservices")]


def test_sets_weights_and_changes_nothing_else(run_step, kube):
    before = stored(kube)
    run = run_step(set_weights, weights="stable=90,canary=10")
    assert run.code == 0, run.log
    after = stored(kube)
    assert weights(after) == {"stable": 90, "canary": 10}
    assert without_weights(after) == without_weights(before)
    assert after["spec"]["http"][0] == before["spec"]["http"][0]  # the other route, byte for byte
    assert json.loads(run.results["previous-weights"]) == {"stable": 100, "canary": 0}
    assert json.loads(run.results["applied-weights"]) == {"stable": 90, "canary": 10}
    assert run.results["changed"] == "true"
    [patch] = patches(kube)
    assert patch.content_type == "application/json-patch+json"
    assert patch.body == [{"op": "replace", "path": "/metadata/resourceVersion", "value": before["metadata"]["resourceVersion"]},
                          {"op": "add", "path": "/spec/http/1/route/0/weight", "value": 90},
                          {"op": "add", "path": "/spec/http/1/route/1/weight", "value": 10}]
    assert patch.user == USER


def test_setting_the_same_weights_again_sends_no_patch(run_step, kube):
    assert run_step(set_weights, weights="stable=90,canary=10").code == 0
    version = stored(kube)["metadata"]["resourceVersion"]
    again = run_step(set_weights, weights="canary=10,stable=90")
    assert again.code == 0, again.log
    assert again.results["changed"] == "false"
    assert len(patches(kube)) == 1 and stored(kube)["metadata"]["resourceVersion"] == version


@pytest.mark.parametrize(("params", "message"), [
    ({"weights": "stable=90,canary=20"}, "add up to 100, these add up to 110"),
    ({"weights": "stable=90,canary=x"}, "weight of 'canary' must be an integer"),
    ({"weights": "stable=100", "route": "primary"}, "destinations without a weight given: reviews/canary"),
    ({"weights": "stable=50,canary=25,shadow=25"}, "no destination matches 'shadow'"),
    ({"weights": "canary=100"}, "0 HTTP routes"),
    ({"weights": "stable=90,canary=10", "namespace": "Shop"}, "param 'namespace'"),
])
def test_bad_weights_fail_before_anything_changes(run_step, kube, params, message):
    run = run_step(set_weights, **params)
    assert run.code == 2, run.log
    assert message in run.error
    assert patches(kube) == []


def test_a_lone_destination_already_takes_everything(run_step, kube):
    run = run_step(set_weights, weights="stable=100")  # only the admin route has exactly this destination
    assert run.code == 0, run.log
    assert run.results == {"previous-weights": '{"stable":null}', "applied-weights": '{"stable":null}', "changed": "false"}
    assert patches(kube) == []


def test_route_by_name_and_unknown_route(run_step, kube):
    assert run_step(set_weights, weights="stable=80,canary=20", route="primary").code == 0
    assert weights(stored(kube)) == {"stable": 80, "canary": 20}
    run = run_step(set_weights, weights="stable=80,canary=20", route="nope")
    assert run.code == 2 and "no HTTP route named 'nope' ('admin', 'primary')" in run.error


def test_host_keys_and_host_subset_keys(run_step, kube):
    run = run_step(set_weights, weights="reviews/stable=70,reviews/canary=30")
    assert run.code == 0, run.log
    assert weights(stored(kube)) == {"stable": 70, "canary": 30}
    ambiguous = run_step(set_weights, weights="reviews=100", route="primary")
    assert ambiguous.code == 2 and "'reviews' matches 2 destinations" in ambiguous.error


def test_subset_missing_from_the_destination_rule(run_step, kube):
    kube.edit("destinationrules", NAMESPACE, "reviews", lambda dr: dr["spec"].update(subsets=[{"name": "stable"}]))
    run = run_step(set_weights, weights="stable=90,canary=10")
    assert run.code == 2
    assert "namespace shop defines subsets ['stable']" in run.error and "verify-subsets" in run.error
    assert patches(kube) == []
    assert run_step(set_weights, weights="stable=90,canary=10", verify_subsets="false").code == 0


def test_conflicts_are_re_read_and_never_clobber_another_route(run_step, kube):
    def edit_admin_route(vs):  # another writer, changing another route every time
        headers = vs["spec"]["http"][0]["headers"]["request"]["set"]
        headers["x-edits"] = str(int(headers.get("x-edits", "0")) + 1)

    kube.faults.concurrent_write("patch", "virtualservices", times=3, edit=edit_admin_route)
    run = run_step(set_weights, weights="stable=60,canary=40")
    assert run.code == 0, run.log
    assert [c.status for c in patches(kube)] == [409, 409, 409, 200]
    after = stored(kube)
    assert after["spec"]["http"][0]["headers"]["request"]["set"]["x-edits"] == "3"
    assert weights(after) == {"stable": 60, "canary": 40}
    assert sum("reading it again" in line["msg"] for line in run.lines) == 3


def test_endless_conflicts_give_up_with_nothing_changed(run_step, kube):
    kube.faults.concurrent_write("patch", "virtualservices", times=-1)
    run = run_step(set_weights, weights="stable=60,canary=40")
    assert run.code == 1
    assert "still conflicting after 10 re-reads" in run.error
    assert weights(stored(kube)) == {"stable": 100, "canary": 0}


def test_server_errors_are_retried(run_step, kube):
    kube.faults.fail("get", "virtualservices", 503, times=1)
    kube.faults.fail("patch", "virtualservices", 500, times=1)
    run = run_step(set_weights, weights="stable=95,canary=5")
    assert run.code == 0, run.log
    assert [c.status for c in patches(kube)] == [500, 200]
    assert weights(stored(kube)) == {"stable": 95, "canary": 5}


def test_forbidden_namespace_names_the_role(run_step, kube):
    run = run_step(set_weights, "--namespace", "payments", weights="stable=90,canary=10")
    assert run.code == 1
    assert "HTTP 403 Forbidden" in run.error and 'in the namespace "payments"' in run.error
    assert "samples/role.yaml" in run.error


def test_missing_virtual_service(run_step, kube):
    run = run_step(set_weights, "--virtualservice", "ratings", weights="stable=90,canary=10")
    assert run.code == 1
    assert 'get VirtualService shop/ratings: HTTP 404 NotFound: virtualservices.networking.istio.io "ratings" not found' \
        in run.error


def test_dry_run_changes_nothing_and_asks_the_server(run_step, kube):
    before = stored(kube)
    run = run_step(set_weights, "--dry-run", "true", weights="stable=90,canary=10")
    assert run.code == 0, run.log
    assert stored(kube) == before
    [patch] = patches(kube)
    assert patch.query == {"dryRun": "All"} and patch.status == 200
    assert run.results["changed"] == "false"
    assert any(line["msg"] == "dry-run: would set weights" for line in run.lines)


def test_the_token_is_never_printed(run_step, kube):
    from .objects import TOKEN

    run = run_step(set_weights, "--log-level", "debug", weights="stable=90,canary=10")
    assert run.code == 0
    assert TOKEN not in run.log and TOKEN not in json.dumps(run.results)


def test_rollback_restores_exactly_and_is_idempotent(run_step, kube):
    first = run_step(set_weights, weights="stable=50,canary=50")
    assert first.code == 0
    restore = run_step(rollback, **{"previous-weights": first.results["previous-weights"]})
    assert restore.code == 0, restore.log
    assert weights(stored(kube)) == {"stable": 100, "canary": 0}
    assert restore.results == {"restored-weights": '{"stable":100,"canary":0}', "changed": "true"}
    again = run_step(rollback, **{"previous-weights": first.results["previous-weights"]})
    assert again.code == 0 and again.results["changed"] == "false"
    assert len(patches(kube)) == 2


def test_rollback_restores_an_absent_weight_as_absent(run_step, kube):
    kube.put(virtual_service(stable=100, canary=None))
    first = run_step(set_weights, weights="stable=90,canary=10")
    assert json.loads(first.results["previous-weights"]) == {"stable": 100, "canary": None}
    assert run_step(rollback, **{"previous-weights": first.results["previous-weights"]}).code == 0
    canary = stored(kube)["spec"]["http"][1]["route"][1]
    assert "weight" not in canary


@pytest.mark.parametrize(("value", "message"), [
    ("[1]", "expected a non-empty JSON object"),
    ('{"stable": -1}', "must be a non-negative integer or null"),
    ("nope", "invalid value"),
])
def test_rollback_rejects_malformed_previous_weights(run_step, kube, value, message):
    run = run_step(rollback, **{"previous-weights": value})
    assert run.code == 2 and message in run.error


def test_in_cluster_service_account_is_the_default(tmp_path, monkeypatch):
    """No kubeconfig workspace: the Pod's ServiceAccount token and CA, the API over https."""
    import io

    from kubernetes.config import incluster_config

    from interlock_steps import runtime as rt
    from tests.fakes.kubernetes.tls import self_signed

    from .objects import TOKEN
    from .support import seeded_kube

    cert, key = self_signed(tmp_path)
    (tmp_path / "token").write_text(TOKEN)
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(cert))
    with seeded_kube(tls=(cert, key)) as fake:
        host, port = fake.url.removeprefix("https://").split(":")
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
        out = io.StringIO()
        code = rt.run_step(set_weights.main, task="t", step="s", params=set_weights.PARAMS, stream=out, environ={},
                           argv=["--namespace", NAMESPACE, "--virtualservice", NAME, "--weights", "stable=75,canary=25",
                                 "--results-dir", str(tmp_path / "results")])
        assert code == 0, out.getvalue()
        assert weights(fake.get("virtualservices", NAMESPACE, NAME)) == {"stable": 75, "canary": 25}
        assert TOKEN not in out.getvalue()


def test_no_credentials_at_all_is_a_clear_bad_input(tmp_path, monkeypatch):
    import io

    from interlock_steps import runtime as rt

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    out = io.StringIO()
    code = rt.run_step(set_weights.main, task="t", step="s", params=set_weights.PARAMS, stream=out, environ={},
                       argv=["--namespace", NAMESPACE, "--virtualservice", NAME, "--weights", "stable=75,canary=25",
                             "--results-dir", str(tmp_path)])
    assert code == 2
    assert "in-cluster ServiceAccount" in out.getvalue() and "bind the kubeconfig workspace" in out.getvalue()


def test_a_kubeconfig_workspace_without_a_kubeconfig(run_step, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "token").write_text("x")
    run = run_step(set_weights, "--kubeconfig-dir", str(empty), weights="stable=90,canary=10")
    assert run.code == 2 and "no file named kubeconfig or config (it holds token)" in run.error
