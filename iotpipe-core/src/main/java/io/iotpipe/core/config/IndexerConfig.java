package io.iotpipe.core.config;

import java.net.URI;
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
 * @param indexPrefix   event indices are {@code <prefix>-yyyy.MM.dd} (or per month / a single index)
 * @param period        index period by event time
 * @param shards        primary shards per index
 * @param replicas      replicas per index
 * @param latestIndex   index with one document per device holding its newest reading
 * @param maxInFlight   bulk requests in flight at once (pipelining hides the round trip)
 * @param requestTimeout timeout of one bulk request
 * @param consumer      queue consumption and batching
 */
public record IndexerConfig(List<URI> urls, String username, Secret password, String indexPrefix, IndexPeriod period,
                            int shards, int replicas, String latestIndex, int maxInFlight, Duration requestTimeout,
                            ConsumerSettings consumer) {

  public enum IndexPeriod { DAILY, MONTHLY, NONE }

  private static final Pattern INDEX = Pattern.compile("[a-z0-9][a-z0-9._-]{0,100}");

  static IndexerConfig read(ConfigNode c) {
    List<URI> urls = c.uris("urls", List.of(URI.create("http://127.0.0.1:9200")), Set.of("http", "https"));
    String username = c.string("username", null);
    Secret password = c.secret("password");
    String prefix = c.matching("indexPrefix", "telemetry", INDEX, "lower-case index name");
    IndexPeriod period = c.enumValue("period", IndexPeriod.class, IndexPeriod.DAILY);
    int shards = c.integer("shards", 1, 1, 1024);
    int replicas = c.integer("replicas", 0, 0, 16);
    String latest = c.matching("latestIndex", prefix + "-latest", INDEX, "lower-case index name");
    int inFlight = c.integer("maxInFlight", 2, 1, 64);
    Duration timeout = c.duration("requestTimeout", Duration.ofSeconds(30));
    ConsumerSettings consumer = ConsumerSettings.read(c.child("consumer"), 2000, 1000, Duration.ofMillis(200));
    c.finish();
    return new IndexerConfig(urls, username, password, prefix, period, shards, replicas, latest, inFlight, timeout, consumer);
  }
}
