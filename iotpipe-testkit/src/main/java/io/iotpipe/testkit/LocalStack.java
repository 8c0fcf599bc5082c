package io.iotpipe.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.broker.LocalDeployment;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.opensearch.EmbeddedOpenSearch;
import io.iotpipe.topology.ManagementClient;
import io.iotpipe.topology.Plan;
import io.iotpipe.topology.Planner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Everything the demo, the benchmarks, the chaos suite and the integration tests run on one machine: an edge node,
 * a cloud cluster, an OpenSearch node (child JVM), the topology applied, and a config file pointing at all of it
 * ({@code <dir>/iotpipe.yaml}, usable with every command afterwards).
 */
public final class LocalStack implements AutoCloseable {

  private final Path dir;
  private final LocalDeployment brokers;
  private final EmbeddedOpenSearch search;
  private final int partitions;
  private Path configFile;
  private IotpipeConfig config;
  private volatile boolean closed;

  private final URI externalSearch;

  private LocalStack(Path dir, LocalDeployment brokers, EmbeddedOpenSearch search, int partitions, URI externalSearch) {
    this.externalSearch = externalSearch;
    this.dir = dir;
    this.brokers = brokers;
    this.search = search;
    this.partitions = partitions;
  }

  /**
   * @param extraYaml appended to the generated config (indexer/storage sections without urls/dir, which are set here)
   */
  public static LocalStack start(Path dir, int cloudNodes, int partitions, String storageYaml, boolean withSearch,
                                 Consumer<String> log) {
    return start(dir, cloudNodes, partitions, storageYaml, withSearch, null, log);
  }

  /** As above; with {@code externalSearch} set, that Elasticsearch/OpenSearch is used instead of starting one. */
  public static LocalStack start(Path dir, int cloudNodes, int partitions, String storageYaml, boolean withSearch,
                                 URI externalSearch, Consumer<String> log) {
    boolean embedded = withSearch && externalSearch == null;
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    log.accept("starting an edge node, a " + cloudNodes + "-node cloud cluster" + (embedded ? " and OpenSearch" : "") + " in " + dir
        + (externalSearch != null ? " (search engine: " + externalSearch + ")" : "") + " ...");
    CompletableFuture<EmbeddedOpenSearch> os = embedded
        ? CompletableFuture.supplyAsync(() -> EmbeddedOpenSearch.start(dir.resolve("opensearch")), r -> Thread.ofPlatform().daemon().start(r))
        : CompletableFuture.completedFuture(null);
    LocalDeployment brokers;
    try {
      brokers = LocalDeployment.start(dir.resolve("brokers"), cloudNodes);
    } catch (RuntimeException e) {
      os.thenAccept(o -> {
        if (o != null) {
          o.close();
        }
      });
      throw e;
    }
    EmbeddedOpenSearch search;
    try {
      search = os.join();
    } catch (RuntimeException e) {
      brokers.close();
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
    LocalStack s = new LocalStack(dir, brokers, search, partitions, externalSearch);
    log.accept("applying the topology ...");
    s.pipeline("iotpipe", storageYaml, "iotpipe.yaml");
    return s;
  }

  /**
   * A pipeline with its own name prefix on the same nodes (own queues, indices and store): what tests use to stay
   * independent of each other. Writes {@code <dir>/<file>}, applies its topology and returns its config.
   */
  public IotpipeConfig pipeline(String prefix, String storageYaml, String file) {
    return pipeline(prefix, storageYaml, file, y -> y);
  }

  /** As above, with the generated YAML edited first (e.g. cloud URIs through a faulty link). */
  public IotpipeConfig pipeline(String prefix, String storageYaml, String file, java.util.function.UnaryOperator<String> edit) {
    return pipeline(prefix, partitions, storageYaml, file, edit);
  }

  /** As above with its own partition count (the scaling benchmark runs 1..8 partitions on the same nodes). */
  public IotpipeConfig pipeline(String prefix, int partitions, String storageYaml, String file, java.util.function.UnaryOperator<String> edit) {
    String extra = """
        indexer:
          urls: [%s]
          indexPrefix: %s
        %s
        storage:
          dir: %s
        %s
        observability:
          port: 0
        """.formatted(search != null ? search.httpUri() : externalSearch != null ? externalSearch : "http://127.0.0.1:9200", prefix.equals("iotpipe") ? "telemetry" : prefix,
        externalSearchAccess(),
        dir.resolve(prefix.equals("iotpipe") ? "store" : prefix + "-store").toAbsolutePath(), storageYaml == null ? "" : storageYaml);
    Path path = dir.resolve(file);
    try {
      Files.writeString(path, edit.apply(brokers.configYaml(prefix, partitions, extra)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    IotpipeConfig cfg = IotpipeConfig.load(path);
    Planner p = new Planner();
    Plan plan = p.plan(cfg);
    p.apply(cfg, plan);
    if (prefix.equals("iotpipe")) {
      this.configFile = path;
      this.config = cfg;
    }
    return cfg;
  }

  public Path dir() {
    return dir;
  }

  public LocalDeployment brokers() {
    return brokers;
  }

  /**
   * Credentials and CA of an external engine, as environment references (the generated file never holds a secret):
   * IOTPIPE_SEARCH_USER with IOTPIPE_SEARCH_PASSWORD, or IOTPIPE_SEARCH_API_KEY; IOTPIPE_SEARCH_CA for a private CA.
   */
  private String externalSearchAccess() {
    if (externalSearch == null) {
      return "";
    }
    StringBuilder b = new StringBuilder();
    if (System.getenv("IOTPIPE_SEARCH_CA") != null) {
      b.append("  caFile: ${IOTPIPE_SEARCH_CA}\n");
    }
    if (System.getenv("IOTPIPE_SEARCH_USER") != null) {
      b.append("  username: ${IOTPIPE_SEARCH_USER}\n  password: ${IOTPIPE_SEARCH_PASSWORD}\n");
    } else if (System.getenv("IOTPIPE_SEARCH_API_KEY") != null) {
      b.append("  apiKey: ${IOTPIPE_SEARCH_API_KEY}\n");
    }
    return b.toString().stripTrailing();
  }

  public EmbeddedOpenSearch search() {
    return search;
  }

  public Path configFile() {
    return configFile;
  }

  public IotpipeConfig config() {
    return config;
  }

  /** Messages (ready + unacked) per queue on the cloud and edge, from the management API (which lags a few seconds). */
  public Map<String, Long> queueDepths() {
    Map<String, Long> out = new HashMap<>();
    for (String b : new String[] {"edge", "cloud"}) {
      try {
        JsonNode qs = new ManagementClient(config.broker(b)).get("queues/%2F?columns=name,messages");
        if (qs != null) {
          qs.forEach(q -> out.put(q.path("name").asText(), q.path("messages").asLong()));
        }
      } catch (RuntimeException e) {
        // a node restarting: report what is known
      }
    }
    return out;
  }

  public long depth(String sink) {
    return depth(config, sink);
  }

  /** Messages in all partition queues of {@code sink} of a pipeline. */
  public long depth(IotpipeConfig cfg, String sink) {
    Map<String, Long> d = queueDepths();
    long n = 0;
    for (int p = 0; p < cfg.topology().partitions(); p++) {
      n += d.getOrDefault(cfg.topology().names().sinkQueue(sink, p), 0L);
    }
    return n;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (search != null) {
        search.close();
      }
    } finally {
      brokers.close();
    }
  }
}
