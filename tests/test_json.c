/* JSON parser and writer: behaviour, errors, flags, limits, allocation,
   and the JSONTestSuite conformance files as indexed tests. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include <dirent.h>
#include <locale.h>

static llm_json_value *P(const char *s) { return llm_json_parse(s, strlen(s), NULL, NULL); }
static llm_json_error E(const char *s, unsigned flags) {
    llm_json_options o;
    llm_json_result r;
    llm_json_value *v;
    memset(&o, 0, sizeof o);
    o.flags = flags;
    v = llm_json_parse(s, strlen(s), &o, &r);
    llm_json_free(v);
    return v ? LLM_JSON_OK : r.error;
}

static void test_types_and_access(void) {
    llm_json_value *v = P(" {\"a\": [1, -2.5e3, true, false, null, \"x\"], \"b\": {\"c\": {}}, \"d\": []} ");
    const llm_json_value *a;
    double d;
    int64_t i;
    CHECK(v != NULL);
    if (!v) return;
    CHECK_INT(v->type, LLM_JSON_OBJECT);
    CHECK_INT(v->len, 3);
    a = llm_json_get(v, "a");
    CHECK(a && a->type == LLM_JSON_ARRAY && a->len == 6);
    CHECK_STR(a->key, "a");
    CHECK(llm_json_int64(llm_json_at(a, 0), &i) && i == 1);
    CHECK(llm_json_number(llm_json_at(a, 1), &d) && d == -2500.0);
    CHECK_STR(llm_json_at(a, 1)->str, "-2.5e3"); /* exact text kept */
    CHECK(llm_json_bool(llm_json_at(a, 2), -1) == 1);
    CHECK(llm_json_bool(llm_json_at(a, 3), -1) == 0);
    CHECK(llm_json_is_null(llm_json_at(a, 4)));
    CHECK_STR(llm_json_string(llm_json_at(a, 5), NULL), "x");
    CHECK(llm_json_at(a, 6) == NULL);
    CHECK(llm_json_get(v, "zz") == NULL);
    CHECK(llm_json_path(v, "b.c") && llm_json_path(v, "b.c")->type == LLM_JSON_OBJECT);
    CHECK(llm_json_path(v, "a.5") && llm_json_path(v, "a.5")->type == LLM_JSON_STRING);
    CHECK(llm_json_path(v, "a.x") == NULL);
    CHECK(llm_json_path(v, "a.99") == NULL);
    CHECK(llm_json_get(v, "d")->len == 0 && llm_json_get(v, "d")->items == NULL);
    /* accessors accept NULL and wrong types */
    CHECK(llm_json_get(NULL, "a") == NULL);
    CHECK(llm_json_get(a, "a") == NULL);
    CHECK(llm_json_string(a, NULL) == NULL);
    CHECK(llm_json_double(NULL, 7.0) == 7.0);
    CHECK(!llm_json_int64(llm_json_at(a, 5), &i));
    llm_json_free(v);
}

static void test_strings(void) {
    const char *s;
    size_t n;
    llm_json_value *v = P("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u4f60\\ud83d\\ude00\", \"nul\\u0000in\", \"h\xc3\xa9\"]");
    CHECK(v != NULL);
    if (!v) return;
    CHECK_STR(llm_json_string(llm_json_at(v, 0), NULL), "a\"b\\c/d\b\f\n\r\t");
    CHECK_STR(llm_json_string(llm_json_at(v, 1), NULL), "\xc3\xa9\xe4\xbd\xa0\xf0\x9f\x98\x80");
    s = llm_json_string(llm_json_at(v, 2), &n);
    CHECK(n == 6 && memcmp(s, "nul\0in", 6) == 0);
    CHECK_STR(llm_json_string(llm_json_at(v, 3), NULL), "h\xc3\xa9");
    llm_json_free(v);
    CHECK_INT(E("\"\\ud800\"", 0), LLM_JSON_ERR_UTF8);          /* lone high surrogate */
    CHECK_INT(E("\"\\udc00\"", 0), LLM_JSON_ERR_UTF8);          /* lone low surrogate */
    CHECK_INT(E("\"\\ud800\\u0041\"", 0), LLM_JSON_ERR_UTF8);   /* high + non-low */
    CHECK_INT(E("\"\xff\"", 0), LLM_JSON_ERR_UTF8);
    CHECK_INT(E("\"\xc0\xaf\"", 0), LLM_JSON_ERR_UTF8);         /* overlong */
    CHECK_INT(E("\"\xed\xa0\x80\"", 0), LLM_JSON_ERR_UTF8);     /* encoded surrogate */
    CHECK_INT(E("\"\xf4\x90\x80\x80\"", 0), LLM_JSON_ERR_UTF8); /* > U+10FFFF */
    CHECK_INT(E("\"a\tb\"", 0), LLM_JSON_ERR_STRING);           /* raw control char */
    CHECK_INT(E("\"\\x\"", 0), LLM_JSON_ERR_STRING);
    CHECK_INT(E("\"\\u12G4\"", 0), LLM_JSON_ERR_STRING);
    CHECK_INT(E("\"abc", 0), LLM_JSON_ERR_EOF);
}

static void test_numbers(void) {
    llm_json_value *v = P("[0, -0, 9223372036854775807, -9223372036854775808, 9223372036854775808, 1e3, 1.5, "
                          "0.1, 123456789012345678901234567890, 1e400, 2.2250738585072014e-308, 1E+2, 5e-324]");
    int64_t i;
    double d;
    CHECK(v != NULL);
    if (!v) return;
    CHECK(llm_json_int64(llm_json_at(v, 0), &i) && i == 0);
    CHECK(llm_json_int64(llm_json_at(v, 2), &i) && i == INT64_MAX);
    CHECK(llm_json_int64(llm_json_at(v, 3), &i) && i == INT64_MIN);
    CHECK(!llm_json_int64(llm_json_at(v, 4), &i)); /* does not fit */
    CHECK(llm_json_number(llm_json_at(v, 4), &d) && d == 9223372036854775808.0);
    CHECK(llm_json_int64(llm_json_at(v, 5), &i) && i == 1000);
    CHECK(!llm_json_int64(llm_json_at(v, 6), &i));
    CHECK(llm_json_number(llm_json_at(v, 7), &d) && d == 0.1);
    CHECK_STR(llm_json_at(v, 8)->str, "123456789012345678901234567890");
    CHECK(llm_json_number(llm_json_at(v, 8), &d) && d == 123456789012345678901234567890.0);
    CHECK(llm_json_number(llm_json_at(v, 9), &d) && d > 1e308); /* inf, text kept exact */
    CHECK(llm_json_number(llm_json_at(v, 10), &d) && d == 2.2250738585072014e-308);
    CHECK(llm_json_number(llm_json_at(v, 11), &d) && d == 100.0);
    CHECK(llm_json_number(llm_json_at(v, 12), &d) && d == 5e-324);
    llm_json_free(v);
    /* int64 is decided from the digits, never through a double */
    v = P("[5e-325, 1.00000000000000000001, 9007199254740993.0, 92233720368547758070e-1, 100.0e-2, 1.5e1, 0.0e5, "
          "-92233720368547758080e-1, 1e19, 12e-1]");
    CHECK(v != NULL);
    CHECK(!llm_json_int64(llm_json_at(v, 0), &i));
    CHECK(!llm_json_int64(llm_json_at(v, 1), &i));
    CHECK(llm_json_int64(llm_json_at(v, 2), &i) && i == 9007199254740993LL);
    CHECK(llm_json_int64(llm_json_at(v, 3), &i) && i == INT64_MAX);
    CHECK(llm_json_int64(llm_json_at(v, 4), &i) && i == 1);
    CHECK(llm_json_int64(llm_json_at(v, 5), &i) && i == 15);
    CHECK(llm_json_int64(llm_json_at(v, 6), &i) && i == 0);
    CHECK(llm_json_int64(llm_json_at(v, 7), &i) && i == INT64_MIN);
    CHECK(!llm_json_int64(llm_json_at(v, 8), &i));
    CHECK(!llm_json_int64(llm_json_at(v, 9), &i));
    CHECK(llm_json_path(v, "99999999999999999999999999") == NULL); /* an index beyond size_t */
    llm_json_free(v);
    CHECK_INT(E("01", 0), LLM_JSON_ERR_NUMBER);
    CHECK_INT(E("1.", 0), LLM_JSON_ERR_EOF);
    CHECK_INT(E("[1.]", 0), LLM_JSON_ERR_NUMBER);
    CHECK_INT(E("-", 0), LLM_JSON_ERR_EOF);
    CHECK_INT(E("[-]", 0), LLM_JSON_ERR_NUMBER);
    CHECK_INT(E("[1e]", 0), LLM_JSON_ERR_NUMBER);
    CHECK_INT(E("[+1]", 0), LLM_JSON_ERR_SYNTAX);
    CHECK_INT(E("[.5]", 0), LLM_JSON_ERR_SYNTAX);
    CHECK_INT(E("[1x]", 0), LLM_JSON_ERR_NUMBER);
}

/* Numbers read and write the same under a locale whose decimal point is a
   comma (when one is installed here). */
static void test_locale_independent(void) {
    const char *locs[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8", NULL };
    int i;
    const char *got = NULL;
    for (i = 0; locs[i] && !got; i++) got = setlocale(LC_NUMERIC, locs[i]);
    {
        llm_json_value *v = P("[1.25, 3.14159265358979323846264338327950288]");
        llm_json_writer w;
        double d = 0;
        CHECK(v && llm_json_number(llm_json_at(v, 0), &d) && d == 1.25);
        CHECK(v && llm_json_number(llm_json_at(v, 1), &d) && d == 3.141592653589793);
        llm_jw_init(&w, NULL);
        llm_jw_number(&w, 0.5);
        CHECK_STR(llm_jw_text(&w, NULL), "0.5");
        llm_jw_free(&w);
        llm_json_free(v);
    }
    setlocale(LC_NUMERIC, "C");
    if (!got) fprintf(stderr, "    note: no comma-decimal locale installed; checked in the C locale only\n");
}

static void test_errors_locate(void) {
    llm_json_result r;
    llm_json_value *v = llm_json_parse("{\n  \"a\": 1,\n  \"b\" 2\n}", 22, NULL, &r);
    CHECK(v == NULL);
    CHECK_INT(r.error, LLM_JSON_ERR_SYNTAX);
    CHECK_INT(r.line, 3);
    CHECK_INT(r.column, 7);
    CHECK_INT(r.offset, 18);
    CHECK_INT(E("", 0), LLM_JSON_ERR_EMPTY);
    CHECK_INT(E("   \n", 0), LLM_JSON_ERR_EMPTY);
    CHECK_INT(E("[1,", 0), LLM_JSON_ERR_EOF);
    CHECK_INT(E("[1 2]", 0), LLM_JSON_ERR_SYNTAX);
    CHECK_INT(E("{\"a\" 1}", 0), LLM_JSON_ERR_SYNTAX);
    CHECK_INT(E("{1:2}", 0), LLM_JSON_ERR_SYNTAX);
    CHECK_INT(E("1 2", 0), LLM_JSON_ERR_TRAILING);
    CHECK_INT(E("{} x", 0), LLM_JSON_ERR_TRAILING);
    CHECK_INT(E("tru", 0), LLM_JSON_ERR_EOF);
    CHECK_INT(E("trux", 0), LLM_JSON_ERR_SYNTAX);
    CHECK_INT(E("nul", 0), LLM_JSON_ERR_EOF);
    CHECK(llm_json_parse(NULL, 3, NULL, &r) == NULL && r.error == LLM_JSON_ERR_INVALID_ARG);
    CHECK(strlen(llm_json_error_string(LLM_JSON_ERR_DEPTH)) > 0);
    /* an embedded NUL byte is not whitespace */
    CHECK(llm_json_parse("[1]\0", 4, NULL, &r) == NULL && r.error == LLM_JSON_ERR_TRAILING);
}

static void test_flags(void) {
    CHECK_INT(E("[1,2,]", 0), LLM_JSON_ERR_SYNTAX);
    CHECK_INT(E("[1,2,]", LLM_JSON_ALLOW_TRAILING_COMMAS), LLM_JSON_OK);
    CHECK_INT(E("{\"a\":1,}", LLM_JSON_ALLOW_TRAILING_COMMAS), LLM_JSON_OK);
    CHECK_INT(E("[,]", LLM_JSON_ALLOW_TRAILING_COMMAS), LLM_JSON_ERR_SYNTAX);
    CHECK_INT(E("[1,,]", LLM_JSON_ALLOW_TRAILING_COMMAS), LLM_JSON_ERR_SYNTAX);
    CHECK_INT(E("// c\n[1, /* two */ 2] // end", 0), LLM_JSON_ERR_SYNTAX);
    CHECK_INT(E("// c\n[1, /* two */ 2] // end", LLM_JSON_ALLOW_COMMENTS), LLM_JSON_OK);
    CHECK_INT(E("[1 /* open", LLM_JSON_ALLOW_COMMENTS), LLM_JSON_ERR_EOF);
    {
        llm_json_options o;
        llm_json_value *v;
        memset(&o, 0, sizeof o);
        o.flags = LLM_JSON_ALLOW_COMMENTS | LLM_JSON_ALLOW_TRAILING_COMMAS;
        const char *t = "{/*x*/\"k\"/*y*/:/*z*/[1,/**/],}";
        v = llm_json_parse(t, strlen(t), &o, NULL);
        CHECK(v && llm_json_get(v, "k") && llm_json_get(v, "k")->len == 1);
        llm_json_free(v);
    }
}

static char *nested(int depth) {
    char *s = (char *)malloc((size_t)depth * 2 + 1);
    int i;
    for (i = 0; i < depth; i++) { s[i] = '['; s[depth * 2 - 1 - i] = ']'; }
    s[depth * 2] = '\0';
    return s;
}

static void test_depth(void) {
    char *ok = nested(128), *deep = nested(129), *huge = nested(100000);
    llm_json_options o;
    llm_json_result r;
    llm_json_value *v;
    CHECK_INT(E(ok, 0), LLM_JSON_OK);
    CHECK_INT(E(deep, 0), LLM_JSON_ERR_DEPTH);
    memset(&o, 0, sizeof o);
    o.max_depth = 3;
    v = llm_json_parse("[[[1]]]", 7, &o, &r);
    CHECK(v != NULL);
    llm_json_free(v);
    v = llm_json_parse("[[[[1]]]]", 9, &o, &r);
    CHECK(v == NULL && r.error == LLM_JSON_ERR_DEPTH && r.offset == 3);
    o.max_depth = 1000000; /* clamped to LLM_JSON_DEPTH_LIMIT, never a stack overflow */
    v = llm_json_parse(huge, strlen(huge), &o, &r);
    CHECK(v == NULL && r.error == LLM_JSON_ERR_DEPTH && r.offset == LLM_JSON_DEPTH_LIMIT);
    free(ok);
    free(deep);
    free(huge);
}

static void test_one_allocation(void) {
    th_alloc a;
    llm_allocator al;
    llm_json_options o;
    llm_json_result r;
    llm_json_value *v;
    const char *doc = "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e\\u00e9\"}";
    memset(&a, 0, sizeof a);
    al.alloc_fn = th_alloc_fn;
    al.realloc_fn = th_realloc_fn;
    al.free_fn = th_free_fn;
    al.user_data = &a;
    memset(&o, 0, sizeof o);
    o.allocator = &al;
    v = llm_json_parse(doc, strlen(doc), &o, &r);
    CHECK(v != NULL);
    CHECK_INT(a.allocs, 1);
    CHECK_STR(llm_json_string(llm_json_path(v, "a.2.b"), NULL), "c");
    llm_json_free(v);
    CHECK_INT(a.live, 0);
    a.fail_at = 2; /* the next allocation fails */
    v = llm_json_parse("[1]", 3, &o, &r);
    CHECK(v == NULL && r.error == LLM_JSON_ERR_NO_MEMORY);
    CHECK_INT(a.live, 0);
}

static void test_writer(void) {
    llm_json_writer w;
    const char *t;
    size_t n;
    llm_jw_init(&w, NULL);
    llm_jw_object_begin(&w);
    llm_jw_key(&w, "s"); llm_jw_string(&w, "q\"b\\s/\n\t\x01\x1f\xc3\xa9");
    llm_jw_key(&w, "n"); llm_jw_number(&w, 0.1);
    llm_jw_key(&w, "big"); llm_jw_number(&w, 1e300);
    llm_jw_key(&w, "neg"); llm_jw_int(&w, INT64_MIN);
    llm_jw_key(&w, "t"); llm_jw_bool(&w, 1);
    llm_jw_key(&w, "z"); llm_jw_null(&w);
    llm_jw_key(&w, "a"); llm_jw_array_begin(&w); llm_jw_int(&w, 1); llm_jw_raw(&w, "{\"r\":2}", 7); llm_jw_array_end(&w);
    llm_jw_key_n(&w, "k\0z", 3); llm_jw_string_n(&w, "a\0b", 3);
    llm_jw_object_end(&w);
    t = llm_jw_text(&w, &n);
    CHECK_STR(t, "{\"s\":\"q\\\"b\\\\s/\\n\\t\\u0001\\u001f\xc3\xa9\",\"n\":0.1,\"big\":1e+300,\"neg\":-9223372036854775808,"
                 "\"t\":true,\"z\":null,\"a\":[1,{\"r\":2}],\"k\\u0000z\":\"a\\u0000b\"}");
    {
        llm_json_value *v = t ? llm_json_parse(t, n, NULL, NULL) : NULL;
        CHECK(v != NULL);
        CHECK(llm_json_double(llm_json_get(v, "n"), 0) == 0.1);
        llm_json_free(v);
    }
    llm_jw_free(&w);
    { /* the shortest text that reads back as the same double: 15, 16 or 17
         digits, each case needing exactly that many */
        static const double d[] = { 0.1 + 0.2, 1.0 / 3.0, 2.0 / 3.0, 5e-324, 1.7976931348623157e308, 123456789012345678.0,
                                    0.1, 1e21, -2.5e-7, 9007199254740993.0 };
        static const char *want[] = { "0.30000000000000004", "0.3333333333333333", "0.6666666666666666",
                                      "4.94065645841247e-324", "1.7976931348623157e+308", "1.2345678901234568e+17",
                                      "0.1", "1e+21", "-2.5e-07", "9007199254740992" };
        size_t i;
        for (i = 0; i < sizeof d / sizeof d[0]; i++) {
            llm_json_value *v;
            llm_jw_init(&w, NULL);
            llm_jw_number(&w, d[i]);
            t = llm_jw_text(&w, &n);
            CHECK_STR(t, want[i]);
            v = t ? llm_json_parse(t, n, NULL, NULL) : NULL;
            CHECK_MSG(v && llm_json_double(v, 0) == d[i], "%s does not read back", t ? t : "NULL");
            llm_json_free(v);
            llm_jw_free(&w);
        }
    }
}

static void test_writer_misuse(void) {
    llm_json_writer w;
    int i;
    llm_jw_init(&w, NULL);
    llm_jw_object_begin(&w);
    llm_jw_int(&w, 1); /* value without key */
    CHECK(w.error == LLM_JSON_ERR_INVALID_ARG && llm_jw_text(&w, NULL) == NULL);
    llm_jw_free(&w);
    llm_jw_init(&w, NULL);
    llm_jw_key(&w, "k"); /* key outside an object */
    CHECK(w.error != 0);
    llm_jw_free(&w);
    llm_jw_init(&w, NULL);
    llm_jw_array_begin(&w);
    CHECK(llm_jw_text(&w, NULL) == NULL); /* unclosed */
    llm_jw_object_end(&w);                /* wrong closer */
    CHECK(w.error != 0);
    llm_jw_free(&w);
    llm_jw_init(&w, NULL);
    llm_jw_string(&w, "bad \xff utf8");
    CHECK(w.error == LLM_JSON_ERR_UTF8);
    llm_jw_free(&w);
    llm_jw_init(&w, NULL);
    {
        volatile double big = 1e308;
        llm_jw_number(&w, big * 10.0); /* inf */
    }
    CHECK(w.error == LLM_JSON_ERR_INVALID_ARG);
    llm_jw_free(&w);
    llm_jw_init(&w, NULL);
    llm_jw_int(&w, 1);
    llm_jw_int(&w, 2); /* two roots */
    CHECK(w.error != 0);
    llm_jw_free(&w);
    llm_jw_init(&w, NULL);
    for (i = 0; i < LLM_JSON_WRITER_MAX_DEPTH + 1; i++) llm_jw_array_begin(&w);
    CHECK(w.error == LLM_JSON_ERR_DEPTH);
    llm_jw_free(&w);
    llm_jw_init(&w, NULL);
    llm_jw_object_begin(&w);
    llm_jw_key(&w, "a");
    llm_jw_object_end(&w); /* key without value */
    CHECK(w.error != 0);
    llm_jw_free(&w);
}

static int same_tree(const llm_json_value *a, const llm_json_value *b) {
    size_t i;
    if (a->type != b->type || a->len != b->len) return 0;
    if ((a->key == NULL) != (b->key == NULL)) return 0;
    if (a->key && (a->key_len != b->key_len || memcmp(a->key, b->key, a->key_len))) return 0;
    if (a->type == LLM_JSON_STRING || a->type == LLM_JSON_NUMBER) return memcmp(a->str, b->str, a->len) == 0;
    for (i = 0; a->type >= LLM_JSON_ARRAY && i < a->len; i++)
        if (!same_tree(&a->items[i], &b->items[i])) return 0;
    return 1;
}

static const char *suite_dir(void) {
    return th_find_dir("JSONTESTSUITE_DIR", th_jsontestsuite_dirs);
}

/* Every file of JSONTestSuite/test_parsing as one indexed case:
   y_ must parse (and survive write -> parse unchanged), n_ must be rejected,
   i_ must not crash (either outcome). */
static void test_jsontestsuite(void) {
    const char *dir = suite_dir();
    DIR *d;
    struct dirent *de;
    int y = 0, n = 0, i_ok = 0, i_rej = 0, idx = 0;
    if (!dir) { TH_SKIP("%s", TH_JSONTESTSUITE_MISSING); return; }
    d = opendir(dir);
    CHECK(d != NULL);
    if (!d) return;
    for (de = readdir(d); de; de = readdir(d)) {
        char path[1024];
        size_t len;
        char *buf;
        llm_json_result r;
        llm_json_value *v;
        if (de->d_name[0] != 'y' && de->d_name[0] != 'n' && de->d_name[0] != 'i') continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        buf = th_read_file(path, &len);
        if (!buf) continue;
        idx++;
        v = llm_json_parse(buf, len, NULL, &r);
        if (de->d_name[0] == 'y') {
            CHECK_MSG(v != NULL, "case %d %s rejected: %s at %lu", idx, de->d_name, llm_json_error_string(r.error), (unsigned long)r.offset);
            if (v) {
                llm_json_writer w;
                size_t tl;
                const char *t;
                llm_json_value *v2;
                llm_jw_init(&w, NULL);
                llm_jw_value(&w, v);
                t = llm_jw_text(&w, &tl);
                v2 = t ? llm_json_parse(t, tl, NULL, NULL) : NULL;
                CHECK_MSG(v2 && same_tree(v, v2), "case %d %s: write/parse round trip differs", idx, de->d_name);
                llm_json_free(v2);
                llm_jw_free(&w);
                y++;
            }
        } else if (de->d_name[0] == 'n') {
            CHECK_MSG(v == NULL, "case %d %s accepted", idx, de->d_name);
            if (!v) n++;
        } else {
            if (v) i_ok++; else i_rej++;
        }
        llm_json_free(v);
        free(buf);
    }
    closedir(d);
    CHECK(y >= 90 && n >= 180);
    if (th_verbose) fprintf(stderr, "    JSONTestSuite: %d y_ parsed, %d n_ rejected, i_: %d accepted %d rejected\n", y, n, i_ok, i_rej);
}

int main(int argc, char **argv) {
    RUN(test_types_and_access);
    RUN(test_strings);
    RUN(test_numbers);
    RUN(test_locale_independent);
    RUN(test_errors_locate);
    RUN(test_flags);
    RUN(test_depth);
    RUN(test_one_allocation);
    RUN(test_writer);
    RUN(test_writer_misuse);
    RUN(test_jsontestsuite);
    return th_finish("json");
}
