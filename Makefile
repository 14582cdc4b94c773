# Quick start: `make demo` and `make test`. Both install what is missing, then build.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps build test test-asan demo clean

deps:
	@bash scripts/install_deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@bash scripts/test_assets.sh
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The server under load (32 streaming clients, disconnects) and non-streaming clients that hang up,
# built with AddressSanitizer + UBSan.
test-asan: deps
	@cmake -S . -B $(BUILD)-asan -G Ninja -DM3_CUDA=OFF -DM3_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS) --target m3 test_server_load
	@cd $(BUILD)-asan && ctest --output-on-failure -R "ServerLoad.ConcurrentStreams|ServerDisconnect"

demo: build
	@bash scripts/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD)
