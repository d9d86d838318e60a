/* canon: canonical form of a Kubernetes YAML stream, for comparing renderers.
 *
 *   canon [-k] < stream.yaml
 *
 * Each non-empty document becomes one line of JSON on stdout with mapping
 * keys sorted, so two streams that hold the same objects give the same lines
 * once sorted, whatever the key order, document order, comments, quoting or
 * indentation.  Plain scalars are typed with the YAML 1.2 core schema (null,
 * bool, int, float; everything else is a string), quoted scalars are
 * strings.  With -k, each line is just "apiVersion kind name" instead.
 *
 * Build: cc -O2 bench/canon.c -lyaml -o bench/out/canon
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct { char *s; size_t n, cap; } buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 64;
        while (c < b->n + n + 1) c *= 2;
        b->s = realloc(b->s, c);
        if (!b->s) { fputs("canon: out of memory\n", stderr); exit(5); }
        b->cap = c;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}
static void puts_(buf_t *b, const char *s) { put(b, s, strlen(s)); }

static void json_str(buf_t *b, const char *s, size_t n)
{
    puts_(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        if (c == '"' || c == '\\') { tmp[0] = '\\'; tmp[1] = (char)c; put(b, tmp, 2); }
        else if (c == '\n') puts_(b, "\\n");
        else if (c == '\t') puts_(b, "\\t");
        else if (c < 0x20) { snprintf(tmp, sizeof tmp, "\\u%04x", c); puts_(b, tmp); }
        else put(b, (const char *)&c, 1);
    }
    puts_(b, "\"");
}

static int is_one_of(const char *s, const char *const *list)
{
    for (; *list; list++) if (strcmp(s, *list) == 0) return 1;
    return 0;
}

/* A plain scalar, typed by the YAML 1.2 core schema. */
static void plain(buf_t *b, const char *s, size_t n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    if (is_one_of(s, nulls)) { puts_(b, "null"); return; }
    if (is_one_of(s, trues)) { puts_(b, "true"); return; }
    if (is_one_of(s, falses)) { puts_(b, "false"); return; }
    char *end;
    char tmp[64];
    if (n && n < 40 && (isdigit((unsigned char)s[0]) || ((s[0] == '-' || s[0] == '+') && n > 1))) {
        errno = 0;
        long long v = strtoll(s, &end, 0);
        int octal_like = s[0] == '0' && n > 1 && s[1] != 'x' && s[1] != 'o'; /* 012 is a string in 1.2 */
        if (*end == 0 && errno == 0 && !octal_like) {
            snprintf(tmp, sizeof tmp, "%lld", v);
            puts_(b, tmp);
            return;
        }
        if (s[0] == '0' && s[1] == 'o') {
            v = strtoll(s + 2, &end, 8);
            if (*end == 0 && end != s + 2) { snprintf(tmp, sizeof tmp, "%lld", v); puts_(b, tmp); return; }
        }
        double d = strtod(s, &end);
        if (*end == 0 && strspn(s, "+-0123456789.eE") == n) {
            snprintf(tmp, sizeof tmp, "%.17g", d);
            puts_(b, tmp);
            return;
        }
    }
    json_str(b, s, n);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void node(buf_t *b, yaml_document_t *d, yaml_node_t *nd)
{
    switch (nd->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)nd->data.scalar.value;
        if (nd->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) plain(b, s, nd->data.scalar.length);
        else json_str(b, s, nd->data.scalar.length);
        break;
    }
    case YAML_SEQUENCE_NODE: {
        puts_(b, "[");
        int first = 1;
        for (yaml_node_item_t *it = nd->data.sequence.items.start; it < nd->data.sequence.items.top; it++) {
            if (!first) puts_(b, ",");
            first = 0;
            node(b, d, yaml_document_get_node(d, *it));
        }
        puts_(b, "]");
        break;
    }
    case YAML_MAPPING_NODE: {
        size_t n = (size_t)(nd->data.mapping.pairs.top - nd->data.mapping.pairs.start);
        char **pairs = calloc(n ? n : 1, sizeof *pairs);
        size_t k = 0;
        for (yaml_node_pair_t *p = nd->data.mapping.pairs.start; p < nd->data.mapping.pairs.top; p++) {
            buf_t pb = {0};
            yaml_node_t *key = yaml_document_get_node(d, p->key);
            if (key->type == YAML_SCALAR_NODE)
                json_str(&pb, (const char *)key->data.scalar.value, key->data.scalar.length);
            else {
                buf_t kb = {0};
                node(&kb, d, key);
                json_str(&pb, kb.s, kb.n);
                free(kb.s);
            }
            puts_(&pb, ":");
            node(&pb, d, yaml_document_get_node(d, p->value));
            pairs[k++] = pb.s;
        }
        qsort(pairs, n, sizeof *pairs, cmp_str);
        puts_(b, "{");
        for (size_t i = 0; i < n; i++) {
            if (i) puts_(b, ",");
            puts_(b, pairs[i]);
            free(pairs[i]);
        }
        puts_(b, "}");
        free(pairs);
        break;
    }
    default:
        puts_(b, "null");
    }
}

/* Value of a scalar key in a mapping node, or "-". */
static const char *get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE) return "-";
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0) {
            yaml_node_t *v = yaml_document_get_node(d, p->value);
            return v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : "-";
        }
    }
    return "-";
}

static yaml_node_t *getn(yaml_document_t *d, yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int names = argc > 1 && strcmp(argv[1], "-k") == 0;
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, stdin);
    buf_t b = {0};
    for (;;) {
        yaml_document_t d;
        if (!yaml_parser_load(&p, &d)) {
            fprintf(stderr, "canon: parse error: %s at line %lu\n",
                    p.problem ? p.problem : "?", (unsigned long)p.problem_mark.line + 1);
            return 1;
        }
        yaml_node_t *root = yaml_document_get_root_node(&d);
        if (!root) { yaml_document_delete(&d); break; } /* end of stream */
        int empty = root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0;
        if (!empty) {
            b.n = 0;
            if (names)
                printf("%s %s %s\n", get(&d, root, "apiVersion"), get(&d, root, "kind"),
                       get(&d, getn(&d, root, "metadata"), "name"));
            else {
                node(&b, &d, root);
                puts(b.s);
            }
        }
        yaml_document_delete(&d);
    }
    yaml_parser_delete(&p);
    free(b.s);
    return fflush(stdout) ? 5 : 0;
}
