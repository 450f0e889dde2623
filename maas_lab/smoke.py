"""`maas-lab smoke`: is this lab environment ready for a class? The `env.*` checks and the run that grades them.

The checks grade the shared lab, not a student: the cluster and its credential, the apps domain and OAuth issuer,
the shared models (Ready, and answering), what a sample student may do (SubjectAccessReviews with that User's
groups), a default StorageClass, and the roster's students. A failure's hint says what an administrator must fix.

Whether a student may create the kinds the lessons create in a project that does not exist yet: OpenShift binds
ClusterRole `admin` to whoever requests a project (the default project template). So where the sample student
already has one of the course's projects, each kind is a SubjectAccessReview in it (their own project, their real
rights); where they have none yet, the rules of ClusterRole `admin` are evaluated for `create` on each kind.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from maas_lab import verbose
from maas_lab.engine.model import Report, Target, Verdict, failed, passed, pending
from maas_lab.engine.registry import check, load_checks
from maas_lab.errors import CollectError, UsageError
from maas_lab.evidence import environment as env
from maas_lab.lessons.common import rollout, shared_models_not_ready

if TYPE_CHECKING:
    import httpx

    from maas_lab.evidence.snapshot import Snapshot
    from maas_lab.settings import Settings

GROUP = "env"  # its title and lesson text: maas_lab.lessons.GROUPS
ROSTER_CHECKS = ("env.roster-users", "env.roster-canopy")


def api_server(snap: Snapshot) -> Verdict:
    """The API server answers and accepts the credential.

    Every other check, and every student, talks to this API server.
    """
    account = snap.account() or {}
    who = str((account.get("metadata") or {}).get("name") or "an unnamed account")
    server = snap.source.server or "?"
    version = env.server_version(snap)
    return passed(f"{server} ({version or 'version unknown'}) accepts the credential of {who}", server=server, version=version, user=who)


check(
    "env.api-server",
    lesson_ref="api-server",
    hint="Check the kubeconfig's server and token (oc whoami --show-server; oc login again if the token expired).",
    evidence="K8s /version, users/~",
)(api_server)


def apps_domain(snap: Snapshot) -> Verdict:
    """The apps domain is discoverable.

    Route hosts and the lessons' <CLUSTER_DOMAIN> are built from it.
    """
    domain, source = env.discovered_domain(snap)
    if domain is None:
        return failed("no apps domain: ingresses/cluster has no spec.domain and the OAuth issuer does not name one")
    given = snap.settings.cluster_domain
    if given and given != domain:
        return failed(
            f"--cluster-domain {given}, but the cluster says {domain} (from {source})",
            hint=f"Check which is right: students' Route hosts will end in {domain}.",
            domain=domain,
            source=source,
        )
    if not domain.startswith("apps."):
        return passed(f"{domain} (from {source}; it does not start with apps., check it)", domain=domain, source=source)
    return passed(f"{domain} (from {source})", domain=domain, source=source)


check(
    "env.apps-domain",
    lesson_ref="apps-domain",
    hint="Make the apps domain discoverable: set spec.domain of ingresses.config.openshift.io/cluster, or give students "
    "MAAS_LAB_CLUSTER_DOMAIN (the lessons' <CLUSTER_DOMAIN>).",
    evidence="K8s ingresses.config.openshift.io/cluster, /.well-known/oauth-authorization-server",
    needs=("env.api-server",),
)(apps_domain)


def oauth_issuer(snap: Snapshot) -> Verdict:
    """The OAuth issuer is discoverable and matches the apps domain.

    Lesson 2 sets LiteMaaS's oauth-issuer to https://oauth-openshift.<CLUSTER_DOMAIN>.
    """
    issuer = env.oauth_issuer(snap)
    if issuer is None:
        return failed(f"{env.OAUTH_DISCOVERY} names no issuer")
    expected_domain, source = env.discovered_domain(snap)
    from_issuer = env.domain_of_issuer(issuer)
    if expected_domain and from_issuer != expected_domain:  # a domain found through the issuer always matches it
        return failed(
            f"the issuer {issuer} is not https://oauth-openshift.{expected_domain} (apps domain from {source})",
            hint=f"The lessons tell students to use https://oauth-openshift.{expected_domain}: tell them the real issuer, "
            "or fix the OAuth route's host.",
            issuer=issuer,
        )
    return passed(f"issuer {issuer}", issuer=issuer)


check(
    "env.oauth-issuer",
    lesson_ref="oauth-issuer",
    hint="The OAuth server's discovery document must be public (ClusterRole system:public-info-viewer); "
    "LiteMaaS's login and the students' domain discovery read it.",
    evidence="K8s /.well-known/oauth-authorization-server",
    needs=("env.api-server",),
)(oauth_issuer)


def models_ready(snap: Snapshot) -> Verdict:
    """The profile's shared models are Ready.

    LiteMaaS only fronts models: the lab serves each once, in the shared namespace.
    """
    namespace = snap.profile.namespaces.shared
    problems = shared_models_not_ready(snap)
    names = [m.isvc for m in snap.profile.shared_models]
    if problems:
        return failed(
            f"in {namespace}: {'; '.join(problems)}",
            hint=f"Fix the shared InferenceServices: oc get inferenceservice -n {namespace}; oc describe inferenceservice NAME.",
            models=names,
        )
    return passed(f"{len(names)} shared models Ready in {namespace}: {', '.join(names)}", models=names)


check(
    "env.models-ready",
    lesson_ref="shared-models",
    hint="Fix the shared InferenceServices (oc get inferenceservice -n {shared_namespace}; oc describe inferenceservice NAME).",
    evidence="K8s InferenceServices (serving.kserve.io/v1beta1) in the shared namespace",
    needs=("env.api-server",),
)(models_ready)


def models_answer(snap: Snapshot) -> Verdict:
    """The shared models answer /v1/models with their served names.

    Ready only says the pods run; LiteMaaS needs the model to answer under the name the lessons use.
    """
    answered, unprobed, problems = [], [], []
    for model in snap.profile.shared_models:
        url, source = env.model_url(snap, model)
        if url is None:
            unprobed.append(model.isvc)
            continue
        served, reason = env.served_models(snap, url)
        if served is None:
            problems.append(f"{model.isvc} at {verbose.without_userinfo(url)}/models: {reason}")  # a password in a URL stays out
        elif model.served_name not in served:
            problems.append(f"{model.isvc} serves {', '.join(served) or 'nothing'}, not {model.served_name}")
        else:
            answered.append(f"{model.isvc} ({source})")
    evidence = {"answered": answered, "not_probed": unprobed}
    if problems:
        namespace = snap.profile.namespaces.shared
        return failed(
            "; ".join(problems),
            hint=f"A Ready model that does not answer: look at its predictor pods (oc logs -n {namespace} -l "
            "serving.kserve.io/inferenceservice=NAME) and its Service; a wrong --model-url is yours to fix.",
            **evidence,
        )
    if unprobed:
        snap.note(
            f"shared models checked as objects only (not in a pod, no --model-url): {', '.join(unprobed)}; "
            "run smoke in the cluster, or pass --model-url NAME=URL (e.g. through oc port-forward), to probe them"
        )
    said = f"answer /v1/models: {', '.join(answered)}" if answered else "none probed"
    rest = f"; Ready as objects only, not probed from here: {', '.join(unprobed)}" if unprobed else ""
    return passed(said + rest, **evidence)


check(
    "env.models-answer",
    lesson_ref="shared-models",
    hint="A Ready model that does not answer: look at its predictor pods and its Service in the shared namespace.",
    evidence="HTTP GET <model>/v1/models (in-cluster Service URL, or --model-url NAME=URL)",
    needs=("env.models-ready",),
)(models_answer)


def sample_student(snap: Snapshot) -> Verdict:
    """A student User exists to review permissions for.

    The permission checks ask the API server what this User may do, with their groups.
    """
    student = env.sample_student(snap)
    named = snap.settings.sample_user or snap.settings.user
    if student is None:
        if named:
            return failed(f"User {named} does not exist")
        return failed("no User that is not an administrator exists yet")
    groups = [g for g in student.groups if g not in env.AUTHENTICATED_GROUPS]
    return passed(
        f"{student.name} ({student.chosen}; groups: {', '.join(groups) or 'none'})", user=student.name, groups=groups
    )


check(
    "env.sample-student",
    lesson_ref="student-permissions",
    hint="Name a student with --sample-user NAME, or let one log in once (OpenShift creates a User at the first login).",
    evidence="K8s users, groups (user.openshift.io)",
    needs=("env.api-server",),
)(sample_student)


def _student(snap: Snapshot) -> env.Student:
    student = env.sample_student(snap)
    if student is None:  # not reached: these checks need env.sample-student
        raise CollectError("no sample student")
    return student


def student_projects(snap: Snapshot) -> Verdict:
    """The sample student may create projects (or has theirs already).

    Lesson 2 starts with `oc new-project <USER_NAME>-maas`.
    """
    student = _student(snap)
    project = snap.profile.namespace("maas", student.name)
    if env.namespace_exists(snap, project):
        return passed(f"{project} exists already (pre-created)", namespace=project)
    if env.allowed(snap, student, "create", "project.openshift.io", "projectrequests"):
        return passed(f"{student.name} may create projects such as {project}", namespace=project)
    return failed(f"{student.name} may not create projects, and {project} does not exist", namespace=project)


check(
    "env.student-projects",
    lesson_ref="student-permissions",
    hint="Let students create projects: oc adm policy add-cluster-role-to-group self-provisioner system:authenticated:oauth "
    "(or pre-create each student's projects with ClusterRole admin bound to them).",
    evidence="K8s SubjectAccessReview: create projectrequests (project.openshift.io) as the sample student",
    needs=("env.sample-student",),
)(student_projects)


def student_workloads(snap: Snapshot) -> Verdict:
    """In their project, the sample student may create every kind the lessons create.

    Deployments, StatefulSets, Services, Routes, Secrets, ConfigMaps, PVCs and ServiceAccounts.
    """
    student = _student(snap)
    projects = [snap.profile.namespace(role, student.name) for role in ("maas", "canopy", "test", "toolings")]
    existing = [ns for ns in projects if env.namespace_exists(snap, ns)]
    kinds = [f"{resource}.{group}" if group else resource for group, resource in env.STUDENT_KINDS]
    if existing:
        where = existing[0]
        denied = [
            kind
            for kind, (group, resource) in zip(kinds, env.STUDENT_KINDS, strict=True)
            if not env.allowed(snap, student, "create", group, resource, where)
        ]
        how = f"SubjectAccessReviews in {where}"
    else:
        role = env.cluster_object(snap, "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin")
        if role is None:
            return failed("ClusterRole admin does not exist: a new project's requester would get no rights in it")
        rules = list(role.get("rules") or [])
        denied = [
            kind
            for kind, (group, resource) in zip(kinds, env.STUDENT_KINDS, strict=True)
            if not env.rules_allow(rules, "create", group, resource)
        ]
        where = snap.profile.namespace("maas", student.name)
        how = f"ClusterRole admin, which {student.name} would hold in a new {where}"
    if denied:
        return failed(f"{student.name} may not create {', '.join(denied)} ({how})", namespace=where, how=how, denied=denied)
    return passed(f"{student.name} may create all {len(kinds)} kinds ({how})", namespace=where, how=how, denied=denied)


check(
    "env.student-workloads",
    lesson_ref="student-permissions",
    hint="Students must hold ClusterRole admin in their projects (OpenShift's default project template binds it to the "
    "requester); restore the admin role's rules or the project template.",
    evidence="K8s SubjectAccessReviews in the student's project, or the rules of ClusterRole admin",
    needs=("env.sample-student",),
)(student_workloads)


def student_reads_models(snap: Snapshot) -> Verdict:
    """The sample student may read the shared models.

    Lesson 1 lists them, and lesson 3 points LiteMaaS at their Services.
    """
    student = _student(snap)
    namespace = snap.profile.namespaces.shared
    denied = [verb for verb in ("get", "list") if not env.allowed(snap, student, verb, "serving.kserve.io", "inferenceservices", namespace)]
    if denied:
        return failed(
            f"{student.name} may not {' or '.join(denied)} inferenceservices in {namespace}",
            hint=f"Let students read the shared models: oc adm policy add-role-to-group view system:authenticated -n {namespace}.",
            namespace=namespace,
        )
    return passed(f"{student.name} may read the InferenceServices in {namespace}", namespace=namespace)


check(
    "env.student-reads-models",
    lesson_ref="student-permissions",
    hint="Let students read the shared models: bind ClusterRole view to system:authenticated in {shared_namespace}.",
    evidence="K8s SubjectAccessReviews: get, list inferenceservices in the shared namespace as the sample student",
    needs=("env.sample-student",),
)(student_reads_models)


def default_storage(snap: Snapshot) -> Verdict:
    """A default StorageClass exists.

    PostgreSQL's PersistentVolumeClaim names no class: without a default it stays Pending and LiteMaaS never starts.
    """
    names, defaults = env.default_storage_classes(snap)
    if not names:
        return failed("no StorageClass at all", hint="Install a storage provisioner and mark its StorageClass as the default.")
    if not defaults:
        return failed(f"none of the StorageClasses ({', '.join(names)}) is the default", classes=names)
    if len(defaults) > 1:
        snap.note(f"several default StorageClasses ({', '.join(defaults)}): new PVCs get the most recently created")
    return passed(f"default StorageClass {defaults[0]}", default=defaults[0], classes=names)


check(
    "env.default-storage",
    lesson_ref="storage",
    hint="Mark one StorageClass as the default: oc patch storageclass NAME -p "
    "'{\"metadata\": {\"annotations\": {\"storageclass.kubernetes.io/is-default-class\": \"true\"}}}'",
    evidence="K8s storageclasses (storage.k8s.io)",
    needs=("env.api-server",),
)(default_storage)


def roster_users(snap: Snapshot) -> Verdict:
    """Every student on the roster exists as a User.

    Grading reads each student's User; a student who never logged in cannot be graded.
    """
    wanted = snap.settings.roster_users
    missing = [name for name in wanted if name not in env.users(snap)]
    if missing:
        return failed(f"{len(missing)} of {len(wanted)} roster students have no User: {', '.join(missing)}", missing=missing)
    return passed(f"all {len(wanted)} roster students exist as Users", students=len(wanted))


check(
    "env.roster-users",
    lesson_ref="roster",
    hint="Each student must log in once (OpenShift creates the User at the first login), or create their Users.",
    evidence="K8s users (user.openshift.io), the roster",
    needs=("env.api-server",),
)(roster_users)


def roster_canopy(snap: Snapshot) -> Verdict:
    """Where the course pre-creates Canopy projects, each roster student's Canopy runs.

    Lesson 5 re-points the student's Canopy at LiteMaaS; it must run before the class does.
    """
    projects = {name: snap.profile.namespace("canopy", name) for name in snap.settings.roster_users}
    created = {name: ns for name, ns in projects.items() if env.namespace_exists(snap, ns)}
    if not created:
        return passed(f"no roster student has a pre-created Canopy project ({snap.profile.namespaces.canopy}): nothing to run")
    broken, converging = [], []
    for namespace in created.values():
        verdict = rollout(snap, "Deployment", namespace, "canopy-backend", what=f"canopy-backend in {namespace}")
        if verdict.status.value == "pending":
            converging.append(namespace)
        elif not verdict.passed:
            broken.append(verdict.message)
    without = len(projects) - len(created)
    scope = f"{len(created)} pre-created Canopy projects" + (f" ({without} students have none)" if without else "")
    if broken:
        return failed(f"{scope}: {'; '.join(broken)}", broken=len(broken))
    if converging:
        return pending(f"{scope}: still rolling out in {', '.join(converging)}")
    return passed(f"{scope}: canopy-backend available in each", projects=len(created))


check(
    "env.roster-canopy",
    lesson_ref="roster",
    hint="Bring up Canopy in those projects (canopy-backend must be available) before the class starts.",
    evidence="K8s namespaces, Deployment canopy-backend in each student's Canopy project",
    needs=("env.api-server",),
)(roster_canopy)


# -- the run -------------------------------------------------------------------------------------------------


def env_check_ids(settings: Settings) -> list[str]:
    """The checks a run reports: the roster's only when a roster is given."""
    return [c.id for c in load_checks().values() if c.lesson == GROUP and (settings.roster_users or c.id not in ROSTER_CHECKS)]


def parse_model_urls(values: list[str]) -> tuple[tuple[str, str], ...]:
    """`NAME=URL` pairs (NAME an InferenceService or served model name); anything else is a usage error."""
    pairs = []
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name.strip() or not url.strip().startswith(("http://", "https://")):
            raise UsageError(f"--model-url {value!r}: expected NAME=URL with an http:// or https:// URL")
        pairs.append((name.strip(), url.strip()))
    return tuple(pairs)


def run_smoke(settings: Settings, *, transport: httpx.BaseTransport | None = None) -> Report:
    """Grade the lab environment. A credential the API server refuses, or no cluster, makes every check `error`."""
    from maas_lab.engine.runner import run
    from maas_lab.evidence.collector import live_source
    from maas_lab.evidence.http import make_client
    from maas_lab.evidence.retry import Deadline
    from maas_lab.evidence.snapshot import Snapshot
    from maas_lab.grading import resolve_profile

    profile, failure = resolve_profile(settings)
    known = {n for m in profile.shared_models for n in (m.isvc, m.served_name)}
    for name, _ in settings.model_urls:
        if name not in known:
            raise UsageError(f"--model-url {name}=…: not a shared model of profile {profile.name} ({', '.join(sorted(known))})")
    started = time.monotonic()
    deadline = Deadline.after(settings.timeout)  # bounds every request in flight, as for `check`
    http = make_client(verify=settings.verify, timeout=settings.request_timeout, transport=transport, deadline=deadline)
    source, no_cluster = live_source(settings, http, own_http=True, deadline=deadline)
    failure = failure or no_cluster
    snapshot = Snapshot(settings, profile, source=source)
    if source.kube is not None and source.kube.insecure:
        snapshot.note("the kubeconfig skips TLS verification of the API server")
    try:
        if failure is None:
            try:
                snapshot.account()  # the API server answers and takes the credential, or nothing can be checked
            except CollectError as exc:
                failure = exc
        verbose.phase("connect/preflight")
        report = run(
            [GROUP], snapshot, profile, only=env_check_ids(settings), preflight_error=failure, deadline=started + settings.timeout
        )
        verbose.phase("checks", reads_inside=True)
        return replace(report, target=_target(snapshot, profile.name, failure is None))
    finally:
        snapshot.close()


def _target(snap: Snapshot, profile: str, connected: bool) -> Target:
    """The report's user is the sample student, its domain the one discovered (both already read, so free)."""
    if not connected:
        return Target(snap.settings.sample_user or snap.settings.user, snap.settings.cluster_domain, profile)
    try:
        student = env.sample_student(snap)
        domain, _ = env.apps_domain(snap)
    except CollectError:
        return Target(snap.settings.sample_user or snap.settings.user, snap.settings.cluster_domain, profile)
    return Target(student.name if student else None, domain, profile)
