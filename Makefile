# A thin wrapper around CMake. `make run` and `make test` are the whole
# set-up on a fresh Debian machine: they install missing packages first.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60
# `make install`: gm, libgm and the headers, by default where no root is
# needed and ~/.local/bin is often on PATH already.
PREFIX ?= $(HOME)/.local

.PHONY: all deps build install run test sanitize fuzz bench plots beta_sweep \
        unified remedies fashion_gan stacked_fashion clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; \
	 *) echo "$(PREFIX)/bin is not on PATH: add it, e.g." \
	         "echo 'export PATH=\"$(PREFIX)/bin:\$$PATH\"' >> ~/.bashrc" ;; esac

# The flagship experiment: writes runs/gan_vs_vae.h5 and prints its table.
# An earlier runs/gan_vs_vae.h5 is kept, renamed with its creation time.
run: build
	$(BUILD)/gm run experiments/gan_vs_vae.yaml --keep
	$(BUILD)/gm summary runs/gan_vs_vae.h5

# What the suite needs beyond the build: Python's h5py and matplotlib for
# the plot tests, the real Fashion-MNIST for the convolutional WGAN-GP
# test (Debian packages).
TEST_PACKAGES = python3-h5py python3-matplotlib python3-numpy \
                dataset-fashion-mnist

test: build
	@scripts/deps.sh $(TEST_PACKAGES)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The suite again, built with AddressSanitizer and UBSan in build-asan/.
sanitize: deps
	@scripts/deps.sh $(TEST_PACKAGES)
	JOBS=$(JOBS) scripts/sanitize.sh

# The experiment loader under clang's libFuzzer with ASan and UBSan for
# FUZZ_SECONDS, built in build-fuzz/ (tests/fuzz/); fails on any report.
fuzz:
	@scripts/deps.sh clang libclang-rt-14-dev
	JOBS=$(JOBS) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# gm against PyTorch (python3-torch, if installed) and the GEMM-only bound.
bench: build
	BUILD=$(BUILD) bench/run.sh

# Figures of the flagship's run file (after `make run`) in runs/plots/.
plots:
	@test -f runs/gan_vs_vae.h5 || { echo "make plots: no runs/gan_vs_vae.h5" \
	    "yet: 'make run' writes it"; exit 1; }
	@scripts/deps.sh python3-h5py python3-matplotlib python3-numpy
	/usr/bin/python3 analysis/plot_run.py runs/gan_vs_vae.h5 --out runs/plots

# The autoencoder family on Fashion-MNIST (dataset-fashion-mnist; about 15
# minutes with 2 cores): runs/beta_sweep.h5, its table and its figures in
# runs/beta_sweep/.
beta_sweep: build
	@scripts/deps.sh dataset-fashion-mnist python3-h5py python3-matplotlib python3-numpy
	$(BUILD)/gm run experiments/beta_sweep.yaml --force
	/usr/bin/python3 analysis/plot_rate_distortion.py runs/beta_sweep.h5 --out runs/beta_sweep

# The classifier that counts image modes (eval.classifier), trained once:
# experiments/fashion_classifier.yaml -> runs/fashion_classifier.h5.
runs/fashion_classifier.h5:
	@$(MAKE) --no-print-directory build
	@scripts/deps.sh dataset-fashion-mnist
	$(BUILD)/gm run experiments/fashion_classifier.yaml

# Mode collapse on images (docs/results.md): single Fashion-MNIST, and the
# long Stacked Fashion-MNIST experiments (full-size and quarter-size
# discriminators, ali), each after its classifier.
fashion_gan: build runs/fashion_classifier.h5
	$(BUILD)/gm run experiments/fashion_gan.yaml --force
	$(BUILD)/gm summary runs/fashion_gan.h5

stacked_fashion: build runs/fashion_classifier.h5
	$(BUILD)/gm run experiments/stacked_fashion.yaml --force
	$(BUILD)/gm run experiments/stacked_fashion_quarter_d.yaml --force
	$(BUILD)/gm run experiments/stacked_fashion_ali.yaml --force
	$(BUILD)/gm summary runs/stacked_fashion.h5
	$(BUILD)/gm summary runs/stacked_fashion_quarter_d.h5
	$(BUILD)/gm summary runs/stacked_fashion_ali.h5

# Six objectives of the unified view on the ring and on the grid, 10
# seeds each (docs/results.md; about 15 minutes with 2 cores):
# runs/unified.h5, runs/unified_grid.h5 and their tables.
unified: build
	$(BUILD)/gm run experiments/unified.yaml --force
	$(BUILD)/gm run experiments/unified_grid.yaml --force
	$(BUILD)/gm summary runs/unified.h5
	$(BUILD)/gm summary runs/unified_grid.h5

# The remedies for mode collapse (WGAN-GP, the clipped WGAN, R1, PacGAN2,
# the unrolled GAN) beside the GAN, the data-prior GAN and the VAE, on the
# ring and on the grid, 10 seeds each (docs/results.md; under 20 minutes
# with 2 cores): runs/remedies.h5, runs/remedies_grid.h5 and their table.
remedies: build
	$(BUILD)/gm run experiments/remedies.yaml --force
	$(BUILD)/gm run experiments/remedies_grid.yaml --force
	$(BUILD)/gm summary runs/remedies.h5 runs/remedies_grid.h5

clean:
	rm -rf $(BUILD) build-asan build-fuzz
