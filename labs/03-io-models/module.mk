# labs/03-io-models: one HTTP/1.1 service, three I/O models (blocking threads,
# epoll, io_uring) on the same sans-I/O core (io/http) and the same routes (iom.c).
IOM_SRCS := labs/03-io-models/iom.c

PROGS += server-blocking server-epoll server-uring
server-blocking_SRCS := labs/03-io-models/server_blocking.c $(IOM_SRCS)
server-epoll_SRCS    := labs/03-io-models/server_epoll.c $(IOM_SRCS)
server-uring_SRCS    := labs/03-io-models/server_uring.c $(IOM_SRCS)
server-uring_LIBS     = $(shell pkg-config --libs liburing)

PKGS += liburing
DEPS_APT += liburing-dev wrk nginx-light curl python3 strace gnuplot-nox
