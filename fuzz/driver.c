/* Replays inputs through a harness without libFuzzer, so every harness also
   builds with gcc (or plain clang) and its corpus and regressions run under
   ASan/UBSan in CI:  driver PATH...  where each PATH is a file or a
   directory (its regular files, sorted, recursively).

   An argument --prefix=XX (two hex digits) puts byte XX before every input
   of the paths that follow it (--prefix= alone: none again). The JSON
   harnesses read their options from the first byte, so files written for
   another purpose (JSONTestSuite) replay whole and strict with
   --prefix=00.

   Each input is copied into a heap block of exactly its size, as libFuzzer
   does, so an over-read by one byte is caught. A harness that finds a bug
   aborts; so do the sanitizers (abort_on_error is made their default
   below): a SIGABRT handler then names the failing file. A PATH that does
   not exist is an error (exit 2): a replay that silently replays nothing
   would prove nothing. FUZZ_VERBOSE=1 names every input as it runs. */
#if !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long n_inputs;
static int verbose;
static const char *current; /* the input being replayed */
static int prefix = -1;     /* byte put before each input, or -1 */

/* Sanitizer reports end in abort(), so the handler below runs for them too.
   Unused (and harmless) in a build without sanitizers. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__asan_default_options(void) { return "abort_on_error=1"; }
const char *__ubsan_default_options(void) { return "abort_on_error=1:print_stacktrace=1:halt_on_error=1"; }

static void on_abort(int sig) {
    static const char pre[] = "\ndriver: failing input: ";
    ssize_t rc = 0;
    if (current) {
        rc = write(2, pre, sizeof pre - 1);
        rc = write(2, current, strlen(current));
        rc = write(2, "\n", 1);
    }
    (void)rc;
    signal(sig, SIG_DFL);
    raise(sig);
}

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    if (!f) { fprintf(stderr, "driver: cannot open %s\n", path); return 0; }
    for (;;) {
        size_t got;
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 4096;
            unsigned char *nb = (unsigned char *)realloc(buf, nc);
            if (!nb) { free(buf); fclose(f); fprintf(stderr, "driver: out of memory reading %s\n", path); return 0; }
            buf = nb;
            cap = nc;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    fclose(f);
    { /* exactly len bytes (at least one allocated byte for an empty input) */
        size_t pl = prefix >= 0 ? 1 : 0;
        unsigned char *exact = (unsigned char *)malloc(len + pl ? len + pl : 1);
        if (!exact) { free(buf); fprintf(stderr, "driver: out of memory\n"); return 0; }
        if (pl) exact[0] = (unsigned char)prefix;
        if (len) memcpy(exact + pl, buf, len);
        len += pl;
        free(buf);
        if (verbose) fprintf(stderr, "driver: %s (%lu bytes)\n", path, (unsigned long)len);
        current = path;
        LLVMFuzzerTestOneInput(exact, len);
        current = NULL;
        free(exact);
    }
    n_inputs++;
    return 1;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path, int top) {
    struct stat st;
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int ok = 1;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "driver: %s: no such file or directory\n", path);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) return S_ISREG(st.st_mode) || top ? run_file(path) : 1;
    d = opendir(path);
    if (!d) { fprintf(stderr, "driver: cannot open directory %s\n", path); return 0; }
    while ((de = readdir(d)) != NULL) {
        size_t pl = strlen(path), nl = strlen(de->d_name);
        char *full;
        if (de->d_name[0] == '.') continue; /* ., .., hidden files */
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nn = (char **)realloc(names, nc * sizeof *names);
            if (!nn) { ok = 0; break; }
            names = nn;
            cap = nc;
        }
        full = (char *)malloc(pl + nl + 2);
        if (!full) { ok = 0; break; }
        memcpy(full, path, pl);
        full[pl] = '/';
        memcpy(full + pl + 1, de->d_name, nl + 1);
        names[n++] = full;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (i = 0; i < n; i++) {
        if (ok && !run_path(names[i], 0)) ok = 0;
        free(names[i]);
    }
    free(names);
    return ok;
}

int main(int argc, char **argv) {
    int i, ok = 1;
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    signal(SIGABRT, on_abort);
    if (argc < 2) {
        fprintf(stderr, "usage: %s [--prefix=XX] FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--prefix=", 9)) {
            const char *h = argv[i] + 9;
            char *end;
            long v = strtol(h, &end, 16);
            if (!*h) { prefix = -1; continue; }
            if (*end || v < 0 || v > 255) { fprintf(stderr, "driver: bad %s (want --prefix=XX)\n", argv[i]); return 2; }
            prefix = (int)v;
            continue;
        }
        if (!run_path(argv[i], 1)) ok = 0;
    }
    printf("%s: replayed %ld inputs\n", argv[0], n_inputs);
    return ok ? 0 : 2;
}
