"""Lesson 2 — Deploy LiteMaaS: the Helm release, its Secrets, workloads, Routes, health, OAuth and the first login."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlparse

from maas_lab.engine.model import StudentWorkMissing, Verdict, failed, passed
from maas_lab.engine.registry import check
from maas_lab.evidence.sensitive import PUBLIC_DEFAULTS, Sensitive
from maas_lab.evidence.services import CredentialRejected
from maas_lab.lessons.common import rollout

if TYPE_CHECKING:
    from maas_lab.evidence.install import Install
    from maas_lab.evidence.snapshot import Snapshot

ADMIN_KEY_PREFIX = "ltm_admin_"


def _install(snap: Snapshot) -> Install:
    install = snap.install
    if install is None:
        raise StudentWorkMissing(
            f"no LiteMaaS install (Helm release or Kustomize) found in {snap.ns('maas')}",
            hint="Install the chart: helm install litemaas deployment/helm/litemaas -n <USER_NAME>-maas -f my-values.yaml …",
        )
    return install


def namespace(snap: Snapshot) -> Verdict:
    """Project {user}-maas exists.

    Everything LiteMaaS needs lives in this one project, so that it can be graded and deleted as one unit.
    """
    name = snap.ns("maas")
    if snap.namespace_exists(name):
        return passed(f"project {name} exists", namespace=name)
    return failed(f"project {name} not found", hint=f"Create it: oc new-project {name}", namespace=name)


check(
    "2.namespace",
    lesson_ref="step-1-create-your-project",
    hint="Create it: oc new-project <USER_NAME>-maas",
    evidence="K8s projects",
)(namespace)


def _release_secrets(snap: Snapshot, install: Install) -> tuple[dict[str, dict[str, Sensitive]], list[str]]:
    found: dict[str, dict[str, Sensitive]] = {}
    missing: list[str] = []
    for name in (install.backend_secret, install.litellm_secret, install.postgres_secret):
        values = snap.secret(snap.ns("maas"), name)
        if values is None:
            missing.append(name)
        else:
            found[name] = values
    return found, missing


def no_default_secrets(snap: Snapshot) -> Verdict:
    """No Secret value of the release is still `changeme`.

    The chart's defaults are public; anyone who reads the chart could use them against your LiteMaaS.
    """
    install = _install(snap)
    secrets, missing = _release_secrets(snap, install)
    if missing:
        return failed(f"Secret(s) not found: {', '.join(missing)}", secrets_missing=missing)
    watched = {
        install.postgres_secret: ("password",),
        install.litellm_secret: ("master-key",),
        install.backend_secret: ("jwt-secret", "admin-api-keys", "litellm-api-key"),
    }
    defaults = []
    for secret_name, keys in watched.items():
        for key in keys:
            value = secrets[secret_name].get(key)
            entries = [e.strip() for e in value.reveal().split(",")] if value else []
            if PUBLIC_DEFAULTS.intersection(entries):
                defaults.append(f"{secret_name}/{key}")
    if defaults:
        return failed(f"still `changeme`: {', '.join(defaults)}", keys_with_default=defaults)
    return passed(f"no default values in the {install.label}'s Secrets", checked=sum(len(k) for k in watched.values()))


check(
    "2.no-default-secrets",
    lesson_ref="step-3-replace-every-changeme",
    hint="Replace every `changeme` in my-values.yaml with a strong value, then `helm upgrade` and restart the pods.",
    evidence="K8s Secrets (values compared, never shown)",
    needs=("2.namespace",),
)(no_default_secrets)


def keys_consistent(snap: Snapshot) -> Verdict:
    """The backend's LiteLLM key equals LiteLLM's master key, and the admin API keys start with `ltm_admin_`.

    The backend talks to LiteLLM with its key; any other value makes every model and key operation fail.
    LiteMaaS accepts admin API keys only with the `ltm_admin_` prefix.
    """
    install = _install(snap)
    namespace = snap.ns("maas")
    backend = snap.secret(namespace, install.backend_secret)
    litellm = snap.secret(namespace, install.litellm_secret)
    if backend is None or litellm is None:
        missing = [n for n, v in ((install.backend_secret, backend), (install.litellm_secret, litellm)) if v is None]
        return failed(f"Secret(s) not found: {', '.join(missing)}")
    problems = []
    api_key, master_key = backend.get("litellm-api-key"), litellm.get("master-key")
    if not api_key or not master_key:
        problems.append("litellm-api-key or master-key is empty")
    elif api_key != master_key:
        problems.append(f"{install.backend_secret}/litellm-api-key differs from {install.litellm_secret}/master-key")
    admin_keys = [e.strip() for e in (backend.get("admin-api-keys") or Sensitive("")).reveal().split(",") if e.strip()]
    bad = [i + 1 for i, key in enumerate(admin_keys) if not (key.startswith(ADMIN_KEY_PREFIX) and len(key) > len(ADMIN_KEY_PREFIX))]
    if not admin_keys:
        problems.append("no admin API key is set")
    elif bad:
        problems.append(f"admin API key(s) #{', #'.join(map(str, bad))} do not start with `ltm_admin_`")
    if problems:
        return failed("; ".join(problems), problems=problems)
    return passed(f"LiteLLM key matches the master key; {len(admin_keys)} admin API key(s) well formed")


check(
    "2.keys-consistent",
    lesson_ref="step-3-replace-every-changeme",
    hint=(
        "In my-values.yaml set backend.auth.litellmApiKey equal to litellm.auth.masterKey, and every admin API key "
        "to `ltm_admin_` followed by a random string; `helm upgrade`, then restart the backend and LiteLLM."
    ),
    evidence="K8s Secrets",
    needs=("2.namespace",),
)(keys_consistent)


def _workload_check(snap: Snapshot, kind: str, component: str, what: str) -> Verdict:
    install = _install(snap)
    return rollout(snap, kind, snap.ns("maas"), getattr(install, component), what=what)


def postgres_ready(snap: Snapshot) -> Verdict:
    """PostgreSQL StatefulSet is ready and its volume is Bound.

    LiteMaaS and LiteLLM keep users, keys and spend in PostgreSQL; without a bound volume everything is lost on restart.
    """
    verdict = _workload_check(snap, "StatefulSet", "postgres", "PostgreSQL")
    if not verdict.passed:
        return verdict
    install = snap.require_install()
    namespace = snap.ns("maas")
    sts = snap.find("statefulsets", namespace, install.postgres) or {}
    templates = ((sts.get("spec") or {}).get("volumeClaimTemplates")) or []
    claims = [f"{t['metadata']['name']}-{install.postgres}-0" for t in templates]
    if not claims:
        return failed("PostgreSQL has no persistent volume claim", hint="Reinstall the chart with persistence enabled.")
    unbound = []
    for claim in claims:
        pvc = snap.find("persistentvolumeclaims", namespace, claim)
        phase = ((pvc or {}).get("status") or {}).get("phase")
        if phase != "Bound":
            unbound.append(f"{claim} ({phase or 'missing'})")
    if unbound:
        return failed(f"PostgreSQL volume not Bound: {', '.join(unbound)}", claims=claims)
    return passed(f"PostgreSQL is ready; volume {', '.join(claims)} Bound", claims=claims)


check(
    "2.postgres-ready",
    lesson_ref="step-6-wait-for-the-pods",
    hint=(
        "Wait for the PostgreSQL pod (oc get pods -n <USER_NAME>-maas -w); "
        "if its volume stays Pending, ask your instructor about storage."
    ),
    evidence="K8s StatefulSet + PVC",
    needs=("2.namespace",),
)(postgres_ready)


def litellm_ready(snap: Snapshot) -> Verdict:
    """LiteLLM Deployment is available.

    LiteLLM is the OpenAI-compatible proxy every model call goes through.
    """
    return _workload_check(snap, "Deployment", "litellm", "LiteLLM")


check(
    "2.litellm-ready",
    lesson_ref="step-6-wait-for-the-pods",
    hint="Check the LiteLLM pod: oc logs deployment/litemaas-litellm -n <USER_NAME>-maas (did you set DISABLE_SCHEMA_UPDATE=false?).",
    evidence="K8s Deployment",
    needs=("2.namespace",),
)(litellm_ready)


def backend_ready(snap: Snapshot) -> Verdict:
    """LiteMaaS backend Deployment is available.

    The backend (Fastify) holds users, subscriptions and keys, and drives LiteLLM.
    """
    return _workload_check(snap, "Deployment", "backend", "LiteMaaS backend")


check(
    "2.backend-ready",
    lesson_ref="step-6-wait-for-the-pods",
    hint="Check the backend pod: oc logs deployment/litemaas-backend -n <USER_NAME>-maas",
    evidence="K8s Deployment",
    needs=("2.namespace",),
)(backend_ready)


def frontend_ready(snap: Snapshot) -> Verdict:
    """LiteMaaS frontend Deployment is available.

    The frontend serves the UI and proxies /api to the backend.
    """
    return _workload_check(snap, "Deployment", "frontend", "LiteMaaS frontend")


check(
    "2.frontend-ready",
    lesson_ref="step-6-wait-for-the-pods",
    hint="Check the frontend pod: oc logs deployment/litemaas -n <USER_NAME>-maas",
    evidence="K8s Deployment",
    needs=("2.namespace",),
)(frontend_ready)


def routes(snap: Snapshot) -> Verdict:
    """Both Routes (UI and LiteLLM) are admitted, with TLS edge and the expected hosts.

    Students and applications reach LiteMaaS and LiteLLM only through these Routes.
    """
    install = _install(snap)
    namespace = snap.ns("maas")
    problems: list[str] = []
    hosts: dict[str, str] = {}
    for name in (install.frontend_route, install.litellm_route):
        route = snap.find("routes", namespace, name)
        if route is None:
            problems.append(f"Route {name} not found")
            continue
        spec = route.get("spec") or {}
        ingress = ((route.get("status") or {}).get("ingress") or [{}])[0]
        host = str(spec.get("host") or "")  # OpenShift writes a generated host into spec.host when none is given
        hosts[name] = host
        admitted: dict[str, Any] = next((c for c in ingress.get("conditions") or [] if c.get("type") == "Admitted"), {})
        if admitted.get("status") != "True":
            problems.append(f"Route {name} not admitted ({admitted.get('reason') or 'no router status'})")
        if ((spec.get("tls") or {}).get("termination")) != "edge":
            problems.append(f"Route {name} is not TLS edge")
        expected = f"{name}-{namespace}.{snap.domain_or_none}" if snap.domain_or_none else None
        if expected and host.lower() != expected.lower():
            problems.append(f"Route {name} host is {host}, expected {expected}")
    if problems:
        return failed("; ".join(problems), hosts=hosts)
    return passed(f"Routes admitted with edge TLS: {', '.join(hosts.values())}", hosts=hosts)


check(
    "2.routes",
    lesson_ref="step-4-install-with-helm",
    hint="Install with --set route.enabled=true so the chart creates both Routes (edge TLS, default hosts).",
    evidence="K8s Routes",
    needs=("2.namespace",),
)(routes)


def backend_healthy(snap: Snapshot) -> Verdict:
    """The backend reports itself healthy, with its database and LiteLLM reachable.

    `GET /api/v1/health` through the UI Route: the same path the browser uses.
    """
    answer = snap.litemaas.health()
    body = answer.json_dict()
    checks = body.get("checks") or {}
    evidence: dict[str, Any] = {"status_code": answer.status, "status": body.get("status"), "checks": checks}
    if not body:
        return failed(f"{answer.url} answered {answer.status} without a health report (router or proxy error)", **evidence)
    unhealthy = [name for name in ("database", "litellm") if checks.get(name) != "healthy"]
    if body.get("status") == "healthy" and not unhealthy:
        return passed("backend healthy: database and LiteLLM reachable", **evidence)
    return failed(f"backend reports {body.get('status')!s}; unhealthy: {', '.join(unhealthy) or 'unknown'}", **evidence)


check(
    "2.backend-healthy",
    lesson_ref="step-6-wait-for-the-pods",
    hint=(
        "Open https://litemaas-<USER_NAME>-maas.<CLUSTER_DOMAIN>/api/v1/health; an unhealthy `litellm` usually means "
        "the backend's LiteLLM key differs from the master key, or TLS trust (backend.nodeTlsRejectUnauthorized=\"0\")."
    ),
    evidence="HTTP GET /api/v1/health",
    needs=("2.backend-ready", "2.frontend-ready", "2.litellm-ready", "2.postgres-ready", "2.routes"),
)(backend_healthy)


def litellm_healthy(snap: Snapshot) -> Verdict:
    """LiteLLM is ready and connected to its database.

    Without its database LiteLLM cannot store models, keys or spend.
    """
    answer = snap.litellm.readiness()
    body = answer.json_dict()
    evidence: dict[str, Any] = {"status_code": answer.status, "db": body.get("db"), "litellm_version": body.get("litellm_version")}
    if answer.ok and body.get("db") == "connected":
        return passed(f"LiteLLM {body.get('litellm_version') or ''} ready, database connected".replace("  ", " "), **evidence)
    if not body:
        return failed(f"{answer.url} answered {answer.status} (router or proxy error)", **evidence)
    return failed(f"LiteLLM readiness: database {body.get('db')!s}", **evidence)


check(
    "2.litellm-healthy",
    lesson_ref="step-5-let-litellm-create-its-schema",
    hint=(
        "Run `oc set env deployment/litemaas-litellm DISABLE_SCHEMA_UPDATE=false -n <USER_NAME>-maas` so LiteLLM "
        "creates its database schema, then wait for the new pod."
    ),
    evidence="HTTP GET /health/readiness",
    needs=("2.litellm-ready", "2.routes"),
)(litellm_healthy)


def oauth(snap: Snapshot) -> Verdict:
    """OpenShift OAuth is wired to the UI's callback URL.

    Students log in with their OpenShift account; a wrong redirect URI makes every login fail.
    """
    install = snap.require_install()
    namespace = snap.ns("maas")
    host = snap.route_host(install.frontend_route)
    callback = f"https://{host}/api/auth/callback"
    backend = snap.secret(namespace, install.backend_secret) or {}
    client_id_value = backend.get("oauth-client-id")
    client_id = client_id_value.reveal() if client_id_value else ""
    if client_id.startswith("system:serviceaccount:"):
        account = client_id.rsplit(":", 1)[-1]
        sa = snap.find("serviceaccounts", namespace, account)
        annotations = ((sa or {}).get("metadata") or {}).get("annotations") or {}
        redirects = [v for k, v in annotations.items() if k.startswith("serviceaccounts.openshift.io/oauth-redirecturi")]
        where = f"ServiceAccount {account}"
    elif client_id and install.recipe == "helm":
        expected = f"system:serviceaccount:{namespace}:{install.service_account}"
        return failed(f"the backend Secret's oauth-client-id is {client_id}; the chart's OAuth client is {expected}")
    elif client_id:
        # An object name holds no `/`; asked for, such a name would reach another path of the API (403, not "not found").
        path = f"/apis/oauth.openshift.io/v1/oauthclients/{quote(client_id, safe='')}"
        client = snap.cluster_object(path) if "/" not in client_id else None
        redirects = list((client or {}).get("redirectURIs") or [])
        where = f"OAuthClient {client_id}"
        if client is None:
            return failed(f"OAuthClient {client_id} (named by the backend Secret) not found")
    else:
        return failed(f"the backend Secret {install.backend_secret} has no oauth-client-id")
    if callback not in [r.rstrip("/") for r in redirects]:
        return failed(f"{where} does not allow the redirect {callback}", redirects=redirects)
    answer = snap.litemaas.login()
    auth_url = str(answer.json_dict().get("authUrl") or "")
    query = parse_qs(urlparse(auth_url).query)
    redirect = (query.get("redirect_uri") or [""])[0]
    evidence = {"redirect_uri": redirect, "client_id": (query.get("client_id") or [""])[0], "callback": callback}
    if not answer.ok or not auth_url:
        return failed(f"POST /api/auth/login answered {answer.status} without an authorize URL", **evidence)
    if redirect.rstrip("/") != callback:
        return failed(f"the backend sends redirect_uri={redirect or '(none)'}, expected {callback}", **evidence)
    return passed(f"OAuth wired through {where}; login redirects to {callback}", **evidence)


check(
    "2.oauth",
    lesson_ref="step-4-install-with-helm",
    hint=(
        "The OAuth redirect must be https://<frontend host>/api/auth/callback: install with --set route.enabled=true "
        "and let the chart's post-install job finish (helm upgrade re-runs it)."
    ),
    evidence="K8s ServiceAccount/OAuthClient + HTTP POST /api/auth/login",
    needs=("2.routes", "2.backend-ready"),
)(oauth)


def admin_login(snap: Snapshot) -> Verdict:
    """You have logged in to LiteMaaS and hold the `admin` role.

    Lessons 3–5 need the Administrator menu; your first login creates your LiteMaaS user.
    """
    from maas_lab.evidence.snapshot import StudentNotFound

    try:
        student = snap.student
    except StudentNotFound as exc:
        return failed(f"{exc}: log in to LiteMaaS once with your OpenShift account")
    except CredentialRejected as exc:
        return failed(str(exc), hint=exc.hint)
    evidence = {"litemaas_user_id": student.id, "source": student.source}
    if student.roles is not None:
        roles = sorted(student.roles)
        if "admin" in student.roles:
            return passed(f"LiteMaaS user {student.username} holds admin", roles=roles, **evidence)
        return failed(
            f"LiteMaaS user {student.username} holds {', '.join(roles) or 'no roles'}, not admin",
            hint="The installing user becomes admin through INITIAL_ADMIN_USERS; log out and in again, or ask your instructor.",
            roles=roles,
            **evidence,
        )
    snap.note("LiteMaaS could not be read with the deployment's credentials; the admin role was read from LiteLLM")
    if student.litellm_role == "proxy_admin":
        return passed(f"{student.username} is proxy_admin in LiteLLM (LiteMaaS credentials unusable)", **evidence)
    return failed(f"{student.username} is {student.litellm_role or 'no role'} in LiteLLM, not an admin", **evidence)


check(
    "2.admin-login",
    lesson_ref="step-7-log-in-as-admin",
    hint=(
        "Log in to LiteMaaS once with your OpenShift account (https://litemaas-<USER_NAME>-maas.<CLUSTER_DOMAIN>); "
        "the installing user becomes admin."
    ),
    evidence="LiteMaaS users / LiteLLM /user/list",
    needs=("2.backend-healthy", "2.litellm-healthy"),
)(admin_login)
