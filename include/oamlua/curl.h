/* curl.h — libcurl, loaded with dlopen the first time a command needs it.
 *
 * Only the commands that talk to a cluster or to podman use libcurl (apply,
 * diff, delete, status, the podman target, the pack and list commands with
 * --context). Linked in, it made every run load it and the ~30 libraries it
 * needs (TLS, Kerberos, LDAP, SSH, …): 2.8 ms per exec, 40% of a small
 * `render`. So the binary does not link it; those commands call
 * oam_curl_load() first, and call libcurl through the pointers in oam_curl.
 * <curl/curl.h> still supplies the types and constants.
 *
 * Calls through oam_curl bypass curl's typecheck-gcc macros: pass setopt
 * values of the documented type yourself (1L for a long, curl_off_t for the
 * _LARGE options, a real pointer for NULL where a pointer is expected). */
#ifndef OAMLUA_CURL_H
#define OAMLUA_CURL_H

#include <curl/curl.h>

#include "oamlua/err.h"

/* Every libcurl function oamlua calls, without its curl_ prefix: one row
 * here adds a field to struct oam_curl_api and a symbol to the loader. */
#define OAM_CURL_FUNCTIONS(X)                                                      \
	X(global_init) X(free) X(easy_init) X(easy_reset) X(easy_cleanup)          \
	X(easy_setopt) X(easy_getinfo) X(easy_perform) X(easy_strerror)            \
	X(easy_escape) X(slist_append) X(slist_free_all) X(multi_init)             \
	X(multi_cleanup) X(multi_setopt) X(multi_add_handle)                       \
	X(multi_remove_handle) X(multi_perform) X(multi_poll) X(multi_info_read)   \
	X(share_init) X(share_setopt) X(share_cleanup) X(url) X(url_set)           \
	X(url_get) X(url_cleanup)

/* Each field has the exact type of curl.h's declaration (variadic for the
 * setopt and getinfo functions). __typeof__ does not expand curl.h's
 * function-like macros of the same names: no parenthesis follows them. */
struct oam_curl_api {
#define OAM_CURL_FIELD(fn) __typeof__(curl_##fn) *fn;
	OAM_CURL_FUNCTIONS(OAM_CURL_FIELD)
#undef OAM_CURL_FIELD
};

/* The loaded functions: valid once oam_curl_load() has returned 0, NULL
 * before. */
extern struct oam_curl_api oam_curl;

/* Loads libcurl.so.4 and runs curl_global_init, the first time (thread-safe);
 * later calls only repeat the outcome. Returns 0, or -1 with an OAM902
 * finding in `d` that names the library and the loader's reason. */
int oam_curl_load(struct oam_diags *d);

#endif
