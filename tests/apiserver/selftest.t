#!/usr/bin/env python3
"""selftest.t - TAP checks of kubetest.py features that kubectl does not exercise.

Run:  prove -v tests/apiserver/selftest.t   (standard library only; talks to 127.0.0.1)
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "kubetest.py")

TESTS = []
n = 0
failed = 0


def test(fn):
    TESTS.append(fn)
    return fn


def ok(cond, desc, info=""):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, desc))
    else:
        failed += 1
        print("not ok %d - %s" % (n, desc))
        for line in str(info).splitlines()[:40]:
            print("#   " + line)
    sys.stdout.flush()


class Srv(object):
    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="kubetest-self.")
        self.portfile = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen([sys.executable, SERVER, "--port-file", self.portfile] + list(args),
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "err"), "w"))
        for _ in range(200):
            if os.path.exists(self.portfile):
                break
            if self.proc.poll() is not None:
                raise RuntimeError(open(os.path.join(self.dir, "err")).read())
            time.sleep(0.05)
        self.port = int(open(self.portfile).read())

    def req(self, method, path, body=None, ctype="application/json", headers=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            h["Content-Type"] = ctype
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            js = json.loads(data)
        except ValueError:
            js = None
        return r.status, js, r, data

    def apply(self, path, obj, manager="t", force=False, extra=""):
        q = "?fieldManager=%s&force=%s%s" % (manager, "true" if force else "false", extra)
        return self.req("PATCH", path + q, obj, "application/apply-patch+yaml")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


def deploy(name="web", replicas=2, labels=None, image="nginx:1.27"):
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


D = "/apis/apps/v1/namespaces/default/deployments"
CM = "/api/v1/namespaces/default/configmaps"


def cm(name, data=None, labels=None, **meta):
    o = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": dict(name=name, **meta), "data": data or {"a": "1"}}
    if labels:
        o["metadata"]["labels"] = labels
    return o


@test
def t_discovery(s):
    st, js, r, _ = s.req("GET", "/apis", headers={
        "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"})
    ok(st == 200 and r.getheader("Content-Type") == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
       and any(i["metadata"].get("name") == "apps" for i in js["items"]), "aggregated discovery by Accept", js)
    st, js, r, _ = s.req("GET", "/apis/apps/v1")
    names = [x["name"] for x in js["resources"]]
    ok("deployments/status" in names and "deployments/scale" in names and js["groupVersion"] == "apps/v1",
       "legacy APIResourceList with subresources", names)
    st, _, r, data = s.req("GET", "/nope")
    ok(st == 404 and data == b"404 page not found\n" and r.getheader("Content-Type").startswith("text/plain"),
       "unknown path: plain 404 page not found", data)


@test
def t_apply_semantics(s):
    st, js, _, _ = s.apply(D + "/web", deploy())
    ok(st == 201 and js["metadata"]["generation"] == 1 and js["spec"]["strategy"]["type"] == "RollingUpdate",
       "SSA create: 201, generation 1, defaults", js)
    rv = js["metadata"]["resourceVersion"]
    st, js, _, _ = s.apply(D + "/web", deploy())
    ok(st == 200 and js["metadata"]["resourceVersion"] == rv, "SSA no-op keeps resourceVersion", js)
    d = deploy()
    d["metadata"]["labels"]["extra"] = "x"
    st, js, _, _ = s.apply(D + "/web", d)
    ok(st == 200 and js["metadata"]["labels"].get("extra") == "x" and js["metadata"]["generation"] == 1,
       "metadata change: new resourceVersion, same generation", js)
    st, js, _, _ = s.apply(D + "/web", deploy())
    ok("extra" not in js["metadata"]["labels"], "field dropped from the intent is removed", js["metadata"])
    d = deploy()
    del d["spec"]["replicas"]
    st, js, _, _ = s.apply(D + "/web", d)
    ok(js["spec"]["replicas"] == 1 and js["metadata"]["generation"] == 2,
       "dropping replicas resets it to the default (1) and bumps generation", js["spec"])
    # a second manager sharing a value: no conflict, shared ownership
    st, js, _, _ = s.apply(D + "/web", deploy(replicas=1), manager="other")
    mf = {e["manager"]: e for e in js["metadata"]["managedFields"]}
    ok(st == 200 and "f:replicas" in mf["other"]["fieldsV1"]["f:spec"], "same value from a second manager is shared",
       js["metadata"]["managedFields"])
    st, js, _, _ = s.apply(D + "/web", deploy(replicas=5), manager="t")
    ok(st == 409 and js["reason"] == "Conflict" and js["details"]["causes"][0] == {
        "reason": "FieldManagerConflict", "message": 'conflict with "other"', "field": ".spec.replicas"},
       "conflict body: FieldManagerConflict cause", js)
    # update manager then conflicting apply
    st, js, _, _ = s.req("PATCH", D + "/web?fieldManager=kubectl-edit",
                         {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}},
                         "application/strategic-merge-patch+json")
    st, js, _, _ = s.apply(D + "/web", deploy(replicas=1))
    ok(st == 409 and js["message"] == 'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: '
       '.spec.template.spec.containers[name="web"].image', "Update manager rendered 'using apps/v1'", js)
    st, js, _, _ = s.apply(D + "/web", deploy(replicas=7), manager="t")
    ok(st == 409 and js["message"].startswith("Apply failed with 2 conflicts: conflicts with \"kubectl-edit\" using "
                                               "apps/v1:\n- .spec.template"), "several conflicts message", js)
    st, js, _, _ = s.apply(D + "/web", deploy(), extra="&dryRun=All", force=True)
    st2, js2, _, _ = s.req("GET", D + "/web")
    ok(st == 200 and js["spec"]["replicas"] == 2 and js2["spec"]["replicas"] == 1, "dryRun=All apply stores nothing",
       (js["spec"], js2["spec"]))
    st, js, _, _ = s.req("PATCH", D + "/web?force=false", deploy(), "application/apply-patch+yaml")
    ok(st == 422 and "fieldManager: Required value: is required for apply patch" in js["message"],
       "apply without fieldManager: 422", js)
    st, js, _, _ = s.req("PATCH", D + "/web?fieldManager=x&force=true", {"spec": {}}, "application/merge-patch+json")
    ok(st == 422 and "force: Forbidden: may not be specified for non-apply patch" in js["message"],
       "force on a merge patch: 422", js)
    st, js, _, _ = s.req("PATCH", D + "/web?fieldManager=x", {"spec": {}}, "text/plain")
    ok(st == 415 and js["reason"] == "UnsupportedMediaType", "unknown patch type: 415", js)
    bad = deploy()
    bad["spec"]["foo"] = 1
    st, js, _, _ = s.apply(D + "/web", bad)
    ok(st == 500 and "reason" not in js and js["message"] == "failed to create typed patch object (default/web; "
       "apps/v1, Kind=Deployment): .spec.foo: field not declared in schema", "SSA unknown field: 500 like 1.32", js)
    st, js, _, _ = s.apply(D + "/other", deploy("web"))
    ok(st == 400 and "does not match the name on the URL" in js["message"], "apply name mismatch: 400", js)
    yaml_body = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n  labels: {a: b}\n"
                 "data:\n  script: |\n    echo hi\n  n: '1'\n")
    st, js, _, _ = s.req("PATCH", CM + "/y?fieldManager=t", yaml_body, "application/apply-patch+yaml")
    ok(st == 201 and js["data"] == {"script": "echo hi\n", "n": "1"}, "apply accepts block YAML", js)


@test
def t_crud(s):
    st, js, _, _ = s.req("POST", CM, cm("c1", labels={"tier": "a", "n": "5"}))
    ok(st == 201 and js["metadata"]["uid"] and "generation" not in js["metadata"]
       and js["metadata"]["managedFields"][0]["operation"] == "Update", "POST create: 201, no generation", js)
    st, js, _, _ = s.req("POST", CM, cm("c1"))
    ok(st == 409 and js["reason"] == "AlreadyExists" and js["message"] == 'configmaps "c1" already exists',
       "POST existing: 409 AlreadyExists", js)
    s.req("POST", CM, cm("c2", labels={"tier": "b"}))
    s.req("POST", CM, cm("c3"))
    st, js, _, _ = s.req("GET", CM)
    ok(js["kind"] == "ConfigMapList" and all("kind" not in i for i in js["items"]), "LIST: items carry no kind", js)
    sel = {"tier=a": ["c1"], "tier!=a": ["c2", "c3", "y"], "tier in (a,b)": ["c1", "c2"], "tier notin (a)": ["c2", "c3", "y"],
           "tier": ["c1", "c2"], "!tier": ["c3", "y"], "n>4": ["c1"], "tier==b": ["c2"]}
    bad = []
    for q, want in sel.items():
        st, js, _, _ = s.req("GET", CM + "?labelSelector=" + urllib.parse.quote(q))
        got = [i["metadata"]["name"] for i in js["items"]]
        if got != want:
            bad.append((q, got, want))
    ok(not bad, "label selector operators", bad)
    st, js, _, _ = s.req("GET", CM + "?fieldSelector=metadata.name%3Dc2")
    st2, js2, _, _ = s.req("GET", "/api/v1/configmaps?fieldSelector=metadata.namespace!%3Ddefault")
    ok([i["metadata"]["name"] for i in js["items"]] == ["c2"] and js2["items"] == [], "field selectors", (js, js2))
    st, js, _, _ = s.req("GET", CM + "?limit=2")
    tok = js["metadata"].get("continue")
    st, js2, _, _ = s.req("GET", CM + "?limit=2&continue=" + tok)
    ok(len(js["items"]) == 2 and js["metadata"]["remainingItemCount"] == 2 and len(js2["items"]) == 2,
       "limit/continue paging", (js["metadata"], js2["metadata"]))
    st, obj, _, _ = s.req("GET", CM + "/c1")
    stale = dict(obj)
    obj["data"] = {"a": "2"}
    st, js, _, _ = s.req("PUT", CM + "/c1", obj)
    stale["data"] = {"a": "3"}
    st2, js2, _, _ = s.req("PUT", CM + "/c1", stale)
    ok(st == 200 and st2 == 409 and js2["message"].endswith("the object has been modified; please apply your "
                                                            "changes to the latest version and try again"),
       "PUT with stale resourceVersion: 409", js2)
    st, js, _, _ = s.req("PATCH", CM + "/c1", [{"op": "replace", "path": "/data/a", "value": "9"}],
                         "application/json-patch+json")
    st2, js2, _, _ = s.req("PATCH", CM + "/c1", [{"op": "test", "path": "/data/a", "value": "0"}],
                           "application/json-patch+json")
    ok(st == 200 and js["data"]["a"] == "9" and st2 == 422, "JSON patch (and a failing test op: 422)", (js2,))
    st, js, _, _ = s.req("PATCH", CM + "/c1", {"data": {"a": None, "b": "2"}}, "application/merge-patch+json")
    ok(st == 200 and js["data"] == {"b": "2"}, "merge patch with null deletes a key", js)
    st, js, _, _ = s.req("POST", "/api/v1/namespaces/missing/configmaps", cm("x"))
    ok(st == 404 and js["message"] == 'namespaces "missing" not found' and js["details"] == {"name": "missing",
                                                                                            "kind": "namespaces"},
       "create in a missing namespace: 404 namespaces not found", js)
    st, js, _, _ = s.req("POST", CM + "?dryRun=All", cm("dry"))
    st2, _, _, _ = s.req("GET", CM + "/dry")
    ok(st == 201 and "resourceVersion" not in js["metadata"] and st2 == 404, "dryRun create: no resourceVersion, not stored", js)
    st, js, _, _ = s.req("POST", CM + "?dryRun=Some", cm("dry"))
    ok(st == 422 and 'dryRun: Unsupported value: []string{"Some"}: supported values: "All"' in js["message"],
       "bad dryRun value: 422", js)
    st, js, r, _ = s.req("POST", CM + "?fieldValidation=Warn", dict(cm("w"), bogus=1))
    st2, js2, _, _ = s.req("POST", CM + "?fieldValidation=Strict", dict(cm("w2"), bogus=1))
    ok(st == 201 and "bogus" not in js and r.getheader("Warning") == '299 - "unknown field \\"bogus\\""'
       and st2 == 400 and js2["message"] == 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict '
                                            'decoding error: unknown field "bogus"', "fieldValidation Warn/Strict",
       (r.getheader("Warning"), js2))
    d = deploy("typed")
    d["spec"]["replicas"] = "2"
    st, js, _, _ = s.req("POST", D, d)
    ok(st == 400 and js["message"].endswith("json: cannot unmarshal string into Go struct field DeploymentSpec."
                                            "spec.replicas of type int32"), "wrong scalar type: Go decode error", js)
    st, js, _, _ = s.req("DELETE", CM + "/c2", {"preconditions": {"uid": "nope"}})
    ok(st == 409 and "Precondition failed: UID in precondition: nope" in js["message"], "delete precondition uid", js)
    st, js, _, _ = s.req("DELETE", CM + "/c2?dryRun=All")
    st2, _, _, _ = s.req("GET", CM + "/c2")
    ok(st == 200 and st2 == 200, "dryRun delete keeps the object", js)
    st, js, _, _ = s.req("DELETE", CM + "/c2")
    ok(st == 200 and js["status"] == "Success" and js["details"]["kind"] == "configmaps" and js["details"]["uid"],
       "delete: Status Success with details", js)
    st, js, _, _ = s.req("DELETE", CM + "?labelSelector=tier%3Da")
    st2, js2, _, _ = s.req("GET", CM + "/c1")
    ok(st == 200 and st2 == 404, "deletecollection with a label selector", js)


@test
def t_validation(s):
    cases = [
        (D, dict(deploy("Bad_Name")), "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"),
        (CM, cm("ok", labels={"bad key!": "v"}), 'metadata.labels: Invalid value: "bad key!": name part must consist'),
        (CM, cm("ok2", labels={"k": "bad value!"}), 'metadata.labels: Invalid value: "bad value!": a valid label must'),
        (D, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nc"},
             "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                                                                          "spec": {"containers": []}}}},
         "spec.template.spec.containers: Required value"),
        (D, deploy("noimg", image=""), "spec.template.spec.containers[0].image: Required value"),
        ("/apis/networking.k8s.io/v1/namespaces/default/ingresses",
         {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
          "spec": {"rules": [{"http": {"paths": [{"path": "/", "backend": {"service": {"name": "s", "port": {
              "number": 80}}}}]}}]}}, "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"),
        ("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
         {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 5, "maxReplicas": 2}},
         "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"),
        ("/api/v1/namespaces/default/services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1svc"},
                                                 "spec": {"ports": [{"port": 80}]}},
         'metadata.name: Invalid value: "1svc": a DNS-1035 label'),
        ("/apis/batch/v1/namespaces/default/jobs", {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                                                   "spec": {"template": {"spec": {"containers": [
                                                       {"name": "c", "image": "x"}]}}}},
         'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"'),
    ]
    bad = []
    for path, obj, want in cases:
        st, js, _, _ = s.req("POST", path, obj)
        if st != 422 or want not in js.get("message", "") or js["reason"] != "Invalid" or not js["details"]["causes"]:
            bad.append((st, js.get("message"), want))
    ok(not bad, "422 Invalid for names, labels, containers, image, pathType, HPA range, Service name, Job restartPolicy",
       "\n".join(map(str, bad)))
    # immutable fields
    s.apply(D + "/imm", deploy("imm"))
    d = deploy("imm", labels={"app": "other"})
    st, js, _, _ = s.apply(D + "/imm", d)
    ok(st == 422 and "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"other\"}"
       in js["message"] and js["message"].endswith("field is immutable"), "immutable Deployment selector", js)
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j1"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x:1"}]}}}}
    st, js, _, _ = s.apply("/apis/batch/v1/namespaces/default/jobs/j1", job)
    ok(st == 201 and js["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == js["metadata"]["uid"],
       "Job selector generated from uid", js.get("spec"))
    job["spec"]["template"]["spec"]["containers"][0]["image"] = "x:2"
    st, js, _, _ = s.apply("/apis/batch/v1/namespaces/default/jobs/j1", job)
    ok(st == 422 and "spec.template: Invalid value" in js["message"] and "field is immutable" in js["message"],
       "immutable Job template", js)
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    s.apply("/api/v1/namespaces/default/persistentvolumeclaims/p", pvc)
    pvc["spec"]["storageClassName"] = "fast"
    st, js, _, _ = s.apply("/api/v1/namespaces/default/persistentvolumeclaims/p", pvc)
    ok(st == 422 and "spec: Forbidden: spec is immutable after creation" in js["message"], "immutable PVC spec", js)
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    st, js, _, _ = s.apply("/api/v1/namespaces/default/services/svc", svc)
    p = js["spec"]["ports"][0]
    ok(js["spec"]["type"] == "ClusterIP" and js["spec"]["clusterIP"].startswith("10.96.") and p["protocol"] == "TCP"
       and p["targetPort"] == 80, "Service defaults: ClusterIP, clusterIP, protocol, targetPort", js["spec"])


@test
def t_status_scale(s):
    s.apply(D + "/st", deploy("st"))
    st, js, _, _ = s.req("PATCH", D + "/st/status", {"status": {"observedGeneration": 1, "readyReplicas": 2},
                                                     "spec": {"replicas": 9}}, "application/merge-patch+json")
    ok(st == 200 and js["status"]["readyReplicas"] == 2 and js["spec"]["replicas"] == 2,
       "/status merge patch changes status only", js)
    d = deploy("st")
    d["status"] = {"readyReplicas": 0}
    st, js, _, _ = s.apply(D + "/st", d)
    ok(js["status"]["readyReplicas"] == 2, "main resource ignores status", js.get("status"))
    st, js, _, _ = s.req("PATCH", D + "/st/status?fieldManager=ctl&force=true",
                         {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "st"},
                          "status": {"replicas": 2}}, "application/apply-patch+yaml")
    ok(st == 200 and any(e.get("subresource") == "status" and e["manager"] == "ctl"
                         for e in js["metadata"]["managedFields"]), "/status apply records subresource status", js)
    st, js, _, _ = s.req("GET", D + "/st/scale")
    ok(st == 200 and js["kind"] == "Scale" and js["spec"]["replicas"] == 2 and js["status"]["selector"] == "app=st",
       "GET /scale", js)
    st, js, _, _ = s.req("PATCH", D + "/st/scale", {"spec": {"replicas": 4}}, "application/merge-patch+json")
    st2, js2, _, _ = s.req("GET", D + "/st")
    ok(st == 200 and js2["spec"]["replicas"] == 4 and js2["metadata"]["generation"] == 2, "PATCH /scale", js2)
    st, js, _, _ = s.req("POST", "/_test/status", {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "default",
                                                   "name": "st", "ready": True})
    ok(js["status"]["availableReplicas"] == 4 and js["status"]["observedGeneration"] == 2, "/_test/status ready", js)
    st, js, _, _ = s.req("GET", "/api/v1/namespaces/default/configmaps/y/status")
    ok(st == 404, "no /status for kinds without it", st)


@test
def t_gc(s):
    st, owner, _, _ = s.apply(CM + "/owner", cm("owner"))
    ref = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}]
    for nm in ("dep1", "dep2"):
        s.apply(CM + "/" + nm, cm(nm, ownerReferences=ref))
    st, js, _, _ = s.req("DELETE", CM + "/owner", {"propagationPolicy": "Orphan"})
    st2, d1, _, _ = s.req("GET", CM + "/dep1")
    ok(st2 == 200 and "ownerReferences" not in d1["metadata"], "Orphan strips ownerReferences", d1)
    st, owner, _, _ = s.apply(CM + "/owner2", cm("owner2"))
    ref = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner2", "uid": owner["metadata"]["uid"]}]
    s.apply(CM + "/dep3", cm("dep3", ownerReferences=ref))
    s.apply(CM + "/dep4", cm("dep4", ownerReferences=ref, finalizers=["example.com/hold"]))
    st, js, _, _ = s.req("DELETE", CM + "/owner2")
    st3, _, _, _ = s.req("GET", CM + "/dep3")
    st4, d4, _, _ = s.req("GET", CM + "/dep4")
    ok(st3 == 404 and st4 == 200 and d4["metadata"].get("deletionTimestamp"),
       "Background GC deletes dependents; a finalizer keeps one Terminating", d4)
    st, js, _, _ = s.req("PATCH", CM + "/dep4", {"metadata": {"finalizers": None}}, "application/merge-patch+json")
    st4, _, _, _ = s.req("GET", CM + "/dep4")
    ok(st == 200 and st4 == 404, "removing the last finalizer completes deletion", js)
    s.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}})
    s.req("POST", "/api/v1/namespaces/gone/configmaps", cm("x"))
    st, js, _, _ = s.req("DELETE", "/api/v1/namespaces/gone")
    st2, _, _, _ = s.req("GET", "/api/v1/namespaces/gone/configmaps/x")
    st3, _, _, _ = s.req("GET", "/api/v1/namespaces/gone")
    ok(st == 200 and js["status"]["phase"] == "Terminating" and st2 == 404 and st3 == 404,
       "deleting a namespace deletes its contents, then itself", js)


@test
def t_watch(s):
    st, js, _, _ = s.req("GET", CM + "?labelSelector=w%3D1")
    rv = js["metadata"]["resourceVersion"]
    events = []

    def reader():
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        c.request("GET", CM + "?watch=true&labelSelector=w%3D1&timeoutSeconds=3&resourceVersion=" + rv)
        r = c.getresponse()
        for line in r:
            if line.strip():
                ev = json.loads(line)
                events.append((ev["type"], ev["object"]["metadata"]["name"]))
        c.close()

    th = threading.Thread(target=reader)
    th.start()
    time.sleep(0.3)
    s.apply(CM + "/wa", cm("wa", labels={"w": "1"}))
    s.apply(CM + "/wb", cm("wb", labels={"w": "2"}))
    s.req("PATCH", CM + "/wa", {"data": {"z": "1"}}, "application/merge-patch+json")
    s.req("PATCH", CM + "/wa", {"metadata": {"labels": {"w": "0"}}}, "application/merge-patch+json")
    s.req("PATCH", CM + "/wb", {"metadata": {"labels": {"w": "1"}}}, "application/merge-patch+json")
    s.req("DELETE", CM + "/wb")
    th.join(10)
    ok(events == [("ADDED", "wa"), ("MODIFIED", "wa"), ("DELETED", "wa"), ("ADDED", "wb"), ("DELETED", "wb")],
       "watch: events filtered by selector, with ADDED/DELETED on selector transitions", events)


@test
def t_faults(s):
    st, js, _, _ = s.req("POST", "/_test/faults", {"match": {"method": "GET", "path_re": "configmaps/y$"},
                                                   "status": 503, "count": 2})
    codes = [s.req("GET", CM + "/y")[0] for _ in range(3)]
    ok(codes == [503, 503, 200], "503 fault with count 2", codes)
    s.req("POST", "/_test/faults", {"match": {"path_re": "configmaps/y$"}, "status": 429, "retryAfter": 2, "count": 1})
    st, js, r, _ = s.req("GET", CM + "/y")
    ok(st == 429 and r.getheader("Retry-After") == "2" and js["details"] == {"retryAfterSeconds": 2}
       and js["reason"] == "TooManyRequests", "429 with Retry-After and retryAfterSeconds", js)
    s.req("POST", "/_test/faults", {"match": {"path_re": "configmaps/y$"}, "action": "reset", "count": 1})
    try:
        s.req("GET", CM + "/y")
        err = None
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        err = e
    ok(err is not None and s.req("GET", CM + "/y")[0] == 200, "reset drops the connection once", err)
    s.req("POST", "/_test/faults", {"match": {"path_re": "configmaps/y$"}, "delay": 0.5, "count": 1})
    t0 = time.time()
    st = s.req("GET", CM + "/y")[0]
    ok(st == 200 and time.time() - t0 >= 0.5, "delay slows a request", time.time() - t0)
    # Requests are processed one at a time, but a delayed one never holds up the others.
    s.req("POST", "/_test/faults", {"match": {"path_re": "configmaps/slow$"}, "delay": 1.0, "count": 1})
    th = threading.Thread(target=lambda: s.req("GET", CM + "/slow"))
    th.start()
    time.sleep(0.2)
    t0 = time.time()
    st = s.req("GET", CM + "/y")[0]
    dt = time.time() - t0
    th.join(5)
    ok(st == 200 and dt < 0.5, "a delayed request does not hold up the others", dt)
    # Many clients at once: every apply lands once, each with its own resourceVersion.
    results = []

    def applier(i):
        for j in range(10):
            st, js, _, _ = s.apply(CM + "/par-%d-%d" % (i, j), cm("par-%d-%d" % (i, j)))
            results.append((st, js["metadata"]["resourceVersion"] if st == 201 else None))

    ths = [threading.Thread(target=applier, args=(i,)) for i in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(30)
    rvs = [rv for st, rv in results if st == 201]
    ok(len(rvs) == 80 and len(set(rvs)) == 80, "80 concurrent applies: all created, distinct resourceVersions",
       results)
    s.req("POST", "/_test/faults", {"match": {"path_re": "configmaps/y$"}, "status": 502, "body": "<html>bad gateway</html>",
                                    "content_type": "text/html", "count": 1})
    st, js, r, data = s.req("GET", CM + "/y")
    ok(st == 502 and data == b"<html>bad gateway</html>", "raw non-JSON error body", data)
    s.req("POST", "/_test/reset-log")
    s.req("GET", CM + "/y?x=1", headers={"User-Agent": "oamlua/0.1"})
    st, _, _, data = s.req("GET", "/_test/log")
    lines = [json.loads(l) for l in data.decode().splitlines()]
    ok(len(lines) == 1 and lines[0]["query"] == "x=1" and lines[0]["user_agent"] == "oamlua/0.1"
       and lines[0]["status"] == 200 and lines[0]["user"] == "system:anonymous", "/_test/log records requests", lines)
    # garbage must not kill the server
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(b"\x00\x01garbage\r\n\r\n")
        try:
            c.recv(100)
        except OSError:
            pass
    st, js, _, _ = s.req("POST", CM, b"{not json")
    ok(st == 400 and s.req("GET", "/healthz")[0] == 200, "garbage and bad JSON leave the server running", js)


def main():
    srv = None
    try:
        srv = Srv()
    except Exception as e:
        print("1..0 # skip server did not start: %s" % e)
        return 0
    try:
        for t in TESTS:
            try:
                t(srv)
            except Exception:
                import traceback
                ok(False, "%s raised" % t.__name__, traceback.format_exc())
        # persistence and SIGTERM
        state = os.path.join(srv.dir, "state.json")
        s2 = Srv("--state", state)
        s2.apply(CM + "/keep", cm("keep"))
        s2.stop(signal.SIGTERM)
        rc = s2.proc.returncode
        s3 = Srv("--state", state)
        st, js, _, _ = s3.req("GET", CM + "/keep")
        ok(rc == 0 and st == 200, "SIGTERM exits 0; --state reloads objects", (rc, st))
        st, js, _, _ = s3.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                             "metadata": {"name": "default"}})
        ok(st == 409, "pre-created namespaces exist once after reload", js)
        s3.cleanup()
        s2.cleanup()
        err = open(os.path.join(srv.dir, "err")).read()
        ok("Traceback" not in err, "no tracebacks on the server's stderr", err)
    finally:
        srv.cleanup()
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
