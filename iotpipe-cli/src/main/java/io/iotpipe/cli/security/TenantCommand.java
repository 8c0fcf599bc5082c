package io.iotpipe.cli.security;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.config.SecretFiles;
import io.iotpipe.core.tenant.TenantId;
import io.iotpipe.elasticsearch.EsClient;
import io.iotpipe.elasticsearch.TenantAccess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code iotpipe tenant add|list|remove}: each tenant's read-only role and user in the search engine. */
@Command(name = "tenant", mixinStandardHelpOptions = true,
    description = "Per-tenant read access in the search engine (Elasticsearch 8 security or OpenSearch's security plugin):"
        + " a role that may read only the"
        + " tenant's indices (events and latest state) and a user with only that role.",
    subcommands = {TenantCommand.Add.class, TenantCommand.ListTenants.class, TenantCommand.Remove.class})
public final class TenantCommand implements IotpipeCommand, Runnable {

  /** Where the administrator's password comes from: never a command-line argument (shell history, ps). */
  static final String ADMIN_PASSWORD_ENV = "IOTPIPE_SEARCH_ADMIN_PASSWORD";

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  abstract static class Base implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--admin-user", paramLabel = "NAME", description = "A search-engine user with manage_security (Elasticsearch)"
        + " or a role in plugins.security.restapi.roles_enabled (OpenSearch); password from $" + ADMIN_PASSWORD_ENV
        + "; default: the indexer's credentials from the config.")
    String adminUser;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    IndexerConfig indexer;

    TenantAccess access(EsClient[] holder) {
      indexer = config.loadSections("indexer").indexer();
      EsClient client;
      if (adminUser != null) {
        String pw = System.getenv(ADMIN_PASSWORD_ENV);
        if (pw == null || pw.isEmpty()) {
          throw new CommandFailure(ExitCode.USAGE, "--admin-user needs the password in the environment: export " + ADMIN_PASSWORD_ENV);
        }
        client = EsClient.as(indexer, adminUser, pw);
      } else {
        client = new EsClient(indexer);
      }
      holder[0] = client;
      return TenantAccess.of(client, indexer);
    }

    static String tenant(String id) {
      if (!TenantId.valid(id)) {
        throw new CommandFailure(ExitCode.USAGE, "\"" + io.iotpipe.core.Reasons.sanitize(id, 40) + "\" is not a valid tenant id: use " + TenantId.RULE);
      }
      return id;
    }

    Integer failing(RuntimeException e) {
      if (e instanceof CommandFailure f) {
        throw f;
      }
      throw new CommandFailure(ExitCode.FAILED, e.getMessage());
    }
  }

  @Command(name = "add", mixinStandardHelpOptions = true,
      description = "Create the tenant's role (read on its indices only) and its user; the user's password is written"
          + " once to a 0600 file (never printed). Again for an existing tenant: the role is brought back to the"
          + " declaration, the password kept.")
  static final class Add extends Base {
    @Parameters(paramLabel = "ID", description = "Tenant id (" + TenantId.RULE + ").")
    String id;

    @Option(names = "--credentials-dir", paramLabel = "DIR", defaultValue = "tenant-credentials",
        description = "Where the new user's password file goes, mode 0600 (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Override
    public Integer call() {
      String tenant = tenant(id);
      EsClient[] c = new EsClient[1];
      try {
        TenantAccess access = access(c);
        String role = io.iotpipe.elasticsearch.TenantIndices.role(indexer, tenant);
        Path file = dir.resolve(role + ".password");
        // Written before the user exists, so a password the engine accepted is never lost with a failed write.
        String password = SecretFiles.newPassword();
        Path pending = dir.resolve(role + ".password.new");
        Files.createDirectories(dir);
        SecretFiles.write(pending, password.getBytes(StandardCharsets.UTF_8));
        TenantAccess.Added a;
        try {
          a = access.add(tenant, password.toCharArray());
        } catch (RuntimeException e) {
          Files.deleteIfExists(pending);
          throw e;
        }
        if (a.userCreated()) {
          Files.move(pending, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } else {
          Files.deleteIfExists(pending);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tenant", tenant);
        m.put("role", a.role());
        m.put("user", a.user());
        m.put("indices", a.indices());
        m.put("roleChanged", a.roleChanged());
        m.put("userCreated", a.userCreated());
        m.put("passwordFile", a.userCreated() ? file.toString() : null);
        if (json) {
          new Output().printJson(m);
        } else {
          System.out.println((a.roleChanged() ? "+ role " : "= role ") + a.role() + ": read " + String.join(", ", a.indices()));
          System.out.println(a.userCreated()
              ? "+ user " + a.user() + " (only that role); password written to " + file + " (0600)"
              : "= user " + a.user() + " exists; its password was not changed");
        }
        return ExitCode.OK;
      } catch (java.io.IOException e) {
        throw new CommandFailure(ExitCode.FAILED, "cannot write the password file under " + dir + ": " + e.getMessage());
      } catch (RuntimeException e) {
        return failing(e);
      } finally {
        if (c[0] != null) {
          c[0].close();
        }
      }
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "The tenants' roles and users iotpipe made in the search engine.")
  static final class ListTenants extends Base {
    @Override
    public Integer call() {
      EsClient[] c = new EsClient[1];
      try {
        Map<String, TenantAccess.Tenant> tenants = access(c).list();
        if (json) {
          new Output().printJson(Map.of("tenants", List.copyOf(tenants.values())));
        } else if (tenants.isEmpty()) {
          System.out.println("no tenants (iotpipe tenant add ID creates one)");
        } else {
          tenants.values().forEach(t -> System.out.println(t.id() + "  role " + t.role() + " reads " + String.join(", ", t.indices())
              + (t.user() ? "; user " + t.role() : "; no user (iotpipe tenant add " + t.id() + " creates it)")));
        }
        return ExitCode.OK;
      } catch (RuntimeException e) {
        return failing(e);
      } finally {
        if (c[0] != null) {
          c[0].close();
        }
      }
    }
  }

  @Command(name = "remove", mixinStandardHelpOptions = true,
      description = "Delete the tenant's user and role from the search engine (its indices and readings stay).")
  static final class Remove extends Base {
    @Parameters(paramLabel = "ID", description = "Tenant id.")
    String id;

    @Override
    public Integer call() {
      String tenant = tenant(id);
      EsClient[] c = new EsClient[1];
      try {
        boolean existed = access(c).remove(tenant);
        if (json) {
          new Output().printJson(Map.of("tenant", tenant, "removed", existed));
        } else {
          System.out.println(existed ? "- tenant " + tenant + ": user and role deleted (its indices stay)" : "tenant " + tenant + " had no role or user");
        }
        return ExitCode.OK;
      } catch (RuntimeException e) {
        return failing(e);
      } finally {
        if (c[0] != null) {
          c[0].close();
        }
      }
    }
  }
}
