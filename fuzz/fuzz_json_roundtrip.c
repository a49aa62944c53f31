/* libFuzzer harness: parse -> llm_jw_value -> parse gives the same tree.

   Input: byte 0 picks the options exactly as in fuzz_json.c (trailing
   commas, comments, max_depth); the rest is the document. A document the
   parser rejects ends the run. Otherwise, aborting on any difference:
   - the writer succeeds (no sticky error) and its text is strict JSON: a
     parse without extensions, at the deepest limit, accepts it;
   - the second tree equals the first: same types, same number literals
     (the writer copies them verbatim), same string and key bytes, same
     child counts, member order kept (duplicate keys included);
   - writing the second tree gives byte for byte the same text (the writer
     is a function of the tree);
   - the value written twice inside an array through the writer API reads
     back as an array of two equal copies (separators are right). */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "fuzz_util.h"

static void diff_trees(const llm_json_value *a, const llm_json_value *b, const char *where) {
    size_t i;
    if (a->type != b->type) fz_fail("%s: type %d became %d", where, (int)a->type, (int)b->type);
    if ((a->key == NULL) != (b->key == NULL) || a->key_len != b->key_len ||
        (a->key_len && memcmp(a->key, b->key, a->key_len)))
        fz_fail("%s: a key changed", where);
    switch (a->type) {
    case LLM_JSON_NUMBER:
        if (a->len != b->len || memcmp(a->str, b->str, a->len)) fz_fail("%s: number \"%s\" became \"%s\"", where, a->str, b->str);
        break;
    case LLM_JSON_STRING:
        if (a->len != b->len || (a->len && memcmp(a->str, b->str, a->len))) fz_fail("%s: string bytes changed", where);
        break;
    case LLM_JSON_ARRAY:
    case LLM_JSON_OBJECT:
        if (a->len != b->len) fz_fail("%s: %lu children became %lu", where, (unsigned long)a->len, (unsigned long)b->len);
        for (i = 0; i < a->len; i++) diff_trees(&a->items[i], &b->items[i], where);
        break;
    default:
        if (a->len != b->len || b->str != NULL) fz_fail("%s: literal changed", where);
        break;
    }
}

static int depth_of(const llm_json_value *v) {
    int d = 0, k;
    size_t i;
    if (v->type != LLM_JSON_ARRAY && v->type != LLM_JSON_OBJECT) return 0;
    for (i = 0; i < v->len; i++) {
        k = depth_of(&v->items[i]);
        if (k > d) d = k;
    }
    return d + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llm_json_options o, strict;
    llm_json_result res;
    llm_json_value *v, *v2, *v3;
    llm_json_writer w, w2, w3;
    const char *t, *t2, *t3;
    size_t tl, tl2, tl3;
    int k;
    if (size < 1) return 0;
    memset(&o, 0, sizeof o);
    o.flags = data[0] & 3u;
    k = data[0] >> 2;
    o.max_depth = k == 62 ? -1 : k == 63 ? 100000 : k;
    v = llm_json_parse((const char *)data + 1, size - 1, &o, NULL);
    if (!v) return 0;
    memset(&strict, 0, sizeof strict);
    strict.max_depth = LLM_JSON_DEPTH_LIMIT;

    llm_jw_init(&w, NULL);
    llm_jw_value(&w, v);
    t = llm_jw_text(&w, &tl);
    if (!t) fz_fail("the writer failed (error %d) on a parsed tree", w.error);
    FZ_CHECK(t[tl] == '\0' && strlen(t) == tl); /* JSON text never holds a raw NUL */
    v2 = llm_json_parse(t, tl, &strict, &res);
    if (!v2) fz_fail("the written text does not parse: %s at %lu: %.*s", llm_json_error_string(res.error),
                     (unsigned long)res.offset, (int)(tl < 200 ? tl : 200), t);
    diff_trees(v, v2, "parse(write(v))");

    llm_jw_init(&w2, NULL);
    llm_jw_value(&w2, v2);
    t2 = llm_jw_text(&w2, &tl2);
    FZ_CHECK(t2 != NULL);
    if (tl2 != tl || memcmp(t, t2, tl)) fz_fail("writing the same tree twice gave different texts");

    if (depth_of(v) < LLM_JSON_DEPTH_LIMIT) {
        llm_jw_init(&w3, NULL);
        llm_jw_array_begin(&w3);
        llm_jw_value(&w3, v);
        llm_jw_value(&w3, v2);
        llm_jw_array_end(&w3);
        t3 = llm_jw_text(&w3, &tl3);
        FZ_CHECK(t3 != NULL && tl3 == 2 * tl + 3);
        v3 = llm_json_parse(t3, tl3, &strict, &res);
        if (!v3) fz_fail("[v,v] does not parse: %s", llm_json_error_string(res.error));
        FZ_CHECK(v3->type == LLM_JSON_ARRAY && v3->len == 2);
        diff_trees(v, &v3->items[0], "[v,v][0]");
        diff_trees(v, &v3->items[1], "[v,v][1]");
        llm_json_free(v3);
        llm_jw_free(&w3);
    }
    llm_jw_free(&w2);
    llm_jw_free(&w);
    llm_json_free(v2);
    llm_json_free(v);
    return 0;
}
