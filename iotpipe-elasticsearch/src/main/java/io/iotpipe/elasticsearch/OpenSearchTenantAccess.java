package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.tenant.TenantId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@link TenantAccess} on OpenSearch's security plugin ({@code _plugins/_security/api}): a role that may read only the
 * tenant's indices, an internal user, and the role mapping that gives the user the role (OpenSearch keeps who holds a
 * role apart from both), all three named {@link TenantIndices#role}. OpenSearch roles carry no metadata: a role is a
 * tenant's when its name is the tenant's role name and its description is {@link #description iotpipe's}.
 *
 * <p>Calling the API needs a user whose role is in the node setting {@code plugins.security.restapi.roles_enabled}.
 * Like Elasticsearch, a tenant's credential asking for another tenant's index by name is refused (HTTP 403); that the
 * engine narrows a wildcard ({@code telemetry-*}) to the tenant's own indices, instead of refusing it, is the security
 * configuration's {@code do_not_fail_on_forbidden: true}.
 */
final class OpenSearchTenantAccess implements TenantAccess {

  static final String API = "/_plugins/_security/api/";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final IndexerConfig cfg;
  private final SecurityApi api;

  OpenSearchTenantAccess(EsClient client, IndexerConfig cfg) {
    this.cfg = cfg;
    this.api = new SecurityApi(client, "a user whose role is listed in the node setting plugins.security.restapi.roles_enabled"
        + " (all_access, for example)", "OpenSearch's security plugin (opensearch-security) installed and initialised");
  }

  @Override
  public Added add(String tenant, char[] password) {
    String role = TenantIndices.role(cfg, TenantId.check(tenant));
    ObjectNode body = roleBody(cfg, tenant);
    JsonNode existing = find("roles", role);
    boolean roleChanged = existing == null || !sameRole(existing, body);
    if (roleChanged) {
      api.require(api.send("PUT", API + "roles/" + role, body.toString()), "creating role " + role);
    }
    JsonNode mapping = find("rolesmapping", role);
    boolean mappingChanged = mapping == null || !sameMapping(mapping, role);
    if (mappingChanged) {
      api.require(api.send("PUT", API + "rolesmapping/" + role, mappingBody(tenant, role).toString()), "mapping role " + role + " to its user");
    }
    // PUT on an existing user would replace its password: only a missing user is created
    boolean userExists = find("internalusers", role) != null;
    if (!userExists) {
      api.require(api.send("PUT", API + "internalusers/" + role, userBody(tenant, password).toString()), "creating user " + role);
    }
    return new Added(role, role, TenantIndices.patterns(cfg, tenant), roleChanged || mappingChanged, !userExists);
  }

  @Override
  public Map<String, Tenant> list() {
    Map<String, Tenant> out = new TreeMap<>();
    EsClient.Response r = api.send("GET", API + "roles", null);
    api.require(r, "reading " + API + "roles");
    api.json(r, API + "roles").fields().forEachRemaining(e -> {
      String tenant = tenantOf(cfg, e.getKey(), e.getValue());
      if (tenant != null) {
        List<String> indices = new ArrayList<>();
        e.getValue().path("index_permissions").forEach(ix -> ix.path("index_patterns").forEach(n -> indices.add(n.asText())));
        out.put(tenant, new Tenant(tenant, e.getKey(), indices, find("internalusers", e.getKey()) != null));
      }
    });
    return out;
  }

  @Override
  public boolean remove(String tenant) {
    String role = TenantIndices.role(cfg, TenantId.check(tenant));
    boolean existed = false;
    // the user first: from then on nobody logs in as the tenant, whatever fails next
    for (String kind : List.of("internalusers", "rolesmapping", "roles")) {
      EsClient.Response r = api.send("DELETE", API + kind + "/" + role, null);
      if (r.status() != 404 || !notFound(r)) {
        api.require(r, "deleting " + kind + "/" + role);
        existed = true;
      }
    }
    return existed;
  }

  @Override
  public RoleState state(String tenant) {
    String role = TenantIndices.role(cfg, TenantId.check(tenant));
    JsonNode existing = find("roles", role);
    if (existing == null) {
      return new RoleState(role, false, false);
    }
    JsonNode mapping = find("rolesmapping", role);
    return new RoleState(role, true, sameRole(existing, roleBody(cfg, tenant)) && mapping != null && sameMapping(mapping, role));
  }

  /** Marks a role as iotpipe's: OpenSearch roles have a description but no metadata. */
  static String description(String tenant) {
    return "iotpipe tenant " + tenant + ": read only";
  }

  /**
   * The body of {@code PUT _plugins/_security/api/roles/<role>}: on the tenant's indices, {@code read} (search, count,
   * get, field capabilities) and what Elasticsearch's {@code view_index_metadata} gives the same role (the indices'
   * mappings, settings and aliases, with which a dashboard finds the fields); nothing on the cluster.
   */
  static ObjectNode roleBody(IndexerConfig cfg, String tenant) {
    ObjectNode role = JSON.createObjectNode();
    role.put("description", description(tenant));
    role.putArray("cluster_permissions");
    ObjectNode ix = role.putArray("index_permissions").addObject();
    ArrayNode patterns = ix.putArray("index_patterns");
    TenantIndices.patterns(cfg, tenant).forEach(patterns::add);
    ix.putArray("allowed_actions").add("read").add("indices:admin/get").add("indices:admin/mappings/get")
        .add("indices:admin/settings/get").add("indices:admin/aliases/get");
    return role;
  }

  /** {@code PUT _plugins/_security/api/internalusers/<user>}: the password, no backend role, the tenant as attribute. */
  static ObjectNode userBody(String tenant, char[] password) {
    ObjectNode user = JSON.createObjectNode();
    user.put("password", new String(password));
    user.putArray("backend_roles");
    user.putObject("attributes").put("iotpipe_tenant", tenant);
    user.put("description", "iotpipe tenant " + tenant + " (read only)");
    return user;
  }

  /** {@code PUT _plugins/_security/api/rolesmapping/<role>}: the tenant's role, held by its user alone. */
  static ObjectNode mappingBody(String tenant, String role) {
    ObjectNode mapping = JSON.createObjectNode();
    mapping.put("description", "iotpipe tenant " + tenant + ": its user only");
    mapping.putArray("users").add(role);
    mapping.putArray("backend_roles");
    mapping.putArray("hosts");
    return mapping;
  }

  /** The tenant whose role {@code name} is, or null when it is not a role iotpipe made. */
  static String tenantOf(IndexerConfig cfg, String name, JsonNode role) {
    String prefix = cfg.indexPrefix() + "-tenant-";
    if (!name.startsWith(prefix)) {
      return null;
    }
    String tenant = name.substring(prefix.length());
    return TenantId.valid(tenant) && role.path("description").asText("").equals(description(tenant)) ? tenant : null;
  }

  /** The permissions are what matters; the engine adds fields of its own ({@code reserved}, {@code static}, …). */
  static boolean sameRole(JsonNode stored, ObjectNode wanted) {
    JsonNode ix = stored.path("index_permissions").path(0);
    JsonNode want = wanted.path("index_permissions").path(0);
    return stored.path("cluster_permissions").size() == 0
        && stored.path("index_permissions").size() == 1
        && ix.path("index_patterns").equals(want.path("index_patterns"))
        && ix.path("allowed_actions").equals(want.path("allowed_actions"))
        && ix.path("dls").asText("").isEmpty()
        && ix.path("fls").size() == 0
        && ix.path("masked_fields").size() == 0
        && stored.path("tenant_permissions").size() == 0
        && stored.path("description").equals(wanted.path("description"));
  }

  /** Held by the tenant's user and nobody else: no other user, backend role or host. */
  static boolean sameMapping(JsonNode stored, String user) {
    return stored.path("users").size() == 1 && stored.path("users").get(0).asText().equals(user)
        && stored.path("backend_roles").size() == 0
        && stored.path("and_backend_roles").size() == 0
        && stored.path("hosts").size() == 0;
  }

  /** {@code kind/name} as the engine holds it, or null when it does not exist. */
  private JsonNode find(String kind, String name) {
    EsClient.Response r = api.send("GET", API + kind + "/" + name, null);
    if (r.status() == 404 && notFound(r)) {
      return null;
    }
    api.require(r, "reading " + kind + "/" + name);
    JsonNode found = api.json(r, API + kind + "/" + name).path(name);
    return found.isMissingNode() ? null : found;
  }

  /** The plugin's "no such resource" ({@code {"status":"NOT_FOUND"}}), not a 404 of an engine without the API. */
  private boolean notFound(EsClient.Response r) {
    try {
      return JSON.readTree(r.body()).path("status").asText("").equals("NOT_FOUND");
    } catch (java.io.IOException | RuntimeException e) {
      return false;
    }
  }
}
