# The two commands of README.md, and what they need.
#   make demo   set everything up and run the main job on the embedded default farm
#   make test   run every test (unit tests; namespace integration tests when root)
SWIFT ?= swift
BUILD_FLAGS ?=
FARM ?= Farms/vpn-natt.cfg

.PHONY: setup build demo test clean

setup:
	./scripts/setup

build: setup
	$(SWIFT) build $(BUILD_FLAGS)

demo: build
	$(SWIFT) run $(BUILD_FLAGS) slb simulate $(FARM) --clients 12 --show conns reals vservers

test: setup
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	$(SWIFT) test --skip-build $(BUILD_FLAGS)

clean:
	rm -rf .build
