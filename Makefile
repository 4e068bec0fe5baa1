# Thin wrappers; the scripts are the source of truth (they also work without make).
.PHONY: run test check bench
run:
	./scripts/run
test:
	./scripts/test
check:
	./scripts/check
bench:
	MIMAMORI_EXTRAS=dev . scripts/_venv.sh && .venv/bin/python bench/pipeline.py
