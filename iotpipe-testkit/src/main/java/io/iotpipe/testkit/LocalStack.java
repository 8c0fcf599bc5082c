package io.iotpipe.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.broker.LocalDeployment;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.runtime.Role;
import io.iotpipe.security.Enrollment;
import io.iotpipe.security.SecureLocalStack;
import io.iotpipe.topology.ServiceAccounts;
import io.iotpipe.simulator.DeviceCredentials;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.opensearch.EmbeddedOpenSearch;
import io.iotpipe.s3proxy.EmbeddedS3Proxy;
import io.iotpipe.topology.ManagementClient;
import io.iotpipe.topology.Plan;
import io.iotpipe.topology.TopologyPlanner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Everything the demo, the benchmarks, the chaos suite and the integration tests run on one machine: an edge node,
 * a cloud cluster, an OpenSearch node (child JVM), the topology applied, and a config file pointing at all of it
 * ({@code <dir>/iotpipe.yaml}, usable with every command afterwards).
 *
 * <p>Secured ({@link Security#secure}): the nodes come from {@link SecureLocalStack} (TLS-only listeners, no
 * {@code guest}, service accounts, the shovel over amqps with peer verification); every pipeline's config file is the
 * administrator's (password from {@code $IOTPIPE_BROKER_PASSWORD}), and each sink role gets a config of its own
 * account ({@link #roleConfig}, {@link #roleProcess}); simulated devices are enrolled before they connect, each with
 * its own identity ({@link #simulation}).
 *
 * <p>With the lake ({@code withLake}): a real S3 API server (s3proxy, child JVM) with credentials of its own, and every
 * pipeline's config gets the {@code lake} sink and a {@code lake:} section (SQLite catalog, warehouse on that server)
 * whose keys are {@code ${ENV}} references ({@link #LAKE_ACCESS_KEY_ENV}, {@link #LAKE_SECRET_KEY_ENV}): the keys
 * themselves stay in 0600 files ({@link #lakeKeyFile}) and in the environment of the processes that need them.
 */
public final class LocalStack implements AutoCloseable {

  /** How the stack is secured: {@link #INSECURE} (plaintext, guest everywhere) or TLS with enrolled devices. */
  public record Security(boolean secure, Enrollment.Credential devices) {
    public static final Security INSECURE = new Security(false, null);

    public static Security secure(Enrollment.Credential devices) {
      return new Security(true, devices);
    }

    public String mode() {
      return secure ? "secure" : "insecure";
    }
  }

  /** The main pipeline's name prefix. */
  static final String MAIN = "iotpipe";
  static final List<String> SINKS = List.of(Role.of("index").sink(), Role.of("store").sink());
  /** The lake's sink name (the plugin's, but the test kit must not need the lake module on its class path). */
  static final String LAKE_SINK = "lake";
  public static final String LAKE_ACCESS_KEY_ENV = "IOTPIPE_LAKE_S3_ACCESS_KEY";
  public static final String LAKE_SECRET_KEY_ENV = "IOTPIPE_LAKE_S3_SECRET_KEY";
  /** The bucket the lake's warehouse is in, on the stack's own S3 server. */
  public static final String LAKE_BUCKET = "iotpipe-lake";

  private final Path dir;
  private final LocalDeployment brokers;
  private final EmbeddedOpenSearch search;
  private final int partitions;
  private Path configFile;
  private IotpipeConfig config;
  private volatile boolean closed;

  private final URI externalSearch;
  private final Security security;
  private final SecureLocalStack secured;
  /** Per pipeline prefix: its (administrator's) config file, and in secure mode each role's. */
  private final Map<String, Path> configFiles = new ConcurrentHashMap<>();
  private final Map<String, Map<Role, Path>> roleFiles = new ConcurrentHashMap<>();
  private final AtomicLong devicesEnrolled = new AtomicLong();
  private final EmbeddedS3Proxy s3;
  private final List<String> sinks;

  private LocalStack(Path dir, LocalDeployment brokers, EmbeddedOpenSearch search, int partitions, URI externalSearch,
                     Security security, SecureLocalStack secured, EmbeddedS3Proxy s3, List<String> sinks) {
    this.s3 = s3;
    this.sinks = sinks;
    this.externalSearch = externalSearch;
    this.security = security;
    this.secured = secured;
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
    return start(dir, cloudNodes, partitions, storageYaml, withSearch, externalSearch, Security.INSECURE, log);
  }

  /** As above, secured or not as {@code security} says. */
  public static LocalStack start(Path dir, int cloudNodes, int partitions, String storageYaml, boolean withSearch,
                                 URI externalSearch, Security security, Consumer<String> log) {
    return start(dir, cloudNodes, partitions, storageYaml, withSearch, externalSearch, security, false, log);
  }

  /** As above; with {@code withLake} also an S3 API server and the {@code lake} sink in every pipeline (class comment). */
  public static LocalStack start(Path dir, int cloudNodes, int partitions, String storageYaml, boolean withSearch,
                                 URI externalSearch, Security security, boolean withLake, Consumer<String> log) {
    return start(dir, cloudNodes, partitions, storageYaml, withSearch, externalSearch, security, withLake, false, log);
  }

  /**
   * As above; {@code cloudStreams}: the cloud nodes with the stream plugin and their stream endpoints in every
   * pipeline's config, so a pipeline may choose {@code topology.layout: streams} (on RabbitMQ 4.0: the host's 3.10 has no
   * single active consumer on streams).
   */
  public static LocalStack start(Path dir, int cloudNodes, int partitions, String storageYaml, boolean withSearch,
                                 URI externalSearch, Security security, boolean withLake, boolean cloudStreams, Consumer<String> log) {
    return start(dir, cloudNodes, partitions, storageYaml, withSearch, externalSearch, security, withLake, cloudStreams, false, log);
  }

  /**
   * An insecure stack whose cloud nodes each live in a network namespace of their own (see
   * {@code LocalCluster#network()}), so a chaos scenario can cut one off; clients reach them through a bridge.
   */
  public static LocalStack startPartitionable(Path dir, int cloudNodes, int partitions, String storageYaml, Consumer<String> log) {
    return start(dir, cloudNodes, partitions, storageYaml, true, null, Security.INSECURE, false, false, true, log);
  }

  private static LocalStack start(Path dir, int cloudNodes, int partitions, String storageYaml, boolean withSearch,
                                  URI externalSearch, Security security, boolean withLake, boolean cloudStreams,
                                  boolean partitionableCloud, Consumer<String> log) {
    boolean embedded = withSearch && externalSearch == null;
    List<String> sinks = new ArrayList<>(SINKS);
    if (withLake) {
      sinks.add(LAKE_SINK);
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    log.accept("starting " + (security.secure() ? "a secured (TLS only, no guest) " : "an insecure (plaintext, guest) ")
        + "edge node, a " + cloudNodes + "-node cloud cluster" + (embedded ? " and OpenSearch" : "") + " in " + dir
        + (externalSearch != null ? " (search engine: " + externalSearch + ")" : "") + (withLake ? ", an S3 API server (s3proxy)" : "") + " ...");
    CompletableFuture<EmbeddedOpenSearch> os = embedded
        ? CompletableFuture.supplyAsync(() -> EmbeddedOpenSearch.start(dir.resolve("opensearch")), r -> Thread.ofPlatform().daemon().start(r))
        : CompletableFuture.completedFuture(null);
    // Beside the brokers and the search engine, not after them: its JVM's start-up then costs little wall time.
    CompletableFuture<EmbeddedS3Proxy> objects = withLake
        ? CompletableFuture.supplyAsync(() -> startS3(dir.resolve("s3")), r -> Thread.ofPlatform().daemon().start(r))
        : CompletableFuture.completedFuture(null);
    LocalDeployment brokers;
    SecureLocalStack secured = null;
    try {
      if (security.secure()) {
        secured = SecureLocalStack.start(dir.resolve("brokers"), cloudNodes, MAIN, sinks, cloudStreams);
        brokers = secured.nodes();
      } else {
        brokers = LocalDeployment.start(dir.resolve("brokers"), cloudNodes, null, null, cloudStreams, partitionableCloud);
      }
    } catch (RuntimeException e) {
      closeLater(os);
      closeLater(objects);
      throw e;
    }
    EmbeddedOpenSearch search;
    EmbeddedS3Proxy s3;
    try {
      search = os.join();
    } catch (RuntimeException e) {
      brokers.close();
      closeLater(objects);
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
    try {
      s3 = objects.join();
    } catch (RuntimeException e) {
      if (search != null) {
        search.close();
      }
      brokers.close();
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
    LocalStack s = new LocalStack(dir, brokers, search, partitions, externalSearch, security, secured, s3, List.copyOf(sinks));
    log.accept("applying the topology ...");
    try {
      s.pipeline(MAIN, storageYaml, "iotpipe.yaml");
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
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
        dir.resolve(prefix.equals("iotpipe") ? "store" : prefix + "-store").toAbsolutePath(), storageYaml == null ? "" : storageYaml)
        + lakeYaml(prefix);
    Path path = dir.resolve(file);
    IotpipeConfig cfg;
    if (secured == null) {
      // The insecure nodes' config names no sinks (elk and storage by default): the lake is added here.
      String yaml = brokers.configYaml(prefix, partitions, extra);
      if (s3 != null) {
        yaml = yaml.replace("  partitions: " + partitions + "\n", "  partitions: " + partitions + "\n  sinks: [" + String.join(", ", sinks) + "]\n");
      }
      write(path, edit.apply(yaml));
      cfg = IotpipeConfig.load(path, withLakeKeys(System::getenv));
    } else {
      if (!prefix.equals(MAIN)) {
        secured.addPipeline(prefix, sinks);
      }
      write(path, edit.apply(secured.configYaml(prefix, secured.adminUser(), partitions, extra)));
      String base = file.endsWith(".yaml") ? file.substring(0, file.length() - 5) : file;
      Map<Role, Path> files = new java.util.LinkedHashMap<>();
      for (Role r : Role.forSinks(sinks)) {
        Path f = dir.resolve(base + "." + r.sink() + ".yaml");
        write(f, edit.apply(secured.configYaml(prefix, account(prefix, r), partitions, extra)));
        files.put(r, f);
      }
      roleFiles.put(prefix, files);
      cfg = IotpipeConfig.load(path, withLakeKeys(secured.env(secured.adminUser())));
    }
    configFiles.put(prefix, path);
    TopologyPlanner p = new TopologyPlanner();
    Plan plan = p.plan(cfg);
    p.apply(cfg, plan);
    if (prefix.equals(MAIN)) {
      this.configFile = path;
      this.config = cfg;
    }
    return cfg;
  }

  private static <T extends AutoCloseable> void closeLater(CompletableFuture<T> started) {
    started.thenAccept(o -> {
      if (o != null) {
        try {
          o.close();
        } catch (Exception e) {
          // stopping what a failed start left behind: the start's own error is the one to report
        }
      }
    });
  }

  private static EmbeddedS3Proxy startS3(Path dir) {
    EmbeddedS3Proxy s3 = EmbeddedS3Proxy.start(dir);
    s3.createBucket(LAKE_BUCKET);
    // The keys for the commands a user runs next ("export IOTPIPE_LAKE_S3_SECRET_KEY=$(cat …)"), never in a config.
    writeSecret(dir.resolve("access-key"), s3.accessKey());
    writeSecret(dir.resolve("secret-key"), s3.secretKey());
    return s3;
  }

  private static void writeSecret(Path file, String value) {
    try {
      Files.deleteIfExists(file);
      Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The {@code lake:} section of a pipeline (and its freshness target): its own SQLite catalog and warehouse path per prefix in the stack's
   * bucket, keys as environment references.
   */
  private String lakeYaml(String prefix) {
    if (s3 == null) {
      return "";
    }
    String name = prefix.equals(MAIN) ? "lake" : prefix + "-lake";
    try {
      Files.createDirectories(dir.resolve(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return """
        lake:
          catalog: {uri: "jdbc:sqlite:%s"}
          warehouse: s3://%s/%s
          s3: {endpoint: "%s", accessKey: "${%s}", secretKey: "${%s}"}
          table: iotpipe.telemetry
        # The lake commits on its default clock (5 s): its freshness SLO's default target follows from it
        # (LakeSection.visibleWithin). A 1 s clock cost the demo's 2 cores enough that the search engine's freshness SLO
        # burned in DemoIT.
        """.formatted(dir.resolve(name).resolve("catalog.db").toAbsolutePath(), LAKE_BUCKET, name, s3.endpoint(), LAKE_ACCESS_KEY_ENV,
        LAKE_SECRET_KEY_ENV);
  }

  /** {@code env} plus the lake's keys when the stack has an S3 server: what a process of this stack reads its config with. */
  public java.util.function.Function<String, String> withLakeKeys(java.util.function.Function<String, String> env) {
    if (s3 == null) {
      return env;
    }
    return k -> switch (k) {
      case LAKE_ACCESS_KEY_ENV -> s3.accessKey();
      case LAKE_SECRET_KEY_ENV -> s3.secretKey();
      default -> env.apply(k);
    };
  }

  /**
   * The lake's keys as a role process's environment ({@link #LAKE_ACCESS_KEY_ENV}, {@link #LAKE_SECRET_KEY_ENV}: the
   * config names only the variables); empty without the lake.
   */
  public Map<String, String> lakeEnvironment() {
    return s3 == null ? Map.of() : Map.of(LAKE_ACCESS_KEY_ENV, s3.accessKey(), LAKE_SECRET_KEY_ENV, s3.secretKey());
  }

  /** The stack's S3 API server, or null without the lake. */
  public EmbeddedS3Proxy s3() {
    return s3;
  }

  /** The sinks every pipeline of this stack fans out to ({@code topology.sinks}). */
  public List<String> sinks() {
    return sinks;
  }

  /** The 0600 file holding the lake's access key ({@code secret} false) or secret key; null without the lake. */
  public Path lakeKeyFile(boolean secret) {
    return s3 == null ? null : dir.resolve("s3").resolve(secret ? "secret-key" : "access-key");
  }

  private static void write(Path path, String text) {
    try {
      Files.writeString(path, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String account(String prefix, Role role) {
    return ServiceAccounts.sink(new Names(prefix), role.sink());
  }

  public Path dir() {
    return dir;
  }

  public Security security() {
    return security;
  }

  /** The secured nodes' PKI, accounts and admin API; null when the stack is insecure. */
  public SecureLocalStack secured() {
    return secured;
  }

  /**
   * The environment a process needs to read {@code cfg}'s config file: in secure mode the administrator's password in
   * {@link SecureLocalStack#PASSWORD_ENV}; empty when insecure.
   */
  public Map<String, String> environment(String account) {
    if (secured == null) {
      return Map.of();
    }
    return Map.of(SecureLocalStack.PASSWORD_ENV, secured.env(account).apply(SecureLocalStack.PASSWORD_ENV));
  }

  /** The file holding {@code account}'s password (mode 0600), for the next-step commands a user runs; null when insecure. */
  public Path passwordFile(String account) {
    return secured == null ? null : secured.enrollment().passwordFile(account);
  }

  /** {@code role}'s view of pipeline {@code cfg}: in secure mode connecting as the role's own account; otherwise {@code cfg}. */
  public IotpipeConfig roleConfig(IotpipeConfig cfg, Role role) {
    if (secured == null) {
      return cfg;
    }
    String prefix = cfg.topology().prefix();
    return IotpipeConfig.load(roleFiles.get(prefix).get(role), withLakeKeys(secured.env(account(prefix, role))));
  }

  /** Every role's view of pipeline {@code cfg} (for a {@code PipelineRunner} of all roles). */
  public Map<Role, IotpipeConfig> roleConfigs(IotpipeConfig cfg) {
    Map<Role, IotpipeConfig> m = new java.util.LinkedHashMap<>();
    for (Role r : Role.forSinks(sinks)) {
      m.put(r, roleConfig(cfg, r));
    }
    return m;
  }

  /**
   * A role process ({@code index} or {@code store}) of pipeline {@code cfg}, not started: in secure mode with its own
   * account's config and that account's password in its environment.
   */
  public RoleProcess roleProcess(String role, IotpipeConfig cfg, String id) {
    String prefix = cfg.topology().prefix();
    if (secured == null) {
      return new RoleProcess(role, configFiles.get(prefix), id, dir).environment(lakeEnvironment());
    }
    Role r = role.equals("index") ? Role.of("index") : Role.of("store");
    return new RoleProcess(role, roleFiles.get(prefix).get(r), id, dir).environment(environment(account(prefix, r)));
  }

  /**
   * The edge forwarder of pipeline {@code cfg} ({@code topology.wan.mode: batch}) as a process, not started. In secure
   * mode it reads the forwarder account's password file that {@code topology apply} wrote, presents the account's own
   * client certificate (issued here); it is started with a sink account's config file and environment, whose
   * broker credentials it does not use.
   */
  public RoleProcess forwarderProcess(IotpipeConfig cfg, String id) {
    String prefix = cfg.topology().prefix();
    if (secured == null) {
      return new RoleProcess(RoleProcess.FORWARD, configFiles.get(prefix), id, dir);
    }
    secured.pki().issueClient(cfg.topology().names().forwarderAccount());
    Role r = roleFiles.get(prefix).keySet().iterator().next();
    return new RoleProcess(RoleProcess.FORWARD, roleFiles.get(prefix).get(r), id, dir).environment(environment(account(prefix, r)));
  }

  /**
   * A fleet for pipeline {@code cfg}: in secure mode its devices are enrolled first (certificate or password as
   * {@link Security#devices()} says) and each connects with its own identity over TLS.
   */
  public Simulation simulation(IotpipeConfig cfg, Simulation.Options o, Consumer<String> progress) {
    if (secured == null) {
      return Simulation.create(cfg, o);
    }
    enroll(cfg, Simulation.deviceIds(o));
    return Simulation.create(cfg, o, deviceCredentials(), progress);
  }

  /** Enrolls devices of pipeline {@code cfg} (secure mode only). */
  public Enrollment.Report enroll(IotpipeConfig cfg, List<String> ids) {
    if (secured == null) {
      throw new IllegalStateException("an insecure stack has no enrollment: start it with Security.secure(...)");
    }
    Enrollment.Report r = secured.enrollDevices(cfg.topology().prefix(), ids, security.devices());
    devicesEnrolled.addAndGet(ids.size());
    return r;
  }

  /** Where simulated devices find their credentials (secure mode). */
  public DeviceCredentials deviceCredentials() {
    if (security.devices() == Enrollment.Credential.PASSWORD) {
      return DeviceCredentials.passwords(secured.pki().caCert(), secured.enrollment().passwordFile("x").getParent());
    }
    return new DeviceCredentials(secured.pki().caCert(), secured.clientsDir());
  }

  /**
   * What secured this run, for summaries: mode, TLS on the broker links, the devices' credential kind, devices
   * enrolled, the broker accounts the pipeline used, whether {@code guest} exists on any node (asked of the nodes),
   * and whether the search engine is reached over https.
   */
  public Map<String, Object> securitySummary() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("mode", security.mode());
    m.put("tls", security.secure());
    m.put("deviceCredential", security.secure() ? security.devices().name().toLowerCase() : "none");
    m.put("devicesEnrolled", devicesEnrolled.get());
    List<String> accounts = new ArrayList<>();
    if (secured != null) {
      Names n = new Names(MAIN);
      accounts.addAll(List.of(secured.adminUser(), ServiceAccounts.shovel(n)));
      Role.forSinks(sinks).forEach(r -> accounts.add(account(MAIN, r)));
    } else {
      accounts.add("guest");
    }
    m.put("accountsUsed", accounts);
    boolean guest = false;
    for (String b : new String[] {"edge", "cloud"}) {
      try {
        guest |= new ManagementClient(config.broker(b)).get("users/guest") != null;
      } catch (RuntimeException e) {
        // a node that does not answer: it cannot vouch either way; the other node's answer stands
      }
    }
    m.put("guestPresent", guest);
    m.put("searchTls", config.indexer().urls().stream().allMatch(u -> u.toString().startsWith("https")));
    return m;
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
      if (s3 != null) {
        s3.close();
      }
    } finally {
      brokers.close();
    }
  }
}
