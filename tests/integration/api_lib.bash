# api_lib.bash -- the couponq-api helpers (start_api, wait_healthy, issue,
# get, raw, scard) now live in tests/lib.sh with the rest of the harness;
# this file stays, empty, for tests that still source it.
