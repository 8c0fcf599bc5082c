package io.iotpipe.benchcamel;

import com.rabbitmq.client.Channel;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.springrabbit.SpringRabbitMQConstants;
import org.apache.camel.dataformat.parquet.avro.ParquetAvroDataFormat;
import org.apache.camel.main.Main;
import org.apache.camel.model.dataformat.JsonLibrary;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;

/**
 * The peer `bench store` measures the stores against: what a Java team would build with Apache Camel instead of
 * iotpipe's store — one quorum queue consumed with camel-spring-rabbitmq, 10,000 readings aggregated, written as one
 * parquet-avro file (the file component writes it under a temporary name and renames it; a step of ours then forces
 * the file and its directory to disk), and only then acked. Camel's aggregator completes each consumed exchange when it joins the batch, so with the container's
 * automatic acks a reading would be acked before its file exists: the consumer runs with manual acks instead and the
 * route's last step acks the batch's highest delivery tag with {@code multiple} (one consumer, one channel), after the
 * rename. No exactly-once: a redelivered reading is written again.
 *
 * <p>Prints one line per acked batch on stdout ({@code acked TOTAL heapPeak BYTES}) for the bench's progress and peak
 * heap. Arguments: {@code host port user queue dir [batch prefetch codec metrics...]}; the password in the environment
 * ({@value #PASSWORD_ENV}), never on the command line.
 */
public final class CamelStoreRoute extends RouteBuilder {

  public static final String PASSWORD_ENV = "IOTPIPE_BENCH_AMQP_PASSWORD";

  /** The exchange property carrying the batch's highest delivery tag. */
  static final String LAST_TAG = "iotpipeLastDeliveryTag";

  final String queue;
  final Path dir;
  final int batch;
  final int prefetch;
  final String codec;
  final Schema schema;
  final List<String> metrics;
  final AtomicLong acked = new AtomicLong();

  CamelStoreRoute(String queue, Path dir, int batch, int prefetch, String codec, List<String> metrics) {
    this.queue = queue;
    this.dir = dir;
    this.batch = batch;
    this.prefetch = prefetch;
    this.codec = codec;
    this.metrics = List.copyOf(metrics);
    this.schema = schema(metrics);
  }

  /** The readings as an Avro record: the store's columns for the bench's rows (keywords, one column per metric). */
  static Schema schema(List<String> metrics) {
    Schema ts = LogicalTypes.timestampMillis().addToSchema(Schema.create(Schema.Type.LONG));
    var f = SchemaBuilder.record("Reading").namespace("io.iotpipe.bench").fields()
        .name("ts").type(ts).noDefault()
        .requiredString("device_id")
        .requiredLong("seq")
        .optionalString("site")
        .optionalString("region")
        .optionalString("status")
        .optionalString("error_code");
    for (String m : metrics) {
      f = f.optionalDouble(m);
    }
    return f.name("ingest_ts").type(ts).noDefault().endRecord();
  }

  /** The endpoint URI of the consumer: manual acks, so that the route acks after the file is on disk. */
  String consumerUri() {
    return "spring-rabbitmq:default?queues=" + queue + "&autoDeclare=false&acknowledgeMode=MANUAL&prefetchCount=" + prefetch
        + "&concurrentConsumers=1";
  }

  /**
   * The file endpoint: written under a temporary name, then renamed. It does not fsync: Camel 4.17's file producer
   * never reads its {@code forceWrites} option (FileOperations writes with Files.write / a byte channel and closes), so
   * {@link #fsync} follows it.
   */
  String fileUri() {
    return "file:" + dir.toAbsolutePath() + "?fileName=${exchangeId}.parquet&tempPrefix=.inprogress-";
  }

  @Override
  public void configure() {
    ParquetAvroDataFormat parquet = new ParquetAvroDataFormat();
    parquet.setCompressionCodecName(codec);
    from(consumerUri()).routeId("iotpipe-bench-camel-store")
        .unmarshal().json(JsonLibrary.Jackson, Map.class)
        .process(e -> e.getMessage().setBody(record(e.getMessage().getBody(Map.class))))
        // A batch also completes after 1 s without new readings: the file store rolls at 1 s in `bench store` too.
        .aggregate(constant(true), new Batch(batch)).completionSize(batch).completionTimeout(1000)
          .marshal(parquet)
          .to(fileUri())
          .process(CamelStoreRoute::fsync)
          .process(this::ack)
        .end();
  }

  @SuppressWarnings("unchecked")
  GenericRecord record(Map<String, Object> json) {
    GenericData.Record r = new GenericData.Record(schema);
    r.put("ts", Instant.parse((String) json.get("ts")).toEpochMilli());
    r.put("device_id", json.get("deviceId"));
    r.put("seq", ((Number) json.get("seq")).longValue());
    r.put("site", json.get("site"));
    r.put("region", json.get("region"));
    r.put("status", json.get("status"));
    r.put("error_code", json.get("errorCode"));
    Map<String, Object> m = (Map<String, Object>) json.getOrDefault("metrics", Map.of());
    for (String name : metrics) {
      Object v = m.get(name);
      r.put(name, v == null ? null : ((Number) v).doubleValue());
    }
    r.put("ingest_ts", System.currentTimeMillis());
    return r;
  }

  /** Forces the renamed file and its directory entry to disk: only then may the batch be acked. */
  static void fsync(Exchange e) throws java.io.IOException {
    Path file = Path.of(e.getMessage().getHeader(Exchange.FILE_NAME_PRODUCED, String.class));
    try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
      f.force(true);
    }
    try (java.nio.channels.FileChannel d = java.nio.channels.FileChannel.open(file.getParent(), java.nio.file.StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  void ack(Exchange e) throws Exception {
    Channel channel = e.getProperty(SpringRabbitMQConstants.CHANNEL, Channel.class);
    long tag = e.getProperty(LAST_TAG, Long.class);
    int size = e.getProperty(Exchange.AGGREGATED_SIZE, Integer.class);
    channel.basicAck(tag, true);
    System.out.println("acked " + acked.addAndGet(size) + " heapPeak " + heapPeak());
  }

  static long heapPeak() {
    long sum = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP && p.getPeakUsage() != null) {
        sum += p.getPeakUsage().getUsed();
      }
    }
    return sum;
  }

  /** Collects the batch's records and its highest delivery tag (the one channel's tags grow with each delivery). */
  static final class Batch implements AggregationStrategy {
    final int capacity;

    Batch(int capacity) {
      this.capacity = capacity;
    }

    @Override
    @SuppressWarnings("unchecked")
    public Exchange aggregate(Exchange batch, Exchange reading) {
      Object record = reading.getMessage().getBody();
      long tag = reading.getMessage().getHeader(SpringRabbitMQConstants.DELIVERY_TAG, Long.class);
      if (batch == null) {
        List<Object> records = new ArrayList<>(capacity);
        records.add(record);
        reading.getMessage().setBody(records);
        reading.setProperty(LAST_TAG, tag);
        return reading;
      }
      batch.getMessage().getBody(List.class).add(record);
      batch.setProperty(LAST_TAG, Math.max(tag, batch.getProperty(LAST_TAG, Long.class)));
      return batch;
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 5 || System.getenv(PASSWORD_ENV) == null) {
      System.err.println("usage: " + PASSWORD_ENV + "=... CamelStoreRoute HOST PORT USER QUEUE DIR [BATCH PREFETCH CODEC METRIC...]");
      System.exit(2);
    }
    CachingConnectionFactory cf = new CachingConnectionFactory(args[0], Integer.parseInt(args[1]));
    cf.setUsername(args[2]);
    cf.setPassword(System.getenv(PASSWORD_ENV));
    int batch = args.length > 5 ? Integer.parseInt(args[5]) : 10_000;
    int prefetch = args.length > 6 ? Integer.parseInt(args[6]) : 2 * batch;
    String codec = args.length > 7 ? args[7] : "ZSTD";
    List<String> metrics = args.length > 8 ? List.of(args).subList(8, args.length) : List.of();
    Main main = new Main();
    main.bind("connectionFactory", cf);
    main.configure().addRoutesBuilder(new CamelStoreRoute(args[3], Path.of(args[4]), batch, prefetch, codec, metrics));
    main.run();
  }
}
