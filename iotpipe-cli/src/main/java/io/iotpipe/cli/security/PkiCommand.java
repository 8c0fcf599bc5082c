package io.iotpipe.cli.security;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.security.Pki;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code iotpipe pki init|status}: the fleet CA, the server certificate of the local nodes, certificate expiry. */
@Command(name = "pki", mixinStandardHelpOptions = true, description = "Fleet CA and certificates: create them, show their expiry.",
    subcommands = {PkiCommand.Init.class, PkiCommand.Issue.class, PkiCommand.Status.class})
public final class PkiCommand implements IotpipeCommand, Runnable {

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  @Command(name = "init", mixinStandardHelpOptions = true,
      description = "Create the fleet CA and a server certificate (localhost, 127.0.0.1) in DIR; keeps an existing CA.")
  static final class Init implements Callable<Integer> {
    @Option(names = "--dir", defaultValue = "pki", description = "PKI directory (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--fleet", defaultValue = "iotpipe", description = "Name in the CA certificate (default: ${DEFAULT-VALUE}).")
    String fleet;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() {
      boolean existed = java.nio.file.Files.exists(dir.resolve("ca.crt"));
      Pki pki = Pki.init(dir, fleet);
      Map<String, Object> r = Map.of("dir", dir.toAbsolutePath().toString(), "created", !existed,
          "caCert", pki.caCert().toString(), "serverCert", pki.serverCert().toString());
      if (json) {
        new Output().printJson(r);
      } else {
        System.out.println((existed ? "kept the existing fleet CA in " : "created a fleet CA and server certificate in ") + dir.toAbsolutePath());
        System.out.println("  CA certificate (give to devices): " + pki.caCert());
        System.out.println("  keys (*.key) are mode 0600; keep ca.key offline in production");
      }
      return ExitCode.OK;
    }
  }

  @Command(name = "issue", mixinStandardHelpOptions = true,
      description = "Issue a client certificate and key (EC P-256, key mode 0600) for each service account NAME, e.g. the"
          + " shovel account the topology's shovels present (security.certificates); devices get theirs from `device enroll`.")
  static final class Issue implements Callable<Integer> {
    @Option(names = "--dir", defaultValue = "pki", description = "PKI directory (default: ${DEFAULT-VALUE}).")
    Path dir;

    @picocli.CommandLine.Parameters(arity = "1..*", paramLabel = "NAME", description = "Account names (the certificate's CN).")
    java.util.List<String> names;

    @Override
    public Integer call() {
      Pki pki = Pki.open(dir);
      for (String name : names) {
        Pki.Issued issued = pki.issueClient(name);
        System.out.println("issued " + issued.cert() + " (key " + issued.key().getFileName() + ", mode 0600), valid until " + issued.notAfter());
      }
      return ExitCode.OK;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Expiry of every certificate in DIR, soonest first; exit 1 when one has expired.")
  static final class Status implements Callable<Integer> {
    @Option(names = "--dir", defaultValue = "pki", description = "PKI directory (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Option(names = "--limit", defaultValue = "20", description = "Show at most this many certificates in the table (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() {
      List<Pki.CertStatus> st = Pki.open(dir).status(Instant.now());
      long expired = st.stream().filter(s -> s.state() == Pki.State.EXPIRED).count();
      long expiring = st.stream().filter(s -> s.state() == Pki.State.EXPIRING).count();
      if (json) {
        new Output().printJson(Map.of("certificates", st, "total", st.size(), "expired", expired, "expiring", expiring));
      } else {
        System.out.printf("%-9s %6s  %-24s %s%n", "state", "days", "not after", "name");
        st.stream().limit(limit).forEach(s -> System.out.printf("%-9s %6d  %-24s %s%n", s.state(), s.daysLeft(), s.notAfter(), s.name()));
        System.out.printf("%d certificates: %d expired, %d expiring within %d days%n", st.size(), expired, expiring,
            Pki.EXPIRY_WARNING.toDays());
      }
      if (expired > 0) {
        throw new CommandFailure(ExitCode.FAILED, expired + " certificate(s) expired: re-issue them with iotpipe device enroll ID (same id)");
      }
      return ExitCode.OK;
    }
  }
}
