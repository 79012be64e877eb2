# Two commands on a fresh clone: `make demo` and `make test`. Everything else they need is built
# here, so nothing installed by hand is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-bench test-fast lint artifacts system-deps kafka-jars prism \
	flink-job-server flink-dist kafka-io-jar k8s-schemas clean

# torch comes from PyPI as its CUDA build (about 2.7 GB of wheels; it runs on the CPU too). The
# first install downloads it once into pip's cache: about 2.5 minutes on a 2-core machine.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The corrector's language model: an artifact built from packaged text (about a minute, once).
artifacts: $(STAMP)
	$(BIN)/yuqing build corrector-lm

demo: artifacts
	$(BIN)/yuqing demo

# From Debian, when missing: PostgreSQL (the store's tests run against a real server), Maven
# and a Java runtime (Apache Kafka for the broker tests), and Chromium with a Chinese font (the
# dashboard's browser test, and its screenshot's comments).
DEBIAN_DEPS := $(if $(wildcard /usr/lib/postgresql/*/bin/pg_ctl),,postgresql) \
	$(if $(shell command -v mvn),,maven) $(if $(shell command -v java),,default-jre-headless) \
	$(if $(wildcard /usr/bin/chromium),,chromium) \
	$(if $(wildcard /usr/share/fonts/truetype/wqy/wqy-microhei.ttc),,fonts-wqy-microhei)

system-deps:
	@if [ -z "$(strip $(DEBIAN_DEPS))" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_DEPS) >/dev/null; \
	else echo "the tests need: sudo apt-get install $(DEBIAN_DEPS)" >&2; fi

# Apache Kafka's jars from Maven Central (43 MB; ~/.m2 keeps a copy, so a re-fetch is quick), for
# the integration tests and `yuqing broker --kafka`. The version is the pom's kafka.version.
# Copied to a temp dir and renamed, so the main jar's presence means a complete set; Maven keeps
# the jars' old mtimes, hence the touch.
KAFKA_POM := deploy/kafka/pom.xml
KAFKA_VERSION := $(shell sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' $(KAFKA_POM))
KAFKA_LIBS := var/kafka/$(KAFKA_VERSION)/libs
KAFKA_JAR := $(KAFKA_LIBS)/kafka_2.13-$(KAFKA_VERSION).jar

kafka-jars: system-deps $(KAFKA_JAR)

$(KAFKA_JAR): $(KAFKA_POM)
	@command -v mvn >/dev/null || { echo "kafka-jars needs Maven: apt-get install maven" >&2; exit 1; }
	rm -rf $(KAFKA_LIBS).tmp
	mvn -q -B -f $(KAFKA_POM) dependency:copy-dependencies -DoutputDirectory=$(abspath $(KAFKA_LIBS).tmp)
	rm -rf $(KAFKA_LIBS)
	mv $(KAFKA_LIBS).tmp $(KAFKA_LIBS)
	touch $@

# Prism, Beam's portable local runner, built from the Go module proxy at the installed Beam's own
# version (about 1.5 minutes, once) into var/prism/<version>/.
prism: $(STAMP)
	@v=$$($(BIN)/python -c 'import apache_beam; print(apache_beam.__version__)' 2>/dev/null); \
	if [ ! -x var/prism/$$v/prism ]; then \
	  command -v go >/dev/null || { echo "prism needs Go (https://go.dev/dl/)" >&2; exit 1; }; \
	  GOBIN=$(CURDIR)/var/prism/$$v go install github.com/apache/beam/sdks/v2/go/cmd/prism@v$$v; \
	fi

# Beam's Flink job server (Flink 1.19, Beam 2.62.0: the newest Beam whose Flink runner Maven
# Central serves; see the pom), one self-contained jar of about 150 MB assembled with Maven's shade
# plugin (about 2 minutes the first time, ~/.m2 keeps the parts) into var/flink/.
FLINK_POM := deploy/flink/job-server/pom.xml
FLINK_BEAM := $(shell sed -n 's:.*<beam.version>\(.*\)</beam.version>.*:\1:p' $(FLINK_POM))
FLINK_MINOR := $(shell sed -n 's:.*<flink.minor>\(.*\)</flink.minor>.*:\1:p' $(FLINK_POM))
FLINK_JAR := var/flink/beam-runners-flink-$(FLINK_MINOR)-job-server-$(FLINK_BEAM).jar

flink-job-server: system-deps $(FLINK_JAR)

$(FLINK_JAR): $(FLINK_POM)
	@command -v mvn >/dev/null || { echo "flink-job-server needs Maven: apt-get install maven" >&2; exit 1; }
	rm -rf var/flink/build
	mvn -q -B -f $(FLINK_POM) package -Dbuild.dir=$(abspath var/flink/build)
	mv var/flink/build/flink-job-server-1.jar $@
	rm -rf var/flink/build

# For `yuqing bench kafka-read` (and its test): the job server with Beam's KafkaIO and expansion
# service in it, which Beam's cross-language ReadFromKafka needs (about 200 MB; the parts beyond
# the job server's are 15 MB from Maven Central). See devkit/bench/kafka_io/pom.xml.
KAFKA_IO_POM := devkit/bench/kafka_io/pom.xml
KAFKA_IO_JAR := var/flink/beam-kafka-io-flink-$(FLINK_MINOR)-job-server-$(FLINK_BEAM).jar

kafka-io-jar: system-deps $(KAFKA_IO_JAR)

$(KAFKA_IO_JAR): $(KAFKA_IO_POM) $(FLINK_POM)
	@command -v mvn >/dev/null || { echo "kafka-io-jar needs Maven: apt-get install maven" >&2; exit 1; }
	rm -rf var/flink/kafka-io-build
	mvn -q -B -f $(KAFKA_IO_POM) package -Dbuild.dir=$(abspath var/flink/kafka-io-build)
	mv var/flink/kafka-io-build/kafka-io-job-server-1.jar $@
	rm -rf var/flink/kafka-io-build

# A Flink session cluster's jars for the standalone-cluster test (devkit/flink_cluster.py), at the
# job server's Flink minor version. Flink's binary distribution is on no registry reachable here;
# PyFlink's apache-flink-libraries source package on PyPI carries its lib/ (230 MB to download,
# kept in pip's cache), of which the cluster needs flink-dist and the log4j jars (130 MB).
FLINK_DIST_VERSION := 1.19.3
FLINK_DIST_DIR := var/flink/flink-$(FLINK_DIST_VERSION)
FLINK_DIST := $(FLINK_DIST_DIR)/lib/flink-dist-$(FLINK_DIST_VERSION).jar

flink-dist: $(FLINK_DIST)

$(FLINK_DIST): $(STAMP)
	rm -rf var/flink/download $(FLINK_DIST_DIR).tmp
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: -d var/flink/download \
	  apache-flink-libraries==$(FLINK_DIST_VERSION)
	mkdir -p $(FLINK_DIST_DIR).tmp
	tar -xzf var/flink/download/apache-flink-libraries-$(FLINK_DIST_VERSION).tar.gz \
	  -C $(FLINK_DIST_DIR).tmp --strip-components=2 --no-same-owner --wildcards \
	  '*/deps/lib/flink-dist-*.jar' '*/deps/lib/log4j-*.jar'
	rm -rf var/flink/download $(FLINK_DIST_DIR)
	mv $(FLINK_DIST_DIR).tmp $(FLINK_DIST_DIR)
	touch $@

# The FlinkDeployment CRD (its OpenAPI v3 schema) from the Flink Kubernetes Operator's API jar on
# Maven Central, unpacked into var/k8s-schemas/ for tests/deploy/test_manifests.py (seconds; the
# jar is 190 KB). The version is the pom's flink-operator.version. Core kinds need no fetch:
# kubernetes-validate, from the test extra, bundles their schemas.
K8S_POM := deploy/flink/kubernetes/pom.xml
FLINK_OPERATOR := $(shell sed -n 's:.*<flink-operator.version>\(.*\)</flink-operator.version>.*:\1:p' $(K8S_POM))
K8S_SCHEMAS := var/k8s-schemas/flink-kubernetes-operator-$(FLINK_OPERATOR)
FLINK_CRD := $(K8S_SCHEMAS)/META-INF/fabric8/flinkdeployments.flink.apache.org-v1.yml

k8s-schemas: system-deps $(FLINK_CRD)

$(FLINK_CRD): $(K8S_POM)
	@command -v mvn >/dev/null || { echo "k8s-schemas needs Maven: apt-get install maven" >&2; exit 1; }
	rm -rf $(K8S_SCHEMAS)
	mvn -q -B -f $(K8S_POM) dependency:unpack -Dschema.dir=$(abspath $(K8S_SCHEMAS))
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check pipeline crawlers models devkit tests

test: artifacts system-deps kafka-jars prism flink-job-server flink-dist k8s-schemas lint
	$(BIN)/python -m pytest -m "not bench"

# The benches' own checks at a small size (about 6 minutes on 2 cores): the fault bench's four
# rows, the Kafka-reader bench and the pipeline bench on Flink. They re-run scenarios whose
# effect on the job the suite already checks, so `make test` leaves them out.
test-bench: artifacts system-deps kafka-jars prism flink-job-server kafka-io-jar
	$(BIN)/python -m pytest -m bench

test-fast: artifacts
	$(BIN)/python -m pytest -m "not integration and not slow"

clean:
	rm -rf $(VENV) var build *.egg-info
