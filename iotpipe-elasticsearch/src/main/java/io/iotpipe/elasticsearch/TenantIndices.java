package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.tenant.TenantId;

/**
 * Where a tenant's readings live in the search engine and the role that may read them.
 *
 * <p>Index per tenant (not one index with filtered aliases): a tenant's credential asking for another tenant's index
 * is refused by the engine (HTTP 403), not handed an empty result, and no query can widen a filter it does not have.
 * The tenant goes last, after a {@code .}: {@code telemetry-2026.12.07.tenant-a}, {@code telemetry-latest.tenant-a}.
 * Tenant ids cannot contain {@code .}, so the pattern {@code telemetry-*.tenant-a} matches tenant {@code a}'s
 * indices only (not {@code a-b}'s: {@code ….tenant-a-b} does not end in {@code .tenant-a}); and the event indices
 * still match {@code telemetry-20*}, so the template, the audit and reindex see them without change. Readings of
 * devices without a tenant keep today's names ({@code telemetry-2026.12.07}, {@code telemetry-latest}).
 */
public final class TenantIndices {

  static final String INFIX = ".tenant-";
  private static final ObjectMapper JSON = new ObjectMapper();

  private TenantIndices() {}

  /** {@code index} (an event or latest-state index name) for {@code tenant}; {@code index} itself for none. */
  public static String of(String index, String tenant) {
    return tenant == null ? index : index + INFIX + tenant;
  }

  /** The pattern of every latest-state index of a tenant, for the index template. */
  static String latestPattern(IndexerConfig cfg) {
    return cfg.latestIndex() + INFIX + "*";
  }

  /** The role name of {@code tenant} in the engine: {@code <indexPrefix>-tenant-<id>}. */
  public static String role(IndexerConfig cfg, String tenant) {
    return cfg.indexPrefix() + "-tenant-" + TenantId.check(tenant);
  }

  /** The index patterns {@code tenant}'s role may read: its events (also rebuilt ones) and its latest state. */
  public static java.util.List<String> patterns(IndexerConfig cfg, String tenant) {
    TenantId.check(tenant);
    java.util.List<String> p = new java.util.ArrayList<>();
    p.add(cfg.indexPrefix() + "-*" + INFIX + tenant);
    if (cfg.latestIndex() != null && !cfg.latestIndex().startsWith(cfg.indexPrefix() + "-")) {
      p.add(cfg.latestIndex() + "*" + INFIX + tenant);
    }
    return p;
  }

  /**
   * The body of {@code PUT _security/role/<role>} (Elasticsearch 8; OpenSearch's: {@link OpenSearchTenantAccess#roleBody}):
   * read and index metadata on the tenant's indices, nothing on the cluster.
   * {@code metadata.iotpipe_tenant} is how {@code tenant list} finds the roles iotpipe made.
   */
  public static ObjectNode roleBody(IndexerConfig cfg, String tenant) {
    ObjectNode role = JSON.createObjectNode();
    role.putArray("cluster");
    ObjectNode ix = role.putArray("indices").addObject();
    ArrayNode names = ix.putArray("names");
    patterns(cfg, tenant).forEach(names::add);
    ix.putArray("privileges").add("read").add("view_index_metadata");
    role.putObject("metadata").put("iotpipe_tenant", tenant);
    return role;
  }
}
