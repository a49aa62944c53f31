/* Differential test: our JSON parser (llm_json_parse) against cJSON, the
   reference parser packaged by Debian (libcjson-dev; <cjson/cJSON.h>,
   -lcjson). Inputs: every JSONTestSuite file, the seed corpora under
   fuzz/corpus (and the JSON lines inside the SSE / NDJSON seeds), crafted
   cases for each known difference, and a few thousand generated and
   mutated documents from a fixed-seed PRNG; optionally the corpus a long
   fuzzing run grew (DIFF_FUZZ_CORPUS=dir:dir, files in fuzz_json's format).

   HOW THE TWO ARE RUN
   - ours:  llm_json_parse(text, len) strict (no flags), max_depth 1000;
   - cJSON: cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1) on a copy
     that ends in NUL: the length counts the NUL and require_null_terminated
     is on, which is how cJSON_ParseWithOpts itself rejects trailing data.
     (Plain cJSON_Parse accepts anything after the first value.)
   Depth: cJSON's nesting limit is CJSON_NESTING_LIMIT (1000, fixed when
   the library was built); ours is max_depth (default 128, at most 4096).
   At 1000 both accept 1000 nested containers and reject 1001, so the depth
   is not a difference (crafted cases check both sides of the limit); with
   the default 128 we reject deeper documents on purpose.

   WHICH INPUTS ARE COMPARED
   Only inputs that are valid UTF-8 (checked by the validator below, not by
   the library). cJSON does not validate UTF-8 at all; we reject invalid
   UTF-8 anywhere. Other inputs still run through both (crash check) and
   are counted as "not UTF-8".

   CANONICAL COMPARISON (both accept)
   - types map one to one (null, false, true, number, string, array, object);
   - numbers: our llm_json_number against cJSON's valuedouble, as doubles,
     bit-exact including the sign of zero; infinities equal when of the
     same sign (NaN cannot come out of JSON text);
   - strings: bytewise, our (str, len) against cJSON's valuestring;
   - arrays: same count, elements compared in order;
   - objects: ordered member lists: same count, member i against member i,
     keys compared bytewise like strings. Duplicate keys are kept, in order,
     by both parsers, so they are NOT a difference.

   KNOWN DIFFERENCES, each a named exception below. Every exception has a
   narrow precondition tied to what our parser reported (error kind and
   byte offset) and a "repair": the input is rewritten to what cJSON
   effectively read, and the two parsers must then agree on the rewritten
   input (repairs may chain, at most REPAIR_BUDGET times). Any disagreement
   that no exception explains fails the test.
   - cjson_bom: cJSON skips a UTF-8 byte order mark at the start; RFC 8259
     section 8.1 says a parser MAY ignore it, we treat it as a syntax error
     (JSON text exchanged between systems must not start with one).
     Precondition: our error at offset 0 and the input starts EF BB BF.
     Repair: drop the three bytes.
   - cjson_whitespace: cJSON skips every byte <= 0x20 between tokens (NUL,
     VT, FF, other control characters); RFC 8259 allows only space, tab, LF
     and CR. Precondition: our syntax / trailing-data error sits on such a
     byte. Repair: that byte becomes a space.
   - cjson_control_in_string: cJSON keeps raw control characters
     (U+0000..U+001F) inside strings; RFC 8259 requires them escaped.
     Precondition: our string error sits on a raw byte < 0x20. Repair: the
     byte becomes the escape \u00XX.
   - cjson_bad_u_escape: cJSON's parse_hex4 answers 0 for a non-hex digit
     and cJSON does not check it, so "\u12x4" reads as U+0000 (always six
     bytes, even "\u00f\" when a backslash is among them); we reject it.
     That NUL ends cJSON's C string, so the rest of the string is invisible
     to it. Precondition: our string error sits on a non-hex byte inside a
     \u escape that lies whole before the string's closing quote. Repair:
     from the escape to the closing quote becomes \u0000.
   - cjson_lax_number: cJSON hands the run of number characters to C
     strtod, which also takes forms RFC 8259 forbids (leading zeros "01",
     "1.", "-.5", "1.e3"). Precondition: our number error sits in or at the
     end of a run that starts with '-' or a digit, is not a JSON number, and
     of which strtod reads a non-empty prefix. Repair: that prefix becomes
     the shortest JSON literal of the same double ("%.17g"; 1e999 for inf).
   - cjson_long_number: upstream cJSON 1.7.15 copies at most 63 bytes of a
     number into a fixed buffer, so a literal of 64 bytes or more leaves
     digits behind and the document is rejected; we accept any length.
     Debian's 1.7.15-1+deb12u3 backports the fix (CVE-2023-26819), so with
     Debian's package this exception never fires (the test probes which
     cJSON it has); it stays for the unpatched library.
     Precondition: we accept, cJSON rejects, and a number outside strings is
     64 bytes or longer. Repair: each such literal becomes "%.17g" of its
     value.
   - cjson_nul_in_string: cJSON strings are C strings, so a string or key
     holding U+0000 (escaped, or raw after the repairs above) ends there for
     cJSON. Precondition: the two trees differ only in strings/keys where
     ours holds a NUL and cJSON's equals our bytes up to the first NUL.
   TEST_VERBOSE=1 prints how many inputs were compared and how many fell
   under each exception; DIFF_SHOW_EXCEPTIONS=1 names each such input. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include "../fuzz/fuzz_util.h" /* its RFC 8259 number grammar and UTF-8 check */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>

#define DEPTH 1000
#define REPAIR_BUDGET 64

enum { EXC_BOM, EXC_WS, EXC_CTRL, EXC_BAD_U, EXC_LAX_NUM, EXC_LONG_NUM, EXC_NUL, EXC_COUNT };
static const char *const exc_name[EXC_COUNT] = { "cjson_bom", "cjson_whitespace", "cjson_control_in_string",
                                                 "cjson_bad_u_escape", "cjson_lax_number", "cjson_long_number",
                                                 "cjson_nul_in_string" };

static struct {
    long inputs, compared, not_utf8, not_utf8_cjson_only, agree_accept, agree_reject, explained, mismatches;
    long exc[EXC_COUNT];
} st;

/* ------------------------------------------------------------- helpers -- */

/* Strict UTF-8 (no overlongs, surrogates, or code points above U+10FFFF),
   written here from the Unicode tables rather than taken from the library. */
static int utf8_ok(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], need, k;
        unsigned long cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { need = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { need = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { need = 3; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i <= need) return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += need + 1;
    }
    return 1;
}

static int is_num_char(int c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }
static int is_hex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* A growable byte buffer of the test. */
typedef struct dbuf { char *p; size_t n, cap; } dbuf;
static void db_add(dbuf *b, const void *d, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        b->p = (char *)realloc(b->p, cap);
        if (!b->p) { fprintf(stderr, "out of memory\n"); exit(1); }
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
}
static void db_adds(dbuf *b, const char *s) { db_add(b, s, strlen(s)); }
static void db_addc(dbuf *b, int c) { char ch = (char)c; db_add(b, &ch, 1); }

/* The input with [at, at+len) replaced by rep. */
static char *splice(const char *s, size_t n, size_t at, size_t len, const char *rep, size_t rl, size_t *out_n) {
    dbuf b = { NULL, 0, 0 };
    db_add(&b, s, at);
    db_add(&b, rep, rl);
    db_add(&b, s + at + len, n - at - len);
    *out_n = b.n;
    return b.p;
}

/* The shortest "%.17g"-style literal of d that is a JSON number. */
static size_t canon_number(double d, char *out, size_t cap) {
    int prec, k = 0;
    if (d != d) { out[0] = '0'; out[1] = '\0'; return 1; }
    if (isinf(d)) return (size_t)snprintf(out, cap, "%s", d < 0 ? "-1e999" : "1e999");
    for (prec = 1; prec <= 17; prec++) {
        k = snprintf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d) break;
    }
    return (size_t)k;
}

/* The runs of number characters that lie outside strings (a lexical scan
   good enough for the repairs; every repair is checked by re-parsing). */
typedef struct run { size_t at, len; } run;
static size_t number_runs(const char *s, size_t n, run *out, size_t max) {
    size_t i = 0, k = 0;
    int in_str = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
            i++;
            continue;
        }
        if (c == '"') { in_str = 1; i++; continue; }
        if (is_num_char(c)) {
            size_t a = i;
            while (i < n && is_num_char((unsigned char)s[i])) i++;
            if (k < max) { out[k].at = a; out[k].len = i - a; }
            k++;
            continue;
        }
        i++;
    }
    return k < max ? k : max;
}

/* The string (by the same lexical scan) whose content holds byte at:
   its opening and closing quotes, as cJSON's scan finds them. */
static int string_span(const char *s, size_t n, size_t at, size_t *open, size_t *close) {
    size_t i = 0, o = 0;
    int in_str = 0;
    while (i < n) {
        char c = s[i];
        if (!in_str) {
            if (i > at) return 0;
            if (c == '"') { in_str = 1; o = i; }
            i++;
            continue;
        }
        if (c == '\\') { i += 2; continue; }
        if (c == '"') {
            if (o < at && at < i) { *open = o; *close = i; return 1; }
            in_str = 0;
        }
        i++;
    }
    return 0;
}

/* ---------------------------------------------------------- comparison -- */

enum { CMP_EQUAL = 0, CMP_NUL = 1, CMP_DIFF = 2 };

static int same_double(double a, double b) {
    if (a != a || b != b) return a != a && b != b;
    return a == b && signbit(a) == signbit(b);
}

/* Our (s, n) against a C string of cJSON. */
static int cmp_bytes(const char *s, size_t n, const char *c) {
    size_t cl = c ? strlen(c) : 0;
    const char *nul;
    if (!c) return CMP_DIFF;
    if (cl == n && memcmp(s, c, n) == 0) return CMP_EQUAL;
    nul = (const char *)memchr(s, '\0', n);
    if (nul && cl == (size_t)(nul - s) && memcmp(s, c, cl) == 0) return CMP_NUL;
    return CMP_DIFF;
}

static int cmp_tree(const llm_json_value *a, const cJSON *b, char *why, size_t wl) {
    int t = b->type & 0xFF, worst = CMP_EQUAL, r;
    const cJSON *ch;
    size_t i, nb;
    double d = 0;
    switch (a->type) {
    case LLM_JSON_NULL: if (t != cJSON_NULL) goto type; return CMP_EQUAL;
    case LLM_JSON_FALSE: if (t != cJSON_False) goto type; return CMP_EQUAL;
    case LLM_JSON_TRUE: if (t != cJSON_True) goto type; return CMP_EQUAL;
    case LLM_JSON_NUMBER:
        if (t != cJSON_Number) goto type;
        llm_json_number(a, &d);
        if (!same_double(d, b->valuedouble)) {
            snprintf(why, wl, "number %s: %.17g vs cJSON %.17g", a->str, d, b->valuedouble);
            return CMP_DIFF;
        }
        return CMP_EQUAL;
    case LLM_JSON_STRING:
        if (t != cJSON_String) goto type;
        r = cmp_bytes(a->str, a->len, b->valuestring);
        if (r == CMP_DIFF) snprintf(why, wl, "string of %lu bytes differs", (unsigned long)a->len);
        return r;
    case LLM_JSON_ARRAY:
    case LLM_JSON_OBJECT:
        if (t != (a->type == LLM_JSON_ARRAY ? cJSON_Array : cJSON_Object)) goto type;
        for (nb = 0, ch = b->child; ch; ch = ch->next) nb++;
        if (nb != a->len) {
            snprintf(why, wl, "%lu children vs cJSON %lu", (unsigned long)a->len, (unsigned long)nb);
            return CMP_DIFF;
        }
        for (i = 0, ch = b->child; i < a->len; i++, ch = ch->next) {
            if (a->type == LLM_JSON_OBJECT) {
                r = cmp_bytes(a->items[i].key, a->items[i].key_len, ch->string);
                if (r == CMP_DIFF) { snprintf(why, wl, "key %lu differs", (unsigned long)i); return r; }
                if (r > worst) worst = r;
            }
            r = cmp_tree(&a->items[i], ch, why, wl);
            if (r == CMP_DIFF) return r;
            if (r > worst) worst = r;
        }
        return worst;
    }
type:
    snprintf(why, wl, "type %d vs cJSON type 0x%x", (int)a->type, (unsigned)t);
    return CMP_DIFF;
}

/* ------------------------------------------------------------- the run -- */

typedef struct outcome {
    llm_json_value *ours;
    llm_json_result res;
    cJSON *cj;
    int cmp;
    char why[160];
} outcome;

static void run_both(const char *s, size_t n, outcome *o) {
    llm_json_options opt;
    char *copy = (char *)malloc(n + 1);
    const char *end = NULL;
    memset(o, 0, sizeof *o);
    memset(&opt, 0, sizeof opt);
    opt.max_depth = DEPTH;
    o->ours = llm_json_parse(s, n, &opt, &o->res);
    if (!copy) { fprintf(stderr, "out of memory\n"); exit(1); }
    if (n) memcpy(copy, s, n);
    copy[n] = '\0';
    o->cj = cJSON_ParseWithLengthOpts(copy, n + 1, &end, 1);
    free(copy);
    o->cmp = (o->ours && o->cj) ? cmp_tree(o->ours, o->cj, o->why, sizeof o->why) : CMP_EQUAL;
}
static void outcome_free(outcome *o) {
    llm_json_free(o->ours);
    cJSON_Delete(o->cj);
}

static int resolve(const char *s, size_t n, int budget, unsigned *used);

/* Tries one exception on a disagreement: 1 when it applies and the
   repaired input then agrees. */
static int try_exception(int e, const char *s, size_t n, const outcome *o, int budget, unsigned *used) {
    size_t at = o->res.offset, rn = 0;
    char *rep = NULL;
    int ok = 0;
    unsigned u = 0;
    if (o->ours && o->cj) return 0; /* both accept: only the comparison's NUL rule applies */
    switch (e) {
    case EXC_BOM:
        if (o->ours || !o->cj || at != 0 || n < 3 || memcmp(s, "\xEF\xBB\xBF", 3) != 0) return 0;
        rep = splice(s, n, 0, 3, "", 0, &rn);
        break;
    case EXC_WS: {
        unsigned char c;
        if (o->ours || !o->cj || at >= n) return 0;
        if (o->res.error != LLM_JSON_ERR_SYNTAX && o->res.error != LLM_JSON_ERR_TRAILING) return 0;
        c = (unsigned char)s[at];
        if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') return 0;
        rep = splice(s, n, at, 1, " ", 1, &rn);
        break;
    }
    case EXC_CTRL: {
        char esc[8];
        unsigned char c;
        if (o->ours || !o->cj || at >= n || o->res.error != LLM_JSON_ERR_STRING) return 0;
        c = (unsigned char)s[at];
        if (c >= 0x20) return 0;
        snprintf(esc, sizeof esc, "\\u%04x", c);
        rep = splice(s, n, at, 1, esc, 6, &rn);
        break;
    }
    case EXC_BAD_U: {
        size_t k, start = 0, open, close;
        int found = 0;
        if (o->ours || !o->cj || at >= n || o->res.error != LLM_JSON_ERR_STRING || is_hex((unsigned char)s[at])) return 0;
        for (k = 0; k < 4 && !found; k++) /* the escape begins 2..5 bytes before the bad digit */
            if (at >= k + 2 && s[at - k - 2] == '\\' && s[at - k - 1] == 'u') {
                size_t j;
                found = 1;
                start = at - k - 2;
                for (j = 0; j < k; j++) if (!is_hex((unsigned char)s[start + 2 + j])) found = 0;
            }
        if (!found || !string_span(s, n, start, &open, &close) || start + 6 > close) return 0;
        /* cJSON reads the six bytes as U+0000, which ends its C string: the
           rest of the string is invisible to it */
        rep = splice(s, n, start, close - start, "\\u0000", 6, &rn);
        break;
    }
    case EXC_LAX_NUM: {
        run runs[256];
        size_t nr, r;
        if (o->ours || !o->cj) return 0;
        if (o->res.error != LLM_JSON_ERR_NUMBER && o->res.error != LLM_JSON_ERR_EOF) return 0;
        nr = number_runs(s, n, runs, 256);
        for (r = 0; r < nr; r++) {
            char tok[64], canon[40], *end;
            size_t tl, pl, cl;
            double d;
            if (!(runs[r].at <= at && at <= runs[r].at + runs[r].len)) continue;
            if (s[runs[r].at] != '-' && !(s[runs[r].at] >= '0' && s[runs[r].at] <= '9')) return 0;
            if (fz_is_json_number(s + runs[r].at, runs[r].len)) return 0;
            tl = runs[r].len < 63 ? runs[r].len : 63; /* what cJSON copies */
            memcpy(tok, s + runs[r].at, tl);
            tok[tl] = '\0';
            d = strtod(tok, &end);
            pl = (size_t)(end - tok);
            if (pl == 0 || fz_is_json_number(tok, pl)) return 0;
            cl = canon_number(d, canon, sizeof canon);
            rep = splice(s, n, runs[r].at, pl, canon, cl, &rn);
            break;
        }
        if (!rep) return 0;
        break;
    }
    case EXC_LONG_NUM: {
        run runs[256];
        size_t nr, r;
        dbuf b = { NULL, 0, 0 };
        size_t pos = 0;
        int any = 0;
        if (!o->ours || o->cj) return 0;
        nr = number_runs(s, n, runs, 256);
        for (r = 0; r < nr; r++) {
            char *tmp, canon[40];
            size_t cl;
            if (runs[r].len < 64 || !fz_is_json_number(s + runs[r].at, runs[r].len)) continue;
            tmp = (char *)malloc(runs[r].len + 1);
            if (!tmp) { fprintf(stderr, "out of memory\n"); exit(1); }
            memcpy(tmp, s + runs[r].at, runs[r].len);
            tmp[runs[r].len] = '\0';
            cl = canon_number(strtod(tmp, NULL), canon, sizeof canon);
            free(tmp);
            db_add(&b, s + pos, runs[r].at - pos);
            db_add(&b, canon, cl);
            pos = runs[r].at + runs[r].len;
            any = 1;
        }
        if (!any) { free(b.p); return 0; }
        db_add(&b, s + pos, n - pos);
        rep = b.p;
        rn = b.n;
        break;
    }
    default:
        return 0;
    }
    if (rep && budget > 0 && resolve(rep, rn, budget - 1, &u)) {
        *used |= u | (1u << e);
        ok = 1;
    }
    free(rep);
    return ok;
}

/* 1 when the two parsers agree on s, or disagree only as known exceptions
   explain (their bits are added to *used). */
static int resolve(const char *s, size_t n, int budget, unsigned *used) {
    outcome o;
    int e, ok = 0;
    run_both(s, n, &o);
    if (o.ours && o.cj) {
        if (o.cmp == CMP_EQUAL) ok = 1;
        else if (o.cmp == CMP_NUL) { *used |= 1u << EXC_NUL; ok = 1; }
    } else if (!o.ours && !o.cj) {
        ok = 1;
    } else {
        for (e = 0; e < EXC_COUNT && !ok; e++) ok = try_exception(e, s, n, &o, budget, used);
    }
    outcome_free(&o);
    return ok;
}

static void show_input(const char *s, size_t n) {
    size_t i;
    fprintf(stderr, "        input (%lu bytes): \"", (unsigned long)n);
    for (i = 0; i < n && i < 240; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') fputc(c, stderr);
        else fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "%s\"\n", n > 240 ? "..." : "");
}

/* One input: counted, compared when it is UTF-8; returns the exception bits
   used, or -1 on an unexplained disagreement (a failed check). */
static int diff_input(const char *s, size_t n, const char *label) {
    outcome o;
    unsigned used = 0;
    int e;
    st.inputs++;
    if (!utf8_ok((const unsigned char *)s, n)) {
        run_both(s, n, &o); /* both must still survive it */
        st.not_utf8++;
        if (!o.ours && o.cj) st.not_utf8_cjson_only++;
        outcome_free(&o);
        return 0;
    }
    st.compared++;
    run_both(s, n, &o);
    if (o.ours && o.cj && o.cmp == CMP_EQUAL) { st.agree_accept++; outcome_free(&o); return 0; }
    if (!o.ours && !o.cj) { st.agree_reject++; outcome_free(&o); return 0; }
    if (!resolve(s, n, REPAIR_BUDGET, &used)) {
        st.mismatches++;
        CHECK_MSG(0, "%s: ours %s (%s at %lu), cJSON %s%s%s", label, o.ours ? "accepts" : "rejects",
                  llm_json_error_string(o.res.error), (unsigned long)o.res.offset, o.cj ? "accepts" : "rejects",
                  o.ours && o.cj ? "; " : "", o.ours && o.cj ? o.why : "");
        show_input(s, n);
        outcome_free(&o);
        return -1;
    }
    st.explained++;
    if (getenv("DIFF_SHOW_EXCEPTIONS")) fprintf(stderr, "     %s:", label);
    for (e = 0; e < EXC_COUNT; e++)
        if (used & (1u << e)) {
            st.exc[e]++;
            if (getenv("DIFF_SHOW_EXCEPTIONS")) fprintf(stderr, " %s", exc_name[e]);
        }
    if (getenv("DIFF_SHOW_EXCEPTIONS")) fprintf(stderr, "\n");
    outcome_free(&o);
    return (int)used;
}

/* -------------------------------------------------------------- inputs -- */

static const char *suite_dir(void) {
    return th_find_dir("JSONTESTSUITE_DIR", th_jsontestsuite_dirs);
}
static const char *corpus_dir(void) {
    static const char *dirs[] = { "fuzz/corpus", "../fuzz/corpus", "../../fuzz/corpus", NULL };
    return th_find_dir("FUZZ_CORPUS_DIR", dirs);
}

/* The names in a directory, sorted (a fixed order for fixed results). */
static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static char **list_dir(const char *dir, size_t *count) {
    DIR *d = opendir(dir);
    struct dirent *de;
    char **v = NULL;
    size_t n = 0, cap = 0;
    *count = 0;
    if (!d) return NULL;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        size_t nl = strlen(de->d_name) + 1;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = (char **)realloc(v, cap * sizeof *v);
            if (!v) { fprintf(stderr, "out of memory\n"); exit(1); }
        }
        v[n] = (char *)malloc(nl);
        if (!v[n]) { fprintf(stderr, "out of memory\n"); exit(1); }
        memcpy(v[n], de->d_name, nl);
        n++;
    }
    closedir(d);
    if (n) qsort(v, n, sizeof *v, cmp_names);
    *count = n;
    return v;
}
static void free_list(char **v, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* ------------------------------------------------ generator and mutator -- */

typedef struct rng { uint64_t s; } rng;
static uint32_t rnd(rng *r) { /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}
static uint32_t below(rng *r, uint32_t n) { return n ? rnd(r) % n : 0; }

static void gen_ws(rng *r, dbuf *b) {
    static const char *const ws[] = { "", "", "", " ", "\n", "\t", "\r\n", "  " };
    db_adds(b, ws[below(r, 8)]);
}
static void gen_string(rng *r, dbuf *b) {
    static const char *const pieces[] = { "a", "hello", " ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
                                          "\\u0041", "\\u00e9", "\\u4F60", "\\ud83d\\ude00", "\\uDBFF\\uDFFF",
                                          "\\u0000", "\\u001f", "\\u007F", "\xc3\xa9", "\xe4\xbd\xa0",
                                          "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "'", "/", "{", "]", ":", "," };
    uint32_t k = below(r, 6), i;
    db_addc(b, '"');
    for (i = 0; i < k; i++) db_adds(b, pieces[below(r, sizeof pieces / sizeof *pieces)]);
    db_addc(b, '"');
}
static void gen_number(rng *r, dbuf *b) {
    static const char *const edge[] = { "0", "-0", "0.0", "-0.0", "1e308", "1.7976931348623157e308", "1e309",
                                        "-1e309", "4.9e-324", "5e-324", "2.4e-324", "1e-400", "9007199254740993",
                                        "9223372036854775807", "-9223372036854775808", "18446744073709551616",
                                        "0.1", "0.30000000000000004", "123456789012345678901234567890",
                                        "1E+2", "1e-2", "2.5E-3", "100000000000000000000000" };
    char tmp[64];
    switch (below(r, 4)) {
    case 0: db_adds(b, edge[below(r, sizeof edge / sizeof *edge)]); return;
    case 1: snprintf(tmp, sizeof tmp, "%s%u", below(r, 2) ? "-" : "", rnd(r) >> below(r, 32)); break;
    case 2: snprintf(tmp, sizeof tmp, "%s%u.%u", below(r, 2) ? "-" : "", below(r, 1000), rnd(r) % 100000); break;
    default: snprintf(tmp, sizeof tmp, "%u%se%s%u", below(r, 100), below(r, 2) ? ".5" : "", below(r, 2) ? "-" : "+", below(r, 400)); break;
    }
    db_adds(b, tmp);
}
static void gen_value(rng *r, dbuf *b, int depth) {
    uint32_t k = below(r, depth > 5 ? 6 : 9), i, n;
    gen_ws(r, b);
    switch (k) {
    case 0: db_adds(b, "null"); break;
    case 1: db_adds(b, "true"); break;
    case 2: db_adds(b, "false"); break;
    case 3: case 4: gen_number(r, b); break;
    case 5: gen_string(r, b); break;
    case 6: case 7:
        db_addc(b, '[');
        n = below(r, 5);
        for (i = 0; i < n; i++) { if (i) db_addc(b, ','); gen_value(r, b, depth + 1); }
        gen_ws(r, b);
        db_addc(b, ']');
        break;
    default:
        db_addc(b, '{');
        n = below(r, 5);
        for (i = 0; i < n; i++) {
            if (i) db_addc(b, ',');
            gen_ws(r, b);
            if (below(r, 4) == 0) db_adds(b, "\"dup\""); else gen_string(r, b);
            gen_ws(r, b);
            db_addc(b, ':');
            gen_value(r, b, depth + 1);
        }
        gen_ws(r, b);
        db_addc(b, '}');
        break;
    }
    gen_ws(r, b);
}

/* A few edits: mostly ASCII, so that most results stay UTF-8 and compared. */
static void mutate(rng *r, dbuf *b) {
    static const char *const toks[] = { ",", "]", "}", "[", "{", "\"", "\\", "\\u", "\\ud800", "\\udc00", "\\u12x4",
                                        "0", "-", ".", "e", "E+", "01", "1.", "-.5", "1e999", "\x0b", "\x0c", "\x01",
                                        "\x1f", "\xef\xbb\xbf", "//", "/*", "*/", "null", "tru", ":", "\"k\":",
                                        "\xc3\xa9", "\t", "\r", " ", "\x7f" };
    uint32_t ops = 1 + below(r, 3), i;
    for (i = 0; i < ops; i++) {
        size_t at = b->n ? below(r, (uint32_t)b->n + 1) : 0, len;
        dbuf nb = { NULL, 0, 0 };
        const char *t;
        switch (below(r, 5)) {
        case 0: /* insert a token */
            t = toks[below(r, sizeof toks / sizeof *toks)];
            db_add(&nb, b->p, at);
            db_adds(&nb, t);
            db_add(&nb, b->p + at, b->n - at);
            break;
        case 1: /* delete a short range */
            len = at < b->n ? 1 + below(r, (uint32_t)(b->n - at < 4 ? b->n - at : 4)) : 0;
            db_add(&nb, b->p, at);
            db_add(&nb, b->p + at + len, b->n - at - len);
            break;
        case 2: /* replace a byte by a printable one */
            db_add(&nb, b->p, b->n);
            if (at < nb.n) nb.p[at] = (char)(0x20 + below(r, 0x5F));
            break;
        case 3: /* duplicate a range */
            len = at < b->n ? below(r, (uint32_t)(b->n - at < 16 ? b->n - at : 16)) : 0;
            db_add(&nb, b->p, at + len);
            db_add(&nb, b->p + at, b->n - at);
            break;
        default: /* truncate */
            db_add(&nb, b->p, at);
            break;
        }
        free(b->p);
        *b = nb;
        if (!b->p) db_add(b, "", 0);
    }
}

/* --------------------------------------------------------------- tests -- */

/* The comparison itself notices differences (it is not vacuous). */
static void test_comparator(void) {
    cJSON *a = cJSON_Parse("{\"a\":[1,\"x\",null]}");
    cJSON *b = cJSON_Parse("{\"a\":[1,\"y\",null]}");
    cJSON *c = cJSON_Parse("{\"b\":[1,\"x\",null]}");
    cJSON *d = cJSON_Parse("{\"a\":[1,\"x\",null,2]}");
    cJSON *e = cJSON_Parse("{\"a\":[-0,\"x\",null]}");
    llm_json_value *v = llm_json_parse("{\"a\":[1,\"x\",null]}", 18, NULL, NULL);
    llm_json_value *z = llm_json_parse("[0,\"a\\u0000b\"]", 14, NULL, NULL);
    cJSON *zc = cJSON_Parse("[0,\"a\"]");
    cJSON *zn = cJSON_Parse("[-0,\"a\"]");
    char why[160];
    CHECK(v && a && b && c && d && e && z && zc && zn);
    if (v && a && b && c && d && e) {
        CHECK_INT(cmp_tree(v, a, why, sizeof why), CMP_EQUAL);
        CHECK_INT(cmp_tree(v, b, why, sizeof why), CMP_DIFF);
        CHECK_INT(cmp_tree(v, c, why, sizeof why), CMP_DIFF);
        CHECK_INT(cmp_tree(v, d, why, sizeof why), CMP_DIFF);
        CHECK_INT(cmp_tree(v, e, why, sizeof why), CMP_DIFF); /* 1 vs -0 */
    }
    if (z && zc && zn) {
        CHECK_INT(cmp_tree(z, zc, why, sizeof why), CMP_NUL);
        CHECK_INT(cmp_tree(z, zn, why, sizeof why), CMP_DIFF); /* 0 vs -0: the sign counts */
    }
    llm_json_free(v);
    llm_json_free(z);
    cJSON_Delete(a); cJSON_Delete(b); cJSON_Delete(c); cJSON_Delete(d); cJSON_Delete(e);
    cJSON_Delete(zc); cJSON_Delete(zn);
}

/* Each exception, on a case made for it; and what is NOT an exception. */
static void test_known_differences(void) {
    dbuf b = { NULL, 0, 0 };
    int i;
#define EXPECT(s, bits) CHECK_MSG(diff_input((s), sizeof(s) - 1, #s) == (int)(bits), "case %s", #s)
    EXPECT("\xEF\xBB\xBF{}", 1u << EXC_BOM);
    EXPECT("\xEF\xBB\xBF[1, \"a\"]", 1u << EXC_BOM);
    EXPECT("\x0b[1]", 1u << EXC_WS);
    EXPECT("[1\x0c,2]", 1u << EXC_WS);
    EXPECT("{\"a\"\x01:\x1f" "1}", 1u << EXC_WS);
    EXPECT("[1]\x00", 1u << EXC_WS);
    EXPECT("[\"a\x01" "b\"]", 1u << EXC_CTRL);
    EXPECT("[\"tab\there\"]", 1u << EXC_CTRL);
    EXPECT("[\"a\x00" "b\"]", (1u << EXC_CTRL) | (1u << EXC_NUL));
    EXPECT("[\"\\u12x4\"]", (1u << EXC_BAD_U) | (1u << EXC_NUL));
    EXPECT("{\"\\uzzzz\":1}", (1u << EXC_BAD_U) | (1u << EXC_NUL));
    EXPECT("[01]", 1u << EXC_LAX_NUM);
    EXPECT("[1.]", 1u << EXC_LAX_NUM);
    EXPECT("-.5", 1u << EXC_LAX_NUM);
    EXPECT("[1.e3, -012.50]", 1u << EXC_LAX_NUM);
    EXPECT("[\"a\\u0000b\"]", 1u << EXC_NUL);
    EXPECT("{\"k\\u0000x\":1}", 1u << EXC_NUL);
    {   /* does this cJSON cut numbers at 63 bytes (upstream 1.7.15) or not (patched)? */
        const char *end;
        static const char n64[] = "1234567890123456789012345678901234567890123456789012345678901234";
        cJSON *p = cJSON_ParseWithLengthOpts(n64, sizeof n64, &end, 1);
        unsigned long_bits = p ? 0 : 1u << EXC_LONG_NUM;
        cJSON_Delete(p);
        if (th_verbose) fprintf(stderr, "     this cJSON %s numbers of 64 bytes\n", long_bits ? "rejects" : "reads");
        EXPECT("[1234567890123456789012345678901234567890123456789012345678901234]", long_bits);
        EXPECT("[0.000000000000000000000000000000000000000000000000000000000000000001]", long_bits);
    }
    /* not differences: both reject, or both accept alike */
    EXPECT("{\"a\":1,\"a\":2}", 0);          /* duplicate keys: both keep both, in order */
    EXPECT("[\"\\ud800\"]", 0);              /* lone surrogates: both reject */
    EXPECT("[\"\\udc00\\ud800\"]", 0);
    EXPECT("[\"\\ud800\\u0041\"]", 0);
    EXPECT("[1,]", 0);
    EXPECT("{\"a\":1} x", 0);                /* trailing garbage: both reject */
    EXPECT("[1] [2]", 0);
    EXPECT("", 0);
    EXPECT(" ", 0);
    EXPECT("[123456789012345678901234567890123456789012345678901234567890123]", 0); /* 63 bytes: both read it */
    EXPECT("[1e400, -1e400, 1e-400]", 0);    /* overflow: inf / 0 alike */
    EXPECT("\"\xEF\xBB\xBF\"", 0);           /* a BOM inside a string is a character */
    /* depth: both accept 1000 levels and reject 1001 */
    for (i = 0; i < 1000; i++) db_addc(&b, '[');
    for (i = 0; i < 1000; i++) db_addc(&b, ']');
    CHECK_INT(diff_input(b.p, b.n, "1000 nested arrays"), 0);
    b.n = 0;
    for (i = 0; i < 1001; i++) db_addc(&b, '[');
    for (i = 0; i < 1001; i++) db_addc(&b, ']');
    CHECK_INT(diff_input(b.p, b.n, "1001 nested arrays"), 0);
    {
        outcome o;
        run_both(b.p, b.n, &o);
        CHECK(!o.ours && !o.cj && o.res.error == LLM_JSON_ERR_DEPTH);
        outcome_free(&o);
    }
    free(b.p);
#undef EXPECT
}

static void test_jsontestsuite(void) {
    const char *dir = suite_dir();
    char **names;
    size_t n, i;
    long before = st.compared;
    if (!dir) { TH_SKIP("%s", TH_JSONTESTSUITE_MISSING); return; }
    names = list_dir(dir, &n);
    CHECK(n > 300);
    for (i = 0; i < n; i++) {
        char path[1024];
        size_t len;
        char *buf;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        buf = th_read_file(path, &len);
        if (!buf) continue;
        diff_input(buf, len, names[i]);
        free(buf);
    }
    if (th_verbose) fprintf(stderr, "     JSONTestSuite: %lu files, %ld compared\n", (unsigned long)n, st.compared - before);
    free_list(names, n);
}

/* The JSON seeds (selector bytes stripped) and every line of the stream
   seeds (a "data:" prefix stripped). */
static void test_fuzz_corpus(void) {
    static const struct { const char *sub; size_t skip; int lines; } sets[] = {
        { "fuzz_json", 1, 0 }, { "fuzz_provider", 2, 0 }, { "fuzz_provider", 2, 1 },
        { "fuzz_sse", 2, 1 }, { "fuzz_ndjson", 2, 1 } };
    const char *root = corpus_dir();
    size_t s, files = 0;
    long before = st.inputs;
    CHECK_MSG(root != NULL, "fuzz/corpus not found; set FUZZ_CORPUS_DIR");
    if (!root) return;
    for (s = 0; s < sizeof sets / sizeof *sets; s++) {
        char dir[1024];
        char **names;
        size_t n, i;
        snprintf(dir, sizeof dir, "%s/%s", root, sets[s].sub);
        names = list_dir(dir, &n);
        for (i = 0; i < n; i++) {
            char path[1200];
            size_t len;
            char *buf;
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            buf = th_read_file(path, &len);
            if (!buf) continue;
            files++;
            if (len >= sets[s].skip) {
                const char *p = buf + sets[s].skip, *end = buf + len;
                if (!sets[s].lines) {
                    diff_input(p, (size_t)(end - p), names[i]);
                } else {
                    while (p < end) {
                        const char *nl = (const char *)memchr(p, '\n', (size_t)(end - p));
                        const char *le = nl ? nl : end;
                        if (le - p >= 5 && !memcmp(p, "data:", 5)) p += (le - p >= 6 && p[5] == ' ') ? 6 : 5;
                        if (le > p) diff_input(p, (size_t)(le - p), names[i]);
                        p = nl ? nl + 1 : end;
                    }
                }
            }
            free(buf);
        }
        free_list(names, n);
    }
    CHECK(files > 50);
    if (th_verbose) fprintf(stderr, "     corpus: %lu files, %ld inputs\n", (unsigned long)files, st.inputs - before);
}

static void test_generated(void) {
    rng r;
    int i;
    long before = st.compared;
    r.s = 20261121;
    for (i = 0; i < 5000; i++) {
        dbuf b = { NULL, 0, 0 };
        char label[64];
        gen_value(&r, &b, 0);
        snprintf(label, sizeof label, "generated #%d", i);
        diff_input(b.p, b.n, label);
        mutate(&r, &b);
        snprintf(label, sizeof label, "mutated #%d", i);
        diff_input(b.p, b.n, label);
        free(b.p);
    }
    if (th_verbose) fprintf(stderr, "     generated + mutated: %ld compared\n", st.compared - before);
}

/* Each JSONTestSuite file, mutated a few times. */
static void test_mutated_suite(void) {
    const char *dir = suite_dir();
    char **names;
    size_t n, i;
    int k;
    rng r;
    if (!dir) { TH_SKIP("%s", TH_JSONTESTSUITE_MISSING); return; }
    r.s = 8259;
    names = list_dir(dir, &n);
    for (i = 0; i < n; i++) {
        char path[1024];
        size_t len;
        char *buf;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        buf = th_read_file(path, &len);
        if (!buf) continue;
        for (k = 0; k < 8; k++) {
            dbuf b = { NULL, 0, 0 };
            char label[600];
            db_add(&b, buf, len);
            mutate(&r, &b);
            snprintf(label, sizeof label, "%s mutated #%d", names[i], k);
            diff_input(b.p, b.n, label);
            free(b.p);
        }
        free(buf);
    }
    free_list(names, n);
}

/* More inputs in fuzz_json's format (byte 0: options, stripped), such as a
   corpus a long fuzzing run grew: DIFF_FUZZ_CORPUS=dir1:dir2 */
static void test_extra_corpus(void) {
    const char *env = getenv("DIFF_FUZZ_CORPUS");
    long before = st.inputs;
    while (env && *env) {
        const char *colon = strchr(env, ':');
        size_t dl = colon ? (size_t)(colon - env) : strlen(env);
        char dir[1024];
        char **names;
        size_t n, i;
        snprintf(dir, sizeof dir, "%.*s", (int)(dl < sizeof dir - 1 ? dl : sizeof dir - 1), env);
        names = list_dir(dir, &n);
        CHECK_MSG(names != NULL || n == 0, "%s", dir);
        for (i = 0; i < n; i++) {
            char path[2200];
            size_t len;
            char *buf;
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            buf = th_read_file(path, &len);
            if (buf && len >= 1) diff_input(buf + 1, len - 1, path);
            free(buf);
        }
        free_list(names, n);
        env = colon ? colon + 1 : NULL;
    }
    if (th_verbose && before != st.inputs) fprintf(stderr, "     DIFF_FUZZ_CORPUS: %ld inputs\n", st.inputs - before);
}

int main(int argc, char **argv) {
    int e;
    RUN(test_comparator);
    RUN(test_known_differences);
    RUN(test_jsontestsuite);
    RUN(test_fuzz_corpus);
    RUN(test_generated);
    RUN(test_mutated_suite);
    RUN(test_extra_corpus);
    if (getenv("TEST_VERBOSE")) {
        fprintf(stderr, "diff summary (cJSON %s): %ld inputs, %ld compared (valid UTF-8), %ld not UTF-8 "
                        "(cJSON alone accepted %ld of those)\n",
                cJSON_Version(), st.inputs, st.compared, st.not_utf8, st.not_utf8_cjson_only);
        fprintf(stderr, "  agree: %ld accepted alike, %ld rejected by both; %ld explained by exceptions; %ld unexplained\n",
                st.agree_accept, st.agree_reject, st.explained, st.mismatches);
        for (e = 0; e < EXC_COUNT; e++) fprintf(stderr, "  %-26s %ld\n", exc_name[e], st.exc[e]);
    }
    return th_finish("diff");
}
