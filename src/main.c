/* main.c — the command table. Each command lives in its own cmd_*.c. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "oamlua/apply.h"
#include "oamlua/cli.h"
#include "oamlua/docs.h"
#include "oamlua/pack.h"
#include "oamlua/podman.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static int cmd_help(int argc, char **argv);

/* Commands that act on a target other than Kubernetes: `--target podman`
 * sends them here. */
static const struct command podman_commands[] = {
	{ "apply", cmd_podman_apply, NULL },
	{ "delete", cmd_podman_delete, NULL },
	{ "status", cmd_podman_status, NULL },
	{ NULL, NULL, NULL }
};

static int wants_podman(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--target=podman"))
			return 1;
		if (!strcmp(argv[i], "--target") && i + 1 < argc && !strcmp(argv[i + 1], "podman"))
			return 1;
	}
	return 0;
}

static const struct command commands[] = {
	{ "render", cmd_render, "render OAM documents to Kubernetes manifests (offline)" },
	{ "validate", cmd_validate, "check OAM documents and report every problem" },
	{ "traits", cmd_traits, "list trait modules" },
	{ "workloads", cmd_workloads, "list workload type modules" },
	{ "explain", cmd_explain, "describe a trait or workload type and its properties" },
	{ "docs", cmd_docs, "write the Markdown reference of every workload type and trait" },
	{ "apply", cmd_apply, "render and apply to a cluster (server-side apply, prune, wait)" },
	{ "diff", cmd_diff, "show what apply would change in the cluster" },
	{ "delete", cmd_delete, "delete an application's objects from the cluster" },
	{ "status", cmd_status, "show the health of an application's objects" },
	{ "pack", cmd_pack, "trait packs: write, test, build, sign, install, share (docs/packs.md)" },
	{ "version", cmd_version, "print the version" },
	{ "help", cmd_help, "show help for a command" },
	{ NULL, NULL, NULL }
};

static void usage(FILE *f)
{
	fputs("usage: oamlua COMMAND [flags]\n\n"
	      "oamlua turns Open Application Model (core.oam.dev/v1alpha1) components and\n"
	      "application configurations into Kubernetes manifests. Workload types and\n"
	      "traits are sandboxed Lua modules.\n\nCommands:\n", f);
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->help);
	fputs("\nRun 'oamlua COMMAND --help' for a command's flags.\n\n"
	      "Exit status:\n"
	      "  0  success\n"
	      "  1  invalid input (schema, references, conflicts)\n"
	      "  2  usage error (bad flags or arguments)\n"
	      "  3  module error (a Lua module failed to load or render, or hit a limit)\n"
	      "  4  cluster error\n"
	      "  5  system error (I/O, out of memory, libcurl missing)\n", f);
}

int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))
		oam_die_usage("version", "unexpected argument '%s'", argv[1]);
	if (argc > 1) {
		puts("usage: oamlua version\n\nPrints the oamlua version, the module API version and the Lua version.");
		return oam_finish_stdout();
	}
	printf("oamlua %s (module API oamlua/v1, %s)\n", OAM_VERSION, "Lua 5.4");
	return oam_finish_stdout();
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return oam_finish_stdout();
	}
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, argv[1]) && c->fn != cmd_help) {
			char *args[] = { argv[1], "--help", NULL };
			return c->fn(2, args);
		}
	oam_die_usage(NULL, "unknown command '%s'", argv[1]);
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "C");
	if (argc < 2) {
		usage(stderr);
		return OAM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return oam_finish_stdout();
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv + 1);
	if (wants_podman(argc - 1, argv + 1))
		for (const struct command *c = podman_commands; c->name; c++)
			if (!strcmp(c->name, argv[1]))
				return c->fn(argc - 1, argv + 1);
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, argv[1]))
			return c->fn(argc - 1, argv + 1);
	for (const struct command *c = podman_commands; c->name; c++)
		if (!strcmp(c->name, argv[1]))
			oam_die_usage(NULL, "'%s' needs a target: --target podman (Kubernetes support is not built in yet)",
				      argv[1]);
	const char *names[64];
	size_t n = 0;
	for (const struct command *c = commands; c->name && n < 64; c++)
		names[n++] = c->name;
	const char *close = oam_closest(argv[1], names, n);
	if (close)
		oam_die_usage(NULL, "unknown command '%s' (did you mean '%s'?)", argv[1], close);
	oam_die_usage(NULL, "unknown command '%s'", argv[1]);
}
