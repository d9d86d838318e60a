/* curl.c — loading libcurl on first use (why: see curl.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oamlua/curl.h"

#define LIBCURL "libcurl.so.4"

struct oam_curl_api oam_curl;

/* dlsym returns an object pointer; POSIX guarantees that it converts to a
 * function pointer, which the loader relies on by copying the bytes. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "function pointers must fit in void *");

static const struct {
	const char *name;
	size_t off;
} functions[] = {
#define ROW(fn) { "curl_" #fn, offsetof(struct oam_curl_api, fn) },
	OAM_CURL_FUNCTIONS(ROW)
#undef ROW
};

/* The outcome of the one load, kept for every later caller: dlerror() is
 * per thread and gone after the next call. */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_lib[256];
static char load_err[512];      /* "" = loaded */

static void load(void)
{
	struct oam_curl_api api;
	void *h;
	/* OAMLUA_LIBCURL replaces the library's name, for tests only:
	 * tests/curl.t and tests/golden/err-902-* point it at a missing file and
	 * at a library without curl's functions to see the failures reported. */
	const char *name = getenv("OAMLUA_LIBCURL");
	if (!name || !*name)
		name = LIBCURL;
	oam_strlcpy(load_lib, name, sizeof load_lib);
	/* A missing library fails here either way; RTLD_LAZY leaves binding
	 * the dependencies' symbols to their first use, as linking did:
	 * RTLD_NOW cost the cluster commands 0.3 ms per run. */
	if (!(h = dlopen(name, RTLD_LAZY | RTLD_LOCAL))) {
		const char *why = dlerror();
		snprintf(load_err, sizeof load_err, "%s", why ? why : "dlopen failed");
		return;
	}
	memset(&api, 0, sizeof api);
	for (size_t i = 0; i < sizeof functions / sizeof *functions; i++) {
		void *sym = dlsym(h, functions[i].name);
		if (!sym) {
			snprintf(load_err, sizeof load_err, "it has no %s", functions[i].name);
			goto fail;
		}
		memcpy((char *)&api + functions[i].off, &sym, sizeof sym);
	}
	CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		snprintf(load_err, sizeof load_err, "curl_global_init failed: %s", api.easy_strerror(rc));
		goto fail;
	}
	oam_curl = api;
	return;
fail:
	dlclose(h);
}

int oam_curl_load(struct oam_diags *d)
{
	pthread_once(&load_once, load);
	if (!load_err[0])
		return 0;
	struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM902", NULL, 0, 0, "cannot load libcurl '%s': %s",
					load_lib, load_err);
	oam_diag_hint(e, "commands that talk to a cluster or to podman need libcurl: apt-get install libcurl4");
	return -1;
}
