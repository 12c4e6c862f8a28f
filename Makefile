# A thin wrapper around CMake. `make run` and `make test` are the whole
# set-up on a fresh Debian machine: they install missing packages first.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build run test sanitize bench clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/gm --version

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The suite again, built with AddressSanitizer and UBSan in build-asan/.
sanitize: deps
	JOBS=$(JOBS) scripts/sanitize.sh

bench: build
	$(BUILD)/bench/bench_mlp_step

clean:
	rm -rf $(BUILD) build-asan
