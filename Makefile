# Entry points for a machine without apt ROS 2: `make demo` and `make test` build .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-done

# DDS traffic stays on this machine, on a domain of its own for each make run.
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export ROS_LOCALHOST_ONLY := 1
ROS_DOMAIN_ID ?= $(shell python3 -c 'import random; print(random.randint(1, 101))')
export ROS_DOMAIN_ID
# The venv holding the ROS 2 wheels is a ROS prefix of its own (apt installs set this in setup.bash).
export AMENT_PREFIX_PATH := $(abspath $(VENV))$(if $(AMENT_PREFIX_PATH),:$(AMENT_PREFIX_PATH))

.PHONY: setup test demo clean

setup: $(STAMP)

$(STAMP): requirements.txt setup.py setup.cfg package.xml scripts/setup_env.sh scripts/build_vision_msgs.sh \
          $(wildcard interfaces/vision_msgs/*.txt interfaces/vision_msgs/*.xml interfaces/vision_msgs/msg/*.msg)
	bash scripts/setup_env.sh $(VENV)
	touch $@

test: setup
	$(PY) -m pytest test -ra

demo: setup
	$(PY) -m deepsort_ros.ros.demo $(if $(MODEL),--model $(MODEL))

clean:
	rm -rf $(VENV) out build install log
