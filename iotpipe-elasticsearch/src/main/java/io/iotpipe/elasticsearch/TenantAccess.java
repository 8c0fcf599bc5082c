package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.tenant.TenantId;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A tenant's read access in the search engine, through the engine's own security API (Elasticsearch 8
 * {@code _security}): a role that may read only the tenant's indices ({@link TenantIndices#roleBody}) and a native
 * user holding only that role, named like the role. Why a user and not an API key: an API key is bound to the
 * privileges of whoever created it (an administrator) and to inline role descriptors, so it can neither be listed by
 * role nor be removed with it; a user with the named role is both, and its password rotates like any other.
 * OpenSearch's security plugin has another API ({@code _plugins/_security}): not supported here.
 */
public final class TenantAccess {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final EsClient client;
  private final IndexerConfig cfg;

  public TenantAccess(EsClient client, IndexerConfig cfg) {
    this.client = client;
    this.cfg = cfg;
  }

  /** What {@link #add} did. @param userCreated false when the user existed: its password was left as it is */
  public record Added(String role, String user, List<String> indices, boolean roleChanged, boolean userCreated) {}

  /** A tenant's role as the engine holds it. */
  public record Tenant(String id, String role, List<String> indices, boolean user) {}

  /**
   * Creates (or brings back to the declaration) the tenant's role and creates its user with {@code password} when
   * it does not exist yet. Idempotent; the password is sent once, in the body of the create request, and nowhere else.
   */
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

  /** Deletes the tenant's user and role (its indices and data stay). True when either existed. */
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

  /** How the tenant's role in the engine compares with the declaration: null if equal (or absent: see {@code exists}). */
  public record RoleState(String role, boolean exists, boolean matches) {}

  /** For {@code topology plan}: whether {@code tenant}'s role exists and is as declared. */
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
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new IllegalStateException("GET " + path + " did not return JSON: " + e.getMessage());
    }
  }

  private static void require(EsClient.Response r, String what) {
    if (r.status() < 300) {
      return;
    }
    if (r.status() == 401 || r.status() == 403) {
      throw new IllegalStateException(what + ": the search engine refused (HTTP " + r.status() + "); tenant commands need a user"
          + " with the manage_security privilege: pass --admin-user and set IOTPIPE_SEARCH_ADMIN_PASSWORD");
    }
    if (r.status() == 404 || r.status() == 400 && r.text().contains("no handler")) {
      throw new IllegalStateException(what + ": the search engine has no Elasticsearch security API (HTTP " + r.status()
          + "): tenants need Elasticsearch 8 with security enabled (xpack.security.enabled); OpenSearch's security plugin is not supported yet");
    }
    if (r.status() >= 500 || r.status() == 429) {
      throw new EsClient.EsUnavailableException(what + ": HTTP " + r.status(), null);
    }
    throw new IllegalStateException(what + " failed: HTTP " + r.status() + ": "
        + io.iotpipe.core.Reasons.sanitize(r.text(), 300));
  }
}
