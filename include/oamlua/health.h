/* health.h — is a live object ready? The kstatus rules
 * (sigs.k8s.io/cli-utils/pkg/kstatus), and the per-object table that
 * `oamlua status` and `oamlua apply --wait` print.
 *
 * Order: being deleted → Terminating; generation not yet observed →
 * InProgress; Reconciling/Stalled conditions; then the rule of the kind
 * (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Pod, PVC, Service,
 * CRD; ConfigMap, Secret, CronJob, PDB always Current); else a Ready
 * condition; else Current (Ingress and HPA land here, with their address or
 * scaling condition as the message). */
#ifndef OAMLUA_HEALTH_H
#define OAMLUA_HEALTH_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

enum oam_hstatus {
	OAM_H_CURRENT,
	OAM_H_INPROGRESS,
	OAM_H_FAILED,
	OAM_H_TERMINATING,
	OAM_H_NOTFOUND,
	OAM_H_UNKNOWN
};

const char *oam_health_name(enum oam_hstatus s);

/* The status of a live object (with apiVersion and kind) and a short
 * message (may be empty) in msg. */
enum oam_hstatus oam_health_compute(const json_t *obj, char *msg, size_t size);

/* One line of the table. */
struct oam_hentry {
	char what[300];                 /* deployment.apps/web */
	char ns[254];
	char component[254];            /* app.oam.dev/component label, "" if none */
	char trait[128];                /* trait.oam.dev/type label, "" for the workload's own objects */
	enum oam_hstatus status;
	char msg[256];
};

/* Fills an entry from a live object (labels, kind, health). `what` is its
 * display name. */
void oam_hentry_fill(struct oam_hentry *e, const json_t *obj, const char *what);
/* Sorts entries by component, then workload objects before traits, then
 * trait and name; prints them as a table grouped by component. */
void oam_health_print(struct oam_hentry *v, size_t n, FILE *f);

#endif
