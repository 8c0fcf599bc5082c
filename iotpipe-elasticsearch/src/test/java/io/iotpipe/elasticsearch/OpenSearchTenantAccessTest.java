package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.iotpipe.core.config.IndexerConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * OpenSearch's security-plugin requests for a tenant, without an engine: the bodies, what counts as the declared role,
 * and the order of calls against a stub that answers like the plugin (the real plugin: search-compat.sh os-tenants).
 */
class OpenSearchTenantAccessTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final IndexerConfig CFG = ReindexerTest.config("daily");

  HttpServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  @Test
  void theRoleMayReadTheTenantsIndicesAndTheirMetadataAndNothingElse() throws Exception {
    assertThat(JSON.readTree(OpenSearchTenantAccess.roleBody(CFG, "acme").toString())).isEqualTo(JSON.readTree("""
        {"description": "iotpipe tenant acme: read only",
         "cluster_permissions": [],
         "index_permissions": [{"index_patterns": ["telemetry-*.tenant-acme"],
           "allowed_actions": ["read", "indices:admin/get", "indices:admin/mappings/get", "indices:admin/settings/get",
             "indices:admin/aliases/get"]}]}
        """));
  }

  @Test
  void theUserHasAPasswordAndNoBackendRoleAndTheMappingGivesTheRoleToThatUserAlone() throws Exception {
    assertThat(JSON.readTree(OpenSearchTenantAccess.userBody("acme", "s3cret-Pw".toCharArray()).toString())).isEqualTo(JSON.readTree("""
        {"password": "s3cret-Pw", "backend_roles": [], "attributes": {"iotpipe_tenant": "acme"},
         "description": "iotpipe tenant acme (read only)"}
        """));
    assertThat(JSON.readTree(OpenSearchTenantAccess.mappingBody("acme", "telemetry-tenant-acme").toString())).isEqualTo(JSON.readTree("""
        {"description": "iotpipe tenant acme: its user only", "users": ["telemetry-tenant-acme"], "backend_roles": [], "hosts": []}
        """));
  }

  @Test
  void theRoleAsOpenSearchReturnsItIsTheDeclaredOneAndAWidenedOrFilteredOneIsNot() throws Exception {
    // as OpenSearch 2.19.4 answers GET _plugins/_security/api/roles/<role>
    String stored = """
        {"reserved":false,"hidden":false,"description":"iotpipe tenant acme: read only","cluster_permissions":[],
         "index_permissions":[{"index_patterns":["telemetry-*.tenant-acme"],"fls":[],"masked_fields":[],
           "allowed_actions":["read","indices:admin/get","indices:admin/mappings/get","indices:admin/settings/get","indices:admin/aliases/get"]}],
         "tenant_permissions":[],"static":false}
        """;
    assertThat(OpenSearchTenantAccess.sameRole(JSON.readTree(stored), OpenSearchTenantAccess.roleBody(CFG, "acme"))).isTrue();
    assertThat(OpenSearchTenantAccess.sameRole(JSON.readTree(stored.replace("telemetry-*.tenant-acme", "telemetry-*")),
        OpenSearchTenantAccess.roleBody(CFG, "acme"))).as("widened to every tenant").isFalse();
    assertThat(OpenSearchTenantAccess.sameRole(JSON.readTree(stored.replace("\"cluster_permissions\":[]", "\"cluster_permissions\":[\"cluster_all\"]")),
        OpenSearchTenantAccess.roleBody(CFG, "acme"))).as("rights on the cluster").isFalse();
    assertThat(OpenSearchTenantAccess.sameRole(JSON.readTree(stored.replace("\"fls\":[]", "\"dls\":\"{\\\"match_all\\\":{}}\",\"fls\":[]")),
        OpenSearchTenantAccess.roleBody(CFG, "acme"))).as("a document filter is not the declaration").isFalse();
    String mapping = """
        {"hosts":[],"users":["telemetry-tenant-acme"],"reserved":false,"hidden":false,"backend_roles":[],"and_backend_roles":[],
         "description":"iotpipe tenant acme: its user only"}
        """;
    assertThat(OpenSearchTenantAccess.sameMapping(JSON.readTree(mapping), "telemetry-tenant-acme")).isTrue();
    assertThat(OpenSearchTenantAccess.sameMapping(JSON.readTree(mapping.replace("\"backend_roles\":[]", "\"backend_roles\":[\"staff\"]")),
        "telemetry-tenant-acme")).as("held by a backend role too").isFalse();
  }

  @Test
  void onlyRolesIotpipeMadeForATenantAreListedAsTenants() throws Exception {
    JsonNode ours = OpenSearchTenantAccess.roleBody(CFG, "acme");
    assertThat(OpenSearchTenantAccess.tenantOf(CFG, "telemetry-tenant-acme", ours)).isEqualTo("acme");
    assertThat(OpenSearchTenantAccess.tenantOf(CFG, "telemetry-tenant-globex", ours)).as("another tenant's description").isNull();
    assertThat(OpenSearchTenantAccess.tenantOf(CFG, "all_access", JSON.readTree("{\"description\":\"all\"}"))).isNull();
    assertThat(OpenSearchTenantAccess.tenantOf(CFG, "telemetry-tenant-acme", JSON.readTree("{\"description\":\"made by hand\"}"))).isNull();
  }

  /** A stub of the plugin's API: its resources in a map, GET/PUT/DELETE as the plugin answers them. */
  List<String> stubOpenSearch(Map<String, String> resources, String distribution) throws Exception {
    List<String> calls = new CopyOnWriteArrayList<>();
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", ex -> {
      String path = ex.getRequestURI().getPath();
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      calls.add(ex.getRequestMethod() + " " + path);
      int status;
      String answer;
      if (path.equals("/")) {
        status = 200;
        answer = "{\"version\":{" + (distribution == null ? "" : "\"distribution\":\"" + distribution + "\",") + "\"number\":\"2.19.4\"}}";
      } else if (!path.startsWith(OpenSearchTenantAccess.API)) {
        status = 400;
        answer = "{\"error\":\"no handler found for uri [" + path + "]\"}";
      } else {
        String key = path.substring(OpenSearchTenantAccess.API.length());
        String name = key.substring(key.lastIndexOf('/') + 1);
        switch (ex.getRequestMethod()) {
          case "PUT" -> {
            status = resources.put(key, body) == null ? 201 : 200;
            answer = "{\"status\":\"OK\"}";
          }
          case "DELETE" -> {
            status = resources.remove(key) == null ? 404 : 200;
            answer = status == 404 ? "{\"status\":\"NOT_FOUND\",\"message\":\"not found.\"}" : "{\"status\":\"OK\"}";
          }
          default -> {
            if (key.equals("roles")) { // every role, by name
              StringBuilder all = new StringBuilder("{");
              resources.forEach((k, v) -> {
                if (k.startsWith("roles/")) {
                  all.append(all.length() > 1 ? "," : "").append('"').append(k.substring(6)).append("\":").append(v);
                }
              });
              resources.put("roles", all.append('}').toString());
            }
            String r = key.equals("roles") ? resources.remove("roles") : resources.get(key);
            status = r == null ? 404 : 200;
            answer = r == null ? "{\"status\":\"NOT_FOUND\",\"message\":\"'" + name + "' not found.\"}"
                : key.equals("roles") ? r : "{\"" + name + "\":" + r + "}";
          }
        }
      }
      byte[] b = answer.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    server.start();
    return calls;
  }

  EsClient client() {
    return new EsClient(List.of(URI.create("http://127.0.0.1:" + server.getAddress().getPort())), null, null, Duration.ofSeconds(5));
  }

  @Test
  void onOpenSearchAddCreatesRoleMappingAndUserOnceAndASecondAddKeepsThePassword() throws Exception {
    Map<String, String> resources = new ConcurrentHashMap<>();
    List<String> calls = stubOpenSearch(resources, "opensearch");
    try (EsClient c = client()) {
      TenantAccess access = TenantAccess.of(c, CFG);
      assertThat(access).isInstanceOf(OpenSearchTenantAccess.class);
      TenantAccess.Added first = access.add("acme", "s3cret-Pw".toCharArray());
      assertThat(first.roleChanged()).isTrue();
      assertThat(first.userCreated()).isTrue();
      assertThat(calls).filteredOn(s -> s.startsWith("PUT")).containsExactly("PUT /_plugins/_security/api/roles/telemetry-tenant-acme",
          "PUT /_plugins/_security/api/rolesmapping/telemetry-tenant-acme", "PUT /_plugins/_security/api/internalusers/telemetry-tenant-acme");
      assertThat(JSON.readTree(resources.get("internalusers/telemetry-tenant-acme")).path("password").asText()).isEqualTo("s3cret-Pw");
      assertThat(access.state("acme")).isEqualTo(new TenantAccess.RoleState("telemetry-tenant-acme", true, true));

      calls.clear();
      TenantAccess.Added again = access.add("acme", "other-Pw".toCharArray());
      assertThat(again.roleChanged()).isFalse();
      assertThat(again.userCreated()).isFalse();
      assertThat(calls).as("nothing rewritten, the password above all").noneMatch(s -> s.startsWith("PUT"));

      resources.put("rolesmapping/telemetry-tenant-acme", "{\"users\":[\"telemetry-tenant-acme\"],\"backend_roles\":[\"staff\"]}");
      assertThat(access.state("acme").matches()).as("someone else holds the role too").isFalse();
      assertThat(access.add("acme", "x".toCharArray()).roleChanged()).isTrue();
      assertThat(access.state("acme").matches()).isTrue();

      resources.put("roles/all_access", "{\"description\":\"all\",\"static\":true}");
      assertThat(access.list()).containsOnlyKeys("acme");
      assertThat(access.list().get("acme")).isEqualTo(new TenantAccess.Tenant("acme", "telemetry-tenant-acme", List.of("telemetry-*.tenant-acme"), true));
      calls.clear();
      assertThat(access.remove("acme")).isTrue();
      assertThat(calls).containsExactly("DELETE /_plugins/_security/api/internalusers/telemetry-tenant-acme",
          "DELETE /_plugins/_security/api/rolesmapping/telemetry-tenant-acme", "DELETE /_plugins/_security/api/roles/telemetry-tenant-acme");
      assertThat(resources).containsOnlyKeys("roles/all_access");
      assertThat(access.remove("acme")).as("nothing left to remove").isFalse();
      assertThat(access.state("acme").exists()).isFalse();
    }
  }

  @Test
  void elasticsearchIsToldFromOpenSearchByWhatTheEngineSays() throws Exception {
    stubOpenSearch(new ConcurrentHashMap<>(), null);
    try (EsClient c = client()) {
      assertThat(TenantAccess.of(c, CFG)).as("GET / without a distribution: Elasticsearch").isInstanceOf(ElasticsearchTenantAccess.class);
    }
  }

  @Test
  void anOpenSearchWithoutItsSecurityPluginIsToldToInstallIt() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", ex -> {
      boolean root = ex.getRequestURI().getPath().equals("/");
      byte[] b = (root ? "{\"version\":{\"distribution\":\"opensearch\",\"number\":\"2.19.4\"}}"
          : "{\"error\":\"no handler found for uri [" + ex.getRequestURI().getPath() + "] and method [GET]\",\"status\":400}")
          .getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(root ? 200 : 400, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    server.start();
    try (EsClient c = client()) {
      assertThatThrownBy(() -> TenantAccess.of(c, CFG).add("acme", "pw".toCharArray()))
          .hasMessageContaining("tenants need OpenSearch's security plugin (opensearch-security) installed and initialised");
    }
  }
}
