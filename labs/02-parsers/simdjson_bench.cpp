// simdjson-bench: the JSON reference row of the parsers bench (simdjson, Debian
// libsimdjson-dev, DOM API: it builds its tape, like our parser builds its DOM).
// Same output line as parse-bench:  json simdjson decode BYTES NS_PER_OP MB_PER_S
//   simdjson-bench [--ms N] [--runs N] [--iters N] FILE
// --iters N parses exactly N times in one run (for callgrind: instructions per byte).
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static const char usage[] =
    "usage: simdjson-bench [--ms N] [--runs N] [--iters N] FILE\n"
    "  parses FILE with simdjson (DOM), best of the runs, in ns per parse\n"
    "  --ms N      time per run (default 200)\n"
    "  --runs N    runs (default 5)\n"
    "  --iters N   a fixed count of parses, one run (default: as many as --ms allows)\n"
    "  --help\n";

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "simdjson-bench: error: %s%s\ntry 'simdjson-bench --help'\n", what, arg);
    return 2;
}

int main(int argc, char **argv)
{
    int ms = 200, runs = 5;
    long fixed = 0;
    const char *file = nullptr;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) { fputs(usage, stdout); return 0; }
        else if (!strcmp(argv[i], "--ms") && i + 1 < argc) ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) fixed = atol(argv[++i]), runs = 1;
        else if (argv[i][0] != '-') file = argv[i];
        else return usage_error("unknown option or missing value: ", argv[i]);
    }
    if (!file) return usage_error("a FILE is required", "");
    if (runs < 1) return usage_error("--runs wants 1 or more", "");
    simdjson::padded_string json;
    if (simdjson::padded_string::load(file).get(json)) { fprintf(stderr, "simdjson-bench: cannot read %s\n", file); return 2; }
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(json).get(doc)) { fprintf(stderr, "simdjson-bench: %s is invalid\n", file); return 1; }
    std::vector<double> res;
    for (int k = 0; k < runs; k++) {
        long iters = 0;
        auto t0 = std::chrono::steady_clock::now();
        double el;
        do {
            auto err = parser.parse(json).error();
            if (err) return 1;
            iters++;
            el = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        } while (fixed ? iters < fixed : el < ms * 1e6);
        res.push_back(el / iters);
    }
    std::sort(res.begin(), res.end());
    double med = runs % 2 ? res[runs / 2] : (res[runs / 2 - 1] + res[runs / 2]) / 2;
    printf("json simdjson decode %zu %.1f %.1f\n", json.size(), med, json.size() / med * 1e3);
    return 0;
}
