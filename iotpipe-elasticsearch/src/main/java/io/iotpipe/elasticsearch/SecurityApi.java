package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * Requests to an engine's security API for {@link TenantAccess}, and what its refusals mean on that engine: which
 * right the administrator lacks ({@code privilege}) or which security the engine lacks ({@code security}).
 */
record SecurityApi(EsClient client, String privilege, String security) {

  /** How to run the tenant commands as someone else, whatever the engine. */
  static final String ADMIN_FIX = "pass --admin-user and set IOTPIPE_SEARCH_ADMIN_PASSWORD";

  private static final ObjectMapper JSON = new ObjectMapper();

  EsClient.Response send(String method, String path, String json) {
    return client.sendSync(method, path, json);
  }

  JsonNode json(EsClient.Response r, String path) {
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new IllegalStateException("GET " + path + " did not return JSON: " + e.getMessage());
    }
  }

  void require(EsClient.Response r, String what) {
    if (r.status() < 300) {
      return;
    }
    if (r.status() == 401 || r.status() == 403) {
      throw new IllegalStateException(what + ": the search engine refused (HTTP " + r.status() + "); tenant commands need " + privilege
          + ": " + ADMIN_FIX);
    }
    if (r.status() == 404 || r.status() == 400 && r.text().contains("no handler")) {
      throw new IllegalStateException(what + ": the search engine has no such security API (HTTP " + r.status() + "): tenants need "
          + security);
    }
    if (r.status() >= 500 || r.status() == 429) {
      throw new EsClient.EsUnavailableException(what + ": HTTP " + r.status(), null);
    }
    throw new IllegalStateException(what + " failed: HTTP " + r.status() + ": " + io.iotpipe.core.Reasons.sanitize(r.text(), 300));
  }
}
