# Two entry points for a fresh machine: `make demo` (the main job) and `make test`.
# Both create .venv on first use. ROS 2 comes from the Kilted pip wheels.

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

# DDS discovery must never leave loopback, and parallel runs must not hear each other.
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export ROS_LOCALHOST_ONLY := 1
export ROS_DOMAIN_ID := $(shell $(PYTHON) -c 'import random; print(random.randint(1, 100))')
export RMW_IMPLEMENTATION ?= rmw_fastrtps_cpp
export PYTHONUNBUFFERED := 1

ROS_WHEELS := ros-rclpy==9.1.2 ros-std-msgs==5.5.1 ros-sensor-msgs==5.5.1 \
	ros-stereo-msgs==5.5.1 ros-geometry-msgs==5.5.1 ros-diagnostic-msgs==5.5.1 \
	ros-rmw-fastrtps-cpp==9.3.3
PY_DEPS := torch==2.13.0 numpy==2.4.6 opencv-python-headless==5.0.0.93 rosbags==0.11.9 \
	scipy==1.17.1 pillow==13.0.0 safetensors==0.8.0 \
	diffusers==0.42.1 transformers==5.23.0 accelerate==1.15.0 \
	tqdm==4.70.1 matplotlib==3.11.2 scikit-image==0.26.0 \
	pyyaml==6.0.3 pytest==9.2.0 hypothesis==6.170.15 setuptools==84.2.1 \
	ros-ament-flake8==0.19.2 flake8==7.5.0 flake8-import-order==0.19.2 flake8-quotes==3.4.0

# Only for comparing with the official SAV code (bench-sav, test/golden/make_sav_golden.py).
UPSTREAM_DEPS := einops==0.8.2 easydict==1.14 unfoldNd==0.2.3 opt_einsum==3.4.0

.PHONY: demo test bench bench-sav bench-stage1 bench-stage2 clean

$(VENV)/.installed: setup.py package.xml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(PY_DEPS) $(ROS_WHEELS)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

demo: $(VENV)/.installed
	$(PY) -m stereo_any_video_ros.demo $(ARGS)

test: $(VENV)/.installed
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) bench/bench_node_overhead.py $(ARGS)

$(VENV)/.upstream-deps: $(VENV)/.installed
	$(PY) -m pip install --quiet $(UPSTREAM_DEPS)
	touch $@

# UPSTREAM: the folder that contains a `stereoanyvideo` checkout of TomTomTommi/stereoanyvideo.
bench-sav: $(VENV)/.upstream-deps
	@test -n "$(UPSTREAM)" || { echo 'set UPSTREAM=/path/containing/stereoanyvideo'; exit 2; }
	$(PY) $(or $(BENCH),bench/bench_sav.py) --upstream $(UPSTREAM) $(ARGS)

# StereoDiff stage 1: time per frame (BENCH=bench/bench_stage1_memory.py: memory vs length).
bench-stage1: $(VENV)/.installed
	$(PY) $(or $(BENCH),bench/bench_stage1.py) $(ARGS)

# StereoDiff stage 2: time per frame (BENCH=bench/bench_stereodiff_memory.py: memory vs length).
bench-stage2: $(VENV)/.installed
	$(PY) $(or $(BENCH),bench/bench_stage2.py) $(ARGS)

clean:
	rm -rf $(VENV) demo_output bench_output .pytest_cache .hypothesis *.egg-info
