/* libFuzzer harness: llm_json_parse_partial against the whole parse, on
   every prefix (a differential test of structured output as it streams).

   Input: byte 0 picks the options exactly as in fuzz_json.c (trailing
   commas, comments, max_depth); the rest is the text T. F = llm_json_parse
   (T). For each prefix T[0, k) tested (every k for texts up to 2048 bytes;
   beyond, the first and last 256 and every 7th), P = parse_partial(T[0, k)),
   aborting when:
   - F is a document and P fails with anything but ERR_EOF (every prefix of
     a JSON text is the beginning of one);
   - P is a document that does not agree with F: a value P marks complete
     (llm_json_complete) equals F's value at its place (types, literals,
     string and key bytes, children); a value still open has F's type, a
     string (or a top-level number) holds a prefix of F's bytes, an open
     container has at most F's children, keys equal, only its last child
     open;
   - once an object or array text has shown a document, a longer prefix
     shows none (a host never loses what it saw);
   - at k = |T|, P differs from F, or P says complete where F can still grow
     (a bare number at the very end) or the other way round;
   - F failed at offset O with anything but ERR_EOF / ERR_EMPTY, and a
     prefix no longer than O fails (everything before O is a valid start),
     or P of the whole text fails otherwise than F (same error and offset;
     only a character, surrogate pair or comment opener cut by the very end
     may read as ERR_EOF there: cut_by_end);
   - F failed with ERR_EOF or ERR_EMPTY (a text that is only a beginning),
     and some prefix fails with anything but ERR_EOF. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "fuzz_util.h"

static void same_tree(const llm_json_value *a, const llm_json_value *b, const char *where) {
    size_t i;
    if (a->type != b->type) fz_fail("%s: type %d, whole %d", where, (int)a->type, (int)b->type);
    if (a->key_len != b->key_len || (a->key_len && memcmp(a->key, b->key, a->key_len)))
        fz_fail("%s: a key differs", where);
    if (a->type == LLM_JSON_ARRAY || a->type == LLM_JSON_OBJECT) {
        if (a->len != b->len) fz_fail("%s: %lu children, whole %lu", where, (unsigned long)a->len, (unsigned long)b->len);
        for (i = 0; i < a->len; i++) same_tree(&a->items[i], &b->items[i], where);
    } else if (a->len != b->len || (a->len && memcmp(a->str, b->str, a->len))) {
        fz_fail("%s: value bytes differ", where);
    }
}

/* p (of the partial document proot) agrees with f (of the whole one). */
static void agrees(const llm_json_value *proot, const llm_json_value *p, const llm_json_value *f, int top) {
    size_t i;
    if (llm_json_complete(proot, p)) { same_tree(p, f, "complete value"); return; }
    if (p->type != f->type) fz_fail("open value: type %d, whole %d", (int)p->type, (int)f->type);
    if (p->key_len != f->key_len || (p->key_len && memcmp(p->key, f->key, p->key_len))) fz_fail("open value: key differs");
    switch (p->type) {
    case LLM_JSON_NUMBER:
        if (!top) fz_fail("an open number inside a container");
        /* fall through */
    case LLM_JSON_STRING:
        if (p->len > f->len || (p->len && memcmp(p->str, f->str, p->len))) fz_fail("open string: not a prefix of the whole");
        break;
    case LLM_JSON_ARRAY:
    case LLM_JSON_OBJECT:
        if (p->len > f->len) fz_fail("open container: %lu children, whole %lu", (unsigned long)p->len, (unsigned long)f->len);
        for (i = 0; i < p->len; i++) {
            if (i + 1 < p->len && !llm_json_complete(proot, &p->items[i])) fz_fail("open child before the last");
            agrees(proot, &p->items[i], &f->items[i], 0);
        }
        break;
    default:
        fz_fail("an open literal");
    }
}

/* The whole parse's errors a cut at the very end can give where the partial
   parse sees a beginning: a character or surrogate pair cut (UTF8), a '/'
   that may open a comment (SYNTAX, or TRAILING after the value). */
static int cut_by_end(llm_json_error e) {
    return e == LLM_JSON_ERR_UTF8 || e == LLM_JSON_ERR_SYNTAX || e == LLM_JSON_ERR_TRAILING;
}

static int tested(size_t k, size_t n) { return n <= 2048 || k < 256 || k + 256 > n || k % 7 == 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llm_json_options o;
    llm_json_result fr, pr;
    llm_json_value *f, *p;
    const char *t;
    size_t n, k, first = 0;
    int shown = 0, container, d;
    if (size < 1) return 0;
    memset(&o, 0, sizeof o);
    o.flags = data[0] & 3u;
    d = data[0] >> 2;
    o.max_depth = d == 62 ? -1 : d == 63 ? 100000 : d;
    t = (const char *)data + 1;
    n = size - 1;
    f = llm_json_parse(t, n, &o, &fr);
    if (f) FZ_CHECK(llm_json_complete(f, f) == 1 && llm_json_complete(f, NULL) == 0);
    while (first < n && (t[first] == ' ' || t[first] == '\t' || t[first] == '\r' || t[first] == '\n')) first++;
    container = first < n && (t[first] == '{' || t[first] == '[');
    for (k = 0; k <= n; k++) {
        if (!tested(k, n)) continue;
        p = llm_json_parse_partial(t, k, &o, &pr);
        if (!p) {
            if (f || fr.error == LLM_JSON_ERR_EOF || fr.error == LLM_JSON_ERR_EMPTY || k <= fr.offset) {
                if (pr.error != LLM_JSON_ERR_EOF)
                    fz_fail("prefix %lu of %lu: %s at %lu, yet it begins %s", (unsigned long)k, (unsigned long)n,
                            llm_json_error_string(pr.error), (unsigned long)pr.offset,
                            f ? "a JSON text" : "the text up to its first error");
                if (shown && container && (f || k <= fr.offset))
                    fz_fail("prefix %lu: a document was shown, now none", (unsigned long)k);
            }
            if (k == n && !f && fr.error != LLM_JSON_ERR_EOF && fr.error != LLM_JSON_ERR_EMPTY) {
                int cut_end = pr.error == LLM_JSON_ERR_EOF && cut_by_end(fr.error);
                if (!cut_end && (pr.error != fr.error || pr.offset != fr.offset))
                    fz_fail("the whole text: partial says %s at %lu, whole %s at %lu", llm_json_error_string(pr.error),
                            (unsigned long)pr.offset, llm_json_error_string(fr.error), (unsigned long)fr.offset);
            }
            if (k == n && f) {
                /* nothing shown for a whole text: only a bare number can be unsure... and it is shown */
                fz_fail("the whole text parses, the partial parse shows nothing");
            }
            continue;
        }
        if (pr.error != LLM_JSON_OK) fz_fail("a document with error %d", (int)pr.error);
        shown = 1;
        if (!f) {
            /* a beginning of a text that fails later: agreement has no whole
               tree to compare with; the partial tree must still be sound */
            if (fr.error != LLM_JSON_ERR_EOF && fr.error != LLM_JSON_ERR_EMPTY && k > fr.offset && k == n &&
                !cut_by_end(fr.error))
                fz_fail("the whole text fails (%s) but its partial parse shows a document", llm_json_error_string(fr.error));
            llm_json_free(p);
            continue;
        }
        agrees(p, p, f, 1);
        if (k == n) {
            int grows = f->type == LLM_JSON_NUMBER && n && t[n - 1] >= '0' && t[n - 1] <= '9';
            same_tree(p, f, "at the end");
            if (llm_json_complete(p, p) != !grows) fz_fail("at the end: complete=%d", llm_json_complete(p, p));
        }
        llm_json_free(p);
    }
    llm_json_free(f);
    return 0;
}
