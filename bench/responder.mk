# bench/responder.mk - responder benchmarks (included from bench/local.mk)
