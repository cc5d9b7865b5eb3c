# A thin layer over meson + ninja; see README.md.
#   make            build (meson setup $(BUILD) on first use)
#   make demo       two namespaces, a tunnel, iperf3 through it
#   make test       unit tests + network tests (root)
#   make bench      sluice vs plain veth, wireguard-go, openvpn (root)
#   make fuzz       every libFuzzer target for FUZZ_SECONDS each (clang build in build-fuzz)
BUILD ?= build
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
export BUILD

# Prerequisites run in the order written (deps before the build).
.NOTPARALLEL:
.PHONY: all deps demo test bench fuzz clean

all:
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD)
	ninja -C $(BUILD)

deps:
	scripts/deps.sh

demo: deps all
	scripts/demo.sh

test: deps all
	tests/run.sh

bench: deps all
	scripts/deps.sh --bench
	bench/bench.sh

# tests/fuzz.sh builds $(FUZZ_BUILD) and runs each target on a throw-away copy of its seed
# corpus, so the repository's stays small; crashes land in $(FUZZ_BUILD)/artifacts/.
fuzz:
	scripts/deps.sh --fuzz
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz.sh

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) build-asan
