/* JSON parser and writer: behaviour, errors, flags, limits, allocation,
   and the JSONTestSuite conformance files as indexed tests. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include "../fuzz/fuzz_util.h" /* its RFC 8259 number grammar */
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
    /* 19 digits once scaled, but beyond the range: refused while scaling */
    v = P("[95e17, -93e17, 92e17, -92e17, 9223372036854775e3]");
    CHECK(v != NULL);
    i = 7;
    CHECK(!llm_json_int64(llm_json_at(v, 0), &i) && i == 7);
    CHECK(!llm_json_int64(llm_json_at(v, 1), &i) && i == 7);
    CHECK(llm_json_int64(llm_json_at(v, 2), &i) && i == 9200000000000000000LL);
    CHECK(llm_json_int64(llm_json_at(v, 3), &i) && i == -9200000000000000000LL);
    CHECK(llm_json_int64(llm_json_at(v, 4), &i) && i == 9223372036854775000LL);
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
    /* Pashto's decimal point is two bytes (U+066B): one '.' all the same */
    got = setlocale(LC_NUMERIC, "ps_AF.UTF-8");
    if (!got) got = setlocale(LC_NUMERIC, "ps_AF.utf8");
    if (got) {
        static const struct { double d; const char *want; } T[] = {
            { 0.5, "0.5" }, { -1234.0625, "-1234.0625" }, { 0.1, "0.1" }, { 1.5e-300, "1.5e-300" }, { 3.0, "3" },
        };
        size_t k;
        for (k = 0; k < sizeof T / sizeof T[0]; k++) {
            llm_json_writer w;
            llm_jw_init(&w, NULL);
            llm_jw_number(&w, T[k].d);
            CHECK_STR(llm_jw_text(&w, NULL), T[k].want);
            llm_jw_free(&w);
        }
        setlocale(LC_NUMERIC, "C");
    } else {
        fprintf(stderr, "    note: ps_AF.UTF-8 not installed; a two-byte decimal point not checked\n");
    }
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

/* ---- Numbers: the library's reading against the C library's strtod (C
   locale, correctly rounded in glibc) and against exact decimal arithmetic,
   the writer against printf. Deterministic: a fixed-seed generator. ---- */

static uint64_t rng_state;
static uint64_t rng(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double bits_d(uint64_t u) { double d; memcpy(&d, &u, sizeof d); return d; }
static uint64_t d_bits(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }

/* The library's value of a JSON text holding one number; *ok is 0 when it
   does not parse as exactly that. */
static double lib_num(const char *s, size_t n, int *ok) {
    llm_json_value *v = llm_json_parse(s, n, NULL, NULL);
    double d = 0;
    *ok = v && v->type == LLM_JSON_NUMBER && v->len == n && llm_json_number(v, &d);
    llm_json_free(v);
    return d;
}

static int num_reported;
/* 1 (and a line on stderr, the first few times) when the library's reading
   of s differs from strtod's in any bit. */
static int num_differs(const char *s, double want) {
    size_t n = strlen(s);
    int ok;
    double got = lib_num(s, n, &ok);
    if (ok && d_bits(got) == d_bits(want)) return 0;
    if (num_reported++ < 8)
        fprintf(stderr, "        %.70s%s (%lu bytes): library %.17g%s, expected %.17g\n", s, n > 70 ? "..." : "",
                (unsigned long)n, got, ok ? "" : " (rejected)", want);
    return 1;
}
static int num_vs_strtod(const char *s) { return num_differs(s, strtod(s, NULL)); }

/* llm_jw_number writes the first of %.15g, %.16g, %.17g that reads back as
   d (the shortest of those that round-trip; test_writer shows each), and
   that text parses back to d bit for bit. */
static int writer_differs(double d) {
    char want[64];
    const char *t;
    size_t n;
    int prec, ok = 0, bad;
    llm_json_writer w;
    for (prec = 15; prec <= 17; prec++) {
        snprintf(want, sizeof want, "%.*g", prec, d);
        if (strtod(want, NULL) == d) break;
    }
    llm_jw_init(&w, NULL);
    llm_jw_number(&w, d);
    t = llm_jw_text(&w, &n);
    bad = !t || strcmp(t, want) != 0 || d_bits(lib_num(t, n, &ok)) != d_bits(d) || !ok;
    if (bad && num_reported++ < 8)
        fprintf(stderr, "        llm_jw_number(%.17g) wrote %s, expected %s\n", d, t ? t : "(null)", want);
    llm_jw_free(&w);
    return bad;
}

static char *repeat_into(char *o, char c, int k) {
    while (k-- > 0) *o++ = c;
    *o = '\0';
    return o;
}

/* Exact decimals of binary fractions: base 10^9 limbs, least significant
   first. 100 limbs hold the longest needed: (2^54) * 5^1075, 768 digits. */
typedef struct tbig { uint32_t l[100]; int n; } tbig;
static void tbig_set(tbig *b, uint64_t v) {
    b->n = 0;
    while (v) { b->l[b->n++] = (uint32_t)(v % 1000000000u); v /= 1000000000u; }
}
static void tbig_mul(tbig *b, uint32_t m) {
    uint64_t c = 0;
    int i;
    for (i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->l[i] * m + c;
        b->l[i] = (uint32_t)(t % 1000000000u);
        c = t / 1000000000u;
    }
    while (c) { b->l[b->n++] = (uint32_t)(c % 1000000000u); c /= 1000000000u; }
}
static void tbig_mul_pow(tbig *b, uint32_t base, int k) { /* b *= base^k, base 2 or 5 */
    uint32_t chunk = base == 2 ? (1u << 29) : 1220703125u; /* 5^13 */
    int step = base == 2 ? 29 : 13;
    for (; k >= step; k -= step) tbig_mul(b, chunk);
    while (k-- > 0) tbig_mul(b, base);
}
static int tbig_str(const tbig *b, char *s) { /* digits, no leading zeros; "0" for zero */
    int i, n;
    if (b->n == 0) { strcpy(s, "0"); return 1; }
    n = sprintf(s, "%u", (unsigned)b->l[b->n - 1]);
    for (i = b->n - 2; i >= 0; i--) n += sprintf(s + n, "%09u", (unsigned)b->l[i]);
    return n;
}
/* The digits D and exponent E with D * 10^E == odd * 2^e2 exactly. */
static int exact_decimal(char *s, uint64_t odd, int e2, int *e10) {
    tbig b;
    tbig_set(&b, odd);
    if (e2 >= 0) { tbig_mul_pow(&b, 2, e2); *e10 = 0; }
    else { tbig_mul_pow(&b, 5, -e2); *e10 = e2; }
    return tbig_str(&b, s);
}

/* Hand-picked hard cases, each also negated, against strtod. */
static void test_number_hard_cases(void) {
    static const char *cases[] = {
        /* halfway between two doubles and next to it, round half to even */
        "9007199254740993", "9007199254740995", "9007199254740993.0000000000000000001", "9007199254740992.9999999999999999",
        "9007199254740991.5", "9007199254740991.4999999999999999", "4503599627370495.5", "4503599627370496.5",
        "18014398509481983", "18014398509481985", "36028797018963967", "72057594037927935", "7.2057594037927933e16",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "0.99999999999999994448884876874217297882", "0.999999999999999944488848768742172978818416595458984375",
        "1.9999999999999998889776975374843459576368331909179688", "3.9999999999999997779553950749686919152736663818359375",
        /* the fast path's edges: 2^53 digits, 10^22 */
        "9007199254740992e22", "9007199254740993e22", "9007199254740992e-22", "9007199254740993e-22", "1e22", "1e23",
        "1e-22", "1e-23", "4.35e22", "8.589973e9", "123456789e-22", "1234567890123456789e-22",
        "0.000000000000000000000001", "1000000000000000000000000e-5", "100000000000000000000000", "1e15", "1e16",
        /* 19 and 20 significant digits */
        "1234567890123456789", "12345678901234567890", "9999999999999999999", "99999999999999999999",
        "18446744073709551615", "18446744073709551616", "1844674407370955161.5", "9223372036854775807",
        "9223372036854775808", "0.9999999999999999999", "0.99999999999999999999", "1.0000000000000000001",
        "9.999999999999999999e22", "4503599627370500", "4503599627370500.0000000000000000000", "45035996273705e2",
        "4611686018427392000", "4611686018427392000.000", "1152921504606846976000", "7.0e-10", "3.0e-10",
        /* the largest doubles, to the edge of overflow */
        "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
        "17976931348623158e292", "179769313486231570000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "8.98846567431158e307", "8.988465674311579e307", "1e308", "1e309", "10e308", "1e400", "1e99999", "1e1000000",
        "1e99999999999999999999", "0.1e310", "0.01e310",
        /* the smallest normals, subnormals and the edge of underflow */
        "2.2250738585072014e-308", "2.2250738585072011e-308", "2.2250738585072012e-308", "2.2250738585072009e-308",
        "2.225073858507201136057409796709131975934819546351645648e-308", "4.9406564584124654e-324", "4.9e-324",
        "5e-324", "3e-324", "1e-324", "2.4703282292062328e-324", "2.4703282292062327e-324",
        "7.4109846876186982e-324", "7.4109846876186981e-324",
        "1e-400", "1e-99999", "1e-1000000", "1e-99999999999999999999", "123e-99999999999999",
        /* zeros */
        "0", "0.0", "0e0", "0.000e-99999", "0e1000000", "0E+0", "0.0e99999999999999999999",
        /* exponents past the multiples of the shift steps */
        "1e30", "1e60", "1e-60", "1e61", "1e-61", "1e120", "1e-120", "1e121", "1e-121", "1e180", "1e-181", "1e300",
        "1e-300", "1e-307", "1e-308", "1e-309", "1e-310", "1e-320", "1e-323", "3.5e-322", "1.5e-310",
        "123456789012345678901234567890e-330", "0.123456789012345678901234567890e-300",
        "12345678901234567890123456789012345678901234567890e250", "3.14159265358979323846264338327950288419716939937510",
        "2.718281828459045235360287471352662497757247093699959574966967627724076630353547594571382178525166427e-5",
        "0.1", "0.2", "0.3", "0.7", "1.1", "2.5", "1E+2", "1e+0", "1e-0", "12E-1", "0.5", "100.0e-2",
    };
    char *big = (char *)malloc(3000), *p, *neg = (char *)malloc(3100);
    size_t i;
    int bad = 0, k;
    num_reported = 0;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bad += num_vs_strtod(cases[i]);
        snprintf(neg, 3100, "-%s", cases[i]);
        bad += num_vs_strtod(neg);
    }
    /* long mantissas: 800 digits (the decimal's capacity), 801 and 1000
       (digits dropped: a nonzero one among them still rounds up) */
    for (k = 0; k < 6; k++) {
        static const int lens[] = { 799, 800, 801, 1000, 1600, 2500 };
        int j;
        p = big;
        *p++ = '1';
        *p++ = '.';
        for (j = 0; j < lens[k]; j++) *p++ = (char)('0' + (j * 7 + k) % 10);
        *p = '\0';
        bad += num_vs_strtod(big);
        strcpy(p, "e-300");
        bad += num_vs_strtod(big);
        strcpy(p, "e300");
        bad += num_vs_strtod(big);
    }
    /* one 5 then zeros, then a 1 far away: exactly halfway until that 1 */
    strcpy(big, "9007199254740992.5");
    p = repeat_into(big + strlen(big), '0', 900);
    bad += num_vs_strtod(big);
    strcpy(p, "1");
    bad += num_vs_strtod(big);
    strcpy(big, "9007199254740993");
    p = repeat_into(big + strlen(big), '0', 700);
    strcpy(p, "e-700");
    bad += num_vs_strtod(big);
    /* many leading zeros, and trailing zeros in the integer part */
    strcpy(big, "0.");
    p = repeat_into(big + 2, '0', 400);
    strcpy(p, "1");
    bad += num_vs_strtod(big);
    strcpy(p, "17e400");
    bad += num_vs_strtod(big);
    strcpy(p, "123456789012345678901234567890e420");
    bad += num_vs_strtod(big);
    { /* the 752 digits of 5^1075 (2^-1075 is those times 10^-1075) */
        static char d[800];
        int e10;
        exact_decimal(d, 1, -1075, &e10);
        strcpy(p, d);
        bad += num_vs_strtod(big);
        sprintf(p, "%se80", d);
        bad += num_vs_strtod(big);
        sprintf(big, "%se-1000", d);
        bad += num_vs_strtod(big);
    }
    /* every power of two and three times it, exactly, with 25 more zeros
       (so never the fast path): on the way the decimal passes through
       single digits such as 8 -> 1 */
    for (k = -1074; k <= 1023; k++) {
        static char d[800];
        int e10, c, n;
        for (c = 1; c <= 3; c += 2) {
            if (c == 3 && k == 1023) break;
            n = exact_decimal(d, (uint64_t)c, k, &e10);
            p = repeat_into(d + n, '0', 25);
            sprintf(p, "e%d", e10 - 25);
            bad += num_vs_strtod(d);
        }
    }
    strcpy(big, "1");
    p = repeat_into(big + 1, '0', 300);
    strcpy(p, "e-300");
    bad += num_vs_strtod(big);
    strcpy(big, "1");
    p = repeat_into(big + 1, '0', 700);
    strcpy(p, "e-700");
    bad += num_vs_strtod(big);
    strcpy(p, ".5e-690");
    bad += num_vs_strtod(big);
    CHECK_INT(bad, 0);
    free(big);
    free(neg);
}

/* 100000 zeros between "0." and the digits, the exponent making up for
   them: the value is that of the short form "<digits>e<exp>". Here the
   digits fit 2^53 and the power of ten is at most 22 (the fast path);
   test_number_long_texts has the same shapes beyond that. */
static double zero_run_number(char *s, int z, const char *digits, int exp10) {
    char shortform[64];
    char *p;
    snprintf(shortform, sizeof shortform, "%se%d", digits, exp10);
    strcpy(s, "0.");
    p = repeat_into(s + 2, '0', z);
    sprintf(p, "%se%d", digits, z + (int)strlen(digits) + exp10);
    return strtod(shortform, NULL);
}
static void test_number_long_zero_runs(void) {
    static const char *digits[] = { "1", "123", "4503599627370497", "9007199254740992" };
    static const int exps[] = { -22, -21, -12, -11, -10, 0, 10, 11, 12, 21, 22 };
    char *s = (char *)malloc(100064);
    size_t i, j;
    int bad = 0;
    num_reported = 0;
    for (i = 0; i < sizeof digits / sizeof digits[0]; i++)
        for (j = 0; j < sizeof exps / sizeof exps[0]; j++) {
            double want = zero_run_number(s, 100000, digits[i], exps[j]);
            bad += num_differs(s, want);
        }
    CHECK_INT(bad, 0);
    free(s);
}

/* Numbers longer than the 800 digits the decimal keeps, or with more
   zeros after the point than the exponent's old limits (10000 on the slow
   path, 100000 on the fast one): the point still counts every digit, and
   the exponent is read in full. Each of these read wrong before 0.2.0's fix:
   "1", 899 zeros, "e-800" read 0.1 instead of 1e99; "0.", 100000 zeros,
   "12345678901234567890e100020" read 0; "0.", 2000000 zeros, "1e2000001"
   read 0 instead of 1. */
static void test_number_long_texts(void) {
    char *s = (char *)malloc(2000100), *p;
    int bad = 0;
    num_reported = 0;
    strcpy(s, "1");
    p = repeat_into(s + 1, '0', 899);
    strcpy(p, "e-800");
    bad += num_vs_strtod(s);
    strcpy(p, ".5e-850");
    bad += num_vs_strtod(s);
    strcpy(s, "0.");
    p = repeat_into(s + 2, '0', 100000);
    strcpy(p, "12345678901234567890e100020");
    bad += num_vs_strtod(s);
    bad += num_differs(s, zero_run_number(s, 100000, "1", 23));
    bad += num_differs(s, zero_run_number(s, 100000, "9007199254740993", 0));
    bad += num_differs(s, zero_run_number(s, 2000000, "1", 0));
    CHECK_INT(bad, 0);
    free(s);
}

/* For x = m * 2^q and its successor, the exact decimals of x, of the
   midpoint, and of the midpoint nudged up and down by far less than an ulp
   (also past the 800 digits the library keeps): the answers are known
   without any C library. */
static unsigned halfway_count;
static int halfway_case(uint64_t xb, int negative) {
    static char d[1000], s[1200];
    uint64_t frac = xb & (((uint64_t)1 << 52) - 1), m, next = xb + 1;
    int ex = (int)(xb >> 52), q, n, e10, bad = 0, j;
    const char *sign = negative ? "-" : "";
    uint64_t sb = negative ? (uint64_t)1 << 63 : 0;
    uint64_t even = (xb & 1) ? next : xb;
    m = ex ? frac | ((uint64_t)1 << 52) : frac;
    q = ex ? ex - 1075 : -1074;
    if (m) { /* x itself, exactly */
        n = exact_decimal(d, m, q, &e10);
        snprintf(s, sizeof s, "%s%se%d", sign, d, e10);
        bad += num_differs(s, bits_d(xb | sb));
    }
    n = exact_decimal(d, 2 * m + 1, q - 1, &e10);
    snprintf(s, sizeof s, "%s%se%d", sign, d, e10); /* the midpoint: to even */
    bad += num_differs(s, bits_d(even | sb));
    snprintf(s, sizeof s, "%s%s00000001e%d", sign, d, e10 - 8); /* just above */
    bad += num_differs(s, bits_d(next | sb));
    { /* exactly half with zeros past the 800 digits kept, and above by a 1
         there; then above by a 1 that is the 797th..800th digit, kept when
         read but pushed out by a shift on the way (as the scaled number
         gains a digit at the top) */
        char *z;
        j = snprintf(s, sizeof s, "%s%s.", sign, d);
        z = repeat_into(s + j, '0', 850 - n);
        sprintf(z, "e%d", e10);
        bad += num_differs(s, bits_d(even | sb));
        sprintf(z, "1e%d", e10);
        bad += num_differs(s, bits_d(next | sb));
        z = repeat_into(s + j, '0', 796 + (int)(halfway_count++ % 4) - n);
        sprintf(z, "1e%d", e10);
        bad += num_differs(s, bits_d(next | sb));
    }
    for (j = n - 1; j >= 0 && d[j] == '0'; j--) d[j] = '9'; /* d - 1 (d > 0: it is odd * 5^k or even * 2^k) */
    if (j >= 0) d[j]--;
    for (j = 0; d[j] == '0'; j++) {}
    snprintf(s, sizeof s, "%s%s9999999e%d", sign, d + j, e10 - 7); /* just below */
    bad += num_differs(s, bits_d(xb | sb));
    return bad;
}

static void test_number_halfway_exact(void) {
    static const uint64_t fixed[] = {
        0, 1, 2, 3, 0x000FFFFFFFFFFFFFULL, 0x0010000000000000ULL, 0x0010000000000001ULL, 0x001FFFFFFFFFFFFFULL,
        0x3FEFFFFFFFFFFFFFULL, 0x3FF0000000000000ULL, 0x3FF0000000000001ULL, 0x433FFFFFFFFFFFFFULL,
        0x4340000000000000ULL, 0x7FEFFFFFFFFFFFFEULL, 0x7FEFFFFFFFFFFFFFULL, 0x7FE0000000000000ULL,
        0x0000000000000010ULL, 0x0008000000000000ULL, 0x0007FFFFFFFFFFFFULL, 0x44B52D02C7E14AF6ULL, /* 1e23 */
    };
    size_t i;
    int bad = 0;
    num_reported = 0;
    rng_state = 0x5eed0001;
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) bad += halfway_case(fixed[i], (int)(i & 1));
    for (i = 0; i < 600; i++) {
        uint64_t u = rng(), ex;
        switch (i % 4) {
        case 0: ex = u >> 53; break;                          /* anywhere */
        case 1: ex = 1023 - 70 + (u >> 56) % 141; break;      /* 2^-70 .. 2^70 */
        case 2: ex = (u >> 56) % 3; break;                    /* subnormal and just above */
        default: ex = 2046 - (u >> 56) % 3; break;            /* up to DBL_MAX */
        }
        if (ex > 2046) ex = 2046;
        if ((i & 7) == 5) u &= ~(uint64_t)0 << ((u >> 58) % 52); /* short mantissas, trailing zero bits */
        bad += halfway_case((ex << 52) | (u & 0x000FFFFFFFFFFFFFULL), (int)(rng() & 1));
    }
    CHECK_INT(bad, 0);
}

/* A JSON number text of random shape: 0-24 integer digits, 0-24 fraction
   digits (leading zeros, runs of 0 or 9), an exponent small or large. */
static size_t random_number_text(char *s) {
    size_t n = 0;
    int intd = (int)(rng() % 25), fracd = (int)(rng() % 25), k, run = (int)(rng() % 4);
    char rc = (rng() & 1) ? '9' : '0';
    if (rng() & 1) s[n++] = '-';
    if (intd == 0 && fracd == 0) intd = 1;
    if (intd == 0) s[n++] = '0';
    else {
        s[n++] = (char)('1' + rng() % 9);
        for (k = 1; k < intd; k++) s[n++] = run == 0 && k > intd / 2 ? rc : (char)('0' + rng() % 10);
    }
    if (fracd) {
        int lead = (rng() & 3) == 0 ? (int)(rng() % 30) : 0;
        s[n++] = '.';
        while (lead--) s[n++] = '0';
        for (k = 0; k < fracd; k++) s[n++] = run == 1 && k > fracd / 3 ? rc : (char)('0' + rng() % 10);
    }
    if (rng() % 3) {
        uint64_t r = rng();
        int e = (r & 1) ? (int)((r >> 8) % 61) - 30 : (int)((r >> 8) % 801) - 400;
        s[n++] = (r & 2) ? 'e' : 'E';
        if (e < 0) s[n++] = '-';
        else if (r & 4) s[n++] = '+';
        n += (size_t)sprintf(s + n, "%s%d", (r & 8) ? "00" : "", e < 0 ? -e : e);
    }
    s[n] = '\0';
    return n;
}

/* The seeded sweep: random doubles as %.15g/%.16g/%.17g, their %.17e with
   random digits appended, exact integers (%.0f), and random number texts;
   each read must equal strtod's bit for bit, and each double written back
   by llm_jw_number must be the documented text and read back. */
static void test_number_sweep(void) {
    char s[512];
    int i, bad = 0, wbad = 0, prec;
    num_reported = 0;
    rng_state = 0x5eed0002;
    for (i = 0; i < 24000; i++) {
        uint64_t u = rng(), ex;
        double d;
        switch (i % 4) {
        case 0: ex = u >> 53; break;                         /* anywhere */
        case 1: ex = 1023 - 90 + (u >> 56) % 181; break;     /* around the fast path */
        case 2: ex = (u >> 62) ? 1023 + 53 + (u >> 56) % 150 : (u >> 56) % 4; break; /* big integers; subnormal */
        default: ex = 1023 + (u >> 56) % 64; break;          /* 1 .. 2^64 */
        }
        if (ex > 2046) ex = 2046;
        if ((i & 7) == 3) u &= ~(uint64_t)0 << ((u >> 58) % 52);
        d = bits_d((ex << 52) | (u & 0x800FFFFFFFFFFFFFULL));
        for (prec = 15; prec <= 17; prec++) {
            snprintf(s, sizeof s, "%.*g", prec, d);
            bad += num_vs_strtod(s);
        }
        wbad += writer_differs(d);
        { /* %.17e with random digits before the exponent */
            char *e;
            int k, more = 1 + (int)(rng() % 12);
            snprintf(s, sizeof s, "%.17e", d);
            e = strchr(s, 'e');
            if (e) {
                char tail[16];
                strcpy(tail, e);
                for (k = 0; k < more; k++) *e++ = (i & 16) ? (char)('0' + rng() % 10) : (k == 0 ? '5' : k == more - 1 ? '1' : '0');
                strcpy(e, tail);
                bad += num_vs_strtod(s);
            }
        }
        if (ex >= 1023 + 53 && ex < 1023 + 300) { /* the exact integer, and with a zero fraction */
            int n = snprintf(s, sizeof s, "%.0f", d);
            bad += num_vs_strtod(s);
            if (n > 0 && n < 400) {
                strcpy(s + n, ".000000000000000000000");
                bad += num_vs_strtod(s);
            }
        }
        random_number_text(s);
        bad += num_vs_strtod(s);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(wbad, 0);
}

/* The writer at its longest outputs (24 bytes) and at the ends of the range:
   the exact text, twice in an array (nothing cut or left over), read back. */
static void test_writer_number_extremes(void) {
    static const double d[] = { -2.2250738585072014e-308, -1.7976931348623157e308, -4.9406564584124654e-324,
                                -1.2345678901234567e-100, -0.0, 0.0, 1e22, 1e15, 123456789012345.0,
                                1234567890123456.0, 12345678901234568.0, 2.2250738585072009e-308, 0.001, 1e-5 };
    static const char *want[] = { "-2.2250738585072014e-308", "-1.7976931348623157e+308", "-4.94065645841247e-324",
                                  "-1.2345678901234567e-100", "-0", "0", "1e+22", "1e+15", "123456789012345",
                                  "1234567890123456", "12345678901234568", "2.225073858507201e-308", "0.001", "1e-05" };
    size_t i;
    for (i = 0; i < sizeof d / sizeof d[0]; i++) {
        llm_json_writer w;
        llm_json_value *v;
        const char *t;
        char expect[64];
        size_t n;
        llm_jw_init(&w, NULL);
        llm_jw_array_begin(&w);
        llm_jw_number(&w, d[i]);
        llm_jw_number(&w, d[i]);
        llm_jw_array_end(&w);
        t = llm_jw_text(&w, &n);
        snprintf(expect, sizeof expect, "[%s,%s]", want[i], want[i]);
        CHECK_STR(t, expect);
        v = t ? llm_json_parse(t, n, NULL, NULL) : NULL;
        CHECK(v && v->len == 2 && d_bits(llm_json_double(llm_json_at(v, 0), 1)) == d_bits(d[i]) &&
              d_bits(llm_json_double(llm_json_at(v, 1), 1)) == d_bits(d[i]));
        llm_json_free(v);
        llm_jw_free(&w);
    }
}

/* The decimal used by the slow path (digits, point, and a flag for nonzero
   digits dropped past its 800), shifted by 2^k, against exact arithmetic:
   a * 2^k has the digits of D * 2^k, a / 2^k those of D * 5^k with the
   point k further left; of those the first 800 are kept, the flag set when
   any dropped one is nonzero, trailing zeros trimmed. Short decimals for
   every k in -200..200 and some far ones; decimals of 790..800 digits for
   k in -60..60, where the result outgrows the 800. */
static int dec_shift_differs(const char *digits, int nd, int dp, int shift) {
    static char want[1000];
    int j, wn, wdp, kept, trunc = 0, ok;
    llm__dec a;
    tbig b;
    memset(&a, 0, sizeof a);
    for (j = 0; j < nd; j++) a.d[j] = (unsigned char)(digits[j] - '0');
    a.nd = nd;
    a.dp = dp;
    b.n = 0; /* D */
    for (j = 0; j < nd; j++) {
        tbig_mul(&b, 10);
        if (b.n == 0) { b.n = 1; b.l[0] = 0; }
        b.l[0] += (uint32_t)(digits[j] - '0');
    }
    if (shift >= 0) tbig_mul_pow(&b, 2, shift);
    else tbig_mul_pow(&b, 5, -shift);
    wn = tbig_str(&b, want);
    wdp = wn + dp - nd + (shift < 0 ? shift : 0);
    kept = wn > LLM__DEC_DIGITS ? LLM__DEC_DIGITS : wn;
    for (j = kept; j < wn; j++) if (want[j] != '0') trunc = 1;
    while (kept > 0 && want[kept - 1] == '0') kept--;
    llm__dec_shift(&a, shift);
    ok = a.nd == kept && a.dp == wdp && a.trunc == trunc;
    for (j = 0; ok && j < kept; j++) ok = a.d[j] == want[j] - '0';
    if (!ok)
        fprintf(stderr, "        %d digits %.12s..., point %d, shifted by %d: got %d digits, point %d, trunc %d; "
                "want %d, %d, %d\n", nd, digits, dp, shift, a.nd, a.dp, a.trunc, kept, wdp, trunc);
    return !ok;
}
static void test_dec_shift_exact(void) {
    static const int far[] = { -1000, -601, -600, -599, -361, -360, -300, -241, -240, -239, 239, 240, 241, 300, 600, 1000 };
    static char digits[LLM__DEC_DIGITS + 1];
    int t, bad = 0, k;
    size_t f;
    rng_state = 0x5eed0003;
    for (t = 0; t < 36; t++) {
        int nd = t < 24 ? 1 + (int)(rng() % 30) : LLM__DEC_DIGITS - (int)(rng() % 11), dp = (int)(rng() % 41) - 20, j;
        digits[0] = (char)('1' + rng() % 9);
        for (j = 1; j < nd; j++) digits[j] = (char)('0' + rng() % 10);
        if (t % 3 == 0) digits[nd - 1] = '5';
        if (digits[nd - 1] == '0') digits[nd - 1] = '7';
        if (t % 4 == 1 && nd > 40) memset(digits + 20, '9', (size_t)nd - 30); /* carries run far */
        digits[nd] = '\0';
        if (nd <= 30) {
            for (k = -200; k <= 200; k++)
                if (bad < 5) bad += dec_shift_differs(digits, nd, dp, k);
            for (f = 0; f < sizeof far / sizeof far[0]; f++)
                if (bad < 5) bad += dec_shift_differs(digits, nd, dp, far[f]);
        } else {
            for (k = -60; k <= 60; k++)
                if (bad < 5) bad += dec_shift_differs(digits, nd, dp, k);
        }
    }
    CHECK_INT(bad, 0);
}

/* The decimal's integer part rounded half to even (the mantissa step of
   the slow path): only its nd digits count, whatever the array holds past
   them; "exactly half" means a 5 that is the last digit and no nonzero
   digit was dropped. */
static void test_dec_rounded(void) {
    static const struct { const char *digits; int dp, trunc; uint64_t want; } c[] = {
        { "5", 0, 0, 0 }, { "5", 0, 1, 1 }, { "51", 0, 0, 1 }, { "49", 0, 0, 0 }, { "15", 1, 0, 2 },
        { "25", 1, 0, 2 }, { "25", 1, 1, 3 }, { "35", 1, 0, 4 }, { "251", 1, 0, 3 }, { "2", 1, 0, 2 },
        { "2", 1, 1, 2 }, { "123", 3, 0, 123 }, { "12", 4, 0, 1200 }, { "45035996273705", 16, 0, 4503599627370500ULL },
        { "90071992547409915", 16, 0, 9007199254740992ULL }, { "90071992547409925", 16, 0, 9007199254740992ULL },
        { "90071992547409935", 16, 0, 9007199254740994ULL }, { "1", 20, 0, 10000000000000000000ULL },
        { "1", 21, 0, ~(uint64_t)0 }, { "9", -1, 0, 0 }, { "", 0, 0, 0 },
    };
    size_t i;
    for (i = 0; i < sizeof c / sizeof c[0]; i++) {
        llm__dec a;
        int j, nd = (int)strlen(c[i].digits);
        memset(a.d, 9, sizeof a.d); /* not part of the number */
        for (j = 0; j < nd; j++) a.d[j] = (unsigned char)(c[i].digits[j] - '0');
        a.nd = nd;
        a.dp = c[i].dp;
        a.trunc = c[i].trunc;
        CHECK_MSG(llm__dec_rounded(&a) == c[i].want, "0.%s e%d%s", c[i].digits, c[i].dp, c[i].trunc ? " (truncated)" : "");
    }
}

/* ---- UTF-8 ---- */

/* Length of the well-formed character at s[0..n) (Unicode table 3-7), 0 when
   ill-formed or cut short by n. */
static size_t ref_utf8_char(const unsigned char *s, size_t n) {
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t len, k;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
}
static size_t ref_utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0, k;
    while (i < n && (k = ref_utf8_char(s + i, n - i)) != 0) i += k;
    return i;
}
static size_t enc_utf8(unsigned char *o, unsigned long cp) {
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { o[0] = (unsigned char)(0xC0 | (cp >> 6)); o[1] = (unsigned char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 63));
        o[2] = (unsigned char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 63));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 63));
    o[3] = (unsigned char)(0x80 | (cp & 63));
    return 4;
}

/* The validator against the reference over every first and second byte,
   third and fourth bytes at the continuation range's edges, and every
   length: a character cut by the length is invalid even when the bytes
   after the length would complete it. */
static void test_utf8_validator(void) {
    static const unsigned char tails[] = { 0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xFF };
    unsigned b0, b1, t2, t3;
    size_t n;
    int bad = 0;
    for (b0 = 0; b0 < 256; b0++)
        for (b1 = 0; b1 < 256; b1++)
            for (t2 = 0; t2 < sizeof tails; t2++)
                for (t3 = 0; t3 < sizeof tails; t3++) {
                    unsigned char s[6];
                    if (b0 < 0xE0 && t2 + t3 > 0) continue; /* the tail matters from 3-byte leads on */
                    if (b0 < 0xF0 && t3 > 0) continue;
                    s[0] = (unsigned char)b0; s[1] = (unsigned char)b1; s[2] = tails[t2]; s[3] = tails[t3];
                    s[4] = 'A'; s[5] = 0x80;
                    for (n = 0; n <= 6; n++) {
                        size_t got = llm__utf8_valid(s, n), want = ref_utf8_valid(s, n);
                        if (got != want && bad++ < 5)
                            fprintf(stderr, "        %02x %02x %02x %02x 41 80 / %lu: %lu, want %lu\n", b0, b1, tails[t2],
                                    tails[t3], (unsigned long)n, (unsigned long)got, (unsigned long)want);
                    }
                }
    CHECK_INT(bad, 0);
}

/* Characters at every boundary of the encoding, each whole and cut at the
   end of the input (the bytes that would complete it still in the buffer
   after the length): the parser reads exactly those bytes, rejects the cut
   character as invalid UTF-8 where it starts, and so does the writer. */
static void test_utf8_at_end(void) {
    static const char *chars[] = { "\xc2\x80", "\xc3\xa9", "\xdf\xbf", "\xe0\xa0\x80", "\xe0\xbf\xbf", "\xe1\x80\x80",
                                   "\xec\xbf\xbf", "\xed\x80\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
                                   "\xf0\x90\x80\x80", "\xf0\xbf\xbf\xbf", "\xf1\x80\x80\x80", "\xf3\xbf\xbf\xbf",
                                   "\xf4\x80\x80\x80", "\xf4\x8f\xbf\xbf" };
    size_t i, k;
    for (i = 0; i < sizeof chars / sizeof chars[0]; i++) {
        char doc[16];
        size_t len = strlen(chars[i]), sl;
        llm_json_result r;
        llm_json_value *v;
        const char *s;
        llm_json_writer w;
        snprintf(doc, sizeof doc, "\"%s\"", chars[i]);
        v = llm_json_parse(doc, len + 2, NULL, &r);
        s = llm_json_string(v, &sl);
        CHECK_MSG(s && sl == len && memcmp(s, chars[i], len) == 0, "char %lu whole", (unsigned long)i);
        llm_json_free(v);
        snprintf(doc, sizeof doc, "[\"a%s\"]", chars[i]);
        v = llm_json_parse(doc, len + 5, NULL, &r);
        s = llm_json_string(llm_json_at(v, 0), &sl);
        CHECK_MSG(s && sl == len + 1 && memcmp(s + 1, chars[i], len) == 0, "char %lu in an array", (unsigned long)i);
        llm_json_free(v);
        for (k = 1; k < len; k++) {
            /* "x<cut>" then the rest: ends inside the character */
            snprintf(doc, sizeof doc, "\"x%s\"", chars[i]);
            v = llm_json_parse(doc, 2 + k, NULL, &r);
            CHECK_MSG(v == NULL && r.error == LLM_JSON_ERR_UTF8 && r.offset == 2, "char %lu cut at %lu: %s at %lu",
                      (unsigned long)i, (unsigned long)k, llm_json_error_string(r.error), (unsigned long)r.offset);
            llm_json_free(v);
            CHECK_INT(llm__utf8_valid((const unsigned char *)chars[i], k), 0);
            CHECK_INT(llm__utf8_valid((const unsigned char *)doc + 1, 1 + k), 1);
            llm_jw_init(&w, NULL);
            llm_jw_string_n(&w, chars[i], k);
            CHECK_INT(w.error, LLM_JSON_ERR_UTF8);
            llm_jw_free(&w);
            llm_jw_init(&w, NULL);
            llm_jw_object_begin(&w);
            llm_jw_key_n(&w, doc + 1, 1 + k);
            CHECK_INT(w.error, LLM_JSON_ERR_UTF8);
            llm_jw_free(&w);
        }
        llm_jw_init(&w, NULL);
        llm_jw_string_n(&w, chars[i], len);
        CHECK(llm_jw_text(&w, &sl) && sl == len + 2 && memcmp(llm_jw_text(&w, NULL) + 1, chars[i], len) == 0);
        llm_jw_free(&w);
    }
}

/* Every \u escape of the Basic Multilingual Plane but the surrogates, and
   surrogate pairs across the planes (every boundary, a stride between),
   in one string each: exactly the UTF-8 bytes of each code point, the same
   as the raw bytes give, and the writer's text of them reads back. */
static void test_unicode_escapes(void) {
    static const unsigned long edges[] = { 0x10000, 0x10001, 0x103FF, 0x10400, 0x1FFFF, 0x20000, 0xFFFFF, 0x100000,
                                           0x10FC00, 0x10FFFE, 0x10FFFF, 0x1F600 };
    size_t cap = 0x10000 * 12 + 64, n = 0, rn = 0, en = 0, i, sl;
    char *doc = (char *)malloc(cap), *raw = (char *)malloc(cap);
    unsigned char *want = (unsigned char *)malloc(cap);
    unsigned long cp;
    llm_json_value *v;
    const char *s;
    int round;
    for (round = 0; round < 2; round++) {
        n = rn = en = 0;
        doc[n++] = '"';
        raw[rn++] = '"';
        for (cp = round ? 0x10000 : 0; round ? cp <= 0x10FFFF : cp < 0x10000; cp += round ? 997 : 1) {
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            if (cp < 0x10000) n += (size_t)sprintf(doc + n, (cp & 1) ? "\\u%04lx" : "\\u%04lX", cp);
            else n += (size_t)sprintf(doc + n, "\\u%04lx\\u%04lX", 0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + ((cp - 0x10000) & 0x3FF));
            if (cp >= 0x20 && cp != '"' && cp != '\\') rn += enc_utf8((unsigned char *)raw + rn, cp);
            en += enc_utf8(want + en, cp);
        }
        for (i = 0; round && i < sizeof edges / sizeof edges[0]; i++) {
            cp = edges[i];
            n += (size_t)sprintf(doc + n, "\\u%04lx\\u%04lx", 0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + ((cp - 0x10000) & 0x3FF));
            rn += enc_utf8((unsigned char *)raw + rn, cp);
            en += enc_utf8(want + en, cp);
        }
        doc[n++] = '"';
        raw[rn++] = '"';
        v = llm_json_parse(doc, n, NULL, NULL);
        s = llm_json_string(v, &sl);
        CHECK(s && sl == en && memcmp(s, want, en) == 0);
        if (s && sl == en) { /* where the first difference is, if any */
            for (i = 0; i < en && (unsigned char)s[i] == want[i]; i++) {}
            CHECK_MSG(i == en, "first difference at byte %lu", (unsigned long)i);
        }
        if (s) { /* the writer's text of these bytes reads back the same */
            llm_json_writer w;
            const char *t;
            size_t tl, sl2;
            llm_json_value *v2;
            llm_jw_init(&w, NULL);
            llm_jw_string_n(&w, s, sl);
            t = llm_jw_text(&w, &tl);
            v2 = t ? llm_json_parse(t, tl, NULL, NULL) : NULL;
            CHECK(llm_json_string(v2, &sl2) && sl2 == sl && memcmp(llm_json_string(v2, NULL), s, sl) == 0);
            llm_json_free(v2);
            llm_jw_free(&w);
        }
        llm_json_free(v);
        v = llm_json_parse(raw, rn, NULL, NULL); /* raw bytes: the same but the escaped-only ones */
        s = llm_json_string(v, &sl);
        CHECK(s && sl == rn - 2 && memcmp(s, raw + 1, rn - 2) == 0);
        llm_json_free(v);
    }
    { /* single escapes at the encoding's boundaries, exact bytes */
        static const struct { const char *esc, *bytes; } c[] = {
            { "\\u0000", "" }, { "\\u007f", "\x7f" }, { "\\u0080", "\xc2\x80" }, { "\\u07ff", "\xdf\xbf" },
            { "\\u0800", "\xe0\xa0\x80" }, { "\\u0801", "\xe0\xa0\x81" }, { "\\ud7ff", "\xed\x9f\xbf" },
            { "\\ue000", "\xee\x80\x80" }, { "\\uFFFF", "\xef\xbf\xbf" }, { "\\uD800\\uDC00", "\xf0\x90\x80\x80" },
            { "\\udbff\\udfff", "\xf4\x8f\xbf\xbf" },
        };
        for (i = 0; i < sizeof c / sizeof c[0]; i++) {
            char d[40];
            size_t bl = strlen(c[i].bytes) + (i == 0);
            snprintf(d, sizeof d, "[\"%s\"]", c[i].esc);
            v = llm_json_parse(d, strlen(d), NULL, NULL);
            s = llm_json_string(llm_json_at(v, 0), &sl);
            CHECK_MSG(s && sl == bl && memcmp(s, c[i].bytes, bl) == 0, "%s", c[i].esc);
            llm_json_free(v);
        }
    }
    free(doc);
    free(raw);
    free(want);
}

/* Every byte in a string: printable ASCII (and DEL) stands for itself right
   before the closing quote, before an escape and before a control byte
   (which is then the error); control bytes are errors; bytes from 0x80 on
   are UTF-8's business. */
static void test_string_bytes(void) {
    unsigned b;
    for (b = 0; b < 256; b++) {
        char doc[16];
        llm_json_result r;
        llm_json_value *v;
        const char *s;
        size_t sl;
        if (b == '"' || b == '\\') continue;
        snprintf(doc, sizeof doc, "\"%c\"", (char)b);
        v = llm_json_parse(doc, 3, NULL, &r);
        s = llm_json_string(v, &sl);
        if (b < 0x20) CHECK_MSG(v == NULL && r.error == LLM_JSON_ERR_STRING && r.offset == 1, "byte %02x", b);
        else if (b >= 0x80) CHECK_MSG(v == NULL && r.error == LLM_JSON_ERR_UTF8 && r.offset == 1, "byte %02x", b);
        else CHECK_MSG(s && sl == 1 && (unsigned char)s[0] == b, "byte %02x", b);
        llm_json_free(v);
        if (b < 0x20 || b >= 0x80) continue;
        snprintf(doc, sizeof doc, "[\"%c%c\\n%c\"]", (char)b, (char)b, (char)b);
        v = llm_json_parse(doc, 9, NULL, &r);
        s = llm_json_string(llm_json_at(v, 0), &sl);
        CHECK_MSG(s && sl == 4 && (unsigned char)s[0] == b && (unsigned char)s[1] == b && s[2] == '\n' &&
                  (unsigned char)s[3] == b, "byte %02x before an escape", b);
        llm_json_free(v);
        snprintf(doc, sizeof doc, "\"%c\x01\"", (char)b);
        v = llm_json_parse(doc, 4, NULL, &r);
        CHECK_MSG(v == NULL && r.error == LLM_JSON_ERR_STRING && r.offset == 2, "byte %02x before a control byte", b);
        llm_json_free(v);
        snprintf(doc, sizeof doc, "{\"%c\":\"%c\"}", (char)b, (char)b);
        v = llm_json_parse(doc, 9, NULL, &r);
        CHECK_MSG(v && v->len == 1 && v->items[0].key_len == 1 && (unsigned char)v->items[0].key[0] == b,
                  "byte %02x as a key", b);
        llm_json_free(v);
    }
}

/* Documents cut at every byte, parsed three ways: in place (the rest of the
   text follows in memory), from an exact-size copy (the sanitizers see any
   read past the length) and from a copy followed by other bytes. The three
   agree on the outcome, the error and where; a cut inside a number is
   exactly its value when what is left is a number, else the end of input. */
static void test_cut_documents(void) {
    static const char *docs[] = {
        "-12.5e+7", "0.25E-3", "1e5", "1E-5", "-0", "7", "1.5", "123456789012345678901234e-3", "[1e+2,-3E-4,0.5]",
        "{\"a\":-1.5e+300,\"b\":[true,false,null]}", "\"a\\u00e9\\ud83d\\ude00\\n\\\"\\\\x\"", "\"h\xc3\xa9\xe4\xbd\xa0\xf0\x9f\x98\x80\"",
        "[\"\\ud800\\udc00\",{\"\xc3\xa9\":\"\\/\"}]", "  [ 1 , \"x\" ]  ",
    };
    static const char *junk[] = { "", "+5\"]}", "\x80\x80\x80\"" };
    size_t i, k;
    int j;
    for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        size_t len = strlen(docs[i]);
        for (k = 0; k <= len; k++) {
            llm_json_result r0, r;
            llm_json_value *v0 = llm_json_parse(docs[i], k, NULL, &r0), *v;
            char *copy;
            for (j = 0; j < 3; j++) {
                size_t jl = strlen(junk[j]);
                copy = (char *)malloc(k + jl ? k + jl : 1);
                memcpy(copy, docs[i], k);
                memcpy(copy + k, junk[j], jl);
                v = llm_json_parse(copy, k, NULL, &r);
                CHECK_MSG((v == NULL) == (v0 == NULL) && r.error == r0.error && r.offset == r0.offset,
                          "%s cut at %lu, then %d: %s at %lu vs %s at %lu", docs[i], (unsigned long)k, j,
                          llm_json_error_string(r.error), (unsigned long)r.offset, llm_json_error_string(r0.error),
                          (unsigned long)r0.offset);
                if (v && v0) CHECK(same_tree(v, v0));
                llm_json_free(v);
                free(copy);
            }
            if (i < 8) { /* a bare number */
                if (k && fz_is_json_number(docs[i], k)) {
                    char tmp[64];
                    memcpy(tmp, docs[i], k);
                    tmp[k] = '\0';
                    CHECK_MSG(v0 && d_bits(llm_json_double(v0, 0)) == d_bits(strtod(tmp, NULL)), "%s", tmp);
                } else {
                    CHECK_MSG(v0 == NULL && r0.error == (k ? LLM_JSON_ERR_EOF : LLM_JSON_ERR_EMPTY) && r0.offset == k,
                              "%s cut at %lu: %s at %lu", docs[i], (unsigned long)k, llm_json_error_string(r0.error),
                              (unsigned long)r0.offset);
                }
            }
            llm_json_free(v0);
        }
    }
    /* what follows an exponent's e or sign */
    CHECK_INT(E("[1e+x]", 0), LLM_JSON_ERR_NUMBER);
    CHECK_INT(E("[1ex]", 0), LLM_JSON_ERR_NUMBER);
    CHECK_INT(E("[1e+-1]", 0), LLM_JSON_ERR_NUMBER);
    CHECK_INT(E("[1e+]", 0), LLM_JSON_ERR_NUMBER);
    CHECK_INT(E("1e+", 0), LLM_JSON_ERR_EOF);
    CHECK_INT(E("[1E-0]", 0), LLM_JSON_OK);
}

/* A tree built by hand may leave an object member's key NULL: it is written
   as the empty key, never skipped, never read. */
static void test_writer_null_key(void) {
    llm_json_value items[2], obj;
    llm_json_writer w;
    memset(items, 0, sizeof items);
    memset(&obj, 0, sizeof obj);
    items[0].type = LLM_JSON_NUMBER;
    items[0].str = "1";
    items[0].len = 1;
    items[0].key_len = 5; /* ignored without a key */
    items[1].type = LLM_JSON_STRING;
    items[1].key = "k";
    items[1].key_len = 1;
    items[1].str = "v";
    items[1].len = 1;
    obj.type = LLM_JSON_OBJECT;
    obj.items = items;
    obj.len = 2;
    llm_jw_init(&w, NULL);
    llm_jw_value(&w, &obj);
    CHECK_STR(llm_jw_text(&w, NULL), "{\"\":1,\"k\":\"v\"}");
    llm_jw_free(&w);
}

/* Once a writer has an error, nothing more changes: each misuse leaves the
   text, its length and the nesting exactly as they were before the call
   that failed, and so do the calls after it. */
static void test_writer_error_writes_nothing(void) {
    int k;
    for (k = 0; k < 8; k++) {
        llm_json_writer w;
        char before[64];
        size_t blen;
        int bdepth;
        llm_jw_init(&w, NULL);
        llm_jw_array_begin(&w);
        llm_jw_int(&w, 7);
        if (k <= 1 || k >= 6) { llm_jw_object_begin(&w); if (k == 1) { llm_jw_key(&w, "a"); llm_jw_int(&w, 1); } }
        blen = w.len;
        bdepth = w.depth;
        memcpy(before, w.data, blen + 1);
        switch (k) {
        case 0: case 1: llm_jw_int(&w, 1); break;          /* a value without a key */
        case 2: llm_jw_key(&w, "k"); break;                 /* a key in an array */
        case 3: llm_jw_object_end(&w); break;               /* the wrong closer */
        case 4: llm_jw_string(&w, "ok \xff"); break;        /* invalid UTF-8 */
        case 5: { volatile double big = 1e308; llm_jw_number(&w, big * 10.0); } break; /* inf */
        case 6: llm_jw_object_begin(&w); break;             /* a container without a key */
        default: llm_jw_array_begin(&w); break;
        }
        CHECK_MSG(w.error != 0, "misuse %d", k);
        CHECK_MSG(w.len == blen && w.depth == bdepth && memcmp(w.data, before, blen + 1) == 0,
                  "misuse %d wrote \"%s\" (depth %d) after \"%s\" (depth %d)", k, w.data, w.depth, before, bdepth);
        llm_jw_array_begin(&w);
        llm_jw_int(&w, 2);
        llm_jw_array_end(&w);
        llm_jw_array_end(&w);
        CHECK_MSG(w.len == blen && w.depth == bdepth, "misuse %d: later calls changed the writer", k);
        CHECK(llm_jw_text(&w, NULL) == NULL);
        llm_jw_free(&w);
    }
}

/* The number readers read only v->len bytes of v->str: values built by
   hand over exact-size heap copies (the sanitizers see any byte past them),
   including an empty one at the very end of its buffer. */
static void test_number_readers_bounded(void) {
    static const char *texts[] = { "-", "", "0", "-0", "12", "-12.50", "1e5", "1E+2", "-9223372036854775808", "2.5e-1" };
    size_t i;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t n = strlen(texts[i]);
        char *b = (char *)malloc(n ? n : 1);
        llm_json_value v;
        int64_t iv = 99;
        double d = 99;
        memcpy(b, texts[i], n);
        memset(&v, 0, sizeof v);
        v.type = LLM_JSON_NUMBER;
        v.str = n ? b : b + 1; /* the empty number sits just past its byte */
        if (!n) b[0] = '-';
        v.len = n;
        (void)llm_json_int64(&v, &iv);
        (void)llm_json_number(&v, &d);
        if (i == 4) CHECK(iv == 12 && d == 12.0);
        if (i == 8) CHECK(iv == INT64_MIN);
        if (i == 6) CHECK(iv == 100000 && d == 1e5);
        free(b);
    }
}

/* Structured output as it streams: a JSON text cut anywhere gives the
   document of what is complete, the string being written so far, and
   says which values are still open. */
static char *partial_text(const char *t, size_t n, unsigned flags, int *complete, llm_json_result *res) {
    llm_json_options o;
    llm_json_value *v;
    llm_json_writer w;
    char *out;
    size_t len;
    memset(&o, 0, sizeof o);
    o.flags = flags;
    v = llm_json_parse_partial(t, n, &o, res);
    *complete = -1;
    if (!v) return NULL;
    *complete = llm_json_complete(v, v);
    llm_jw_init(&w, NULL);
    llm_jw_value(&w, v);
    out = strdup(llm_jw_text(&w, &len));
    llm_jw_free(&w);
    llm_json_free(v);
    return out;
}

static void test_partial_documents(void) {
    static const struct { const char *in, *want; int complete; } cases[] = {
        { "{", "{}", 0 },
        { "{\"sa", "{}", 0 },                          /* a key being written */
        { "{\"say\"", "{}", 0 },
        { "{\"say\": ", "{}", 0 },                     /* a key without its value */
        { "{\"say\": \"", "{\"say\":\"\"}", 0 },
        { "{\"say\": \"Hel", "{\"say\":\"Hel\"}", 0 }, /* the string so far */
        { "{\"say\": \"Hel\\", "{\"say\":\"Hel\"}", 0 }, /* an escape cut */
        { "{\"say\": \"Hel\\u00", "{\"say\":\"Hel\"}", 0 },
        { "{\"say\": \"Hel\\u00e9", "{\"say\":\"Hel\xc3\xa9\"}", 0 },
        { "{\"say\": \"a\\ud83d", "{\"say\":\"a\"}", 0 }, /* a surrogate pair cut */
        { "{\"say\": \"a\\ud83d\\ude0", "{\"say\":\"a\"}", 0 },
        { "{\"say\": \"a\\ud83d\\ude00", "{\"say\":\"a\xf0\x9f\x98\x80\"}", 0 },
        { "{\"say\": \"h\xe2\x80", "{\"say\":\"h\"}", 0 }, /* a UTF-8 character cut */
        { "{\"say\": \"hi\"", "{\"say\":\"hi\"}", 0 },
        { "{\"hp\": 1", "{}", 0 },                      /* a number may grow */
        { "{\"hp\": 12,", "{\"hp\":12}", 0 },
        { "{\"hp\": 12 ", "{\"hp\":12}", 0 },
        { "{\"ok\": tr", "{}", 0 },
        { "{\"ok\": true", "{\"ok\":true}", 0 },         /* spelt out: whole */
        { "[1, [2, {\"x\": [", "[1,[2,{\"x\":[]}]]", 0 },
        { "[1, [2]", "[1,[2]]", 0 },
        { "{\"a\": {}}", "{\"a\":{}}", 1 },
        { "{\"a\": {}} \n", "{\"a\":{}}", 1 },
        { "\"ab", "\"ab\"", 0 },                         /* a string at the top */
        { "12", "12", 0 },                               /* a bare number: shown, open */
        { "12 ", "12", 1 },
        { "true", "true", 1 },
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_json_result res;
        int complete;
        char *got = partial_text(cases[i].in, strlen(cases[i].in), 0, &complete, &res);
        CHECK_MSG(got && strcmp(got, cases[i].want) == 0, "%s: got %s, want %s", cases[i].in, got ? got : "NULL", cases[i].want);
        CHECK_MSG(complete == cases[i].complete, "%s: complete %d", cases[i].in, complete);
        CHECK_INT(res.error, LLM_JSON_OK);
        free(got);
    }
}

static void test_partial_nothing_or_never(void) {
    static const struct { const char *in; llm_json_error err; size_t off; } cases[] = {
        { "", LLM_JSON_ERR_EOF, 0 },     /* nothing yet */
        { " \n", LLM_JSON_ERR_EOF, 2 },
        { "-", LLM_JSON_ERR_EOF, 1 },    /* a number being written at the top */
        { "1.", LLM_JSON_ERR_EOF, 2 },
        { "tr", LLM_JSON_ERR_EOF, 2 },
        { "[1, x", LLM_JSON_ERR_SYNTAX, 4 },          /* never JSON: the whole parser's error */
        { "{\"a\": 1} x", LLM_JSON_ERR_TRAILING, 9 },
        { "[01", LLM_JSON_ERR_NUMBER, 2 },
        { "[\"a\xc3(", LLM_JSON_ERR_UTF8, 3 },       /* not a character, even cut */
        { "[\"\xed\xa0", LLM_JSON_ERR_UTF8, 2 },     /* a surrogate's bytes */
        { "[\"\\ud800\\u00", LLM_JSON_ERR_UTF8, 2 },  /* cannot become a low surrogate */
        { "[\"\\ud800x", LLM_JSON_ERR_UTF8, 2 },
        { "[\"a\x01", LLM_JSON_ERR_STRING, 3 },
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_json_result res;
        int complete;
        char *got = partial_text(cases[i].in, strlen(cases[i].in), 0, &complete, &res);
        CHECK_MSG(got == NULL, "%s: got %s", cases[i].in, got);
        CHECK_MSG(res.error == cases[i].err && res.offset == cases[i].off, "%s: %s at %lu", cases[i].in,
                  llm_json_error_string(res.error), (unsigned long)res.offset);
        free(got);
    }
    CHECK(llm_json_parse_partial(NULL, 3, NULL, NULL) == NULL);
}

static void test_partial_options_and_open_path(void) {
    const char *t = "{\"a\": [1, 2], \"b\": {\"c\": \"xy";
    llm_json_value *v = llm_json_parse_partial(t, strlen(t), NULL, NULL);
    const llm_json_value *a, *b, *c;
    llm_json_result res;
    int complete;
    char *got;
    CHECK(v != NULL);
    if (v) {
        a = llm_json_get(v, "a");
        b = llm_json_get(v, "b");
        c = llm_json_path(v, "b.c");
        CHECK(a && b && c);
        CHECK_INT(llm_json_complete(v, v), 0);
        CHECK_INT(llm_json_complete(v, a), 1);          /* closed before the cut */
        CHECK_INT(llm_json_complete(v, &a->items[1]), 1);
        CHECK_INT(llm_json_complete(v, b), 0);          /* the open path: root, b, c */
        CHECK_INT(llm_json_complete(v, c), 0);
        CHECK(c && c->len == 2 && memcmp(c->str, "xy", 2) == 0);
        CHECK_INT(llm_json_complete(v, NULL), 0);
        llm_json_free(v);
    }
    v = llm_json_parse("{\"a\": 1}", 8, NULL, NULL); /* a whole parse is complete everywhere */
    CHECK(v && llm_json_complete(v, v) == 1 && llm_json_complete(v, &v->items[0]) == 1);
    llm_json_free(v);
    /* extensions: a comment or a trailing comma being written */
    got = partial_text("[1, /* x", 8, LLM_JSON_ALLOW_COMMENTS, &complete, &res);
    CHECK_MSG(got && strcmp(got, "[1]") == 0, "%s", got ? got : "NULL");
    free(got);
    got = partial_text("[1] /", 5, LLM_JSON_ALLOW_COMMENTS, &complete, &res);
    CHECK_MSG(got && strcmp(got, "[1]") == 0 && complete == 1, "%s", got ? got : "NULL");
    free(got);
    got = partial_text("{\"a\": 1,", 8, LLM_JSON_ALLOW_TRAILING_COMMAS, &complete, &res);
    CHECK_MSG(got && strcmp(got, "{\"a\":1}") == 0, "%s", got ? got : "NULL");
    free(got);
    got = partial_text("[1] /", 5, 0, &complete, &res); /* no comments: never JSON */
    CHECK(got == NULL && res.error == LLM_JSON_ERR_TRAILING && res.offset == 4);
    free(got);
    /* the depth limit holds while the text arrives */
    {
        llm_json_options o;
        llm_json_value *d;
        memset(&o, 0, sizeof o);
        o.max_depth = 3;
        d = llm_json_parse_partial("[[[", 3, &o, &res);
        CHECK(d != NULL);
        llm_json_free(d);
        CHECK(llm_json_parse_partial("[[[[", 4, &o, &res) == NULL && res.error == LLM_JSON_ERR_DEPTH);
    }
}

/* Every prefix of a text shows a document that agrees with the whole one:
   what is complete is final, a string only grows. (The fuzz harness
   fuzz_json_partial checks this on any input.) */
/* llm_json_at reads objects too: members in order, with their keys. */
static void test_at_reads_objects(void) {
    const char *t = "{\"a\": 1, \"b\": [2, 3]}";
    llm_json_value *v = llm_json_parse(t, strlen(t), NULL, NULL);
    const llm_json_value *m;
    CHECK(v != NULL);
    m = llm_json_at(v, 1);
    CHECK(m && m->key_len == 1 && m->key[0] == 'b' && m->type == LLM_JSON_ARRAY);
    CHECK(llm_json_at(m, 1) && llm_json_double(llm_json_at(m, 1), 0) == 3);
    CHECK(llm_json_at(v, 0) && llm_json_at(v, 0)->key[0] == 'a');
    CHECK(llm_json_at(v, 2) == NULL && llm_json_at(llm_json_at(v, 0), 0) == NULL);
    llm_json_free(v);
}

/* Edges the sampled mutants found unchecked: the last lone low surrogate,
   an integer with a one-digit exponent, a partial number ending in 0. */
static void test_number_and_escape_edges(void) {
    llm_json_result res;
    llm_json_value *v;
    int64_t i = 0;
    v = llm_json_parse("\"\\uDFFF\"", 8, NULL, &res);
    CHECK(v == NULL && res.error == LLM_JSON_ERR_UTF8);
    llm_json_free(v);
    v = llm_json_parse("\"\\uDC00\"", 8, NULL, &res);
    CHECK(v == NULL && res.error == LLM_JSON_ERR_UTF8);
    llm_json_free(v);
    v = llm_json_parse("[5e1, 1E2, 7e0]", 15, NULL, NULL);
    CHECK(v && llm_json_int64(llm_json_at(v, 0), &i) && i == 50);
    CHECK(v && llm_json_int64(llm_json_at(v, 1), &i) && i == 100);
    CHECK(v && llm_json_int64(llm_json_at(v, 2), &i) && i == 7);
    llm_json_free(v);
    v = llm_json_parse_partial("10", 2, NULL, NULL); /* "10" may still become "105" */
    CHECK(v && v->type == LLM_JSON_NUMBER && !llm_json_complete(v, v));
    llm_json_free(v);
    v = llm_json_parse_partial("19", 2, NULL, NULL);
    CHECK(v && !llm_json_complete(v, v));
    llm_json_free(v);
    v = llm_json_parse_partial("10 ", 3, NULL, NULL); /* a space ends it */
    CHECK(v && llm_json_complete(v, v));
    llm_json_free(v);
    { /* a buffer that ends with the number: nothing past its end is read (ASan) */
        char *b = (char *)malloc(6);
        if (b) {
            memcpy(b, "[1, 23", 6);
            v = llm_json_parse_partial(b, 6, NULL, NULL);
            CHECK(v && llm_json_at(v, 0) && !llm_json_complete(v, llm_json_at(v, 1)));
            llm_json_free(v);
            free(b);
        }
    }
    { /* a string cut right after a lead byte: only that byte is looked at,
         whether the buffer ends there (ASan) or goes on with a byte that
         could never follow it */
        static const unsigned char leads[] = { 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4 };
        size_t i;
        for (i = 0; i < sizeof leads; i++) {
            char *b = (char *)malloc(3), more[4];
            if (!b) continue;
            memcpy(b, "\"a", 2);
            b[2] = (char)leads[i];
            v = llm_json_parse_partial(b, 3, NULL, NULL);
            CHECK_MSG(v && v->type == LLM_JSON_STRING && !strcmp(v->str, "a") && !llm_json_complete(v, v),
                      "lead byte %02X at the end", leads[i]);
            llm_json_free(v);
            memcpy(more, b, 3);
            more[3] = (char)0xFF;
            v = llm_json_parse_partial(more, 3, NULL, NULL);
            CHECK_MSG(v && v->type == LLM_JSON_STRING && !strcmp(v->str, "a"), "lead byte %02X, then FF past the end", leads[i]);
            llm_json_free(v);
            free(b);
        }
    }
}

static void test_partial_every_prefix(void) {
    /* raw 2-, 3- and 4-byte characters (U+10FFFF and U+D7FF too: their
       second bytes allow only low values): every cut inside one is held back */
    const char *t = "{\"say\": \"Well met, \\\"traveller\\\" \\u2014 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf \\ud83d\\ude00\", "
                    "\"emotion\": \"wary\", \"hp\": 12, \"tags\": [\"a\", 1.5e3, null, {}]}";
    size_t n = strlen(t), k, said = 0, shown = 0;
    llm_json_value *whole = llm_json_parse(t, n, NULL, NULL);
    const llm_json_value *say = llm_json_get(whole, "say");
    CHECK(whole && say);
    for (k = 0; k <= n && whole && say; k++) {
        llm_json_value *v = llm_json_parse_partial(t, k, NULL, NULL);
        const llm_json_value *s, *e;
        if (!v) { CHECK_MSG(k < 2 && !shown, "prefix %lu: nothing", (unsigned long)k); continue; }
        shown = 1;
        s = llm_json_get(v, "say");
        if (s) {
            CHECK_MSG(s->len >= said && s->len <= say->len && memcmp(s->str, say->str, s->len) == 0,
                      "prefix %lu: say is not a growing prefix of the whole", (unsigned long)k);
            said = s->len;
        }
        e = llm_json_get(v, "emotion");
        if (e) CHECK(e->len == 4 && memcmp(e->str, "wary", 4) == 0 ? 1 : !llm_json_complete(v, e));
        if (llm_json_get(v, "hp")) CHECK_INT(llm_json_double(llm_json_get(v, "hp"), 0), 12);
        if (k == n) CHECK(llm_json_complete(v, v) && llm_json_get(v, "tags")->len == 4);
        llm_json_free(v);
    }
    CHECK(said == say->len);
    llm_json_free(whole);
}

int main(int argc, char **argv) {
    RUN(test_types_and_access);
    RUN(test_at_reads_objects);
    RUN(test_number_and_escape_edges);
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
    RUN(test_number_hard_cases);
    RUN(test_number_long_zero_runs);
    RUN(test_number_halfway_exact);
    RUN(test_number_sweep);
    RUN(test_writer_number_extremes);
    RUN(test_dec_shift_exact);
    RUN(test_dec_rounded);
    RUN(test_utf8_validator);
    RUN(test_utf8_at_end);
    RUN(test_unicode_escapes);
    RUN(test_string_bytes);
    RUN(test_cut_documents);
    RUN(test_writer_null_key);
    RUN(test_number_long_texts);
    RUN(test_writer_error_writes_nothing);
    RUN(test_number_readers_bounded);
    RUN(test_partial_documents);
    RUN(test_partial_nothing_or_never);
    RUN(test_partial_options_and_open_path);
    RUN(test_partial_every_prefix);
    return th_finish("json");
}
