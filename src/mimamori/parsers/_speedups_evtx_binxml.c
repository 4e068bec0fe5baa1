/* EVTX chunks to JSON documents in C: the reader's fast path (included by _speedups.c), part one:
 * the BinXML of a chunk's records to trees (part two, _speedups_evtx_json.c: the JSON and evtx_chunk).
 *
 * evtx_chunk(chunk) decodes one 64 KiB chunk of a Windows event log file: its records' BinXML, the
 * templates they instantiate and the nested BinXML of their substitution values, and renders each
 * record as the compact JSON document the reader yields:
 *
 *     {"event_record_id":N,"timestamp":"...","Event":{...}}
 *
 * byte for byte what the ``evtx`` package (Rust) gives for it and ``readers.evtx._document`` splices
 * (``tests/unit/ingest/readers/test_evtx_binxml.py`` compares the two on every sample record). It
 * returns a list of (record id, document) or None for a chunk it does not take whole: a damaged or
 * unusual chunk, an unknown token or value type (ANSI strings, floats, arrays, CDATA, entity and
 * character references...), a duplicated element name outside EventData, a lone surrogate. The reader
 * then hands that chunk to the Rust decoder, so the fast path changes speed only. Everything is
 * bounds-checked; the input is a file from anywhere.
 *
 * The JSON shape (the package's ir_json emitter): element names are keys; an element without element
 * children and without attribute text is its text (a number when it is one integer or boolean value,
 * null when empty); otherwise an object with "#attributes" (the attributes with text), "#text" and its
 * children. EventData/UserData with named Data elements become {Name: value}; unnamed Data elements
 * become {"Data": {"#text": value or [values]}}.
 */

#include <stdint.h>

#ifdef BX_DEBUG /* which line gave the chunk up: build with CFLAGS=-DBX_DEBUG */
#define BX_FALLBACK (fprintf(stderr, "evtx_chunk: fallback at line %d\n", __LINE__), -1)
#else
#define BX_FALLBACK (-1) /* not for us: the Rust decoder takes the chunk; no exception set */
#endif
#define BX_ERROR (-2)    /* a Python exception is set */
#define BX_CHUNK 0x10000u
#define BX_MAX_DEPTH 64   /* open elements in one fragment */
#define BX_MAX_NEST 8     /* nested BinXML / template levels */
#define BX_MAX_TEMPLATES 512
#define BX_MAX_VALUES 1024
#define BX_MAX_ITEMS (1 << 20)     /* nodes, elements or attributes of one record (hostile nesting) */
#define BX_MAX_OUT ((size_t)64 << 20) /* bytes of one record's document */

enum { N_TEXT = 1, N_VALUE = 2, N_ELEM = 3 };

typedef struct { uint8_t kind, vtype; int32_t next; uint32_t off, size; } BxNode; /* TEXT: off, size = units */
typedef struct { uint32_t name; int32_t attrs, attrs_tail, kids, kids_tail; int has_elem; } BxElem;
typedef struct { uint32_t name; int32_t vals, vals_tail, next; } BxAttr;
typedef struct { uint8_t type; uint32_t off, size; } BxVal;
typedef struct { uint32_t off; uint8_t guid[16]; } BxTemplate;

typedef struct {
    const uint8_t *d; /* the chunk */
    BxNode *nodes; int32_t n_nodes, cap_nodes;
    BxElem *elems; int32_t n_elems, cap_elems;
    BxAttr *attrs; int32_t n_attrs, cap_attrs;
    BxTemplate templates[BX_MAX_TEMPLATES]; int n_templates;
    char *out; size_t n_out, cap_out;
    uint8_t names_ok[BX_CHUNK / 8];   /* name offsets already checked in this chunk */
    uint8_t names_data[BX_CHUNK / 8]; /* ... of which "Data" */
    uint8_t names_box[BX_CHUNK / 8];  /* ... of which "EventData" or "UserData" */
    int32_t n_arrays;                 /* string arrays among this record's values */
    int too_big;                      /* a record past the limits below: left to the package */
} Bx;

static Bx bx; /* under the GIL; arrays grow and are kept between calls */

static int bx_grow(void **p, int32_t *cap, size_t item, int32_t need) {
    if (need <= *cap) return 0;
    if (need > BX_MAX_ITEMS) { bx.too_big = 1; return BX_ERROR; } /* no exception: the package's turn */
    int32_t cap2 = *cap ? *cap : 256;
    while (cap2 < need) cap2 *= 2;
    void *q = PyMem_Realloc(*p, (size_t)cap2 * item);
    if (q == NULL) { PyErr_NoMemory(); return BX_ERROR; }
    *p = q; *cap = cap2;
    return 0;
}

static inline uint16_t bx_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t bx_u32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }
static inline uint64_t bx_u64(const uint8_t *p) { return (uint64_t)bx_u32(p) | ((uint64_t)bx_u32(p + 4) << 32); }

/* ---- the tree ---- */

static int32_t bx_node(uint8_t kind, uint8_t vtype, uint32_t off, uint32_t size) {
    if (bx_grow((void **)&bx.nodes, &bx.cap_nodes, sizeof(BxNode), bx.n_nodes + 1) < 0) return BX_ERROR;
    BxNode *n = &bx.nodes[bx.n_nodes];
    n->kind = kind; n->vtype = vtype; n->next = -1; n->off = off; n->size = size;
    return bx.n_nodes++;
}

static void bx_append(int32_t *head, int32_t *tail, int32_t node) {
    if (*tail < 0) *head = node; else bx.nodes[*tail].next = node;
    *tail = node;
}

static int32_t bx_elem(uint32_t name) {
    if (bx_grow((void **)&bx.elems, &bx.cap_elems, sizeof(BxElem), bx.n_elems + 1) < 0) return BX_ERROR;
    BxElem *e = &bx.elems[bx.n_elems];
    e->name = name; e->attrs = e->attrs_tail = e->kids = e->kids_tail = -1; e->has_elem = 0;
    return bx.n_elems++;
}

/* A name structure at ``off``: (next u32, hash u16, count u16, UTF-16 units, NUL). */
static int bx_name_is(uint32_t off, const char *ascii);
#define BX_BIT(map, off) ((map)[(off) >> 3] & (1u << ((off) & 7)))
#define BX_SET(map, off) ((map)[(off) >> 3] |= (uint8_t)(1u << ((off) & 7)))

static int bx_name_ok(uint32_t off) {
    if ((uint64_t)off + 8 > BX_CHUNK) return 0;
    if (bx.names_ok[off >> 3] & (1u << (off & 7))) return 1;
    uint32_t count = bx_u16(bx.d + off + 6);
    if ((uint64_t)off + 8 + 2ull * count > BX_CHUNK || count == 0) return 0;
    for (uint32_t i = 0; i < count; i++) {
        uint16_t u = bx_u16(bx.d + off + 8 + 2 * i);
        /* written as is, unescaped, by the package: leave anything unusual to it */
        if (u < 0x20 || u == '"' || u == '\\' || (u >= 0xD800 && u <= 0xDFFF)) return 0;
    }
    BX_SET(bx.names_ok, off);
    if (bx_name_is(off, "Data")) BX_SET(bx.names_data, off);
    if (bx_name_is(off, "EventData") || bx_name_is(off, "UserData")) BX_SET(bx.names_box, off);
    return 1;
}

static int bx_name_is(uint32_t off, const char *ascii) {
    uint32_t count = bx_u16(bx.d + off + 6);
    size_t len = strlen(ascii);
    if (count != len) return 0;
    for (uint32_t i = 0; i < count; i++)
        if (bx_u16(bx.d + off + 8 + 2 * i) != (uint8_t)ascii[i]) return 0;
    return 1;
}

static int bx_names_equal(uint32_t a, uint32_t b) {
    if (a == b) return 1;
    uint32_t count = bx_u16(bx.d + a + 6);
    return count == bx_u16(bx.d + b + 6) && memcmp(bx.d + a + 8, bx.d + b + 8, 2ull * count) == 0;
}

/* A name reference at ``*pos``: its offset; an inline name (offset == position after it) is skipped. */
static int bx_name_ref(uint32_t *pos, uint32_t end, uint32_t *name) {
    if (*pos + 4 > end) return BX_FALLBACK;
    uint32_t off = bx_u32(bx.d + *pos);
    *pos += 4;
    if (!bx_name_ok(off)) return BX_FALLBACK;
    if (off == *pos) {
        uint32_t size = 8 + 2u * bx_u16(bx.d + off + 6) + 2;
        if (*pos + size > end) return BX_FALLBACK;
        *pos += size;
    }
    *name = off;
    return 0;
}

/* Whether a value is "optional empty" (an optional substitution of it adds nothing). */
static int bx_value_empty(const BxVal *v) {
    if (v->type == 0x00) return 1;
    if (v->type == 0x01) return v->size < 2 || bx_u16(bx.d + v->off) == 0; /* no units before a NUL */
    if (v->type == 0x0E || v->type == 0x21 || v->type == 0x81) return v->size == 0;
    return 0;
}

/* The substitution values of a template instance: check each descriptor's type and size. */
static int bx_check_value(uint8_t type, uint32_t size) {
    switch (type) {
    case 0x00: case 0x0E: case 0x21: return 1;
    case 0x01: case 0x81: return (size & 1) == 0;
    case 0x03: case 0x04: return size == 1;
    case 0x05: case 0x06: return size == 2;
    case 0x07: case 0x08: case 0x0D: case 0x14: return size == 4;
    case 0x09: case 0x0A: case 0x11: case 0x15: return size == 8;
    case 0x0F: return size == 16;
    case 0x13: return size >= 8 && (size - 8) % 4 == 0;
    default: return 0;
    }
}

static int bx_fragment(uint32_t pos, uint32_t end, const BxVal *vals, uint32_t n_vals, int in_template,
                       int32_t parent, int nest, uint32_t *stop);

/* A value type the package knows (it refuses a record naming any other). */
static int bx_known_type(uint8_t t) {
    return t <= 0x15 || t == 0x20 || t == 0x21 || t == 0x23 || (t >= 0x81 && t <= 0x95);
}

/* The chunk header's tables, which the package reads before any record (and refuses the chunk when
   one is broken): 64 chains of common names at 0x80, 32 chains of templates at 0x180. */
static int bx_tables_ok(void) {
    for (int i = 0; i < 64; i++) {
        uint32_t off = bx_u32(bx.d + 128 + 4 * i);
        for (int steps = 0; off != 0; steps++) {
            if (steps > 4096 || (uint64_t)off + 8 > BX_CHUNK) return 0;
            uint32_t count = bx_u16(bx.d + off + 6);
            if ((uint64_t)off + 8 + 2ull * count + 2 > BX_CHUNK) return 0;
            for (uint32_t k = 0; k < count; k++) { /* the package decodes them: valid UTF-16 only */
                uint16_t u = bx_u16(bx.d + off + 8 + 2 * k);
                if (u >= 0xDC00 && u <= 0xDFFF) return 0;
                if (u >= 0xD800 && u <= 0xDBFF) {
                    uint16_t lo = k + 1 < count ? bx_u16(bx.d + off + 10 + 2 * k) : 0;
                    if (lo < 0xDC00 || lo > 0xDFFF) return 0;
                    k++;
                }
            }
            off = bx_u32(bx.d + off);
        }
    }
    for (int i = 0; i < 32; i++) {
        uint32_t off = bx_u32(bx.d + 384 + 4 * i);
        for (int steps = 0; off != 0; steps++) {
            if (steps > 4096 || (uint64_t)off + 24 > BX_CHUNK) return 0;
            if ((uint64_t)off + 24 + bx_u32(bx.d + off + 20) > BX_CHUNK) return 0;
            uint32_t next = bx_u32(bx.d + off);
            if (next == off) break;
            off = next;
        }
    }
    return 1;
}

/* A template instance at ``*pos`` (after its token): instantiate it under ``parent`` (or as the root). */
static int bx_template(uint32_t *pos, uint32_t end, int32_t parent, int nest, int32_t *root) {
    uint32_t p = *pos;
    if (p + 9 > end) return BX_FALLBACK;
    uint32_t def = bx_u32(bx.d + p + 5);
    p += 9;
    if ((uint64_t)def + 24 > BX_CHUNK) return BX_FALLBACK;
    uint32_t def_size = bx_u32(bx.d + def + 20);
    if ((uint64_t)def + 24 + def_size > BX_CHUNK || def_size < 4) return BX_FALLBACK;
    if (def == p) { /* the definition is inline: skip it */
        if ((uint64_t)p + 24 + def_size > end) return BX_FALLBACK;
        p += 24 + def_size;
    }
    /* The package caches templates by GUID: the same GUID at two offsets is left to it. */
    int known = 0;
    for (int i = 0; i < bx.n_templates; i++) {
        if (bx.templates[i].off == def) { known = 1; break; }
        if (memcmp(bx.templates[i].guid, bx.d + def + 4, 16) == 0) return BX_FALLBACK;
    }
    if (!known) {
        if (bx.n_templates >= BX_MAX_TEMPLATES) return BX_FALLBACK;
        bx.templates[bx.n_templates].off = def;
        memcpy(bx.templates[bx.n_templates].guid, bx.d + def + 4, 16);
        bx.n_templates++;
    }
    if (p + 4 > end) return BX_FALLBACK;
    uint32_t n = bx_u32(bx.d + p);
    p += 4;
    if (n > BX_MAX_VALUES || (uint64_t)p + 4ull * n > end) return BX_FALLBACK;
    BxVal *values = PyMem_Malloc(sizeof(BxVal) * (n ? n : 1));
    if (values == NULL) { PyErr_NoMemory(); return BX_ERROR; }
    uint32_t data = p + 4 * n;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t size = bx_u16(bx.d + p + 4 * i);
        uint8_t type = bx.d[p + 4 * i + 2];
        if (!bx_check_value(type, size) || (uint64_t)data + size > end) {
#ifdef BX_DEBUG
            fprintf(stderr, "evtx_chunk: value type 0x%x size %u\n", type, size);
#endif
            PyMem_Free(values); return BX_FALLBACK;
        }
        values[i].type = type; values[i].off = data; values[i].size = size;
        data += size;
    }
    uint32_t stop = 0;
    int rc = bx_fragment(def + 24, def + 24 + def_size, values, n, 1, parent, nest + 1, &stop);
    PyMem_Free(values);
    if (rc < 0) return rc;
    if (root != NULL) *root = rc;
    *pos = data;
    return rc;
}

/* The strings of a string array (each ended by a NUL; a last one may lack it): calls ``item`` with each
   (offset, units) while it returns 0; returns the count, or a negative code from ``item``. */
typedef int (*BxItem)(uint32_t off, uint32_t units, void *arg);
static int bx_strings(uint32_t off, uint32_t size, BxItem item, void *arg) {
    uint32_t units = size / 2, from = 0;
    int count = 0;
    for (uint32_t i = 0; i <= units; i++) {
        if (i < units && bx_u16(bx.d + off + 2 * i) != 0) continue;
        if (i == units && from == units) break; /* the last string had its NUL */
        if (item != NULL) {
            int rc = item(off + 2 * from, i - from, arg);
            if (rc < 0) return rc;
        }
        count++;
        from = i + 1;
    }
    return count;
}

static int bx_attach_one(int32_t elem, int32_t *stack, int depth, int32_t parent, int32_t *root);

typedef struct { int32_t elem, array, *stack, parent, *root; int depth; } BxExpand;

/* One copy of an element for one string of its array: the array's node replaced by that text. */
static int bx_expand_item(uint32_t off, uint32_t units, void *arg) {
    BxExpand *x = arg;
    int32_t copy = bx_elem(bx.elems[x->elem].name);
    if (copy < 0) return copy;
    BxElem *e = &bx.elems[copy];
    e->attrs = bx.elems[x->elem].attrs;
    e->attrs_tail = bx.elems[x->elem].attrs_tail;
    e->has_elem = bx.elems[x->elem].has_elem;
    for (int32_t n = bx.elems[x->elem].kids; n >= 0; n = bx.nodes[n].next) {
        int32_t node;
        if (n == x->array) {
            if (units == 0) continue; /* an empty string: an empty element */
            node = bx_node(N_TEXT, 0x01, off, units);
        } else {
            BxNode copy_of = bx.nodes[n];
            node = bx_node(copy_of.kind, copy_of.vtype, copy_of.off, copy_of.size);
        }
        if (node < 0) return node;
        bx_append(&bx.elems[copy].kids, &bx.elems[copy].kids_tail, node);
    }
    return bx_attach_one(copy, x->stack, x->depth, x->parent, x->root);
}

/* Attach a finished element; an element holding a string array of several strings is repeated once
   per string (MS-EVEN6 array expansion, as the package does). */
static int bx_attach(int32_t elem, int32_t *stack, int depth, int32_t parent, int32_t *root) {
    if (bx.n_arrays == 0) return bx_attach_one(elem, stack, depth, parent, root);
    int32_t array = -1;
    for (int32_t n = bx.elems[elem].kids; n >= 0; n = bx.nodes[n].next) {
        if (bx.nodes[n].kind != N_VALUE || bx.nodes[n].vtype != 0x81) continue;
        if (bx_strings(bx.nodes[n].off, bx.nodes[n].size, NULL, NULL) <= 1) continue;
        if (array >= 0) return BX_FALLBACK; /* two arrays: a cross product, left to the package */
        array = n;
    }
    for (int32_t a = bx.elems[elem].attrs; a >= 0; a = bx.attrs[a].next)
        for (int32_t n = bx.attrs[a].vals; n >= 0; n = bx.nodes[n].next)
            if (bx.nodes[n].kind == N_VALUE && bx.nodes[n].vtype == 0x81) return BX_FALLBACK;
    if (array < 0) return bx_attach_one(elem, stack, depth, parent, root);
    if (depth == 0) return BX_FALLBACK;
    BxExpand x = {elem, array, stack, parent, root, depth};
    int rc = bx_strings(bx.nodes[array].off, bx.nodes[array].size, bx_expand_item, &x);
    return rc < 0 ? rc : 0;
}

/* Attach a finished element: to the open element, else to ``parent``; else it is the fragment's root. */
static int bx_attach_one(int32_t elem, int32_t *stack, int depth, int32_t parent, int32_t *root) {
    int32_t to = depth > 0 ? stack[depth - 1] : parent;
    if (depth == 0) {
        if (*root >= 0) return BX_FALLBACK; /* a second root: the package refuses the record */
        *root = elem;
    }
    if (to >= 0) {
        int32_t node = bx_node(N_ELEM, 0, (uint32_t)elem, 0);
        if (node < 0) return node;
        bx_append(&bx.elems[to].kids, &bx.elems[to].kids_tail, node);
        bx.elems[to].has_elem = 1;
    }
    return 0;
}

/* A value or text node into the open start tag's attribute, or into the open element. */
static int bx_content(int32_t node, int32_t start, int32_t *attr, uint32_t attr_name, int32_t *stack, int depth) {
    if (start >= 0) {
        if (attr_name == 0) return 0; /* text in a start tag before any attribute: dropped */
        if (*attr < 0) {
            if (bx_grow((void **)&bx.attrs, &bx.cap_attrs, sizeof(BxAttr), bx.n_attrs + 1) < 0) return BX_ERROR;
            BxAttr *a = &bx.attrs[bx.n_attrs];
            a->name = attr_name; a->vals = a->vals_tail = a->next = -1;
            *attr = bx.n_attrs++;
            BxElem *e = &bx.elems[start];
            if (e->attrs_tail < 0) e->attrs = *attr; else bx.attrs[e->attrs_tail].next = *attr;
            e->attrs_tail = *attr;
        }
        bx_append(&bx.attrs[*attr].vals, &bx.attrs[*attr].vals_tail, node);
        return 0;
    }
    if (depth == 0) return BX_FALLBACK; /* a value outside any element */
    BxElem *e = &bx.elems[stack[depth - 1]];
    bx_append(&e->kids, &e->kids_tail, node);
    return 0;
}

/* Walk one BinXML fragment [pos, end) into the tree; returns its root element (or BX_*). */
static int bx_fragment(uint32_t pos, uint32_t end, const BxVal *vals, uint32_t n_vals, int in_template,
                       int32_t parent, int nest, uint32_t *stop) {
    int32_t stack[BX_MAX_DEPTH];
    int depth = 0;
    int32_t root = -1, start = -1, attr = -1;
    uint32_t attr_name = 0;
    int rc;
    if (nest > BX_MAX_NEST) return BX_FALLBACK;
    while (pos < end) {
        uint8_t token = bx.d[pos];
        switch (token) {
        case 0x00: /* end of stream */
            if ((in_template || parent >= 0) && pos + 1 != end) return BX_FALLBACK; /* the package reads on */
            pos = end;
            break;
        case 0x0F: /* fragment header */
            if (pos + 4 > end) return BX_FALLBACK;
            pos += 4;
            break;
        case 0x0C: { /* template instance */
            if (in_template || start >= 0) return BX_FALLBACK;
            pos += 1;
            int32_t elem = -1;
            rc = bx_template(&pos, end, -1, nest, &elem);
            if (rc < 0) return rc;
            rc = bx_attach(elem, stack, depth, parent, &root);
            if (rc < 0) return rc;
            break;
        }
        case 0x01: case 0x41: { /* open start element */
            if (start >= 0) return BX_FALLBACK;
            pos += 1;
            if (in_template) pos += 2; /* dependency identifier */
            pos += 4;                  /* data size */
            uint32_t name;
            rc = bx_name_ref(&pos, end, &name);
            if (rc < 0) return rc;
            if (token == 0x41) pos += 4; /* attribute list size */
            if (pos > end) return BX_FALLBACK;
            start = bx_elem(name);
            if (start < 0) return start;
            attr = -1; attr_name = 0;
            break;
        }
        case 0x06: case 0x46: { /* attribute */
            if (start < 0) return BX_FALLBACK;
            pos += 1;
            rc = bx_name_ref(&pos, end, &attr_name);
            if (rc < 0) return rc;
            attr = -1;
            break;
        }
        case 0x02: /* close start element: the element is open */
            if (start < 0 || depth >= BX_MAX_DEPTH) return BX_FALLBACK;
            stack[depth++] = start;
            start = -1; attr_name = 0;
            pos += 1;
            break;
        case 0x03: /* close empty element */
            if (start < 0) return BX_FALLBACK;
            rc = bx_attach(start, stack, depth, parent, &root);
            if (rc < 0) return rc;
            start = -1; attr_name = 0;
            pos += 1;
            break;
        case 0x04: /* end element */
            if (start >= 0 || depth == 0) return BX_FALLBACK;
            depth--;
            rc = bx_attach(stack[depth], stack, depth, parent, &root);
            if (rc < 0) return rc;
            pos += 1;
            break;
        case 0x05: case 0x45: { /* a literal value: only UTF-16 text is taken */
            if (pos + 4 > end || bx.d[pos + 1] != 0x01) return BX_FALLBACK;
            uint32_t units = bx_u16(bx.d + pos + 2);
            if ((uint64_t)pos + 4 + 2ull * units > end) return BX_FALLBACK;
            int32_t node = bx_node(N_TEXT, 0x01, pos + 4, units);
            if (node < 0) return node;
            rc = bx_content(node, start, &attr, attr_name, stack, depth);
            if (rc < 0) return rc;
            pos += 4 + 2 * units;
            break;
        }
        case 0x0D: case 0x0E: { /* substitution */
            if (!in_template || pos + 4 > end || !bx_known_type(bx.d[pos + 3])) return BX_FALLBACK;
            uint32_t index = bx_u16(bx.d + pos + 1);
            pos += 4;
            if (index >= n_vals) break;
            const BxVal *v = &vals[index];
            if (token == 0x0E && bx_value_empty(v)) break;
            if (v->type == 0x21) {
                if (v->size == 0) break;
                if (start >= 0) return BX_FALLBACK; /* BinXML in an attribute */
                int32_t open = depth > 0 ? stack[depth - 1] : -1;
                if (open < 0) return BX_FALLBACK;
                uint32_t inner_stop = 0;
                rc = bx_fragment(v->off, v->off + v->size, NULL, 0, 0, open, nest + 1, &inner_stop);
                if (rc < 0) return rc;
                break;
            }
            int32_t node;
            if (v->type == 0x01) { /* text up to its first NUL (found when written: vtype 0x02) */
                node = bx_node(N_TEXT, 0x02, v->off, v->size / 2);
            } else {
                node = bx_node(N_VALUE, v->type, v->off, v->size);
                if (v->type == 0x81) bx.n_arrays++;
            }
            if (node < 0) return node;
            rc = bx_content(node, start, &attr, attr_name, stack, depth);
            if (rc < 0) return rc;
            break;
        }
        default: /* CDATA, character and entity references, processing instructions, garbage */
            return BX_FALLBACK;
        }
    }
    if (start >= 0 || depth != 0 || root < 0) return BX_FALLBACK;
    *stop = pos;
    return root;
}
