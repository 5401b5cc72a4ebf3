/*
 * sysdesc.c - reading and checking a system description (sysdesc.h;
 * docs/system-description.md has the format).
 *
 * libxml2 builds a tree from the bytes, and nothing more: no network, no
 * DTD (a DOCTYPE stops the parser at once, so no entity is ever declared,
 * loaded or expanded), no XInclude, elements at most SYS_MAX_DEPTH deep.
 * The tree is then walked in three passes, so a name may be used before
 * the element that defines it: memory regions and switches (they refer to
 * nothing), virtual machines (their NICs name switches, their maps name
 * regions), channels (they name VMs and regions).  Every mistake becomes
 * one error with the line of the element it is about; the errors are
 * sorted by line and the first SYS_MAX_ERRORS reported.  The model is
 * handed out only when there is none.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <vmmkit/board.h>

#include "vmmkit/sysdesc.h"

/* Nesting the format needs is 3 (system, virtual_machine, kernel). */
#define SYS_MAX_DEPTH 8
/* Errors kept before sorting; the first SYS_MAX_ERRORS by line are reported. */
#define ERRORS_KEPT 256u
/* Longest attribute value quoted in a message. */
#define QUOTE "%.64s"
#define ATTRS_MAX 12

typedef struct sys_error {
    unsigned int line; /* 0: about the file as a whole */
    unsigned int seq;
    char *msg;
} sys_error_t;

/* A MAC or tap name in use, and where. */
typedef struct sys_claim {
    char key[18];
    unsigned int line;
} sys_claim_t;

typedef struct parse_state {
    const char *name; /* the file, for messages */
    const char *dir;  /* relative paths are resolved against it ("" or NULL: kept) */
    bool check_files;
    sysdesc_t *d;
    sys_vm_t *scratch_vm; /* checks a VM that is not kept (a duplicate, or one too many) */
    sys_error_t errors[ERRORS_KEPT];
    unsigned int nr_errors;
    bool nomem;
    bool xml_stopped; /* the parser was stopped: its own later complaints are noise */
    bool xml_failed;  /* libxml2 reported the first error: the rest follow from it */
    int depth;
    unsigned int vm_channel_ends[SYS_MAX_VMS];
    sys_claim_t macs[SYS_MAX_VMS * CLI_MAX_NETS];
    unsigned int nr_macs;
    sys_claim_t taps[SYS_MAX_VMS * CLI_MAX_NETS + SYS_MAX_SWITCHES];
    unsigned int nr_taps;
} parse_state_t;

/* --- errors ----------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void sys_error(parse_state_t *ps, unsigned int line,
                                                            const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (ps->nr_errors == ERRORS_KEPT)
        return;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        ps->nomem = true;
        return;
    }
    /* One line each, whatever the values quoted in it hold (&#10; in an attribute). */
    for (char *p = msg; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    ps->errors[ps->nr_errors] = (sys_error_t){.line = line, .seq = ps->nr_errors, .msg = msg};
    ps->nr_errors++;
}

/*
 * The line an element starts on (recorded in _private as it is parsed:
 * libxml2's own line is where its start tag ends), or a node's line.
 */
static unsigned int node_line(const xmlNode *n)
{
    if (n->type == XML_ELEMENT_NODE && n->_private)
        return (unsigned int)(uintptr_t)n->_private;
    long line = xmlGetLineNo(n);
    return line > 0 && line <= (long)UINT_MAX ? (unsigned int)line : 0;
}

static int error_cmp(const void *a, const void *b)
{
    const sys_error_t *x = a, *y = b;

    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Append to @err (@errlen bytes, always NUL-terminated, never overrun). */
static void err_append(char *err, size_t errlen, size_t *used, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen || *used >= errlen - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(err + *used, errlen - *used, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    *used += (size_t)n < errlen - *used ? (size_t)n : errlen - 1 - *used;
}

/* Write the errors found, sorted by line, into @err; free them. */
static void errors_flush(parse_state_t *ps, char *err, size_t errlen)
{
    size_t used = 0;

    if (err && errlen)
        err[0] = '\0';
    qsort(ps->errors, ps->nr_errors, sizeof(ps->errors[0]), error_cmp);
    for (unsigned int i = 0; i < ps->nr_errors; i++) {
        const sys_error_t *e = &ps->errors[i];
        if (i < SYS_MAX_ERRORS) {
            if (e->line)
                err_append(err, errlen, &used, "%s%s:%u: %s", i ? "\n" : "", ps->name, e->line,
                           e->msg);
            else
                err_append(err, errlen, &used, "%s%s: %s", i ? "\n" : "", ps->name, e->msg);
        }
        free(e->msg);
    }
    ps->nr_errors = 0;
}

/* --- values ----------------------------------------------------------------------------- */

static bool is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* 1..@max characters of [A-Za-z0-9_-]. */
static bool valid_name(const char *s, size_t max)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return n >= 1 && n <= max;
}

/* A Linux interface name (dev_valid_name): 1..15 bytes, not . or .., no '/', ':' or space. */
static bool valid_ifname(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (; *s; s++) {
        if (*s == '/' || *s == ':' || is_xml_space(*s) || (unsigned char)*s < 0x20)
            return false;
    }
    return true;
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0")) {
        *out = false;
        return 0;
    }
    return -EINVAL;
}

/* A decimal number in [@min, @max], nothing else. */
static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;

    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        unsigned d = (unsigned)(*s - '0');
        if (v > (ULONG_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static void format_mac(char out[18], const uint8_t mac[6])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

/* Record @key as used at @line; report it when an earlier element used it. */
static void claim(parse_state_t *ps, sys_claim_t *list, unsigned int *nr, unsigned int cap,
                  const char *what, const char *key, unsigned int line)
{
    for (unsigned int i = 0; i < *nr; i++) {
        if (strcmp(list[i].key, key) == 0) {
            sys_error(ps, line, "%s %s is already used at line %u", what, key, list[i].line);
            return;
        }
    }
    if (*nr < cap) {
        snprintf(list[*nr].key, sizeof(list[*nr].key), "%s", key);
        list[*nr].line = line;
        (*nr)++;
    }
}

/* Keep @s (malloc'd) in the description; it is freed with it. NULL when out of memory. */
static const char *keep_string(parse_state_t *ps, char *s)
{
    sysdesc_t *d = ps->d;

    if (!s) {
        ps->nomem = true;
        return NULL;
    }
    char **n = realloc(d->strings, (d->nr_strings + 1) * sizeof(*n));
    if (!n) {
        free(s);
        ps->nomem = true;
        return NULL;
    }
    d->strings = n;
    d->strings[d->nr_strings++] = s;
    return s;
}

/*
 * @p resolved against the description's directory (absolute paths as they
 * are), malloc'd; NULL (and an error at @line) when it is empty or longer
 * than @max - 1 bytes.
 */
static char *resolve_path(parse_state_t *ps, unsigned int line, const char *what, const char *p,
                          size_t max)
{
    char *r;

    if (!p[0]) {
        sys_error(ps, line, "%s: the path is empty", what);
        return NULL;
    }
    if (p[0] == '/' || !ps->dir || !ps->dir[0]) {
        r = strdup(p);
    } else {
        size_t dl = strlen(ps->dir);
        bool slash = ps->dir[dl - 1] == '/';
        if (asprintf(&r, "%s%s%s", ps->dir, slash ? "" : "/", p) < 0)
            r = NULL;
    }
    if (!r) {
        ps->nomem = true;
        return NULL;
    }
    if (strlen(r) >= max) {
        sys_error(ps, line, "%s: path '" QUOTE "...' is longer than %zu bytes", what, r, max - 1);
        free(r);
        return NULL;
    }
    return r;
}

/* A file the VM opens: it exists, is readable (and writable when @write) and is regular. */
static void check_file(parse_state_t *ps, unsigned int line, const char *what, const char *path,
                       bool write, bool block_ok)
{
    struct stat st;

    if (!ps->check_files)
        return;
    if (stat(path, &st) < 0) {
        sys_error(ps, line, "%s '%s': %s", what, path, strerror(errno));
        return;
    }
    if (!S_ISREG(st.st_mode) && !(block_ok && S_ISBLK(st.st_mode))) {
        sys_error(ps, line, "%s '%s' is not a regular file%s", what, path,
                  block_ok ? " or a block device" : "");
        return;
    }
    if (access(path, write ? R_OK | W_OK : R_OK) < 0)
        sys_error(ps, line, "%s '%s': %s%s", what, path, strerror(errno),
                  write && errno == EACCES ? " (readonly=\"true\" needs only reading)" : "");
}

/* --- elements and attributes ------------------------------------------------------------ */

static const char *elem_name(const xmlNode *n)
{
    return (const char *)n->name;
}

static bool is_elem(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !n->ns && strcmp(elem_name(n), name) == 0;
}

/* The attributes of one element, by the index of their name in the element's list. */
typedef struct attrs {
    const char *const *names;
    char *v[ATTRS_MAX];
} attrs_t;

/*
 * Read @n's attributes into @a: each must be one of @names (NULL-terminated).
 * Unknown ones, and ones in a namespace, are errors.
 */
static void attrs_read(parse_state_t *ps, const xmlNode *n, const char *const *names, attrs_t *a)
{
    memset(a, 0, sizeof(*a));
    a->names = names;
    for (const xmlAttr *at = n->properties; at; at = at->next) {
        unsigned int i = 0;
        if (!at->ns) {
            for (; names[i]; i++) {
                if (strcmp(names[i], (const char *)at->name) == 0)
                    break;
            }
        }
        if (at->ns || !names[i]) {
            char allowed[256];
            size_t used = 0;
            allowed[0] = '\0';
            for (unsigned int j = 0; names[j]; j++)
                err_append(allowed, sizeof(allowed), &used, "%s%s", j ? ", " : "", names[j]);
            sys_error(ps, node_line(n), "unknown attribute '%s%s" QUOTE "' on <%s> (%s%s)",
                      at->ns && at->ns->prefix ? (const char *)at->ns->prefix : "",
                      at->ns && at->ns->prefix ? ":" : "", (const char *)at->name, elem_name(n),
                      names[0] ? "allowed: " : "it takes none", allowed);
            continue;
        }
        xmlChar *v = xmlNodeListGetString(n->doc, at->children, 1);
        if (!v)
            v = xmlStrdup((const xmlChar *)"");
        if (!v) {
            ps->nomem = true;
            continue;
        }
        xmlFree(a->v[i]);
        a->v[i] = (char *)v;
    }
}

/* The value of attribute @name (one of the list given to attrs_read), or NULL. */
static const char *attr(const attrs_t *a, const char *name)
{
    for (unsigned int i = 0; a->names[i]; i++) {
        if (strcmp(a->names[i], name) == 0)
            return a->v[i];
    }
    return NULL;
}

static const char *attr_required(parse_state_t *ps, const xmlNode *n, const attrs_t *a,
                                 const char *name)
{
    const char *v = attr(a, name);

    if (!v)
        sys_error(ps, node_line(n), "<%s> needs a %s= attribute", elem_name(n), name);
    return v;
}

static void attrs_free(attrs_t *a)
{
    for (unsigned int i = 0; i < ATTRS_MAX; i++)
        xmlFree(a->v[i]);
}

/*
 * Report what may not be among @n's children: text other than white space,
 * entity references, and (when @leaf) any element.  Comments and
 * processing instructions are ignored.
 */
static void check_content(parse_state_t *ps, const xmlNode *n, bool leaf)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        switch (c->type) {
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE: {
            const char *t = (const char *)c->content;
            while (t && is_xml_space(*t))
                t++;
            if (!t || !*t)
                break;
            /* A text node's line is where it ends: count back to where @t starts. */
            unsigned int line = node_line(c), after = 0, shown = 0;
            for (const char *p = t; *p; p++)
                after += *p == '\n';
            line = line > after && line - after >= node_line(n) ? line - after : node_line(n);
            while (shown < 20 && t[shown] && t[shown] != '\n' && t[shown] != '\r')
                shown++;
            sys_error(ps, line, "unexpected text '%.*s%s' in <%s>", (int)shown, t,
                      t[shown] && !is_xml_space(t[shown]) ? "..." : "", elem_name(n));
            break;
        }
        case XML_ENTITY_REF_NODE:
            sys_error(ps, node_line(n), "entity reference in <%s>: entities are not accepted",
                      elem_name(n));
            break;
        case XML_ELEMENT_NODE:
            if (leaf)
                sys_error(ps, node_line(c), "unknown element <%s> in <%s> (it takes no elements)",
                          elem_name(c), elem_name(n));
            break;
        default:
            break;
        }
    }
}

static void unknown_element(parse_state_t *ps, const xmlNode *c, const xmlNode *parent,
                            const char *allowed)
{
    if (c->ns)
        sys_error(ps, node_line(c),
                  "unknown element <%s%s%s> in <%s>: it is in the namespace '" QUOTE
                  "' (the description uses none; allowed: %s)",
                  c->ns->prefix ? (const char *)c->ns->prefix : "", c->ns->prefix ? ":" : "",
                  elem_name(c), elem_name(parent), c->ns->href ? (const char *)c->ns->href : "",
                  allowed);
    else
        sys_error(ps, node_line(c), "unknown element <%s> in <%s> (allowed: %s)", elem_name(c),
                  elem_name(parent), allowed);
}

/* --- <memory_region> and <switch> ------------------------------------------------------- */

static int find_region(const sysdesc_t *d, const char *name)
{
    for (unsigned int i = 0; i < d->nr_regions; i++) {
        if (strcmp(d->regions[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

static int find_switch(const sysdesc_t *d, const char *name)
{
    for (unsigned int i = 0; i < d->nr_switches; i++) {
        if (strcmp(d->switches[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

static int find_channel(const sysdesc_t *d, const char *name)
{
    for (unsigned int i = 0; i < d->nr_channels; i++) {
        if (strcmp(d->channels[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/*
 * Check the name= of a <@kind> at @line against @max and the names already
 * defined (@prev_line: where the same name was, 0 = nowhere).  Returns
 * whether it may be kept.
 */
static bool check_name(parse_state_t *ps, unsigned int line, const char *kind, const char *name,
                       size_t max, unsigned int prev_line)
{
    if (!valid_name(name, max)) {
        sys_error(ps, line, "%s name '" QUOTE "' must be 1 to %zu of A-Z a-z 0-9 _ -", kind, name,
                  max);
        return false;
    }
    if (prev_line) {
        sys_error(ps, line, "%s '%s' is defined twice (first defined at line %u)", kind, name,
                  prev_line);
        return false;
    }
    return true;
}

/* A size attribute of a region: parses, more than 0, a page multiple, at most 1 GiB. */
static bool parse_region_size(parse_state_t *ps, unsigned int line, const char *what, const char *s,
                              uint64_t *out)
{
    int r = cli_parse_length(s, out);

    if (r) {
        sys_error(ps, line, "%s: size '" QUOTE "' is %s", what, s,
                  r == -ERANGE ? "over 64 bits" : "not a size (use e.g. 0x1000, 4096, 64K, 1M)");
        return false;
    }
    if (*out == 0 || *out % SYS_PAGE_SIZE || *out > SYS_MAX_REGION_SIZE) {
        sys_error(ps, line, "%s: size '" QUOTE "' must be a multiple of 4K from 4K to 1G", what, s);
        return false;
    }
    return true;
}

static void parse_region(parse_state_t *ps, const xmlNode *n)
{
    static const char *const names[] = {"name", "size", NULL};
    sysdesc_t *d = ps->d;
    unsigned int line = node_line(n);
    sys_region_t r = {.line = line};
    attrs_t a;
    bool ok = true;

    check_content(ps, n, true);
    attrs_read(ps, n, names, &a);
    const char *name = attr_required(ps, n, &a, "name");
    const char *size = attr_required(ps, n, &a, "size");
    if (name) {
        int prev = find_region(d, name);
        ok &= check_name(ps, line, "memory_region", name, SYS_NAME_MAX - 1,
                         prev < 0 ? 0 : d->regions[prev].line);
        snprintf(r.name, sizeof(r.name), "%s", name);
    }
    if (size) {
        char what[64];
        snprintf(what, sizeof(what), "memory_region '%s'",
                 name && valid_name(name, SYS_NAME_MAX - 1) ? r.name : "?");
        ok &= parse_region_size(ps, line, what, size, &r.size);
    }
    if (name && size && ok) {
        if (d->nr_regions == SYS_MAX_REGIONS)
            sys_error(ps, line, "more than %u memory regions", SYS_MAX_REGIONS);
        else
            d->regions[d->nr_regions++] = r;
    }
    attrs_free(&a);
}

static void parse_switch(parse_state_t *ps, const xmlNode *n)
{
    static const char *const names[] = {"name", "uplink", NULL};
    sysdesc_t *d = ps->d;
    unsigned int line = node_line(n);
    sys_switch_t s = {.line = line};
    attrs_t a;
    bool ok = true;

    check_content(ps, n, true);
    attrs_read(ps, n, names, &a);
    const char *name = attr_required(ps, n, &a, "name");
    const char *uplink = attr(&a, "uplink");
    if (name) {
        int prev = find_switch(d, name);
        ok &= check_name(ps, line, "switch", name, SYS_NAME_MAX - 1,
                         prev < 0 ? 0 : d->switches[prev].line);
        snprintf(s.name, sizeof(s.name), "%s", name);
    }
    if (uplink) {
        if (!valid_ifname(uplink)) {
            sys_error(ps, line,
                      "switch uplink '" QUOTE "' is not an interface name (1 to 15 characters, "
                      "no '/', ':' or spaces)",
                      uplink);
            ok = false;
        } else {
            claim(ps, ps->taps, &ps->nr_taps, sizeof(ps->taps) / sizeof(ps->taps[0]), "tap", uplink,
                  line);
            snprintf(s.uplink_tap, sizeof(s.uplink_tap), "%s", uplink);
        }
    }
    if (name && ok) {
        if (d->nr_switches == SYS_MAX_SWITCHES)
            sys_error(ps, line, "more than %u switches", SYS_MAX_SWITCHES);
        else
            d->switches[d->nr_switches++] = s;
    }
    attrs_free(&a);
}

/* --- <virtual_machine> ------------------------------------------------------------------ */

/* The first <@what> of the VM, for "given twice" (line of the first, 0 = none yet). */
typedef struct vm_once {
    unsigned int kernel, initrd, dtb, cmdline, console;
} vm_once_t;

static bool once(parse_state_t *ps, const xmlNode *c, const char *vm, unsigned int *first)
{
    if (*first) {
        sys_error(ps, node_line(c),
                  "<%s> given twice in virtual_machine '%s' (first at line %u; at most one)",
                  elem_name(c), vm, *first);
        return false;
    }
    *first = node_line(c);
    return true;
}

/* <kernel>, <initrd>, <dtb>: a path= the VM reads. */
static void parse_image(parse_state_t *ps, const xmlNode *c, const char **dst)
{
    static const char *const names[] = {"path", NULL};
    attrs_t a;
    char what[32];

    check_content(ps, c, true);
    attrs_read(ps, c, names, &a);
    const char *p = attr_required(ps, c, &a, "path");
    snprintf(what, sizeof(what), "<%s>", elem_name(c));
    if (p) {
        char *r = resolve_path(ps, node_line(c), what, p, PATH_MAX);
        if (r) {
            check_file(ps, node_line(c), what, r, false, false);
            *dst = keep_string(ps, r);
        }
    }
    attrs_free(&a);
}

static void parse_cmdline(parse_state_t *ps, const xmlNode *c, sys_vm_t *vm)
{
    static const char *const none[] = {NULL};
    attrs_t a;

    attrs_read(ps, c, none, &a);
    attrs_free(&a);
    for (const xmlNode *t = c->children; t; t = t->next) {
        if (t->type == XML_ELEMENT_NODE)
            sys_error(ps, node_line(t), "unknown element <%s> in <cmdline> (it takes only text)",
                      elem_name(t));
        else if (t->type == XML_ENTITY_REF_NODE)
            sys_error(ps, node_line(c), "entity reference in <cmdline>: entities are not accepted");
    }
    xmlChar *text = xmlNodeGetContent(c);
    if (!text) {
        text = xmlStrdup((const xmlChar *)"");
        if (!text) {
            ps->nomem = true;
            return;
        }
    }
    /* Trimmed, and line breaks and tabs inside become spaces. */
    char *s = (char *)text;
    while (is_xml_space(*s))
        s++;
    size_t len = strlen(s);
    while (len && is_xml_space(s[len - 1]))
        len--;
    if (len > SYS_CMDLINE_MAX) {
        sys_error(ps, node_line(c), "<cmdline> is %zu bytes, more than %u", len, SYS_CMDLINE_MAX);
    } else {
        char *k = strndup(s, len);
        if (k) {
            for (char *p = k; *p; p++) {
                if (is_xml_space(*p))
                    *p = ' ';
            }
        }
        vm->opts.cmdline = keep_string(ps, k);
    }
    xmlFree(text);
}

static void parse_console(parse_state_t *ps, const xmlNode *c, sys_vm_t *vm)
{
    static const char *const names[] = {"type", "output", "path", NULL};
    static const char *const outputs[] = {
        [SYS_CONSOLE_PREFIX] = "prefix", [SYS_CONSOLE_FILE] = "file", [SYS_CONSOLE_PTY] = "pty",
        [SYS_CONSOLE_SOCKET] = "socket", [SYS_CONSOLE_NONE] = "none",
    };
    unsigned int line = node_line(c);
    attrs_t a;
    const char *v;
    bool output_ok = true;

    check_content(ps, c, true);
    attrs_read(ps, c, names, &a);
    if ((v = attr(&a, "type"))) {
        if (strcmp(v, "serial") == 0 || strcmp(v, "virtio") == 0)
            vm->opts.console_virtio = v[0] == 'v';
        else
            sys_error(ps, line, "<console> type '" QUOTE "' must be serial or virtio", v);
    }
    if ((v = attr(&a, "output"))) {
        unsigned int i = 0;
        for (; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
            if (strcmp(v, outputs[i]) == 0)
                break;
        }
        if (i < sizeof(outputs) / sizeof(outputs[0])) {
            vm->console_output = (sys_console_output_t)i;
        } else {
            sys_error(ps, line,
                      "<console> output '" QUOTE "' must be prefix, file, pty, socket or none", v);
            output_ok = false;
        }
    }
    const char *path = attr(&a, "path");
    bool wants_path =
        vm->console_output == SYS_CONSOLE_FILE || vm->console_output == SYS_CONSOLE_SOCKET;
    if (output_ok && wants_path && !path) {
        sys_error(ps, line, "<console output=\"%s\"> needs a path= attribute",
                  outputs[vm->console_output]);
    } else if (output_ok && !wants_path && path) {
        sys_error(ps, line, "<console output=\"%s\"> takes no path= (only file and socket do)",
                  outputs[vm->console_output]);
    } else if (output_ok && path) {
        bool sock = vm->console_output == SYS_CONSOLE_SOCKET;
        char *r = resolve_path(ps, line, sock ? "<console> socket" : "<console> file", path,
                               sock ? CLI_SOCKET_MAX : sizeof(vm->console_path));
        if (r)
            snprintf(vm->console_path, sizeof(vm->console_path), "%s", r);
        free(r);
    }
    attrs_free(&a);
}

static void parse_disk(parse_state_t *ps, const xmlNode *c, sys_vm_t *vm)
{
    static const char *const names[] = {"path", "readonly", "serial", NULL};
    unsigned int line = node_line(c);
    cli_disk_t disk = {0};
    attrs_t a;
    const char *v;
    bool ok = true;

    check_content(ps, c, true);
    attrs_read(ps, c, names, &a);
    if ((v = attr(&a, "readonly")) && parse_bool(v, &disk.read_only)) {
        sys_error(ps, line, "<disk> readonly '" QUOTE "' must be true or false", v);
        ok = false;
    }
    if ((v = attr(&a, "serial"))) {
        if (strlen(v) > CLI_SERIAL_MAX) {
            sys_error(ps, line, "<disk> serial '" QUOTE "' is longer than %u bytes", v,
                      CLI_SERIAL_MAX);
            ok = false;
        } else {
            snprintf(disk.serial, sizeof(disk.serial), "%s", v);
        }
    }
    const char *p = attr_required(ps, c, &a, "path");
    char *r = p ? resolve_path(ps, line, "<disk>", p, sizeof(disk.path)) : NULL;
    if (r) {
        check_file(ps, line, "<disk>", r, ok && !disk.read_only, true);
        snprintf(disk.path, sizeof(disk.path), "%s", r);
        free(r);
    } else {
        ok = false;
    }
    if (vm->opts.nr_disks == CLI_MAX_DISKS)
        sys_error(ps, line, "more than %u <disk> in virtual_machine '%s'", CLI_MAX_DISKS, vm->name);
    else if (ok)
        vm->opts.disks[vm->opts.nr_disks++] = disk;
    attrs_free(&a);
}

static void parse_net(parse_state_t *ps, const xmlNode *c, sys_vm_t *vm)
{
    static const char *const names[] = {"switch", "tap", "mac", NULL};
    unsigned int line = node_line(c);
    sys_net_t net = {.line = line, .switch_index = -1};
    attrs_t a;
    bool ok = true;

    check_content(ps, c, true);
    attrs_read(ps, c, names, &a);
    const char *sw = attr(&a, "switch");
    const char *tap = attr(&a, "tap");
    const char *mac = attr(&a, "mac");
    if (!sw == !tap) {
        sys_error(ps, line, "<net> needs exactly one of switch= and tap=");
        ok = false;
    } else if (sw) {
        net.switch_index = find_switch(ps->d, sw);
        if (net.switch_index < 0) {
            sys_error(ps, line,
                      "<net> switch '" QUOTE "' is not defined (no <switch name=\"" QUOTE "\">)",
                      sw, sw);
            ok = false;
        }
    } else if (!valid_ifname(tap)) {
        sys_error(ps, line,
                  "<net> tap '" QUOTE "' is not an interface name (1 to 15 characters, no '/', "
                  "':' or spaces)",
                  tap);
        ok = false;
    } else {
        snprintf(net.tap, sizeof(net.tap), "%s", tap);
    }
    if (mac) {
        if (cli_parse_mac(mac, net.mac) < 0) {
            sys_error(ps, line, "<net> mac '" QUOTE "' is not a unicast xx:xx:xx:xx:xx:xx address",
                      mac);
            ok = false;
        } else {
            net.has_mac = true;
        }
    }
    if (vm->nr_nets == CLI_MAX_NETS) {
        sys_error(ps, line, "more than %u <net> in virtual_machine '%s'", CLI_MAX_NETS, vm->name);
    } else if (ok) {
        if (net.has_mac) {
            char m[18];
            format_mac(m, net.mac);
            claim(ps, ps->macs, &ps->nr_macs, sizeof(ps->macs) / sizeof(ps->macs[0]), "mac", m,
                  line);
        }
        if (!sw)
            claim(ps, ps->taps, &ps->nr_taps, sizeof(ps->taps) / sizeof(ps->taps[0]), "tap",
                  net.tap, line);
        vm->nets[vm->nr_nets++] = net;
    }
    attrs_free(&a);
}

static void parse_map(parse_state_t *ps, const xmlNode *c, sys_vm_t *vm)
{
    static const char *const names[] = {"mr", "vaddr", "perms", NULL};
    unsigned int line = node_line(c);
    sys_map_t map = {.line = line};
    attrs_t a;
    const char *v;
    bool ok = true;

    check_content(ps, c, true);
    attrs_read(ps, c, names, &a);
    const char *mr = attr_required(ps, c, &a, "mr");
    const char *vaddr = attr_required(ps, c, &a, "vaddr");
    if ((v = attr(&a, "perms"))) {
        if (strcmp(v, "rw") == 0 || strcmp(v, "r") == 0) {
            map.read_only = v[1] == '\0';
        } else {
            sys_error(ps, line, "<map> perms '" QUOTE "' must be rw or r", v);
            ok = false;
        }
    }
    int region = -1;
    if (mr) {
        region = find_region(ps->d, mr);
        if (region < 0) {
            sys_error(ps, line,
                      "<map> mr '" QUOTE "' is not defined (no <memory_region name=\"" QUOTE "\">)",
                      mr, mr);
            ok = false;
        } else {
            map.region = (unsigned int)region;
        }
    }
    if (vaddr) {
        int r = cli_parse_addr(vaddr, &map.base);
        if (r) {
            sys_error(ps, line, "<map> vaddr '" QUOTE "' is %s", vaddr,
                      r == -ERANGE ? "over 64 bits" : "not an address (use hex 0x... or decimal)");
            ok = false;
        } else if (map.base % SYS_PAGE_SIZE) {
            sys_error(ps, line, "<map> vaddr %#" PRIx64 " is not page (4K) aligned", map.base);
            ok = false;
        }
    }
    if (ok && region >= 0) {
        uint64_t size = ps->d->regions[region].size;
        uint64_t last = map.base + size - 1;
        /* RAM and the board's own windows: the board's check (board_check(),
         * run for every VM before anything starts) knows its memory map. */
        if (last < map.base) {
            sys_error(ps, line,
                      "<map> of '%s' at %#" PRIx64 " wraps past the top of the address space",
                      ps->d->regions[region].name, map.base);
            ok = false;
        }
        for (unsigned int i = 0; ok && i < vm->nr_maps; i++) {
            const sys_map_t *o = &vm->maps[i];
            uint64_t olast = o->base + ps->d->regions[o->region].size - 1;
            if (map.base <= olast && last >= o->base) {
                sys_error(ps, line,
                          "<map> of '%s' at %#" PRIx64 "-%#" PRIx64
                          " overlaps the <map> at line %u (%#" PRIx64 "-%#" PRIx64 ")",
                          ps->d->regions[region].name, map.base, last, o->line, o->base, olast);
                ok = false;
            }
        }
    }
    if (vm->nr_maps == SYS_MAX_MAPS)
        sys_error(ps, line, "more than %u <map> in virtual_machine '%s'", SYS_MAX_MAPS, vm->name);
    else if (ok)
        vm->maps[vm->nr_maps++] = map;
    attrs_free(&a);
}

/* The attributes of <virtual_machine>. */
static void parse_vm_attrs(parse_state_t *ps, const xmlNode *n, const attrs_t *a, sys_vm_t *vm)
{
    unsigned int line = node_line(n);
    const char *v;
    unsigned long u;
    bool b;

    if ((v = attr(a, "memory"))) {
        int r = cli_parse_size(v, 1ull << 20, &vm->opts.mem_size);
        if (r == -ERANGE || (r == 0 && vm->opts.mem_size > CLI_MAX_MEM))
            sys_error(ps, line, "memory '" QUOTE "' is too large (at most 1T)", v);
        else if (r)
            sys_error(ps, line,
                      "memory '" QUOTE "' is not a size (use e.g. 256M, 1G; a bare "
                      "number is MiB)",
                      v);
        else if (vm->opts.mem_size == 0)
            sys_error(ps, line, "memory must be more than 0");
    }
    if ((v = attr(a, "cpus"))) {
        if (parse_uint(v, 1, CLI_MAX_CPUS, &u))
            sys_error(ps, line, "cpus '" QUOTE "' must be a number from 1 to %u", v, CLI_MAX_CPUS);
        else
            vm->opts.cpus = (unsigned int)u;
    }
    if ((v = attr(a, "transport"))) {
        if (strcmp(v, "mmio") == 0 || strcmp(v, "pci") == 0) {
            vm->opts.transport_pci = v[0] == 'p';
            vm->opts.transport_given = true;
        } else
            sys_error(ps, line, "transport '" QUOTE "' must be mmio or pci", v);
    }
    if ((v = attr(a, "gic"))) {
        if (strcmp(v, "auto") == 0)
            vm->opts.gic_version = 0;
        else if (strcmp(v, "2") == 0 || strcmp(v, "3") == 0)
            vm->opts.gic_version = v[0] - '0';
        else
            sys_error(ps, line, "gic '" QUOTE "' must be auto, 2 or 3", v);
    }
    if ((v = attr(a, "rng"))) {
        if (parse_bool(v, &b))
            sys_error(ps, line, "rng '" QUOTE "' must be true or false", v);
        else
            vm->opts.no_rng = !b;
    }
    if ((v = attr(a, "reboot"))) {
        if (parse_bool(v, &b))
            sys_error(ps, line, "reboot '" QUOTE "' must be true or false", v);
        else
            vm->opts.no_reboot = !b;
    }
    if ((v = attr(a, "on_crash"))) {
        if (strcmp(v, "report") == 0)
            vm->on_crash = SYS_ON_CRASH_REPORT;
        else if (strcmp(v, "restart") == 0)
            vm->on_crash = SYS_ON_CRASH_RESTART;
        else if (strcmp(v, "stop") == 0)
            vm->on_crash = SYS_ON_CRASH_STOP;
        else
            sys_error(ps, line, "on_crash '" QUOTE "' must be report, restart or stop", v);
    }
    if ((v = attr(a, "restart_limit"))) {
        if (parse_uint(v, 0, SYS_MAX_RESTART_LIMIT, &u))
            sys_error(ps, line, "restart_limit '" QUOTE "' must be a number from 0 to %u", v,
                      SYS_MAX_RESTART_LIMIT);
        else
            vm->restart_limit = (unsigned int)u;
    }
    if ((v = attr(a, "verbose"))) {
        if (parse_uint(v, 0, 2, &u))
            sys_error(ps, line, "verbose '" QUOTE "' must be 0, 1 or 2", v);
        else
            vm->opts.verbose = (int)u;
    }
}

static void parse_vm(parse_state_t *ps, const xmlNode *n)
{
    static const char *const names[] = {"name",          "memory",  "cpus",   "transport",
                                        "gic",           "rng",     "reboot", "on_crash",
                                        "restart_limit", "verbose", NULL};
    static const char *const children = "kernel, initrd, dtb, cmdline, console, disk, net, map";
    sysdesc_t *d = ps->d;
    unsigned int line = node_line(n);
    bool keep = true;
    attrs_t a;

    check_content(ps, n, false);
    attrs_read(ps, n, names, &a);
    const char *name = attr_required(ps, n, &a, "name");
    if (name) {
        int prev = sysdesc_find_vm(d, name);
        keep = check_name(ps, line, "virtual_machine", name, SYS_NAME_MAX - 1,
                          prev < 0 ? 0 : d->vms[prev].line);
    } else {
        keep = false;
    }
    if (keep && d->nr_vms == SYS_MAX_VMS) {
        sys_error(ps, line, "more than %u virtual machines", SYS_MAX_VMS);
        keep = false;
    }
    /* A VM that is not kept is still checked, in the scratch slot. */
    sys_vm_t *vm = keep ? &d->vms[d->nr_vms] : ps->scratch_vm;
    memset(vm, 0, sizeof(*vm));
    vm->line = line;
    snprintf(vm->name, sizeof(vm->name), "%s",
             name && valid_name(name, SYS_NAME_MAX - 1) ? name : "?");
    vm->opts.mem_size = CLI_DEFAULT_MEM;
    vm->opts.cpus = 1;
    vm->console_output = SYS_CONSOLE_PREFIX;
    vm->on_crash = SYS_ON_CRASH_REPORT;
    vm->restart_limit = 3;
    parse_vm_attrs(ps, n, &a, vm);
    attrs_free(&a);

    vm_once_t first = {0};
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_elem(c, "kernel")) {
            if (once(ps, c, vm->name, &first.kernel))
                parse_image(ps, c, &vm->opts.kernel);
        } else if (is_elem(c, "initrd")) {
            if (once(ps, c, vm->name, &first.initrd))
                parse_image(ps, c, &vm->opts.initrd);
        } else if (is_elem(c, "dtb")) {
            if (once(ps, c, vm->name, &first.dtb))
                parse_image(ps, c, &vm->opts.dtb);
        } else if (is_elem(c, "cmdline")) {
            if (once(ps, c, vm->name, &first.cmdline))
                parse_cmdline(ps, c, vm);
        } else if (is_elem(c, "console")) {
            if (once(ps, c, vm->name, &first.console))
                parse_console(ps, c, vm);
        } else if (is_elem(c, "disk")) {
            parse_disk(ps, c, vm);
        } else if (is_elem(c, "net")) {
            parse_net(ps, c, vm);
        } else if (is_elem(c, "map")) {
            parse_map(ps, c, vm);
        } else {
            unknown_element(ps, c, n, children);
        }
    }
    if (!first.kernel)
        sys_error(ps, line, "virtual_machine '%s' has no <kernel path=\"...\"/>", vm->name);
    if (keep)
        d->nr_vms++;
}

/* --- <channel> -------------------------------------------------------------------------- */

static void parse_channel(parse_state_t *ps, const xmlNode *n)
{
    static const char *const names[] = {"name", "size", "memory_region", NULL};
    static const char *const end_names[] = {"vm", NULL};
    sysdesc_t *d = ps->d;
    unsigned int line = node_line(n);
    sys_channel_t ch = {.line = line, .region = -1};
    unsigned int nr_ends = 0;
    bool ok = true;
    attrs_t a;

    check_content(ps, n, false);
    attrs_read(ps, n, names, &a);
    const char *name = attr_required(ps, n, &a, "name");
    const char *size = attr(&a, "size");
    const char *mr = attr(&a, "memory_region");
    if (name) {
        int prev = find_channel(d, name);
        ok &= check_name(ps, line, "channel", name, SYS_CHANNEL_NAME_MAX,
                         prev < 0 ? 0 : d->channels[prev].line);
        snprintf(ch.name, sizeof(ch.name), "%s", name);
    } else {
        ok = false;
    }
    const char *shown = name && valid_name(name, SYS_CHANNEL_NAME_MAX) ? ch.name : "?";
    if (!size == !mr) {
        sys_error(ps, line, "channel '%s' needs exactly one of size= and memory_region=", shown);
        ok = false;
    } else if (size) {
        char what[80];
        snprintf(what, sizeof(what), "channel '%s'", shown);
        if (!parse_region_size(ps, line, what, size, &ch.size)) {
            ok = false;
        } else if (!is_pow2(ch.size)) {
            sys_error(ps, line,
                      "channel '%s': size '" QUOTE "' must be a power of two from 4K to 1G", shown,
                      size);
            ok = false;
        }
    } else {
        ch.region = find_region(d, mr);
        if (ch.region < 0) {
            sys_error(ps, line,
                      "channel '%s': memory_region '" QUOTE
                      "' is not defined (no <memory_region name=\"" QUOTE "\">)",
                      shown, mr, mr);
            ok = false;
        } else {
            ch.size = d->regions[ch.region].size;
            if (!is_pow2(ch.size) || ch.size < SYS_MIN_CHANNEL_SIZE) {
                sys_error(ps, line,
                          "channel '%s': memory_region '%s' is %#" PRIx64
                          " bytes: a channel's memory must be a power of two from 4K to 1G",
                          shown, d->regions[ch.region].name, ch.size);
                ok = false;
            }
        }
    }
    attrs_free(&a);

    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!is_elem(c, "end")) {
            unknown_element(ps, c, n, "end");
            continue;
        }
        attrs_t ea;
        check_content(ps, c, true);
        attrs_read(ps, c, end_names, &ea);
        const char *vm = attr_required(ps, c, &ea, "vm");
        if (vm) {
            int i = sysdesc_find_vm(d, vm);
            if (i < 0) {
                sys_error(ps, node_line(c),
                          "channel '%s': <end> vm '" QUOTE
                          "' is not defined (no <virtual_machine name=\"" QUOTE "\">)",
                          shown, vm, vm);
                ok = false;
            } else if (nr_ends < 2) {
                ch.vm[nr_ends] = (unsigned int)i;
            }
        } else {
            ok = false;
        }
        nr_ends++;
        attrs_free(&ea);
    }
    if (nr_ends != 2) {
        sys_error(ps, line, "channel '%s' has %u <end> elements: it needs exactly two", shown,
                  nr_ends);
        ok = false;
    } else if (ok && ch.vm[0] == ch.vm[1]) {
        sys_error(ps, line, "channel '%s' has virtual_machine '%s' at both ends", shown,
                  d->vms[ch.vm[0]].name);
        ok = false;
    }
    if (!ok)
        return;
    for (unsigned int e = 0; e < 2; e++) {
        if (++ps->vm_channel_ends[ch.vm[e]] == SYS_MAX_VM_CHANNELS + 1) {
            sys_error(ps, line, "virtual_machine '%s' is an end of more than %u channels",
                      d->vms[ch.vm[e]].name, SYS_MAX_VM_CHANNELS);
            ok = false;
        } else if (ps->vm_channel_ends[ch.vm[e]] > SYS_MAX_VM_CHANNELS) {
            ok = false;
        }
    }
    if (!ok)
        return;
    if (d->nr_channels == SYS_MAX_CHANNELS)
        sys_error(ps, line, "more than %u channels", SYS_MAX_CHANNELS);
    else
        d->channels[d->nr_channels++] = ch;
}

/* --- <system> --------------------------------------------------------------------------- */

/* The system's name when <system> has none: the file's base name without ".xml". */
static void default_name(char out[SYS_NAME_MAX], const char *file)
{
    const char *base = strrchr(file, '/');
    size_t n, o = 0;

    base = base ? base + 1 : file;
    n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".xml") == 0)
        n -= 4;
    for (size_t i = 0; i < n && o < SYS_NAME_MAX - 1; i++) {
        char c = base[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        out[o++] = ok ? c : '_';
    }
    if (!o)
        memcpy(out, "system", 7);
    else
        out[o] = '\0';
}

static void parse_system(parse_state_t *ps, const xmlNode *root)
{
    static const char *const names[] = {"name", "control", NULL};
    static const char *const children = "memory_region, switch, virtual_machine, channel";
    sysdesc_t *d = ps->d;
    unsigned int line = node_line(root);
    attrs_t a;

    check_content(ps, root, false);
    attrs_read(ps, root, names, &a);
    const char *name = attr(&a, "name");
    const char *control = attr(&a, "control");
    if (name) {
        if (check_name(ps, line, "system", name, SYS_NAME_MAX - 1, 0))
            snprintf(d->name, sizeof(d->name), "%s", name);
    } else {
        default_name(d->name, d->path);
    }
    if (control) {
        char *r = resolve_path(ps, line, "control socket", control, sizeof(d->control));
        if (r)
            snprintf(d->control, sizeof(d->control), "%s", r);
        free(r);
    }
    attrs_free(&a);

    /* Pass 1: what refers to nothing; unknown elements. */
    bool any_vm = false;
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_elem(c, "memory_region"))
            parse_region(ps, c);
        else if (is_elem(c, "switch"))
            parse_switch(ps, c);
        else if (is_elem(c, "virtual_machine"))
            any_vm = true;
        else if (!is_elem(c, "channel"))
            unknown_element(ps, c, root, children);
    }
    /* Pass 2: VMs (they name switches and regions); pass 3: channels (VMs, regions). */
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (is_elem(c, "virtual_machine"))
            parse_vm(ps, c);
    }
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (is_elem(c, "channel"))
            parse_channel(ps, c);
    }
    if (!any_vm)
        sys_error(ps, line, "no <virtual_machine> in <system>: a system needs at least one");
}

/* --- libxml2 ---------------------------------------------------------------------------- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

static parse_state_t *ctxt_state(void *ctx)
{
    return ((xmlParserCtxtPtr)ctx)->_private;
}

/* libxml2's own errors (not well-formed, bad encoding, ...), with their line. */
static void xml_error(void *ctx, xmlErrorPtr e)
{
    parse_state_t *ps = ctxt_state(ctx);

    if (!e || e->level < XML_ERR_ERROR || ps->xml_stopped || ps->xml_failed)
        return;
    ps->xml_failed = true;
    const char *m = e->message ? e->message : "not well-formed";
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    sys_error(ps, e->line > 0 ? (unsigned int)e->line : 1, "malformed XML: %.*s", (int)n, m);
}

static void xml_stop(xmlParserCtxtPtr ctxt)
{
    ctxt_state(ctxt)->xml_stopped = true;
    xmlStopParser(ctxt);
}

/* A DOCTYPE: refused before anything of it is used. */
static void xml_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                                const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;

    sys_error(ctxt_state(ctx), (unsigned int)xmlSAX2GetLineNumber(ctx),
              "a DOCTYPE: DTDs and entities are not accepted");
    xml_stop(ctxt);
}

static void xml_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                              const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                              int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state_t *ps = ctxt_state(ctx);
    xmlParserInputPtr in = ctxt->input;
    unsigned int line = 0;

    /*
     * The start tag is behind the parser: its '<' is the last one (an
     * attribute value cannot hold one), and the line there is the current
     * one less the line breaks since.
     */
    if (in && in->base && in->cur && in->cur >= in->base && in->line > 0) {
        unsigned int breaks = 0;
        for (const xmlChar *p = in->cur; p > in->base; p--) {
            if (p[-1] == '<') {
                if ((unsigned int)in->line > breaks)
                    line = (unsigned int)in->line - breaks;
                break;
            }
            breaks += p[-1] == '\n';
        }
    }
    if (++ps->depth > SYS_MAX_DEPTH) {
        sys_error(ps, (unsigned int)xmlSAX2GetLineNumber(ctx),
                  "<%s> is nested more than %d elements deep", (const char *)localname,
                  SYS_MAX_DEPTH);
        xml_stop(ctx);
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
    if (line && ctxt->node && ctxt->node->type == XML_ELEMENT_NODE && ctxt->node->name == localname)
        ctxt->node->_private = (void *)(uintptr_t)line;
}

static void xml_end_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                            const xmlChar *uri)
{
    ctxt_state(ctx)->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* Parse @buf into a tree; NULL when it is not well-formed (errors in @ps). */
static xmlDocPtr xml_read(parse_state_t *ps, const char *buf, size_t len)
{
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();

    if (!ctxt) {
        ps->nomem = true;
        return NULL;
    }
    ctxt->_private = ps;
    ctxt->sax->serror = xml_error;
    ctxt->sax->internalSubset = xml_internal_subset;
    ctxt->sax->startElementNs = xml_start_element;
    ctxt->sax->endElementNs = xml_end_element;
    /* No XML_PARSE_NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE: nothing is fetched or expanded. */
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buf, (int)len, ps->name, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES);
    bool good = doc && ctxt->wellFormed && !ps->xml_stopped;
    xmlFreeParserCtxt(ctxt);
    if (!good) {
        if (!ps->nr_errors)
            sys_error(ps, 1, "malformed XML: %s", len ? "not well-formed" : "the file is empty");
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

/* --- API -------------------------------------------------------------------------------- */

int sysdesc_find_vm(const sysdesc_t *d, const char *name)
{
    for (unsigned int i = 0; i < d->nr_vms; i++) {
        if (strcmp(d->vms[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

void sysdesc_free(sysdesc_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nr_strings; i++)
        free(d->strings[i]);
    free(d->strings);
    free(d);
}

int sysdesc_parse(const char *buf, size_t len, const char *name, const char *dir, bool check_files,
                  sysdesc_t **out, char *err, size_t errlen)
{
    parse_state_t *ps;
    sysdesc_t *d;
    int ret = 0;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!name)
        name = "(description)";
    ps = calloc(1, sizeof(*ps));
    d = calloc(1, sizeof(*d));
    sys_vm_t *scratch = malloc(sizeof(*scratch));
    if (!ps || !d || !scratch) {
        free(ps);
        free(d);
        free(scratch);
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", name, strerror(ENOMEM));
        return -ENOMEM;
    }
    ps->name = name;
    ps->dir = dir;
    ps->check_files = check_files;
    ps->d = d;
    ps->scratch_vm = scratch;
    snprintf(d->path, sizeof(d->path), "%s", name);

    if (len > SYS_MAX_FILE_SIZE) {
        sys_error(ps, 0, "the description is %zu bytes, more than the limit of %u", len,
                  SYS_MAX_FILE_SIZE);
    } else {
        pthread_once(&xml_once, xml_init);
        xmlDocPtr doc = xml_read(ps, buf, len);
        if (doc) {
            const xmlNode *root = xmlDocGetRootElement(doc);
            if (doc->intSubset || doc->extSubset) {
                sys_error(ps, 1, "a DOCTYPE: DTDs and entities are not accepted");
            } else if (!root) {
                sys_error(ps, 1, "no root element: the description is a <system>");
            } else if (root->ns) {
                sys_error(ps, node_line(root),
                          "the root element <%s%s%s> is in the namespace '" QUOTE
                          "': the description uses none (<system>)",
                          root->ns->prefix ? (const char *)root->ns->prefix : "",
                          root->ns->prefix ? ":" : "", elem_name(root),
                          root->ns->href ? (const char *)root->ns->href : "");
            } else if (!is_elem(root, "system")) {
                sys_error(ps, node_line(root), "the root element is <%s>, not <system>",
                          elem_name(root));
            } else {
                parse_system(ps, root);
            }
            xmlFreeDoc(doc);
        }
    }
    if (ps->nomem) {
        ret = -ENOMEM;
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", name, strerror(ENOMEM));
        for (unsigned int i = 0; i < ps->nr_errors; i++)
            free(ps->errors[i].msg);
    } else if (ps->nr_errors) {
        ret = -EINVAL;
        errors_flush(ps, err, errlen);
    }
    free(scratch);
    free(ps);
    if (ret) {
        sysdesc_free(d);
        return ret;
    }
    *out = d;
    return 0;
}

int sysdesc_load(const char *path, sysdesc_t **out, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL, *dir = NULL;
    int fd, ret;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: refused, not waited on */
    if (fd < 0 || fstat(fd, &st) < 0) {
        ret = -errno;
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        if (err && errlen)
            snprintf(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size > (off_t)SYS_MAX_FILE_SIZE) {
        ret = -EFBIG;
        if (err && errlen)
            snprintf(err, errlen, "%s: %lld bytes, more than the limit of %u", path,
                     (long long)st.st_size, SYS_MAX_FILE_SIZE);
        goto out;
    }
    /* One byte more than the limit: a file that grew after fstat is refused, not cut. */
    buf = malloc(SYS_MAX_FILE_SIZE + 1);
    if (!buf) {
        ret = -ENOMEM;
        goto fail;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, SYS_MAX_FILE_SIZE + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            goto fail;
        }
        if (n == 0 || (len += (size_t)n) == SYS_MAX_FILE_SIZE + 1)
            break;
    }
    /* Relative paths in it are relative to its directory, made absolute. */
    const char *slash = strrchr(path, '/');
    char *given = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    if (!given) {
        ret = -ENOMEM;
        goto fail;
    }
    dir = realpath(given, NULL);
    if (!dir)
        dir = given;
    else
        free(given);
    ret = sysdesc_parse(buf, len, path, dir, true, out, err, errlen);
    goto out;
fail:
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", path, strerror(-ret));
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(dir);
    return ret;
}
