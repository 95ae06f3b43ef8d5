# labs/06-job-queue: the queued job pipeline (Celery-style) on streams and consumer groups:
# build/bin/upload publishes jobs, build/bin/worker consumes them per service.
PROGS += upload worker
upload_SRCS := labs/06-job-queue/upload.c labs/06-job-queue/rc.c
worker_SRCS := labs/06-job-queue/worker.c labs/06-job-queue/rc.c

DEPS_APT += redis-server redis-tools python3 python3-celery python3-redis
