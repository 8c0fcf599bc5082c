package io.iotpipe.core.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The configuration reference, generated from the reader itself: {@link #keys()} runs
 * {@link IotpipeConfig#read} in {@link ConfigNode}'s describe mode, so every key's path, type, range and default come
 * from the same getter call that validates it; only the one-line descriptions live here. {@link #markdown()} is what
 * {@code iotpipe config reference} prints and what README.md holds between the {@code config-reference} markers
 * ({@code ConfigReferenceTest} fails when the two differ, when a key has no description, or when a description names
 * a key the reader no longer asks for).
 *
 * <p>To add a key: read it in its section's {@code read} method with a {@link ConfigNode} getter, then add one
 * {@code doc(path, text)} line below ({@code *.consumer.x} describes {@code x} under every {@code consumer}
 * section; {@code <name>} stands for a user-chosen name). Use {@code doc(path, text, default)} only when the default
 * is computed from other keys.
 */
public final class ConfigReference {

  private record Doc(String text, String computedDefault) {}

  private static final Map<String, Doc> DOCS = new LinkedHashMap<>();

  private static void doc(String path, String text) {
    DOCS.put(path, new Doc(text, null));
  }

  private static void doc(String path, String text, String computedDefault) {
    DOCS.put(path, new Doc(text, computedDefault));
  }

  static {
    doc("brokers", "the RabbitMQ deployments, by a name of your choice (an edge and a cloud broker at least)");
    doc("brokers.<name>.uris", "AMQP URIs of every node (`amqp://host:5672/vhost`); clients and shovels fail over in order");
    doc("brokers.<name>.management", "management API base URL of any node: needed to declare shovels (edges, and the balancer when `fanout` differs)");
    doc("brokers.<name>.username", "user name");
    doc("brokers.<name>.password", "password, from the environment: `${IOTPIPE_CLOUD_PASSWORD}` or `${VAR:-default}`", "guest");
    doc("brokers.<name>.region", "region this broker serves (e.g. `eu-west`); informs failover and reports");
    doc("brokers.<name>.streamUris", "stream protocol endpoints of the nodes (`rabbitmq-stream://host:5552`, plugin `rabbitmq_stream`), where sink groups read partition streams when `topology.layout` is `streams`; credentials, vhost and TLS come from this broker's other keys (amqps `uris`: the stream protocol over TLS with the same CA and client certificate)", "the hosts of `uris` on port 5552, or 5551 over TLS");

    doc("topology.prefix", "name prefix of every exchange and queue (several pipelines can share a vhost)");
    doc("topology.edges", "brokers devices publish to; each gets an ingress exchange, a bounded buffer and a shovel");
    doc("topology.balancer", "cloud broker holding the hash ingress exchange (device id -> partition)");
    doc("topology.fanout", "cloud broker holding the partition fanouts and sink queues; another broker is bridged by shovels", "the balancer");
    doc("topology.failover", "brokers of a second region the shovels switch to when the cloud is down");
    doc("topology.partitions", "partitions (hash buckets keyed on device id)");
    doc("topology.sinks", "sink queues every partition fans out to");
    doc("topology.queueType", "`quorum` is replicated; `classic` only for single-node tests");
    doc("topology.edgeBuffer.maxMessages", "edge buffer bound in messages while the cloud is unreachable; beyond it devices get nacks");
    doc("topology.edgeBuffer.maxBytes", "edge buffer bound in bytes");
    doc("topology.deliveryLimit", "a message redelivered this often is dead-lettered (crash-loop guard)");
    doc("topology.shovelReconnectDelay", "how long a shovel waits before reconnecting");
    doc("topology.singleActiveConsumer", "one consumer per partition queue at a time, so per-device order holds; a standby takes over");
    doc("topology.layout", "`queues`: each partition fans out to one quorum queue per sink (a reading is written once per sink); `streams`: one stream per partition that every sink group reads at its own stored position (written once; needs RabbitMQ >= 3.11 with `rabbitmq_stream`; see Topology layouts)");
    doc("topology.streamMaxAge", "with `layout: streams`: how long a partition stream keeps readings; older segments are deleted even if a sink group has not read them, so it must outlast the longest sink outage");
    doc("topology.wan.mode", "`shovel`: a shovel moves each reading as its own message into the hash exchange (the seed's topology); `batch`: `iotpipe forward` carries many readings of one partition per message into the partition exchange, each with the identity the edge verified (see WAN batching)");
    doc("topology.wan.linger", "with `mode: batch`: the longest a reading waits at the forwarder for batch-mates (the latency batching may add)");
    doc("topology.wan.maxReadings", "with `mode: batch`: most readings in one batch message");
    doc("topology.wan.maxBytes", "with `mode: batch`: most bytes of one batch message (bodies and framing); a reading larger than this travels alone");

    doc("security.passwords", "(with a `security:` section, `topology plan` shows iotpipe's broker users and permissions and `apply` makes them true; without it users are not touched) directory of the service accounts' password files (`<account>.password`, mode 0600); apply writes a random one for an account without one");
    doc("security.existingUsers", "a declared account that exists with other tags, password or permissions: `update` it (a broader grant is narrowed) or `refuse` (report a conflict, change nothing)");
    doc("security.removeGuest", "delete the `guest` user on every broker (the brokers' `username` must then be another account)");
    doc("security.certificates", "directory of the service accounts' client certificates (`<account>.crt`, `<account>.key`): where a broker URI carries `certfile`/`keyfile`, the shovels present the shovel account's instead", "`pki/clients`");
    doc("security.devicePermissions", "check every enrolled device (users tagged `iotpipe-device`) on the edges against the device permission template and repair drift");

    doc("contract.maxBytes", "largest accepted message body in bytes; larger ones are dead-lettered");
    doc("contract.maxMetrics", "most metrics in one reading");
    doc("contract.maxFutureSkew", "how far a reading's `ts` may lie ahead of the receiving sink's clock before `futureTimestamps` decides");
    doc("contract.maxAge", "how old a reading may be; older ones are dead-lettered (late readings within it land in their own day)");
    doc("contract.unknownFields", "top-level fields the envelope does not define (a newer firmware's): `keep` them in the reading's"
        + " `attributes` (within the two bounds below), `drop` them, or `reject` the reading to the dead-letter queue;"
        + " counted in `iotpipe_contract_unknown_fields_total{field,decision}`");
    doc("contract.attributes.maxFields", "most unknown fields kept per reading; further ones are dropped (`decision=\"over_limit\"`), the reading lands");
    doc("contract.attributes.maxBytes", "most bytes (names + values, UTF-8) of the kept fields of one reading; a field that"
        + " does not fit is dropped (`over_limit`), later smaller ones may still be kept");
    doc("contract.futureTimestamps", "a reading whose `ts` lies more than `maxFutureSkew` ahead: `keep` it as sent, flagged"
        + " `clockAhead`; `receive-time`: `ts` becomes the time the sink received it, the device's time is kept as `deviceTs`;"
        + " or `reject` it; counted in `iotpipe_contract_future_ts_total{decision}`");

    doc("indexer.urls", "Elasticsearch/OpenSearch HTTP endpoints, tried round-robin (a failing one is skipped)");
    doc("indexer.username", "basic-auth user");
    doc("indexer.password", "basic-auth password, from the environment (`${IOTPIPE_ES_PASSWORD}`)");
    doc("indexer.apiKey", "Elasticsearch API key (the encoded value), from the environment, instead of username/password");
    doc("indexer.caFile", "PEM file of the CA that signed the engine's HTTPS certificate (for `https` URLs with a private CA)");
    doc("indexer.indexPrefix", "events go to `<prefix>-yyyy.MM.dd` (by event time)");
    doc("indexer.period", "index period by event time (`none`: a single index)");
    doc("indexer.shards", "primary shards per index");
    doc("indexer.replicas", "replicas per index");
    doc("indexer.latestIndex", "index with one document per device holding its newest reading", "`<indexPrefix>-latest`");
    doc("indexer.latestState", "keep that index: one more document per device and bulk (on the engine about +50 % CPU per"
        + " reading with 1,000 devices); `false` indexes events only, for deployments that never ask for a device's current state");
    doc("indexer.maxInFlight", "bulk requests in flight at once (pipelining hides the round trip)");
    doc("indexer.maxInFlightBytes", "bytes of bulk bodies in flight at once: the memory bound when readings are large");
    doc("indexer.requestTimeout", "timeout of one bulk request");

    doc("storage.dir", "root of the store (Hive-style `date=YYYY-MM-DD/hour=HH/` below it)");
    doc("storage.formats", "file formats written for every batch (several may be combined)");
    doc("storage.rollRows", "a file is committed when it holds this many rows ...");
    doc("storage.rollBytes", "... or this many (uncompressed, estimated) bytes ...");
    doc("storage.rollAge", "... or when its oldest row waited this long: the visibility bound");
    doc("storage.metrics", "metrics stored as typed columns; others are kept in a map column");
    doc("storage.retention", "day partitions older than this are dropped (unset: keep forever)");
    doc("storage.compaction.enabled", "the store role merges each closed hour's files into one and applies `retention`");
    doc("storage.compaction.after", "an hour counts as closed this long after its end");
    doc("storage.compaction.every", "how often the store role looks for work");

    doc("*.consumer.prefetch", "unacked messages per partition queue: the memory bound (a storage file holds at most half of it)");
    doc("*.consumer.batchMax", "most records per batch handed to the sink");
    doc("*.consumer.batchBytes", "most body bytes per batch");
    doc("*.consumer.batchWait", "longest a partial batch waits before it is handed over");
    doc("*.consumer.backoff.initial", "first retry delay after a failed write (doubles per attempt, with jitter)");
    doc("*.consumer.backoff.max", "longest retry delay");
    doc("*.consumer.retry.attempts", "a message failing while others succeed is dead-lettered after this many attempts ...");
    doc("*.consumer.retry.time", "... and this long since its first failure (`retries exhausted`); an outage never dead-letters");
    doc("*.consumer.degradedAfter", "writes failing this long make health DEGRADED (DOWN after 10x)");
    doc("*.consumer.maxRate", "most messages per second handed to the sink (0: unlimited); protects a shared engine while a backlog drains");

    doc("simulator.edge", "edge broker the simulated devices publish to", "the first of `topology.edges`");
    doc("simulator.mqtt", "the edge's MQTT listener, used with `protocol: mqtt`");
    doc("simulator.devices", "fleet size");
    doc("simulator.rate", "messages per second for the whole fleet at the profile's peak");
    doc("simulator.duration", "how long to publish");
    doc("simulator.profile", "load shape over the day");
    doc("simulator.protocol", "what the devices speak");
    doc("simulator.maxInFlight", "unconfirmed publishes allowed at once (back-pressure beyond)");
    doc("slo.window", "the SLO window the error budgets are counted over (at least 1d; 28d or 30d is usual)");
    doc("slo.completeness.target", "share of readings that must reach each sink (`99.99%`, `99.99` or `0.9999`); gaps and dead letters spend the budget");
    doc("slo.completeness.grace", "a seq gap open this long counts as missing readings (late ones closing it within the grace are fine)");
    doc("slo.completeness.maxDevices", "devices each sink tracks seq gaps for (least recently seen dropped beyond it): bounds memory");
    doc("slo.freshness.sinks", "per sink `{target, within}`: share of readings durable within the time (default 99%; elk 5s, storage rollAge + 30s, a plugin's sink what its own section implies: lake 2 x commitInterval + 30s)");
    doc("slo.availability.target", "share of time each sink reports health and is not DOWN");
    doc("slo.availability.countDegraded", "whether DEGRADED counts as unavailable too");
    doc("storage.privacy.key", "HMAC-SHA256 key for pseudonyms, from the environment (`${IOTPIPE_PSEUDONYM_KEY}`, at least 32 bytes); never in files or logs");
    doc("storage.privacy.columns.deviceId", "keep or pseudonymise (`p-` + 32 hex, the same for a device across files and restarts)");
    doc("storage.privacy.columns.site", "keep, drop or pseudonymise the site column of the files");
    doc("storage.privacy.columns.region", "keep, drop or pseudonymise the region column of the files");
    doc("storage.privacy.columns.status", "keep, drop or pseudonymise the status column of the files");
    doc("storage.privacy.columns.errorCode", "keep, drop or pseudonymise the error code column of the files");
    doc("storage.privacy.columns.tenant", "keep, drop or pseudonymise the tenant column (the device's customer) of the files and the lake's table");
    doc("storage.privacy.columns.attributes", "keep, drop or pseudonymise (every value; names kept) the attributes column: the unknown"
        + " fields `contract.unknownFields: keep` kept, which may hold anything a firmware sends");
    doc("simulator.regions", "regions the fleet is spread over", "eu-west, us-east, ap-southeast");
    doc("simulator.regions.<name>.utcOffsetHours", "the region's UTC offset, so rush hours differ");

    doc("observability.port", "HTTP port of `/health` and `/metrics` (Prometheus); 0 turns them off");
    doc("observability.bind", "address the endpoint listens on");

    // Sections of plugin modules describe their own keys (ConfigSection.docs), next to where they read them.
    for (ConfigSection<?> section : ConfigSection.installed()) {
      section.docs().forEach((path, text) -> doc(path.isEmpty() ? section.name() : section.name() + "." + path, text));
    }
  }

  /** A key of the reference with its description. */
  public record Entry(ConfigKey key, String description, String defaultText) {}

  private ConfigReference() {}

  /** Every key the reader asks for, in reading order. */
  public static List<ConfigKey> keys() {
    Map<String, ConfigKey> catalog = new LinkedHashMap<>();
    IotpipeConfig.read(ConfigNode.describing(catalog));
    return List.copyOf(catalog.values());
  }

  /** Every key with its description (null when it has none: {@code ConfigReferenceTest} names those). */
  public static List<Entry> entries() {
    List<Entry> out = new ArrayList<>();
    for (ConfigKey k : keys()) {
      Doc d = describe(k.path());
      String dflt = d != null && d.computedDefault() != null ? d.computedDefault()
          : k.required() ? "required" : k.defaultValue() == null ? "-" : "`" + k.defaultValue() + "`";
      out.add(new Entry(k, d == null ? null : d.text(), dflt));
    }
    return out;
  }

  /** Descriptions whose path the reader no longer asks for (a renamed or removed key). */
  static List<String> staleDescriptions() {
    List<String> paths = keys().stream().map(ConfigKey::path).toList();
    return DOCS.keySet().stream().filter(p -> paths.stream().noneMatch(k -> k.equals(p) || wildcard(k).equals(p))).toList();
  }

  private static Doc describe(String path) {
    Doc d = DOCS.get(path);
    return d != null ? d : DOCS.get(wildcard(path));
  }

  /** {@code indexer.consumer.prefetch} -> {@code *.consumer.prefetch}. */
  private static String wildcard(String path) {
    int dot = path.indexOf('.');
    return dot < 0 ? path : "*" + path.substring(dot);
  }

  /** The reference as Markdown: a few lines on syntax, then one table row per key. */
  public static String markdown() {
    StringBuilder b = new StringBuilder();
    b.append("Generated by `iotpipe config reference` from the validator itself. Durations: `500ms`, `30s`, `5m`, `2h`, `90d` (at most `")
        .append(ConfigUnits.formatDuration(ConfigUnits.MAX_DURATION)).append("`). Sizes: bytes or `16KiB`, `64MiB`, `1GiB`, `1GB` (at most `")
        .append(ConfigUnits.formatBytes(ConfigUnits.MAX_BYTES)).append("`). Any text value may use `${VAR}` or `${VAR:-default}`.\n\n");
    b.append("| key | type | default | description |\n");
    b.append("|---|---|---|---|\n");
    entries().forEach(e -> b.append(row(e)));
    return b.toString();
  }

  /** The reference rows of the keys under {@code section} (a plugin's section documented where the plugin is). */
  public static String rows(String section) {
    StringBuilder b = new StringBuilder("| key | type | default | description |\n|---|---|---|---|\n");
    entries().stream().filter(e -> e.key().path().equals(section) || e.key().path().startsWith(section + "."))
        .forEach(e -> b.append(row(e)));
    return b.toString();
  }

  private static String row(Entry e) {
    String type = e.key().type() + (e.key().rules().isEmpty() ? "" : "; " + String.join("; ", e.key().rules()));
    return "| `" + cell(e.key().path()) + "` | " + cell(type) + " | " + cell(e.defaultText()) + " | "
        + cell(e.description() == null ? "" : e.description()) + " |\n";
  }

  private static String cell(String s) {
    return s.replace("|", "\\|");
  }
}
