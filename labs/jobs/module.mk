# labs/jobs: the jobs service behind the request-response, short/long polling,
# SSE and push labs (build/bin/jobs-server).  NOTES.md describes it.
JOBS_CORE_SRCS := labs/jobs/job_event.c labs/jobs/job_table.c labs/jobs/waiters.c \
                  labs/jobs/webhook.c labs/jobs/jobs_api.c

UNIT_TESTS += test_jobs test_jobs_webhook test_jobs_api
test_jobs_SRCS := tests/unit/test_jobs.c $(JOBS_CORE_SRCS)
test_jobs_LIBS = $(shell pkg-config --libs libcrypto)
test_jobs_webhook_SRCS := tests/unit/test_jobs_webhook.c $(JOBS_CORE_SRCS)
test_jobs_webhook_LIBS = $(shell pkg-config --libs libcrypto)
test_jobs_api_SRCS := tests/unit/test_jobs_api.c $(JOBS_CORE_SRCS)
test_jobs_api_LIBS = $(shell pkg-config --libs libcrypto)

PKGS += libcrypto
DEPS_APT += libssl-dev curl python3
