#!/usr/bin/env bash
# Provision and run real servers on loopback (127.0.0.1 only) for lineguard's
# integration tests: Apache Kafka (KRaft, single node), InfluxDB 1.8 and Mosquitto.
#
#   scripts/test-services.sh install [kafka|influxdb|mosquitto|all]  provision (idempotent, cached)
#   scripts/test-services.sh start   [kafka|influxdb|mosquitto|all]  install if missing, start, wait healthy
#   scripts/test-services.sh stop    [kafka|influxdb|mosquitto|all]  SIGTERM, wait, then SIGKILL
#   scripts/test-services.sh kill    kafka|influxdb|mosquitto|all    SIGKILL at once (crash tests)
#   scripts/test-services.sh status  [kafka|influxdb|mosquitto|all]  running/stopped per service
#   scripts/test-services.sh env                                     export lines for the tests
#
# Environment:
#   LINEGUARD_CACHE                   downloaded/built artifacts (default ~/.cache/lineguard)
#   LINEGUARD_SERVICES_DIR            data dirs, logs, pid files (default <repo>/.services)
#   LINEGUARD_KAFKA_PORT              Kafka PLAINTEXT listener (default 39092)
#   LINEGUARD_KAFKA_CONTROLLER_PORT   Kafka KRaft controller listener (default 39093)
#   LINEGUARD_KAFKA_SASL_PORT         Kafka SASL_PLAINTEXT listener, SCRAM-SHA-256/512 (default 39094)
#   LINEGUARD_KAFKA_SSL_PORT          Kafka SASL_SSL listener, SCRAM-SHA-256/512 over TLS; server
#                                     certificate signed by a test CA made with the JDK's keytool
#                                     into <services dir>/kafka/tls (ca.pem) (default 39095)
#   LINEGUARD_INFLUX_PORT             InfluxDB HTTP API (default 38086)
#   LINEGUARD_INFLUX_RPC_PORT         InfluxDB backup/restore RPC service (default 38088)
#   LINEGUARD_MQTT_PORT               Mosquitto listener (default 31883)
#   LINEGUARD_INFLUX_FLUX             true|false: Flux (/api/v2/query); costs ~2.5 s CPU at
#                                     influxd start-up (default true)
#   LINEGUARD_KAFKA_START_TIMEOUT     seconds (default 90)
#   LINEGUARD_INFLUX_START_TIMEOUT    seconds (default 60)
#
# Human-readable progress goes to stdout; failures (with the last 30 log lines)
# go to stderr and exit non-zero.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

CACHE_DIR="${LINEGUARD_CACHE:-$HOME/.cache/lineguard}"
SERVICES_DIR="${LINEGUARD_SERVICES_DIR:-$REPO_ROOT/.services}"
HOST=127.0.0.1

KAFKA_VERSION=3.9.2
KAFKA_SCALA=2.13
SLF4J_VERSION=1.7.36
MVN_DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1
KAFKA_PORT="${LINEGUARD_KAFKA_PORT:-39092}"
KAFKA_CONTROLLER_PORT="${LINEGUARD_KAFKA_CONTROLLER_PORT:-39093}"
# SASL_PLAINTEXT listener with SCRAM-SHA-256/512 for credential tests (user below).
KAFKA_SASL_PORT="${LINEGUARD_KAFKA_SASL_PORT:-39094}"
# SASL_SSL listener: the same SCRAM user over TLS, server certificate from a test CA (kafka/tls).
KAFKA_SSL_PORT="${LINEGUARD_KAFKA_SSL_PORT:-39095}"
# Test-only keystore password of the generated PKCS12 stores (not a secret: loopback test broker).
KAFKA_TLS_STOREPASS=lineguard-test-store
# Test-only credentials for the loopback servers (Kafka SCRAM user, InfluxDB admin user).
TEST_USER=lineguard
TEST_PASSWORD=lineguard-secret
# base64url("lineguard-test-1"): any 16-byte value works as a KRaft cluster id.
KAFKA_CLUSTER_ID=bGluZWd1YXJkLXRlc3QtMQ
KAFKA_START_TIMEOUT="${LINEGUARD_KAFKA_START_TIMEOUT:-90}"
KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"

INFLUX_VERSION=1.8.10
INFLUX_PORT="${LINEGUARD_INFLUX_PORT:-38086}"
INFLUX_RPC_PORT="${LINEGUARD_INFLUX_RPC_PORT:-38088}"
INFLUX_START_TIMEOUT="${LINEGUARD_INFLUX_START_TIMEOUT:-60}"
INFLUX_FLUX="${LINEGUARD_INFLUX_FLUX:-true}"
INFLUX_DATABASES=(lineguard lineguard_test)
INFLUX_HOME="$CACHE_DIR/influxdb-$INFLUX_VERSION"
INFLUX_BIN="$INFLUX_HOME/bin/influxd"

MQTT_PORT="${LINEGUARD_MQTT_PORT:-31883}"

ALL_SERVICES=(mosquitto influxdb kafka)

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
KEYTOOL="${JAVA_HOME:+$JAVA_HOME/bin/}keytool"

# ---------------------------------------------------------------- helpers

log() { printf '[services] %s\n' "$*"; }
err() { printf '[services] %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

now() { local t="$EPOCHREALTIME"; echo "${t/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
past() { awk -v d="$1" -v b="$(now)" 'BEGIN { exit !(b >= d) }'; }
deadline_in() { awk -v s="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b + s }'; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

svc_dir() { echo "$SERVICES_DIR/$1"; }
pid_file() { echo "$SERVICES_DIR/$1/$1.pid"; }
log_file() { echo "$SERVICES_DIR/$1/$1.log"; }

# The config path is on every daemon's command line: it tells our process
# (for this services dir) apart from a recycled pid or another checkout's.
config_file() {
  case "$1" in
    kafka) echo "$SERVICES_DIR/kafka/server.properties" ;;
    influxdb) echo "$SERVICES_DIR/influxdb/influxdb.conf" ;;
    mosquitto) echo "$SERVICES_DIR/mosquitto/mosquitto.conf" ;;
  esac
}

service_port() {
  case "$1" in
    kafka) echo "$KAFKA_PORT" ;;
    influxdb) echo "$INFLUX_PORT" ;;
    mosquitto) echo "$MQTT_PORT" ;;
  esac
}

# Alive and not a zombie.
pid_alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ -n "$stat" && "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# Prints the pid of the running service; removes a stale pid file.
service_pid() {
  local svc="$1" pf pid cmdline
  pf="$(pid_file "$svc")"
  [[ -f "$pf" ]] || return 1
  pid="$(cat "$pf" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid"; then
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    if [[ "$cmdline" == *"$(config_file "$svc")"* ]]; then
      echo "$pid"
      return 0
    fi
  fi
  rm -f "$pf"
  return 1
}

port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

show_log_tail() {
  local f="$1"
  if [[ -s "$f" ]]; then
    err "---- last 30 lines of $f ----"
    tail -n 30 "$f" >&2 || true
    err "---- end of $f ----"
  else
    err "(log $f is empty or missing)"
  fi
}

# Starts a daemon detached from this shell and records its pid: own session,
# stdin from /dev/null, output to its log, and no other inherited fd (our
# locks, or a caller's pipe that would otherwise stay open for its lifetime).
launch() {
  local svc="$1"
  shift
  local logf
  logf="$(log_file "$svc")"
  [[ -f "$logf" ]] && mv -f "$logf" "$logf.prev"
  printf '==== %s starting: %s\n' "$(date -Is)" "$*" >"$logf"
  (
    for fd in /proc/self/fd/*; do
      fd="${fd##*/}"
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec nohup setsid "$@" >>"$logf" 2>&1 </dev/null
  ) &
  echo "$!" >"$(pid_file "$svc")"
}

# Clean stop: SIGTERM, wait up to $2 s, then SIGKILL.
stop_pid() {
  local pid="$1" grace="$2" deadline
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline="$(deadline_in "$grace")"
  while pid_alive "$pid"; do
    if past "$deadline"; then
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10
      return 1
    fi
    sleep 0.2
  done
  wait_gone "$pid" 10
  return 0
}

# Waits (up to $2 s) until pid $1 has fully exited. A multi-threaded process
# shows its leader as a zombie while other threads still tear down (and still
# hold its sockets), so "zombie" only counts once a single task is left.
wait_gone() {
  local deadline tasks
  deadline="$(deadline_in "$2")"
  while ! past "$deadline"; do
    if ! pid_alive "$1"; then
      tasks="$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
      ((tasks <= 1)) && return 0
    fi
    sleep 0.1
  done
}

# Fails the start of $1: stops the half-started process, prints the log tail.
start_failed() {
  local svc="$1" msg="$2" pid
  err "$svc: FAILED to start: $msg"
  show_log_tail "$(log_file "$svc")"
  if pid="$(service_pid "$svc")"; then
    stop_pid "$pid" 10 || true
    rm -f "$(pid_file "$svc")"
  fi
  exit 1
}

service_ports() {
  case "$1" in
    kafka) echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT $KAFKA_SASL_PORT $KAFKA_SSL_PORT" ;;
    influxdb) echo "$INFLUX_PORT $INFLUX_RPC_PORT" ;;
    mosquitto) echo "$MQTT_PORT" ;;
  esac
}

# Waits up to $2 s until nothing listens on the ports of service $1.
wait_ports_closed() {
  local p deadline
  deadline="$(deadline_in "$2")"
  for p in $(service_ports "$1"); do
    while port_open "$p"; do
      past "$deadline" && return 1
      sleep 0.2
    done
  done
}

ensure_ports_free() {
  local svc="$1" p
  # A process that was just stopped or killed may still be releasing them.
  wait_ports_closed "$svc" 10 && return 0
  for p in $(service_ports "$svc"); do
    if port_open "$p"; then
      die "$svc: port $HOST:$p is already in use by another process (not started by this script for $SERVICES_DIR); stop it or override the port"
    fi
  done
}

as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# Serialise concurrent invocations (e.g. parallel test files).
lock_services() {
  mkdir -p "$SERVICES_DIR"
  exec 9>"$SERVICES_DIR/.lock"
  flock -w 600 9 || die "timed out waiting for lock $SERVICES_DIR/.lock"
}

lock_cache() {
  mkdir -p "$CACHE_DIR"
  exec 8>"$CACHE_DIR/.lock"
  flock -w 1800 8 || die "timed out waiting for lock $CACHE_DIR/.lock"
}

# ---------------------------------------------------------------- kafka

kafka_installed() { [[ -f "$KAFKA_HOME/.installed" ]]; }

install_kafka() {
  kafka_installed && return 0
  command -v "$JAVA" >/dev/null 2>&1 || die "kafka: java not found (need a JDK/JRE 11+)"
  command -v mvn >/dev/null 2>&1 || die "kafka: mvn not found (apt-get install maven)"
  local t0 buildlog tmp
  t0="$(now)"
  log "kafka: installing Apache Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_HOME"
  mkdir -p "$KAFKA_HOME"
  cat >"$KAFKA_HOME/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by lineguard scripts/test-services.sh: runtime classpath of a KRaft broker + CLI tools. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>lineguard.test</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- broker (kafka.Kafka, kafka.tools.StorageTool, ConsoleProducer); pulls kafka-server,
         kafka-storage, kafka-metadata, kafka-raft, kafka-clients, scala-library ... -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_$KAFKA_SCALA</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- CLI tools: org.apache.kafka.tools.TopicCommand, ...tools.consumer.ConsoleConsumer -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
      </exclusions>
    </dependency>
    <!-- logging backend (log4j 1.x API, configured with -Dlog4j.configuration) -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>$SLF4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  buildlog="$CACHE_DIR/kafka-$KAFKA_VERSION-install.log"
  tmp="$KAFKA_HOME/jars.tmp"
  rm -rf "$tmp"
  if ! mvn -B -q -f "$KAFKA_HOME/pom.xml" "$MVN_DEP_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$buildlog" 2>&1; then
    err "kafka: FAILED to fetch jars with maven"
    show_log_tail "$buildlog"
    exit 1
  fi
  [[ -f "$tmp/kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar" ]] || die "kafka: maven did not produce kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar (see $buildlog)"
  rm -rf "$KAFKA_HOME/jars"
  mv "$tmp" "$KAFKA_HOME/jars"
  touch "$KAFKA_HOME/.installed"
  log "kafka: installed $KAFKA_VERSION ($(find "$KAFKA_HOME/jars" -name '*.jar' | wc -l) jars, $(since "$t0") s)"
}

write_kafka_config() {
  local dir
  dir="$(svc_dir kafka)"
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
# Generated by scripts/test-services.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://$HOST:$KAFKA_SASL_PORT,SASL_SSL://$HOST:$KAFKA_SSL_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,SASL_PLAINTEXT://$HOST:$KAFKA_SASL_PORT,SASL_SSL://$HOST:$KAFKA_SSL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
# TLS of the SASL_SSL listener: server certificate (SAN IP:$HOST, DNS:localhost) signed by the test CA.
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$dir/tls/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$KAFKA_TLS_STOREPASS
listener.name.sasl_ssl.ssl.key.password=$KAFKA_TLS_STOREPASS
listener.name.sasl_ssl.ssl.client.auth=none
log.dirs=$dir/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
# After a SIGKILL the restarted broker must wait for its old registration's
# session to expire before it is unfenced (default 9 s): keep crash tests fast.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=4
EOF
  cat >"$dir/log4j.properties" <<'EOF'
# Quiet broker logging: warnings and errors, plus the startup/shutdown lines.
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.Kafka=INFO
EOF
  cat >"$dir/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

# A Kafka CLI class with the cached jars: "${KAFKA_TOOL[@]}" CLASS ARGS...
# (an array, not a function, so that it also works under `timeout`).
KAFKA_TOOL=("$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$SERVICES_DIR/kafka/tools-log4j.properties"
  -cp "$KAFKA_HOME/jars/*")

# The test CA and the broker's server certificate, once per services dir (keytool from the JDK):
#   kafka/tls/ca.p12 (CA key), ca.pem (what clients trust), broker.p12 (broker key + chain).
# Written to a temp dir and renamed, so an interrupted run never leaves half a set.
kafka_tls_ready() {
  local t
  t="$(svc_dir kafka)/tls"
  [[ -s "$t/ca.pem" && -s "$t/broker.p12" && -f "$t/.complete" ]]
}

make_kafka_tls() {
  kafka_tls_ready && return 0
  command -v "$KEYTOOL" >/dev/null 2>&1 || die "kafka: keytool not found (it comes with the JDK that runs Kafka)"
  local dir tls tmp kt pw t0
  t0="$(now)"
  dir="$(svc_dir kafka)"
  tls="$dir/tls"
  mkdir -p "$dir"
  rm -rf "$tls" "$dir"/tls.tmp.*
  tmp="$(mktemp -d "$dir/tls.tmp.XXXXXX")"
  pw="$KAFKA_TLS_STOREPASS"
  kt=("$KEYTOOL" -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC)
  if ! {
    "${kt[@]}" -genkeypair -alias ca -keyalg RSA -keysize 2048 -validity 3650 \
      -dname "CN=LineGuard Test CA, O=LineGuard tests" -ext bc:c=ca:true -ext KU=keyCertSign,cRLSign \
      -keystore "$tmp/ca.p12" -storetype PKCS12 -storepass "$pw" -keypass "$pw" &&
      "${kt[@]}" -exportcert -rfc -alias ca -keystore "$tmp/ca.p12" -storepass "$pw" -file "$tmp/ca.pem" &&
      "${kt[@]}" -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 \
        -dname "CN=$HOST, O=LineGuard tests" \
        -keystore "$tmp/broker.p12" -storetype PKCS12 -storepass "$pw" -keypass "$pw" &&
      "${kt[@]}" -certreq -alias broker -keystore "$tmp/broker.p12" -storepass "$pw" -file "$tmp/broker.csr" &&
      "${kt[@]}" -gencert -rfc -alias ca -keystore "$tmp/ca.p12" -storepass "$pw" -validity 3650 \
        -ext "SAN=IP:$HOST,DNS:localhost" -ext KU=digitalSignature,keyEncipherment -ext EKU=serverAuth \
        -infile "$tmp/broker.csr" -outfile "$tmp/broker.pem" &&
      "${kt[@]}" -importcert -noprompt -alias ca -file "$tmp/ca.pem" \
        -keystore "$tmp/broker.p12" -storepass "$pw" &&
      "${kt[@]}" -importcert -alias broker -file "$tmp/broker.pem" \
        -keystore "$tmp/broker.p12" -storepass "$pw"
  } >"$tmp/keytool.log" 2>&1; then
    err "kafka: FAILED to create the test CA and broker certificate with keytool"
    show_log_tail "$tmp/keytool.log"
    exit 1
  fi
  touch "$tmp/.complete"
  mv "$tmp" "$tls"
  log "kafka: test CA and broker certificate created in $tls ($(since "$t0") s)"
}

start_kafka() {
  local t0 pid dir logf deadline
  t0="$(now)"
  dir="$(svc_dir kafka)"
  logf="$(log_file kafka)"
  if pid="$(service_pid kafka)" && port_open "$KAFKA_PORT" && port_open "$KAFKA_SSL_PORT" && kafka_tls_ready; then
    log "kafka: already running on $HOST:$KAFKA_PORT (pid $pid)"
    return 0
  fi
  if [[ -n "${pid:-}" ]]; then
    # Alive but not answering (or started without the SASL_SSL listener): restart it rather than guess.
    log "kafka: pid $pid is not answering on $HOST:$KAFKA_PORT/$KAFKA_SSL_PORT, restarting it"
    stop_pid "$pid" 30 || true
    rm -f "$(pid_file kafka)"
  fi
  install_kafka
  ensure_ports_free kafka
  make_kafka_tls
  write_kafka_config

  if [[ ! -f "$dir/data/meta.properties" ]]; then
    if ! "${KAFKA_TOOL[@]}" kafka.tools.StorageTool format --ignore-formatted \
      -t "$KAFKA_CLUSTER_ID" -c "$dir/server.properties" >"$dir/format.log" 2>&1; then
      err "kafka: FAILED to format the KRaft log dir $dir/data"
      show_log_tail "$dir/format.log"
      exit 1
    fi
  fi

  launch kafka "$JAVA" -Xms512m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$dir/log4j.properties" -Dkafka.logs.dir="$dir" \
    -cp "$KAFKA_HOME/jars/*" kafka.Kafka "$dir/server.properties"
  pid="$(cat "$(pid_file kafka)")"

  deadline="$(deadline_in "$KAFKA_START_TIMEOUT")"
  until port_open "$KAFKA_PORT" && port_open "$KAFKA_SSL_PORT" && grep -q 'Kafka Server started' "$logf"; do
    pid_alive "$pid" || start_failed kafka "process $pid exited"
    past "$deadline" && start_failed kafka "not healthy after ${KAFKA_START_TIMEOUT}s"
    sleep 0.3
  done
  # The broker must answer a metadata request (admin client lists topics).
  until timeout 30 "${KAFKA_TOOL[@]}" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$HOST:$KAFKA_PORT" --list >/dev/null 2>"$dir/health.log"; do
    pid_alive "$pid" || start_failed kafka "process $pid exited"
    past "$deadline" && start_failed kafka "does not answer metadata requests after ${KAFKA_START_TIMEOUT}s ($(tail -n 3 "$dir/health.log" | tr '\n' ' '))"
    sleep 1
  done
  # The SCRAM test user, once per data dir.
  if [[ ! -f "$dir/data/.scram-user" ]]; then
    # One mechanism per request: Kafka refuses two credentials of one user in the same request.
    for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
      if ! timeout 60 "${KAFKA_TOOL[@]}" kafka.admin.ConfigCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
        --alter --entity-type users --entity-name "$TEST_USER" \
        --add-config "$mech=[password=$TEST_PASSWORD]" >"$dir/scram.log" 2>&1; then
        start_failed kafka "could not create the $mech user ($(tail -n 3 "$dir/scram.log" | tr '\n' ' '))"
      fi
    done
    touch "$dir/data/.scram-user"
  fi
  log "kafka: started on $HOST:$KAFKA_PORT (SASL_PLAINTEXT $KAFKA_SASL_PORT, SASL_SSL $KAFKA_SSL_PORT; $(since "$t0") s)"
}

# ---------------------------------------------------------------- influxdb

install_influxdb() {
  [[ -x "$INFLUX_BIN" ]] && return 0
  command -v go >/dev/null 2>&1 || die "influxdb: go not found (need Go to build influxd $INFLUX_VERSION)"
  local t0 buildlog tmp
  t0="$(now)"
  log "influxdb: building influxd $INFLUX_VERSION with go install (takes ~1-2 min cold)"
  mkdir -p "$INFLUX_HOME"
  buildlog="$CACHE_DIR/influxdb-$INFLUX_VERSION-build.log"
  tmp="$(mktemp -d "$INFLUX_HOME/bin.tmp.XXXXXX")"
  # InfluxDB's go.mod has no replace directives, so a plain module-mode
  # `go install pkg@version` works. GOTOOLCHAIN=local: never download a toolchain.
  if ! GOBIN="$tmp" GOTOOLCHAIN=local GO111MODULE=on go install \
    -ldflags "-s -w -X main.version=$INFLUX_VERSION -X main.branch=1.8 -X main.commit=v$INFLUX_VERSION" \
    "github.com/influxdata/influxdb/cmd/influxd@v$INFLUX_VERSION" >"$buildlog" 2>&1; then
    rm -rf "$tmp"
    err "influxdb: FAILED to build influxd $INFLUX_VERSION"
    show_log_tail "$buildlog"
    exit 1
  fi
  mkdir -p "$INFLUX_HOME/bin"
  mv -f "$tmp/influxd" "$INFLUX_BIN"
  rm -rf "$tmp"
  log "influxdb: installed $("$INFLUX_BIN" version 2>/dev/null || echo "influxd $INFLUX_VERSION") ($(since "$t0") s)"
}

write_influx_config() {
  local dir
  dir="$(svc_dir influxdb)"
  mkdir -p "$dir/meta" "$dir/data" "$dir/wal"
  cat >"$dir/influxdb.conf" <<EOF
# Generated by scripts/test-services.sh; rewritten on every start.
reporting-disabled = true
bind-address = "$HOST:$INFLUX_RPC_PORT"

[meta]
  dir = "$dir/meta"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  index-version = "inmem"
  query-log-enabled = false
  trace-logging-enabled = false

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = true

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "$HOST:$INFLUX_PORT"
  auth-enabled = true
  log-enabled = false
  suppress-write-log = true
  write-tracing = false
  flux-enabled = $INFLUX_FLUX
  flux-log-enabled = false
  pprof-enabled = false

[logging]
  format = "logfmt"
  level = "warn"
  suppress-logo = true

[continuous_queries]
  log-enabled = false
EOF
}

influx_http() { # METHOD PATH [curl args...] -> prints HTTP status
  local method="$1" path="$2"
  shift 2
  curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X "$method" "$@" \
    "http://$HOST:$INFLUX_PORT$path" 2>/dev/null || true
}

start_influxdb() {
  local t0 pid dir deadline db code
  t0="$(now)"
  dir="$(svc_dir influxdb)"
  command -v curl >/dev/null 2>&1 || die "influxdb: curl not found (apt-get install curl)"
  if pid="$(service_pid influxdb)" && [[ "$(influx_http GET /ping)" == 204 ]]; then
    log "influxdb: already running on $HOST:$INFLUX_PORT (pid $pid)"
    return 0
  fi
  if [[ -n "${pid:-}" ]]; then
    log "influxdb: pid $pid is not answering on $HOST:$INFLUX_PORT, restarting it"
    stop_pid "$pid" 15 || true
    rm -f "$(pid_file influxdb)"
  fi
  install_influxdb
  ensure_ports_free influxdb
  write_influx_config
  launch influxdb "$INFLUX_BIN" run -config "$dir/influxdb.conf"
  pid="$(cat "$(pid_file influxdb)")"

  deadline="$(deadline_in "$INFLUX_START_TIMEOUT")"
  until [[ "$(influx_http GET /ping)" == 204 ]]; do
    pid_alive "$pid" || start_failed influxdb "process $pid exited"
    past "$deadline" && start_failed influxdb "GET /ping did not answer 204 after ${INFLUX_START_TIMEOUT}s"
    sleep 0.2
  done
  # Auth is on: the first admin user may be created without credentials; later starts find it.
  code="$(influx_http POST /query -u "$TEST_USER:$TEST_PASSWORD" \
    --data-urlencode "q=CREATE USER $TEST_USER WITH PASSWORD '$TEST_PASSWORD' WITH ALL PRIVILEGES")"
  [[ "$code" == 200 ]] || start_failed influxdb "CREATE USER $TEST_USER answered HTTP $code"
  for db in "${INFLUX_DATABASES[@]}"; do
    code="$(influx_http POST /query -u "$TEST_USER:$TEST_PASSWORD" --data-urlencode "q=CREATE DATABASE $db")"
    [[ "$code" == 200 ]] || start_failed influxdb "CREATE DATABASE $db answered HTTP $code"
  done
  log "influxdb: started on http://$HOST:$INFLUX_PORT (databases: ${INFLUX_DATABASES[*]}; $(since "$t0") s)"
}

# ---------------------------------------------------------------- mosquitto

install_mosquitto() {
  command -v mosquitto >/dev/null 2>&1 && return 0
  local t0
  t0="$(now)"
  log "mosquitto: installing the Debian package (the system service is not used)"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto >"$CACHE_DIR/mosquitto-install.log" 2>&1; then
    # Stale or missing package lists: refresh once and retry.
    as_root apt-get update -q >>"$CACHE_DIR/mosquitto-install.log" 2>&1 || true
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto >>"$CACHE_DIR/mosquitto-install.log" 2>&1; then
      err "mosquitto: FAILED to apt-get install mosquitto"
      show_log_tail "$CACHE_DIR/mosquitto-install.log"
      exit 1
    fi
  fi
  command -v mosquitto >/dev/null 2>&1 || die "mosquitto: installed but the mosquitto binary is not on PATH ($PATH)"
  log "mosquitto: installed $(dpkg-query -W -f='${Version}' mosquitto 2>/dev/null || true) ($(since "$t0") s)"
}

write_mosquitto_config() {
  local dir
  dir="$(svc_dir mosquitto)"
  mkdir -p "$dir"
  cat >"$dir/mosquitto.conf" <<EOF
# Generated by scripts/test-services.sh; rewritten on every start.
# When started as root, mosquitto switches to this user; keep the current one.
user $(id -un)
per_listener_settings false
listener $MQTT_PORT $HOST
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages false
log_timestamp true
EOF
}

start_mosquitto() {
  local t0 pid dir deadline
  t0="$(now)"
  dir="$(svc_dir mosquitto)"
  if pid="$(service_pid mosquitto)" && port_open "$MQTT_PORT"; then
    log "mosquitto: already running on $HOST:$MQTT_PORT (pid $pid)"
    return 0
  fi
  if [[ -n "${pid:-}" ]]; then
    log "mosquitto: pid $pid is not answering on $HOST:$MQTT_PORT, restarting it"
    stop_pid "$pid" 10 || true
    rm -f "$(pid_file mosquitto)"
  fi
  install_mosquitto
  ensure_ports_free mosquitto
  write_mosquitto_config
  launch mosquitto "$(command -v mosquitto)" -c "$dir/mosquitto.conf"
  pid="$(cat "$(pid_file mosquitto)")"
  deadline="$(deadline_in 20)"
  until port_open "$MQTT_PORT"; do
    pid_alive "$pid" || start_failed mosquitto "process $pid exited"
    past "$deadline" && start_failed mosquitto "port $MQTT_PORT not open after 20s"
    sleep 0.1
  done
  log "mosquitto: started on $HOST:$MQTT_PORT ($(since "$t0") s)"
}

# ---------------------------------------------------------------- generic actions

stop_service() {
  local svc="$1" pid t0 grace
  t0="$(now)"
  if ! pid="$(service_pid "$svc")"; then
    log "$svc: not running"
    return 0
  fi
  case "$svc" in
    kafka) grace=30 ;;
    influxdb) grace=15 ;;
    *) grace=10 ;;
  esac
  if stop_pid "$pid" "$grace"; then
    log "$svc: stopped (pid $pid, $(since "$t0") s)"
  else
    log "$svc: did not stop within ${grace}s after SIGTERM, sent SIGKILL (pid $pid)"
  fi
  wait_ports_closed "$svc" 5 || true
  rm -f "$(pid_file "$svc")"
}

kill_service() {
  local svc="$1" pid
  if ! pid="$(service_pid "$svc")"; then
    log "$svc: not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" 10
  wait_ports_closed "$svc" 5 || true
  rm -f "$(pid_file "$svc")"
  log "$svc: killed (SIGKILL, pid $pid)"
}

status_service() {
  local svc="$1" pid port
  port="$(service_port "$svc")"
  if pid="$(service_pid "$svc")"; then
    if port_open "$port"; then
      echo "$svc: running (pid $pid, $HOST:$port)"
    else
      echo "$svc: running (pid $pid, not answering on $HOST:$port)"
    fi
  else
    echo "$svc: stopped"
  fi
}

print_env() {
  echo "export LINEGUARD_TEST_KAFKA=$HOST:$KAFKA_PORT"
  echo "export LINEGUARD_TEST_INFLUX=http://$HOST:$INFLUX_PORT"
  echo "export LINEGUARD_TEST_INFLUX_DB=lineguard_test"
  echo "export LINEGUARD_TEST_INFLUX_TOKEN=$TEST_USER:$TEST_PASSWORD"
  echo "export LINEGUARD_TEST_KAFKA_SASL=$HOST:$KAFKA_SASL_PORT"
  echo "export LINEGUARD_TEST_KAFKA_USER=$TEST_USER"
  echo "export LINEGUARD_TEST_KAFKA_PASSWORD=$TEST_PASSWORD"
  echo "export LINEGUARD_TEST_KAFKA_SSL=$HOST:$KAFKA_SSL_PORT"
  echo "export LINEGUARD_TEST_KAFKA_CA=$(svc_dir kafka)/tls/ca.pem"
  echo "export LINEGUARD_TEST_MQTT=mqtt://$HOST:$MQTT_PORT"
}

# ---------------------------------------------------------------- main

main() {
  local action="${1:-}" target="${2:-all}" svc
  case "$INFLUX_FLUX" in
    true | false) ;;
    *) die "LINEGUARD_INFLUX_FLUX must be true or false, not '$INFLUX_FLUX'" ;;
  esac
  local -a targets
  case "$action" in
    install | start | stop | kill | status) ;;
    env)
      print_env
      return 0
      ;;
    -h | --help | help)
      usage
      return 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
  case "$target" in
    all) targets=("${ALL_SERVICES[@]}") ;;
    kafka | influxdb | mosquitto) targets=("$target") ;;
    *) die "unknown service '$target' (expected kafka, influxdb, mosquitto or all)" ;;
  esac

  case "$action" in
    install)
      lock_cache
      mkdir -p "$CACHE_DIR"
      for svc in "${targets[@]}"; do
        "install_$svc"
        case "$svc" in
          kafka) log "kafka: $KAFKA_VERSION ready in $KAFKA_HOME" ;;
          influxdb) log "influxdb: $INFLUX_VERSION ready at $INFLUX_BIN" ;;
          mosquitto) log "mosquitto: ready at $(command -v mosquitto)" ;;
        esac
      done
      ;;
    start)
      lock_services
      lock_cache
      for svc in "${targets[@]}"; do "start_$svc"; done
      ;;
    stop)
      lock_services
      # Reverse order of start.
      for ((i = ${#targets[@]} - 1; i >= 0; i--)); do stop_service "${targets[i]}"; done
      ;;
    kill)
      lock_services
      for svc in "${targets[@]}"; do kill_service "$svc"; done
      ;;
    status)
      for svc in "${targets[@]}"; do status_service "$svc"; done
      ;;
  esac
}

main "$@"
