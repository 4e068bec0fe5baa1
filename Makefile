# Thin wrappers; the scripts are the source of truth (they also work without make).
.PHONY: run test check bench
run:
	./scripts/run
test:
	./scripts/test
check:
	./scripts/check
bench:
	. scripts/_venv.sh dev && .venv/bin/python bench/pipeline.py
