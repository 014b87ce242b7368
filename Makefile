# `make run` indexes corpus/ and serves the assistant; `make test` runs every test. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := llm,model,smallmodel,slack,eval,test
BASE_EXTRAS := model,smallmodel,slack,eval,test

.PHONY: install run test eval benchmark clean

install: $(VENV)/.installed

# torch goes in first and pinned: a plain dependency on torch would pull a multi-GB CUDA build.
# llama.cpp is built for the CPU's vector units named one by one rather than -march=native: a native build on a
# CPU that reports AMX, in a VM whose kernel does not grant AMX state, dies with "Illegal instruction" at the
# first generation. AVX-512 where /proc/cpuinfo shows it reads prompts about 1.5x faster than AVX2 alone.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	$(shell grep -qw avx512_vnni /proc/cpuinfo 2>/dev/null && echo -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON) \
	$(shell grep -qw avx512vbmi /proc/cpuinfo 2>/dev/null && echo -DGGML_AVX512_VBMI=ON) \
	$(shell grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null && echo -DGGML_AVX512_BF16=ON) \
	$(shell grep -qw avx_vnni /proc/cpuinfo 2>/dev/null && echo -DGGML_AVX_VNNI=ON)
# Everything but llama.cpp, whose source build takes about 13 minutes on 2 cores: `make run` serves on this and
# builds llama.cpp in the background; the server answers extractively until the local model can load.
$(VENV)/.base-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[$(BASE_EXTRAS)]'
	$(BIN)/python -m rag.models
	touch $@

$(VENV)/.installed: $(VENV)/.base-installed
	CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --disable-pip-version-check -e '.[$(EXTRAS)]'
	touch $@

run: $(VENV)/.base-installed
	$(BIN)/rag ingest corpus/
	test -f $(VENV)/.installed || (echo "building llama.cpp in the background (log: $(VENV)/llm-build.log); answers are extractive until it is ready"; \
		nohup $(MAKE) --no-print-directory $(VENV)/.installed > $(VENV)/llm-build.log 2>&1 &)
	$(BIN)/rag serve --host 127.0.0.1 --port 8000

test: install
	# The web page test drives Debian's chromium (Playwright never downloads a browser).
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)
	$(BIN)/python -m pytest

eval: install
	$(BIN)/rag ingest corpus/
	$(BIN)/rag eval --llm extractive --tatqa --financebench
	for suite in evals/guosen_holdout*.jsonl evals/guosen_blind*.jsonl; do $(BIN)/rag eval --llm extractive --suite $$suite || exit 1; done

benchmark: install
	$(BIN)/python benchmarks/ingest_search.py

clean:
	rm -rf $(VENV) .rag
