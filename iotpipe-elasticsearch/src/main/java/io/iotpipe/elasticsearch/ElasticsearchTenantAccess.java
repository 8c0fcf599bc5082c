package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.tenant.TenantId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@link TenantAccess} on Elasticsearch 8 security ({@code _security}): a role that may read only the tenant's indices
 * ({@link TenantIndices#roleBody}) and a native user holding only that role, named like the role.
 */
final class ElasticsearchTenantAccess implements TenantAccess {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final EsClient client;
  private final IndexerConfig cfg;
  private final SecurityApi api;

  ElasticsearchTenantAccess(EsClient client, IndexerConfig cfg) {
    this.client = client;
    this.cfg = cfg;
    this.api = new SecurityApi(client, "a user with the manage_security privilege",
        "Elasticsearch 8 with security enabled (xpack.security.enabled)");
  }

  @Override
  public Added add(String tenant, char[] password) {
    TenantId.check(tenant);
    String role = TenantIndices.role(cfg, tenant);
    ObjectNode body = TenantIndices.roleBody(cfg, tenant);
    JsonNode existing = get("/_security/role/" + role).path(role);
    boolean changed = existing.isMissingNode() || !sameRole(existing, body);
    if (changed) {
      require(client.sendSync("PUT", "/_security/role/" + role, body.toString()), "creating role " + role);
    }
    boolean userExists = client.sendSync("GET", "/_security/user/" + role, null).status() == 200;
    if (!userExists) {
      ObjectNode user = JSON.createObjectNode();
      user.put("password", new String(password));
      user.putArray("roles").add(role);
      user.put("full_name", "iotpipe tenant " + tenant + " (read only)");
      user.putObject("metadata").put("iotpipe_tenant", tenant);
      require(client.sendSync("PUT", "/_security/user/" + role, user.toString()), "creating user " + role);
    }
    return new Added(role, role, TenantIndices.patterns(cfg, tenant), changed, !userExists);
  }

  /** The tenants' roles iotpipe made ({@code metadata.iotpipe_tenant}), by tenant id. */
  @Override
  public Map<String, Tenant> list() {
    Map<String, Tenant> out = new TreeMap<>();
    JsonNode roles = get("/_security/role");
    roles.fields().forEachRemaining(e -> {
      String tenant = e.getValue().path("metadata").path("iotpipe_tenant").asText(null);
      if (tenant != null && e.getKey().equals(TenantIndices.role(cfg, tenant))) {
        List<String> indices = new ArrayList<>();
        e.getValue().path("indices").forEach(ix -> ix.path("names").forEach(n -> indices.add(n.asText())));
        boolean user = client.sendSync("GET", "/_security/user/" + e.getKey(), null).status() == 200;
        out.put(tenant, new Tenant(tenant, e.getKey(), indices, user));
      }
    });
    return out;
  }

  @Override
  public boolean remove(String tenant) {
    String role = TenantIndices.role(cfg, TenantId.check(tenant));
    EsClient.Response u = client.sendSync("DELETE", "/_security/user/" + role, null);
    if (u.status() != 404) {
      require(u, "deleting user " + role);
    }
    EsClient.Response r = client.sendSync("DELETE", "/_security/role/" + role, null);
    if (r.status() != 404) {
      require(r, "deleting role " + role);
    }
    return u.status() != 404 || r.status() != 404;
  }

  @Override
  public RoleState state(String tenant) {
    String role = TenantIndices.role(cfg, TenantId.check(tenant));
    JsonNode existing = get("/_security/role/" + role).path(role);
    return new RoleState(role, !existing.isMissingNode(), !existing.isMissingNode() && sameRole(existing, TenantIndices.roleBody(cfg, tenant)));
  }

  /** The index privileges and cluster privileges are what matters; the engine adds fields of its own. */
  static boolean sameRole(JsonNode stored, ObjectNode wanted) {
    return stored.path("cluster").equals(wanted.path("cluster"))
        && stored.path("indices").size() == 1
        && stored.path("indices").get(0).path("names").equals(wanted.path("indices").get(0).path("names"))
        && stored.path("indices").get(0).path("privileges").equals(wanted.path("indices").get(0).path("privileges"))
        && stored.path("indices").get(0).path("field_security").isMissingNode()
        && stored.path("indices").get(0).path("query").isMissingNode()
        && stored.path("run_as").size() == 0
        && stored.path("applications").size() == 0;
  }

  private JsonNode get(String path) {
    EsClient.Response r = client.sendSync("GET", path, null);
    if (r.status() == 404) {
      // ES answers 404 with {} for an unknown role; an engine without the API answers 404 with an error body
      if (r.text().isBlank() || r.text().strip().equals("{}")) {
        return JSON.createObjectNode();
      }
    }
    require(r, "reading " + path);
    return api.json(r, path);
  }

  private void require(EsClient.Response r, String what) {
    api.require(r, what);
  }
}
