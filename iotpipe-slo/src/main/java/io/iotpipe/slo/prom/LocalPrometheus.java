package io.iotpipe.slo.prom;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.iotpipe.slo.Slos;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real Prometheus server (the Debian package's {@code /usr/bin/prometheus}) for tests and the demo: a generated
 * config scraping the given targets, rule files, a free port on 127.0.0.1, its own data directory; {@link #close}
 * stops it (SIGTERM, then SIGKILL after 20 s) and a JVM shutdown hook does the same if the caller forgets.
 */
public final class LocalPrometheus implements AutoCloseable {

  /**
   * One scrape job: {@code targets} are {@code host:port}; {@code params} go into the scrape URL's query;
   * {@code caFile} non-null scrapes over https, verifying the targets against that CA.
   */
  public record Job(String name, List<String> targets, String metricsPath, Map<String, List<String>> params, Path caFile) {
    public Job(String name, List<String> targets) {
      this(name, targets, "/metrics", Map.of(), null);
    }

    public Job(String name, List<String> targets, String metricsPath, Map<String, List<String>> params) {
      this(name, targets, metricsPath, params, null);
    }

    /** The same job scraped over https (secure-mode brokers), the targets verified against {@code ca}. */
    public Job overTls(Path ca) {
      return new Job(name, targets, metricsPath, params, ca);
    }

    /**
     * rabbitmq_prometheus's per-queue depths ({@code rabbitmq_detailed_queue_messages{vhost,queue}}) from its
     * detailed endpoint: the aggregated {@code /metrics} has no per-queue series unless
     * {@code prometheus.return_per_object_metrics = true}. Targets are the nodes' {@code prometheus.tcp.port}s.
     */
    public static Job rabbitmqQueues(String name, List<String> targets) {
      return new Job(name, targets, "/metrics/detailed", Map.of("family", List.of("queue_coarse_metrics")));
    }
  }

  private final Path dir;
  private final int port;
  private final Process process;
  private final Thread hook;

  private LocalPrometheus(Path dir, int port, Process process) {
    this.dir = dir;
    this.port = port;
    this.process = process;
    this.hook = new Thread(process::destroy, "local-prometheus-stop");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /**
   * Starts Prometheus and returns once it answers {@code /-/ready}.
   *
   * @param dir            its directory: config, data, log
   * @param jobs           what to scrape
   * @param ruleFiles      rule files to load (e.g. from {@code iotpipe slo rules})
   * @param scrapeInterval also the rule evaluation interval unless the rule groups set their own
   */
  public static LocalPrometheus start(Path dir, List<Job> jobs, List<Path> ruleFiles, Duration scrapeInterval) throws IOException {
    Files.createDirectories(dir.resolve("data"));
    int port = freePort();
    Path config = dir.resolve("prometheus.yml");
    Files.writeString(config, config(jobs, ruleFiles, scrapeInterval));
    Path log = dir.resolve("prometheus.log");
    Process p = new ProcessBuilder(PrometheusBinaries.prometheus().toString(),
        "--config.file=" + config,
        "--storage.tsdb.path=" + dir.resolve("data"),
        "--web.listen-address=127.0.0.1:" + port,
        "--web.enable-lifecycle")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    LocalPrometheus prom = new LocalPrometheus(dir, port, p);
    try {
      prom.awaitReady(Duration.ofSeconds(60));
    } catch (IOException | RuntimeException e) {
      prom.close();
      throw e;
    }
    return prom;
  }

  /**
   * Rewrites the configuration and asks the running server to reload it ({@code POST /-/reload}). Loading SLO rules
   * only once the targets have been scraped keeps a fresh server from counting "no health series yet" as an outage.
   */
  public void reload(List<Job> jobs, List<Path> ruleFiles, Duration scrapeInterval) throws IOException {
    Files.writeString(dir.resolve("prometheus.yml"), config(jobs, ruleFiles, scrapeInterval));
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(url().resolve("/-/reload")).POST(HttpRequest.BodyPublishers.noBody())
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException("prometheus refused the new configuration: HTTP " + r.statusCode() + ": " + r.body());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while reloading prometheus", e);
    }
  }

  static String config(List<Job> jobs, List<Path> ruleFiles, Duration interval) throws IOException {
    Map<String, Object> global = new LinkedHashMap<>();
    global.put("scrape_interval", Slos.promDuration(interval));
    global.put("evaluation_interval", Slos.promDuration(interval));
    List<Object> scrapes = new ArrayList<>();
    for (Job j : jobs) {
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("job_name", j.name());
      s.put("metrics_path", j.metricsPath());
      if (!j.params().isEmpty()) {
        s.put("params", j.params());
      }
      if (j.caFile() != null) {
        s.put("scheme", "https");
        // local nodes' certificates name localhost; the targets are 127.0.0.1
        s.put("tls_config", Map.of("ca_file", j.caFile().toAbsolutePath().toString(), "server_name", "localhost"));
      }
      s.put("static_configs", List.of(Map.of("targets", j.targets())));
      scrapes.add(s);
    }
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("global", global);
    doc.put("rule_files", ruleFiles.stream().map(f -> f.toAbsolutePath().toString()).toList());
    doc.put("scrape_configs", scrapes);
    return new ObjectMapper(new YAMLFactory()).writeValueAsString(doc);
  }

  private void awaitReady(Duration timeout) throws IOException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("prometheus exited with " + process.exitValue() + " during start-up; see " + dir.resolve("prometheus.log")
            + ":\n" + tail());
      }
      try {
        HttpResponse<Void> r = http.send(HttpRequest.newBuilder(url().resolve("/-/ready")).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for prometheus", e);
      }
      try {
        Thread.sleep(200); // polling a child process's readiness; not a test
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for prometheus", e);
      }
    }
    throw new IOException("prometheus not ready within " + timeout + "; see " + dir.resolve("prometheus.log") + ":\n" + tail());
  }

  private String tail() {
    try {
      List<String> lines = Files.readAllLines(dir.resolve("prometheus.log"));
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private static int freePort() {
    return io.iotpipe.core.net.LocalPorts.free();
  }

  public URI url() {
    return URI.create("http://127.0.0.1:" + port);
  }

  public long pid() {
    return process.pid();
  }

  public Path dir() {
    return dir;
  }

  @Override
  public void close() {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // already shutting down: the hook runs anyway
    }
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
