"""The fake OpenShift API server, exercised with the real ``kubernetes`` client (and kubectl when present)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import ssl
import subprocess
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from tests.fakes.kube_api import (
    FakeOpenShift,
    add_standard_users,
    cluster_role_binding,
    decode_review_protobuf,
    namespace,
    role_binding,
    running_server,
)

DOMAIN = "apps.fake.example"
# kubernetes 37 is partly typed and 35 not at all: treat client objects as Any so both type-check alike.
kube_config: Any = config
Dynamic: Any = DynamicClient
Api = Callable[[str], Any]


def _pod(ns: str, name: str, phase: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
        "status": {"phase": phase},
    }


OBJECTS: list[dict[str, Any]] = [
    namespace("user1-maas"),
    namespace("user2-maas"),
    namespace("user1-canopy"),
    namespace("shared-view"),
    namespace("lab-shared"),
    namespace("ai501"),
    role_binding("user1-maas", "admin", users=["user1"]),
    role_binding("user2-maas", "admin", users=["user2"]),
    role_binding("user1-canopy", "admin", groups=["canopy-owners"]),
    role_binding("shared-view", "view", users=["user1"]),
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "one-secret", "namespace": "lab-shared"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["shared"]}],
    },
    role_binding("lab-shared", "one-secret", role_kind="Role", users=["user1"]),
    cluster_role_binding("grader-view", "view", service_accounts=["ai501:grader"]),
    {"apiVersion": "user.openshift.io/v1", "kind": "Group", "metadata": {"name": "canopy-owners"}, "users": ["user1"]},
    _pod("user1-maas", "litemaas-backend-1", "Running", {"app": "litemaas", "tier": "backend", "rank": "3"}),
    _pod("user1-maas", "litellm-1", "Pending", {"app": "litellm", "tier": "backend", "rank": "7"}),
    _pod("user1-maas", "postgres-0", "Running", {"app": "postgres"}),
    _pod("user1-maas", "frontend-1", "Failed", {"app": "litemaas", "tier": "frontend"}),
    _pod("user1-maas", "job-1", "Succeeded"),
    _pod("user2-maas", "litemaas-backend-1", "Running", {"app": "litemaas"}),
    _pod("shared-view", "viewer-1", "Running"),
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "backend-secret", "namespace": "user1-maas"},
        "stringData": {"JWT_SECRET": "s3cr3t"},
    },
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "viewer-secret", "namespace": "shared-view"},
        "data": {"k": base64.b64encode(b"v").decode()},
    },
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shared", "namespace": "lab-shared"}, "data": {}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other", "namespace": "lab-shared"}, "data": {}},
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "litemaas-backend",
            "namespace": "user1-maas",
            "uid": "11111111-2222-3333-4444-555555555555",
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "litemaas"}},
            "template": {
                "metadata": {"labels": {"app": "litemaas"}},
                "spec": {"containers": [{"name": "backend", "image": "litemaas:0.4.0"}]},
            },
        },
        "status": {"replicas": 1, "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": 1},
    },
    {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": "litemaas", "namespace": "user1-maas"},
        "spec": {"to": {"kind": "Service", "name": "litemaas-frontend"}, "tls": {"termination": "edge"}},
    },
    {
        "apiVersion": "oauth.openshift.io/v1",
        "kind": "OAuthClient",
        "metadata": {"name": "litemaas-user1"},
        "redirectURIs": [f"https://litemaas-user1-maas.{DOMAIN}/api/auth/callback"],
        "grantMethod": "auto",
    },
    {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llama-32", "namespace": "ai501"},
        "spec": {"predictor": {}},
    },
]


# ---- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def srv() -> Iterator[FakeOpenShift]:
    server = FakeOpenShift(domain=DOMAIN)
    add_standard_users(server)
    server.load(OBJECTS)
    with server:
        yield server


@pytest.fixture(autouse=True)
def _clean(srv: FakeOpenShift) -> None:
    srv.clear_faults()
    srv.clear_log()


@pytest.fixture(scope="module")
def api(srv: FakeOpenShift, tmp_path_factory: pytest.TempPathFactory) -> Api:
    """One ApiClient per token (as the grader builds them), with retries off."""
    cache: dict[str, Any] = {}
    base = tmp_path_factory.mktemp("kubeconfigs")

    def get(token: str) -> Any:
        if token not in cache:
            path = srv.write_kubeconfig(base / f"{token}.yaml", token=token)
            cfg = client.Configuration()
            cfg.retries = 0
            cache[token] = kube_config.new_client_from_config(
                config_file=str(path), persist_config=False, client_configuration=cfg
            )
        return cache[token]

    return get


def raw(
    api_client: Any, method: str, path: str, *, query: list[tuple[str, str]] | None = None, body: Any = None
) -> tuple[int, Any]:
    """Status and decoded JSON body of one request, on kubernetes 35/36 and 37 alike."""
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if hasattr(api_client, "param_serialize"):  # kubernetes >= 37
        m, url, hdrs, data, _ = api_client.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        resp = api_client.call_api(m, url, header_params=hdrs, body=data, _request_timeout=5)
        resp.read()
        status, payload = resp.status, resp.data
    else:  # kubernetes 35/36
        try:
            resp = api_client.call_api(
                path,
                method,
                query_params=query or [],
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=5,
            )
            status, payload = resp.status, resp.data
        except ApiException as exc:
            status, payload = exc.status, exc.body
    return status, json.loads(payload)


def plain(
    srv: FakeOpenShift,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: bytes = b"",
    content_type: str = "application/json",
) -> tuple[int, bytes]:
    """A request with the standard library, for anonymous calls and protobuf bodies."""
    host, port = srv.url.removeprefix("https://").split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=str(srv.ca_path)), timeout=5)
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _core(api_client: Any) -> Any:
    return client.CoreV1Api(api_client)


def _custom(api_client: Any) -> Any:
    return client.CustomObjectsApi(api_client)


def names(listing: dict[str, Any]) -> list[str]:
    return [item["metadata"]["name"] for item in listing["items"]]


# ---- discovery -----------------------------------------------------------------------------------


def test_discovery_documents(api: Api) -> None:
    a = api("tok-user1")
    assert raw(a, "GET", "/version")[1]["gitVersion"].startswith("v1.")
    status, groups = raw(a, "GET", "/apis")
    assert status == 200 and groups["kind"] == "APIGroupList"
    by_name = {g["name"]: g for g in groups["groups"]}
    for group in (
        "route.openshift.io",
        "project.openshift.io",
        "serving.kserve.io",
        "argoproj.io",
        "bitnami.com",
        "llamastack.io",
        "config.openshift.io",
        "authorization.k8s.io",
    ):
        assert group in by_name
    assert by_name["serving.kserve.io"]["preferredVersion"] == {
        "groupVersion": "serving.kserve.io/v1beta1",
        "version": "v1beta1",
    }
    routes = {r["name"]: r for r in raw(a, "GET", "/apis/route.openshift.io/v1")[1]["resources"]}
    assert routes["routes"]["kind"] == "Route" and routes["routes"]["namespaced"] is True
    assert "list" in routes["routes"]["verbs"] and routes["routes"]["singularName"] == "route"
    core = {r["name"]: r for r in raw(a, "GET", "/api/v1")[1]["resources"]}
    assert core["namespaces"]["namespaced"] is False and core["pods/log"]["verbs"] == ["get"]
    assert raw(a, "GET", "/api")[1]["versions"] == ["v1"]
    assert raw(a, "GET", "/apis/no.such.group")[0] == 404


def test_dynamic_client_discovery_budget(srv: FakeOpenShift, api: Api, tmp_path: Path) -> None:
    dyn = Dynamic(api("tok-user1"), cache_file=str(tmp_path / "discovery.json"))
    assert sorted(r.path for r in srv.request_log) == ["/apis", "/version"]
    routes = dyn.resources.get(api_version="route.openshift.io/v1", kind="Route")
    pods = dyn.resources.get(prefix="api", api_version="v1", kind="Pod")
    assert len(srv.request_log) == 4
    listing = routes.get(namespace="user1-maas")
    assert [r.metadata.name for r in listing.items] == ["litemaas"]
    assert pods.get(namespace="user1-maas", name="postgres-0").status.phase == "Running"
    # A warm cache file costs no discovery requests at all.
    srv.clear_log()
    Dynamic(api("tok-user1"), cache_file=str(tmp_path / "discovery.json"))
    assert srv.request_log == []


# ---- reads ---------------------------------------------------------------------------------------


def test_get_and_list_shapes(api: Api) -> None:
    a = api("tok-user1")
    status, dep = raw(a, "GET", "/apis/apps/v1/namespaces/user1-maas/deployments/litemaas-backend")
    assert status == 200 and dep["kind"] == "Deployment" and dep["apiVersion"] == "apps/v1"
    assert dep["metadata"]["uid"] == "11111111-2222-3333-4444-555555555555"  # fixture values are kept
    assert dep["metadata"]["resourceVersion"] and dep["metadata"]["creationTimestamp"]
    # The real server omits zero-valued status integers.
    assert dep["status"] == {"replicas": 1, "unavailableReplicas": 1}
    status, pods = raw(a, "GET", "/api/v1/namespaces/user1-maas/pods")
    assert pods["kind"] == "PodList" and pods["apiVersion"] == "v1" and pods["metadata"]["resourceVersion"]
    assert all("kind" not in p and "apiVersion" not in p for p in pods["items"])
    assert all(p["metadata"]["uid"] for p in pods["items"])
    status, secret = raw(a, "GET", "/api/v1/namespaces/user1-maas/secrets/backend-secret")
    assert "stringData" not in secret and base64.b64decode(secret["data"]["JWT_SECRET"]) == b"s3cr3t"


def test_typed_and_custom_objects_clients(api: Api) -> None:
    a = api("tok-user1")
    pods = _core(a).list_namespaced_pod("user1-maas", label_selector="app=litemaas")
    assert sorted(p.metadata.name for p in pods.items) == ["frontend-1", "litemaas-backend-1"]
    route = _custom(a).get_namespaced_custom_object("route.openshift.io", "v1", "user1-maas", "routes", "litemaas")
    # Routes are admitted by the default router: host defaulted, status.ingress filled in.
    assert route["spec"]["host"] == f"litemaas-user1-maas.{DOMAIN}"
    ingress = route["status"]["ingress"][0]
    assert ingress["routerCanonicalHostname"] == f"router-default.{DOMAIN}"
    assert ingress["conditions"][0] == {
        "type": "Admitted",
        "status": "True",
        "lastTransitionTime": route["metadata"]["creationTimestamp"],
    }


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=litemaas", ["frontend-1", "litemaas-backend-1"]),
        ("app==litemaas,tier=backend", ["litemaas-backend-1"]),
        ("tier!=backend", ["frontend-1", "job-1", "postgres-0"]),
        ("app in (litellm, postgres)", ["litellm-1", "postgres-0"]),
        ("app notin (litemaas),tier", ["litellm-1"]),
        ("tier", ["frontend-1", "litellm-1", "litemaas-backend-1"]),
        ("!tier", ["job-1", "postgres-0"]),
        ("rank>5", ["litellm-1"]),
    ],
)
def test_label_selectors(api: Api, selector: str, expected: list[str]) -> None:
    status, pods = raw(api("tok-user1"), "GET", "/api/v1/namespaces/user1-maas/pods", query=[("labelSelector", selector)])
    assert status == 200 and sorted(names(pods)) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("status.phase=Running", ["litemaas-backend-1", "postgres-0"]),
        ("status.phase!=Running,metadata.name!=job-1", ["frontend-1", "litellm-1"]),
        ("metadata.name==postgres-0", ["postgres-0"]),
        ("metadata.namespace=user1-maas,status.phase=Pending", ["litellm-1"]),
    ],
)
def test_field_selectors(api: Api, selector: str, expected: list[str]) -> None:
    status, pods = raw(api("tok-user1"), "GET", "/api/v1/namespaces/user1-maas/pods", query=[("fieldSelector", selector)])
    assert status == 200 and sorted(names(pods)) == expected


def test_bad_selectors_are_400(api: Api) -> None:
    a = api("tok-user1")
    status, body = raw(a, "GET", "/api/v1/namespaces/user1-maas/pods", query=[("fieldSelector", "spec.foo=bar")])
    assert (status, body["reason"], body["message"]) == (400, "BadRequest", "field label not supported: spec.foo")
    # status.phase is a Pod field, not a Deployment one.
    status, body = raw(
        a, "GET", "/apis/apps/v1/namespaces/user1-maas/deployments", query=[("fieldSelector", "status.phase=Running")]
    )
    assert status == 400 and "field label not supported" in body["message"]
    assert raw(a, "GET", "/api/v1/namespaces/user1-maas/pods", query=[("labelSelector", "a in (b")])[0] == 400


def test_paging_with_continue(api: Api) -> None:
    a = api("tok-user1")
    _, page = raw(a, "GET", "/api/v1/namespaces/user1-maas/pods", query=[("limit", "2")])
    assert len(page["items"]) == 2 and page["metadata"]["remainingItemCount"] == 3
    seen = names(page)
    while token := page["metadata"].get("continue"):
        _, page = raw(a, "GET", "/api/v1/namespaces/user1-maas/pods", query=[("limit", "2"), ("continue", token)])
        seen += names(page)
    assert seen == ["frontend-1", "job-1", "litellm-1", "litemaas-backend-1", "postgres-0"]
    assert "remainingItemCount" not in page["metadata"]
    # The typed client pages the same way.
    core = _core(a)
    first = core.list_namespaced_pod("user1-maas", limit=4)
    rest = core.list_namespaced_pod("user1-maas", limit=4, _continue=first.metadata._continue)
    assert len(first.items) + len(rest.items) == 5
    assert raw(a, "GET", "/api/v1/namespaces/user1-maas/pods", query=[("continue", "!!!")])[0] == 400


def test_cluster_wide_paging_matches_one_list(api: Api) -> None:
    grader = api("tok-grader")
    whole = names(raw(grader, "GET", "/api/v1/pods")[1])
    paged: list[str] = []
    query = [("limit", "1")]
    while True:
        _, page = raw(grader, "GET", "/api/v1/pods", query=query)
        paged += names(page)
        if not page["metadata"].get("continue"):
            break
        query = [("limit", "1"), ("continue", page["metadata"]["continue"])]
    assert paged == whole and len(whole) == 7


def test_cluster_wide_list_and_cluster_scoped_objects(api: Api) -> None:
    grader = api("tok-grader")  # cluster-wide view through a ClusterRoleBinding
    status, pods = raw(grader, "GET", "/api/v1/pods", query=[("labelSelector", "app=litemaas")])
    assert status == 200
    assert sorted((p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods["items"]) == [
        ("user1-maas", "frontend-1"),
        ("user1-maas", "litemaas-backend-1"),
        ("user2-maas", "litemaas-backend-1"),
    ]
    admin = api("tok-admin")
    status, ingress = raw(admin, "GET", "/apis/config.openshift.io/v1/ingresses/cluster")
    assert ingress["spec"]["domain"] == DOMAIN
    status, oauth = raw(admin, "GET", "/apis/oauth.openshift.io/v1/oauthclients/litemaas-user1")
    assert status == 200 and oauth["grantMethod"] == "auto"
    status, body = raw(admin, "GET", "/apis/route.openshift.io/v1/namespaces/user1-maas/routes/nope")
    assert (status, body["message"]) == (404, 'routes.route.openshift.io "nope" not found')
    assert body["details"] == {"name": "nope", "group": "route.openshift.io", "kind": "routes"}


def test_pod_log(srv: FakeOpenShift, api: Api) -> None:
    srv.set_pod_log("user1-maas", "litellm-1", "starting\nready\n")
    log = _core(api("tok-user1")).read_namespaced_pod_log("litellm-1", "user1-maas", tail_lines=1)
    assert log == "ready\n"


# ---- auth and RBAC -------------------------------------------------------------------------------


def test_unknown_token_is_401(api: Api) -> None:
    with pytest.raises(ApiException) as err:
        _core(api("tok-nobody")).list_namespaced_pod("user1-maas")
    assert err.value.status == 401 and json.loads(err.value.body or "{}")["message"] == "Unauthorized"


def test_anonymous(srv: FakeOpenShift) -> None:
    assert plain(srv, "GET", "/version")[0] == 200
    status, body = plain(srv, "GET", "/api")
    assert status == 403 and json.loads(body)["message"] == 'forbidden: User "system:anonymous" cannot get path "/api"'
    status, body = plain(srv, "GET", "/.well-known/oauth-authorization-server")
    assert status == 200 and json.loads(body)["issuer"] == f"https://oauth-openshift.{DOMAIN}"
    assert plain(srv, "GET", "/api/v1/namespaces/user1-maas/pods")[0] == 403
    assert srv.request_log[0].user == "system:anonymous"


def test_forbidden_messages(api: Api) -> None:
    a = api("tok-user1")
    status, body = raw(a, "GET", "/api/v1/namespaces/user2-maas/pods")
    assert status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'pods is forbidden: User "user1" cannot list resource "pods" in API group "" in the namespace "user2-maas"'
    )
    status, body = raw(a, "GET", "/apis/route.openshift.io/v1/namespaces/user2-maas/routes/litemaas")
    assert body["message"] == (
        'routes.route.openshift.io "litemaas" is forbidden: User "user1" cannot get '
        'resource "routes" in API group "route.openshift.io" in the namespace "user2-maas"'
    )
    status, body = raw(a, "GET", "/api/v1/namespaces")
    assert body["message"] == (
        'namespaces is forbidden: User "user1" cannot list resource "namespaces" in API group "" at the cluster scope'
    )


def test_view_cannot_read_secrets(api: Api) -> None:
    a = api("tok-user1")
    assert raw(a, "GET", "/api/v1/namespaces/shared-view/pods")[0] == 200
    status, body = raw(a, "GET", "/api/v1/namespaces/shared-view/secrets")
    assert status == 403 and 'cannot list resource "secrets"' in body["message"]
    grader = api("tok-grader")
    assert raw(grader, "GET", "/api/v1/secrets")[0] == 403
    assert raw(grader, "GET", "/apis/serving.kserve.io/v1beta1/namespaces/ai501/inferenceservices")[0] == 200


def test_group_bindings_and_resource_names(api: Api) -> None:
    a = api("tok-user1")
    assert raw(a, "GET", "/api/v1/namespaces/user1-canopy/pods")[0] == 200  # via Group canopy-owners
    assert raw(a, "GET", "/api/v1/namespaces/lab-shared/secrets/shared")[0] == 200
    assert raw(a, "GET", "/api/v1/namespaces/lab-shared/secrets/other")[0] == 403
    assert raw(a, "GET", "/api/v1/namespaces/lab-shared/secrets")[0] == 403


def test_missing_namespace_is_403_for_users_and_empty_for_admin(api: Api) -> None:
    status, body = raw(api("tok-user1"), "GET", "/api/v1/namespaces/user1-nope/pods")
    assert status == 403
    assert body["message"].endswith('cannot list resource "pods" in API group "" in the namespace "user1-nope"')
    admin = api("tok-admin")
    status, pods = raw(admin, "GET", "/api/v1/namespaces/user1-nope/pods")
    assert (status, pods["items"]) == (200, [])
    status, body = raw(admin, "GET", "/api/v1/namespaces/user1-nope/pods/x")
    assert (status, body["message"]) == (404, 'pods "x" not found')
    assert raw(admin, "GET", "/api/v1/namespaces/user1-nope")[0] == 404


def test_users_tilde(api: Api) -> None:
    status, me = raw(api("tok-user1"), "GET", "/apis/user.openshift.io/v1/users/~")
    assert status == 200 and me["kind"] == "User" and me["metadata"]["name"] == "user1"
    assert me["groups"] == ["litemaas-admins"] and me["identities"] == ["Students:user1"]
    status, sa = raw(api("tok-grader"), "GET", "/apis/user.openshift.io/v1/users/~")
    assert sa["metadata"]["name"] == "system:serviceaccount:ai501:grader" and sa["identities"] is None
    assert "system:serviceaccounts:ai501" in sa["groups"]
    # Reading another user needs more than basic-user.
    assert raw(api("tok-user1"), "GET", "/apis/user.openshift.io/v1/users/user2")[0] == 403


def test_projects_are_filtered(api: Api) -> None:
    _, projects = raw(api("tok-user1"), "GET", "/apis/project.openshift.io/v1/projects")
    assert projects["kind"] == "ProjectList"
    assert names(projects) == ["lab-shared", "shared-view", "user1-canopy", "user1-maas"]
    assert raw(api("tok-user1"), "GET", "/apis/project.openshift.io/v1/projects/user1-maas")[1]["kind"] == "Project"
    assert raw(api("tok-user1"), "GET", "/apis/project.openshift.io/v1/projects/user2-maas")[0] == 403
    assert names(raw(api("tok-user2"), "GET", "/apis/project.openshift.io/v1/projects")[1]) == ["user2-maas"]
    assert len(raw(api("tok-admin"), "GET", "/apis/project.openshift.io/v1/projects")[1]["items"]) == 6


def test_access_reviews(api: Api) -> None:
    authz: Any = client.AuthorizationV1Api(api("tok-user1"))

    def can(verb: str, resource: str, ns: str, group: str = "") -> bool:
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(namespace=ns, verb=verb, group=group, resource=resource)
            )
        )
        return bool(authz.create_self_subject_access_review(review).status.allowed)

    assert can("list", "routes", "user1-maas", "route.openshift.io")
    assert not can("list", "routes", "user2-maas", "route.openshift.io")
    assert not can("list", "secrets", "shared-view")
    status, body = raw(
        api("tok-user1"),
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        body={
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": "user1-maas", "verb": "get", "resource": "pods"}},
        },
    )
    assert status == 201
    assert body["status"]["reason"] == 'RBAC: allowed by RoleBinding "admin/user1-maas" of ClusterRole "admin" to User "user1"'
    status, rules = raw(
        api("tok-user1"),
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        body={"spec": {"namespace": "lab-shared"}},
    )
    assert {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["shared"]} in rules["status"][
        "resourceRules"
    ]
    sar = {
        "spec": {
            "user": "user2",
            "groups": ["system:authenticated"],
            "resourceAttributes": {"namespace": "user2-maas", "verb": "list", "resource": "secrets"},
        }
    }
    assert (
        raw(api("tok-admin"), "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=sar)[1]["status"]["allowed"]
        is True
    )
    assert raw(api("tok-user1"), "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=sar)[0] == 403
    status, who = raw(api("tok-user1"), "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body={})
    assert who["status"]["userInfo"]["username"] == "user1"
    assert {"canopy-owners", "system:authenticated:oauth"} <= set(who["status"]["userInfo"]["groups"])


def _ld(num: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (payloads here are shorter than 128 bytes)."""
    return bytes([num << 3 | 2, len(payload)]) + payload


def test_protobuf_review_bodies(srv: FakeOpenShift) -> None:
    attrs = _ld(1, b"user1-maas") + _ld(2, b"list") + _ld(3, b"") + _ld(5, b"secrets")
    type_meta = _ld(1, b"authorization.k8s.io/v1") + _ld(2, b"SelfSubjectAccessReview")
    body = b"k8s\x00" + _ld(1, type_meta) + _ld(2, _ld(2, _ld(1, attrs)))
    assert decode_review_protobuf(body)["spec"] == {
        "resourceAttributes": {"namespace": "user1-maas", "verb": "list", "resource": "secrets"}
    }
    status, reply = plain(
        srv,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        token="tok-user1",
        body=body,
        content_type="application/vnd.kubernetes.protobuf",
    )
    assert status == 201 and json.loads(reply)["status"]["allowed"] is True


# ---- read-only, faults, log ----------------------------------------------------------------------


def test_writes_are_refused(api: Api) -> None:
    core = _core(api("tok-admin"))
    attempts: list[Callable[[], object]] = [
        lambda: core.create_namespaced_config_map("user1-maas", {"metadata": {"name": "x"}}),
        lambda: core.delete_namespaced_pod("postgres-0", "user1-maas"),
        lambda: core.patch_namespaced_pod("postgres-0", "user1-maas", {"metadata": {"labels": {"a": "b"}}}),
        lambda: core.replace_namespace("user1-maas", {"metadata": {"name": "user1-maas"}}),
        lambda: _custom(api("tok-user1")).create_cluster_custom_object(
            "project.openshift.io", "v1", "projectrequests", {"metadata": {"name": "user1-new"}}
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ApiException) as err:
            attempt()
        assert err.value.status == 405 and json.loads(err.value.body or "{}")["reason"] == "MethodNotAllowed"
    assert raw(api("tok-admin"), "GET", "/api/v1/pods", query=[("watch", "true")])[0] == 405


def test_fault_injection_status(srv: FakeOpenShift, api: Api) -> None:
    srv.inject(r"/routes$", status=503)
    srv.inject(r"/configmaps", status=500, times=1)
    a = api("tok-user1")
    status, body = raw(a, "GET", "/apis/route.openshift.io/v1/namespaces/user1-maas/routes")
    assert (status, body["reason"]) == (503, "ServiceUnavailable")
    assert raw(a, "GET", "/api/v1/namespaces/user1-maas/configmaps")[0] == 500
    assert raw(a, "GET", "/api/v1/namespaces/user1-maas/configmaps")[0] == 200
    srv.clear_faults()
    assert raw(a, "GET", "/apis/route.openshift.io/v1/namespaces/user1-maas/routes")[0] == 200


def test_fault_injection_delay_hits_client_timeout(srv: FakeOpenShift, api: Api) -> None:
    srv.inject(r"/pods$", delay=3.0, method="GET")
    # Network errors surface from urllib3, not as ApiException: the grader must catch both.
    with pytest.raises(urllib3.exceptions.HTTPError):
        _core(api("tok-user1")).list_namespaced_pod("user1-maas", _request_timeout=(2, 0.2))


def test_request_log(srv: FakeOpenShift, api: Api) -> None:
    a = api("tok-user1")
    raw(a, "GET", "/api/v1/namespaces/user1-maas/pods", query=[("labelSelector", "app=litemaas"), ("limit", "10")])
    raw(api("tok-nobody"), "GET", "/version")
    first, second = srv.request_log
    assert (first.method, first.path, first.user, first.status) == (
        "GET",
        "/api/v1/namespaces/user1-maas/pods",
        "user1",
        200,
    )
    assert first.query == {"labelSelector": ["app=litemaas"], "limit": ["10"]}
    assert (second.user, second.status) == (None, 401)
    assert len(srv.calls(r"/pods$", method="GET")) == 1
    srv.clear_log()
    assert srv.request_log == []


# ---- loading, kubeconfig, lifecycle --------------------------------------------------------------


def test_load_validates_fixtures() -> None:
    fake = FakeOpenShift()
    with pytest.raises(ValueError, match="unknown kind"):
        fake.load([{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"}}])
    with pytest.raises(ValueError, match=r"policy/v1beta1"):
        fake.load(
            [
                {
                    "apiVersion": "policy/v1beta1",
                    "kind": "PodDisruptionBudget",
                    "metadata": {"name": "p", "namespace": "n"},
                }
            ]
        )
    with pytest.raises(ValueError, match=r"needs metadata\.namespace"):
        fake.load([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}])
    with pytest.raises(ValueError, match="duplicate"):
        fake.load([namespace("a"), namespace("a")])


def test_crd_fixture_registers_kind_and_load_replaces(tmp_path: Path) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "n1"}}
    with FakeOpenShift() as fake:
        fake.add_user("root", token="tok-root", groups=["system:cluster-admins"])
        fake.load([{"kind": "List", "apiVersion": "v1", "items": [namespace("n1"), crd, widget]}])
        kubeconfig = fake.write_kubeconfig(tmp_path / "kc", token="tok-root", context="root", namespace="n1")
        api_client = kube_config.new_client_from_config(config_file=str(kubeconfig), persist_config=False)
        listing = _custom(api_client).list_namespaced_custom_object("example.com", "v1", "n1", "widgets")
        assert names(listing) == ["w1"]
        fake.load([namespace("n1")])
        with pytest.raises(ApiException) as err:
            _custom(api_client).list_namespaced_custom_object("example.com", "v1", "n1", "widgets")
        assert err.value.status == 404
        # Users survive a load; the User object is re-created for them.
        me = raw(api_client, "GET", "/apis/user.openshift.io/v1/users/~")[1]
        assert me["metadata"]["name"] == "root"


def test_insecure_kubeconfig(srv: FakeOpenShift, tmp_path: Path) -> None:
    path = srv.write_kubeconfig(tmp_path / "insecure.yaml", token="tok-user2", insecure=True, namespace="user2-maas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        api_client = kube_config.new_client_from_config(config_file=str(path), persist_config=False)
        pods = _core(api_client).list_namespaced_pod("user2-maas")
    assert [p.metadata.name for p in pods.items] == ["litemaas-backend-1"]


def test_running_server_helper_and_reset() -> None:
    gen = running_server([namespace("n1")])
    fake = next(gen)
    try:
        fake.inject("/healthz", status=500)
        fake.reset([namespace("n2")])
        assert plain(fake, "GET", "/healthz") == (200, b"ok")  # reset cleared the fault
        _, body = plain(fake, "GET", "/api/v1/namespaces", token="tok-admin")
        assert [n["metadata"]["name"] for n in json.loads(body)["items"]] == ["n2"]
        assert [r.path for r in fake.request_log] == ["/healthz", "/api/v1/namespaces"]
    finally:
        gen.close()


def test_concurrent_requests_share_one_client(srv: FakeOpenShift, api: Api) -> None:
    a = api("tok-user1")

    def fetch(i: int) -> int:
        return raw(a, "GET", "/api/v1/namespaces/user1-maas/pods", query=[("limit", str(1 + i % 5))])[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(fetch, range(120)))
    assert statuses == [200] * 120 and len(srv.request_log) == 120


def test_stop_closes_the_port() -> None:
    fake = FakeOpenShift()
    with fake:
        assert plain(fake, "GET", "/healthz") == (200, b"ok")
    with pytest.raises(OSError):
        plain(fake, "GET", "/healthz")


# ---- kubectl -------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_smoke(srv: FakeOpenShift, tmp_path: Path) -> None:
    kubeconfig = srv.write_kubeconfig(tmp_path / "kc", token="tok-user1", namespace="user1-maas")

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"), *args]
        env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")}
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)

    got = kubectl("get", "pods", "-l", "app=litemaas", "-o", "name")
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["pod/frontend-1", "pod/litemaas-backend-1"]
    assert kubectl("get", "routes.route.openshift.io", "-o", "name").stdout.strip() == "route.route.openshift.io/litemaas"
    denied = kubectl("get", "pods", "-n", "user2-maas")
    assert denied.returncode != 0 and "is forbidden" in denied.stderr
    assert kubectl("auth", "can-i", "list", "secrets").stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "list", "secrets", "-n", "shared-view").stdout.strip() == "no"
    whoami = kubectl("auth", "whoami", "-o", "json")
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == "user1"
