/* floor: the physical floor of a libyaml-based renderer.
 *
 * Reads a YAML stream on stdin and writes it back on stdout through
 * libyaml's event API (yaml_parser_parse -> yaml_emitter_emit), with the
 * same emitter settings as oamlua (unicode, no line folding).  It builds no
 * tree and renders nothing: whatever oamlua does beyond this is the cost of
 * loading, checking and rendering.  Fed oamlua's own output, it reproduces
 * it byte for byte (run.sh checks that).
 *
 * Build: cc -O2 bench/floor.c -lyaml -o bench/out/floor
 */
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

static int write_out(void *data, unsigned char *buf, size_t size)
{
    return fwrite(buf, 1, size, (FILE *)data) == size;
}

int main(void)
{
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);

    yaml_parser_t p;
    yaml_emitter_t e;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&p) || !yaml_emitter_initialize(&e)) {
        fputs("floor: out of memory\n", stderr);
        return 5;
    }
    yaml_parser_set_input_file(&p, stdin);
    yaml_emitter_set_output(&e, write_out, stdout);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, 1 << 20);

    int rc = 0;
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            fprintf(stderr, "floor: parse error: %s at line %lu\n",
                    p.problem ? p.problem : "?", (unsigned long)p.problem_mark.line + 1);
            rc = 1;
            break;
        }
        int done = ev.type == YAML_STREAM_END_EVENT;
        if (!yaml_emitter_emit(&e, &ev)) { /* takes ownership of ev */
            fprintf(stderr, "floor: emit error: %s\n", e.problem ? e.problem : "?");
            rc = 1;
            break;
        }
        if (done) break;
    }
    yaml_parser_delete(&p);
    yaml_emitter_delete(&e);
    if (fflush(stdout) != 0) rc = 5;
    return rc;
}
