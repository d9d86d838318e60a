/* Unit tests: the kstatus rules of health.c, one live object each. */
#include "tap.h"
#include "oamlua/health.h"

static enum oam_hstatus st(const char *json, char *msg, size_t size)
{
	json_error_t e;
	json_t *o = json_loads(json, 0, &e);
	if (!o) {
		diag("bad JSON in the test: %s", e.text);
		return OAM_H_UNKNOWN;
	}
	enum oam_hstatus s = oam_health_compute(o, msg, size);
	json_decref(o);
	return s;
}

#define CHECK(json, want, text, desc)                                                              \
	do {                                                                                       \
		char m_[256];                                                                      \
		enum oam_hstatus s_ = st(json, m_, sizeof m_);                                     \
		ok(s_ == (want) && strstr(m_, text) != NULL, "%s: %s (%s)", desc, oam_health_name(s_), m_); \
	} while (0)

#define DEP "\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\""
#define AVAILABLE "{\"type\":\"Available\",\"status\":\"True\",\"reason\":\"MinimumReplicasAvailable\"}"
#define PROGRESSED "{\"type\":\"Progressing\",\"status\":\"True\",\"reason\":\"NewReplicaSetAvailable\"}"

int main(void)
{
	CHECK("{" DEP ",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":2,\"progressDeadlineSeconds\":600}}",
	      OAM_H_INPROGRESS, "Replicas: 0/2", "Deployment just created");
	CHECK("{" DEP ",\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":1}}",
	      OAM_H_INPROGRESS, "Generation 2 is not observed", "Deployment: new generation not observed");
	CHECK("{" DEP ",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":3,\"progressDeadlineSeconds\":600},"
	      "\"status\":{\"observedGeneration\":1,\"replicas\":3,\"updatedReplicas\":3,\"readyReplicas\":1,"
	      "\"availableReplicas\":1,\"conditions\":[" AVAILABLE "]}}",
	      OAM_H_INPROGRESS, "Available: 1/3", "Deployment: pods not available yet");
	CHECK("{" DEP ",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":2,\"progressDeadlineSeconds\":600},"
	      "\"status\":{\"observedGeneration\":1,\"replicas\":3,\"updatedReplicas\":2,\"readyReplicas\":2,"
	      "\"availableReplicas\":2}}",
	      OAM_H_INPROGRESS, "Pending termination: 1", "Deployment: old pods still there");
	CHECK("{" DEP ",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":2,\"progressDeadlineSeconds\":600},"
	      "\"status\":{\"observedGeneration\":1,\"replicas\":2,\"updatedReplicas\":2,\"readyReplicas\":2,"
	      "\"availableReplicas\":2,\"conditions\":[" AVAILABLE ",{\"type\":\"Progressing\",\"status\":\"True\","
	      "\"reason\":\"ReplicaSetUpdated\"}]}}",
	      OAM_H_INPROGRESS, "ReplicaSet not Available", "Deployment: rollout not finished");
	CHECK("{" DEP ",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":2,\"progressDeadlineSeconds\":600},"
	      "\"status\":{\"observedGeneration\":1,\"replicas\":2,\"updatedReplicas\":2,\"readyReplicas\":2,"
	      "\"availableReplicas\":2,\"conditions\":[" AVAILABLE "," PROGRESSED "]}}",
	      OAM_H_CURRENT, "Deployment is available. Replicas: 2", "Deployment rolled out");
	CHECK("{" DEP ",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":1},\"status\":{\"observedGeneration\":1,"
	      "\"conditions\":[{\"type\":\"Progressing\",\"status\":\"False\",\"reason\":\"ProgressDeadlineExceeded\"}]}}",
	      OAM_H_FAILED, "Progress deadline exceeded", "Deployment past its progress deadline");
	CHECK("{" DEP ",\"metadata\":{\"generation\":1,\"deletionTimestamp\":\"2025-01-01T00:00:00Z\"},\"spec\":{}}",
	      OAM_H_TERMINATING, "deletion", "being deleted");

	CHECK("{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":2},"
	      "\"status\":{\"observedGeneration\":1,\"replicas\":2,\"readyReplicas\":1,\"currentReplicas\":2}}",
	      OAM_H_INPROGRESS, "Ready: 1/2", "StatefulSet: a replica not ready");
	CHECK("{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":2},"
	      "\"status\":{\"observedGeneration\":1,\"replicas\":2,\"readyReplicas\":2,\"currentReplicas\":2,"
	      "\"updatedReplicas\":2,\"currentRevision\":\"a\",\"updateRevision\":\"b\"}}",
	      OAM_H_INPROGRESS, "updated revision", "StatefulSet: revision rolling");
	CHECK("{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":2},"
	      "\"status\":{\"observedGeneration\":1,\"replicas\":2,\"readyReplicas\":2,\"currentReplicas\":2,"
	      "\"updatedReplicas\":2,\"currentRevision\":\"a\",\"updateRevision\":\"a\"}}",
	      OAM_H_CURRENT, "Replicas: 2", "StatefulSet ready");
	CHECK("{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"spec\":{\"updateStrategy\":{\"type\":\"OnDelete\"}}}",
	      OAM_H_CURRENT, "OnDelete", "StatefulSet with OnDelete");
	CHECK("{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"generation\":1},\"status\":{\"observedGeneration\":1,"
	      "\"desiredNumberScheduled\":3,\"currentNumberScheduled\":3,\"updatedNumberScheduled\":3,\"numberAvailable\":2,"
	      "\"numberReady\":3}}",
	      OAM_H_INPROGRESS, "Available: 2/3", "DaemonSet: one not available");

	CHECK("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"spec\":{}}", OAM_H_INPROGRESS, "Job not started", "Job not started");
	CHECK("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"spec\":{},\"status\":{\"startTime\":\"x\",\"active\":1}}",
	      OAM_H_CURRENT, "Job in progress", "Job running (kstatus: Current)");
	CHECK("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"spec\":{\"completions\":1},\"status\":{\"succeeded\":1,"
	      "\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\"}]}}",
	      OAM_H_CURRENT, "Job Completed. succeeded: 1/1", "Job complete");
	CHECK("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"spec\":{},\"status\":{\"failed\":6,"
	      "\"conditions\":[{\"type\":\"Failed\",\"status\":\"True\"}]}}",
	      OAM_H_FAILED, "Job Failed", "Job failed");

	CHECK("{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"status\":{\"phase\":\"Pending\"}}",
	      OAM_H_INPROGRESS, "phase: Pending", "PVC pending");
	CHECK("{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"status\":{\"phase\":\"Bound\"}}",
	      OAM_H_CURRENT, "Bound", "PVC bound");
	CHECK("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"spec\":{\"type\":\"LoadBalancer\"}}",
	      OAM_H_INPROGRESS, "ClusterIP not set", "LoadBalancer Service without a cluster IP");
	CHECK("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"spec\":{\"clusterIP\":\"10.0.0.1\"}}",
	      OAM_H_CURRENT, "Service is ready", "ClusterIP Service");
	CHECK("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{}}", OAM_H_CURRENT, "", "ConfigMap");
	CHECK("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"c\","
	      "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}}",
	      OAM_H_FAILED, "CrashLoopBackOff", "Pod in CrashLoopBackOff");

	CHECK("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"generation\":1},\"spec\":{}}",
	      OAM_H_CURRENT, "No address yet", "Ingress without an address (kstatus: Current)");
	CHECK("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.1\"}]}}}",
	      OAM_H_CURRENT, "Address: 192.0.2.1", "Ingress with an address");
	CHECK("{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"spec\":{\"minReplicas\":1,\"maxReplicas\":5},"
	      "\"status\":{\"currentReplicas\":2}}",
	      OAM_H_CURRENT, "Replicas: 2 (min 1, max 5)", "HPA");

	CHECK("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
	      "\"message\":\"warming up\"}]}}",
	      OAM_H_INPROGRESS, "warming up", "custom resource with Ready=False");
	CHECK("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"status\":{\"conditions\":[{\"type\":\"Stalled\",\"status\":\"True\","
	      "\"message\":\"quota\"}]}}",
	      OAM_H_FAILED, "quota", "custom resource Stalled");
	CHECK("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\"}", OAM_H_CURRENT, "", "custom resource without conditions");
	CHECK("{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\",\"status\":{\"conditions\":"
	      "[{\"type\":\"Established\",\"status\":\"True\"}]}}",
	      OAM_H_CURRENT, "established", "CRD established");

	/* The table: grouped by component, workload objects before traits. */
	{
		struct oam_hentry e[3];
		json_t *a = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"labels\":{\"app.oam.dev/component\":\"web\"}}}", 0, NULL);
		json_t *b = json_loads("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"labels\":"
				       "{\"app.oam.dev/component\":\"web\",\"trait.oam.dev/type\":\"ingress\"}}}", 0, NULL);
		json_t *c = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"labels\":{\"app.oam.dev/component\":\"api\"}}}", 0, NULL);
		oam_hentry_fill(&e[0], b, "ingress.networking.k8s.io/web");
		oam_hentry_fill(&e[1], a, "service/web");
		oam_hentry_fill(&e[2], c, "configmap/api");
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		oam_health_print(e, 3, f);
		fclose(f);
		is_str(buf, "COMPONENT  TRAIT    OBJECT                         STATUS   MESSAGE\n"
			    "api        -        configmap/api                  Current\n"
			    "web        -        service/web                    Current  Service is ready\n"
			    "           ingress  ingress.networking.k8s.io/web  Current  No address yet\n",
		       "status table grouped by component, traits after the workload's objects");
		free(buf);
		json_decref(a);
		json_decref(b);
		json_decref(c);
	}
	return done_testing();
}
