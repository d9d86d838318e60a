#!/usr/bin/env python3
"""Generate the benchmark application in three equivalent forms.

    python3 bench/gen.py N OUTDIR [--no-kustomize]

OUTDIR/app.yaml       OAM v1alpha1 input for oamlua: N ComponentSchematics c<i>
                      and one ApplicationConfiguration "bench" with N instances
OUTDIR/chart/         a Helm chart: values.yaml with N entries, one template
                      ranging over them (helm template bench OUTDIR/chart)
OUTDIR/kustomize/     a kustomize tree: base/ (Deployment, Service, Ingress) and
                      one overlay per instance under components/c<i>/
                      (kubectl kustomize OUTDIR/kustomize)

Each form renders, per instance i, Deployment c<i>, Service c<i> and Ingress
c<i>-trait-ingress with the same labels, replicas (1 + i % 5), env INDEX=i,
port 8080, resources cpu 250m / memory 256Mi and host c<i>.example.com.
Standard library only.
"""
import os
import sys

COMPONENT = """\
---
apiVersion: core.oam.dev/v1alpha1
kind: ComponentSchematic
metadata:
  name: c{i}
spec:
  workloadType: core.oam.dev/v1alpha1.Server
  parameters:
    - name: index
      type: string
      required: true
  containers:
    - name: web
      image: nginx:1.25
      env:
        - name: INDEX
          fromParam: index
      ports:
        - name: http
          containerPort: 8080
      resources:
        cpu:
          required: 0.25
        memory:
          required: "256"
"""

INSTANCE = """\
    - componentName: c{i}
      instanceName: c{i}
      parameterValues:
        - name: index
          value: "{i}"
      traits:
        - name: manual-scaler
          properties:
            replicaCount: {r}
        - name: ingress
          properties:
            hostname: c{i}.example.com
            servicePort: 8080
"""

# --catalogue: five more traits per instance that all write into the
# Deployment's pod template (the write-heavy case for tracking's cost).
CATALOGUE_TRAITS = """\
        - name: env
          properties:
            env:
              - {{name: LOG_LEVEL, value: warn}}
              - {{name: SLOT, value: "{i}"}}
        - name: labels
          properties:
            labels: {{team: payments, slot: "s{i}"}}
        - name: resources
          properties:
            containers:
              - {{name: web, requests: {{cpu: 500m, memory: 512Mi}}, limits: {{memory: 512Mi}}}}
        - name: security-context
          properties:
            runAsUser: 10001
        - name: update-strategy
          properties:
            maxSurge: "25%"
            maxUnavailable: 0
"""

CHART_YAML = """\
apiVersion: v2
name: bench
description: oamlua benchmark application as a Helm chart
type: application
version: 0.1.0
"""

HELPERS = """\
{{/* Labels every object of an instance carries. */}}
{{- define "bench.selectorLabels" -}}
app.oam.dev/component: {{ .name }}
app.oam.dev/name: bench
{{- end }}

{{- define "bench.labels" -}}
app.kubernetes.io/managed-by: oamlua
{{ include "bench.selectorLabels" . }}
{{- end }}
"""

TEMPLATE = """\
{{- range .Values.components }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  labels:
    {{- include "bench.labels" . | nindent 4 }}
    workload.oam.dev/type: Server
spec:
  replicas: {{ .replicas }}
  selector:
    matchLabels:
      {{- include "bench.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "bench.selectorLabels" . | nindent 8 }}
        workload.oam.dev/type: Server
    spec:
      containers:
      - name: web
        env:
        - name: INDEX
          value: {{ .index | quote }}
        image: {{ $.Values.image }}
        ports:
        - name: http
          containerPort: {{ $.Values.port }}
          protocol: TCP
        resources:
          requests:
            cpu: {{ $.Values.cpu }}
            memory: {{ $.Values.memory }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels:
    {{- include "bench.labels" . | nindent 4 }}
    workload.oam.dev/type: Server
spec:
  ports:
  - name: http
    port: {{ $.Values.port }}
    protocol: TCP
    targetPort: {{ $.Values.port }}
  selector:
    {{- include "bench.selectorLabels" . | nindent 4 }}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .name }}-trait-ingress
  labels:
    {{- include "bench.labels" . | nindent 4 }}
    trait.oam.dev/type: ingress
spec:
  rules:
  - host: {{ .host }}
    http:
      paths:
      - backend:
          service:
            name: {{ .name }}
            port:
              number: {{ $.Values.port }}
        path: /
        pathType: Prefix
{{- end }}
"""

VALUES_HEAD = """\
image: nginx:1.25
port: 8080
cpu: 250m
memory: 256Mi
components:
"""

VALUE = """\
- name: c{i}
  index: "{i}"
  replicas: {r}
  host: c{i}.example.com
"""

# kustomize: the base holds one instance named "c" without the component
# label; each overlay adds the label (also to selectors and the pod
# template), sets replicas, and patches names, env and host.  nameSuffix is
# not usable here: kustomize applies it after the patches, so the Ingress
# would become "c-trait-ingress<i>" instead of "c<i>-trait-ingress".
KZ_BASE = {
    "kustomization.yaml": """\
resources:
- deployment.yaml
- service.yaml
- ingress.yaml
""",
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: c
  labels:
    app.kubernetes.io/managed-by: oamlua
    app.oam.dev/name: bench
    workload.oam.dev/type: Server
spec:
  replicas: 1
  selector:
    matchLabels:
      app.oam.dev/name: bench
  template:
    metadata:
      labels:
        app.oam.dev/name: bench
        workload.oam.dev/type: Server
    spec:
      containers:
      - name: web
        env:
        - name: INDEX
          value: "0"
        image: nginx:1.25
        ports:
        - name: http
          containerPort: 8080
          protocol: TCP
        resources:
          requests:
            cpu: 250m
            memory: 256Mi
""",
    "service.yaml": """\
apiVersion: v1
kind: Service
metadata:
  name: c
  labels:
    app.kubernetes.io/managed-by: oamlua
    app.oam.dev/name: bench
    workload.oam.dev/type: Server
spec:
  ports:
  - name: http
    port: 8080
    protocol: TCP
    targetPort: 8080
  selector:
    app.oam.dev/name: bench
""",
    "ingress.yaml": """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: c-trait-ingress
  labels:
    app.kubernetes.io/managed-by: oamlua
    app.oam.dev/name: bench
    trait.oam.dev/type: ingress
spec:
  rules:
  - host: c.example.com
    http:
      paths:
      - backend:
          service:
            name: c
            port:
              number: 8080
        path: /
        pathType: Prefix
""",
}

KZ_OVERLAY = """\
resources:
- ../../base
labels:
- pairs:
    app.oam.dev/component: c{i}
  includeSelectors: true
replicas:
- name: c
  count: {r}
patches:
- target:
    kind: Deployment
    name: c
  patch: |-
    - op: replace
      path: /metadata/name
      value: c{i}
    - op: replace
      path: /spec/template/spec/containers/0/env/0/value
      value: "{i}"
- target:
    kind: Service
    name: c
  patch: |-
    - op: replace
      path: /metadata/name
      value: c{i}
- target:
    kind: Ingress
    name: c-trait-ingress
  patch: |-
    - op: replace
      path: /metadata/name
      value: c{i}-trait-ingress
    - op: replace
      path: /spec/rules/0/host
      value: c{i}.example.com
    - op: replace
      path: /spec/rules/0/http/paths/0/backend/service/name
      value: c{i}
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 2 or not args[0].isdigit() or int(args[0]) < 1:
        sys.stderr.write("usage: gen.py N OUTDIR [--no-kustomize] [--catalogue]\n")
        return 2
    n, out = int(args[0]), args[1]
    reps = [1 + i % 5 for i in range(n)]

    # OAM: components, then one ApplicationConfiguration.
    parts = [COMPONENT.format(i=i) for i in range(n)]
    parts.append("---\napiVersion: core.oam.dev/v1alpha1\nkind: ApplicationConfiguration\n"
                 "metadata:\n  name: bench\nspec:\n  components:\n")
    parts.extend(INSTANCE.format(i=i, r=reps[i]) for i in range(n))
    write(os.path.join(out, "app.yaml"), "".join(parts))
    if "--catalogue" in argv:
        parts[n + 1:] = [INSTANCE.format(i=i, r=reps[i]) + CATALOGUE_TRAITS.format(i=i) for i in range(n)]
        write(os.path.join(out, "app-catalogue.yaml"), "".join(parts))
        return 0

    # Helm.
    chart = os.path.join(out, "chart")
    write(os.path.join(chart, "Chart.yaml"), CHART_YAML)
    write(os.path.join(chart, "templates", "_helpers.tpl"), HELPERS)
    write(os.path.join(chart, "templates", "app.yaml"), TEMPLATE)
    write(os.path.join(chart, "values.yaml"),
          VALUES_HEAD + "".join(VALUE.format(i=i, r=reps[i]) for i in range(n)))

    # kustomize.
    if "--no-kustomize" not in argv:
        kz = os.path.join(out, "kustomize")
        for name, text in KZ_BASE.items():
            write(os.path.join(kz, "base", name), text)
        for i in range(n):
            write(os.path.join(kz, "components", "c%d" % i, "kustomization.yaml"),
                  KZ_OVERLAY.format(i=i, r=reps[i]))
        write(os.path.join(kz, "kustomization.yaml"),
              "resources:\n" + "".join("- components/c%d\n" % i for i in range(n)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
