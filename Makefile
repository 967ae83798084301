# The two commands of README.md, and what they need.
#   make demo   set everything up and run the main job: the lab farm in network namespaces,
#               with client traffic and the live show tables (root; tears itself down)
#   make test   run every test (unit tests; namespace integration tests when root)
SWIFT ?= swift
BUILD_FLAGS ?=
SLB = .build/debug/slb
FARM ?= Farms/vpn-natt.cfg
DEMO_SECONDS ?= 20

.PHONY: setup build demo demo-offline test clean

setup:
	./scripts/setup

build: setup
	$(SWIFT) build $(BUILD_FLAGS)

demo: build
	$(SLB) lab demo --for $(DEMO_SECONDS)

demo-offline: build
	$(SLB) simulate $(FARM) --clients 12

test: setup
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	-$(SLB) lab down --stale
	# --no-parallel: the namespace suites time failovers and probes in seconds; run side by
	# side on 2 cores they starve each other. Serial, the whole suite takes about 6 minutes.
	$(SWIFT) test --skip-build --no-parallel $(BUILD_FLAGS); status=$$?; $(SLB) lab down --stale; exit $$status

clean:
	rm -rf .build
