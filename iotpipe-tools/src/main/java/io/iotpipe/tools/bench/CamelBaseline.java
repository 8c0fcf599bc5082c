package io.iotpipe.tools.bench;

import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.rabbitmq.ConfirmingPublisher;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Apache Camel route {@code bench store} compares the stores with (issue 19), as a child JVM of its own: module
 * {@code iotpipe-bench-camel} ({@code io.iotpipe.benchcamel.CamelStoreRoute}, its class comment says when it acks), on
 * that module's class path (Camel's own resolution of Spring AMQP, Parquet 1.16 and a full Hadoop 3.4.3), never on
 * the product's. It consumes one quorum queue, preloaded here with the same encoded readings the stores drain.
 */
final class CamelBaseline implements AutoCloseable {

  /** The route's main class, by name: the tooling does not put Camel on its own class path. */
  static final String MAIN_CLASS = "io.iotpipe.benchcamel.CamelStoreRoute";
  /** Readings per file, as issue 19 describes the route. */
  static final int BATCH = 10_000;
  /**
   * The consumer's prefetch: at least a batch, or the broker stops delivering before the aggregator completes one;
   * two batches so that the next one arrives while a file is written.
   */
  static final int PREFETCH = 2 * BATCH;
  /** The file store's codec (StoreSchema/ParquetFormat): Camel's own default would be GZIP, slower on the same rows. */
  static final String CODEC = "ZSTD";

  private final Process process;
  private final Path log;
  private final AtomicLong acked = new AtomicLong();
  private final AtomicLong heapPeak = new AtomicLong();

  private CamelBaseline(Process process, Path log) {
    this.process = process;
    this.log = log;
    Thread.ofPlatform().daemon().name("camel-route-out").start(this::readOutput);
  }

  /** The module's build output under the project ({@code iotpipe.home}, set by the launcher; else the working dir). */
  static Path moduleTarget() {
    return Path.of(System.getProperty("iotpipe.home", "."), "iotpipe-bench-camel", "target").toAbsolutePath();
  }

  /** Why the route cannot start, with the fix; null when its jar and class path are built. */
  static String missing() {
    Path t = moduleTarget();
    if (Files.isRegularFile(t.resolve("iotpipe-bench-camel.jar")) && Files.isDirectory(t.resolve("lib"))) {
      return null;
    }
    return "the Camel baseline is not built (" + t + "/iotpipe-bench-camel.jar and lib/): run"
        + " ./mvnw -B -o -q package -DskipTests -pl iotpipe-tools -am, or pass --no-camel";
  }

  /** Declares quorum queue {@code queue} on the sink broker and publishes {@code rows} into it, confirmed. */
  static void preload(BrokerConfig broker, String queue, List<Telemetry> rows) throws Exception {
    TelemetryCodec codec = new TelemetryCodec();
    try (var conn = Amqp.connect(broker, "bench-camel-preload")) {
      var ch = conn.createChannel();
      ch.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "quorum"));
      try (ConfirmingPublisher pub = new ConfirmingPublisher(conn.createChannel(), 5000)) {
        List<CompletableFuture<Void>> fs = new ArrayList<>(rows.size());
        var props = new com.rabbitmq.client.AMQP.BasicProperties.Builder().deliveryMode(2).contentType("application/json").build();
        for (Telemetry t : rows) {
          fs.add(pub.publish("", queue, props, codec.encode(t)));
        }
        CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
      }
    }
  }

  /** The route's command line (the password goes into the environment). */
  static List<String> command(String javaBin, String heap, Path target, URI amqp, String user, String queue, Path dir, List<String> metrics) {
    List<String> cmd = new ArrayList<>(List.of(javaBin, "--enable-native-access=ALL-UNNAMED"));
    if (heap != null) {
      cmd.add("-Xmx" + heap);
    }
    cmd.addAll(List.of("-cp", target.resolve("iotpipe-bench-camel.jar") + java.io.File.pathSeparator + target.resolve("lib") + "/*",
        MAIN_CLASS, amqp.getHost(), String.valueOf(amqp.getPort() > 0 ? amqp.getPort() : 5672), user, queue, dir.toString(),
        String.valueOf(BATCH), String.valueOf(PREFETCH), CODEC));
    cmd.addAll(metrics);
    return cmd;
  }

  static CamelBaseline start(BrokerConfig broker, String queue, Path dir, List<String> metrics, String heap, Path log) throws IOException {
    Files.createDirectories(dir);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(command(java, heap, moduleTarget(), broker.uris().getFirst(), broker.username(), queue, dir, metrics));
    pb.environment().put("IOTPIPE_BENCH_AMQP_PASSWORD", broker.password().reveal());
    pb.redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    return new CamelBaseline(pb.start(), log);
  }

  private void readOutput() {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        String[] w = line.trim().split("\\s+");
        if (w.length == 4 && w[0].equals("acked") && w[2].equals("heapPeak")) {
          acked.set(Long.parseLong(w[1]));
          heapPeak.accumulateAndGet(Long.parseLong(w[3]), Math::max);
        } else {
          Files.writeString(log, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Readings acked after their file was renamed. */
  long acked() {
    return acked.get();
  }

  long heapPeak() {
    return heapPeak.get();
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  Path log() {
    return log;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
