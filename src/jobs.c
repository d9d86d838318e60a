/* jobs.c — rendering slices of the instances on several threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "oamlua/cores.h"
#include "oamlua/jobs.h"

/* Rendering needs the input trees; emitting does not. The main thread frees
 * them once every job has rendered, before it emits its own slice. */
struct sync {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pending;                    /* jobs still rendering */
	int hooks_failed;               /* a deferred validate hook found a problem */
};

struct job {
	struct sync *sync;
	struct oam_session *s;          /* the main session: model and options (read-only here) */
	struct oam_instance **inst;     /* this job's slice */
	size_t n;
	enum oam_format fmt;
	int main_thread;                /* uses the session's own Lua state */
	struct oam_lua lua;
	struct oam_registry reg;
	struct oam_arena *scratch;
	struct oam_diags diags;
	struct oam_buf out;
	int rc;
	pthread_t tid;
};

int oam_jobs_count(size_t ninstances)
{
	return oam_cores_for(ninstances, 200, 16);
}

static void rendered(struct sync *y, int hooks_failed)
{
	pthread_mutex_lock(&y->mu);
	y->hooks_failed |= hooks_failed;
	y->pending--;
	pthread_cond_broadcast(&y->cv);
	pthread_mutex_unlock(&y->mu);
}

/* Instances rendered and emitted at a time: an instance's objects are final
 * once its last trait ran, so each chunk is written out and its tables
 * dropped, which keeps the Lua heap (and the collector's work) small. */
#define CHUNK 128

/* Renders and emits the job's slice chunk by chunk. After a render error it
 * renders on (to report every instance's errors) but emits nothing more;
 * after a failed deferred hook it stops. */
static int render_and_emit(struct job *j, struct oam_run *run)
{
	lua_State *L = run->lua->L;
	char err[1024];
	int failed = 0;
	for (size_t at = 0; at < j->n && !run->hooks_failed; at += CHUNK) {
		size_t n = j->n - at < CHUNK ? j->n - at : CHUNK;
		if (oam_render_instances(run, j->inst + at, n, &j->diags) < 0) {
			failed = 1;
			continue;
		}
		if (!failed && oam_emit(L, -1, j->fmt, &j->out, err, sizeof err) < 0) {
			oam_diag_at(&j->diags, OAM_SEV_ERROR, "OAM604", NULL, 0, 0, "cannot write the output: %s", err);
			failed = 1;
		}
		lua_pop(L, 1);
	}
	return failed || run->hooks_failed ? -1 : 0;
}

static void emit_slice(struct job *j, struct oam_run *run)
{
	int r = render_and_emit(j, run);
	if (j->main_thread) {
		/* Wait for the others to be done with the inputs, then drop them
		 * (unless a hook failed: reporting that needs them again). */
		pthread_mutex_lock(&j->sync->mu);
		j->sync->hooks_failed |= run->hooks_failed;
		while (j->sync->pending > 1)
			pthread_cond_wait(&j->sync->cv, &j->sync->mu);
		int failed = j->sync->hooks_failed;
		pthread_mutex_unlock(&j->sync->mu);
		if (!failed && !j->s->exit_after)
			oam_session_drop_inputs(j->s);
	} else {
		rendered(j->sync, run->hooks_failed);
	}
	if (r < 0)
		j->rc = -1;
}

static void *worker_run(struct job *j);

static void *worker(void *arg)
{
	return worker_run(arg);
}

/* Sets up the job's own Lua state and modules, then renders and emits; on
 * a setup failure it still reports itself as done rendering. */
static void *worker_run(struct job *j)
{
	struct oam_err err;
	struct oam_opts *o = j->s->opts;
	int signalled = 0;
	j->rc = -1;
	if (oam_lua_init(&j->lua, &err) < 0) {
		oam_diag_at(&j->diags, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "render job: %s", err.msg);
		goto fail;
	}
	j->lua.insn_budget = j->s->lua.insn_budget;
	j->lua.mem_call_limit = j->s->lua.mem_call_limit;
	if (oam_registry_init(&j->reg, &j->lua) < 0 || !(j->scratch = oam_arena_new())) {
		oam_diag_at(&j->diags, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "render job: out of memory");
		goto fail;
	}
	/* The same search path: the modules were loaded once already, so any
	 * finding here means a file changed under us. */
	if (oam_registry_load(&j->reg, o->module_paths, &j->diags) < 0 || j->diags.nerrors)
		goto fail;
	j->diags.n = j->diags.nwarnings = 0;   /* load warnings were reported by the main state */
	struct oam_run run = j->s->run;
	run.lua = &j->lua;
	run.reg = &j->reg;
	run.scratch = j->scratch;
	run.worker = 1;
	j->rc = 0;
	signalled = 1;
	emit_slice(j, &run);
	return NULL;
fail:
	if (!signalled)
		rendered(j->sync, 0);
	return NULL;
}

static void release(struct job *j)
{
	/* Closing a job's Lua state frees every object it rendered, a tenth
	 * of a large run; the exit that follows gives the memory back anyway. */
	if (!j->main_thread && !j->s->exit_after) {
		if (j->reg.arena)
			oam_registry_release(&j->reg);
		oam_lua_close(&j->lua);
		oam_arena_free(j->scratch);
	}
	oam_diags_release(&j->diags);
	oam_buf_release(&j->out);
}

int oam_render_jobs(struct oam_session *s, enum oam_format fmt, int jobs, struct oam_buf *out)
{
	struct oam_instance **inst;
	size_t n = oam_render_list(&s->model, &inst);
	int rc = 0;
	if (!inst) {
		oam_diag_at(&s->diags, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
		return -1;
	}
	if (jobs < 1)
		jobs = 1;
	if ((size_t)jobs > n)
		jobs = n ? (int)n : 1;
	struct job *j = calloc((size_t)jobs, sizeof *j);
	if (!j) {
		free(inst);
		oam_diag_at(&s->diags, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
		return -1;
	}
	/* With several jobs the checks defer the trait hooks, so they built no
	 * contexts; should a caller render in jobs without deferring, contexts
	 * built in the main state are only good for the main thread's slice. */
	struct sync y = { .pending = jobs };
	pthread_mutex_init(&y.mu, NULL);
	pthread_cond_init(&y.cv, NULL);
	size_t per = n / (size_t)jobs, extra = n % (size_t)jobs, at = 0;
	for (int k = 0; k < jobs; k++) {
		j[k].sync = &y;
		j[k].s = s;
		j[k].fmt = fmt;
		j[k].inst = inst + at;
		j[k].n = per + ((size_t)k < extra ? 1 : 0);
		at += j[k].n;
		oam_diags_init(&j[k].diags);
		j[k].main_thread = k == 0;
		if (k)
			for (size_t i = 0; i < j[k].n; i++)
				if (j[k].inst[i]->ctx_ref > 0) {
					luaL_unref(s->lua.L, LUA_REGISTRYINDEX, j[k].inst[i]->ctx_ref);
					j[k].inst[i]->ctx_ref = -1;
				}
	}
	int *started = calloc((size_t)jobs, sizeof *started);
	for (int k = 1; k < jobs; k++) {
		started[k] = started && pthread_create(&j[k].tid, NULL, worker, &j[k]) == 0;
		if (!started[k])
			worker_run(&j[k]);   /* no thread to be had: do that slice here */
	}
	j[0].rc = 0;
	emit_slice(&j[0], &s->run);
	for (int k = 1; k < jobs; k++)
		if (started && started[k])
			pthread_join(j[k].tid, NULL);
	free(started);
	pthread_mutex_destroy(&y.mu);
	pthread_cond_destroy(&y.cv);
	if (y.hooks_failed) {
		/* Report the hooks' findings exactly as a one-core check would, and
		 * nothing from the render jobs (the serial run renders nothing). */
		oam_check_deferred(&s->run, &s->diags);
		for (int k = 0; k < jobs; k++)
			j[k].diags.n = 0;
		rc = -1;
	}
	for (int k = 0; k < jobs; k++) {
		for (size_t i = 0; i < j[k].diags.n; i++)
			oam_diag_copy(&s->diags, &j[k].diags.v[i]);
		if (j[k].rc)
			rc = -1;
	}
	int first = 0;
	if (rc == 0 && !out->data) {   /* the first slice becomes the output as it is */
		*out = j[0].out;
		memset(&j[0].out, 0, sizeof j[0].out);
		first = 1;
	}
	for (int k = first; rc == 0 && k < jobs; k++)
		if (oam_buf_add(out, j[k].out.data ? j[k].out.data : "", j[k].out.len) < 0) {
			oam_diag_at(&s->diags, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
			rc = -1;
		}
	for (int k = 0; k < jobs; k++)
		release(&j[k]);
	free(j);
	free(inst);
	return rc;
}
