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

# Each target runs on a throw-away copy of its seed corpus, so the repository's stays small;
# crashes land in $(FUZZ_BUILD)/artifacts/.
fuzz:
	scripts/deps.sh --fuzz
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
		-Dtests=false -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	@mkdir -p $(FUZZ_BUILD)/artifacts; n=0; failed=; \
	for bin in $(FUZZ_BUILD)/fuzz/fuzz_*; do \
		[ -f "$$bin" ] && [ -x "$$bin" ] || continue; \
		name=$${bin##*/fuzz_}; n=$$((n + 1)); \
		work=$$(mktemp -d /tmp/sluice-fuzz-$$name.XXXXXX); \
		if [ -d fuzz/corpus/$$name ]; then cp -R fuzz/corpus/$$name/. $$work/; fi; \
		if $$bin -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts/$$name- $$work >$$work.log 2>&1; then \
			execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$work.log); \
			echo "fuzz_$$name: $${execs:-?} executions in $(FUZZ_SECONDS) s, no crash"; \
			rm -f $$work.log; \
		else \
			tail -n 40 $$work.log; failed="$$failed fuzz_$$name"; \
			echo "fuzz_$$name: FAILED (log $$work.log; input in $(FUZZ_BUILD)/artifacts/)"; \
		fi; \
		rm -rf $$work; \
	done; \
	if [ $$n -eq 0 ]; then echo "no fuzz targets in $(FUZZ_BUILD)/fuzz"; exit 1; fi; \
	if [ -n "$$failed" ]; then echo "crashed:$$failed"; exit 1; fi

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
