package io.iotpipe.core.config;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The search path: where documents go and how they are shaped.
 *
 * @param urls          Elasticsearch/OpenSearch HTTP endpoints (tried round-robin, a failing one is skipped)
 * @param username      basic-auth user, or null
 * @param password      basic-auth password from the environment
 * @param apiKey        Elasticsearch API key (the base64 {@code encoded} value) from the environment, instead of a password
 * @param caFile        PEM file with the CA certificate(s) that signed the engine's HTTPS certificate, or null for the
 *                      JVM's default trust store
 * @param indexPrefix   event indices are {@code <prefix>-yyyy.MM.dd} (or per month / a single index)
 * @param period        index period by event time
 * @param shards        primary shards per index
 * @param replicas      replicas per index
 * @param latestIndex   index with one document per device holding its newest reading, or null when
 *                      {@code indexer.latestState} is false (events only: about a third less engine work per reading)
 * @param maxInFlight   bulk requests in flight at once (pipelining hides the round trip)
 * @param maxInFlightBytes bytes of bulk request bodies in flight at once: the memory bound when readings are large
 * @param requestTimeout timeout of one bulk request
 * @param consumer      queue consumption and batching
 */
public record IndexerConfig(List<URI> urls, String username, Secret password, Secret apiKey, Path caFile,
                            String indexPrefix, IndexPeriod period, int shards, int replicas, String latestIndex,
                            int maxInFlight, long maxInFlightBytes, Duration requestTimeout, ConsumerSettings consumer) {

  public enum IndexPeriod { DAILY, MONTHLY, NONE }

  /** Whether the indexer keeps the latest-state index ({@code indexer.latestState}). */
  public boolean latestState() {
    return latestIndex != null;
  }

  private static final Pattern INDEX = Pattern.compile("[a-z0-9][a-z0-9._-]{0,100}");

  static IndexerConfig read(ConfigNode c) {
    List<URI> urls = c.uris("urls", List.of(URI.create("http://127.0.0.1:9200")), Set.of("http", "https"));
    String username = c.string("username", null);
    Secret password = c.secret("password");
    Secret apiKey = c.secret("apiKey");
    c.check("apiKey", "use either apiKey or username/password, not both", !(apiKey.isSet() && (username != null || password.isSet())), null);
    c.check("password", "a password needs a username (indexer.username)", !(password.isSet() && username == null), null);
    Path caFile = c.path("caFile", null);
    if (c.check("caFile", "must be a readable PEM file (the CA certificate that signed the search engine's certificate)",
        caFile == null || Files.isReadable(caFile), caFile == null ? null : io.iotpipe.core.Reasons.quote(caFile.toString(), 200))) {
      c.check("caFile", "only with an https:// entry in indexer.urls (write https://... to encrypt the connection)",
          caFile == null || urls.stream().anyMatch(u -> u.getScheme().equals("https")), null);
    }
    String prefix = c.matching("indexPrefix", "telemetry", INDEX, "lower-case index name");
    IndexPeriod period = c.enumValue("period", IndexPeriod.class, IndexPeriod.DAILY);
    int shards = c.integer("shards", 1, 1, 1024);
    int replicas = c.integer("replicas", 0, 0, 16);
    String latest = c.matching("latestIndex", prefix + "-latest", INDEX, "lower-case index name");
    if (!c.bool("latestState", true)) {
      latest = null;
    }
    int inFlight = c.integer("maxInFlight", 2, 1, 64);
    long inFlightBytes = c.bytes("maxInFlightBytes", 32L << 20, 1L << 20, 1L << 40);
    Duration timeout = c.duration("requestTimeout", Duration.ofSeconds(30));
    ConsumerSettings consumer = ConsumerSettings.read(c.child("consumer"), 2000, 1000, Duration.ofMillis(200));
    c.finish();
    return new IndexerConfig(urls, username, password, apiKey, caFile, prefix, period, shards, replicas, latest, inFlight,
        inFlightBytes, timeout, consumer);
  }
}
