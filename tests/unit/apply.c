/* Unit tests: pieces of apply that need no server — SHA-256, ApplySet IDs
 * (the value kubectl computes), dependency waves, durations, the YAML of
 * JSON objects and unified diffs. */
#include "tap.h"
#include "oamlua/apply.h"
#include "oamlua/diff.h"

static void hex(const unsigned char *d, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static char *yaml(const char *json)
{
	struct oam_buf b = { 0 };
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	if (!v || oam_json_yaml(v, &b) < 0 || oam_buf_add(&b, "", 1) < 0) {
		json_decref(v);
		oam_buf_release(&b);
		return NULL;
	}
	json_decref(v);
	return b.data;
}

int main(void)
{
	unsigned char d[32];
	char h[65], id[128];

	oam_sha256("abc", 3, d);
	hex(d, h);
	is_str(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256(abc)");
	oam_sha256("", 0, d);
	hex(d, h);
	is_str(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of nothing");
	{
		char m[200];
		memset(m, 'a', sizeof m);
		oam_sha256(m, 56, d);   /* the padding spills into a second block */
		hex(d, h);
		is_str(h, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a", "sha256 of 56 bytes");
	}

	oam_applyset_id("myset", "default", "Secret", "", id, sizeof id);
	is_str(id, "applyset-51uXdjs_k8zt9KVdAtPaWnW_O9B-EVzd2Bkztfa9DSA-v1", "ApplySet ID as kubectl computes it");

	is_int(oam_apply_wave("", "Namespace"), 0, "namespaces first");
	is_int(oam_apply_wave("apiextensions.k8s.io", "CustomResourceDefinition"), 1, "then CRDs");
	is_int(oam_apply_wave("", "ConfigMap"), 2, "then config");
	is_int(oam_apply_wave("", "Service"), 3, "then services");
	is_int(oam_apply_wave("apps", "Deployment"), 4, "then workloads");
	is_int(oam_apply_wave("networking.k8s.io", "Ingress"), 5, "then the rest");
	is_int(oam_apply_wave("example.com", "Widget"), 5, "custom resources last");

	ok(oam_parse_duration("90") == 90, "duration: plain seconds");
	ok(oam_parse_duration("5m") == 300, "duration: 5m");
	ok(oam_parse_duration("1h2m3s") == 3723, "duration: 1h2m3s");
	ok(oam_parse_duration("500ms") == 0.5, "duration: 500ms");
	ok(oam_parse_duration("5x") < 0 && oam_parse_duration("") < 0, "duration: invalid");

	char *y = yaml("{\"spec\":{\"b\":[1,{\"x\":\"yes\",\"a\":\"\"}],\"a\":{}},\"kind\":\"K\",\"apiVersion\":\"v1\","
		       "\"metadata\":{\"name\":\"n\",\"labels\":{\"app\":\"x: y\"}},\"data\":{\"f\":\"l1\\nl2\\n\",\"g\":\"8080\"}}");
	is_str(y, "apiVersion: v1\n"
		  "kind: K\n"
		  "metadata:\n"
		  "  labels:\n"
		  "    app: \"x: y\"\n"
		  "  name: \"n\"\n"   /* YAML 1.1 reads a plain n as false */
		  "spec:\n"
		  "  a: {}\n"
		  "  b:\n"
		  "  - 1\n"
		  "  - a: \"\"\n"
		  "    x: \"yes\"\n"
		  "data:\n"
		  "  f: |\n"
		  "    l1\n"
		  "    l2\n"
		  "  g: \"8080\"\n",
	       "JSON as YAML: top keys first, sorted maps, quoting, literal blocks");
	free(y);

	struct oam_buf out = { 0 };
	is_int(oam_diff_unified("a\nb\n", "a\nb\n", "x", "y", &out), 0, "diff: equal texts");
	is_int(oam_diff_unified("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n", "live/x", "merged/x", &out), 1,
	       "diff: a changed line");
	oam_buf_add(&out, "", 1);
	is_str(out.data, "--- live/x\n+++ merged/x\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n", "diff: unified hunk with 3 lines of context");
	oam_buf_release(&out);
	memset(&out, 0, sizeof out);
	oam_diff_unified("", "new\n", "a", "b", &out);
	oam_buf_add(&out, "", 1);
	is_str(out.data, "--- a\n+++ b\n@@ -0,0 +1 @@\n+new\n", "diff: from nothing");
	oam_buf_release(&out);
	memset(&out, 0, sizeof out);
	oam_diff_unified("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "x\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ny\n", "a", "b", &out);
	oam_buf_add(&out, "", 1);
	is_str(out.data, "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+x\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+y\n",
	       "diff: two hunks");
	oam_buf_release(&out);
	return done_testing();
}
