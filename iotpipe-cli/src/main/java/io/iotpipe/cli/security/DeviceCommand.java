package io.iotpipe.cli.security;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.security.AdminApi;
import io.iotpipe.security.Enrollment;
import io.iotpipe.security.Pki;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code iotpipe device enroll|revoke|check}: device identities on the edge broker. */
@Command(name = "device", mixinStandardHelpOptions = true, description = "Enroll, revoke and check devices (certificate or password).",
    subcommands = {DeviceCommand.Enroll.class, DeviceCommand.Revoke.class, DeviceCommand.Check.class})
public final class DeviceCommand implements IotpipeCommand, Runnable {

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  abstract static class Base implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--pki", defaultValue = "pki", description = "PKI directory from 'iotpipe pki init' (default: ${DEFAULT-VALUE}).")
    Path pkiDir;

    @Option(names = "--edge", description = "Edge broker (a name under brokers:; default: the first of topology.edges).")
    String edge;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    IotpipeConfig cfg;
    Pki pki;

    AdminApi api() {
      cfg = config.load();
      pki = Pki.open(pkiDir);
      String name = edge != null ? edge : cfg.topology().edges().getFirst();
      return AdminApi.forBroker(cfg.broker(name), pki);
    }

    Enrollment enrollment() {
      return new Enrollment(pki, cfg.topology().names(), cfg.broker(edge != null ? edge : cfg.topology().edges().getFirst()).vhost());
    }
  }

  @Command(name = "enroll", mixinStandardHelpOptions = true,
      description = "Issue each device a certificate (CN = id) or, with --password, a password; create its broker user"
          + " allowed to publish only telemetry.<id>. Key and password files are written 0600 under the PKI directory.")
  static final class Enroll extends Base {
    static final class Who {
      @Parameters(paramLabel = "ID", arity = "1..*", description = "Device ids.")
      List<String> ids;

      @Option(names = "--fleet", paramLabel = "N", description = "Enroll N devices named <id-prefix>-00000 ...")
      Integer fleet;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Who who;

    @Option(names = "--id-prefix", defaultValue = "device", description = "Name prefix for --fleet (default: ${DEFAULT-VALUE}).")
    String idPrefix;

    @Option(names = "--password", description = "Password devices (TLS without a client certificate) instead of certificates.")
    boolean password;

    @Option(names = "--tenant", paramLabel = "ID", description = "The customer the devices belong to: written into their"
        + " certificates (SAN urn:iotpipe:tenant:ID) and the tenant registry (tenants.registry) the pipeline stamps readings from.")
    String tenant;

    @Override
    public Integer call() {
      if (tenant != null && !io.iotpipe.core.tenant.TenantId.valid(tenant)) {
        throw new CommandFailure(ExitCode.USAGE, "--tenant \"" + io.iotpipe.core.Reasons.sanitize(tenant, 40)
            + "\" is not a valid tenant id: use " + io.iotpipe.core.tenant.TenantId.RULE);
      }
      AdminApi api = api();
      io.iotpipe.core.tenant.TenantRegistry registry = io.iotpipe.core.tenant.TenantsSection.registry(cfg);
      if (tenant != null && registry == null) {
        throw new CommandFailure(ExitCode.USAGE, "--tenant needs tenants.registry in " + config.file
            + ": the file every sink role reads each device's tenant from (e.g. tenants: {registry: /etc/iotpipe/tenants.tsv})");
      }
      List<String> ids = who.ids != null ? who.ids : Enrollment.fleetIds(idPrefix, who.fleet);
      Enrollment.Credential kind = password ? Enrollment.Credential.PASSWORD : Enrollment.Credential.CERTIFICATE;
      Output out = new Output();
      out.info("enrolling " + ids.size() + " device(s) with " + kind.name().toLowerCase() + "s on " + api.base() + " ...");
      Enrollment.Report r = enrollment().enroll(api, ids, kind, tenant, registry, out::progress);
      out.endProgress();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("devices", r.devices());
      m.put("credential", kind.name().toLowerCase());
      m.put("tenant", tenant);
      m.put("issueMillis", r.issueMillis());
      m.put("importMillis", r.importMillis());
      m.put("files", password ? pki.dir().resolve("passwords").toString() : pki.dir().resolve("clients").toString());
      if (json) {
        out.printJson(m);
      } else {
        System.out.printf("enrolled %d device(s) (%s%s): credentials issued in %.1f s, broker users created in %.1f s%n",
            r.devices(), m.get("credential"), tenant == null ? "" : ", tenant " + tenant, r.issueMillis() / 1000.0, r.importMillis() / 1000.0);
        System.out.println("  credential files (mode 0600): " + m.get("files"));
      }
      return ExitCode.OK;
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "Delete the device's broker user, close its connections and delete its key/certificate/password files.")
  static final class Revoke extends Base {
    @Parameters(paramLabel = "ID", arity = "1", description = "Device id.")
    String id;

    @Override
    public Integer call() {
      AdminApi api = api();
      if (api.call("GET", "users/" + AdminApi.enc(id), null).status() == 404) {
        throw new CommandFailure(ExitCode.FAILED, "no user \"" + id + "\" on " + api.base() + " (already revoked, or a typo?)");
      }
      int closed = enrollment().revoke(api, id);
      io.iotpipe.core.tenant.TenantRegistry registry = io.iotpipe.core.tenant.TenantsSection.registry(cfg);
      if (registry != null) {
        registry.remove(List.of(id));
      }
      if (json) {
        new Output().printJson(Map.of("revoked", id, "connectionsClosed", closed));
      } else {
        System.out.println("revoked " + id + ": user deleted, credential files deleted"
            + (closed > 0 ? ", " + closed + " open connection(s) closed" : ""));
      }
      return ExitCode.OK;
    }
  }

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Check that every device certificate names the tenant that tenants.registry maps the device to (both"
          + " are written together by 'device enroll --tenant'; a difference means one was edited or restored apart from"
          + " the other). Reads only local files; exit code 1 when any device disagrees.")
  static final class Check extends Base {
    @Override
    public Integer call() {
      cfg = config.load();
      pki = Pki.open(pkiDir);
      io.iotpipe.core.tenant.TenantRegistry registry = io.iotpipe.core.tenant.TenantsSection.registry(cfg);
      if (registry == null) {
        throw new CommandFailure(ExitCode.USAGE, "no tenants.registry in " + config.file + ": without tenants there is no"
            + " binding to check (set tenants: {registry: FILE} and enroll devices with --tenant)");
      }
      Map<String, String> problems = enrollment().tenantBindingProblems(registry);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("registry", registry.file().toString());
      m.put("devicesInRegistry", registry.devices().size());
      m.put("problems", problems);
      if (json) {
        new Output().printJson(m);
      } else if (problems.isEmpty()) {
        System.out.println("every device certificate under " + pki.clientsDir() + " names the tenant " + registry.file()
            + " maps it to (" + registry.devices().size() + " device(s) in the registry)");
      } else {
        problems.forEach((id, what) -> System.out.println("! " + id + ": " + what));
      }
      if (!problems.isEmpty()) {
        throw new CommandFailure(ExitCode.FAILED, problems.size() + " device(s) whose certificate and registry disagree: the"
            + " pipeline stamps readings from the registry, so re-enroll each with 'iotpipe device enroll ID --tenant T'"
            + " for the tenant it belongs to (that rewrites both), or restore the registry from the same backup as the PKI");
      }
      return ExitCode.OK;
    }
  }
}
