/* EVTX chunks to JSON documents in C, part two: the JSON of a record's tree and the chunk loop
 * (included by _speedups.c after _speedups_evtx_binxml.c, which builds the trees; see there).
 */

/* ---- the JSON ---- */

static int bx_grow_out(size_t more) {
    if (bx.n_out + more > BX_MAX_OUT) { bx.too_big = 1; return BX_ERROR; } /* no exception */
    size_t cap = bx.cap_out ? bx.cap_out : 4096;
    while (cap < bx.n_out + more) cap *= 2;
    char *p = PyMem_Realloc(bx.out, cap);
    if (p == NULL) { PyErr_NoMemory(); return BX_ERROR; }
    bx.out = p; bx.cap_out = cap;
    return 0;
}

static inline __attribute__((always_inline)) int bx_reserve(size_t more) {
    return bx.n_out + more <= bx.cap_out ? 0 : bx_grow_out(more);
}

/* Inlined: the literals' sizes are constants, so their copies are a few stores. */
static inline __attribute__((always_inline)) int bx_write(const char *s, size_t n) {
    if (bx_reserve(n) < 0) return BX_ERROR;
    memcpy(bx.out + bx.n_out, s, n);
    bx.n_out += n;
    return 0;
}
#define BX_LIT(s) bx_write((s), sizeof(s) - 1)

/* UTF-16LE units at ``off`` as JSON string content (escaped as serde_json does); a lone surrogate
   falls back. */
/* ASCII characters JSON writes as they are (a NUL, a control, a quote or a backslash are not). */
static uint8_t bx_plain[128];
static void bx_init_plain(void) {
    for (int c = 0; c < 128; c++) bx_plain[c] = c >= 0x20 && c != '"' && c != '\\';
}

static int bx_utf16_to(uint32_t off, uint32_t units, int escape, int stop_at_nul) {
    if (bx_reserve(6ull * units) < 0) return BX_ERROR;
    char *o = bx.out + bx.n_out;
    const uint8_t *s = bx.d + off;
    for (uint32_t i = 0; i < units; i++) {
        /* Plain ASCII four units at a time: no escape, no NUL, no high byte. */
        while (i + 4 <= units) {
            uint64_t v;
            memcpy(&v, s + 2 * i, 8);
            if (v & 0xFF80FF80FF80FF80ull) break;
            uint8_t c0 = (uint8_t)v, c1 = (uint8_t)(v >> 16), c2 = (uint8_t)(v >> 32), c3 = (uint8_t)(v >> 48);
            if (!(bx_plain[c0] & bx_plain[c1] & bx_plain[c2] & bx_plain[c3])) break;
            o[0] = (char)c0; o[1] = (char)c1; o[2] = (char)c2; o[3] = (char)c3;
            o += 4;
            i += 4;
        }
        if (i >= units) break;
        uint32_t c = bx_u16(s + 2 * i);
        if (c < 0x80) {
            if (c == 0 && stop_at_nul) break;
            if (escape && (c < 0x20 || c == '"' || c == '\\')) {
                *o++ = '\\';
                switch (c) {
                case '"': *o++ = '"'; break;
                case '\\': *o++ = '\\'; break;
                case '\b': *o++ = 'b'; break;
                case '\f': *o++ = 'f'; break;
                case '\n': *o++ = 'n'; break;
                case '\r': *o++ = 'r'; break;
                case '\t': *o++ = 't'; break;
                default:
                    *o++ = 'u'; *o++ = '0'; *o++ = '0';
                    *o++ = "0123456789ABCDEF"[c >> 4]; *o++ = "0123456789ABCDEF"[c & 15];
                }
            } else {
                *o++ = (char)c;
            }
        } else if (c < 0x800) {
            *o++ = (char)(0xC0 | (c >> 6)); *o++ = (char)(0x80 | (c & 0x3F));
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            if (c >= 0xDC00 || i + 1 >= units) return BX_FALLBACK;
            uint32_t lo = bx_u16(s + 2 * (i + 1));
            if (lo < 0xDC00 || lo > 0xDFFF) return BX_FALLBACK;
            c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
            i++;
            *o++ = (char)(0xF0 | (c >> 18)); *o++ = (char)(0x80 | ((c >> 12) & 0x3F));
            *o++ = (char)(0x80 | ((c >> 6) & 0x3F)); *o++ = (char)(0x80 | (c & 0x3F));
        } else {
            *o++ = (char)(0xE0 | (c >> 12)); *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (char)(0x80 | (c & 0x3F));
        }
    }
    bx.n_out = (size_t)(o - bx.out);
    return 0;
}

static int bx_utf16(uint32_t off, uint32_t units, int escape) { return bx_utf16_to(off, units, escape, 0); }

static int bx_name(uint32_t name) { return bx_utf16(name + 8, bx_u16(bx.d + name + 6), 0); }

/* The JSON keys of this chunk's names ("Name":), written once and copied after: every record of a
   chunk repeats its templates' names. Open addressing on the name's offset; a slot belongs to the
   chunk whose generation it holds. */
#define BX_KEY_SLOTS 1024
typedef struct { uint32_t gen, off, at, len; } BxKey;
static BxKey bx_keys[BX_KEY_SLOTS];
static uint32_t bx_key_gen;
static char *bx_key_text;
static size_t bx_key_used, bx_key_cap;

static int bx_key(uint32_t name) {
    uint32_t h = (name * 2654435761u) >> 22;
    for (int probe = 0; probe < 8; probe++) {
        BxKey *k = &bx_keys[(h + (uint32_t)probe) & (BX_KEY_SLOTS - 1)];
        if (k->gen == bx_key_gen && k->off == name) return bx_write(bx_key_text + k->at, k->len);
        if (k->gen != bx_key_gen) { /* free: write the key, then keep a copy */
            size_t from = bx.n_out;
            if (BX_LIT("\"") < 0 || bx_name(name) < 0 || BX_LIT("\":") < 0) return BX_ERROR;
            size_t len = bx.n_out - from;
            if (bx_key_used + len > bx_key_cap) {
                size_t cap = bx_key_cap ? bx_key_cap * 2 : 16384;
                while (cap < bx_key_used + len) cap *= 2;
                char *text = PyMem_Realloc(bx_key_text, cap);
                if (text == NULL) { PyErr_NoMemory(); return BX_ERROR; }
                bx_key_text = text; bx_key_cap = cap;
            }
            memcpy(bx_key_text + bx_key_used, bx.out + from, len);
            k->gen = bx_key_gen; k->off = name; k->at = (uint32_t)bx_key_used; k->len = (uint32_t)len;
            bx_key_used += len;
            return 0;
        }
    }
    if (BX_LIT("\"") < 0 || bx_name(name) < 0) return BX_ERROR; /* a crowded table: as is */
    return BX_LIT("\":");
}

static int bx_uint(uint64_t v) {
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    if (bx_reserve((size_t)n) < 0) return BX_ERROR;
    while (n) bx.out[bx.n_out++] = tmp[--n];
    return 0;
}

static int bx_int(int64_t v) {
    if (v < 0) {
        if (BX_LIT("-") < 0) return BX_ERROR;
        return bx_uint((uint64_t)(-(v + 1)) + 1);
    }
    return bx_uint((uint64_t)v);
}

static int bx_hex(uint64_t v) {
    char tmp[20];
    int n = 0;
    do { tmp[n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    if (BX_LIT("0x") < 0 || bx_reserve((size_t)n) < 0) return BX_ERROR;
    while (n) bx.out[bx.n_out++] = tmp[--n];
    return 0;
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
static void bx_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* A FILETIME as "YYYY-MM-DDTHH:MM:SS" + fraction + "Z": ``digits`` 6 (values: microseconds) or 0 (the
   record header: the 100-ns fraction without trailing zeros). */
static int bx_filetime(uint64_t ft, int micro) {
    uint64_t secs = ft / 10000000u, frac = ft % 10000000u;
    int64_t since = (int64_t)secs - 11644473600LL;
    int64_t days = since >= 0 ? since / 86400 : -((-since + 86399) / 86400);
    int64_t rem = since - days * 86400;
    int64_t y; unsigned m, d;
    bx_civil(days, &y, &m, &d);
    if (y < 1 || y > 9999) return BX_FALLBACK;
    char tmp[48];
    unsigned parts[6] = {(unsigned)y, m, d, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60)};
    static const char seps[6] = {'-', '-', 'T', ':', ':', 0};
    int n = 0;
    for (int i = 0; i < 6; i++) {
        unsigned v = parts[i];
        if (i == 0) {
            tmp[n++] = (char)('0' + v / 1000); tmp[n++] = (char)('0' + v / 100 % 10);
        }
        tmp[n++] = (char)('0' + v / 10 % 10); tmp[n++] = (char)('0' + v % 10);
        if (seps[i]) tmp[n++] = seps[i];
    }
    unsigned f = (unsigned)frac;
    int digits = 7;
    if (micro) { f /= 10; digits = 6; }
    else { while (digits > 0 && f % 10 == 0 && f) { f /= 10; digits--; } if (!f) digits = 0; }
    if (digits) {
        tmp[n++] = '.';
        for (int i = digits - 1; i >= 0; i--) { tmp[n + i] = (char)('0' + f % 10); f /= 10; }
        n += digits;
    }
    tmp[n++] = 'Z';
    return bx_write(tmp, (size_t)n);
}

typedef struct { int count; } BxJoin;
static int bx_join_item(uint32_t off, uint32_t units, void *arg) {
    BxJoin *join = arg;
    if (join->count++ && BX_LIT(",") < 0) return BX_ERROR;
    return bx_utf16(off, units, 1);
}

/* A value's text (inside a JSON string). */
static int bx_value_text(const BxNode *v) {
    const uint8_t *p = bx.d + v->off;
    switch (v->vtype) {
    case 0x00: return 0;
    case 0x03: return bx_int((int8_t)p[0]);
    case 0x04: return bx_uint(p[0]);
    case 0x05: return bx_int((int16_t)bx_u16(p));
    case 0x06: return bx_uint(bx_u16(p));
    case 0x07: return bx_int((int32_t)bx_u32(p));
    case 0x08: return bx_uint(bx_u32(p));
    case 0x09: return bx_int((int64_t)bx_u64(p));
    case 0x0A: return bx_uint(bx_u64(p));
    case 0x0D: { /* 0 and 1 are booleans; the package writes any other as the integer it is */
        int32_t raw = (int32_t)bx_u32(p);
        return raw == 0 ? BX_LIT("false") : raw == 1 ? BX_LIT("true") : bx_int(raw);
    }
    case 0x0E: {
        if (bx_reserve(2ull * v->size) < 0) return BX_ERROR;
        for (uint32_t i = 0; i < v->size; i++) {
            bx.out[bx.n_out++] = "0123456789ABCDEF"[p[i] >> 4];
            bx.out[bx.n_out++] = "0123456789ABCDEF"[p[i] & 15];
        }
        return 0;
    }
    case 0x0F: {
        static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
        char g[36];
        int n = 0;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) g[n++] = '-';
            g[n++] = "0123456789ABCDEF"[p[order[i]] >> 4];
            g[n++] = "0123456789ABCDEF"[p[order[i]] & 15];
        }
        return bx_write(g, 36);
    }
    case 0x11: return bx_filetime(bx_u64(p), 1);
    case 0x13: {
        uint32_t subs = p[1];
        if (v->size != 8 + 4 * subs) return BX_FALLBACK;
        uint64_t authority = 0;
        for (int i = 2; i < 8; i++) authority = (authority << 8) | p[i];
        if (authority >> 32) return BX_FALLBACK;
        if (BX_LIT("S-") < 0 || bx_uint(p[0]) < 0 || BX_LIT("-") < 0 || bx_uint(authority) < 0) return BX_ERROR;
        for (uint32_t i = 0; i < subs; i++)
            if (BX_LIT("-") < 0 || bx_uint(bx_u32(p + 8 + 4 * i)) < 0) return BX_ERROR;
        return 0;
    }
    case 0x81: { /* one string (several were expanded): as the package writes a list, comma-separated */
        BxJoin join = {0};
        int rc = bx_strings(v->off, v->size, bx_join_item, &join);
        return rc < 0 ? rc : 0;
    }
    case 0x14: return bx_hex(bx_u32(p));
    case 0x15: return bx_hex(bx_u64(p));
    default: return BX_FALLBACK;
    }
}

static int bx_text_empty(const BxNode *x) {
    return x->size == 0 || (x->vtype == 0x02 && bx_u16(bx.d + x->off) == 0);
}

static int bx_is_number(uint8_t t) { return (t >= 0x03 && t <= 0x0A) || t == 0x0D; }

/* Whether a node list has text: a non-empty text or a value that is not "optional empty". */
static int bx_has_text(int32_t n) {
    for (; n >= 0; n = bx.nodes[n].next) {
        const BxNode *x = &bx.nodes[n];
        if (x->kind == N_TEXT && !bx_text_empty(x)) return 1;
        if (x->kind == N_VALUE) {
            BxVal v = {x->vtype, x->off, x->size};
            if (!bx_value_empty(&v)) return 1;
        }
    }
    return 0;
}

/* The text of a node list (elements skipped) inside a JSON string. */
static int bx_text(int32_t n) {
    int rc;
    for (; n >= 0; n = bx.nodes[n].next) {
        const BxNode *x = &bx.nodes[n];
        if (x->kind == N_TEXT) rc = bx_utf16_to(x->off, x->size, 1, x->vtype == 0x02);
        else if (x->kind == N_VALUE) rc = bx_value_text(x);
        else continue;
        if (rc < 0) return rc;
    }
    return 0;
}

static int bx_quoted_text(int32_t n) {
    if (BX_LIT("\"") < 0) return BX_ERROR;
    int rc = bx_text(n);
    if (rc < 0) return rc;
    return BX_LIT("\"");
}

/* A node list as a JSON value: a number when it is exactly one integer/boolean value, else a string.
   ``skip``: elements and empty text are ignored in finding the one value (the "#text" of an object). */
static int bx_content_value(int32_t list, int skip) {
    int32_t single = -1, count = 0;
    for (int32_t n = list; n >= 0; n = bx.nodes[n].next) {
        const BxNode *x = &bx.nodes[n];
        if (!skip) { count++; single = n; continue; }
        if (x->kind == N_ELEM) continue;
        if (x->kind == N_TEXT) { if (!bx_text_empty(x)) { count = 2; break; } continue; }
        BxVal v = {x->vtype, x->off, x->size};
        if (bx_value_empty(&v)) continue;
        count++; single = n;
    }
    if (count == 1 && bx.nodes[single].kind == N_VALUE && bx_is_number(bx.nodes[single].vtype))
        return bx_value_text(&bx.nodes[single]);
    return bx_quoted_text(list);
}

static int bx_element_value(int32_t e, int container);

static int bx_attrs_text(int32_t e) {
    for (int32_t a = bx.elems[e].attrs; a >= 0; a = bx.attrs[a].next)
        if (bx_has_text(bx.attrs[a].vals)) return 1;
    return 0;
}

static int32_t bx_attr(int32_t e, const char *name) {
    for (int32_t a = bx.elems[e].attrs; a >= 0; a = bx.attrs[a].next)
        if (bx_name_is(bx.attrs[a].name, name)) return a;
    return -1;
}

static int bx_body(int32_t e, int container);

static int bx_data_value(int32_t e) {
    const BxElem *x = &bx.elems[e];
    if (!bx_has_text(x->kids) && !x->has_elem) return BX_LIT("\"\"");
    if (x->has_elem) return bx_body(e, 0);
    return bx_content_value(x->kids, 0);
}

static int bx_body(int32_t e, int container) {
    const BxElem *x = &bx.elems[e];
    int rc, any = 0;
    int flatten = 0, positional = 0, positional_done = 0;
    if (container) {
        for (int32_t n = x->kids; n >= 0; n = bx.nodes[n].next) {
            if (bx.nodes[n].kind != N_ELEM) continue;
            int32_t c = (int32_t)bx.nodes[n].off;
            if (!BX_BIT(bx.names_data, bx.elems[c].name)) continue;
            positional++;
            int32_t a = bx_attr(c, "Name");
            if (a >= 0 && bx_has_text(bx.attrs[a].vals)) flatten = 1;
        }
        if (flatten) positional = 0;
    }
    if (BX_LIT("{") < 0) return BX_ERROR;
    for (int32_t a = x->attrs; a >= 0; a = bx.attrs[a].next) {
        if (!bx_has_text(bx.attrs[a].vals)) continue;
        if (!any && BX_LIT("\"#attributes\":{") < 0) return BX_ERROR;
        if (any && BX_LIT(",") < 0) return BX_ERROR;
        any = 1;
        if ((rc = bx_key(bx.attrs[a].name)) < 0) return rc;
        if ((rc = bx_content_value(bx.attrs[a].vals, 0)) < 0) return rc;
    }
    if (any && BX_LIT("}") < 0) return BX_ERROR;
    if (bx_has_text(x->kids)) {
        if (any && BX_LIT(",") < 0) return BX_ERROR;
        any = 1;
        if (BX_LIT("\"#text\":") < 0) return BX_ERROR;
        if ((rc = bx_content_value(x->kids, 1)) < 0) return rc;
    }
    for (int32_t n = x->kids; n >= 0; n = bx.nodes[n].next) {
        if (bx.nodes[n].kind != N_ELEM) continue;
        int32_t c = (int32_t)bx.nodes[n].off;
        uint32_t name = bx.elems[c].name;
        if (container && BX_BIT(bx.names_data, name)) {
            if (flatten) {
                int32_t a = bx_attr(c, "Name");
                if (a < 0 || !bx_has_text(bx.attrs[a].vals)) continue;
                if (any && BX_LIT(",") < 0) return BX_ERROR;
                any = 1;
                if (BX_LIT("\"") < 0) return BX_ERROR;
                if ((rc = bx_text(bx.attrs[a].vals)) < 0) return rc;
                if (BX_LIT("\":") < 0) return BX_ERROR;
                if ((rc = bx_data_value(c)) < 0) return rc;
            } else if (!positional_done) {
                positional_done = 1;
                if (any && BX_LIT(",") < 0) return BX_ERROR;
                any = 1;
                if (BX_LIT("\"Data\":{\"#text\":") < 0) return BX_ERROR;
                if (positional == 1) {
                    if ((rc = bx_data_value(c)) < 0) return rc;
                } else {
                    int first = 1;
                    if (BX_LIT("[") < 0) return BX_ERROR;
                    for (int32_t m = n; m >= 0; m = bx.nodes[m].next) {
                        if (bx.nodes[m].kind != N_ELEM) continue;
                        int32_t d = (int32_t)bx.nodes[m].off;
                        if (!BX_BIT(bx.names_data, bx.elems[d].name)) continue;
                        if (!first && BX_LIT(",") < 0) return BX_ERROR;
                        first = 0;
                        if ((rc = bx_data_value(d)) < 0) return rc;
                    }
                    if (BX_LIT("]") < 0) return BX_ERROR;
                }
                if (BX_LIT("}") < 0) return BX_ERROR;
            }
            continue;
        }
        /* A repeated name gets a suffix in the package (Name_1, ...): left to it. */
        for (int32_t m = x->kids; m != n; m = bx.nodes[m].next) {
            if (bx.nodes[m].kind != N_ELEM) continue;
            uint32_t other = bx.elems[bx.nodes[m].off].name;
            if (bx_names_equal(other, name) && !(container && BX_BIT(bx.names_data, other))) return BX_FALLBACK;
        }
        if (any && BX_LIT(",") < 0) return BX_ERROR;
        any = 1;
        if ((rc = bx_key(name)) < 0) return rc;
        int child_container = BX_BIT(bx.names_box, name) != 0;
        if ((rc = bx_element_value(c, child_container)) < 0) return rc;
    }
    return BX_LIT("}");
}

static int bx_element_value(int32_t e, int container) {
    const BxElem *x = &bx.elems[e];
    int text = bx_has_text(x->kids), attrs = bx_attrs_text(e);
    if (!x->has_elem && !text && !attrs) return BX_LIT("null");
    if (!x->has_elem && !attrs) return bx_content_value(x->kids, 0);
    return bx_body(e, container);
}

/* ---- the chunk ---- */

static int bx_record(uint32_t pos, uint32_t size, uint64_t *record_id) {
    *record_id = bx_u64(bx.d + pos + 8);
    uint64_t written = bx_u64(bx.d + pos + 16);
    bx.n_nodes = bx.n_elems = bx.n_attrs = bx.n_arrays = 0;
    uint32_t stop = 0;
    int root = bx_fragment(pos + 24, pos + size - 4, NULL, 0, 0, -1, 0, &stop);
    if (root < 0) return root;
    bx.n_out = 0;
    int rc;
    if (BX_LIT("{\"event_record_id\":") < 0 || bx_uint(*record_id) < 0 || BX_LIT(",\"timestamp\":\"") < 0)
        return BX_ERROR;
    if ((rc = bx_filetime(written, 0)) < 0) return rc;
    if (BX_LIT("\",\"") < 0 || bx_name(bx.elems[root].name) < 0 || BX_LIT("\":") < 0) return BX_ERROR;
    if ((rc = bx_element_value(root, 0)) < 0) return rc;
    return BX_LIT("}");
}

static PyObject *evtx_chunk(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (!bx_plain['a']) bx_init_plain();
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *out = NULL;
    const uint8_t *d = view.buf;
    if (view.len == BX_CHUNK && d[0] == 0 && memcmp(d, d + 1, BX_CHUNK - 1) == 0) { /* an empty slot */
        out = PyList_New(0);
        goto done;
    }
    if (view.len != BX_CHUNK || memcmp(d, "ElfChnk\0", 8) != 0 || bx_u32(d + 40) != 128) goto fallback;
    uint64_t first_id = bx_u64(d + 24), last_id = bx_u64(d + 32);
    uint32_t free_at = bx_u32(d + 48);
    if (free_at < 512 || free_at > BX_CHUNK || last_id < first_id || last_id - first_id >= BX_CHUNK) goto fallback;
    bx.d = d;
    bx.n_templates = 0;
    bx.too_big = 0;
    if (++bx_key_gen == 0) { /* wrapped: no slot may look current */
        memset(bx_keys, 0, sizeof bx_keys);
        bx_key_gen = 1;
    }
    bx_key_used = 0;
    memset(bx.names_ok, 0, sizeof bx.names_ok);
    memset(bx.names_data, 0, sizeof bx.names_data);
    memset(bx.names_box, 0, sizeof bx.names_box);
    if (!bx_tables_ok()) goto fallback;
    out = PyList_New(0);
    if (out == NULL) goto done;
    uint32_t pos = 512;
    uint64_t expect = first_id;
    while (pos < free_at) {
        if (pos + 28 > free_at || bx_u32(d + pos) != 0x00002a2a) goto fallback;
        uint32_t size = bx_u32(d + pos + 4);
        if (size < 28 || size > free_at - pos || bx_u32(d + pos + size - 4) != size) goto fallback;
        uint64_t record_id;
        int rc = bx_record(pos, size, &record_id);
        if (rc == BX_ERROR && bx.too_big) goto fallback;
        if (rc == BX_ERROR) { Py_CLEAR(out); goto done; }
        if (rc < 0 || record_id != expect) goto fallback;
        expect++;
        PyObject *item = Py_BuildValue("(Ky#)", (unsigned long long)record_id, bx.out, (Py_ssize_t)bx.n_out);
        if (item == NULL || PyList_Append(out, item) < 0) { Py_XDECREF(item); Py_CLEAR(out); goto done; }
        Py_DECREF(item);
        pos += size;
    }
    if (expect != last_id + 1) goto fallback;
    goto done;
fallback:
#ifdef BX_DEBUG
    fprintf(stderr, "evtx_chunk: chunk fallback\n");
#endif
    Py_XDECREF(out);
    out = Py_NewRef(Py_None);
done:
    bx.d = NULL;
    PyBuffer_Release(&view);
    return out;
}
