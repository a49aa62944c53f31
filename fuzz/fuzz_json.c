/* libFuzzer harness: the JSON parser (llm_json_parse) and every reader.

   Input: byte 0 picks the options, the rest is the document.
     bit 0      LLM_JSON_ALLOW_TRAILING_COMMAS
     bit 1      LLM_JSON_ALLOW_COMMENTS
     bits 2..7  max_depth: 0 -> 0 (the default, 128), 62 -> -1 (default
                again), 63 -> 100000 (clamped to LLM_JSON_DEPTH_LIMIT),
                else that value (1..61)

   Besides the sanitizers, it aborts when an invariant fails:
   - the parse makes exactly one allocation on success, none on failure, and
     frees it; the result struct agrees with the return value; the error
     offset is inside the input and line/column match the offset;
   - the same options with every extension on and the deepest limit accept
     whatever the chosen options accept, with the same tree;
   - strings and keys are valid UTF-8 (llm__utf8_valid agrees with an
     independent validator), NUL-terminated at [len];
   - number literals follow the RFC 8259 grammar, llm_json_number equals the
     C library's strtod of the literal (in the C locale), also when the
     thread's locale writes decimals with a comma (de_DE.UTF-8, when
     newlocale finds it: the Makefile points LOCPATH at $(BUILD)/locale),
     and llm_json_int64 is exact;
   - llm_json_get / at / path / string / number / int64 / double / bool /
     is_null answer as documented for every node, including wrong types and
     NULL. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "fuzz_util.h"
#include <langinfo.h>
#include <locale.h>

/* A comma-decimal locale for the numbers, when this system has one. */
static locale_t comma_locale(void) {
    static int tried;
    static locale_t loc = (locale_t)0;
    if (!tried) {
        tried = 1;
        loc = newlocale(LC_NUMERIC_MASK, "de_DE.UTF-8", (locale_t)0);
        if (loc && strcmp(nl_langinfo_l(RADIXCHAR, loc), ",") != 0) { freelocale(loc); loc = (locale_t)0; }
    }
    return loc;
}

typedef struct fz_count { long allocs, frees, live; } fz_count;
static void *cnt_alloc(size_t n, void *u) { fz_count *c = (fz_count *)u; c->allocs++; c->live++; return malloc(n); }
static void *cnt_realloc(void *p, size_t n, void *u) {
    fz_count *c = (fz_count *)u;
    c->allocs++;
    if (!p) c->live++;
    return realloc(p, n);
}
static void cnt_free(void *p, void *u) { fz_count *c = (fz_count *)u; if (p) { c->frees++; c->live--; } free(p); }

static int same_double(double a, double b) {
    if (a != a || b != b) return a != a && b != b;
    return a == b && (a != 0.0 || (1.0 / a > 0) == (1.0 / b > 0));
}

/* The exact value of a number literal as an int64, decided from its
   digits (never through a double), independently of llm_json_int64:
   1 and *out when the literal is an integer that fits, 0 when it is an
   integer that does not fit, -1 when it is not an integer ("1.5", "5e-325").
   The literal is known to match the JSON grammar. */
static int exact_int64(const char *s, size_t n, int64_t *out) {
    static const char maxpos[] = "9223372036854775807", maxneg[] = "9223372036854775808";
    const char *d0;
    size_t i = 0, nd = 0, j;
    long long point = 0, e = 0, f = -1, l = -1, kint, nsig, k;
    int neg = 0, eneg = 0;
    uint64_t m = 0;
    char full[20];
    if (s[i] == '-') { neg = 1; i++; }
    d0 = s + i; /* digit j of the mantissa is d0[j < point ? j : j + 1] */
    while (i < n && s[i] >= '0' && s[i] <= '9') { i++; point++; nd++; }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') { i++; nd++; }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (s[i] == '+' || s[i] == '-') eneg = s[i++] == '-';
        while (i < n) { if (e < 100000000) e = e * 10 + (s[i] - '0'); i++; }
        if (eneg) e = -e;
    }
    for (j = 0; j < nd; j++) { /* first and last nonzero digit */
        char ch = d0[(long long)j < point ? j : j + 1];
        if (ch != '0') { if (f < 0) f = (long long)j; l = (long long)j; }
    }
    if (f < 0) { *out = 0; return 1; } /* zero, however written */
    nsig = l - f + 1;          /* significant digits, trailing zeros dropped */
    kint = point - f + e;      /* the value is 0.<significant digits> * 10^kint */
    if (kint < nsig) return -1;
    if (kint > 19) return 0;
    for (k = 0; k < kint; k++) {
        long long dj = f + k;
        full[k] = dj <= l ? d0[dj < point ? dj : dj + 1] : '0';
    }
    if (kint == 19 && memcmp(full, neg ? maxneg : maxpos, 19) > 0) return 0;
    for (k = 0; k < kint; k++) m = m * 10 + (uint64_t)(full[k] - '0');
    if (neg) *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    else *out = (int64_t)m;
    return 1;
}

static void check_number(const llm_json_value *v) {
    double d, ref;
    char *end;
    int64_t i64 = 0, want = 0;
    int ok, ex;
    FZ_CHECK(v->str != NULL && v->len > 0 && v->str[v->len] == '\0');
    FZ_CHECK(fz_is_json_number(v->str, v->len));
    FZ_CHECK(llm_json_number(v, &d) == 1);
    FZ_CHECK(llm_json_number(v, NULL) == 1);
    ref = strtod(v->str, &end);
    FZ_CHECK(end == v->str + v->len);
    if (!same_double(d, ref)) fz_fail("llm_json_number(\"%s\") = %.17g, strtod = %.17g", v->str, d, ref);
    FZ_CHECK(same_double(llm_json_double(v, 12345.0), d));
    if (comma_locale()) { /* the locale must not change the value */
        double dl = 0;
        locale_t prev = uselocale(comma_locale());
        llm_json_number(v, &dl);
        uselocale(prev);
        if (!same_double(dl, ref))
            fz_fail("llm_json_number(\"%.80s\") = %.17g in de_DE.UTF-8, strtod = %.17g", v->str, dl, ref);
    }
    ok = llm_json_int64(v, &i64);
    FZ_CHECK(llm_json_int64(v, NULL) == ok);
    ex = exact_int64(v->str, v->len, &want);
    if (ex == 1 && (!ok || i64 != want))
        fz_fail("llm_json_int64(\"%s\") = %d/%lld, the literal is the integer %lld", v->str, ok, (long long)i64, (long long)want);
    if (ex == 0 && ok) fz_fail("llm_json_int64(\"%s\") = %lld: the integer does not fit int64", v->str, (long long)i64);
    if (ex < 0 && ok) fz_fail("llm_json_int64(\"%s\") = %lld: the literal is not an integer", v->str, (long long)i64);
}

/* Path from the root to the node being visited: "key.3.key"; usable only
   while every segment is one llm_json_path can express. */
typedef struct walk { char path[2048]; size_t plen; int path_ok; const llm_json_value *root; long nodes; } walk;

static int key_pathable(const llm_json_value *obj, const llm_json_value *child) {
    size_t i;
    if (!child->key_len || memchr(child->key, '.', child->key_len) || memchr(child->key, '\0', child->key_len)) return 0;
    for (i = 0; &obj->items[i] != child; i++) /* the path finds the first of duplicate keys */
        if (obj->items[i].key_len == child->key_len && !memcmp(obj->items[i].key, child->key, child->key_len)) return 0;
    return 1;
}

static void visit(walk *w, const llm_json_value *v, int depth);

static void visit_children(walk *w, const llm_json_value *v, int depth) {
    size_t i;
    size_t save = w->plen;
    int save_ok = w->path_ok;
    FZ_CHECK((v->len == 0) == (v->items == NULL));
    FZ_CHECK(llm_json_at(v, v->len) == NULL);
    FZ_CHECK(llm_json_at(v, (size_t)-1) == NULL);
    for (i = 0; i < v->len; i++) {
        const llm_json_value *ch = &v->items[i];
        char seg[32];
        const char *sp;
        size_t sl;
        FZ_CHECK(llm_json_at(v, i) == ch);
        if (v->type == LLM_JSON_ARRAY) {
            FZ_CHECK(ch->key == NULL && ch->key_len == 0);
            sl = (size_t)snprintf(seg, sizeof seg, "%lu", (unsigned long)i);
            sp = seg;
            w->path_ok = save_ok && i < 1000000000ul;
        } else {
            const llm_json_value *g;
            FZ_CHECK(ch->key != NULL && ch->key[ch->key_len] == '\0');
            if (!fz_utf8_ok(ch->key, ch->key_len)) fz_fail("key is not valid UTF-8");
            FZ_CHECK(llm__utf8_valid((const unsigned char *)ch->key, ch->key_len) == ch->key_len);
            if (!memchr(ch->key, '\0', ch->key_len)) {
                /* llm_json_get finds the first member of that name */
                size_t k;
                g = llm_json_get(v, ch->key);
                FZ_CHECK(g != NULL && g->key_len == ch->key_len && !memcmp(g->key, ch->key, ch->key_len));
                for (k = 0; &v->items[k] != g; k++)
                    FZ_CHECK(!(v->items[k].key_len == ch->key_len && !memcmp(v->items[k].key, ch->key, ch->key_len)));
                FZ_CHECK(k <= i);
            }
            sp = ch->key;
            sl = ch->key_len;
            w->path_ok = save_ok && key_pathable(v, ch);
        }
        if (w->path_ok && save + 1 + sl < sizeof w->path) {
            if (save) w->path[save] = '.';
            memcpy(w->path + save + (save ? 1 : 0), sp, sl);
            w->plen = save + (save ? 1 : 0) + sl;
            w->path[w->plen] = '\0';
        } else {
            w->path_ok = 0;
        }
        visit(w, ch, depth + 1);
        w->plen = save;
        w->path[save] = '\0';
    }
    w->path_ok = save_ok;
}

static void visit(walk *w, const llm_json_value *v, int depth) {
    size_t n = 99;
    w->nodes++;
    if (w->path_ok && w->plen && llm_json_path(w->root, w->path) != v)
        fz_fail("llm_json_path(\"%s\") does not find its node", w->path);
    FZ_CHECK(llm_json_is_null(v) == (v->type == LLM_JSON_NULL));
    FZ_CHECK(llm_json_bool(v, 7) == (v->type == LLM_JSON_TRUE ? 1 : v->type == LLM_JSON_FALSE ? 0 : 7));
    FZ_CHECK((llm_json_string(v, &n) != NULL) == (v->type == LLM_JSON_STRING));
    FZ_CHECK(llm_json_string(v, NULL) == (v->type == LLM_JSON_STRING ? v->str : NULL));
    FZ_CHECK(n == (v->type == LLM_JSON_STRING ? v->len : 0));
    if (v->type != LLM_JSON_NUMBER) {
        double d = 5.0;
        int64_t i = 5;
        FZ_CHECK(!llm_json_number(v, &d) && d == 5.0);
        FZ_CHECK(!llm_json_int64(v, &i) && i == 5);
        FZ_CHECK(llm_json_double(v, 3.5) == 3.5);
    }
    if (v->type != LLM_JSON_OBJECT) FZ_CHECK(llm_json_get(v, "") == NULL && llm_json_get(v, "a") == NULL);
    if (v->type != LLM_JSON_ARRAY && v->type != LLM_JSON_OBJECT) FZ_CHECK(llm_json_at(v, 0) == NULL);
    FZ_CHECK(llm_json_path(v, "") == v);
    switch (v->type) {
    case LLM_JSON_NULL: case LLM_JSON_TRUE: case LLM_JSON_FALSE:
        FZ_CHECK(v->str == NULL && v->len == 0 && v->items == NULL);
        break;
    case LLM_JSON_NUMBER:
        FZ_CHECK(v->items == NULL);
        check_number(v);
        break;
    case LLM_JSON_STRING:
        FZ_CHECK(v->items == NULL && v->str != NULL);
        FZ_CHECK(v->str[v->len] == '\0');
        if (!fz_utf8_ok(v->str, v->len)) fz_fail("string is not valid UTF-8");
        FZ_CHECK(llm__utf8_valid((const unsigned char *)v->str, v->len) == v->len);
        break;
    case LLM_JSON_ARRAY:
    case LLM_JSON_OBJECT:
        FZ_CHECK(v->str == NULL);
        visit_children(w, v, depth);
        break;
    default:
        fz_fail("node type %d out of range", (int)v->type);
    }
}

/* Two trees are equal: same shapes, same bytes. */
static int same_tree(const llm_json_value *a, const llm_json_value *b) {
    size_t i;
    if (a->type != b->type || a->len != b->len || a->key_len != b->key_len) return 0;
    if ((a->key == NULL) != (b->key == NULL)) return 0;
    if (a->key && a->key_len && memcmp(a->key, b->key, a->key_len)) return 0;
    if (a->type == LLM_JSON_STRING || a->type == LLM_JSON_NUMBER) return a->len == 0 || !memcmp(a->str, b->str, a->len);
    if (a->type == LLM_JSON_ARRAY || a->type == LLM_JSON_OBJECT)
        for (i = 0; i < a->len; i++)
            if (!same_tree(&a->items[i], &b->items[i])) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llm_json_options o;
    llm_json_result res, res2;
    llm_json_value *v, *v2;
    llm_allocator a;
    fz_count cnt;
    const char *text;
    size_t len;
    int k;
    if (size < 1) return 0;
    text = (const char *)data + 1;
    len = size - 1;
    memset(&cnt, 0, sizeof cnt);
    a.alloc_fn = cnt_alloc;
    a.realloc_fn = cnt_realloc;
    a.free_fn = cnt_free;
    a.user_data = &cnt;
    memset(&o, 0, sizeof o);
    o.flags = data[0] & 3u;
    k = data[0] >> 2;
    o.max_depth = k == 62 ? -1 : k == 63 ? 100000 : k;
    o.allocator = &a;

    /* the independent UTF-8 validator agrees with the library's */
    FZ_CHECK(llm__utf8_valid((const unsigned char *)text, len) == fz_utf8_prefix((const unsigned char *)text, len));

    memset(&res, 0x5A, sizeof res);
    v = llm_json_parse(text, len, &o, &res);
    if (!v) {
        size_t i, line = 1, col = 1;
        FZ_CHECK(cnt.allocs == 0);
        FZ_CHECK(res.error != LLM_JSON_OK && res.error != LLM_JSON_ERR_NO_MEMORY && res.error != LLM_JSON_ERR_INVALID_ARG);
        FZ_CHECK(res.offset <= len);
        for (i = 0; i < res.offset; i++) {
            if (text[i] == '\n') { line++; col = 1; } else col++;
        }
        FZ_CHECK(res.line == line && res.column == col);
        FZ_CHECK(strcmp(llm_json_error_string(res.error), "unknown") != 0);
        /* the same verdict without a result struct */
        FZ_CHECK(llm_json_parse(text, len, &o, NULL) == NULL);
        /* a strict parse of an input the lax one rejects is rejected too */
        if (o.flags) {
            llm_json_options s = o;
            s.flags = 0;
            FZ_CHECK(llm_json_parse(text, len, &s, NULL) == NULL);
        }
        return 0;
    }
    FZ_CHECK(res.error == LLM_JSON_OK);
    FZ_CHECK(cnt.allocs == 1 && cnt.live == 1);
    FZ_CHECK(v->key == NULL);
    {
        walk w;
        memset(&w, 0, sizeof w);
        w.root = v;
        w.path_ok = 1;
        visit(&w, v, 0);
    }
    /* every extension and the deepest limit accept it too, identically */
    o.flags = LLM_JSON_ALLOW_TRAILING_COMMAS | LLM_JSON_ALLOW_COMMENTS;
    o.max_depth = LLM_JSON_DEPTH_LIMIT;
    v2 = llm_json_parse(text, len, &o, &res2);
    if (!v2) fz_fail("a wider parse rejects what a narrower one accepted: %s at %lu",
                     llm_json_error_string(res2.error), (unsigned long)res2.offset);
    FZ_CHECK(same_tree(v, v2));
    llm_json_free(v2);
    llm_json_free(v);
    FZ_CHECK(cnt.live == 0);
    /* the accessors accept NULL */
    FZ_CHECK(llm_json_get(NULL, "a") == NULL && llm_json_at(NULL, 0) == NULL && llm_json_path(NULL, "a") == NULL);
    FZ_CHECK(llm_json_string(NULL, NULL) == NULL && !llm_json_number(NULL, NULL) && !llm_json_int64(NULL, NULL));
    FZ_CHECK(llm_json_bool(NULL, 3) == 3 && !llm_json_is_null(NULL) && llm_json_double(NULL, 2.0) == 2.0);
    return 0;
}
