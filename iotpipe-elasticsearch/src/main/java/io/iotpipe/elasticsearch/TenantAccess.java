package io.iotpipe.elasticsearch;

import io.iotpipe.core.config.IndexerConfig;
import java.util.List;
import java.util.Map;

/**
 * A tenant's read access in the search engine, through the engine's own security API: a role that may read only the
 * tenant's indices ({@link TenantIndices#patterns}) and a user holding only that role, both named
 * {@link TenantIndices#role}. Elasticsearch 8 ({@code _security}) and OpenSearch's security plugin
 * ({@code _plugins/_security}) shape roles and users differently: one implementation each, chosen by what the engine
 * says it is, never by a configuration name. Why a user and not an API key: an API key is bound to the privileges of
 * whoever created it (an administrator) and to inline role descriptors, so it can neither be listed by role nor be
 * removed with it; a user with the named role is both, and its password rotates like any other.
 */
public sealed interface TenantAccess permits ElasticsearchTenantAccess, OpenSearchTenantAccess {

  /** What {@link #add} did. @param userCreated false when the user existed: its password was left as it is */
  record Added(String role, String user, List<String> indices, boolean roleChanged, boolean userCreated) {}

  /** A tenant's role as the engine holds it. */
  record Tenant(String id, String role, List<String> indices, boolean user) {}

  /** How the tenant's role in the engine compares with the declaration. */
  record RoleState(String role, boolean exists, boolean matches) {}

  /**
   * Creates (or brings back to the declaration) the tenant's role and creates its user with {@code password} when
   * it does not exist yet. Idempotent; the password is sent once, in the body of the create request, and nowhere else.
   */
  Added add(String tenant, char[] password);

  /** The tenants' roles iotpipe made, by tenant id. */
  Map<String, Tenant> list();

  /** Deletes the tenant's user and role (its indices and data stay). True when either existed. */
  boolean remove(String tenant);

  /** For {@code topology plan}: whether {@code tenant}'s role exists and is as declared. */
  RoleState state(String tenant);

  /** The access for the engine {@code client} talks to (asks it: {@code GET /}). */
  static TenantAccess of(EsClient client, IndexerConfig cfg) {
    IndexSetup.Engine engine = IndexSetup.detect(client, SecurityApi.ADMIN_FIX);
    return engine.openSearch() ? new OpenSearchTenantAccess(client, cfg) : new ElasticsearchTenantAccess(client, cfg);
  }
}
