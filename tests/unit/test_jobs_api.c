/* test_jobs_api: routing, query strings, every bad-input class of POST /jobs, and
 * the SSE event text of the jobs service. */
#include "labs/jobs/jobs_api.h"

#include <criterion/criterion.h>
#include <string.h>

static struct jobs_route route(const char *t)
{
    struct jobs_route r;
    jobs_route(t, strlen(t), &r);
    return r;
}

Test(jobs_api, routes)
{
    cr_assert_eq(route("/").ep, EP_INDEX);
    cr_assert_eq(route("/jobs").ep, EP_JOBS);
    cr_assert_eq(route("/events").ep, EP_EVENTS);
    cr_assert_eq(route("/events?x=1").ep, EP_EVENTS);
    cr_assert_eq(route("/ws?room=lab").ep, EP_WS);
    cr_assert_eq(route("/stats").ep, EP_STATS);
    struct jobs_route r = route("/jobs/42?wait=5&since=3");
    cr_assert_eq(r.ep, EP_JOB);
    cr_assert_eq(r.job, 42);
    r = route("/jobs/7/events");
    cr_assert_eq(r.ep, EP_JOB_EVENTS);
    cr_assert_eq(r.job, 7);
    cr_assert_eq(route("/jobs/abc").job, 0);
    cr_assert_eq(route("/jobs/99999999999999999999").job, 0);
    cr_assert_eq(route("/jobs/-1").job, 0);
    cr_assert_eq(route("/jobs/1/other").job, 0);
    cr_assert_eq(route("/nope").ep, EP_NOT_FOUND);
    cr_assert_eq(route("/eventsx").ep, EP_NOT_FOUND);
}

Test(jobs_api, query)
{
    struct jobs_route r = route("/jobs/1?wait=10&since=3&room=");
    char v[8];
    cr_assert_eq(jobs_query(&r, "wait", v, sizeof(v)), 2);
    cr_assert_str_eq(v, "10");
    cr_assert_eq(jobs_query(&r, "since", v, sizeof(v)), 1);
    cr_assert_str_eq(v, "3");
    cr_assert_eq(jobs_query(&r, "room", v, sizeof(v)), 0);
    cr_assert_eq(jobs_query(&r, "wai", v, sizeof(v)), -1);
    cr_assert_eq(jobs_query(&r, "x", v, sizeof(v)), -1);
    r = route("/jobs/1?since=123456789");
    cr_assert_eq(jobs_query(&r, "since", v, sizeof(v)), -2, "too long for the buffer");
    r = route("/jobs/1");
    cr_assert_eq(jobs_query(&r, "since", v, sizeof(v)), -1);
    uint64_t n;
    cr_assert_eq(jobs_parse_num("300", 3, 300, &n), 0);
    cr_assert_eq(n, 300);
    cr_assert_eq(jobs_parse_num("301", 3, 300, &n), -1);
    cr_assert_eq(jobs_parse_num("", 0, 300, &n), -1);
    cr_assert_eq(jobs_parse_num("1x", 2, 300, &n), -1);
}

static int post(const char *body, struct jobs_post *p, char *err)
{
    return jobs_parse_post(body, strlen(body), p, err, 200);
}

Test(jobs_api, post_body)
{
    struct jobs_post p;
    char err[200];
    cr_assert_eq(post("{\"work_ms\": 500}", &p, err), 0);
    cr_assert_eq(p.work_ms, 500);
    cr_assert_str_eq(p.callback, "");
    cr_assert_eq(post("{\"work_ms\":1,\"callback\":\"http://127.0.0.1:8080/h\"}", &p, err), 0);
    cr_assert_str_eq(p.callback, "http://127.0.0.1:8080/h");
    cr_assert_eq(post("{\"work_ms\":1,\"callback\":null}", &p, err), 0);
    cr_assert_eq(post("{\"work_ms\":2.0}", &p, err), 0, "an integral number is fine");

    cr_assert_eq(post("", &p, err), 400);
    cr_assert_eq(post("{\"work_ms\": 10", &p, err), 400);
    cr_assert(strstr(err, "malformed JSON at byte offset"), "%s", err);
    cr_assert_eq(post("{'work_ms': 10}", &p, err), 400);
    cr_assert_eq(post("{\"work_ms\": 10,}", &p, err), 400);
    cr_assert_eq(post("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
                      "]]]]]]]]]]]]",
                      &p, err),
                 400, "depth bounded");

    cr_assert_eq(post("[1]", &p, err), 422);
    cr_assert_str_eq(err, "body must be a JSON object");
    cr_assert_eq(post("{}", &p, err), 422);
    cr_assert_str_eq(err, "work_ms is required");
    cr_assert_eq(post("{\"work_ms\": 0}", &p, err), 422);
    cr_assert(strstr(err, "1..600000"), "%s", err);
    cr_assert_eq(post("{\"work_ms\": 600001}", &p, err), 422);
    cr_assert_eq(post("{\"work_ms\": -5}", &p, err), 422);
    cr_assert_eq(post("{\"work_ms\": 1.5}", &p, err), 422);
    cr_assert_eq(post("{\"work_ms\": \"10\"}", &p, err), 422);
    cr_assert_eq(post("{\"work_ms\": 99999999999999999999999}", &p, err), 422);
    cr_assert_eq(post("{\"work_ms\": 1, \"callback\": 5}", &p, err), 422);
    cr_assert_eq(post("{\"work_ms\": 1, \"callback\": \"https://x/\"}", &p, err), 422);
    cr_assert_eq(post("{\"work_ms\": 1, \"callback\": \"http://127.0.0.1:1/\\u0000\"}", &p, err),
                 422);
}

Test(jobs_api, sse_text)
{
    struct job_event ev = {.id = 17, .job = 3, .version = 4, .state = JOB_RUNNING, .progress = 20};
    char buf[256];
    int n = sse_event(buf, sizeof(buf), &ev);
    cr_assert_str_eq(buf, "id: 17\ndata: {\"id\":\"3\",\"status\":\"running\",\"progress\":20,"
                          "\"version\":4}\n\n");
    cr_assert_eq(n, (int)strlen(buf));
    cr_assert_geq(sse_event(buf, 20, &ev), 20, "truncation is reported");
}
