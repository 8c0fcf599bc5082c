package io.iotpipe.core.tenant;

import io.iotpipe.core.config.ConfigNode;
import io.iotpipe.core.config.ConfigSection;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code tenants:} section: where the device-to-tenant registry is. Read by the runtime (which stamps each
 * reading's tenant) and by {@code device enroll --tenant} (which writes it): both must name the same file.
 */
public final class TenantsSection implements ConfigSection<TenantsSection.Settings> {

  /** @param registry the registry file, or null: no tenants (every reading without one, today's index names) */
  public record Settings(Path registry) {

    /** The registry, or null when none is configured. */
    public TenantRegistry open() {
      return registry == null ? null : new TenantRegistry(registry);
    }
  }

  public static final TenantsSection SECTION = new TenantsSection();

  /** The registry {@code cfg} names, or null (none configured, or a config built without this section). */
  public static TenantRegistry registry(io.iotpipe.core.config.IotpipeConfig cfg) {
    return cfg.plugins().get(SECTION.name()) instanceof Settings s ? s.open() : null;
  }

  @Override
  public String name() {
    return "tenants";
  }

  @Override
  public Settings read(ConfigNode c) {
    return new Settings(c.path("registry", null));
  }

  @Override
  public Map<String, String> docs() {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("registry", "the device-to-tenant file `iotpipe device enroll --tenant` writes and every sink role reads (the same path for both); absent: no tenants");
    return d;
  }
}
