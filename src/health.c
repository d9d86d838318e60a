/* health.c — kstatus rules for live objects and the status table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oamlua/err.h"
#include "oamlua/health.h"

const char *oam_health_name(enum oam_hstatus s)
{
	static const char *const names[] = { "Current", "InProgress", "Failed", "Terminating", "NotFound", "Unknown" };
	return (unsigned)s < sizeof names / sizeof *names ? names[s] : "Unknown";
}

/* ---- field access ---- */

static json_t *path(const json_t *o, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(o, a);
	if (v && b)
		v = json_object_get(v, b);
	if (v && c)
		v = json_object_get(v, c);
	return v;
}

/* An integer field, or `def` when absent. */
static long long num(const json_t *o, const char *a, const char *b, const char *c, long long def)
{
	json_t *v = path(o, a, b, c);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return def;
}

static const char *str(const json_t *o, const char *a, const char *b, const char *c)
{
	return json_string_value(path(o, a, b, c));
}

/* The condition of `type` in status.conditions, or NULL. */
static const json_t *cond(const json_t *obj, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(path(obj, "status", "conditions", NULL), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static int cond_is(const json_t *obj, const char *type, const char *status)
{
	const json_t *c = cond(obj, type);
	const char *s = c ? json_string_value(json_object_get(c, "status")) : NULL;
	return s && !strcmp(s, status);
}

static const char *cond_field(const json_t *obj, const char *type, const char *field)
{
	const json_t *c = cond(obj, type);
	return c ? json_string_value(json_object_get(c, field)) : NULL;
}

#define SET(st, ...) do { snprintf(msg, size, __VA_ARGS__); return st; } while (0)

/* ---- rules of the kinds ---- */

static enum oam_hstatus deployment(const json_t *o, char *msg, size_t size)
{
	const char *pr = cond_field(o, "Progressing", "reason");
	int progressing = 0, available = cond_is(o, "Available", "True");
	if (pr && !strcmp(pr, "ProgressDeadlineExceeded"))
		SET(OAM_H_FAILED, "Progress deadline exceeded");
	if (pr && !strcmp(pr, "NewReplicaSetAvailable") && cond_is(o, "Progressing", "True"))
		progressing = 1;
	long long spec = num(o, "spec", "replicas", NULL, 1), st = num(o, "status", "replicas", NULL, 0);
	long long upd = num(o, "status", "updatedReplicas", NULL, 0), ready = num(o, "status", "readyReplicas", NULL, 0);
	long long avail = num(o, "status", "availableReplicas", NULL, 0);
	if (spec > st)
		SET(OAM_H_INPROGRESS, "Replicas: %lld/%lld", st, spec);
	if (spec > upd)
		SET(OAM_H_INPROGRESS, "Updated: %lld/%lld", upd, spec);
	if (st > spec)
		SET(OAM_H_INPROGRESS, "Pending termination: %lld", st - spec);
	if (upd > avail)
		SET(OAM_H_INPROGRESS, "Available: %lld/%lld", avail, upd);
	if (spec > ready)
		SET(OAM_H_INPROGRESS, "Ready: %lld/%lld", ready, spec);
	if (!progressing && path(o, "spec", "progressDeadlineSeconds", NULL))
		SET(OAM_H_INPROGRESS, "ReplicaSet not Available");
	if (!available)
		SET(OAM_H_INPROGRESS, "Deployment not Available");
	SET(OAM_H_CURRENT, "Deployment is available. Replicas: %lld", st);
}

static enum oam_hstatus statefulset(const json_t *o, char *msg, size_t size)
{
	const char *strategy = str(o, "spec", "updateStrategy", "type");
	if (strategy && !strcmp(strategy, "OnDelete"))
		SET(OAM_H_CURRENT, "StatefulSet is using the OnDelete update strategy");
	long long spec = num(o, "spec", "replicas", NULL, 1), st = num(o, "status", "replicas", NULL, 0);
	long long ready = num(o, "status", "readyReplicas", NULL, 0), cur = num(o, "status", "currentReplicas", NULL, 0);
	long long upd = num(o, "status", "updatedReplicas", NULL, 0);
	if (spec > st)
		SET(OAM_H_INPROGRESS, "Replicas: %lld/%lld", st, spec);
	if (spec > ready)
		SET(OAM_H_INPROGRESS, "Ready: %lld/%lld", ready, spec);
	if (st > spec)
		SET(OAM_H_INPROGRESS, "Pending termination: %lld", st - spec);
	json_t *part = path(o, "spec", "updateStrategy", "rollingUpdate");
	if (json_is_integer(json_object_get(part, "partition"))) {
		long long p = json_integer_value(json_object_get(part, "partition"));
		if (upd < spec - p)
			SET(OAM_H_INPROGRESS, "Updated: %lld/%lld (partition %lld)", upd, spec - p, p);
		SET(OAM_H_CURRENT, "Partitioned roll out complete. Updated: %lld", upd);
	}
	if (spec > cur)
		SET(OAM_H_INPROGRESS, "Current: %lld/%lld", cur, spec);
	const char *cr = str(o, "status", "currentRevision", NULL), *ur = str(o, "status", "updateRevision", NULL);
	if (cr && ur && strcmp(cr, ur))
		SET(OAM_H_INPROGRESS, "Waiting for the updated revision to become current");
	SET(OAM_H_CURRENT, "All replicas scheduled as expected. Replicas: %lld", st);
}

static enum oam_hstatus daemonset(const json_t *o, char *msg, size_t size)
{
	if (!path(o, "metadata", "generation", NULL) || !path(o, "status", "observedGeneration", NULL))
		SET(OAM_H_INPROGRESS, "Waiting for the controller to observe the DaemonSet");
	json_t *d = path(o, "status", "desiredNumberScheduled", NULL);
	if (!json_is_integer(d))
		SET(OAM_H_INPROGRESS, "Missing status.desiredNumberScheduled");
	long long want = json_integer_value(d);
	long long cur = num(o, "status", "currentNumberScheduled", NULL, 0);
	long long upd = num(o, "status", "updatedNumberScheduled", NULL, 0);
	long long avail = num(o, "status", "numberAvailable", NULL, 0), ready = num(o, "status", "numberReady", NULL, 0);
	if (want > cur)
		SET(OAM_H_INPROGRESS, "Current: %lld/%lld", cur, want);
	if (want > upd)
		SET(OAM_H_INPROGRESS, "Updated: %lld/%lld", upd, want);
	if (want > avail)
		SET(OAM_H_INPROGRESS, "Available: %lld/%lld", avail, want);
	if (want > ready)
		SET(OAM_H_INPROGRESS, "Ready: %lld/%lld", ready, want);
	SET(OAM_H_CURRENT, "All replicas scheduled as expected. Replicas: %lld", want);
}

static enum oam_hstatus replicaset(const json_t *o, char *msg, size_t size)
{
	if (cond_is(o, "ReplicaFailure", "True"))
		SET(OAM_H_INPROGRESS, "Replica failure: %s", cond_field(o, "ReplicaFailure", "message") ?
			cond_field(o, "ReplicaFailure", "message") : "");
	long long spec = num(o, "spec", "replicas", NULL, 1);
	long long lab = num(o, "status", "fullyLabeledReplicas", NULL, 0);
	long long avail = num(o, "status", "availableReplicas", NULL, 0), ready = num(o, "status", "readyReplicas", NULL, 0);
	if (spec > lab)
		SET(OAM_H_INPROGRESS, "Labelled: %lld/%lld", lab, spec);
	if (spec > avail)
		SET(OAM_H_INPROGRESS, "Available: %lld/%lld", avail, spec);
	if (spec > ready)
		SET(OAM_H_INPROGRESS, "Ready: %lld/%lld", ready, spec);
	SET(OAM_H_CURRENT, "ReplicaSet is available. Replicas: %lld", spec);
}

static enum oam_hstatus job(const json_t *o, char *msg, size_t size)
{
	long long par = num(o, "spec", "parallelism", NULL, 1);
	long long compl = num(o, "spec", "completions", NULL, par);
	long long ok = num(o, "status", "succeeded", NULL, 0), failed = num(o, "status", "failed", NULL, 0);
	long long active = num(o, "status", "active", NULL, 0);
	if (cond_is(o, "Complete", "True"))
		SET(OAM_H_CURRENT, "Job Completed. succeeded: %lld/%lld", ok, compl);
	if (cond_is(o, "Failed", "True"))
		SET(OAM_H_FAILED, "Job Failed. failed: %lld/%lld", failed, compl);
	if (cond_is(o, "Suspended", "True") && json_is_true(path(o, "spec", "suspend", NULL)))
		SET(OAM_H_CURRENT, "Job is suspended");
	if (!path(o, "status", "startTime", NULL))
		SET(OAM_H_INPROGRESS, "Job not started");
	SET(OAM_H_CURRENT, "Job in progress. success: %lld, active: %lld, failed: %lld", ok, active, failed);
}

static enum oam_hstatus pod(const json_t *o, char *msg, size_t size)
{
	const char *phase = str(o, "status", "phase", NULL);
	size_t i;
	json_t *cs;
	if (phase && !strcmp(phase, "Succeeded"))
		SET(OAM_H_CURRENT, "Pod has completed successfully");
	if (phase && !strcmp(phase, "Failed"))
		SET(OAM_H_FAILED, "Pod has completed, but not successfully");
	json_array_foreach(path(o, "status", "containerStatuses", NULL), i, cs) {
		const char *w = json_string_value(path(cs, "state", "waiting", "reason"));
		if (w && !strcmp(w, "CrashLoopBackOff"))
			SET(OAM_H_FAILED, "Container %s is in CrashLoopBackOff",
			    json_string_value(json_object_get(cs, "name")) ? json_string_value(json_object_get(cs, "name")) : "");
	}
	if (phase && !strcmp(phase, "Running") && cond_is(o, "Ready", "True"))
		SET(OAM_H_CURRENT, "Pod is Ready");
	SET(OAM_H_INPROGRESS, "Pod phase: %s", phase ? phase : "Pending");
}

static enum oam_hstatus crd(const json_t *o, char *msg, size_t size)
{
	if (cond_is(o, "NamesAccepted", "False"))
		SET(OAM_H_FAILED, "CRD names not accepted: %s",
		    cond_field(o, "NamesAccepted", "message") ? cond_field(o, "NamesAccepted", "message") : "");
	if (cond_is(o, "Established", "True"))
		SET(OAM_H_CURRENT, "CRD is established");
	SET(OAM_H_INPROGRESS, "CRD is not established yet");
}

/* Ingress and LoadBalancer Services: their address, for the message. */
static void lb_address(const json_t *o, char *msg, size_t size, const char *none)
{
	json_t *ing = json_array_get(path(o, "status", "loadBalancer", "ingress"), 0);
	const char *a = json_string_value(json_object_get(ing, "ip"));
	if (!a)
		a = json_string_value(json_object_get(ing, "hostname"));
	if (a)
		snprintf(msg, size, "Address: %s", a);
	else
		snprintf(msg, size, "%s", none);
}

enum oam_hstatus oam_health_compute(const json_t *obj, char *msg, size_t size)
{
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	char group[128] = "";
	msg[0] = '\0';
	if (!av || !kind)
		SET(OAM_H_UNKNOWN, "no apiVersion or kind");
	const char *slash = strchr(av, '/');
	if (slash)
		snprintf(group, sizeof group, "%.*s", (int)(slash - av), av);
	if (path(obj, "metadata", "deletionTimestamp", NULL))
		SET(OAM_H_TERMINATING, "Resource scheduled for deletion");
	json_t *gen = path(obj, "metadata", "generation", NULL), *og = path(obj, "status", "observedGeneration", NULL);
	if (json_is_integer(gen) && json_is_integer(og) && json_integer_value(gen) != json_integer_value(og))
		SET(OAM_H_INPROGRESS, "Generation %lld is not observed yet (observed: %lld)",
		    (long long)json_integer_value(gen), (long long)json_integer_value(og));
	if (cond_is(obj, "Reconciling", "True"))
		SET(OAM_H_INPROGRESS, "%s", cond_field(obj, "Reconciling", "message") ?
			cond_field(obj, "Reconciling", "message") : "Reconciling");
	if (cond_is(obj, "Stalled", "True"))
		SET(OAM_H_FAILED, "%s", cond_field(obj, "Stalled", "message") ? cond_field(obj, "Stalled", "message") : "Stalled");
	if (!strcmp(group, "apps")) {
		if (!strcmp(kind, "Deployment"))
			return deployment(obj, msg, size);
		if (!strcmp(kind, "StatefulSet"))
			return statefulset(obj, msg, size);
		if (!strcmp(kind, "DaemonSet"))
			return daemonset(obj, msg, size);
		if (!strcmp(kind, "ReplicaSet"))
			return replicaset(obj, msg, size);
	}
	if (!strcmp(group, "batch") && !strcmp(kind, "Job"))
		return job(obj, msg, size);
	if (!strcmp(group, "apiextensions.k8s.io") && !strcmp(kind, "CustomResourceDefinition"))
		return crd(obj, msg, size);
	if (!*group) {
		if (!strcmp(kind, "Pod"))
			return pod(obj, msg, size);
		if (!strcmp(kind, "PersistentVolumeClaim")) {
			const char *ph = str(obj, "status", "phase", NULL);
			if (ph && !strcmp(ph, "Bound"))
				SET(OAM_H_CURRENT, "PVC is Bound");
			SET(OAM_H_INPROGRESS, "PVC is not Bound. phase: %s", ph ? ph : "Pending");
		}
		if (!strcmp(kind, "Service")) {
			const char *t = str(obj, "spec", "type", NULL);
			if (t && !strcmp(t, "LoadBalancer")) {
				if (!str(obj, "spec", "clusterIP", NULL))
					SET(OAM_H_INPROGRESS, "ClusterIP not set");
				lb_address(obj, msg, size, "Service is ready (no external address yet)");
				return OAM_H_CURRENT;
			}
			SET(OAM_H_CURRENT, "Service is ready");
		}
		if (!strcmp(kind, "ConfigMap") || !strcmp(kind, "Secret") || !strcmp(kind, "Namespace") ||
		    !strcmp(kind, "ServiceAccount"))
			return OAM_H_CURRENT;
	}
	if ((!strcmp(group, "batch") && !strcmp(kind, "CronJob")) ||
	    (!strcmp(group, "policy") && !strcmp(kind, "PodDisruptionBudget")))
		return OAM_H_CURRENT;
	if (cond(obj, "Ready")) {
		if (cond_is(obj, "Ready", "True"))
			SET(OAM_H_CURRENT, "Resource is Ready");
		SET(OAM_H_INPROGRESS, "%s", cond_field(obj, "Ready", "message") ? cond_field(obj, "Ready", "message") :
			"Resource is not Ready");
	}
	if (!strcmp(group, "networking.k8s.io") && !strcmp(kind, "Ingress")) {
		lb_address(obj, msg, size, "No address yet");
		return OAM_H_CURRENT;
	}
	if (!strcmp(group, "autoscaling") && !strcmp(kind, "HorizontalPodAutoscaler")) {
		if (cond_is(obj, "ScalingActive", "False"))
			SET(OAM_H_CURRENT, "Not scaling: %s", cond_field(obj, "ScalingActive", "reason") ?
				cond_field(obj, "ScalingActive", "reason") : "");
		SET(OAM_H_CURRENT, "Replicas: %lld (min %lld, max %lld)", num(obj, "status", "currentReplicas", NULL, 0),
		    num(obj, "spec", "minReplicas", NULL, 1), num(obj, "spec", "maxReplicas", NULL, 0));
	}
	return OAM_H_CURRENT;
}

/* ---- the table ---- */

void oam_hentry_fill(struct oam_hentry *e, const json_t *obj, const char *what)
{
	json_t *labels = path(obj, "metadata", "labels", NULL);
	const char *c = json_string_value(json_object_get(labels, "app.oam.dev/component"));
	const char *t = json_string_value(json_object_get(labels, "trait.oam.dev/type"));
	const char *ns = str(obj, "metadata", "namespace", NULL);
	memset(e, 0, sizeof *e);
	oam_strlcpy(e->what, what, sizeof e->what);
	oam_strlcpy(e->ns, ns ? ns : "", sizeof e->ns);
	oam_strlcpy(e->component, c ? c : "", sizeof e->component);
	oam_strlcpy(e->trait, t ? t : "", sizeof e->trait);
	e->status = oam_health_compute(obj, e->msg, sizeof e->msg);
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct oam_hentry *a = pa, *b = pb;
	int r;
	/* Objects of no component go last. */
	if (!a->component[0] != !b->component[0])
		return a->component[0] ? -1 : 1;
	if ((r = strcmp(a->component, b->component)))
		return r;
	if (!a->trait[0] != !b->trait[0])
		return a->trait[0] ? 1 : -1;
	if ((r = strcmp(a->trait, b->trait)))
		return r;
	if ((r = strcmp(a->what, b->what)))
		return r;
	return strcmp(a->ns, b->ns);
}

void oam_health_print(struct oam_hentry *v, size_t n, FILE *f)
{
	int wc = (int)strlen("COMPONENT"), wt = (int)strlen("TRAIT"), wo = (int)strlen("OBJECT"), ws = (int)strlen("STATUS");
	qsort(v, n, sizeof *v, cmp_entry);
	for (size_t i = 0; i < n; i++) {
		int l;
		if ((l = (int)strlen(v[i].component[0] ? v[i].component : "-")) > wc) wc = l;
		if ((l = (int)strlen(v[i].trait[0] ? v[i].trait : "-")) > wt) wt = l;
		if ((l = (int)strlen(v[i].what)) > wo) wo = l;
		if ((l = (int)strlen(oam_health_name(v[i].status))) > ws) ws = l;
	}
	fprintf(f, "%-*s  %-*s  %-*s  %-*s  %s\n", wc, "COMPONENT", wt, "TRAIT", wo, "OBJECT", ws, "STATUS", "MESSAGE");
	for (size_t i = 0; i < n; i++) {
		/* The component is written once per group. */
		const char *comp = v[i].component[0] ? v[i].component : "-";
		if (i && !strcmp(v[i].component, v[i - 1].component))
			comp = "";
		if (v[i].msg[0])
			fprintf(f, "%-*s  %-*s  %-*s  %-*s  %s\n", wc, comp, wt, v[i].trait[0] ? v[i].trait : "-", wo,
				v[i].what, ws, oam_health_name(v[i].status), v[i].msg);
		else
			fprintf(f, "%-*s  %-*s  %-*s  %s\n", wc, comp, wt, v[i].trait[0] ? v[i].trait : "-", wo, v[i].what,
				oam_health_name(v[i].status));
	}
}
