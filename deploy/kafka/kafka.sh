#!/bin/sh
# couponq-kafka -- entrypoint of deploy/kafka: one KRaft node (broker +
# controller), configured like scripts/stack's, logging to stdout.
#   couponq-kafka server          format /var/lib/kafka/data once, run the node
#   couponq-kafka topics NAME...  create each topic (and nothing if it exists)
#   couponq-kafka ready           exit 0 when the broker answers on its port
# KAFKA_HOST (default 127.0.0.1), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT
# (9093), KAFKA_PARTITIONS (6), KAFKA_HEAP (512m).
set -eu
HOST=${KAFKA_HOST:-127.0.0.1}
PORT=${KAFKA_PORT:-9092}
CPORT=${KAFKA_CONTROLLER_PORT:-9093}
PARTS=${KAFKA_PARTITIONS:-6}
DIR=/var/lib/kafka
CP='/opt/kafka/libs/*'

log4j() {
  cat >"$DIR/log4j.properties" <<PROPS
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.org.apache.kafka.clients=WARN
PROPS
}
tool() { java -Xmx256m -Dlog4j.configuration="file:$DIR/log4j.properties" -cp "$CP" "$@"; }

case ${1:-server} in
server)
  log4j
  cat >"$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CPORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CPORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=$PARTS
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
PROPS
  if [ ! -f "$DIR/data/meta.properties" ]; then
    tool kafka.tools.StorageTool format -t "$(tool kafka.tools.StorageTool random-uuid)" \
      -c "$DIR/server.properties"
  fi
  exec java -Xms"${KAFKA_HEAP:-512m}" -Xmx"${KAFKA_HEAP:-512m}" -XX:+UseG1GC \
    -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$DIR/log4j.properties" -cp "$CP" kafka.Kafka "$DIR/server.properties"
  ;;
topics)
  shift
  log4j
  for t in "$@"; do
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$PORT" \
      --create --if-not-exists --topic "$t" --partitions "$PARTS" --replication-factor 1
  done
  ;;
ready)
  # A TCP connect: cheap enough for a healthcheck every few seconds (a Java
  # admin client costs a second of CPU per call).
  exec bash -c "exec 3<>/dev/tcp/$HOST/$PORT"
  ;;
*)
  echo "couponq-kafka: unknown command $1 (server, topics, ready)" >&2
  exit 2
  ;;
esac
