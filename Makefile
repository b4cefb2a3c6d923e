.PHONY: test lint demo bench venv

test:
	./scripts/test.sh

lint:
	./scripts/lint.sh

# Create/refresh .venv only (no PostgreSQL, no tests).
venv:
	./scripts/test.sh --venv-only

demo: venv
	.venv/bin/rescue demo

bench: venv
	.venv/bin/rescue bench --quick
